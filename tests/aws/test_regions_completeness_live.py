"""Regions outside ``aws.regions`` (issue 13 item 4) and fail-closed completeness (issue 10 class 4).

On the real moto server: weights in a region the scan leaves out make the controls reading that
kind INCONCLUSIVE, with the ARN and region in the reason; a failed trail listing is ERROR, not
FAIL "no trail". Catalogue: docs/adversarial/scope.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from awsseed import ACCOUNT, REGION, WEIGHT_TAG, client
from scopelab import cfg, collect, control, outcome, run, verdicts, weight_bucket

from aslcheck.inventories.aws import AwsCollector
from aslcheck.inventories.aws.regions import CODE, OPERATION
from aslcheck.reports.model import ControlStatus

Make = Callable[..., AwsCollector]
OTHER = "eu-west-1"
FAR = "ap-south-1"
ALLOWLISTED = "aws.weights.storage_allowlisted"
MULTI = "aws.cloudtrail.multi_region_logging"
DATA = "aws.cloudtrail.weights_data_events"


@pytest.fixture
def moto(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    return moto_endpoint


def _outside_errors(snap: Any) -> dict[str, str]:
    return {str(e.resource): str(e.kind) for e in snap.errors if e.code == CODE and e.resource}


# -- weights in regions the scan leaves out --------------------------------------------------------


def test_weight_volume_in_an_unscanned_region_is_inconclusive(moto: str, aws_collector: Make) -> None:
    vol = client(moto, "ec2", OTHER).create_volume(
        Size=8, AvailabilityZone=f"{OTHER}a",
        TagSpecifications=[{"ResourceType": "volume", "Tags": [WEIGHT_TAG]}])["VolumeId"]
    weight_bucket(moto, "weights-prod")
    snap = collect(aws_collector, moto, cfg())
    arn = f"arn:aws:ec2:{OTHER}:{ACCOUNT}:volume/{vol}"
    assert _outside_errors(snap) == {arn: "aws.ec2.volume"}
    result = run(snap, cfg())
    allow = outcome(result, ALLOWLISTED)
    assert allow.status == "error" and any(e.resource == arn for e in allow.errors)
    assert control(result, "ASL2-WA-1") is ControlStatus.INCONCLUSIVE
    reason = next(r.reason for r in result.results if r.control.id == "ASL2-WA-1")
    assert arn in reason and CODE in reason


def test_weight_key_in_a_far_region_is_inconclusive(moto: str, aws_collector: Make) -> None:
    key = client(moto, "kms", FAR).create_key(Tags=[{"TagKey": WEIGHT_TAG["Key"],
                                                     "TagValue": WEIGHT_TAG["Value"]}])
    snap = collect(aws_collector, moto, cfg())
    assert _outside_errors(snap) == {key["KeyMetadata"]["Arn"]: "aws.kms.key"}
    result = run(snap, cfg())
    assert outcome(result, "aws.kms.weight_key_rotation").status == "error"
    assert control(result, "ASL3-EN-2") is not ControlStatus.PASS


def test_scanning_the_region_finds_and_judges_it_instead(moto: str, aws_collector: Make) -> None:
    client(moto, "ec2", OTHER).create_volume(
        Size=8, AvailabilityZone=f"{OTHER}a", Encrypted=False,
        TagSpecifications=[{"ResourceType": "volume", "Tags": [WEIGHT_TAG]}])
    snap = collect(aws_collector, moto, cfg(), regions=[REGION, OTHER])
    assert not _outside_errors(snap)
    assert "fail" in verdicts(run(snap, cfg()), ALLOWLISTED).values()


def test_denied_probe_makes_the_regional_kinds_incomplete(
        moto: str, aws_proxy: Any, aws_collector: Make) -> None:
    weight_bucket(moto, "weights-prod")
    aws_proxy.fault(OPERATION, 403, "AccessDeniedException")
    snap = collect(aws_collector, aws_proxy.url, cfg())
    denied = [e for e in snap.errors if e.operation == OPERATION]
    assert denied and all(e.resource is None and e.code == "AccessDeniedException" for e in denied)
    assert {e.kind for e in denied} >= {"aws.kms.key", "aws.ec2.volume", "aws.ec2.snapshot"}
    assert "outside aws.regions" in denied[0].message
    result = run(snap, cfg())
    assert outcome(result, "aws.ec2.weights_not_shared").status == "error"


def test_probe_cannot_be_skipped_silently(moto: str, aws_collector: Make) -> None:
    snap = collect(aws_collector, moto, cfg(), skip_operations={OPERATION, "ec2:GetEbsDefaultKmsKeyId"})
    skipped = [e for e in snap.errors if e.operation == OPERATION]
    assert skipped and {e.code for e in skipped} == {"Skipped"}


def test_weight_pattern_reaching_unscanned_regions_is_inconclusive(
        moto: str, aws_collector: Make) -> None:
    # Untagged keys cannot be found by the tag API: a pattern over every region is reported.
    config = cfg(patterns=[f"arn:aws:kms:*:{ACCOUNT}:key/*"])
    snap = collect(aws_collector, moto, config)
    reached = {e.region for e in snap.errors if e.code == CODE and e.kind == "aws.kms.key"}
    assert OTHER in reached and FAR in reached and REGION not in reached
    assert all(e.resource is None for e in snap.errors if e.code == CODE)
    assert outcome(run(snap, config), "aws.kms.weight_key_rotation").status == "error"


def test_no_probe_when_every_enabled_region_is_scanned(moto: str, aws_proxy: Any,
                                                       aws_collector: Make) -> None:
    weight_bucket(moto, "weights-prod")
    collector = aws_collector(aws_proxy.url, regions=None, skip_operations={"ec2:GetEbsDefaultKmsKeyId"})
    from aslcheck.inventories.interface import CollectionRequest

    collector.collect(CollectionRequest(kinds=frozenset({"aws.kms.key"}), config=cfg()))
    assert OPERATION not in proxy_ops(aws_proxy)


def proxy_ops(proxy: Any) -> set[str]:
    return {op for op in proxy.operations() if op}


# -- an empty list is evidence only if the listing succeeded ---------------------------------------


def _trail(endpoint: str, region: str = REGION, *, multi: bool = True) -> None:
    weight_bucket(endpoint, "trail-logs-x")
    ct = client(endpoint, "cloudtrail", region)
    ct.create_trail(Name=f"trail-{region}", S3BucketName="trail-logs-x", IsMultiRegionTrail=multi)
    ct.start_logging(Name=f"trail-{region}")


def test_denied_trail_listing_is_error_not_fail(moto: str, aws_proxy: Any, aws_collector: Make) -> None:
    weight_bucket(moto, "weights-prod")
    aws_proxy.fault("cloudtrail:DescribeTrails", 403, "AccessDeniedException")
    result = run(collect(aws_collector, aws_proxy.url, cfg()), cfg())
    assert set(verdicts(result, MULTI).values()) == {"error"}
    assert verdicts(result, DATA)["arn:aws:s3:::weights-prod"] == "error"
    assert outcome(result, MULTI).status == "error"


def test_trail_listing_failing_in_one_region_leaves_a_local_trail_undecided(
        moto: str, aws_proxy: Any, aws_collector: Make) -> None:
    _trail(moto, REGION, multi=False)
    aws_proxy.fault("cloudtrail:DescribeTrails", 400, "ThrottlingException", match=OTHER)
    result = run(collect(aws_collector, aws_proxy.url, cfg(), regions=[REGION, OTHER]), cfg())
    assert set(verdicts(result, MULTI).values()) == {"error"}


def test_unparsable_trail_listing_is_error_not_fail(moto: str, aws_proxy: Any, aws_collector: Make) -> None:
    aws_proxy.fault("cloudtrail:DescribeTrails", body=b'{"trailList": [{"Name": 3}]}')
    result = run(collect(aws_collector, aws_proxy.url, cfg()), cfg())
    assert set(verdicts(result, MULTI).values()) == {"error"}


def test_complete_listing_without_a_trail_still_fails(moto: str, aws_collector: Make) -> None:
    weight_bucket(moto, "weights-prod")
    result = run(collect(aws_collector, moto, cfg()), cfg())
    assert set(verdicts(result, MULTI).values()) == {"fail"}
    assert verdicts(result, DATA)["arn:aws:s3:::weights-prod"] == "fail"
