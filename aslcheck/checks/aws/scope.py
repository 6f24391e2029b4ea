"""Which AWS resources hold weights, shared by every AWS check (see the bottom of the AWS model).

- weight buckets: buckets that hold weights by tag or ARN pattern;
- weight keys: KMS keys that hold weights by tag/ARN, plus every key a weight bucket's default
  encryption names (key ARN, key ID, alias name or alias ARN, resolved against collected keys
  in the bucket's account and region, as S3 resolves them);
- weight VPCs: VPCs tagged as weights, VPCs of weight-tagged instances, VPCs of the approved
  weight VPC endpoints.

Each selector returns a :class:`ScopeSelection`: the resources decidably in scope, the ones
whose scope cannot be decided (tags not collected), and references that could not be resolved
(a key or VPC named but not collected). Checks turn the last two into ERROR findings.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from aslcheck.controls.config import Config
from aslcheck.inventories.snapshot import Resource, Snapshot

BUCKET = "aws.s3.bucket"
KEY = "aws.kms.key"
VPC = "aws.ec2.vpc"
INSTANCE = "aws.ec2.instance"
ENDPOINT = "aws.ec2.vpc_endpoint"
_KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
S3_DEFAULT_KEY_ALIAS = "alias/aws/s3"
"""The AWS-managed key S3 uses for SSE-KMS when no key is configured."""


@dataclass(frozen=True)
class UnresolvedRef:
    """A resource named by an in-scope resource but not found in the snapshot."""

    referrer: str
    """ID of the resource that names it."""
    ref: str
    """The reference as configured (key ID, alias, VPC ID)."""
    reason: str
    """Why it could not be resolved."""
    aws_managed: bool = False
    """For keys: the reference is an ``alias/aws/...`` AWS-managed key."""
    qualified: str = ""
    """The reference as a full ARN where it can be derived (else the reference itself)."""


@dataclass(frozen=True)
class ScopeSelection:
    """The outcome of a scope selector."""

    resources: tuple[Resource, ...] = ()
    """Decidably in scope."""
    undecided: tuple[Resource, ...] = ()
    """Scope not decidable (tags not collected); never silently out of scope."""
    unresolved: tuple[UnresolvedRef, ...] = ()
    """References from in-scope (or undecided) resources to things not in the snapshot."""
    reasons: Mapping[str, tuple[str, ...]] | None = None
    """Why each resource is in scope, by ID."""


def matches_any(value: str, patterns: Iterable[str]) -> bool:
    """Whether ``value`` matches one of the glob ``patterns`` (exact ARNs match themselves)."""
    return any(fnmatchcase(value, p) for p in patterns)


_MEMO: dict[str, tuple[weakref.ref[Snapshot], Config, ScopeSelection]] = {}


def _memoised(name: str, snapshot: Snapshot, config: Config,
              compute: Callable[[Snapshot, Config], ScopeSelection]) -> ScopeSelection:
    """``compute(snapshot, config)``, computed once per (snapshot, config) pair.

    NOTE: the selectors are pure and a dozen checks of one run ask the same question over
    every bucket, key, VPC and instance. One entry per selector, keyed by identity (snapshots
    are unhashable); the weak reference makes a recycled ``id`` miss, and the entry holds the
    config itself, so its identity cannot be recycled while the entry lives.
    """
    hit = _MEMO.get(name)
    if hit is not None and hit[0]() is snapshot and hit[1] is config:
        return hit[2]
    sel = compute(snapshot, config)
    _MEMO[name] = (weakref.ref(snapshot), config, sel)
    return sel


def weight_buckets(snapshot: Snapshot, config: Config) -> ScopeSelection:
    """Buckets holding weights."""
    return _memoised("buckets", snapshot, config, _weight_buckets)


def _weight_buckets(snapshot: Snapshot, config: Config) -> ScopeSelection:
    held: list[Resource] = []
    undecided: list[Resource] = []
    for res in snapshot.of_kind(BUCKET):
        holds = config.scope.holds_weights(res.tags, res.id)
        if holds is None:
            undecided.append(res)
        elif holds:
            held.append(res)
    return ScopeSelection(tuple(held), tuple(undecided), (),
                          {r.id: ("tagged or named as holding weights",) for r in held})


def is_aws_managed_alias(ref: str) -> bool:
    """``alias/aws/...`` (or its ARN) always names an AWS-managed key."""
    return ref.startswith("alias/aws/") or ":alias/aws/" in ref


def resolve_kms_key(snapshot: Snapshot, ref: str, *, account: str | None,
                    region: str | None) -> Resource | None:
    """The collected key ``ref`` names: key ARN, key ID, ``alias/NAME`` or alias ARN.

    Key IDs and alias names are resolved in ``account``/``region`` (the referring resource's),
    alias ARNs in the account and region they carry.
    """
    keys = snapshot.of_kind(KEY)
    if ref.startswith("arn:") and ":key/" in ref:
        return next((k for k in keys if k.id == ref), None)
    alias: str | None = None
    if ref.startswith("arn:") and ":alias/" in ref:
        parts = ref.split(":", 5)
        if len(parts) == 6:
            region, account, alias = parts[3], parts[4], parts[5]
    elif ref.startswith("alias/"):
        alias = ref
    for key in keys:
        if key.account != account or key.region != region:
            continue
        if alias is None and key.attributes.get("key_id") == ref:
            return key
        aliases = key.attributes.get("aliases")
        if alias is not None and isinstance(aliases, list) and alias in aliases:
            return key
    return None


def qualify_key_ref(ref: str, *, account: str | None, region: str | None) -> str:
    """``ref`` as a key or alias ARN in ``account``/``region`` (unchanged when already an ARN)."""
    if ref.startswith("arn:") or not account or not region:
        return ref
    if ref.startswith("alias/"):
        return f"arn:aws:kms:{region}:{account}:{ref}"
    return f"arn:aws:kms:{region}:{account}:key/{ref}"


def _bucket_key_ref(bucket: Resource) -> tuple[str | None, str | None]:
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


def weight_keys(snapshot: Snapshot, config: Config) -> ScopeSelection:
    """KMS keys protecting weights: weight-tagged keys plus the keys weight buckets use."""
    return _memoised("keys", snapshot, config, _weight_keys)


def _weight_keys(snapshot: Snapshot, config: Config) -> ScopeSelection:
    held: dict[str, Resource] = {}
    why: dict[str, list[str]] = {}
    undecided: dict[str, Resource] = {}
    unresolved: list[UnresolvedRef] = []
    for key in snapshot.of_kind(KEY):
        holds = config.scope.holds_weights(key.tags, key.id)
        if holds:
            held[key.id] = key
            why.setdefault(key.id, []).append("tagged or named as holding weights")
        elif holds is None:
            undecided[key.id] = key
    buckets = weight_buckets(snapshot, config)
    for bucket, sure in [(b, True) for b in buckets.resources] + [(b, False) for b in buckets.undecided]:
        ref, problem = _bucket_key_ref(bucket)
        if problem is not None:
            unresolved.append(UnresolvedRef(bucket.id, "<default encryption>", problem))
            continue
        if ref is None:
            continue
        found = resolve_kms_key(snapshot, ref, account=bucket.account, region=bucket.region)
        if found is None:
            managed = is_aws_managed_alias(ref)
            unresolved.append(UnresolvedRef(
                bucket.id, ref, "AWS-managed key (not collected)" if managed
                else "key not found among the collected KMS keys", aws_managed=managed,
                qualified=qualify_key_ref(ref, account=bucket.account, region=bucket.region)))
        elif sure:
            held[found.id] = found
            why.setdefault(found.id, []).append(f"default encryption key of weight bucket {bucket.id}")
        elif found.id not in held:
            undecided[found.id] = found
    for kid in held:
        undecided.pop(kid, None)
    return ScopeSelection(tuple(held[k] for k in sorted(held)), tuple(undecided[k] for k in sorted(undecided)),
                          tuple(unresolved), {k: tuple(v) for k, v in why.items()})


def weight_vpcs(snapshot: Snapshot, config: Config) -> ScopeSelection:
    """VPCs holding weights: tagged, hosting weight instances, or hosting approved endpoints."""
    return _memoised("vpcs", snapshot, config, _weight_vpcs)


def _weight_vpcs(snapshot: Snapshot, config: Config) -> ScopeSelection:
    vpcs: dict[tuple[str | None, str | None, str], Resource] = {}
    for vpc in snapshot.of_kind(VPC):
        vid = vpc.attributes.get("vpc_id")
        vpcs[(vpc.account, vpc.region, vid if isinstance(vid, str) else vpc.id.rsplit("/", 1)[-1])] = vpc
    held: dict[str, Resource] = {}
    why: dict[str, list[str]] = {}
    undecided: dict[str, Resource] = {}
    unresolved: list[UnresolvedRef] = []

    def mark(owner: Resource, vpc_id: object, reason: str, sure: bool) -> None:
        if not isinstance(vpc_id, str):
            unresolved.append(UnresolvedRef(owner.id, "<vpc_id>", f"{reason}: its VPC was not collected"))
            return
        vpc = vpcs.get((owner.account, owner.region, vpc_id))
        if vpc is None:
            unresolved.append(UnresolvedRef(owner.id, vpc_id, f"{reason}: VPC not in the snapshot"))
        elif sure:
            held[vpc.id] = vpc
            why.setdefault(vpc.id, []).append(reason)
        else:
            undecided[vpc.id] = vpc

    for vpc in vpcs.values():
        holds = config.scope.holds_weights(vpc.tags, vpc.id)
        if holds:
            held[vpc.id] = vpc
            why.setdefault(vpc.id, []).append("tagged or named as holding weights")
        elif holds is None:
            undecided[vpc.id] = vpc
    for inst in snapshot.of_kind(INSTANCE):
        holds = config.scope.holds_weights(inst.tags, inst.id)
        if holds is not False:
            mark(inst, inst.attributes.get("vpc_id"), f"weight instance {inst.id}", bool(holds))
    approved = set(config.scope.approved_vpc_endpoints)
    for ep in snapshot.of_kind(ENDPOINT):
        if ep.attributes.get("endpoint_id") in approved:
            mark(ep, ep.attributes.get("vpc_id"), f"approved weight endpoint {ep.attributes['endpoint_id']}", True)
    for vid in held:
        undecided.pop(vid, None)
    return ScopeSelection(tuple(held[k] for k in sorted(held)), tuple(undecided[k] for k in sorted(undecided)),
                          tuple(unresolved), {k: tuple(v) for k, v in why.items()})


def is_human(principal: str, config: Config) -> bool:
    """Whether a principal ARN stands for people (or may include them).

    People: IAM users (always), the account root user and whole accounts (``...:root``),
    anyone (``*``), SAML providers and federated-user sessions, IAM Identity Center
    permission-set roles (``/aws-reserved/sso.amazonaws.com/``, ``AWSReservedSSO_*``
    sessions), and whatever matches ``access.human_patterns``.
    """
    if principal == "*" or matches_any(principal, config.access.human_patterns):
        return True
    parts = principal.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return False
    service, resource = parts[2], parts[5]
    if service == "iam":
        return (resource.startswith(("user/", "saml-provider/")) or resource == "root"
                or resource.startswith("role/aws-reserved/sso.amazonaws.com/"))
    if service == "sts":
        return resource.startswith(("federated-user/", "assumed-role/AWSReservedSSO_"))
    return False
