"""Tiny builders of hand-made AWS snapshots for the S3/CloudTrail/network/EC2 check tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.engine import select_subjects
from aslcheck.checks.interface import CheckContext, Finding
from aslcheck.controls.config import PARAM_SPECS, Config, Scope
from aslcheck.inventories.snapshot import CollectionError, CollectorRun, Resource, Snapshot

ACCT = "111111111111"
OTHER = "222222222222"
STRANGER = "999999999999"
REGION = "us-east-1"
ORG_ID = "o-abc123"
WEIGHT_TAGS = {"asl:asset": "model-weights"}
KEY_ID = "11111111-2222-3333-4444-555555555555"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCT}:key/{KEY_ID}"
BUDGET = 10**9
REGISTRY = default_registry()


def config(*, approved: tuple[str, ...] = ("vpce-1",), budget: int | None = BUDGET,
           allowed: tuple[str, ...] = ("arn:aws:s3:::weights-*",)) -> Config:
    """The test organisation's config."""
    params = {n: s.default for n, s in PARAM_SPECS.items()}
    params["egress_budget_bytes_per_hour"] = budget
    return Config(scope=Scope(weight_tags=WEIGHT_TAGS, allowed_storage=allowed,
                              approved_vpc_endpoints=approved, aws=True),
                  parameters=params)


def res(kind: str, ident: str, attrs: Mapping[str, Any], *, weights: bool = False,
        tags: Mapping[str, str] | bool | None = True, account: str = ACCT,
        region: str = REGION, drop: Iterable[str] = ()) -> Resource:
    """A resource; ``tags=None`` models tags that could not be read."""
    real_tags: Mapping[str, str] | None = None if tags is None else dict(WEIGHT_TAGS) if weights else {}
    attributes = {k: v for k, v in attrs.items() if k not in set(drop)}
    return Resource(kind=kind, id=ident, source="aws", attributes=attributes, tags=real_tags,
                    account=account, region=region)


def snap(*resources: Resource, errors: Iterable[CollectionError] = (),
         kinds: Iterable[str] | None = None) -> Snapshot:
    """A snapshot whose collector listed every kind it holds (or ``kinds``) completely."""
    listed = set(kinds) if kinds is not None else {r.kind for r in resources}
    run = CollectorRun("aws", "test", (ACCT,), tuple(sorted(listed)),
                       "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z")
    return Snapshot(resources=tuple(resources), errors=tuple(errors), runs=(run,))


def with_attrs(base: Resource, drop: Iterable[str] = (), **changes: Any) -> Resource:
    """A copy of ``base`` with attributes changed or dropped."""
    attrs = {k: v for k, v in base.attributes.items() if k not in set(drop)}
    attrs.update(changes)
    return Resource(base.kind, base.id, base.source, attrs, base.tags, base.account,
                    base.region, base.host)


def run_check(check_id: str, snapshot: Snapshot, cfg: Config) -> list[Finding]:
    """Run one check the way the engine does: select subjects, then evaluate."""
    spec = REGISTRY.get(check_id)
    chosen, findings = select_subjects(spec, snapshot, cfg)
    findings.extend(spec.evaluate(CheckContext(snapshot=snapshot, config=cfg,
                                               resources=tuple(chosen))))
    return findings


def by_status(findings: Iterable[Finding]) -> dict[str, set[str]]:
    """``{"pass": {ids}, "fail": {...}, ...}`` with empty statuses left out."""
    out: dict[str, set[str]] = {}
    for f in findings:
        out.setdefault(f.status.value, set()).add(f.resource or "<check>")
    return out


# -- resource builders (defaults are compliant) ---------------------------------------------


def bucket_arn(name: str) -> str:
    return f"arn:aws:s3:::{name}"


def good_policy(name: str, vpces: tuple[str, ...] = ("vpce-1",), key: str = KEY_ARN) -> dict[str, Any]:
    arn = bucket_arn(name)
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": ["s3:*"],
         "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyOutsideVpce", "Effect": "Deny", "Principal": "*", "Action": ["s3:GetObject*"],
         "Resource": [f"{arn}/*"], "Condition": {"StringNotEquals": {"aws:SourceVpce": list(vpces)}}},
        {"Sid": "DenyOtherEncryption", "Effect": "Deny", "Principal": "*", "Action": ["s3:PutObject"],
         "Resource": [f"{arn}/*"],
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key}}},
        {"Sid": "DenySseC", "Effect": "Deny", "Principal": "*", "Action": ["s3:PutObject"],
         "Resource": [f"{arn}/*"],
         "Condition": {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}}},
        {"Sid": "Serving", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/serving"}, "Action": ["s3:GetObject"],
         "Resource": [f"{arn}/*"]},
    ]}


PAB_ON = {"block_public_acls": True, "ignore_public_acls": True, "block_public_policy": True,
          "restrict_public_buckets": True}
PAB_OFF = dict.fromkeys(PAB_ON, False)


