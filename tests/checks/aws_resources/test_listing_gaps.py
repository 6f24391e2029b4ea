"""An empty listing is evidence only if the listing succeeded (issue 10 class 4).

Hand-built snapshots: the trail checks answer ERROR, never FAIL "no trail", when trails were not
listed completely, and keep FAIL when they were (or when planned code is judged on itself).
"""

from __future__ import annotations

from aws_res_builders import ACCT, REGION, bucket, by_status, config, iam_account, run_check, snap, trail

from aslcheck.inventories.snapshot import CollectionError, CollectorRun, Snapshot

TRAIL = "aws.cloudtrail.trail"
MULTI = "aws.cloudtrail.multi_region_logging"
DATA = "aws.cloudtrail.weights_data_events"
ACCOUNT = iam_account().id
WB = "arn:aws:s3:::weights-a"


def _denied(region: str = REGION, code: str = "AccessDenied") -> CollectionError:
    return CollectionError("aws", "cloudtrail:DescribeTrails", code, "denied", kind=TRAIL,
                           account=ACCT, region=region)


def _kinds_without_trail() -> tuple[str, ...]:
    return ("aws.iam.account", "aws.s3.bucket")


def test_denied_listing_with_no_trail_is_error_not_fail() -> None:
    s = snap(iam_account(), bucket("weights-a"), errors=[_denied()], kinds=_kinds_without_trail())
    [f] = run_check(MULTI, s, config())
    assert f.status.value == "error" and "not listed completely" in f.reason
    assert "cloudtrail:DescribeTrails failed" in f.reason
    assert by_status(run_check(DATA, s, config())) == {"error": {WB}}


def test_listing_failed_in_another_region_leaves_single_region_trail_undecided() -> None:
    # The seen trail is not multi-region; the region whose listing was throttled could hold one.
    s = snap(iam_account(), bucket("weights-a"),
             trail("local", is_multi_region=False, event_selectors=None),
             errors=[_denied("eu-west-1", "ThrottlingException")], kinds=_kinds_without_trail())
    assert by_status(run_check(MULTI, s, config())) == {"error": {ACCOUNT}}
    assert by_status(run_check(DATA, s, config())) == {"error": {WB}}


def test_trail_kind_missing_from_provenance_without_error_is_error() -> None:
    s = snap(iam_account(), bucket("weights-a"), kinds=_kinds_without_trail())
    assert by_status(run_check(MULTI, s, config())) == {"error": {ACCOUNT}}
    assert by_status(run_check(DATA, s, config())) == {"error": {WB}}


def test_a_seen_covering_trail_still_passes_despite_a_gap() -> None:
    s = snap(iam_account(), bucket("weights-a"), trail("main", event_selectors=[
        {"ReadWriteType": "All", "IncludeManagementEvents": True,
         "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::weights-a/"]}]}]),
        errors=[_denied("eu-west-1")], kinds=_kinds_without_trail())
    assert by_status(run_check(MULTI, s, config())) == {"pass": {ACCOUNT}}
    assert by_status(run_check(DATA, s, config())) == {"pass": {WB}}


def test_complete_listing_with_no_trail_still_fails() -> None:
    s = snap(iam_account(), bucket("weights-a"), kinds=(*_kinds_without_trail(), TRAIL))
    assert by_status(run_check(MULTI, s, config())) == {"fail": {ACCOUNT}}
    assert by_status(run_check(DATA, s, config())) == {"fail": {WB}}


def test_planned_code_without_a_trail_fails() -> None:
    # The Terraform gate claims no kind complete; planned code is judged on what it declares.
    code = bucket("weights-a")
    run = CollectorRun("terraform", "test", ("infra/",), ("iac.checkov.finding",),
                       "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z")
    s = Snapshot(resources=(code,), runs=(run,))
    assert by_status(run_check(DATA, s, config())) == {"fail": {WB}}
