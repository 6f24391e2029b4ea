"""Sharded collection: a stable hashed split of the work units of a scan, and its partial output.

``aslcheck scan --shard i/N`` plans the same universe of work units in every shard (AWS: account
x region x service module, plus one outside-regions probe per account; SSH: one unit per host),
keeps the units whose hash falls in shard ``i`` and writes a *partial*: the content-addressed
partial snapshot plus a manifest naming the shard, the universe and the snapshot digest.
``aslcheck merge`` (:mod:`aslcheck.inventories.shard_merge`) puts the partials back together and
refuses to let a missing, duplicated or foreign partial look complete. Format prose:
``docs/sharding.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from aslcheck.errors import BadInputError, Location
from aslcheck.inventories.snapshot import canonical_json, sha256_hex

MANIFEST_FORMAT = "aslcheck.shard-manifest"
MANIFEST_VERSION = 1
PARTIAL_PREFIX = "partial-"
"""Partial snapshot files are ``partial-<sha256>.json``, their manifests ``partial-<sha256>.manifest.json``."""
MANIFEST_SUFFIX = ".manifest.json"

_SPEC_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class ShardSpec:
    """Shard ``index`` of ``count`` (0-based, like Kubernetes' ``JOB_COMPLETION_INDEX``)."""

    index: int
    """Which shard, ``0 <= index < count``."""
    count: int
    """How many shards the universe is split into, at least 1."""

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise BadInputError(f"shard {self.index}/{self.count}: expected i/N with N >= 1 and 0 <= i < N "
                                "(i is 0-based, like JOB_COMPLETION_INDEX)")

    @classmethod
    def parse(cls, text: str) -> ShardSpec:
        """Parse ``"i/N"``; anything else is :class:`BadInputError`."""
        m = _SPEC_RE.match(text)
        if m is None:
            raise BadInputError(f"--shard {text!r}: expected i/N, e.g. 0/4 (i is 0-based, 0 <= i < N)")
        return cls(int(m.group(1)), int(m.group(2)))

    def owns(self, unit: Unit) -> bool:
        """Whether ``unit`` belongs to this shard."""
        return unit.shard_of(self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True, order=True)
class Unit:
    """One unit of work: a collector name and a key, e.g. ``("aws", (account, region, "s3"))``."""

    collector: str
    """Collector that does the work (``aws``, ``ssh``)."""
    key: tuple[str, ...]
    """What it works on: AWS ``(account, region | "global" | "outside-regions", module)``, SSH ``(host,)``."""

    def canonical(self) -> bytes:
        """Canonical JSON of the unit; what is hashed (never Python's per-process ``hash()``)."""
        return canonical_json([self.collector, *self.key])

    def shard_of(self, count: int) -> int:
        """The shard (of ``count``) this unit belongs to: SHA-256 of :meth:`canonical`, mod ``count``."""
        return int.from_bytes(hashlib.sha256(self.canonical()).digest(), "big") % count

    def to_json(self) -> list[str]:
        """``[collector, *key]``."""
        return [self.collector, *self.key]

    @classmethod
    def from_json(cls, raw: Any, origin: str) -> Unit:
        """Inverse of :meth:`to_json`; bad input names ``origin``."""
        if not (isinstance(raw, list) and len(raw) >= 2 and all(isinstance(x, str) for x in raw)):
            raise BadInputError(f"a unit must be a list of at least two strings, got {raw!r}",
                                Location(origin, field="units"))
        return cls(raw[0], tuple(raw[1:]))


def universe_digest(units: Iterable[Unit]) -> str:
    """SHA-256 of the sorted canonical unit list: equal in every shard that planned the same work."""
    return sha256_hex(canonical_json([u.to_json() for u in sorted(set(units))]))


def assigned(units: Iterable[Unit], shard: ShardSpec) -> tuple[Unit, ...]:
    """The units of ``shard``, sorted."""
    return tuple(sorted(u for u in set(units) if shard.owns(u)))


@dataclass(frozen=True)
class ShardPlan:
    """What one collector planned in a sharded run (the universe every shard must agree on)."""

    collector: str
    """Collector name."""
    universe: tuple[Unit, ...]
    """Every unit of the whole scan, sorted (empty when the universe could not be planned)."""
    mine: tuple[Unit, ...]
    """The units this shard collected."""
    kinds: frozenset[str]
    """Kinds requested of the collector (the kinds the universe covers)."""
    covered: frozenset[str]
    """Kinds this shard's units cover: the only kinds it may claim as listed completely."""


def claimable(requested: Collection[str], mine: Collection[str], anywhere: Collection[str]) -> frozenset[str]:
    """Kinds a shard may name as listed completely in its provenance.

    Those its own units cover, plus those no unit of the universe covers: an unsharded scan
    claims those too (there is nothing to list), and every shard agrees on them.
    """
    return frozenset(requested) & (frozenset(mine) | (frozenset(requested) - frozenset(anywhere)))


@runtime_checkable
class ShardedCollector(Protocol):
    """A collector built with a :class:`ShardSpec`; :meth:`shard_plan` is valid after ``collect``."""

    name: str

    def shard_plan(self) -> ShardPlan:
        """What the last collection planned and collected."""
        ...


@dataclass(frozen=True)
class Manifest:
    """The manifest of one partial (``partial-<sha256>.manifest.json``)."""

    shard: ShardSpec
    """Which shard wrote it."""
    universe: str
    """:func:`universe_digest` of every collector's universe together."""
    universe_size: int
    """How many units the universe has."""
    units: tuple[Unit, ...]
    """The units this shard collected."""
    kinds: Mapping[str, tuple[str, ...]]
    """Collector -> kinds requested of it (what a missing shard leaves unlisted)."""
    covered: Mapping[str, tuple[str, ...]]
    """Collector -> kinds this shard's units cover (each must be listed completely by it)."""
    snapshot_file: str
    """File name of the partial snapshot, beside the manifest."""
    snapshot_digest: str
    """SHA-256 of the partial snapshot's bytes."""
    tool_version: str
    """aslcheck version of the shard."""
    config_digest: str
    """Digest of the config the shard ran with."""
    catalog_digest: str
    """Digest of the catalog the shard ran with."""
    path: str = field(default="", compare=False)
    """Where it was read from (empty for a manifest being written)."""

    def to_json(self) -> dict[str, Any]:
        """The manifest document."""
        return {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "shard": {"index": self.shard.index, "count": self.shard.count},
            "universe": {"digest": self.universe, "units": self.universe_size},
            "units": [u.to_json() for u in self.units],
            "kinds": {k: list(v) for k, v in sorted(self.kinds.items())},
            "covered": {k: list(v) for k, v in sorted(self.covered.items())},
            "snapshot": {"file": self.snapshot_file, "digest": self.snapshot_digest},
            "tool_version": self.tool_version,
            "config_digest": self.config_digest,
            "catalog_digest": self.catalog_digest,
        }


def build_manifest(shard: ShardSpec, plans: Sequence[ShardPlan], snapshot_bytes: bytes, *,
                   tool_version: str, config_digest: str, catalog_digest: str) -> Manifest:
    """The manifest of a partial whose snapshot serialises to ``snapshot_bytes``."""
    universe = [u for p in plans for u in p.universe]
    digest = sha256_hex(snapshot_bytes)
    return Manifest(
        shard=shard, universe=universe_digest(universe), universe_size=len(set(universe)),
        units=tuple(sorted(u for p in plans for u in p.mine)),
        kinds={p.collector: tuple(sorted(p.kinds)) for p in plans},
        covered={p.collector: tuple(sorted(p.covered)) for p in plans},
        snapshot_file=partial_name(digest), snapshot_digest=digest, tool_version=tool_version,
        config_digest=config_digest, catalog_digest=catalog_digest)


def partial_name(digest: str) -> str:
    """File name of a partial snapshot with this digest."""
    return f"{PARTIAL_PREFIX}{digest}.json"


def manifest_name(digest: str) -> str:
    """File name of the manifest of the partial snapshot with this digest."""
    return f"{PARTIAL_PREFIX}{digest}{MANIFEST_SUFFIX}"


def partial_files(manifest: Manifest, snapshot_bytes: bytes) -> dict[str, bytes]:
    """File name -> bytes of a partial (snapshot and manifest) to write into the shard's folder."""
    return {manifest.snapshot_file: snapshot_bytes,
            manifest_name(manifest.snapshot_digest): canonical_json(manifest.to_json()) + b"\n"}


def stale_partials(directory: str) -> list[str]:
    """Names of earlier partials in ``directory`` (a shard's folder holds only its latest one)."""
    try:
        return sorted(e for e in os.listdir(directory) if e.startswith(PARTIAL_PREFIX))
    except OSError:
        return []


def read_manifest(path: str) -> Manifest:
    """Parse a manifest file; anything malformed is :class:`BadInputError` naming the file."""
    try:
        with open(path, "rb") as fh:
            doc = json.loads(fh.read().decode("utf-8"))
    except OSError as exc:
        raise BadInputError(f"cannot read shard manifest: {exc.strerror}", Location(path)) from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadInputError(f"not a JSON shard manifest: {exc}", Location(path)) from exc
    try:
        return _manifest_from(doc, path)
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInputError(f"malformed shard manifest ({type(exc).__name__}: {exc})", Location(path)) from exc


def _manifest_from(doc: Any, path: str) -> Manifest:
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT:
        raise BadInputError(f"not an {MANIFEST_FORMAT} document", Location(path, field="format"))
    if doc.get("version") != MANIFEST_VERSION:
        raise BadInputError(f"unsupported manifest version {doc.get('version')!r} (expected "
                            f"{MANIFEST_VERSION})", Location(path, field="version"))
    shard = doc["shard"]
    index, count = shard["index"], shard["count"]
    if not (type(index) is int and type(count) is int):
        raise BadInputError("shard index and count must be integers", Location(path, field="shard"))
    snap = doc["snapshot"]
    digest = _text(snap["digest"], path, "snapshot.digest")
    if not re.fullmatch(r"[0-9a-f]{64}", digest) or snap["file"] != partial_name(digest):
        raise BadInputError(f"snapshot file {snap['file']!r} is not partial-<its sha256 digest>.json",
                            Location(path, field="snapshot"))
    try:
        spec = ShardSpec(index, count)
    except BadInputError as exc:
        raise BadInputError(exc.message, Location(path, field="shard")) from None
    universe = doc["universe"]
    return Manifest(
        shard=spec, universe=_text(universe["digest"], path, "universe.digest"),
        universe_size=int(universe["units"]),
        units=tuple(Unit.from_json(u, path) for u in doc["units"]),
        kinds=_kind_table(doc["kinds"], path, "kinds"), covered=_kind_table(doc["covered"], path, "covered"),
        snapshot_file=snap["file"], snapshot_digest=digest,
        tool_version=_text(doc["tool_version"], path, "tool_version"),
        config_digest=_text(doc["config_digest"], path, "config_digest"),
        catalog_digest=_text(doc["catalog_digest"], path, "catalog_digest"), path=path)


def _text(value: Any, path: str, name: str) -> str:
    if not isinstance(value, str):
        raise BadInputError(f"expected a string, got {value!r}", Location(path, field=name))
    return value


def _kind_table(raw: Any, path: str, name: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(x, str) for x in v)
            for k, v in raw.items()):
        raise BadInputError("expected {collector: [kind, ...]}", Location(path, field=name))
    return {k: tuple(v) for k, v in raw.items()}
