"""Shallow reads (issue 12 item 1): the snapshot format, merging, and the engine's guard.

Acceptance: a shallow read never counts as evidence. Crafted snapshots mark resources as read
shallowly while their JSON carries full-looking attributes; no check may PASS on them, nor on
another resource because of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from aslcheck.checks.engine import Options, evaluate, guard_shallow
from aslcheck.checks.interface import CheckContext, CheckId, CheckSpec, Finding, Select, Status
from aslcheck.controls.loader import load_catalog
from aslcheck.errors import BadInputError
from aslcheck.inventories.snapshot import (
    CollectorRun,
    Resource,
    Snapshot,
    from_json,
    load,
    merge,
    shallow_view,
)
from aslcheck.reports.model import ControlStatus
from tests.core.conftest import bucket, run, snap

B = "aws.s3.bucket"
NOW = datetime(2026, 11, 27, tzinfo=timezone.utc)


def _thin(*resources: Resource, shallow: tuple[str, ...], kinds: tuple[str, ...] = (B,),
          name: str = "aws") -> Snapshot:
    r = run(kinds)
    return Snapshot(resources=resources, runs=(CollectorRun(
        name, r.version, r.targets, r.kinds, r.started, r.ended, shallow={B: shallow}),))


# -- format ----------------------------------------------------------------------------------


def test_shallow_round_trips_and_is_left_out_when_empty(tmp_path: Path) -> None:
    plain = snap(bucket("a"))
    assert "shallow" not in plain.to_json()["provenance"]["collectors"][0]
    thin = _thin(bucket("a"), bucket("b"), shallow=("arn:aws:s3:::b",))
    assert thin.to_json()["provenance"]["collectors"][0]["shallow"] == {B: ["arn:aws:s3:::b"]}
    path = tmp_path / "s.json"
    path.write_bytes(thin.canonical_bytes())
    loaded, _ = load(str(path))
    assert loaded.digest() == thin.digest()
    assert loaded.shallow_keys() == {(B, "arn:aws:s3:::b")}
    path.write_text(json.dumps(thin.to_json(), indent=2))  # the careful path too
    assert load(str(path))[0].shallow_keys() == {(B, "arn:aws:s3:::b")}


def test_shallow_ids_are_sorted_and_deduplicated_in_memory() -> None:
    r = CollectorRun("aws", "1", (), (), "2026-11-27T00:00:00Z", "2026-11-27T00:00:00Z",
                     shallow={B: ("z", "a", "z"), "aws.kms.key": ()})
    assert r.shallow == {B: ("a", "z")}


@pytest.mark.parametrize(("ids", "message"), [
    (["arn:aws:s3:::nothing"], "names no aws.s3.bucket resource"),
    (["arn:aws:s3:::a", "arn:aws:s3:::a"], "non-unique"),
    ([7], "not of type 'string'"),
    ([""], "should be non-empty"),
    ([], "should be non-empty"),
    ("arn:aws:s3:::a", "not of type 'array'"),
])
@pytest.mark.parametrize("pretty", [False, True])
def test_bad_shallow_ids_are_bad_input(ids: Any, message: str, pretty: bool, tmp_path: Path) -> None:
    doc = snap(bucket("a")).to_json()
    doc["provenance"]["collectors"][0]["shallow"] = {B: ids}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc, indent=2 if pretty else None))
    with pytest.raises(BadInputError, match=message):
        load(str(path))
    with pytest.raises(BadInputError, match=message):
        from_json(doc)


def test_shallow_id_of_the_wrong_kind_is_bad_input(tmp_path: Path) -> None:
    doc = snap(bucket("a")).to_json()
    doc["provenance"]["collectors"][0]["shallow"] = {"aws.kms.key": ["arn:aws:s3:::a"]}
    with pytest.raises(BadInputError, match="names no aws.kms.key resource"):
        from_json(doc)
    doc["provenance"]["collectors"][0]["shallow"] = {"Not A Kind": ["arn:aws:s3:::a"]}
    with pytest.raises(BadInputError):
        from_json(doc)


def test_merge_unions_shallow_reads_and_prefers_deep_copies() -> None:
    listed = Resource(B, "arn:aws:s3:::x", "aws", {"name": "x"}, {}, "111122223333", "us-east-1")
    a = _thin(listed, bucket("y", weights=False), shallow=("arn:aws:s3:::x",))
    b = _thin(bucket("x", weights=False), Resource(B, "arn:aws:s3:::z", "aws", {"name": "z"}, {}),
              shallow=("arn:aws:s3:::z",))
    for order in ((a, b), (b, a)):
        merged = merge(order)
        assert merged.shallow_keys() == {(B, "arn:aws:s3:::z")}  # x was read deeply by b
        assert {r.id: r for r in merged.resources}["arn:aws:s3:::x"] == bucket("x", weights=False)
    other = Resource(B, "arn:aws:s3:::z", "aws", {"name": "z"}, {"t": "different"})
    with pytest.raises(BadInputError, match="conflicting"):
        merge([b, _thin(other, shallow=("arn:aws:s3:::z",))])


def test_view_keeps_only_what_a_listing_gives() -> None:
    forged = bucket("w", object_lock={"enabled": True})
    view = shallow_view(_thin(forged, shallow=(forged.id,)))
    (res,) = view.resources
    assert dict(res.attributes) == {} and res.tags == forged.tags and res.region == "us-east-1"
    named = Resource(B, "arn:aws:s3:::n", "aws", {"name": "n", "region": "r", "policy": {}}, {})
    assert dict(shallow_view(_thin(named, shallow=(named.id,))).resources[0].attributes) == \
        {"name": "n", "region": "r"}


# -- the engine --------------------------------------------------------------------------------


def _statuses(result: Any, resource: str) -> list[Status]:
    return [f.status for r in result.results for o in r.checks for f in o.findings
            if f.resource == resource]


def test_shallow_weight_bucket_with_forged_attributes_never_passes(
        catalog: Any, registry: Any, config: Any) -> None:
    good = bucket("good")
    assert {r.control.id: r.status for r in evaluate(
        catalog, "asl3", registry, snap(good), config, options=Options(now=NOW)).results
            }["T2-EN-1"] is ControlStatus.PASS
    result = evaluate(catalog, "asl3", registry, _thin(good, shallow=(good.id,)), config,
                      options=Options(now=NOW))
    statuses = _statuses(result, good.id)
    assert statuses and Status.PASS not in statuses and Status.ERROR in statuses
    by_id = {r.control.id: r for r in result.results}
    assert by_id["T2-EN-1"].status is ControlStatus.INCONCLUSIVE
    assert result.snapshot_digest == _thin(good, shallow=(good.id,)).digest()


def test_guard_turns_pass_into_error_and_flags_silent_weight_subjects() -> None:
    spec = CheckSpec(CheckId("t.silent"), 1, frozenset({B}), lambda ctx: ())
    thin = bucket("w")
    out = guard_shallow(spec, [thin], [], frozenset({(B, thin.id)}))
    assert [(f.status, f.resource) for f in out] == [(Status.ERROR, thin.id)]
    passed = Finding(check=spec.id, status=Status.PASS, reason="ok", resource=thin.id, kind=B)
    failed = Finding(check=spec.id, status=Status.FAIL, reason="bad", resource=thin.id, kind=B)
    (got,) = guard_shallow(spec, [thin], [passed], frozenset({(B, thin.id)}))
    assert got.status is Status.ERROR and "read shallowly" in got.reason
    assert guard_shallow(spec, [thin], [failed], frozenset({(B, thin.id)})) == [failed]
    other = Finding(check=spec.id, status=Status.PASS, reason="ok", resource=thin.id,
                    kind="aws.kms.key")
    all_spec = CheckSpec(CheckId("t.all"), 1, frozenset({B}), lambda ctx: (), select=Select.ALL)
    assert guard_shallow(all_spec, [], [other], frozenset({(B, thin.id)})) == [other]


@pytest.fixture
def every_bucket(registry: Any, tmp_path: Path) -> tuple[Any, Any]:
    """A registry and catalog with one "every bucket exists and is named" ALL check."""

    def named(ctx: CheckContext) -> Iterator[Finding]:
        for res in ctx.resources:
            ok = isinstance(res.attributes.get("name"), str) or "versioning" in res.attributes
            yield ctx.finding(CheckId("t.every_bucket"), res, Status.PASS if ok else Status.ERROR,
                              "named" if ok else "no name")

    registry.add(CheckSpec(CheckId("t.every_bucket"), 1, frozenset({B}), named,
                           select=Select.ALL))
    path = tmp_path / "catalog.yaml"
    path.write_text("""catalog: t
