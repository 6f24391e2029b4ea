"""Which AWS storage holds weights, directly or as a copy: the weight-storage closure.

A resource holds weights when the config says so (tags, a weight ARN pattern, or
``allowed_storage``: :meth:`~aslcheck.controls.config.Scope.holds_weights`), or when it is a
copy of, or a key protecting, something that does:

- the EBS volumes attached to a weight instance, the snapshots of a weight volume, the AMIs
  made from a weight instance or built on a weight snapshot, and the snapshots behind a
  weight AMI;
- the buckets a weight bucket replicates to (every rule, enabled or not);
- the KMS keys that encrypt weight buckets, volumes and snapshots, and every multi-Region
  sibling (primary or replica) of a weight key.

What cannot be decided is never silently out of scope: a copy of a resource whose own scope
is undecided is undecided, and a link that was not collected (a weight bucket's replication
configuration, a volume's attachments...) makes every resource it might reach undecided.
A copy or key named but absent from the snapshot is an :class:`UnresolvedRef`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from aslcheck.controls.config import Config
from aslcheck.inventories.snapshot import Resource, Snapshot

BUCKET = "aws.s3.bucket"
KEY = "aws.kms.key"
INSTANCE = "aws.ec2.instance"
VOLUME = "aws.ec2.volume"
SNAPSHOT = "aws.ec2.snapshot"
IMAGE = "aws.ec2.image"
STORAGE_KINDS: frozenset[str] = frozenset({BUCKET, KEY, INSTANCE, VOLUME, SNAPSHOT, IMAGE})
"""Kinds whose weight scope the closure decides (others: the config's direct answer)."""
_INPUTS: Mapping[str, frozenset[str]] = {
    INSTANCE: frozenset({INSTANCE}),
    BUCKET: frozenset({BUCKET}),
    VOLUME: frozenset({INSTANCE, VOLUME}),
    SNAPSHOT: frozenset({INSTANCE, VOLUME, SNAPSHOT, IMAGE}),
    IMAGE: frozenset({INSTANCE, VOLUME, SNAPSHOT, IMAGE}),
    KEY: STORAGE_KINDS,
}
_KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


def scope_kinds(kinds: Iterable[str]) -> frozenset[str]:
    """The kinds the closure reads to decide which resources of ``kinds`` hold weights.

    A check selecting weight resources of these kinds reads them too, so it must declare them
    (the collector fetches only declared kinds) and they must be listed completely.
    """
    return frozenset(k for kind in kinds for k in _INPUTS.get(kind, ()))
S3_DEFAULT_KEY_ALIAS = "alias/aws/s3"
"""The AWS-managed key S3 uses for SSE-KMS when no key is configured."""

NodeKey = tuple[str, str, str]


@dataclass(frozen=True)
class UnresolvedRef:
    """A resource named by an in-scope resource but not found in the snapshot."""

    referrer: str
    """ID of the resource that names it."""
    ref: str
    """The reference as configured (key ID, alias, VPC ID, bucket ARN)."""
    reason: str
    """Why it could not be resolved."""
    aws_managed: bool = False
    """For keys: the reference is an ``alias/aws/...`` AWS-managed key."""
    qualified: str = ""
    """The reference as a full ARN where it can be derived (else empty)."""
    kind: str = ""
    """Kind of the missing resource, when known."""


@dataclass(frozen=True)
class WeightScope:
    """The closure's answer for every storage resource of one snapshot."""

    held: Mapping[NodeKey, tuple[str, ...]] = field(default_factory=dict)
    """Resources (by :meth:`Resource.key`) that hold weights, with why."""
    undecided: Mapping[NodeKey, tuple[str, ...]] = field(default_factory=dict)
    """Resources whose scope cannot be decided, with why."""
    unresolved: tuple[UnresolvedRef, ...] = ()
    """Copies and keys of in-scope (or undecided) resources missing from the snapshot."""

    def holds(self, res: Resource, config: Config) -> bool | None:
        """Whether ``res`` holds weights; ``None`` when undecidable."""
        if res.kind not in STORAGE_KINDS:
            return config.scope.holds_weights(res.tags, res.id)
        key = res.key()
        if key in self.held:
            return True
        return None if key in self.undecided else False

    def why(self, res: Resource) -> tuple[str, ...]:
        """Why ``res`` is in scope, or why its scope is undecided."""
        key = res.key()
        return self.held.get(key) or self.undecided.get(key) or ()


def is_aws_managed_alias(ref: str) -> bool:
    """``alias/aws/...`` (or its ARN) always names an AWS-managed key."""
    return ref.startswith("alias/aws/") or ":alias/aws/" in ref


def qualify_key_ref(ref: str, *, account: str | None, region: str | None) -> str:
    """``ref`` as a key or alias ARN in ``account``/``region`` (unchanged when already an ARN)."""
    if ref.startswith("arn:") or not account or not region:
        return ref
    if ref.startswith("alias/"):
        return f"arn:aws:kms:{region}:{account}:{ref}"
    return f"arn:aws:kms:{region}:{account}:key/{ref}"


class KeyIndex:
    """Collected KMS keys by ARN, by (account, region, key ID) and by (account, region, alias)."""

    def __init__(self, keys: Iterable[Resource]) -> None:
        self.by_arn: dict[str, Resource] = {}
        self.by_id: dict[tuple[str | None, str | None, str], Resource] = {}
        self.by_alias: dict[tuple[str | None, str | None, str], Resource] = {}
        for key in keys:
            self.by_arn.setdefault(key.id, key)
            kid = key.attributes.get("key_id")
            if isinstance(kid, str):
                self.by_id.setdefault((key.account, key.region, kid), key)
            aliases = key.attributes.get("aliases")
            for alias in aliases if isinstance(aliases, list) else ():
                self.by_alias.setdefault((key.account, key.region, str(alias)), key)

    def resolve(self, ref: str, *, account: str | None, region: str | None) -> Resource | None:
        """The key ``ref`` names: key ARN, key ID, ``alias/NAME`` or alias ARN.

        Key IDs and alias names are resolved in ``account``/``region`` (the referring
        resource's, as AWS resolves them), alias ARNs in the account and region they carry.
        """
        if ref.startswith("arn:") and ":key/" in ref:
            return self.by_arn.get(ref)
        if ref.startswith("arn:") and ":alias/" in ref:
            parts = ref.split(":", 5)
            if len(parts) != 6:
                return None
            return self.by_alias.get((parts[4], parts[3], parts[5]))
        if ref.startswith("alias/"):
            return self.by_alias.get((account, region, ref))
        return self.by_id.get((account, region, ref))


def bucket_key_ref(bucket: Resource) -> tuple[str | None, str | None]:
    """(key reference, problem) of a bucket's default encryption; (None, None) if not KMS."""
    enc = bucket.attributes.get("encryption")
    if "encryption" not in bucket.attributes:
        return None, "default encryption not collected"
    if not isinstance(enc, Mapping) or "algorithm" not in enc:
        return None, "default encryption not readable"
    if enc.get("algorithm") not in _KMS_ALGORITHMS:
        return None, None
    ref = enc.get("kms_key_id")
    return (ref if isinstance(ref, str) and ref else S3_DEFAULT_KEY_ALIAS), None


def bucket_arn_of(res: Resource) -> str:
    """A bucket's ARN: its ID for collected buckets, its ``arn``/``name`` for planned ones."""
    if res.id.startswith("arn:"):
        return res.id
    arn = res.attributes.get("arn")
    if isinstance(arn, str):
        return arn
    name = res.attributes.get("name")
    return f"arn:aws:s3:::{name}" if isinstance(name, str) else res.id


def _str(res: Resource, name: str) -> str | None:
    value = res.attributes.get(name)
    return value if isinstance(value, str) else None


Link = tuple[Resource, str]
"""A resource reached from another, with why it holds weights (in terms of the other)."""


class _Graph:
    """Indexes of one snapshot's storage and the links between them."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.keys = KeyIndex(snapshot.of_kind(KEY))
        self.nodes = [r for k in sorted(STORAGE_KINDS) for r in snapshot.of_kind(k)]
        self.buckets: dict[str, Resource] = {}
        self.attached: dict[tuple[str | None, str | None, str], list[Resource]] = {}
        self.snapshots_of_volume: dict[tuple[str | None, str | None, str], list[Resource]] = {}
        self.snapshots: dict[tuple[str | None, str | None, str], Resource] = {}
        self.images_of_instance: dict[tuple[str | None, str | None, str], list[Resource]] = {}
        self.images_of_snapshot: dict[tuple[str | None, str | None, str], list[Resource]] = {}
        self.mrk: dict[tuple[str | None, str], list[Resource]] = {}
        # Resources whose link to a possible weight source was not collected, per kind of
        # link and account/region: any weight source there makes them undecided.
        self.unlinked: dict[tuple[str, str | None, str | None], list[Resource]] = {}
        for res in snapshot.of_kind(BUCKET):
            self.buckets.setdefault(bucket_arn_of(res), res)
        for res in snapshot.of_kind(VOLUME):
            self._index(res, "attached_to", self.attached, "volume-attachment")
        for res in snapshot.of_kind(SNAPSHOT):
            sid = _str(res, "snapshot_id")
            if sid is not None:
                self.snapshots[(res.account, res.region, sid)] = res
            self._index(res, "volume_id", self.snapshots_of_volume, "snapshot-volume")
        for res in snapshot.of_kind(IMAGE):
            src = res.attributes.get("source_instance_id", ...)
            if src is not None:
                self._index(res, "source_instance_id", self.images_of_instance, "image-instance")
            self._index(res, "snapshot_ids", self.images_of_snapshot, "image-snapshots")
        for res in snapshot.of_kind(KEY):
            kid = _str(res, "key_id")
            if kid is not None and kid.startswith("mrk-"):
                self.mrk.setdefault((res.account, kid), []).append(res)

    def _index(self, res: Resource, attr: str,
               into: dict[tuple[str | None, str | None, str], list[Resource]], link: str) -> None:
        value = res.attributes.get(attr, ...)
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else None
        if values is None or not all(isinstance(v, str) for v in values):
            self.unlinked.setdefault((link, res.account, res.region), []).append(res)
            return
        for v in values:
            into.setdefault((res.account, res.region, v), []).append(res)

    def links(self, res: Resource, refs: list[UnresolvedRef],
              opens: list[tuple[str, str | None, str | None, str]]) -> Iterator[Link]:
        """Resources ``res`` makes weight storage; records missing ones and unknown links."""
        where = (res.account, res.region)
        if res.kind == INSTANCE:
            iid = _str(res, "instance_id")
            if iid is not None:
                for vol in self.attached.get((*where, iid), ()):
                    yield vol, f"attached to instance {res.id}"
                for img in self.images_of_instance.get((*where, iid), ()):
                    yield img, f"AMI of instance {res.id}"
            maybe = f"instance {res.id} may hold weights"
            opens.append(("volume-attachment", *where, f"volume attachments not collected; {maybe}"))
            opens.append(("image-instance", *where, f"AMI source instance not collected; {maybe}"))
        elif res.kind == VOLUME:
            vid = _str(res, "volume_id")
            if vid is not None:
                for snap in self.snapshots_of_volume.get((*where, vid), ()):
                    yield snap, f"snapshot of volume {res.id}"
            maybe = f"volume {res.id} may hold weights"
            opens.append(("snapshot-volume", *where, f"snapshot source volume not collected; {maybe}"))
            yield from self._encryption_key(res, refs)
        elif res.kind == SNAPSHOT:
            sid = _str(res, "snapshot_id")
            if sid is not None:
                for img in self.images_of_snapshot.get((*where, sid), ()):
                    yield img, f"AMI built on snapshot {res.id}"
            maybe = f"snapshot {res.id} may hold weights"
            opens.append(("image-snapshots", *where, f"AMI snapshots not collected; {maybe}"))
            yield from self._encryption_key(res, refs)
        elif res.kind == IMAGE:
            yield from self._image_snapshots(res, refs, opens)
        elif res.kind == BUCKET:
            yield from self._replicas(res, refs, opens)
            yield from self._bucket_key(res, refs)
        elif res.kind == KEY:
            yield from self._siblings(res, refs)

    def _image_snapshots(self, res: Resource, refs: list[UnresolvedRef],
                         opens: list[tuple[str, str | None, str | None, str]]) -> Iterator[Link]:
        ids = res.attributes.get("snapshot_ids")
        if not isinstance(ids, list):
            opens.append(("snapshot", res.account, res.region,
                          f"snapshots of AMI {res.id} (which may hold weights) not collected"))
            return
        for sid in ids:
            snap = self.snapshots.get((res.account, res.region, str(sid)))
            if snap is not None:
                yield snap, f"snapshot behind AMI {res.id}"
            else:
                refs.append(UnresolvedRef(
                    res.id, str(sid), "snapshot of a weight AMI not in the snapshot", kind=SNAPSHOT,
                    qualified=f"arn:aws:ec2:{res.region}::snapshot/{sid}" if res.region else ""))

    def _replicas(self, res: Resource, refs: list[UnresolvedRef],
                  opens: list[tuple[str, str | None, str | None, str]]) -> Iterator[Link]:
        rep = res.attributes.get("replication", ...)
        if rep is None:
            return
        dests = rep.get("destinations") if isinstance(rep, Mapping) else None
        if not isinstance(dests, list) or not all(
                isinstance(d, Mapping) and isinstance(d.get("bucket"), str) for d in dests):
            # NOTE: a replica may be any bucket, in any account: every other bucket is undecided.
            opens.append(("bucket", None, None,
                          f"replication of bucket {res.id} (which may hold weights) not collected"))
            return
        for dest in dests:
            arn = str(dest["bucket"])
            found = self.buckets.get(arn)
            if found is not None:
                yield found, f"replica of bucket {res.id}"
            else:
                refs.append(UnresolvedRef(res.id, arn, "replication destination not in the snapshot",
                                          qualified=arn if arn.startswith("arn:") else "",
                                          kind=BUCKET))

    def _bucket_key(self, res: Resource, refs: list[UnresolvedRef]) -> Iterator[Link]:
        ref, problem = bucket_key_ref(res)
        if problem is not None:
            refs.append(UnresolvedRef(res.id, "<default encryption>", problem, kind=KEY))
            return
        if ref is None:
            return
        found = self.keys.resolve(ref, account=res.account, region=res.region)
        if found is not None:
            yield found, f"default encryption key of bucket {res.id}"
            return
        managed = is_aws_managed_alias(ref)
        refs.append(UnresolvedRef(
            res.id, ref, "AWS-managed key (not collected)" if managed
            else "key not found among the collected KMS keys", aws_managed=managed,
            qualified=qualify_key_ref(ref, account=res.account, region=res.region), kind=KEY))

    def _encryption_key(self, res: Resource, refs: list[UnresolvedRef]) -> Iterator[Link]:
        encrypted = res.attributes.get("encrypted", ...)
        ref = res.attributes.get("kms_key_id", ...)
        if encrypted is False:
            return
        if not isinstance(ref, str) or not ref:
            if encrypted is True and ref is not None:
                refs.append(UnresolvedRef(res.id, "<kms_key_id>", "encryption key not collected",
                                          kind=KEY))
            return
        found = self.keys.resolve(ref, account=res.account, region=res.region)
        if found is not None:
            yield found, f"encrypts {res.kind.rsplit('.', 1)[-1]} {res.id}"
        else:
            refs.append(UnresolvedRef(
                res.id, ref, "key not found among the collected KMS keys",
                aws_managed=is_aws_managed_alias(ref),
                qualified=qualify_key_ref(ref, account=res.account, region=res.region), kind=KEY))

    def _siblings(self, res: Resource, refs: list[UnresolvedRef]) -> Iterator[Link]:
        kid = _str(res, "key_id")
        if kid is not None and kid.startswith("mrk-"):
            for other in self.mrk.get((res.account, kid), ()):
                if other is not res:
                    yield other, f"multi-Region sibling of key {res.id}"
        family = res.attributes.get("multi_region_keys", ...)
        if family is ... and kid is not None and kid.startswith("mrk-"):
            # NOTE: siblings in regions the scan did not read are known only from DescribeKey.
            refs.append(UnresolvedRef(res.id, "<multi_region_keys>", "multi-Region replicas of "
                                      "a weight key not collected", kind=KEY))
        for arn in family if isinstance(family, list) else ():
            if str(arn) == res.id:
                continue
            found = self.keys.by_arn.get(str(arn))
            if found is not None:
                yield found, f"multi-Region sibling of key {res.id}"
            else:
                refs.append(UnresolvedRef(res.id, str(arn), "multi-Region replica (or primary) "
                                          "of a weight key not in the snapshot",
                                          qualified=str(arn), kind=KEY))


_OPEN_KINDS = {"volume-attachment": VOLUME, "image-instance": IMAGE, "snapshot-volume": SNAPSHOT,
               "image-snapshots": IMAGE}


def compute(snapshot: Snapshot, config: Config) -> WeightScope:
    """The weight-storage closure of ``snapshot`` under ``config``'s scope."""
    graph = _Graph(snapshot)
    held: dict[NodeKey, list[str]] = {}
    undecided: dict[NodeKey, list[str]] = {}
    queue: deque[Resource] = deque()
    for res in graph.nodes:
        direct = config.scope.holds_weights(res.tags, res.id)
        if direct is False and res.kind == BUCKET and not res.id.startswith("arn:"):
            direct = config.scope.holds_weights(res.tags, bucket_arn_of(res)) or direct
        if direct:
            held[res.key()] = ["tagged or named as holding weights"]
            queue.append(res)
        elif direct is None:
            undecided[res.key()] = ["its tags were not collected"]
    refs: list[UnresolvedRef] = []
    opens: list[tuple[str, str | None, str | None, str]] = []
    _spread(graph, queue, held, None, refs, opens)
    # Undecided: direct ones, then everything a held or undecided resource might reach.
    pending = deque(r for r in graph.nodes if r.key() in undecided and r.key() not in held)
    done_opens: set[tuple[str, str | None, str | None]] = set()
    while pending or opens:
        _spread(graph, pending, held, undecided, refs, opens)
        batch, opens = opens, []
        for link, account, region, why in batch:
            if (link, account, region) in done_opens:
                continue
            done_opens.add((link, account, region))
            for res in _open_targets(graph, link, account, region):
                if res.key() not in held and res.key() not in undecided:
                    undecided[res.key()] = [why]
                    pending.append(res)
    for key in held:
        undecided.pop(key, None)
    return WeightScope({k: tuple(dict.fromkeys(v)) for k, v in held.items()},
                       {k: tuple(dict.fromkeys(v)) for k, v in undecided.items()},
                       tuple(dict.fromkeys(refs)))


def _open_targets(graph: _Graph, link: str, account: str | None,
                  region: str | None) -> list[Resource]:
    if link in _OPEN_KINDS:
        return graph.unlinked.get((link, account, region), [])
    kind = {"bucket": BUCKET, "snapshot": SNAPSHOT}[link]
    return [r for r in graph.nodes if r.kind == kind
            and account in (None, r.account) and region in (None, r.region)]


def _spread(graph: _Graph, queue: deque[Resource], held: dict[NodeKey, list[str]],
            undecided: dict[NodeKey, list[str]] | None, refs: list[UnresolvedRef],
            opens: list[tuple[str, str | None, str | None, str]]) -> None:
    """Breadth-first: mark what each queued resource reaches held (or, second pass, undecided)."""
    seen: set[NodeKey] = set()
    while queue:
        res = queue.popleft()
        if res.key() in seen:
            continue
        seen.add(res.key())
        for target, why in graph.links(res, refs, opens):
            key = target.key()
            if key in held:
                if undecided is None:
                    held[key].append(f"{why}, which holds weights")
                continue
            if undecided is None:
                held[key] = [f"{why}, which holds weights"]
                queue.append(target)
            elif key not in undecided:
                undecided[key] = [f"{why}, whose scope is undecided"]
                queue.append(target)
