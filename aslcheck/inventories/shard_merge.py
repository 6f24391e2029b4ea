"""``aslcheck merge``: verify the partials of a sharded scan and merge them into one snapshot.

Integrity problems (a partial whose bytes do not hash to the digest its manifest names, an
unreadable or malformed manifest, a unit filed under the wrong shard) are bad input: the merge
refuses. Completeness problems (a shard missing, a shard present twice, partials planned over
different universes, shard counts, configs, catalogs or tool versions) are recorded in the merged
snapshot as kind-wide collection errors (``resource`` None) on every kind concerned, so no check
reading them can PASS and the controls are INCONCLUSIVE (or FAIL, where a violation was read).
The merged provenance claims a kind only if every shard owning units of it listed it completely.
Prose: ``docs/sharding.md``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from aslcheck.errors import BadInputError, Location
from aslcheck.inventories.shard import MANIFEST_SUFFIX, PARTIAL_PREFIX, Manifest, manifest_name, read_manifest
from aslcheck.inventories.snapshot import (
    CollectionError,
    CollectorRun,
    Resource,
    Snapshot,
    canonical_json,
    paused_gc,
    sha256_hex,
)

OPERATION = "aslcheck:merge"
"""Operation named by the errors the merge records."""


@dataclass(frozen=True)
class Partial:
    """One verified partial: its manifest and its snapshot (whose bytes hash to the manifest's digest)."""

    manifest: Manifest
    """The manifest, as read."""
    snapshot: Snapshot
    """The partial snapshot."""


@dataclass(frozen=True)
class Problem:
    """Why the merged snapshot is not complete."""

    code: str
    """``ShardMissing``, ``ShardDuplicated`` or ``ShardMismatch``."""
    message: str
    """Human explanation naming the shard(s) and file(s)."""
    kinds: Mapping[str, tuple[str, ...]]
    """Collector -> kinds left not listed completely by the problem."""


@dataclass(frozen=True)
class Merged:
    """The merge of a set of partials."""

    snapshot: Snapshot
    """The merged snapshot, with one kind-wide error per problem and kind."""
    partials: tuple[Partial, ...]
    """Every partial read, in the order merged."""
    problems: tuple[Problem, ...]
    """Everything that keeps the merge from being complete (empty: every shard exactly once)."""

    def summary(self) -> bytes:
        """``shards.json`` of the report set: which partials were merged and what was wrong."""
        return canonical_json({
            "partials": [{"shard": f"{p.manifest.shard}", "manifest": os.path.basename(p.manifest.path),
                          "snapshot_digest": p.manifest.snapshot_digest, "universe": p.manifest.universe,
                          "units": len(p.manifest.units)} for p in self.partials],
            "problems": [{"code": p.code, "message": p.message} for p in self.problems],
            "complete": not self.problems,
        }) + b"\n"


def find_manifests(paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """Manifest files named by ``paths`` (manifests, partial snapshots, or folders searched
    recursively), and the paths that do not exist.

    A missing path or a folder without partials is not an error: the shard that should have
    written there is then missing, which the merge records. No partial at all is bad input.
    """
    found: list[str] = []
    absent: list[str] = []
    for path in paths:
        name = os.path.basename(path)
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                found.extend(os.path.join(root, f) for f in sorted(files)
                             if f.startswith(PARTIAL_PREFIX) and f.endswith(MANIFEST_SUFFIX))
        elif name.startswith(PARTIAL_PREFIX) and name.endswith(MANIFEST_SUFFIX):
            found.append(path)
        elif name.startswith(PARTIAL_PREFIX) and name.endswith(".json"):
            found.append(os.path.join(os.path.dirname(path), manifest_name(name[len(PARTIAL_PREFIX):-5])))
        elif not os.path.exists(path):
            absent.append(path)
        else:
            raise BadInputError("expected a shard's output folder, a partial-<sha256>.json or its manifest",
                                Location(path))
    if not found:
        raise BadInputError(f"no partial snapshots (partial-*{MANIFEST_SUFFIX}) in {', '.join(paths)}")
    return found, absent


def load_partial(manifest_path: str) -> Partial:
    """Read a manifest and its partial snapshot; the snapshot's bytes must hash to the manifest's digest."""
    from aslcheck.inventories.schema.reader import read

    manifest = read_manifest(manifest_path)
    for unit in manifest.units:
        if unit.shard_of(manifest.shard.count) != manifest.shard.index:
            raise BadInputError(f"unit {unit.to_json()} does not belong to shard {manifest.shard} "
                                "(the manifest was altered)", Location(manifest_path, field="units"))
    snap_path = os.path.join(os.path.dirname(manifest_path), manifest.snapshot_file)
    try:
        with open(snap_path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise BadInputError(f"cannot read the partial snapshot its manifest names: {exc.strerror}",
                            Location(snap_path)) from exc
    actual = sha256_hex(data)
    if actual != manifest.snapshot_digest:
        raise BadInputError(f"partial snapshot does not hash to the digest its manifest names (sha256 "
                            f"{actual}, manifest {manifest.snapshot_digest}): altered or truncated",
                            Location(snap_path))
    with paused_gc(freeze=True):
        return Partial(manifest, read(data, snap_path))


def merge_partials(partials: Sequence[Partial], *, config_digest: str, catalog_digest: str) -> Merged:
    """Merge verified partials; every inconsistency becomes kind-wide errors, never a silent gap.

    ``config_digest`` and ``catalog_digest`` are the merge's own inputs: partials collected under
    another config or catalog (scope, kinds) do not describe what is being evaluated.
    """
    kinds = _all_kinds(p.manifest for p in partials)
    problems = _mismatches(partials, kinds, config_digest, catalog_digest)
    chosen: dict[tuple[int, int], Partial] = {}
    for p in sorted(partials, key=lambda p: (p.manifest.snapshot_digest, p.manifest.path)):
        chosen.setdefault((p.manifest.shard.count, p.manifest.shard.index), p)
    counts = {p.manifest.shard.count for p in partials}
    if len(counts) == 1:
        (count,) = counts
        for index in range(count):
            same = [p.manifest.path for p in partials if p.manifest.shard.index == index]
            if not same:
                problems.append(Problem("ShardMissing", f"shard {index}/{count} is missing: no partial of it "
                                        "was given, so its units were not collected", kinds))
            elif len(same) > 1:
                problems.append(Problem("ShardDuplicated", f"shard {index}/{count} was given {len(same)} times "
                                        f"({', '.join(same)}); each shard must be merged exactly once", kinds))
    resources, conflicts = _resources(p.snapshot for p in chosen.values())
    errors = [e for p in chosen.values() for e in p.snapshot.errors] + conflicts
    for problem in problems:
        errors.extend(CollectionError(source=source, operation=OPERATION, code=problem.code,
                                      message=problem.message, kind=kind)
                      for source, ks in sorted(problem.kinds.items()) for kind in ks)
    present = {(r.kind, r.id) for r in resources}
    runs = _merged_runs(list(chosen.values()), present)
    if any(r.name == "aws" for r in runs):
        from aslcheck.inventories.aws.cloudtrail import with_bucket_accounts

        # NOTE: the one cross-unit fact of the AWS collector (a trail's bucket owner) may join
        # units of different shards; the collector computes it over what it read, so redo it here.
        resources = with_bucket_accounts(resources)
    merged = Snapshot(resources=tuple(resources), errors=tuple(errors), runs=tuple(runs))
    return Merged(merged, tuple(partials), tuple(problems))


def _all_kinds(manifests: Iterable[Manifest]) -> dict[str, tuple[str, ...]]:
    out: dict[str, set[str]] = {}
    for m in manifests:
        for source, ks in m.kinds.items():
            out.setdefault(source, set()).update(ks)
    return {s: tuple(sorted(ks)) for s, ks in sorted(out.items())}


def _mismatches(partials: Sequence[Partial], kinds: Mapping[str, tuple[str, ...]], config_digest: str,
                catalog_digest: str) -> list[Problem]:
    """Fields every partial (and the merge) must agree on; each disagreement is one problem."""
    fields = (
        ("shard count", lambda m: str(m.shard.count), None),
        ("universe of work units (accounts, regions, services, hosts)", lambda m: m.universe, None),
        ("kinds requested (profile and selection; sha256)", lambda m: sha256_hex(canonical_json(dict(m.kinds))), None),
        ("config digest", lambda m: m.config_digest, config_digest),
        ("catalog digest", lambda m: m.catalog_digest, catalog_digest),
        ("aslcheck version", lambda m: m.tool_version, None),
    )
    out: list[Problem] = []
    for what, get, own in fields:
        seen: dict[str, list[str]] = {}
        for p in partials:
            seen.setdefault(get(p.manifest), []).append(f"{p.manifest.shard} in {p.manifest.path}")
        if own is not None and set(seen) != {own}:
            out.append(Problem("ShardMismatch", f"partials were collected with another {what} than this "
                               f"merge's ({own}): {_listing(seen)}", kinds))
        elif len(seen) > 1:
            out.append(Problem("ShardMismatch", f"partials disagree on the {what}: {_listing(seen)}", kinds))
    return out


def _listing(seen: Mapping[str, list[str]]) -> str:
    return "; ".join(f"{value}: {', '.join(where)}" for value, where in sorted(seen.items()))


def _merged_runs(partials: Sequence[Partial], present: set[tuple[str, str]]) -> list[CollectorRun]:
    """One provenance run per collector, claiming a kind only if every shard owning units of it did.

    NOTE: the engine reads provenance as a union (a kind is listed if any run names it), so the
    shards' own runs would let one shard's complete listing hide another's incomplete one (the
    SSH collector, for one, leaves a kind unclaimed when one host failed, with only per-host
    errors). A kind no shard's units cover is claimed if a shard claimed it (as unsharded).
    """
    out: list[CollectorRun] = []
    for name in sorted({r.name for p in partials for r in p.snapshot.runs}):
        runs = [(p, [r for r in p.snapshot.runs if r.name == name]) for p in partials]
        claims = [(p, {k for r in rs for k in r.kinds}) for p, rs in runs if rs or name in p.manifest.covered]
        every = {k for _, c in claims for k in c}
        kinds = {k for k in every
                 if all(k in c for p, c in claims if k in p.manifest.covered.get(name, ()))}
        flat = [r for _, rs in runs for r in rs]
        # Shallow reads stay shallow in the merge (never evidence), for what is still present.
        shallow: dict[str, list[str]] = {}
        for r in flat:
            for kind, ids in r.shallow.items():
                shallow.setdefault(kind, []).extend(i for i in ids if (kind, i) in present)
        out.append(CollectorRun(name=name, version=flat[0].version, targets=tuple(t for r in flat for t in r.targets),
                                kinds=tuple(kinds), started=min(r.started for r in flat),
                                ended=max(r.ended for r in flat),
                                shallow={k: tuple(v) for k, v in shallow.items()}))
    return out


def _resources(snapshots: Iterable[Snapshot]) -> tuple[list[Resource], list[CollectionError]]:
    """One copy per resource key; two different copies are dropped and recorded, not chosen between."""
    by_key: dict[tuple[str, str, str], Resource] = {}
    conflicts: set[tuple[str, str, str]] = set()
    for snap in snapshots:
        for res in snap.resources:
            prior = by_key.setdefault(res.key(), res)
            if prior is not res and prior != res:
                conflicts.add(res.key())
    errors = []
    for key in sorted(conflicts):
        del by_key[key]
        errors.append(CollectionError(source=key[0], operation=OPERATION, code="ConflictingCopies",
                                      message="two partials hold different copies of the resource; both dropped",
                                      resource=key[2], kind=key[1]))
    return list(by_key.values()), errors