version: 1
profiles:
  asl3: {title: t, levels: [ASL-3]}
controls:
  - id: T3-AS-9
    title: Every bucket
    level: ASL-3
    domain: AS
    statement: Every bucket is known.
    sources: {rsp: [{version: "2.2", section: "x"}], nist: [CM-8]}
    verification: automated
    checks: [t.every_bucket]
""")
    cat, _ = load_catalog([str(path)], checks=registry, builtin=False)
    return registry, cat


def test_every_bucket_check_cannot_pass_by_shallow_buckets(
        every_bucket: tuple[Any, Any], config: Any) -> None:
    registry, cat = every_bucket
    deep = bucket("deep", weights=False)
    thin = [Resource(B, f"arn:aws:s3:::p{i}", "aws", {"name": f"p{i}", "versioning": "Enabled"},
                     {}) for i in range(3)]
    result = evaluate(cat, "asl3", registry, snap(deep, *thin, kinds=(B,)), config,
                      options=Options(now=NOW))
    assert result.results[0].status is ControlStatus.PASS
    result = evaluate(cat, "asl3", registry,
                      _thin(deep, *thin, shallow=tuple(r.id for r in thin)), config,
                      options=Options(now=NOW))
    (control,) = result.results
    assert control.status is ControlStatus.INCONCLUSIVE
    assert _statuses(result, deep.id) == [Status.PASS]
    for res in thin:
        assert _statuses(result, res.id) == [Status.ERROR]
