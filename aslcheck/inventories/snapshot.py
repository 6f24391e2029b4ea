"""The versioned, content-addressed inventory snapshot every collector produces.

Format ``aslcheck.snapshot`` version 1 (JSON Schema: ``schema/snapshot.schema.json``, prose:
``docs/formats.md``). The digest is the SHA-256 of the canonical JSON serialisation (sorted
keys, no insignificant white space, UTF-8, no floats), so the same inventory always has the
same digest and an attestation can name it. Loading (:func:`load`) is strict and compact: see
:mod:`aslcheck.inventories.schema.reader` and :mod:`aslcheck.inventories.compact`.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from aslcheck.errors import BadInputError, Location

FORMAT = "aslcheck.snapshot"
VERSION = 1

JSON = Any

SHALLOW_ATTRIBUTES: frozenset[str] = frozenset({"name", "region"})
"""What a shallow read (a listing, plus tags) gives besides tags, account and region: every
other attribute of a shallow resource is absent, and the engine hides any that a hand-made
snapshot carries (:func:`shallow_view`)."""


def canonical_json(value: JSON) -> bytes:
    """Serialise ``value`` canonically: sorted keys, compact, UTF-8; floats are refused."""
    _refuse_floats(value)
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _refuse_floats(value: JSON) -> None:
    # NOTE: float formatting differs between serialisers; digests must not depend on it.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            raise ValueError(f"floats are not allowed in canonical JSON: {item!r}")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


@contextlib.contextmanager
def paused_gc(*, freeze: bool = False) -> Iterator[None]:
    """Pause the cyclic garbage collector for a block that builds many long-lived, acyclic objects.

    NOTE: a snapshot of 1M resources is ~20M JSON objects. With the collector on, building it
    (and evaluating over it) triggers collections that traverse the whole growing heap again
    and again, roughly doubling load and evaluation time, while there are no cycles to find.
    Reference counting still frees everything as usual; the previous state is restored.
    ``freeze`` (on success) moves what exists to the permanent generation (``gc.freeze``), so
    later collections never traverse the snapshot again; without it, re-enabling the collector
    makes the next collections walk every object the block created (1 s per 100k resources).
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
        if freeze:
            gc.freeze()
    finally:
        if was:
            gc.enable()


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


