"""A shallow read is never evidence, for any ASL-3 check, directly or through another resource.

Each snapshot is built deep (its verdicts include PASSes on the buckets, and on the trail by its
log bucket), then the same resources, full-looking attributes and all, are marked as read
shallowly. The collector's deep-read predicate is held against the weight-storage closure:
every bucket the closure says holds weights, or cannot decide, must be read deeply.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from pathlib import Path

import pytest
from aws_res_builders import (
    PAB_ON,
    REGISTRY,
    account_settings,
    bucket,
    bucket_arn,
    config,
    kms_key,
    snap,
    trail,
)

from aslcheck.checks.aws.weight_scope import compute
from aslcheck.checks.engine import Options, evaluate
from aslcheck.checks.interface import Status
from aslcheck.controls.config import Config, Scope
from aslcheck.controls.loader import load_catalog
from aslcheck.inventories.aws.s3_scope import may_hold_weights
from aslcheck.inventories.snapshot import CollectorRun, Resource, Snapshot, load
from aslcheck.reports.model import RunResult

CATALOG, _ = load_catalog(checks=REGISTRY)
NOW = datetime(2026, 1, 2, tzinfo=timezone.utc)
LOCK = {"enabled": True, "mode": "COMPLIANCE", "days": 365, "years": None}
BUCKET = "aws.s3.bucket"
LOG_CHECK = "aws.cloudtrail.log_bucket_protected"


def _shallow(snapshot: Snapshot, ids: set[str]) -> Snapshot:
    (r,) = snapshot.runs
    return Snapshot(resources=snapshot.resources, errors=snapshot.errors, runs=(CollectorRun(
        r.name, r.version, r.targets, r.kinds, r.started, r.ended,
        shallow={BUCKET: tuple(sorted(ids))}),))


def _run(snapshot: Snapshot) -> RunResult:
    return evaluate(CATALOG, "asl3", REGISTRY, snapshot, config(), options=Options(now=NOW))


def _passes(result: RunResult) -> set[tuple[str, str]]:
    return {(o.check, str(f.resource)) for r in result.results for o in r.checks
            for f in o.findings if f.status is Status.PASS}


def _lab() -> Snapshot:
    return snap(bucket("weights-a"), bucket("trail-logs", weights=False, object_lock=LOCK),
                bucket("plain", weights=False), trail("t1"), kms_key(weights=True),
                account_settings(dict(PAB_ON)))


@pytest.mark.parametrize("thin", [
    {"weights-a"}, {"trail-logs"}, {"plain"}, {"weights-a", "trail-logs", "plain"}])
@pytest.mark.parametrize("reload", [False, True])
def test_no_pass_rests_on_a_shallow_bucket(thin: set[str], reload: bool, tmp_path: Path) -> None:
    deep = _lab()
    deep_passes = _passes(_run(deep))
    ids = {bucket_arn(n) for n in thin}
    assert {r for _, r in deep_passes} & ids or thin <= {"trail-logs", "plain"}
    shallow = _shallow(deep, ids)
    if reload:  # what a tampered file on disk gives: the forged attributes are in the JSON
        path = tmp_path / "s.json"
        path.write_bytes(shallow.canonical_bytes())
        shallow, _ = load(str(path))
        assert "encryption" in next(iter(shallow.of_kind(BUCKET))).attributes
    passes = _passes(_run(shallow))
    assert not {(c, r) for c, r in passes if r in ids}
    assert passes <= deep_passes
    if "trail-logs" in thin:  # the trail's verdict rests on its log bucket's object lock
        assert (LOG_CHECK, "arn:aws:cloudtrail:us-east-1:111111111111:trail/t1") in deep_passes
        assert not [c for c, _ in passes if c == LOG_CHECK]
    if thin == {"plain"}:  # nothing read about the out-of-scope bucket mattered
        assert passes == {(c, r) for c, r in deep_passes if r not in ids}


def test_a_shallow_weight_bucket_is_an_error_in_every_weights_check() -> None:
    result = _run(_shallow(_lab(), {bucket_arn("weights-a")}))
    weights_checks = {o.check for r in result.results for o in r.checks
                      if any(f.resource == bucket_arn("weights-a") for f in o.findings)}
    assert weights_checks
    for r in result.results:
        for o in r.checks:
            if o.check in weights_checks:
                mine = [f for f in o.findings if f.resource == bucket_arn("weights-a")]
                assert mine and all(f.status in (Status.ERROR, Status.FAIL) for f in mine), o.check


# -- the collector's predicate is never narrower than the weight scope --------------------------

TAGS = [None, {}, {"asl:asset": "model-weights"}, {"asl:asset": "other"}, {"team": "x"}]
NAMES = ["weights-prod", "ckpt-1", "plain", "logs-weights", "w"]
SCOPES = [
    Scope(aws=True),
    Scope(weight_tags={"asl:asset": "model-weights"}, aws=True),
    Scope(weight_tags={"asl:asset": "model-weights"}, allowed_storage=("arn:aws:s3:::weights-*",),
          aws=True),
    Scope(allowed_storage=("arn:aws:s3:::ckpt-*", "arn:*:s3:::w"), aws=True),
    Scope(weight_arn_patterns=("arn:aws:s3:::*weights*",), aws=True),
    Scope(weight_tags={"a": "1", "b": "2"}, weight_arn_patterns=("*:::plain",), aws=True),
]


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("partition", ["aws", "aws-cn"])
def test_deep_read_predicate_covers_the_weight_scope(scope: Scope, partition: str) -> None:
    resources = [Resource(BUCKET, f"arn:{partition}:s3:::{name}-{n}", "aws",
                          {"name": f"{name}-{n}", "replication": None}, tags)
                 for n, (name, tags) in enumerate(itertools.product(NAMES, TAGS))]
    resources += [Resource(BUCKET, f"arn:{partition}:s3:::{name}", "aws",
                           {"name": name, "replication": None}, tags)
                  for name, tags in zip(NAMES, TAGS, strict=True)]
    storage = compute(Snapshot(resources=tuple(resources)), Config(scope=scope))
    cfg = Config(scope=scope)
    for res in resources:
        name = str(res.attributes["name"])
        if storage.holds(res, cfg) is not False:
            assert may_hold_weights(scope, name, res.id, res.tags), (res.id, res.tags)