def bucket(name: str, *, weights: bool = True, tags: bool | None = True, account: str = ACCT,
           region: str = REGION, drop: Iterable[str] = (), **over: Any) -> Resource:
    attrs: dict[str, Any] = {
        "name": name, "region": region,
        "encryption": {"algorithm": "aws:kms", "kms_key_id": KEY_ARN, "bucket_key_enabled": True,
                       "explicit": True},
        "public_access_block": dict(PAB_ON), "policy": good_policy(name),
        "policy_status_public": False, "ownership": "BucketOwnerEnforced",
        "acl_grants": [{"grantee_type": "CanonicalUser", "grantee": "owner-canonical",
                        "permission": "FULL_CONTROL"}],
        "versioning": "Enabled", "object_lock": None, "logging": None, "replication": None,
    }
    attrs.update(over)
    return res("aws.s3.bucket", bucket_arn(name), attrs, weights=weights, tags=tags,
               account=account, region=region, drop=drop)


def account_settings(pab: Any, account: str = ACCT) -> Resource:
    return res("aws.s3.account_settings", f"arn:aws:s3::{account}:account",
               {"public_access_block": pab}, account=account, region="global")


def kms_key(key_id: str = KEY_ID, *, manager: str = "CUSTOMER", aliases: tuple[str, ...] = (),
            account: str = ACCT, region: str = REGION, weights: bool = False,
            **over: Any) -> Resource:
    attrs: dict[str, Any] = {"key_id": key_id, "key_manager": manager, "key_state": "Enabled",
                             "aliases": list(aliases)}
    attrs.update(over)
    return res("aws.kms.key", f"arn:aws:kms:{region}:{account}:key/{key_id}", attrs,
               account=account, region=region, weights=weights)


def org_account(account: str) -> Resource:
    return res("aws.organizations.account", f"arn:aws:organizations::{ACCT}:account/{ORG_ID}/{account}",
               {"account_id": account, "parent_path": ["r-root"], "organization_id": ORG_ID},
               region="global")


def iam_account(account: str = ACCT) -> Resource:
    return res("aws.iam.account", f"arn:aws:iam::{account}:root", {"summary": {}},
               account=account, region="global")


def classic(*values: str, rw: str = "All") -> list[dict[str, Any]]:
    return [{"ReadWriteType": rw, "IncludeManagementEvents": True,
             "DataResources": [{"Type": "AWS::S3::Object", "Values": list(values)}]}]