# NOTE: slots: a loaded 1M-resource snapshot holds 1M of these; without slots each carries a
# per-instance __dict__ (~100 bytes more).
@dataclass(frozen=True, slots=True)
class Resource:
    """One inventoried thing: a bucket, a key, a role, a host, a weight path, a Terraform resource."""

    kind: str
    """Dotted kind, ``<source family>.<service>.<type>``, e.g. ``aws.s3.bucket``, ``host.weight_path``."""
    id: str
    """Stable identifier within the kind (an ARN, ``host:path``, a Terraform address)."""
    source: str
    """Name of the collector that produced it (``aws``, ``ssh``, ``terraform``)."""
    attributes: Mapping[str, JSON]
    """Collected facts. A key that is absent was not collected; checks treat that as an ERROR.
    Read-only: a loaded snapshot holds a :class:`~aslcheck.inventories.compact.FrozenObject`."""
    tags: Mapping[str, str] | None = None
    """Tags or labels; ``None`` means they could not be read (scope by tag is then undecidable)."""
    account: str | None = None
    """AWS account ID, when the resource lives in one."""
    region: str | None = None
    """AWS region, when regional."""
    host: str | None = None
    """Inventory name of the host, for host resources."""

    def key(self) -> tuple[str, str, str]:
        """Identity within a snapshot."""
        return (self.source, self.kind, self.id)

    def to_json(self) -> dict[str, JSON]:
        """The resource as a JSON object of the snapshot format."""
        out: dict[str, JSON] = {
            "kind": self.kind,
            "id": self.id,
            "source": self.source,
            "attributes": _plain(self.attributes),
        }
        if self.tags is not None:
            out["tags"] = _plain(self.tags)
        for name in ("account", "region", "host"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


def _plain(value: Mapping[str, JSON]) -> dict[str, JSON]:
    from aslcheck.inventories.compact import FrozenObject

    return value.thaw() if isinstance(value, FrozenObject) else dict(value)


@dataclass(frozen=True)
class CollectionError:
    """A read that failed: the evidence it would have produced is missing, never assumed."""

    source: str
    """Collector name."""
    operation: str
    """What was attempted (``s3:GetBucketPolicy``, ``ssh:connect``, ``checkov:run``)."""
    code: str
    """Machine-readable error code (``AccessDenied``, ``Throttling``, ``Timeout``, ``HostKeyUnknown``)."""
    message: str
    """Human explanation."""
    resource: str | None = None
    """ID of the resource whose data is missing; ``None`` when a whole kind or target is affected."""
    kind: str | None = None
    """Kind whose data is missing (or partially missing); ``None`` means every kind of the target."""
    account: str | None = None
    """AWS account, when relevant."""
    region: str | None = None
    """AWS region, when relevant."""
    host: str | None = None
    """Host, when relevant."""

    def to_json(self) -> dict[str, JSON]:
        """The error as a JSON object of the snapshot format."""
        out: dict[str, JSON] = {
            "source": self.source,
            "operation": self.operation,
            "code": self.code,
            "message": self.message,
        }
        for name in ("resource", "kind", "account", "region", "host"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def sort_key(self) -> tuple[str, ...]:
        """Deterministic order in the serialised snapshot."""
        return (
            self.source,
            self.kind or "",
            self.resource or "",
            self.host or "",
            self.account or "",
            self.region or "",
            self.operation,
            self.code,
            self.message,
        )


@dataclass(frozen=True)
class CollectorRun:
    """Provenance of one collector run."""

    name: str
    """Collector name (``aws``, ``ssh``, ``terraform``)."""
    version: str
    """Collector (tool) version."""
    targets: tuple[str, ...]
    """What it looked at: accounts/regions, hosts, directories."""
    kinds: tuple[str, ...]
    """Resource kinds it collected completely enough that an empty list means "none exist"."""
    started: str
    """RFC 3339 UTC start time."""
    ended: str
    """RFC 3339 UTC end time."""
    shallow: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    """Per kind, the IDs of resources read shallowly (listing and tags only, see
    :data:`SHALLOW_ATTRIBUTES`): they exist, but nothing else about them is evidence."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(sorted(set(self.targets))))
        object.__setattr__(self, "kinds", tuple(sorted(set(self.kinds))))
        object.__setattr__(self, "shallow", {k: tuple(sorted(set(ids)))
                                             for k, ids in sorted(self.shallow.items()) if ids})

    def to_json(self) -> dict[str, JSON]:
        """The run as a JSON object of the snapshot format."""
        out: dict[str, JSON] = {
            "name": self.name,
            "version": self.version,
            "targets": list(self.targets),
            "kinds": list(self.kinds),
            "started": self.started,
            "ended": self.ended,
        }
        # NOTE: only when non-empty, so snapshots without shallow reads keep their digests.
        if self.shallow:
            out["shallow"] = {k: list(ids) for k, ids in self.shallow.items()}
        return out


@dataclass(frozen=True)
class Snapshot:
    """An immutable inventory: resources, collection errors and provenance."""

    resources: tuple[Resource, ...]
    """Every collected resource, in canonical order."""
    errors: tuple[CollectionError, ...] = ()
    """Every failed read, in canonical order."""
    runs: tuple[CollectorRun, ...] = ()
    """Which collectors ran, on what, when."""
    _by_kind: dict[str, tuple[Resource, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        ordered = tuple(self.resources)
        if not _sorted_unique(ordered):
            ordered = tuple(sorted(ordered, key=Resource.key))
            _sorted_unique(ordered)
        object.__setattr__(self, "resources", ordered)
        object.__setattr__(self, "errors", tuple(sorted(set(self.errors), key=CollectionError.sort_key)))
        object.__setattr__(self, "runs", tuple(sorted(self.runs, key=lambda r: (r.name, r.started))))
        grouped: dict[str, list[Resource]] = {}
        for res in ordered:
            grouped.setdefault(res.kind, []).append(res)
        self._by_kind.update({k: tuple(v) for k, v in grouped.items()})

    def of_kind(self, kind: str) -> tuple[Resource, ...]:
        """Resources of one kind."""
        return self._by_kind.get(kind, ())

    def shallow_keys(self) -> frozenset[tuple[str, str]]:
        """``(kind, id)`` of every resource some run read shallowly (never evidence)."""
        return frozenset((k, i) for run in self.runs for k, ids in run.shallow.items() for i in ids)

    def kinds_collected(self) -> frozenset[str]:
        """Kinds some collector declared it listed completely."""
        return frozenset(k for run in self.runs for k in run.kinds)

    def sources(self) -> frozenset[str]:
        """Names of the collectors that ran."""
        return frozenset(run.name for run in self.runs)

    def to_json(self) -> dict[str, JSON]:
        """The snapshot document."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "provenance": {"collectors": [r.to_json() for r in self.runs]},
            "resources": [r.to_json() for r in self.resources],
            "errors": [e.to_json() for e in self.errors],
        }

    def canonical_bytes(self) -> bytes:
        """Canonical serialisation; what is written to disk and hashed.

        Equal to ``canonical_json(self.to_json())``, built one resource at a time so a large
        snapshot is never a single tree of dicts (sorted keys put ``resources`` fourth).
        """
        head = canonical_json({"errors": [e.to_json() for e in self.errors], "format": FORMAT,
                               "provenance": {"collectors": [r.to_json() for r in self.runs]},
                               "resources": [], "version": VERSION})
        cut = head.rindex(b',"resources":[]') + len(b',"resources":[')
        body = b",".join(canonical_json(r.to_json()) for r in self.resources)
        return b"".join((head[:cut], body, head[cut:]))

    def digest(self) -> str:
        """``sha256`` hex digest of :meth:`canonical_bytes`."""
        return sha256_hex(self.canonical_bytes())


def merge(snapshots: Iterable[Snapshot]) -> Snapshot:
    """Merge snapshots from several collectors or shards into one.

    The same resource seen twice with identical content is kept once; the same key with
    different content is a conflict and is refused rather than resolved silently, except that
    a deep copy wins over a shallow one. Shallow reads are the union of the runs' (each run
    keeps its own), less the resources another snapshot read deeply.
    """
    snapshots = list(snapshots)
    any_thin = any(r.shallow for snap in snapshots for r in snap.runs)
    by_key: dict[tuple[str, str, str], Resource] = {}
    shallow_copy: set[tuple[str, str, str]] = set()
    deep: set[tuple[str, str]] = set()
    errors: list[CollectionError] = []
    runs: list[CollectorRun] = []
    for snap in snapshots:
        thin = snap.shallow_keys()
        for res in snap.resources:
            key = res.key()
            is_shallow = (res.kind, res.id) in thin
            if any_thin and not is_shallow:
                deep.add((res.kind, res.id))
            prior = by_key.get(key)
            if prior is None or prior == res:
                by_key[key] = res
                if not is_shallow:
                    shallow_copy.discard(key)
                elif prior is None:
                    shallow_copy.add(key)
            elif is_shallow != (key in shallow_copy):
                # NOTE: a shard that read a resource deeply and one that only listed it agree
                # on what exists; the deep copy is the evidence (the shallow one says less).
                if not is_shallow:
                    by_key[key] = res
                    shallow_copy.discard(key)
            else:
                raise BadInputError(f"conflicting copies of resource {key!r} while merging")
        errors.extend(snap.errors)
        runs.extend(snap.runs)
    # The union of shallow reads, less what another snapshot read deeply.
    runs = [r if not r.shallow else replace(r, shallow={
        k: tuple(i for i in ids if (k, i) not in deep) for k, ids in r.shallow.items()})
        for r in runs]
    return Snapshot(resources=tuple(by_key.values()), errors=tuple(errors), runs=tuple(runs))


def shallow_view(snapshot: Snapshot) -> Snapshot:
    """``snapshot`` with each shallow resource reduced to what a shallow read gives.

    Checks evaluate this view, so a snapshot whose shallow resources carry deep-looking
    attributes (hand-made or tampered) cannot lend them as evidence to any check, including
    checks that read one resource to judge another (a trail by its log bucket).
    """
    thin = snapshot.shallow_keys()
    if not thin:
        return snapshot
    resources = tuple(
        replace(r, attributes={k: v for k, v in r.attributes.items() if k in SHALLOW_ATTRIBUTES})
        if (r.kind, r.id) in thin else r for r in snapshot.resources)
    return Snapshot(resources=resources, errors=snapshot.errors, runs=snapshot.runs)


def shallow_problem(runs: Iterable[CollectorRun], snapshot: Snapshot) -> tuple[int, str, str] | None:
    """First shallow ID of ``runs`` (as in the document) naming no resource of its kind in
    ``snapshot``: ``(run index, kind, message)``."""
    for n, run in enumerate(runs):
        for kind, ids in run.shallow.items():
            present = {r.id for r in snapshot.of_kind(kind)}
            for ident in ids:
                if ident not in present:
                    return n, kind, f"shallow {kind} {ident!r} names no {kind} resource in the snapshot"
    return None


def iter_resources(doc: Mapping[str, JSON]) -> Iterator[Resource]:
    """Parse the ``resources`` array of a snapshot document (already schema-validated)."""
    for raw in doc["resources"]:
        yield Resource(
            kind=raw["kind"],
            id=raw["id"],
            source=raw["source"],
            attributes=raw["attributes"],
            tags=raw.get("tags"),
            account=raw.get("account"),
            region=raw.get("region"),
            host=raw.get("host"),
        )


def from_json(doc: Mapping[str, JSON], origin: str = "<snapshot>") -> Snapshot:
    """Build a snapshot from an already parsed document, validating it against the schema first.

    Files should go through :func:`load`, which also refuses duplicate keys and floats (a
    parsed document can no longer show them) and keeps attributes compact.
    """
    from aslcheck.inventories.schema import validate_snapshot_document

    validate_snapshot_document(doc, origin)
    errors = tuple(
        CollectionError(
            source=e["source"],
            operation=e["operation"],
            code=e["code"],
            message=e["message"],
            resource=e.get("resource"),
            kind=e.get("kind"),
            account=e.get("account"),
            region=e.get("region"),
            host=e.get("host"),
        )
        for e in doc["errors"]
    )
    runs = tuple(
        CollectorRun(
            name=r["name"],
            version=r["version"],
            targets=tuple(r["targets"]),
            kinds=tuple(r["kinds"]),
            started=r["started"],
            ended=r["ended"],
            shallow={k: tuple(v) for k, v in r.get("shallow", {}).items()},
        )
        for r in doc["provenance"]["collectors"]
    )
    snap = Snapshot(resources=tuple(iter_resources(doc)), errors=errors, runs=runs)
    problem = shallow_problem(runs, snap)
    if problem is not None:
        raise BadInputError(f"not a valid aslcheck snapshot: {problem[2]}",
                            Location(origin, None, f"provenance.collectors.{problem[0]}.shallow.{problem[1]}"))
    return snap


def load(path: str) -> tuple[Snapshot, bytes]:
    """Read a snapshot file; returns the snapshot and the exact bytes read (for digests).

    Bad input (not UTF-8 JSON, a duplicate key, a float, a schema violation) raises
    :class:`BadInputError` naming the file, the line and the field. The snapshot's attributes
    share the returned bytes (see :mod:`aslcheck.inventories.compact`).
    """
    from aslcheck.inventories.schema.reader import read

    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise BadInputError(f"cannot read snapshot: {exc.strerror}", Location(path)) from exc
    # NOTE: a loaded snapshot is immutable, acyclic and lives as long as the run, so it is
    # frozen out of the cyclic collector (see paused_gc).
    with paused_gc(freeze=True):
        return read(data, path), data


def _sorted_unique(resources: tuple[Resource, ...]) -> bool:
    """Whether ``resources`` is in key order; a repeated key next to its twin is refused.

    NOTE: in order, a repeated key sits next to its twin, so no set of 1M key tuples is
    needed; loaded canonical snapshots are already in order and skip the sort.
    """
    prev: tuple[str, str, str] | None = None
    for res in resources:
        key = res.key()
        if prev is not None:
            if key == prev:
                raise BadInputError(f"duplicate resource {key!r} in snapshot")
            if key < prev:
                return False
        prev = key
    return True
