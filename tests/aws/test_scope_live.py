"""Adversarial scope cases on the real moto server (issue 10 class 5, issue 13 items 6-7).

Each test seeds an attack over HTTP as an AWS user would, collects it with the real collector and
evaluates the ASL-3 profile: the copy or the grant must be seen as weight storage and fail (or,
where the evidence is missing, be an ERROR), never pass. Catalogue: docs/adversarial/scope.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from awsseed import REGION, WEIGHT_TAG, client, doc
from scopelab import (
    STRANGER,
    cfg,
    collect,
    control,
    public_policy,
    replicate,
    run,
    verdicts,
    weight_bucket,
    weight_host,
)

from aslcheck.inventories.aws import AwsCollector

Make = Callable[..., AwsCollector]
NO_PUBLIC = "aws.s3.weights_no_public_or_cross_account"
ALLOWLISTED = "aws.weights.storage_allowlisted"
NOT_SHARED = "aws.ec2.weights_not_shared"
ROTATION = "aws.kms.weight_key_rotation"
WILDCARD = "aws.kms.weight_key_no_wildcard_principal"
B = "arn:aws:s3:::{}".format


@pytest.fixture
def moto(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    return moto_endpoint


# -- replicas of weight buckets --------------------------------------------------------------------


def test_untagged_public_replica_of_a_weight_bucket_fails(moto: str, aws_collector: Make) -> None:
    weight_bucket(moto, "weights-prod")
    s3 = client(moto, "s3")
    s3.create_bucket(Bucket="dr-copy")   # untagged, not declared storage
    s3.put_bucket_policy(Bucket="dr-copy", Policy=public_policy("dr-copy"))
    replicate(moto, "weights-prod", "dr-copy")
    result = run(collect(aws_collector, moto, cfg()), cfg())
    assert verdicts(result, NO_PUBLIC)[B("dr-copy")] == "fail"
    assert verdicts(result, ALLOWLISTED)[B("weights-prod")] == "fail"
    assert control(result, "ASL2-WA-1").value == "fail"


def test_disabled_replication_rule_still_marks_the_copy(moto: str, aws_collector: Make) -> None:
    weight_bucket(moto, "weights-prod")
    client(moto, "s3").create_bucket(Bucket="old-copy")
    replicate(moto, "weights-prod", "old-copy", status="Disabled")
    result = run(collect(aws_collector, moto, cfg()), cfg())
    # old-copy has no public access block and no TLS policy: a weight bucket that fails.
    assert verdicts(result, "aws.s3.weights_public_access_block")[B("old-copy")] == "fail"
    assert verdicts(result, "aws.s3.weights_deny_insecure_transport")[B("old-copy")] == "fail"


def test_replica_in_an_uncollected_account_is_an_error(moto: str, aws_collector: Make) -> None:
    weight_bucket(moto, "weights-prod")
    s3 = client(moto, "s3")
    s3.create_bucket(Bucket="their-dr")
    replicate(moto, "weights-prod", "their-dr")
    s3.delete_bucket(Bucket="their-dr")   # the destination now lives beyond this scan
    result = run(collect(aws_collector, moto, cfg()), cfg())
    assert verdicts(result, "aws.s3.weights_versioning")[B("their-dr")] == "error"
    assert verdicts(result, ALLOWLISTED)[B("weights-prod")] == "fail"


def test_denied_replication_read_leaves_every_other_bucket_undecided(
        moto: str, aws_proxy: Any, aws_collector: Make) -> None:
    weight_bucket(moto, "weights-prod")
    client(moto, "s3").create_bucket(Bucket="innocent")
    aws_proxy.fault("s3:GetBucketReplication", 403, "AccessDenied")
    result = run(collect(aws_collector, aws_proxy.url, cfg()), cfg())
    found = verdicts(result, "aws.s3.weights_versioning")
    assert found[B("innocent")] == "error"
    assert verdicts(result, ALLOWLISTED)[B("weights-prod")] == "error"


# -- allowed storage and patterns are in scope whether or not tagged -------------------------------------


def test_untagged_allowed_storage_bucket_is_judged(moto: str, aws_collector: Make) -> None:
    s3 = client(moto, "s3")
    s3.create_bucket(Bucket="weights-untagged")
    s3.put_bucket_policy(Bucket="weights-untagged", Policy=public_policy("weights-untagged"))
    result = run(collect(aws_collector, moto, cfg()), cfg())
    assert verdicts(result, NO_PUBLIC)[B("weights-untagged")] == "fail"


def test_denied_tag_read_on_allowed_storage_is_still_in_scope(
        moto: str, aws_proxy: Any, aws_collector: Make) -> None:
    client(moto, "s3").create_bucket(Bucket="weights-b")   # never versioned
    aws_proxy.fault("s3:GetBucketTagging", 403, "AccessDenied")
    result = run(collect(aws_collector, aws_proxy.url, cfg()), cfg())
    assert verdicts(result, "aws.s3.weights_versioning")[B("weights-b")] == "fail"


def test_untagged_key_matching_a_weight_pattern_is_a_weight_key(moto: str, aws_collector: Make) -> None:
    key = client(moto, "kms").create_key(Description="weights, untagged")["KeyMetadata"]["Arn"]
    config = cfg(patterns=[key])
    result = run(collect(aws_collector, moto, config), config)
    assert verdicts(result, ROTATION)[key] == "fail"   # rotation was never enabled


# -- volumes, snapshots and AMIs of weight hosts ------------------------------------------------------------


def test_snapshot_of_a_weight_host_volume_shared_with_an_account_fails(
        moto: str, aws_collector: Make) -> None:
    _, vid = weight_host(moto)
    ec2 = client(moto, "ec2")
    snap = ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
    ec2.modify_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission",
                                  OperationType="add", UserIds=[STRANGER])
    result = run(collect(aws_collector, moto, cfg()), cfg())
    arn = f"arn:aws:ec2:{REGION}::snapshot/{snap}"
    assert verdicts(result, NOT_SHARED)[arn] == "fail"
    assert verdicts(result, ALLOWLISTED)[arn] == "fail"   # a weight copy outside allowed storage


def test_ami_of_a_weight_host_shared_with_an_account_fails(moto: str, aws_collector: Make) -> None:
    iid, _ = weight_host(moto)
    ec2 = client(moto, "ec2")
    ami = ec2.create_image(InstanceId=iid, Name="weights-golden")["ImageId"]
    ec2.modify_image_attribute(ImageId=ami, LaunchPermission={"Add": [{"UserId": STRANGER}]})
    result = run(collect(aws_collector, moto, cfg()), cfg())
    assert verdicts(result, NOT_SHARED)[f"arn:aws:ec2:{REGION}::image/{ami}"] == "fail"


def test_public_ami_built_on_a_weight_snapshot_fails(moto: str, aws_collector: Make) -> None:
    # The AMI itself is untagged; the snapshot behind it is tagged as holding weights.
    ec2 = client(moto, "ec2")
    ami = ec2.register_image(Name="from-weights", RootDeviceName="/dev/xvda", BlockDeviceMappings=[
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}])["ImageId"]
    [mapping] = ec2.describe_images(ImageIds=[ami])["Images"][0]["BlockDeviceMappings"]
    ec2.create_tags(Resources=[mapping["Ebs"]["SnapshotId"]], Tags=[WEIGHT_TAG])
    ec2.modify_image_attribute(ImageId=ami, LaunchPermission={"Add": [{"Group": "all"}]})
    result = run(collect(aws_collector, moto, cfg()), cfg())
    assert verdicts(result, NOT_SHARED)[f"arn:aws:ec2:{REGION}::image/{ami}"] == "fail"


def test_denied_snapshot_permission_read_is_an_error(
        moto: str, aws_proxy: Any, aws_collector: Make) -> None:
    _, vid = weight_host(moto)
    snap = client(moto, "ec2").create_snapshot(VolumeId=vid)["SnapshotId"]
    aws_proxy.fault("ec2:DescribeSnapshotAttribute", 403, "UnauthorizedOperation")
    result = run(collect(aws_collector, aws_proxy.url, cfg()), cfg())
    assert verdicts(result, NOT_SHARED)[f"arn:aws:ec2:{REGION}::snapshot/{snap}"] == "error"


# -- keys of weight copies, multi-Region siblings -------------------------------------------------------------


def test_key_encrypting_a_weight_host_volume_joins_the_weight_keys(moto: str, aws_collector: Make) -> None:
    key = client(moto, "kms").create_key(Description="ebs, untagged")["KeyMetadata"]["Arn"]
    weight_host(moto, kms_key=key)
    result = run(collect(aws_collector, moto, cfg()), cfg())
    assert verdicts(result, ROTATION)[key] == "fail"


def test_multi_region_replica_with_an_open_policy_fails(moto: str, aws_collector: Make) -> None:
    kms = client(moto, "kms")
    primary = kms.create_key(MultiRegion=True, Tags=[{"TagKey": "asl:asset",
                                                      "TagValue": "model-weights"}])["KeyMetadata"]
    replica = kms.replicate_key(KeyId=primary["KeyId"], ReplicaRegion="eu-west-1")
    arn = replica["ReplicaKeyMetadata"]["Arn"]
    client(moto, "kms", "eu-west-1").put_key_policy(KeyId=arn, PolicyName="default", Policy=doc(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}))
    result = run(collect(aws_collector, moto, cfg(), regions=[REGION, "eu-west-1"]), cfg())
    assert verdicts(result, WILDCARD)[arn] == "fail"


def test_multi_region_replica_outside_the_scan_is_an_error(moto: str, aws_collector: Make) -> None:
    kms = client(moto, "kms")
    primary = kms.create_key(MultiRegion=True, Tags=[{"TagKey": "asl:asset",
                                                      "TagValue": "model-weights"}])["KeyMetadata"]
    replica = kms.replicate_key(KeyId=primary["KeyId"], ReplicaRegion="ap-south-1")
    result = run(collect(aws_collector, moto, cfg()), cfg())
    assert verdicts(result, ROTATION)[replica["ReplicaKeyMetadata"]["Arn"]] == "error"


# -- bucket ACLs: any canonical ID other than the owner is another account (issue 13 item 6) -----------------


def _acl_bucket(endpoint: str, name: str, *grants: tuple[str, str]) -> str:
    weight_bucket(endpoint, name)
    s3 = client(endpoint, "s3")
    s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]})
    owner = s3.get_bucket_acl(Bucket=name)["Owner"]
    s3.put_bucket_acl(Bucket=name, AccessControlPolicy={"Owner": owner, "Grants": [
        {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"},
        *({"Grantee": {"Type": "CanonicalUser", "ID": ident}, "Permission": perm}
          for ident, perm in grants)]})
    return str(owner["ID"])


@pytest.mark.parametrize(("grants", "expect"), [
    ((), "pass"),
    ((("79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be", "READ"),), "fail"),
    ((("b" * 64, "WRITE_ACP"),), "fail"),
    ((("c" * 64, "READ"), ("d" * 64, "FULL_CONTROL")), "fail"),
])
def test_acl_grant_to_another_canonical_id_is_cross_account(
        moto: str, aws_collector: Make, grants: tuple[tuple[str, str], ...], expect: str) -> None:
    _acl_bucket(moto, "weights-acl", *grants)
    result = run(collect(aws_collector, moto, cfg()), cfg())
    assert verdicts(result, NO_PUBLIC)[B("weights-acl")] == expect


def test_snapshot_records_the_owner_and_grants(moto: str, aws_collector: Make) -> None:
    owner = _acl_bucket(moto, "weights-acl", ("e" * 64, "READ"))
    snap = collect(aws_collector, moto, cfg())
    res = next(r for r in snap.of_kind("aws.s3.bucket") if r.id == B("weights-acl"))
    assert res.attributes["owner_id"] == owner
    assert {g["grantee"] for g in res.attributes["acl_grants"]} == {owner, "e" * 64}
    assert json.dumps(res.attributes["replication"]) == "null"

