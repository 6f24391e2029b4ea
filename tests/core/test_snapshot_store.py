"""The compact resource store: same contract for checks, same digest, same results.json bytes."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from aslcheck.checks.engine import Options, evaluate
from aslcheck.cli import common
from aslcheck.inventories import snapshot as snapshot_io
from aslcheck.inventories.compact import CACHE_SLOTS, EMPTY, FrozenObject
from aslcheck.inventories.snapshot import CollectionError, CollectorRun, Resource, Snapshot, merge
from aslcheck.reports.attestation import write_reports
from aslcheck.reports.render.json_ import JsonRenderer, iter_json

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import snapgen  # bench/ is not a package, so it is imported from its directory

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def varied() -> Snapshot:
    """Content that stresses the encoding: non-ASCII, escapes, big and negative ints, nesting."""
    run = CollectorRun("aws", "1.0", ("111122223333/us-east-1",), ("aws.s3.bucket", "aws.iam.role"),
                       "2026-11-27T00:00:00Z", "2026-11-27T00:01:00Z")
    host_run = CollectorRun("ssh", "1.0", ("h1",), ("host.sshd",), "2026-11-27T00:00:00Z", "2026-11-27T00:02:00Z")
    resources = (
        Resource("aws.s3.bucket", "arn:aws:s3:::é-weights", "aws",
                 {"z": 1, "a": [True, False, None, -7, 2**70], "policy": {"Statement": [{"Sid": "☃\n\t\"q\"\\"}]},
                  "ctl": "\x00\x1f\x7f\u2028", "astral": "𝄞", "empty": {}, "list": []},
                 tags={"asl:asset": "model-weights", "Ω": ""}, account="111122223333", region="us-east-1"),
        Resource("aws.iam.role", "arn:aws:iam::111122223333:role/r", "aws", {}, tags=None,
                 account="111122223333"),
        Resource("host.sshd", "h1:sshd", "ssh", {"config": {"passwordauthentication": "no"}}, tags={}, host="h1"),
    )
    errors = (CollectionError("aws", "iam:GetRole", "AccessDenied", "dénied",
                              resource="arn:aws:iam::111122223333:role/x", kind="aws.iam.role",
                              account="111122223333"),
              CollectionError("ssh", "ssh:connect", "Timeout", "", host="h2"))
    return Snapshot(resources=resources, errors=errors, runs=(run, host_run))


# Computed with the code before the compact store (commit 79eabd4): the digest definition
# must not move.
VARIED_DIGEST = "38468449f75b6fe9b391c324783f147de2e3b85b928352d3b4a7416cdfafff10"


def test_digest_of_varied_content_is_unchanged() -> None:
    assert varied().digest() == VARIED_DIGEST


@pytest.mark.parametrize("indent", [None, 2])
def test_loaded_and_reserialised_hashes_identically(tmp_path: Path, indent: int | None) -> None:
    original = varied()
    path = tmp_path / "s.json"
    data = original.canonical_bytes() if indent is None else json.dumps(
        json.loads(original.canonical_bytes()), indent=indent, ensure_ascii=True).encode()
    path.write_bytes(data)
    loaded, raw = snapshot_io.load(str(path))
    assert raw == data
    assert loaded == original
    assert loaded.canonical_bytes() == original.canonical_bytes()
    assert loaded.digest() == VARIED_DIGEST


def test_generated_snapshot_reserialises_to_the_generators_bytes(tmp_path: Path) -> None:
    # snapgen writes canonical JSON with json.dumps, independently of Snapshot.
    path = tmp_path / "gen.json"
    with open(path, "w", encoding="utf-8") as fh:
        count = snapgen.write_snapshot(3000, fh)
    loaded, raw = snapshot_io.load(str(path))
    assert len(loaded.resources) == count
    assert loaded.canonical_bytes() == raw
    assert loaded.digest() == hashlib.sha256(raw).hexdigest()
    assert loaded == snapshot_io.from_json(json.loads(raw))


def test_attributes_keep_the_mapping_contract(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(varied().canonical_bytes())
    loaded = snapshot_io.load(str(path))[0]
    by_kind = {r.kind: r for r in loaded.resources}
    bucket = by_kind["aws.s3.bucket"]
    a = bucket.attributes
    assert isinstance(a, FrozenObject)
    assert a["z"] == 1 and a.get("nope") is None and a.get("nope", 5) == 5
    assert "policy" in a and "nope" not in a
    with pytest.raises(KeyError):
        a["nope"]
    assert sorted(a) == sorted(varied().of_kind("aws.s3.bucket")[0].attributes)
    assert len(a) == 7
    assert dict(a.items()) == varied().of_kind("aws.s3.bucket")[0].attributes
    assert list(a.keys()) == sorted(a.keys()) and len(list(a.values())) == 7
    assert type(a["policy"]) is dict and type(a["a"]) is list and a["a"][-1] == 2**70
    assert a == varied().of_kind("aws.s3.bucket")[0].attributes and a != {"z": 1}
    with pytest.raises(TypeError):
        hash(a)
    assert bucket.tags == {"asl:asset": "model-weights", "Ω": ""}
    role, host = by_kind["aws.iam.role"], by_kind["host.sshd"]
    assert role.attributes is EMPTY and role.tags is None
    assert host.tags is EMPTY and host.tags == {}
    assert "FrozenObject(" in repr(a)


def test_what_a_check_changes_never_reaches_the_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(varied().canonical_bytes())
    loaded = snapshot_io.load(str(path))[0]
    a = loaded.of_kind("aws.s3.bucket")[0].attributes
    thawed = a.thaw()  # type: ignore[attr-defined]
    thawed["z"] = 99
    thawed["a"].append("x")
    assert a["z"] == 1 and a["a"][-1] == 2**70
    assert loaded.digest() == VARIED_DIGEST


def test_rereads_after_eviction_decode_again(tmp_path: Path) -> None:
    path = tmp_path / "gen.json"
    with open(path, "w", encoding="utf-8") as fh:
        snapgen.write_snapshot(3000, fh)
    loaded = snapshot_io.load(str(path))[0]
    first = [dict(r.attributes.items()) for r in loaded.resources]
    assert len(first) > CACHE_SLOTS // 2
    again = [dict(r.attributes.items()) for r in reversed(loaded.resources)]
    assert first == again[::-1]


def test_frozen_equality_is_by_canonical_encoding() -> None:
    assert FrozenObject(b'{"a":1,"b":[2]}') == FrozenObject(b'{ "b": [2], "a": 1 }')
    assert FrozenObject(b'{"attributes":{"a":1},"id":"x"}', "attributes") == FrozenObject(b'{"a":1}')
    with pytest.raises(ValueError, match="member"):
        FrozenObject(b'{"r":{}}', "r")
    # 1 and true are equal in Python but not in the digest: frozen objects keep them apart.
    assert FrozenObject(b'{"a":1}') != FrozenObject(b'{"a":true}')
    assert FrozenObject.from_mapping({"b": 2, "a": 1}) == {"a": 1, "b": 2}


def test_merge_of_loaded_snapshots_detects_conflicts(tmp_path: Path) -> None:
    one, two = tmp_path / "1.json", tmp_path / "2.json"
    one.write_bytes(varied().canonical_bytes())
    changed = varied().canonical_bytes().replace(b'"z":1', b'"z":true')
    two.write_bytes(changed)
    a, b = snapshot_io.load(str(one))[0], snapshot_io.load(str(two))[0]
    assert merge([a, snapshot_io.load(str(one))[0]]).resources == a.resources
    with pytest.raises(Exception, match="conflicting"):
        merge([a, b])


# -- results.json: streamed, and byte-identical -------------------------------------------------

def _eager(doc: Any) -> bytes:
    """What the JSON renderer wrote before it streamed."""
    return json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode() + b"\n"


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    """asl3 on a 3,000-resource organisation: from the compact store and from plain dicts."""
    tmp = tmp_path_factory.mktemp("bench")
    snap_path, cfg = tmp / "gen.json", tmp / "aslcheck.yaml"
    with open(snap_path, "w", encoding="utf-8") as fh:
        snapgen.write_snapshot(3000, fh)
    cfg.write_text(snapgen.config_yaml(3000))
    ns = argparse.Namespace(catalog=[], no_default_catalog=False, rules=[], config=str(cfg), waivers=[],
                            profile="asl3")
    inputs = common.load_inputs(ns)
    compact, raw = snapshot_io.load(str(snap_path))
    plain = snapshot_io.from_json(json.loads(raw))
    runs = []
    for snap in (compact, plain):
        runs.append(evaluate(inputs.catalog, inputs.profile, inputs.registry, snap, inputs.config,
                             digests={"snapshot": hashlib.sha256(raw).hexdigest(), "catalog": "c", "config": "f"},
                             options=Options(now=NOW)))
    return runs[0], runs[1]


def test_streamed_results_equal_the_eager_document(bench_run: tuple[Any, Any], tmp_path: Path) -> None:
    compact, _ = bench_run
    assert sum(len(o.findings) for r in compact.results for o in r.checks) > 1000
    eager = _eager(compact.to_json())
    assert JsonRenderer().render(compact) == eager
    sink = io.BytesIO()
    JsonRenderer().write(compact, sink)
    assert sink.getvalue() == eager
    written = write_reports(compact, str(tmp_path / "out"), [JsonRenderer()], [])
    assert Path(written.files["json"]).read_bytes() == eager


def test_compact_store_changes_no_result(bench_run: tuple[Any, Any]) -> None:
    compact, plain = bench_run
    assert JsonRenderer().render(compact) == _eager(plain.to_json())


def test_lazy_and_eager_documents_agree(bench_run: tuple[Any, Any]) -> None:
    compact, _ = bench_run
    assert "".join(iter_json(compact.to_json(lazy=True))) + "\n" == _eager(compact.to_json()).decode()


def test_iter_json_refuses_a_lazy_array_it_cannot_reach() -> None:
    from aslcheck.reports.model import LazyArray

    with pytest.raises(TypeError):
        "".join(iter_json({"a": {"b": LazyArray([1], str)}}))
    assert "".join(iter_json({"b": LazyArray([2, 1], lambda x: {"v": x}), "a": 1})) == '{"a":1,"b":[{"v":2},{"v":1}]}'


def test_canonical_files_take_the_fast_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aslcheck.inventories.schema import strict

    calls: list[str] = []
    real = strict.check
    monkeypatch.setattr(strict, "check", lambda data, origin: (calls.append(origin), real(data, origin))[1])
    path = tmp_path / "s.json"
    path.write_bytes(varied().canonical_bytes())
    snapshot_io.load(str(path))
    assert calls == []
    path.write_text(json.dumps(json.loads(varied().canonical_bytes()), indent=1))
    snapshot_io.load(str(path))
    assert calls == [str(path)]


def test_test_data_snapshots_reserialise_identically(tmp_path: Path) -> None:
    from tests.reports.conftest import realistic_snapshot

    for i, original in enumerate((realistic_snapshot(), realistic_snapshot(regress=True), varied())):
        path = tmp_path / f"{i}.json"
        path.write_bytes(original.canonical_bytes())
        loaded, raw = snapshot_io.load(str(path))
        assert loaded == original
        assert loaded.canonical_bytes() == raw
        assert loaded.digest() == original.digest() == hashlib.sha256(raw).hexdigest()
