"""Scope-driven S3 collection against moto (issue 12 item 1).

40 plain buckets, a weight bucket by tag, a weight bucket by ``allowed_storage`` name only
(untagged), the tagged one's replication destination and a trail's log bucket: only these four
are read deeply, the 40 are listed as shallow, and the ASL-3 verdicts on the four are those of
``--deep``. Fault variants: the tag index denied (per-bucket tags
instead, same scope), and both tag reads denied (tags unknown: every bucket read deeply, no
weights PASS).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from awsfake import RecordingProxy
from awsseed import REGION, WEIGHT_TAG, client
from scopelab import KINDS, NOT_IN_MOTO, cfg, replicate, run, weight_bucket

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.interface import Select, Status
from aslcheck.inventories.aws import AwsCollector, ClientSettings
from aslcheck.inventories.aws.s3_scope import TAG_INDEX, TAG_OPERATION
from aslcheck.inventories.interface import CollectionRequest
from aslcheck.inventories.snapshot import Snapshot
from aslcheck.reports.model import RunResult

BUCKET = "aws.s3.bucket"
PLAIN = [f"plain-{i:03d}" for i in range(40)]
TAGGED, NAMED, REPLICA, LOGS = "ckpt-tagged", "weights-named", "replica-dest", "trail-logs-x"
DEEP = {TAGGED, NAMED, REPLICA, LOGS}
CONFIG = cfg(allowed=("arn:aws:s3:::weights-*",))
REGISTRY = default_registry()
DETAIL = "s3:GetBucketEncryption"  # one of the per-bucket deep reads: sent once per deep bucket


def _arn(name: str) -> str:
    return f"arn:aws:s3:::{name}"


@pytest.fixture
def lab(aws_proxy: RecordingProxy, moto_endpoint: str) -> RecordingProxy:
    s3 = client(moto_endpoint, "s3")
    for n, name in enumerate(PLAIN):
        s3.create_bucket(Bucket=name)
        if n % 4 == 0:  # tagged, but not as weights
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "team", "Value": "web"}]})
    weight_bucket(moto_endpoint, TAGGED)
    weight_bucket(moto_endpoint, NAMED, tagged=False)
    s3.create_bucket(Bucket=REPLICA)
    replicate(moto_endpoint, TAGGED, REPLICA)
    s3.create_bucket(Bucket=LOGS, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket=LOGS, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 365}}})
    client(moto_endpoint, "cloudtrail").create_trail(Name="lab-trail", S3BucketName=LOGS,
                                                      IsMultiRegionTrail=True)
    return aws_proxy


def _collect(proxy: RecordingProxy, make: Callable[..., AwsCollector], *, deep: bool = False,
             kinds: frozenset[str] = KINDS, **options: Any) -> Snapshot:
    collector = make(proxy.url, regions=[REGION], skip_operations={NOT_IN_MOTO}, **options)
    return collector.collect(CollectionRequest(kinds=kinds & collector.kinds(), config=CONFIG,
                                               deep=deep))


S3_AND_TRAILS = frozenset({BUCKET, "aws.cloudtrail.trail"})


def _sent(proxy: RecordingProxy, op: str) -> list[str]:
    """Bucket names (first path segment) of the requests of ``op`` that reached moto."""
    with proxy._lock:
        paths = [r.path for r in proxy.records if r.operation == op]
    return sorted(p.lstrip("/").split("?", 1)[0].split("/", 1)[0] for p in paths)


def _bucket_verdicts(result: RunResult, names: set[str]) -> dict[tuple[str, str], list[str]]:
    """``{(check, bucket ARN): [status...]}`` for the findings on the named buckets."""
    arns = {_arn(n) for n in names}
    out: dict[tuple[str, str], list[str]] = {}
    for res in result.results:
        for o in res.checks:
            for f in o.findings:
                if f.resource in arns:
                    out.setdefault((o.check, str(f.resource)), []).append(f.status.value)
    return {k: sorted(v) for k, v in out.items()}


def _weights_passes(result: RunResult, names: set[str]) -> list[str]:
    weights = {s.id for s in REGISTRY if s.select is Select.WEIGHTS}
    arns = {_arn(n) for n in names}
    return [f"{o.check} {f.resource}" for r in result.results for o in r.checks
            for f in o.findings if o.check in weights and f.resource in arns
            and f.status is Status.PASS]


def test_only_what_a_check_needs_is_read_deeply(
        lab: RecordingProxy, aws_collector: Callable[..., AwsCollector]) -> None:
    snap = _collect(lab, aws_collector, kinds=S3_AND_TRAILS)
    assert _sent(lab, DETAIL) == sorted(DEEP)
    counts = Counter(op for op in lab.operations() if op and op.startswith("s3:"))
    assert counts["s3:ListBuckets"] == 1
    assert counts["s3:GetBucketTagging"] == 0  # tags came from the tag index
    assert counts[DETAIL] == counts["s3:GetBucketPolicy"] == counts["s3:GetBucketReplication"] == 4
    assert lab.operations().count(TAG_OPERATION) >= 1
    (col,) = snap.runs
    assert col.shallow == {BUCKET: tuple(sorted(_arn(n) for n in PLAIN))}
    assert BUCKET in col.kinds and not [e for e in snap.errors if e.kind == BUCKET]
    buckets = {r.id: r for r in snap.of_kind(BUCKET)}
    assert len(buckets) == 44
    plain = buckets[_arn(PLAIN[0])]
    assert dict(plain.attributes) == {"name": PLAIN[0], "region": REGION}
    assert plain.tags == {"team": "web"} and buckets[_arn(PLAIN[1])].tags == {}
    assert "encryption" in buckets[_arn(REPLICA)].attributes
    assert buckets[_arn(TAGGED)].tags == {WEIGHT_TAG["Key"]: WEIGHT_TAG["Value"]}
    assert buckets[_arn(NAMED)].tags == {}


def test_weight_bucket_verdicts_equal_those_of_a_deep_scan(
        lab: RecordingProxy, aws_collector: Callable[..., AwsCollector]) -> None:
    shallow = run(_collect(lab, aws_collector), CONFIG)
    deep_snap = _collect(lab, aws_collector, deep=True)
    assert not deep_snap.runs[0].shallow
    deep = run(deep_snap, CONFIG)
    assert _bucket_verdicts(shallow, DEEP) == _bucket_verdicts(deep, DEEP)
    assert _bucket_verdicts(shallow, {TAGGED, NAMED})  # the weight buckets were judged
    assert {r.control.id: r.status for r in shallow.results} == \
        {r.control.id: r.status for r in deep.results}
    # Shallow plain buckets never PASS anything.
    assert not [v for k, v in _bucket_verdicts(shallow, set(PLAIN)).items() if "pass" in v]


def test_tag_index_denied_falls_back_to_bucket_tagging(
        lab: RecordingProxy, aws_collector: Callable[..., AwsCollector]) -> None:
    lab.fault(TAG_OPERATION, 400, "AccessDeniedException")
    snap = _collect(lab, aws_collector, kinds=S3_AND_TRAILS)
    assert _sent(lab, "s3:GetBucketTagging") == sorted([*PLAIN, *DEEP])
    assert _sent(lab, DETAIL) == sorted(DEEP)
    (col,) = snap.runs
    assert col.shallow == {BUCKET: tuple(sorted(_arn(n) for n in PLAIN))}
    noted = [e for e in snap.errors if e.operation == TAG_OPERATION and e.kind == TAG_INDEX]
    assert noted and "GetBucketTagging instead" in noted[0].message
    assert BUCKET in col.kinds  # the fallback read the tags: the listing is complete
    assert not [e for e in snap.errors if e.kind == BUCKET]
    assert {r.id: r.tags for r in snap.of_kind(BUCKET)}[_arn(PLAIN[0])] == {"team": "web"}


@pytest.mark.parametrize("code", ["AccessDenied", "InternalError"])
def test_tags_unknown_means_deep_read_and_never_a_weights_pass(
        code: str, lab: RecordingProxy, aws_collector: Callable[..., AwsCollector]) -> None:
    lab.fault(TAG_OPERATION, 400, "AccessDeniedException")
    # NOTE: a server error, not SlowDown: 44 throttled buckets drive botocore's adaptive rate
    # limiter (right against AWS) down to minutes of waiting for the deep reads that follow;
    # throttling of one bucket's reads is covered in test_collector.py. One attempt each.
    lab.fault("s3:GetBucketTagging", 403 if code == "AccessDenied" else 500, code)
    snap = _collect(lab, aws_collector, settings=ClientSettings(max_attempts=0, connect_timeout=2.0,
                                                                  read_timeout=10.0))
    assert not snap.runs[0].shallow  # tags unknown: any bucket may hold weights
    assert _sent(lab, DETAIL) == sorted([*PLAIN, *DEEP])
    assert all(r.tags is None for r in snap.of_kind(BUCKET))
    result = run(snap, CONFIG)
    undecided = {*PLAIN, REPLICA, LOGS}
    assert not _weights_passes(result, undecided)


def test_replication_denied_leaves_no_weights_pass_on_any_bucket(
        lab: RecordingProxy, aws_collector: Callable[..., AwsCollector]) -> None:
    lab.fault("s3:GetBucketReplication", 403, "AccessDenied")
    snap = _collect(lab, aws_collector)
    result = run(snap, CONFIG)
    # The weight buckets' copies could be anywhere: every other bucket is undecided.
    assert not _weights_passes(result, {*PLAIN, REPLICA, LOGS})
    assert _sent(lab, DETAIL) == sorted({TAGGED, NAMED, LOGS})


def test_a_crashing_tag_read_still_ends_the_stage(
        lab: RecordingProxy, aws_collector: Callable[..., AwsCollector],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from aslcheck.inventories.aws import s3_scope

    def boom(*_: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(s3_scope.BucketScan, "_tag_index", boom)
    snap = _collect(lab, aws_collector, kinds=S3_AND_TRAILS)
    (err,) = [e for e in snap.errors if e.code == "CollectorFailure"]
    assert err.kind == BUCKET and "bug" in err.message
    assert BUCKET not in snap.runs[0].kinds  # never a complete listing after a crash
    # Tags never read: any bucket may hold weights, so every one was read deeply.
    assert not snap.runs[0].shallow and len(snap.of_kind(BUCKET)) == 44
    assert _sent(lab, DETAIL) == sorted([*PLAIN, *DEEP])