def advanced(*field_selectors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    base = [{"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]
    return [{"Name": f"s{i}", "FieldSelectors": base + extra}
            for i, extra in enumerate(field_selectors)]


def trail(name: str, *, account: str = ACCT, drop: Iterable[str] = (), **over: Any) -> Resource:
    attrs: dict[str, Any] = {
        "name": name, "home_region": REGION, "is_multi_region": True, "is_organization": False,
        "is_logging": True, "log_file_validation": True, "kms_key_id": KEY_ARN,
        "s3_bucket": "trail-logs", "s3_bucket_account": None,
        "event_selectors": classic("arn:aws:s3:::weights-a/"), "advanced_event_selectors": None,
    }
    attrs.update(over)
    return res("aws.cloudtrail.trail", f"arn:aws:cloudtrail:{REGION}:{account}:trail/{name}",
               attrs, account=account, drop=drop)


def log_group(name: str, **over: Any) -> Resource:
    attrs = {"name": name, "retention_days": 400, "kms_key_id": KEY_ARN}
    attrs.update(over)
    return res("aws.logs.log_group", f"arn:aws:logs:{REGION}:{ACCT}:log-group:{name}", attrs)


def vpc(vid: str, *, weights: bool = False, tags: bool | None = True, drop: Iterable[str] = (),
        **over: Any) -> Resource:
    attrs: dict[str, Any] = {
        "vpc_id": vid, "cidr": "10.0.0.0/16", "is_default": False,
        "flow_logs": [{"id": f"fl-{vid}", "status": "ACTIVE", "traffic_type": "ALL",
                       "destination": "arn:aws:s3:::flow"}],
        "internet_gateways": [], "nat_gateways": [], "peering_connections": [],
        "transit_gateway_attachments": [], "egress_only_internet_gateways": [], "vpn_gateways": [],
    }
    attrs.update(over)
    return res("aws.ec2.vpc", f"arn:aws:ec2:{REGION}:{ACCT}:vpc/{vid}", attrs, weights=weights,
               tags=tags, drop=drop)


def instance(iid: str, vid: str | None, *, weights: bool = False, drop: Iterable[str] = (),
             tags: bool | None = True, **over: Any) -> Resource:
    attrs: dict[str, Any] = {
        "instance_id": iid, "vpc_id": vid, "subnet_id": "subnet-1", "state": "running",
        "public_ip": None,
        "metadata_options": {"http_tokens": "required", "http_put_response_hop_limit": 1,
                             "http_endpoint": "enabled"},
        "instance_profile": None, "security_groups": [], "monitoring": "enabled",
    }
    attrs.update(over)
    return res("aws.ec2.instance", f"arn:aws:ec2:{REGION}:{ACCT}:instance/{iid}", attrs,
               weights=weights, drop=drop, tags=tags)


def subnet(sid: str, vid: str, routes: list[dict[str, str]] | None = None,
           drop: Iterable[str] = ()) -> Resource:
    attrs = {"subnet_id": sid, "vpc_id": vid, "map_public_ip_on_launch": False,
             "routes": routes if routes is not None else [{"destination": "10.0.0.0/16",
                                                           "target": "local"}]}
    return res("aws.ec2.subnet", f"arn:aws:ec2:{REGION}:{ACCT}:subnet/{sid}", attrs, drop=drop)


def rule(protocol: str = "-1", cidrs: tuple[str, ...] = ("0.0.0.0/0",), from_port: int | None = None,
         to_port: int | None = None, ipv6: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"protocol": protocol, "from_port": from_port, "to_port": to_port, "cidrs": list(cidrs),
            "ipv6_cidrs": list(ipv6), "prefix_lists": [], "groups": []}


def sg(gid: str, vid: str | None, egress: list[dict[str, Any]], drop: Iterable[str] = ()) -> Resource:
    return res("aws.ec2.security_group", f"arn:aws:ec2:{REGION}:{ACCT}:security-group/{gid}",
               {"group_id": gid, "vpc_id": vid, "name": gid, "egress": egress, "ingress": []},
               drop=drop)


def endpoint(eid: str, vid: str, policy: Any, drop: Iterable[str] = ()) -> Resource:
    return res("aws.ec2.vpc_endpoint", f"arn:aws:ec2:{REGION}:{ACCT}:vpc-endpoint/{eid}",
               {"endpoint_id": eid, "vpc_id": vid, "service_name": "com.amazonaws.us-east-1.s3",
                "type": "Gateway", "policy": policy}, drop=drop)


def alarm(name: str, dims: dict[str, str], *, metric: str = "NetworkOut",
          namespace: str = "AWS/EC2", drop: Iterable[str] = (), **over: Any) -> Resource:
    attrs: dict[str, Any] = {
        "name": name, "namespace": namespace, "metric": metric, "dimensions": dims,
        "statistic": "Sum", "period": 300, "threshold": BUDGET * 300 // 3600,
        "comparison": "GreaterThanThreshold", "actions_enabled": True,
        "alarm_actions": [f"arn:aws:sns:{REGION}:{ACCT}:security"],
        "evaluation_periods": 1, "datapoints_to_alarm": None, "unit": None, "state": "OK",
    }
    attrs.update(over)
    return res("aws.cloudwatch.alarm", f"arn:aws:cloudwatch:{REGION}:{ACCT}:alarm:{name}", attrs,
               drop=drop)


def volume(vid: str, encrypted: bool = True, *, weights: bool = False,
           drop: Iterable[str] = (), tags: bool | None = True, **over: Any) -> Resource:
    attrs: dict[str, Any] = {"volume_id": vid, "encrypted": encrypted, "kms_key_id": None,
                             "attached_to": []}
    attrs.update(over)
    return res("aws.ec2.volume", f"arn:aws:ec2:{REGION}:{ACCT}:volume/{vid}", attrs,
               weights=weights, drop=drop, tags=tags)


def ebs_snapshot(sid: str, *, encrypted: bool = True, public: bool = False,
                 drop: Iterable[str] = (), weights: bool = False, tags: bool | None = True,
                 **over: Any) -> Resource:
    attrs: dict[str, Any] = {"snapshot_id": sid, "encrypted": encrypted, "public": public,
                             "shared_with": [], "volume_id": None, "kms_key_id": None}
    attrs.update(over)
    return res("aws.ec2.snapshot", f"arn:aws:ec2:{REGION}:{ACCT}:snapshot/{sid}", attrs,
               drop=drop, weights=weights, tags=tags)


def image(ami: str, *, weights: bool = False, tags: bool | None = True, drop: Iterable[str] = (),
          **over: Any) -> Resource:
    attrs: dict[str, Any] = {"image_id": ami, "name": ami, "state": "available", "public": False,
                             "source_instance_id": None, "snapshot_ids": [], "shared_with": [],
                             "shared_with_organizations": []}
    attrs.update(over)
    return res("aws.ec2.image", f"arn:aws:ec2:{REGION}::image/{ami}", attrs, weights=weights,
               tags=tags, drop=drop)


def region_settings(region: str = REGION, on: bool = True, drop: Iterable[str] = ()) -> Resource:
    return res("aws.ec2.region_settings", f"arn:aws:ec2:{region}:{ACCT}:settings",
               {"ebs_encryption_by_default": on, "ebs_default_kms_key_id": None}, region=region,
               drop=drop)


def guardduty(region: str = REGION, detectors: Any = None, drop: Iterable[str] = ()) -> Resource:
    dets = detectors if detectors is not None else [{"id": "d1", "status": "ENABLED"}]
    return res("aws.guardduty.region", f"arn:aws:guardduty:{region}:{ACCT}:region",
               {"detectors": dets}, region=region, drop=drop)
