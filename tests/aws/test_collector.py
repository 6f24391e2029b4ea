"""Full collection of a seeded account, and fault injection on the wire (the collector fails closed).

Every test here only reads the module's seeded lab; faults are injected by the proxy.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from awsfake import RecordingProxy
from awsseed import ACCOUNT, AWS_MANAGED, FAKE_KEY, FAST, SeededLab

from aslcheck.controls.config import Config
from aslcheck.inventories.aws import ALL_KINDS, AwsCollector, build_session_factory
from aslcheck.inventories.interface import CollectionRequest
from aslcheck.inventories.snapshot import Resource, Snapshot

NOT_IN_MOTO = "ec2:GetEbsDefaultKmsKeyId"
"""moto 5 does not implement it (HTML 500); skipped where a clean run is wanted."""


def _collect(collector: AwsCollector, kinds: frozenset[str] = ALL_KINDS) -> Snapshot:
    # deep: these tests are about every read (with Config() no bucket would be read deeply;
    # scope-driven collection is tests/aws/test_shallow_live.py)
    return collector.collect(CollectionRequest(kinds=kinds, config=Config(), deep=True))


def _by_id(snap: Snapshot, kind: str) -> Mapping[str, Resource]:
    return {r.id: r for r in snap.of_kind(kind)}


@pytest.fixture(scope="module")
def clean(seeded_lab: SeededLab) -> Snapshot:
    """One full collection of the lab, with the operation moto lacks skipped."""
    factory = build_session_factory(region="us-east-1", access_key_id=FAKE_KEY, secret_access_key=FAKE_KEY)
    collector = AwsCollector(factory, regions=["us-east-1"], endpoint_url=seeded_lab.endpoint, settings=FAST,
                             skip_operations={NOT_IN_MOTO})
    return _collect(collector)


def test_clean_run_lists_every_kind_without_error(clean: Snapshot) -> None:
    assert clean.errors == ()
    (run,) = clean.runs
    assert run.name == "aws"
    assert set(run.kinds) == ALL_KINDS
    assert run.targets == (f"{ACCOUNT}/us-east-1",)
    assert {r.kind for r in clean.resources} == ALL_KINDS
    for res in clean.resources:
        assert res.source == "aws"
        assert res.region is not None
        assert res.account == ACCOUNT or (res.kind == "aws.iam.policy" and res.attributes["aws_managed"]) \
            or (res.kind == "aws.ec2.prefix_list" and res.attributes["owner_id"] == "AWS")
    clean.digest()  # canonical JSON: no floats anywhere


def test_s3_buckets(clean: Snapshot, seeded_lab: SeededLab) -> None:
    buckets = _by_id(clean, "aws.s3.bucket")
    lab = seeded_lab.lab
    weights = buckets[f"arn:aws:s3:::{lab.weights_bucket}"]
    assert weights.tags == {"asl:asset": "model-weights"}
    attrs = weights.attributes
    assert attrs["region"] == "us-east-1"
    assert attrs["encryption"] == {"algorithm": "aws:kms", "kms_key_id": lab.weight_key_arn,
                                   "bucket_key_enabled": True, "explicit": True,
                                   "blocked_encryption_types": []}
    assert attrs["public_access_block"] == dict.fromkeys(
        ("block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets"), True)
    stmt = attrs["policy"]["Statement"][0]
    assert stmt["Action"] == ["s3:*"] and stmt["Principal"] == "*"
    assert stmt["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert attrs["policy_status_public"] is False
    assert attrs["ownership"] == "BucketOwnerEnforced"
    assert attrs["versioning"] == "Enabled"
    assert attrs["object_lock"] is None
    assert attrs["logging"] == {"target_bucket": lab.trail_bucket, "target_prefix": "s3/"}
    trail = buckets[f"arn:aws:s3:::{lab.trail_bucket}"].attributes
    assert trail["object_lock"] == {"enabled": True, "mode": "COMPLIANCE", "days": 400, "years": 0}
    assert {"grantee_type": "Group", "grantee": "http://acs.amazonaws.com/groups/s3/LogDelivery",
            "permission": "READ_ACP"} in trail["acl_grants"]
    plain = buckets[f"arn:aws:s3:::{lab.plain_bucket}"]
    assert plain.tags == {}
    # moto answers "no configuration": recorded as S3's SSE-S3 default, never as KMS.
    assert plain.attributes["encryption"] == {"algorithm": "AES256", "kms_key_id": None,
                                              "bucket_key_enabled": False, "explicit": False}
    for name in ("public_access_block", "policy", "policy_status_public", "ownership", "versioning", "logging"):
        assert plain.attributes[name] is None, name
    (settings,) = clean.of_kind("aws.s3.account_settings")
    assert settings.id == f"arn:aws:s3::{ACCOUNT}:account"
    assert settings.attributes["public_access_block"]["restrict_public_buckets"] is False


def test_kms_keys(clean: Snapshot, seeded_lab: SeededLab) -> None:
    lab = seeded_lab.lab
    keys = _by_id(clean, "aws.kms.key")
    key = keys[lab.weight_key_arn]
    assert key.tags == {"asl:asset": "model-weights"}
    attrs = key.attributes
    assert attrs["key_id"] == lab.weight_key_id
    assert attrs["aliases"] == ["alias/weights"]
    assert (attrs["key_manager"], attrs["key_state"], attrs["key_spec"], attrs["origin"]) == (
        "CUSTOMER", "Enabled", "SYMMETRIC_DEFAULT", "AWS_KMS")
    assert attrs["custom_key_store_id"] is None
    assert attrs["rotation_enabled"] is True
    assert attrs["policy"]["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert attrs["grants"] == [{"grant_id": lab.grant_id, "grantee_principal": f"arn:aws:iam::{ACCOUNT}:role/serving",
                                "retiring_principal": None, "operations": ["Decrypt"], "constraints": None}]
    asym = keys[lab.asym_key_arn].attributes
    assert asym["key_spec"] == "RSA_2048" and asym["rotation_enabled"] is None


def test_iam(clean: Snapshot, seeded_lab: SeededLab) -> None:
    lab = seeded_lab.lab
    users = _by_id(clean, "aws.iam.user")
    alice = users[f"arn:aws:iam::{ACCOUNT}:user/alice"]
    assert alice.tags == {"team": "research"} and alice.region == "global"
    attrs = alice.attributes
    assert attrs["groups"] == [f"arn:aws:iam::{ACCOUNT}:group/humans"]
    assert attrs["attached_policies"] == [f"arn:aws:iam::{ACCOUNT}:policy/stray-read"]
    assert attrs["mfa_devices"] == [{"serial": lab.mfa_serial, "virtual": True}]
    (key,) = attrs["access_keys"]
    assert key["id"] == lab.access_key_id and key["status"] == "Active" and key["last_used"] is None
    assert key["created"].endswith("Z")
    assert attrs["password_enabled"] is True and attrs["permissions_boundary"] is None
    bob = users[f"arn:aws:iam::{ACCOUNT}:user/bob"].attributes
    assert (bob["mfa_devices"], bob["access_keys"], bob["password_enabled"]) == ([], [], False)
    group = _by_id(clean, "aws.iam.group")[f"arn:aws:iam::{ACCOUNT}:group/humans"]
    assert group.attributes["inline_policies"]["read-logs"]["Statement"][0]["Action"] == ["logs:Get*"]
    roles = _by_id(clean, "aws.iam.role")
    serving = roles[f"arn:aws:iam::{ACCOUNT}:role/serving"].attributes
    assert serving["max_session_duration"] == 7200
    assert serving["trust_policy"]["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert serving["instance_profiles"] == [f"arn:aws:iam::{ACCOUNT}:instance-profile/serving"]
    assert serving["permissions_boundary"] == f"arn:aws:iam::{ACCOUNT}:policy/boundary"
    assert serving["attached_policies"] == [AWS_MANAGED]
    assert serving["inline_policies"]["read-weights"]["Statement"][0]["Action"] == ["s3:GetObject", "kms:Decrypt"]
    assert roles[f"arn:aws:iam::{ACCOUNT}:role/broker"].attributes["max_session_duration"] == 3600
    policies = _by_id(clean, "aws.iam.policy")
    stray = policies[f"arn:aws:iam::{ACCOUNT}:policy/stray-read"]
    assert stray.attributes["name"] == "stray-read" and stray.attributes["aws_managed"] is False
    assert stray.attributes["default_version"] == "v1"
    assert stray.attributes["document"]["Statement"][0]["Resource"] == [f"arn:aws:s3:::{lab.weights_bucket}/*"]
    assert policies[AWS_MANAGED].attributes["aws_managed"] is True
    # Only the AWS-managed policies attached somewhere are collected, not moto's ~1,300.
    assert sum(p.attributes["aws_managed"] for p in policies.values()) == 1
    (account,) = clean.of_kind("aws.iam.account")
    assert account.id == f"arn:aws:iam::{ACCOUNT}:root"
    assert account.attributes["account_mfa_enabled"] is False
    assert account.attributes["root_access_keys_present"] is False
    assert account.attributes["summary"]["Users"] == 2
    rows = {r["user"]: r for r in account.attributes["credential_report"]}
    assert rows["alice"]["access_key_1_active"] == "true" and rows["alice"]["mfa_active"] == "true"


def test_logging_and_monitoring(clean: Snapshot, seeded_lab: SeededLab) -> None:
    lab = seeded_lab.lab
    (trail,) = clean.of_kind("aws.cloudtrail.trail")
    assert trail.id == lab.trail_arn and trail.tags == {"owner": "security"}
    attrs = trail.attributes
    assert (attrs["is_multi_region"], attrs["is_logging"], attrs["log_file_validation"]) == (True, True, True)
    assert attrs["is_organization"] is False
    assert attrs["kms_key_id"] == lab.weight_key_arn
    assert (attrs["s3_bucket"], attrs["s3_bucket_account"]) == (lab.trail_bucket, ACCOUNT)
    assert attrs["event_selectors"] is None
    assert attrs["advanced_event_selectors"][0]["FieldSelectors"][2] == {
        "Field": "resources.ARN", "StartsWith": [f"arn:aws:s3:::{lab.weights_bucket}/"]}
    (group,) = clean.of_kind("aws.logs.log_group")
    assert group.id == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{lab.log_group}"
    assert group.attributes == {"name": lab.log_group, "retention_days": 400, "kms_key_id": lab.weight_key_arn}
    assert group.tags == {"purpose": "audit"}
    (alarm,) = clean.of_kind("aws.cloudwatch.alarm")
    a = alarm.attributes
    assert (a["namespace"], a["metric"], a["statistic"], a["period"]) == ("AWS/EC2", "NetworkOut", "Sum", 3600)
    assert a["threshold"] == 1_500_000_000 and isinstance(a["threshold"], int)
    assert a["dimensions"] == {"AutoScalingGroupName": "serving"}
    assert a["actions_enabled"] is True and a["alarm_actions"] == [f"arn:aws:sns:us-east-1:{ACCOUNT}:security"]
    (gd,) = clean.of_kind("aws.guardduty.region")
    assert gd.id == f"arn:aws:guardduty:us-east-1:{ACCOUNT}:region"
    assert gd.attributes["detectors"] == [{"id": lab.detector_id, "status": "ENABLED"}]


def test_network_and_compute(clean: Snapshot, seeded_lab: SeededLab) -> None:
    lab = seeded_lab.lab
    arn = f"arn:aws:ec2:us-east-1:{ACCOUNT}"
    vpc = _by_id(clean, "aws.ec2.vpc")[f"{arn}:vpc/{lab.vpc_id}"]
    assert vpc.tags == {"asl:asset": "model-weights"}
    v = vpc.attributes
    assert (v["cidr"], v["is_default"]) == ("10.8.0.0/16", False)
    assert [f["traffic_type"] for f in v["flow_logs"]] == ["ALL"]
    assert v["internet_gateways"] == [lab.igw_id]
    assert v["nat_gateways"] == [] and v["peering_connections"] == [] and v["transit_gateway_attachments"] == []
    subnet = next(r for r in clean.of_kind("aws.ec2.subnet") if r.attributes["subnet_id"] == lab.subnet_id)
    assert {"destination": "0.0.0.0/0", "target": lab.igw_id, "target_type": "internet_gateway",
            "state": "active", "origin": "CreateRoute"} in subnet.attributes["routes"]
    sg = _by_id(clean, "aws.ec2.security_group")[f"{arn}:security-group/{lab.sg_id}"].attributes
    assert sg["ingress"] == [{"protocol": "tcp", "from_port": 443, "to_port": 443, "cidrs": ["10.0.0.0/8"],
                              "ipv6_cidrs": [], "prefix_lists": [], "groups": []}]
    assert sg["egress"][0]["protocol"] == "-1" and sg["egress"][0]["cidrs"] == ["0.0.0.0/0"]
    endpoint = _by_id(clean, "aws.ec2.vpc_endpoint")[f"{arn}:vpc-endpoint/{lab.endpoint_id}"].attributes
    assert endpoint["vpc_id"] == lab.vpc_id
    assert endpoint["policy"]["Statement"][0]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-example"}}
    inst = _by_id(clean, "aws.ec2.instance")[f"{arn}:instance/{lab.instance_id}"]
    i = inst.attributes
    assert (i["vpc_id"], i["subnet_id"], i["state"], i["public_ip"]) == (lab.vpc_id, lab.subnet_id, "running", None)
    assert i["metadata_options"] == {"http_tokens": "required", "http_put_response_hop_limit": 1,
                                     "http_endpoint": "enabled"}
    assert i["instance_profile"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/serving"
    assert i["security_groups"] == [lab.sg_id]
    vol = _by_id(clean, "aws.ec2.volume")[f"{arn}:volume/{lab.volume_id}"].attributes
    assert (vol["encrypted"], vol["kms_key_id"], vol["attached_to"]) == (True, lab.weight_key_arn, [lab.instance_id])
    snaps = _by_id(clean, "aws.ec2.snapshot")
    snap = snaps[f"arn:aws:ec2:us-east-1::snapshot/{lab.snapshot_id}"].attributes
    assert (snap["public"], snap["shared_with"]) == (True, ["210987654321"])
    (settings,) = clean.of_kind("aws.ec2.region_settings")
    assert settings.attributes == {"ebs_encryption_by_default": True}  # key id skipped (not in moto)


def test_organization_and_identity_center(clean: Snapshot, seeded_lab: SeededLab) -> None:
    lab = seeded_lab.lab
    policies = {r.attributes["name"]: r.attributes for r in clean.of_kind("aws.organizations.policy")}
    assert policies["deny-leave"]["type"] == "SERVICE_CONTROL_POLICY"
    assert policies["deny-leave"]["targets"] == [lab.root_id]
    assert policies["deny-leave"]["document"]["Statement"][0]["Effect"] == "Deny"
    assert policies["RCPFullAWSAccess"]["type"] == "RESOURCE_CONTROL_POLICY"
    (account,) = clean.of_kind("aws.organizations.account")
    assert account.attributes["account_id"] == ACCOUNT
    assert account.attributes["parent_path"] == [lab.root_id]
    assert account.attributes["organization_id"].startswith("o-")
    (ps,) = clean.of_kind("aws.sso.permission_set")
    assert ps.id == lab.permission_set_arn
    p = ps.attributes
    assert (p["name"], p["session_duration_seconds"]) == ("research", 8 * 3600)
    assert p["inline_policy"]["Statement"][0]["Action"] == ["s3:ListBucket"]
    assert p["managed_policies"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    assert p["assignments"] == [{"account_id": ACCOUNT, "principal_type": "USER", "principal_id": "user-1"}]


# -- fault injection: every failed read is an error naming operation, resource and kind ---------


def _errors(snap: Snapshot, operation: str) -> list[Any]:
    return [e for e in snap.errors if e.operation == operation]


@pytest.mark.parametrize(
    ("status", "code"),
    [(403, "AccessDenied"), (503, "SlowDown")],
)
def test_bucket_detail_failure_leaves_attribute_absent(status: int, code: str, lab_proxy: RecordingProxy,
                                                       seeded_lab: SeededLab,
                                                       aws_collector: Callable[..., AwsCollector]) -> None:
    lab = seeded_lab.lab
    fault = lab_proxy.fault("s3:GetBucketPolicy", status, code, match=lab.weights_bucket)
    snap = _collect(aws_collector(lab_proxy.url, skip_operations={NOT_IN_MOTO}), frozenset({"aws.s3.bucket"}))
    (err,) = snap.errors
    assert (err.operation, err.code, err.kind) == ("s3:GetBucketPolicy", code, "aws.s3.bucket")
    assert (err.resource, err.account, err.region) == (f"arn:aws:s3:::{lab.weights_bucket}", ACCOUNT, "us-east-1")
    buckets = _by_id(snap, "aws.s3.bucket")
    assert "policy" not in buckets[f"arn:aws:s3:::{lab.weights_bucket}"].attributes
    assert "encryption" in buckets[f"arn:aws:s3:::{lab.weights_bucket}"].attributes
    assert buckets[f"arn:aws:s3:::{lab.plain_bucket}"].attributes["policy"] is None
    assert snap.runs[0].kinds == ("aws.s3.bucket",)  # the listing itself was complete
    assert fault.hits == (2 if status == 503 else 1)  # throttling is retried first (FAST: one retry)


def test_encryption_timeout_is_not_mistaken_for_the_sse_s3_default(
        lab_proxy: RecordingProxy, seeded_lab: SeededLab, aws_collector: Callable[..., AwsCollector]) -> None:
    from aslcheck.inventories.aws import ClientSettings

    lab = seeded_lab.lab
    lab_proxy.fault("s3:GetBucketEncryption", delay=4.0, match=lab.plain_bucket)
    # NOTE: the timeout is wide and only this bucket's error is asserted: on a loaded CI machine
    # moto may be slow on other reads too, and their timeouts are (rightly) errors as well.
    fast = ClientSettings(max_attempts=0, connect_timeout=2.0, read_timeout=1.5)
    snap = _collect(aws_collector(lab_proxy.url, settings=fast), frozenset({"aws.s3.bucket"}))
    (err,) = [e for e in snap.errors if e.resource == f"arn:aws:s3:::{lab.plain_bucket}"
              and e.operation == "s3:GetBucketEncryption"]
    assert (err.operation, err.code, err.resource) == ("s3:GetBucketEncryption", "ReadTimeout",
                                                       f"arn:aws:s3:::{lab.plain_bucket}")
    assert "encryption" not in _by_id(snap, "aws.s3.bucket")[f"arn:aws:s3:::{lab.plain_bucket}"].attributes


def test_throttled_key_policy_after_retries(lab_proxy: RecordingProxy, seeded_lab: SeededLab,
                                            aws_collector: Callable[..., AwsCollector]) -> None:
    lab = seeded_lab.lab
    fault = lab_proxy.fault("kms:GetKeyPolicy", 400, "ThrottlingException", match=lab.weight_key_id)
    snap = _collect(aws_collector(lab_proxy.url), frozenset({"aws.kms.key"}))
    (err,) = snap.errors
    assert (err.code, err.resource, err.kind) == ("ThrottlingException", lab.weight_key_arn, "aws.kms.key")
    assert fault.hits == 2
    key = _by_id(snap, "aws.kms.key")[lab.weight_key_arn]
    assert "policy" not in key.attributes and key.attributes["rotation_enabled"] is True


@pytest.mark.parametrize(
    ("operation", "code", "kinds", "failed"),
    [
        ("ec2:DescribeVpcs", "UnauthorizedOperation", {"aws.ec2.vpc", "aws.ec2.subnet"}, {"aws.ec2.vpc"}),
        ("iam:GetAccountAuthorizationDetails", "AccessDenied",
         {"aws.iam.user", "aws.iam.role", "aws.iam.group", "aws.iam.policy", "aws.iam.account"},
         {"aws.iam.user", "aws.iam.role", "aws.iam.group", "aws.iam.policy"}),
        ("s3:ListBuckets", "AccessDenied", {"aws.s3.bucket", "aws.s3.account_settings"}, {"aws.s3.bucket"}),
        ("cloudwatch:DescribeAlarms", "AccessDeniedException", {"aws.cloudwatch.alarm"}, {"aws.cloudwatch.alarm"}),
        ("guardduty:ListDetectors", "AccessDeniedException", {"aws.guardduty.region"}, set()),
        ("logs:DescribeLogGroups", "ThrottlingException", {"aws.logs.log_group"}, {"aws.logs.log_group"}),
    ],
)
def test_failed_listing_marks_the_kind_incomplete(operation: str, code: str, kinds: set[str], failed: set[str],
                                                   lab_proxy: RecordingProxy,
                                                   aws_collector: Callable[..., AwsCollector]) -> None:
    lab_proxy.fault(operation, 403 if "Denied" in code or "Unauthorized" in code else 400, code)
    snap = _collect(aws_collector(lab_proxy.url), frozenset(kinds))
    errs = _errors(snap, operation)
    assert errs and all(e.code == code and e.account == ACCOUNT for e in errs)
    if failed:
        assert {e.kind for e in errs} == failed
        assert all(e.resource is None for e in errs)
        assert not any(snap.of_kind(k) for k in failed)
    else:  # a per-region settings resource: it exists, its attribute is absent
        (gd,) = snap.of_kind("aws.guardduty.region")
        assert "detectors" not in gd.attributes and errs[0].resource == gd.id
    assert set(snap.runs[0].kinds) == kinds - failed


def test_bulk_auxiliary_failure_names_each_affected_resource(lab_proxy: RecordingProxy, seeded_lab: SeededLab,
                                                             aws_collector: Callable[..., AwsCollector]) -> None:
    lab_proxy.fault("ec2:DescribeFlowLogs", 403, "UnauthorizedOperation")
    snap = _collect(aws_collector(lab_proxy.url), frozenset({"aws.ec2.vpc"}))
    vpcs = snap.of_kind("aws.ec2.vpc")
    assert len(vpcs) == 2
    assert {e.resource for e in snap.errors} == {v.id for v in vpcs}
    for vpc in vpcs:
        assert "flow_logs" not in vpc.attributes and "internet_gateways" in vpc.attributes
    assert snap.runs[0].kinds == ("aws.ec2.vpc",)


def test_unexpected_response_shape_is_an_error(lab_proxy: RecordingProxy, seeded_lab: SeededLab,
                                               aws_collector: Callable[..., AwsCollector]) -> None:
    lab = seeded_lab.lab
    lab_proxy.fault("s3:GetBucketPolicy", body=b"this is not a policy", match=lab.weights_bucket)
    snap = _collect(aws_collector(lab_proxy.url), frozenset({"aws.s3.bucket"}))
    (err,) = snap.errors
    assert (err.operation, err.code) == ("s3:GetBucketPolicy", "UnexpectedResponse")
    assert "policy" not in _by_id(snap, "aws.s3.bucket")[f"arn:aws:s3:::{lab.weights_bucket}"].attributes


def test_operation_moto_lacks_is_an_error_not_a_value(lab_proxy: RecordingProxy,
                                                      aws_collector: Callable[..., AwsCollector]) -> None:
    snap = _collect(aws_collector(lab_proxy.url), frozenset({"aws.ec2.region_settings"}))
    (err,) = snap.errors
    assert err.operation == NOT_IN_MOTO and err.kind == "aws.ec2.region_settings"
    assert err.code in ("UnexpectedResponse", "HTTP500", "HTTP501")
    (settings,) = snap.of_kind("aws.ec2.region_settings")
    assert err.resource == settings.id
    assert "ebs_default_kms_key_id" not in settings.attributes
    assert settings.attributes["ebs_encryption_by_default"] is True


def test_progress_is_reported(lab_proxy: RecordingProxy, aws_collector: Callable[..., AwsCollector]) -> None:
    seen: list[tuple[str, int, int]] = []
    aws_collector(lab_proxy.url).collect(CollectionRequest(
        kinds=frozenset({"aws.s3.bucket"}), config=Config(), progress=lambda t, d, n: seen.append((t, d, n))))
    assert seen[0] == ("aws", 0, 1)
    assert seen[-1][1] == seen[-1][2] > 3  # account, listing and one task per bucket
    assert all(b[1] >= a[1] for a, b in itertools.pairwise(seen))
