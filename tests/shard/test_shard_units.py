"""Pure tests of shard assignment, universes, manifests and the merge's bookkeeping (no AWS, no SSH)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from aslcheck.cli import main
from aslcheck.errors import BadInputError
from aslcheck.inventories.shard import (
    Manifest,
    ShardPlan,
    ShardSpec,
    Unit,
    assigned,
    build_manifest,
    claimable,
    partial_files,
    read_manifest,
    universe_digest,
)
from aslcheck.inventories.shard_merge import Partial, find_manifests, load_partial, merge_partials
from aslcheck.inventories.snapshot import CollectionError, CollectorRun, Resource, Snapshot

T0 = "2026-01-01T00:00:00Z"


def _units(n: int, seed: int = 7) -> list[Unit]:
    rng = random.Random(seed)
    accounts = [f"{rng.randrange(10**11, 10**12)}" for _ in range(max(1, n // 40))]
    regions = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2", "global"]
    out = {Unit("aws", (rng.choice(accounts), rng.choice(regions), f"m{rng.randrange(12)}")) for _ in range(n)}
    return sorted(out)


@pytest.mark.parametrize(("text", "index", "count"), [("0/1", 0, 1), ("2/3", 2, 3), (" 7 / 8 ", 7, 8)])
def test_parse(text: str, index: int, count: int) -> None:
    spec = ShardSpec.parse(text)
    assert (spec.index, spec.count) == (index, count)
    assert str(spec) == f"{index}/{count}"


@pytest.mark.parametrize("text", ["", "1", "3/3", "0/0", "-1/3", "1/-3", "a/b", "1/2/3", "1.0/2", "1 of 2"])
def test_bad_shard_text_is_bad_input(text: str) -> None:
    with pytest.raises(BadInputError):
        ShardSpec.parse(text)


@pytest.mark.parametrize("text", ["3/3", "x", "0/0"])
def test_bad_shard_on_the_command_line_exits_3(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--aws", "--shard", text]) == 3
    err = capsys.readouterr().err
    assert "--shard" in err and "i/N" in err and "Traceback" not in err


def test_assignment_is_a_known_function_of_the_unit() -> None:
    # sha256('["aws","123456789012","us-east-1","s3"]') mod N: fixed forever, on every machine.
    unit = Unit("aws", ("123456789012", "us-east-1", "s3"))
    import hashlib

    expected = int(hashlib.sha256(b'["aws","123456789012","us-east-1","s3"]').hexdigest(), 16)
    assert unit.canonical() == b'["aws","123456789012","us-east-1","s3"]'
    for n in (1, 2, 3, 7, 64, 1000):
        assert unit.shard_of(n) == expected % n


def test_assignment_is_stable_across_processes_and_hash_seeds() -> None:
    units = _units(300)
    here = [u.shard_of(5) for u in units]
    code = ("import json,sys; from aslcheck.inventories.shard import Unit; "
            "us=[Unit(u[0], tuple(u[1:])) for u in json.load(sys.stdin)]; "
            "print(json.dumps([u.shard_of(5) for u in us]))")
    for seed in ("0", "1", "12345"):
        out = subprocess.run([sys.executable, "-c", code], input=json.dumps([u.to_json() for u in units]),
                             capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": seed},
                             cwd=Path(__file__).resolve().parents[2], timeout=120)
        assert json.loads(out.stdout) == here


@pytest.mark.parametrize("count", [2, 3, 8, 32])
def test_assignment_is_balanced(count: int) -> None:
    units = _units(6000)
    sizes = Counter(u.shard_of(count) for u in units)
    mean = len(units) / count
    assert set(sizes) == set(range(count))
    # SHA-256 is uniform: with ~6000 units each shard is far inside +-25% of the mean.
    assert all(0.75 * mean <= s <= 1.25 * mean for s in sizes.values()), sizes


@pytest.mark.parametrize("seed", range(25))
def test_shards_partition_the_universe(seed: int) -> None:
    """Property (random universes, seeded): the shards are disjoint and together the universe."""
    rng = random.Random(seed)
    units = _units(rng.randrange(0, 400), seed)
    count = rng.randrange(1, 12)
    parts = [assigned(units, ShardSpec(i, count)) for i in range(count)]
    flat = [u for p in parts for u in p]
    assert len(flat) == len(set(flat)) == len(set(units))
    assert set(flat) == set(units)
    assert all(list(p) == sorted(p) for p in parts)


def test_universe_digest_ignores_order_and_repeats_but_not_content() -> None:
    units = _units(100)
    shuffled = list(units)
    random.Random(3).shuffle(shuffled)
    assert universe_digest(units) == universe_digest(shuffled + units[:5])
    assert universe_digest(units) != universe_digest(units[1:])
    assert universe_digest(units) != universe_digest([*units, Unit("ssh", ("web-1",))])


def test_claimable_kinds() -> None:
    # own kinds, plus kinds no unit anywhere covers (an unsharded scan claims them too)
    assert claimable({"a", "b", "c"}, {"a"}, {"a", "b"}) == {"a", "c"}
    assert claimable({"a"}, (), ()) == {"a"}
    assert claimable({"a"}, (), {"a"}) == frozenset()


# -- manifests and the merge, on hand-made partials -------------------------------------------------

KINDS = ("aws.s3.bucket", "aws.iam.role")


def _partial(tmp: Path, index: int, count: int, resources: list[Resource], *, universe: list[Unit] | None = None,
             claimed: tuple[str, ...] = KINDS, errors: tuple[CollectionError, ...] = ()) -> Path:
    universe = universe if universe is not None else _units(60)
    spec = ShardSpec(index, count)
    mine = assigned(universe, spec)
    plan = ShardPlan("aws", tuple(universe), mine, frozenset(KINDS), frozenset(KINDS) if mine else frozenset())
    snap = Snapshot(resources=tuple(resources), errors=errors,
                    runs=(CollectorRun("aws", "1", (f"shard{index}",), claimed, T0, T0),))
    raw = snap.canonical_bytes()
    manifest = build_manifest(spec, [plan], raw, tool_version="1", config_digest="c", catalog_digest="k")
    folder = tmp / f"shard-{index}-{count}-{len(list(tmp.iterdir()))}"
    folder.mkdir()
    for name, data in partial_files(manifest, raw).items():
        (folder / name).write_bytes(data)
    return folder


def _bucket(name: str, **attrs: object) -> Resource:
    return Resource("aws.s3.bucket", f"arn:aws:s3:::{name}", "aws", {"name": name, **attrs}, account="1")


def _merge(*folders: Path) -> tuple[Snapshot, list[str]]:
    found, _ = find_manifests([str(f) for f in folders])
    merged = merge_partials([load_partial(p) for p in found], config_digest="c", catalog_digest="k")
    return merged.snapshot, [p.code for p in merged.problems]


def _kind_wide(snap: Snapshot, code: str) -> set[str]:
    return {e.kind or "" for e in snap.errors if e.code == code and e.resource is None}


def test_manifest_round_trip(tmp_path: Path) -> None:
    folder = _partial(tmp_path, 1, 3, [_bucket("a")])
    (path,) = folder.glob("*.manifest.json")
    m = read_manifest(str(path))
    assert isinstance(m, Manifest) and m.shard == ShardSpec(1, 3)
    assert m.kinds == {"aws": tuple(sorted(KINDS))}
    assert all(u.shard_of(3) == 1 for u in m.units)


def test_complete_merge_has_no_problems(tmp_path: Path) -> None:
    folders = [_partial(tmp_path, i, 3, [_bucket(f"b{i}")]) for i in range(3)]
    snap, problems = _merge(*folders)
    assert problems == []
    assert {r.id for r in snap.of_kind("aws.s3.bucket")} == {f"arn:aws:s3:::b{i}" for i in range(3)}
    assert not snap.errors


def test_missing_duplicated_and_foreign_make_every_kind_unlisted(tmp_path: Path) -> None:
    from aslcheck.checks.engine import listed_completely

    a, b = _partial(tmp_path, 0, 3, []), _partial(tmp_path, 1, 3, [])
    snap, problems = _merge(a, b)
    assert problems == ["ShardMissing"]
    assert _kind_wide(snap, "ShardMissing") == set(KINDS)
    assert listed_completely(snap) == frozenset()
    c = _partial(tmp_path, 2, 3, [])
    snap, problems = _merge(a, b, c, _partial(tmp_path, 2, 3, [_bucket("other")]))
    assert problems == ["ShardDuplicated"] and listed_completely(snap) == frozenset()
    snap, problems = _merge(a, b, _partial(tmp_path, 2, 3, [], universe=_units(61)))
    assert problems == ["ShardMismatch"] and listed_completely(snap) == frozenset()


def test_a_kind_is_listed_only_if_every_owning_shard_listed_it(tmp_path: Path) -> None:
    from aslcheck.checks.engine import listed_completely

    # shard 1 owns units of aws.iam.role but did not list it (e.g. one host or read failed with
    # only a per-resource error): shard 0's complete listing must not stand for both.
    err = CollectionError("aws", "iam:GetRole", "AccessDenied", "denied", resource="r", kind="aws.iam.role")
    for errors in ((), (err,)):
        folders = [_partial(tmp_path, i, 2, [], claimed=KINDS if i == 0 else ("aws.s3.bucket",),
                            errors=errors if i else ()) for i in range(2)]
        snap, problems = _merge(*folders)
        assert problems == []
        assert listed_completely(snap) == {"aws.s3.bucket"}
        (run,) = snap.runs
        assert run.kinds == ("aws.s3.bucket",) and run.targets == ("shard0", "shard1")


def test_a_shard_without_units_does_not_vouch_for_kinds(tmp_path: Path) -> None:
    from aslcheck.checks.engine import listed_completely

    # 64 shards over 60 units: some own nothing and claim nothing; the owners' claims decide
    universe = _units(60)
    owners = {u.shard_of(64) for u in universe}
    idle = next(i for i in range(64) if i not in owners)
    folders = [_partial(tmp_path, i, 64, [], universe=universe, claimed=() if i in owners else KINDS)
               for i in range(64)]
    snap, problems = _merge(*folders)
    assert problems == [] and idle not in owners
    assert listed_completely(snap) == frozenset()


def test_conflicting_copies_are_dropped_and_recorded(tmp_path: Path) -> None:
    universe = _units(60)
    folders = [_partial(tmp_path, 0, 2, [_bucket("x", v=1)], universe=universe),
               _partial(tmp_path, 1, 2, [_bucket("x", v=2)], universe=universe)]
    snap, _ = _merge(*folders)
    assert snap.of_kind("aws.s3.bucket") == ()
    assert [e.code for e in snap.errors if e.resource == "arn:aws:s3:::x"] == ["ConflictingCopies"]


def test_find_manifests(tmp_path: Path) -> None:
    folder = _partial(tmp_path, 0, 1, [])
    (manifest,) = folder.glob("*.manifest.json")
    snap = next(f for f in folder.glob("partial-*.json") if not f.name.endswith(".manifest.json"))
    assert find_manifests([str(tmp_path)]) == ([str(manifest)], [])
    assert find_manifests([str(snap)]) == ([str(manifest)], [])
    assert find_manifests([str(manifest), str(tmp_path / "gone")]) == ([str(manifest)], [str(tmp_path / "gone")])
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(BadInputError, match="expected a shard's output folder"):
        find_manifests([str(tmp_path / "notes.txt")])
    with pytest.raises(BadInputError, match="no partial snapshots"):
        find_manifests([str(tmp_path / "gone")])


@pytest.mark.parametrize("edit", ["not json", "format", "digest", "index"])
def test_malformed_manifest_is_bad_input(tmp_path: Path, edit: str) -> None:
    folder = _partial(tmp_path, 0, 2, [])
    (path,) = folder.glob("*.manifest.json")
    doc = json.loads(path.read_text())
    if edit == "not json":
        path.write_text("{")
    else:
        if edit == "format":
            doc["format"] = "something.else"
        elif edit == "digest":
            doc["snapshot"]["digest"] = "0" * 64
        else:
            doc["shard"]["index"] = 5
        path.write_text(json.dumps(doc))
    with pytest.raises(BadInputError) as info:
        load_partial(str(path))
    assert path.name in str(info.value)


def test_partial_type_is_exported() -> None:
    assert Partial.__doc__


def test_aws_universe_plan() -> None:
    from aslcheck.inventories.aws import iam, org, s3, vpc
    from aslcheck.inventories.aws.regions import RESOURCE_TYPES
    from aslcheck.inventories.aws.sharding import plan_units

    kinds = frozenset(iam.KINDS | org.KINDS | s3.KINDS | vpc.KINDS)

    def modules(account: str) -> list[ModuleType]:
        return [s3, iam, vpc] + ([org] if account == "111111111111" else [])

    plan = plan_units(ShardSpec(0, 1), ["111111111111", "222222222222"], modules, ["us-east-1", "eu-west-1"], kinds)
    keys = {u.key for u in plan.covers}
    assert ("111111111111", "global", "org") in keys and ("222222222222", "global", "org") not in keys
    assert {("222222222222", r, "vpc") for r in ("us-east-1", "eu-west-1")} <= keys
    assert ("222222222222", "us-east-1", "iam") not in keys  # global modules: one unit per account
    probe = Unit("aws", ("222222222222", "outside-regions", "regions"))
    assert plan.covers[probe] == frozenset(k for k in vpc.KINDS if k in RESOURCE_TYPES)
    assert len(keys) == 2 * (2 + 2 + 1) + 1  # (s3, iam, 2x vpc, probe) per account, org once
    whole = plan.plan()
    assert whole.mine == whole.universe and whole.covered == kinds
    split = [plan_units(ShardSpec(i, 4), ["111111111111", "222222222222"], modules, ["us-east-1", "eu-west-1"],
                        kinds) for i in range(4)]
    assert sorted(u for s in split for u in s.plan().mine) == list(whole.universe)
    assert all(s.plan().universe == whole.universe for s in split)
