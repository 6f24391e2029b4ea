"""Sharded AWS scans against the demo lab on moto: three shards in three concurrent processes,
then ``aslcheck merge``; a missing, duplicated, foreign or tampered partial never yields a PASS.

Catalogue of the attacks: docs/sharding.md ("What merge checks").
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aslcheck.cli.exitcodes import ExitCode
from tests.shard.shardlab import (
    Lab,
    Ran,
    aslcheck_argv,
    demo_lab,
    resources_of,
    results,
    run_all,
    run_one,
    snapshot_doc,
    statuses,
    write_demo_inputs,
)

REGIONS = ("us-east-1", "us-west-2")
COUNT = 3


@dataclass(frozen=True)
class Sharded:
    """One unsharded scan and one 3-shard scan of the same lab, with the same inputs."""

    lab: Lab
    config: Path
    full: Path
    full_run: Ran
    shards: tuple[Path, ...]
    root: Path

    def scan_args(self, *extra: str) -> list[str]:
        return aslcheck_argv("scan", "--aws", "--endpoint-url", self.lab.url, "--config", str(self.config),
                             "--quiet", "--format", "json", *extra)

    def merge(self, *paths: Path | str, out: str, extra: tuple[str, ...] = ()) -> Ran:
        return run_one(aslcheck_argv("merge", *map(str, paths), "--config", str(self.config), "--quiet",
                                     "--format", "json", "--out", str(self.root / out), *extra), self.lab.env)


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sharded]:
    root = tmp_path_factory.mktemp("sharded")
    with demo_lab(root) as lab:
        config = write_demo_inputs(root / "inputs", REGIONS)
        base = aslcheck_argv("scan", "--aws", "--endpoint-url", lab.url, "--config", str(config), "--quiet",
                             "--format", "json")
        full = root / "full"
        shards = tuple(root / "partials" / f"shard-{i}" for i in range(COUNT))
        # The unsharded scan and the three shards run at the same time, as separate processes.
        ran = run_all([base + ["--out", str(full)]]
                      + [base + ["--shard", f"{i}/{COUNT}", "--out", str(d)] for i, d in enumerate(shards)], lab.env)
        for r in ran[1:]:
            assert r.code == 0, r.err
        assert ran[0].code in (0, 1, 2), ran[0].err
        yield Sharded(lab, config, full, ran[0], shards, root)


def _partial_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("partial-*"))


def _no_pass(out: Path) -> None:
    """No control that reads collected evidence passes (purely manual controls read none)."""
    doc = results(out)
    passed = [c["id"] for c in doc["controls"] if c["status"] == "pass" and c.get("checks")]
    assert passed == [], passed


def _errors(out: Path, code: str) -> list[dict[str, str]]:
    return [e for e in snapshot_doc(out)["errors"] if e["code"] == code]


def test_a_shard_writes_a_partial_not_a_result(sharded: Sharded) -> None:
    for i, folder in enumerate(sharded.shards):
        files = _partial_files(folder)
        assert len(files) == 2, files
        names = {f.name for f in folder.iterdir()}
        assert not names & {"results.json", "snapshot.json", "attestation.dsse.json", "report.md"}
        manifest_path = next(f for f in files if f.name.endswith(".manifest.json"))
        manifest = json.loads(manifest_path.read_text())
        assert manifest["shard"] == {"index": i, "count": COUNT}
        # content-addressed: the snapshot's name is its own digest
        import hashlib

        snap = folder / manifest["snapshot"]["file"]
        assert snap.name == f"partial-{hashlib.sha256(snap.read_bytes()).hexdigest()}.json"
        assert manifest["snapshot"]["digest"] == hashlib.sha256(snap.read_bytes()).hexdigest()
    manifests = [json.loads(next(d.glob("*.manifest.json")).read_text()) for d in sharded.shards]
    assert len({m["universe"]["digest"] for m in manifests}) == 1
    units = [tuple(u) for m in manifests for u in m["units"]]
    assert len(units) == len(set(units)) == manifests[0]["universe"]["units"]
    assert all(m["units"] for m in manifests), "every shard got some of the units"


def test_merge_of_all_shards_equals_the_unsharded_scan(sharded: Sharded) -> None:
    ran = sharded.merge(*sharded.shards, out="merged")
    merged = sharded.root / "merged"
    assert ran.code == sharded.full_run.code, ran.err
    assert statuses(merged) == statuses(sharded.full)
    assert "pass" in statuses(merged).values()
    full_doc, merged_doc = snapshot_doc(sharded.full), snapshot_doc(merged)
    assert resources_of(merged_doc) == resources_of(full_doc)
    assert {json.dumps(e, sort_keys=True) for e in merged_doc["errors"]} == \
        {json.dumps(e, sort_keys=True) for e in full_doc["errors"]}
    listed = {k for c in merged_doc["provenance"]["collectors"] for k in c["kinds"]}
    assert listed == {k for c in full_doc["provenance"]["collectors"] for k in c["kinds"]}
    summary = json.loads((merged / "shards.json").read_text())
    assert summary["complete"] is True and summary["problems"] == []


def test_merge_of_the_parent_folder_finds_every_shard(sharded: Sharded) -> None:
    ran = sharded.merge(sharded.root / "partials", out="merged-parent")
    assert ran.code == sharded.full_run.code, ran.err
    assert statuses(sharded.root / "merged-parent") == statuses(sharded.full)


@pytest.mark.parametrize("missing", range(COUNT))
def test_a_missing_shard_never_yields_pass(sharded: Sharded, missing: int) -> None:
    present = [d for i, d in enumerate(sharded.shards) if i != missing]
    out = f"missing-{missing}"
    ran = sharded.merge(*present, out=out)
    assert ran.code not in (ExitCode.OK, ExitCode.BAD_INPUT), ran.err
    assert f"shard {missing}/{COUNT} is missing" in ran.err
    _no_pass(sharded.root / out)
    full = statuses(sharded.full)
    got = statuses(sharded.root / out)
    for cid, status in full.items():
        if status == "pass" and any(c["id"] == cid and c.get("checks") for c in results(sharded.full)["controls"]):
            assert got[cid] == "inconclusive", (cid, got[cid])
    errs = _errors(sharded.root / out, "ShardMissing")
    assert errs and all(e.get("resource") is None and e.get("kind") for e in errs)
    assert json.loads((sharded.root / out / "shards.json").read_text())["complete"] is False


def test_a_missing_shard_folder_counts_as_missing(sharded: Sharded) -> None:
    ran = sharded.merge(*sharded.shards[:2], sharded.root / "partials" / "shard-2-never-written", out="absent")
    assert ran.code not in (ExitCode.OK, ExitCode.BAD_INPUT), ran.err
    assert "does not exist" in ran.err
    _no_pass(sharded.root / "absent")


def test_the_same_partial_twice_is_a_duplicate(sharded: Sharded) -> None:
    copy = sharded.root / "dup-copy"
    shutil.copytree(sharded.shards[1], copy)
    ran = sharded.merge(*sharded.shards, copy, out="dup-same")
    assert ran.code not in (ExitCode.OK, ExitCode.BAD_INPUT), ran.err
    assert f"shard 1/{COUNT} was given 2 times" in ran.err
    _no_pass(sharded.root / "dup-same")
    assert _errors(sharded.root / "dup-same", "ShardDuplicated")


def test_a_rerun_shard_beside_its_first_run_is_a_duplicate(sharded: Sharded) -> None:
    again = sharded.root / "rerun-2"
    ran = run_one(sharded.scan_args("--shard", f"2/{COUNT}", "--out", str(again)), sharded.lab.env)
    assert ran.code == 0, ran.err
    merged = sharded.merge(*sharded.shards, again, out="dup-rerun")
    assert merged.code not in (ExitCode.OK, ExitCode.BAD_INPUT), merged.err
    _no_pass(sharded.root / "dup-rerun")


def test_rerunning_a_shard_into_its_folder_replaces_its_partial(sharded: Sharded, tmp_path: Path) -> None:
    folder = tmp_path / "shard-0"
    shutil.copytree(sharded.shards[0], folder)
    (folder / "notes.txt").write_text("kept")
    before = {f.name for f in _partial_files(folder)}
    ran = run_one(sharded.scan_args("--shard", f"0/{COUNT}", "--out", str(folder)), sharded.lab.env)
    assert ran.code == 0, ran.err
    after = {f.name for f in _partial_files(folder)}
    assert len(after) == 2 and after != before
    assert (folder / "notes.txt").read_text() == "kept"


@pytest.mark.parametrize("foreign", ["count", "regions"])
def test_a_partial_of_another_universe_never_yields_pass(sharded: Sharded, foreign: str) -> None:
    other = sharded.root / f"foreign-{foreign}"
    if foreign == "count":
        # shard 0 of a 2-way split, with shards 1 and 2 of the 3-way split: indices 0..2 all there
        args = sharded.scan_args("--shard", "0/2", "--out", str(other))
    else:
        args = sharded.scan_args("--shard", f"0/{COUNT}", "--region", "us-east-1", "--out", str(other))
    ran = run_one(args, sharded.lab.env)
    assert ran.code == 0, ran.err
    merged = sharded.merge(other, *sharded.shards[1:], out=f"mixed-{foreign}")
    assert merged.code not in (ExitCode.OK, ExitCode.BAD_INPUT), merged.err
    assert "disagree on the" in merged.err
    _no_pass(sharded.root / f"mixed-{foreign}")
    assert _errors(sharded.root / f"mixed-{foreign}", "ShardMismatch")


def test_partials_of_another_config_never_yield_pass(sharded: Sharded, tmp_path: Path) -> None:
    other = tmp_path / "aslcheck.yaml"
    text = sharded.config.read_text()
    assert "log_retention_days: 365" in text
    other.write_text(text.replace("log_retention_days: 365", "log_retention_days: 30"))
    shutil.copy(sharded.config.parent / "attestations.yaml", tmp_path / "attestations.yaml")
    ran = run_one(aslcheck_argv("merge", *map(str, sharded.shards), "--config", str(other), "--quiet", "--format",
                                "json", "--out", str(tmp_path / "out")), sharded.lab.env)
    assert ran.code not in (ExitCode.OK, ExitCode.BAD_INPUT), ran.err
    assert "another config digest" in ran.err
    _no_pass(tmp_path / "out")


def _copy_shards(sharded: Sharded, tmp_path: Path) -> list[Path]:
    out = []
    for d in sharded.shards:
        shutil.copytree(d, tmp_path / d.name)
        out.append(tmp_path / d.name)
    return out


def test_a_tampered_partial_is_refused_naming_the_file(sharded: Sharded, tmp_path: Path) -> None:
    copies = _copy_shards(sharded, tmp_path)
    snap = next(f for f in _partial_files(copies[1]) if not f.name.endswith(".manifest.json"))
    data = snap.read_bytes()
    snap.write_bytes(data.replace(b'"fail"', b'"pass"', 1) if b'"fail"' in data else data + b" ")
    ran = sharded.merge(*copies, out="tampered")
    assert ran.code == ExitCode.BAD_INPUT, ran.err
    assert snap.name in ran.err and "does not hash to the digest its manifest names" in ran.err
    assert "Traceback" not in ran.err
    assert not (sharded.root / "tampered").exists()


def test_a_manifest_claiming_another_shards_units_is_refused(sharded: Sharded, tmp_path: Path) -> None:
    copies = _copy_shards(sharded, tmp_path)
    manifest = next(copies[0].glob("*.manifest.json"))
    doc = json.loads(manifest.read_text())
    theirs = json.loads(next(copies[1].glob("*.manifest.json")).read_text())["units"]
    doc["units"].append(theirs[0])
    manifest.write_text(json.dumps(doc))
    ran = sharded.merge(*copies, out="stolen-units")
    assert ran.code == ExitCode.BAD_INPUT, ran.err
    assert manifest.name in ran.err and "does not belong to shard 0/3" in ran.err


def test_a_manifest_without_its_partial_is_refused(sharded: Sharded, tmp_path: Path) -> None:
    copies = _copy_shards(sharded, tmp_path)
    snap = next(f for f in _partial_files(copies[2]) if not f.name.endswith(".manifest.json"))
    snap.unlink()
    ran = sharded.merge(*copies, out="no-partial")
    assert ran.code == ExitCode.BAD_INPUT, ran.err
    assert snap.name in ran.err


def test_a_shard_writes_no_result_and_refuses_signing(sharded: Sharded, tmp_path: Path) -> None:
    ran = run_one(sharded.scan_args("--shard", "0/3", "--out", str(tmp_path / "s"), "--sign-key",
                                    str(tmp_path / "nokey")), sharded.lab.env)
    assert ran.code == ExitCode.BAD_INPUT
    assert "sign" in ran.err and "merge" in ran.err


def test_a_sharded_scan_needs_explicit_regions(sharded: Sharded, tmp_path: Path) -> None:
    config = tmp_path / "aslcheck.yaml"
    config.write_text(sharded.config.read_text().replace("regions: [us-east-1, us-west-2]", "regions: []"))
    shutil.copy(sharded.config.parent / "attestations.yaml", tmp_path / "attestations.yaml")
    ran = run_one(aslcheck_argv("scan", "--aws", "--endpoint-url", sharded.lab.url, "--config", str(config),
                                "--shard", "0/2", "--out", str(tmp_path / "s")), sharded.lab.env)
    assert ran.code == ExitCode.BAD_INPUT, ran.err
    assert "--shard needs explicit regions so every shard plans the same units" in ran.err
    assert not (tmp_path / "s").exists()
