"""Fail-closed roll-up: every path by which missing data could become PASS is tested here."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from aslcheck.checks.engine import Options, evaluate
from aslcheck.checks.interface import CheckId, CheckSpec, Finding, Status
from aslcheck.controls.model import ControlId, ManualAttestation, Waiver
from aslcheck.inventories.snapshot import CollectionError, Resource
from aslcheck.reports.model import ControlStatus
from tests.core.conftest import bucket, snap

NOW = datetime(2026, 11, 27, tzinfo=timezone.utc)


def results(catalog: Any, registry: Any, config: Any, snapshot: Any, **kw: Any) -> dict[str, Any]:
    run = evaluate(catalog, "asl3", registry, snapshot, config, options=Options(now=NOW), **kw)
    return {r.control.id: r for r in run.results}


def test_pass_and_fail(catalog: Any, registry: Any, config: Any) -> None:
    r = results(catalog, registry, config, snap(bucket("good"), bucket("bad", versioning="Suspended")))
    assert r["T2-EN-1"].status is ControlStatus.PASS
    assert r["T2-EN-1"].counts.passed == 2
    assert r["T2-WA-1"].status is ControlStatus.FAIL
    assert "arn:aws:s3:::bad" in r["T2-WA-1"].reason
    assert r["T2-WA-1"].counts.failed == 1


def test_missing_attribute_is_inconclusive(catalog: Any, registry: Any, config: Any) -> None:
    b = Resource(kind="aws.s3.bucket", id="arn:aws:s3:::w", source="aws", attributes={},
                 tags={"asl:asset": "model-weights"})
    r = results(catalog, registry, config, snap(b))
    assert r["T2-EN-1"].status is ControlStatus.INCONCLUSIVE
    assert "not collected" in r["T2-EN-1"].reason


def test_collection_error_on_in_scope_resource(catalog: Any, registry: Any, config: Any) -> None:
    err = CollectionError("aws", "s3:GetBucketEncryption", "AccessDenied", "denied",
                          resource="arn:aws:s3:::good", kind="aws.s3.bucket")
    r = results(catalog, registry, config, snap(bucket("good"), errors=(err,)))
    assert r["T2-EN-1"].status is ControlStatus.INCONCLUSIVE
    assert "AccessDenied" in r["T2-EN-1"].reason


def test_collection_error_on_kind_listing(catalog: Any, registry: Any, config: Any) -> None:
    err = CollectionError("aws", "s3:ListBuckets", "Throttling", "slow down", kind="aws.s3.bucket")
    r = results(catalog, registry, config, snap(bucket("good"), errors=(err,)))
    assert r["T2-EN-1"].status is ControlStatus.INCONCLUSIVE


def test_error_on_provably_out_of_scope_resource_does_not_touch(
        catalog: Any, registry: Any, config: Any) -> None:
    err = CollectionError("aws", "s3:GetBucketEncryption", "AccessDenied", "denied",
                          resource="arn:aws:s3:::logs", kind="aws.s3.bucket")
    r = results(catalog, registry, config, snap(bucket("good"), bucket("logs", weights=False),
                                                 errors=(err,)))
    assert r["T2-EN-1"].status is ControlStatus.PASS


def test_error_on_unknown_resource_touches(catalog: Any, registry: Any, config: Any) -> None:
    err = CollectionError("aws", "s3:GetBucketTagging", "AccessDenied", "denied",
                          resource="arn:aws:s3:::mystery", kind="aws.s3.bucket")
    r = results(catalog, registry, config, snap(bucket("good"), errors=(err,)))
    assert r["T2-EN-1"].status is ControlStatus.INCONCLUSIVE


def test_unknown_tags_make_scope_undecidable(catalog: Any, registry: Any, config: Any) -> None:
    b = Resource(kind="aws.s3.bucket", id="arn:aws:s3:::x", source="aws",
                 attributes={"encryption": {"algorithm": "aws:kms"}, "versioning": "Enabled"}, tags=None)
    r = results(catalog, registry, config, snap(bucket("good"), b))
    assert r["T2-EN-1"].status is ControlStatus.INCONCLUSIVE
    assert "tags were not collected" in r["T2-EN-1"].reason


def test_no_in_scope_resource_is_inconclusive(catalog: Any, registry: Any, config: Any) -> None:
    r = results(catalog, registry, config, snap(bucket("logs", weights=False)))
    assert r["T2-EN-1"].status is ControlStatus.INCONCLUSIVE
    assert "no in-scope resource" in r["T2-EN-1"].reason


def test_no_collector_for_family_is_inconclusive(catalog: Any, registry: Any, config: Any) -> None:
    from aslcheck.inventories.snapshot import Snapshot

    r = results(catalog, registry, config, Snapshot(resources=()))
    assert r["T2-EN-1"].status is ControlStatus.INCONCLUSIVE
    assert "no collector covered aws" in r["T2-EN-1"].reason


def test_allow_empty_needs_complete_listing(catalog: Any, registry: Any, config: Any) -> None:
    listed = results(catalog, registry, config, snap(bucket("good")))
    assert listed["T3-NW-9"].status is ControlStatus.PASS
    unlisted = results(catalog, registry, config, snap(bucket("good"), kinds=("aws.s3.bucket",)))
    assert unlisted["T3-NW-9"].status is ControlStatus.INCONCLUSIVE
    err = CollectionError("aws", "ec2:DescribeSnapshots", "AccessDenied", "no", kind="aws.ec2.snapshot")
    denied = results(catalog, registry, config, snap(bucket("good"), errors=(err,)))
    assert denied["T3-NW-9"].status is ControlStatus.INCONCLUSIVE


def test_crashing_check_is_an_error(catalog: Any, registry: Any, config: Any) -> None:
    def boom(ctx: Any) -> list[Finding]:
        raise RuntimeError("bug")

    registry._checks[CheckId("test.s3.kms")] = CheckSpec(
        id=CheckId("test.s3.kms"), version=1, kinds=frozenset({"aws.s3.bucket"}), evaluate=boom)
    r = results(catalog, registry, config, snap(bucket("good")))
    assert r["T2-EN-1"].status is ControlStatus.INCONCLUSIVE
    assert "RuntimeError" in r["T2-EN-1"].reason


def test_manual_control_needs_valid_attestation(catalog: Any, registry: Any, config: Any) -> None:
    s = snap(bucket("good"))
    assert results(catalog, registry, config, s)["T3-PR-1"].status is ControlStatus.NOT_ATTESTED
    valid = ManualAttestation(ControlId("T3-PR-1"), "alice", NOW - timedelta(days=3), "https://lms/x",
                              NOW + timedelta(days=30))
    expired = ManualAttestation(ControlId("T3-PR-1"), "bob", NOW - timedelta(days=400), "https://lms/y",
                                NOW - timedelta(days=1))
    assert results(catalog, registry, config, s, attestations=[expired])["T3-PR-1"].status \
        is ControlStatus.NOT_ATTESTED
    ok = results(catalog, registry, config, s, attestations=[valid])["T3-PR-1"]
    assert ok.status is ControlStatus.PASS
    assert ok.attestation == valid


def test_partial_control_needs_checks_and_attestation(catalog: Any, registry: Any, config: Any) -> None:
    att = ManualAttestation(ControlId("T3-LM-1"), "alice", NOW - timedelta(days=1), "https://x",
                            NOW + timedelta(days=1))
    good = snap(bucket("good"))
    assert results(catalog, registry, config, good)["T3-LM-1"].status is ControlStatus.NOT_ATTESTED
    assert results(catalog, registry, config, good, attestations=[att])["T3-LM-1"].status \
        is ControlStatus.PASS
    bad = snap(bucket("bad", versioning=None))
    assert results(catalog, registry, config, bad, attestations=[att])["T3-LM-1"].status \
        is ControlStatus.FAIL


def _waiver(days: int, resource: str | None = None) -> Waiver:
    return Waiver(ControlId("T2-WA-1"), "accepted while migrating", "carol", "SEC-1",
                  NOW + timedelta(days=days), resource=resource)


def test_waivers(catalog: Any, registry: Any, config: Any) -> None:
    s = snap(bucket("good"), bucket("bad", versioning="Suspended"))
    active = results(catalog, registry, config, s, waivers=[_waiver(10)])["T2-WA-1"]
    assert active.status is ControlStatus.WAIVED
    assert active.underlying is ControlStatus.FAIL
    expired = results(catalog, registry, config, s, waivers=[_waiver(-1)])["T2-WA-1"]
    assert expired.status is ControlStatus.FAIL
    assert expired.expired_waivers and not expired.waivers
    scoped = results(catalog, registry, config, s,
                     waivers=[_waiver(10, "arn:aws:s3:::bad")])["T2-WA-1"]
    assert scoped.status is ControlStatus.WAIVED
    other = results(catalog, registry, config, s,
                    waivers=[_waiver(10, "arn:aws:s3:::good")])["T2-WA-1"]
    assert other.status is ControlStatus.FAIL


def test_waived_failures_with_nothing_passing_were_failures(catalog: Any, registry: Any, config: Any) -> None:
    # Every finding of the control fails and is waived: what was waived is a FAIL, not missing
    # evidence (the reason and the recorded underlying status must not understate it).
    s = snap(bucket("bad", versioning="Suspended"))
    for waiver in (_waiver(10), _waiver(10, "arn:aws:s3:::bad")):
        r = results(catalog, registry, config, s, waivers=[waiver])["T2-WA-1"]
        assert r.status is ControlStatus.WAIVED
        assert r.underlying is ControlStatus.FAIL, r.reason
        assert "fail" in r.reason and "no check produced positive evidence" not in r.reason


@pytest.mark.parametrize("status", [Status.ERROR])
def test_only_pass_findings_can_pass(catalog: Any, registry: Any, config: Any, status: Status) -> None:
    def only(ctx: Any) -> list[Finding]:
        return [ctx.finding(CheckId("test.s3.kms"), r, status, "x") for r in ctx.resources]

    registry._checks[CheckId("test.s3.kms")] = CheckSpec(
        id=CheckId("test.s3.kms"), version=1, kinds=frozenset({"aws.s3.bucket"}), evaluate=only)
    r = results(catalog, registry, config, snap(bucket("good")))
    assert r["T2-EN-1"].status is ControlStatus.INCONCLUSIVE


def test_families_out_of_scope_are_not_applicable(catalog: Any, registry: Any) -> None:
    from aslcheck.controls.config import Config, Scope

    cfg = Config(scope=Scope(hosts=True))
    r = results(catalog, registry, cfg, snap(bucket("good")))
    assert r["T2-EN-1"].status is ControlStatus.NOT_APPLICABLE


def test_plan_mode_treats_undeclared_kinds_as_not_applicable(
        catalog: Any, registry: Any, config: Any) -> None:
    from aslcheck.inventories.snapshot import Snapshot

    run = evaluate(catalog, "asl3", registry, Snapshot(resources=(bucket("good"),)), config,
                   options=Options(now=NOW, plan_mode=True))
    by = {r.control.id: r for r in run.results}
    assert by["T2-EN-1"].status is ControlStatus.PASS
    assert by["T3-NW-9"].status is ControlStatus.NOT_APPLICABLE


def test_check_not_applicable_to_every_resource(catalog: Any, registry: Any, config: Any) -> None:
    def na(ctx: Any) -> list[Finding]:
        return [ctx.finding(CheckId("test.s3.kms"), r, Status.NOT_APPLICABLE, "no endpoints declared")
                for r in ctx.resources]

    registry._checks[CheckId("test.s3.kms")] = CheckSpec(
        id=CheckId("test.s3.kms"), version=1, kinds=frozenset({"aws.s3.bucket"}), evaluate=na)
    r = results(catalog, registry, config, snap(bucket("good")))
    assert r["T2-EN-1"].status is ControlStatus.NOT_APPLICABLE
    # With no in-scope resource at all it is still INCONCLUSIVE, never NOT_APPLICABLE.
    r = results(catalog, registry, config, snap(bucket("logs", weights=False)))
    assert r["T2-EN-1"].status is ControlStatus.INCONCLUSIVE


def test_overlay_tightens_parameters_for_one_control(registry: Any, write_file: Any, config: Any) -> None:
    from aslcheck.checks.declarative import load_rule_file
    from aslcheck.controls.loader import load_catalog
    from aslcheck.controls.yamlio import load_yaml
    from tests.core.conftest import DATA

    for spec in load_rule_file(load_yaml("r.yaml", (
            "checks:\n  - id: test.iam.session\n    kinds: [aws.iam.role]\n    select: all\n"
            "    rule: {attr: max_session_duration, op: le, value: {param: max_session_seconds}}\n"))):
        registry.add(spec)
    control = ("  - id: {cid}\n    title: Short sessions\n    level: ASL-2\n    domain: TP\n"
               "    statement: Sessions are short.\n"
               "    sources: {{rsp: [{{version: '2.2', section: '4.2'}}], nist: [AC-12]}}\n"
               "    verification: automated\n    checks: [test.iam.session]\n")
    overlay = write_file("o.yaml", "catalog: o\nversion: 1\ncontrols:\n" + control.format(cid="T2-TP-1")
                         + control.format(cid="T2-TP-2")
                         + "overrides:\n  - id: T2-TP-2\n    parameters: {max_session_seconds: 900}\n")
    catalog, _ = load_catalog([str(DATA / "catalog.yaml"), overlay], checks=registry, builtin=False)
    role = Resource(kind="aws.iam.role", id="arn:aws:iam::1:role/r", source="aws",
                    attributes={"max_session_duration": 1800}, tags={})
    r = results(catalog, registry, config, snap(bucket("good"), role,
                                                 kinds=("aws.s3.bucket", "aws.iam.role")))
    assert r["T2-TP-1"].status is ControlStatus.PASS   # config: 3600
    assert r["T2-TP-2"].status is ControlStatus.FAIL   # overlay tightened to 900 for this control


# -- completeness: a kind no collector listed completely never yields PASS (issue 10 class 4) ---


def _reader_of(registry: Any, kinds: set[str], status: Status = Status.PASS) -> None:
    """Replace test.s3.kms with a check reading ``kinds`` that gives each bucket ``status``."""
    def body(ctx: Any) -> list[Finding]:
        return [ctx.finding(CheckId("test.s3.kms"), r, status, "looks fine") for r in ctx.resources]

    registry._checks[CheckId("test.s3.kms")] = CheckSpec(
        id=CheckId("test.s3.kms"), version=1, kinds=frozenset(kinds), evaluate=body,
        primary_kinds=frozenset({"aws.s3.bucket"}))


def test_unlisted_primary_kind_without_error_is_inconclusive(
        catalog: Any, registry: Any, config: Any) -> None:
    # Buckets are present but no provenance claims they were listed completely, no error says why.
    r = results(catalog, registry, config, snap(bucket("good"), kinds=("aws.ec2.snapshot",)))
    res = r["T2-EN-1"]
    assert res.status is ControlStatus.INCONCLUSIVE
    assert "aws.s3.bucket not listed completely" in res.reason
    outcome = res.checks[0]
    assert outcome.status == "error"
    assert {f.status for f in outcome.findings} == {Status.ERROR}


def test_unlisted_auxiliary_kind_turns_pass_findings_into_errors(
        catalog: Any, registry: Any, config: Any) -> None:
    # The check renders verdicts on buckets but also reads keys, which were never listed: a PASS
    # could rest on a key (or its absence) that was simply not seen.
    _reader_of(registry, {"aws.s3.bucket", "aws.kms.key"})
    r = results(catalog, registry, config, snap(bucket("good"), bucket("other")))
    res = r["T2-EN-1"]
    assert res.status is ControlStatus.INCONCLUSIVE
    assert res.counts.passed == 0
    findings = res.checks[0].findings
    assert len(findings) == 2 and all(f.status is Status.ERROR for f in findings)
    assert all("aws.kms.key not listed completely" in f.reason for f in findings)


def test_unlisted_kind_keeps_real_failures(catalog: Any, registry: Any, config: Any) -> None:
    _reader_of(registry, {"aws.s3.bucket", "aws.kms.key"}, Status.FAIL)
    r = results(catalog, registry, config, snap(bucket("good")))
    assert r["T2-EN-1"].status is ControlStatus.FAIL


def test_unlisted_kind_is_never_not_applicable(catalog: Any, registry: Any, config: Any) -> None:
    _reader_of(registry, {"aws.s3.bucket", "aws.kms.key"}, Status.NOT_APPLICABLE)
    r = results(catalog, registry, config, snap(bucket("good")))
    assert r["T2-EN-1"].status is ControlStatus.INCONCLUSIVE
    assert "aws.kms.key not listed completely" in r["T2-EN-1"].reason


def test_kind_listed_by_a_second_collector_run_counts(catalog: Any, registry: Any, config: Any) -> None:
    from aslcheck.inventories.snapshot import Snapshot
    from tests.core.conftest import run

    _reader_of(registry, {"aws.s3.bucket", "aws.kms.key"})
    s = Snapshot(resources=(bucket("good"),), runs=(run(("aws.s3.bucket",)), run(("aws.kms.key",))))
    assert results(catalog, registry, config, s)["T2-EN-1"].status is ControlStatus.PASS


def test_unlisted_kind_of_an_undeclared_family_does_not_matter(
        catalog: Any, registry: Any, config: Any) -> None:
    _reader_of(registry, {"aws.s3.bucket", "host.weight_path"})
    r = results(catalog, registry, config, snap(bucket("good")))
    assert r["T2-EN-1"].status is ControlStatus.PASS


def test_plan_mode_needs_no_complete_listing(catalog: Any, registry: Any, config: Any) -> None:
    from aslcheck.inventories.snapshot import Snapshot

    _reader_of(registry, {"aws.s3.bucket", "aws.kms.key"})
    run = evaluate(catalog, "asl3", registry, Snapshot(resources=(bucket("good"),)), config,
                   options=Options(now=NOW, plan_mode=True))
    assert {r.control.id: r for r in run.results}["T2-EN-1"].status is ControlStatus.PASS


def test_kind_wide_error_in_one_shard_makes_the_union_incomplete(
        catalog: Any, registry: Any, config: Any) -> None:
    # Two shards: one listed keys completely, the other's key listing failed. The union of
    # provenance names aws.kms.key, but the failed listing means absence is no evidence.
    from aslcheck.inventories.snapshot import Snapshot
    from tests.core.conftest import run

    _reader_of(registry, {"aws.s3.bucket", "aws.kms.key"})
    err = CollectionError("aws", "kms:ListKeys", "AccessDenied", "denied", kind="aws.kms.key",
                          account="222233334444", region="eu-west-1")
    s = Snapshot(resources=(bucket("good"),), errors=(err,),
                 runs=(run(("aws.s3.bucket", "aws.kms.key")), run(("aws.s3.bucket",))))
    res = results(catalog, registry, config, s)["T2-EN-1"]
    assert res.status is ControlStatus.INCONCLUSIVE
    assert all(f.status is Status.ERROR for f in res.checks[0].findings)
