"""One table-driven test over every S3 / CloudTrail / Logs / VPC / EC2 / GuardDuty check.

Each row is a small hand-built snapshot with the exact set of resource IDs expected per status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from aws_res_builders import (
    ACCT,
    BUDGET,
    KEY_ARN,
    KEY_ID,
    ORG_ID,
    OTHER,
    PAB_OFF,
    PAB_ON,
    REGION,
    REGISTRY,
    STRANGER,
    account_settings,
    advanced,
    alarm,
    bucket,
    bucket_arn,
    by_status,
    classic,
    config,
    ebs_snapshot,
    endpoint,
    good_policy,
    guardduty,
    iam_account,
    instance,
    kms_key,
    log_group,
    org_account,
    region_settings,
    rule,
    run_check,
    sg,
    snap,
    subnet,
    trail,
    volume,
    vpc,
    with_attrs,
)

from aslcheck.controls.config import Config
from aslcheck.inventories.snapshot import Resource, Snapshot

B = bucket_arn


def T(name: str, account: str = ACCT) -> str:
    return f"arn:aws:cloudtrail:{REGION}:{account}:trail/{name}"


def V(vid: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCT}:vpc/{vid}"


def I(iid: str) -> str:  # noqa: E743 - short on purpose in a table
    return f"arn:aws:ec2:{REGION}:{ACCT}:instance/{iid}"


def SG(gid: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCT}:security-group/{gid}"


def SN(sid: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCT}:subnet/{sid}"


def EP(eid: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCT}:vpc-endpoint/{eid}"


@dataclass(frozen=True)
class Case:
    check: str
    name: str
    snapshot: Snapshot
    expect: dict[str, set[str]]
    cfg: Config = field(default_factory=config)

    @property
    def id(self) -> str:
        return f"{self.check}:{self.name}"


def allow(principal: Any, cond: dict[str, Any] | None = None, sid: str = "A") -> dict[str, Any]:
    st: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Principal": principal,
                          "Action": ["s3:GetObject"], "Resource": ["*"]}
    if cond:
        st["Condition"] = cond
    return st


def policy(*stmts: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(stmts)}


def deny(name: str, *, action: list[str] | None = None, resource: list[str] | None = None,
         cond: dict[str, Any] | None = None, principal: Any = "*") -> dict[str, Any]:
    arn = B(name)
    return {"Effect": "Deny", "Principal": principal, "Action": action or ["s3:*"],
            "Resource": resource if resource is not None else [arn, f"{arn}/*"],
            "Condition": cond if cond is not None else {"Bool": {"aws:SecureTransport": "false"}}}


ORG = (org_account(ACCT), org_account(OTHER))
WKEY = kms_key()
AWS_KEY = kms_key("aws-managed-1", manager="AWS", aliases=("alias/aws/s3",))
ALIASED = kms_key("22222222-0000-0000-0000-000000000000", aliases=("alias/weights",))
EMPTY = snap()

CASES: list[Case] = []


def add(check: str, name: str, snapshot: Snapshot, cfg: Config | None = None,
        **expect: set[str]) -> None:
    CASES.append(Case(check, name, snapshot, {k: v for k, v in expect.items() if v},
                      cfg or config()))


# -- aws.weights.storage_allowlisted ----------------------------------------------------------
C = "aws.weights.storage_allowlisted"
add(C, "empty", EMPTY)
add(C, "pass", snap(bucket("weights-a")), **{"pass": {B("weights-a")}})
add(C, "fail", snap(bucket("stray-copy")), fail={B("stray-copy")})
add(C, "fail-nothing-declared", snap(bucket("weights-a")), config(allowed=()),
    fail={B("weights-a")})
add(C, "mixed", snap(bucket("weights-a"), bucket("stray"), bucket("logs", weights=False),
                     bucket("unknown-tags", tags=None), volume("vol-w", weights=True),
                     volume("vol-n")),
    **{"pass": {B("weights-a")}},
    fail={B("stray"), f"arn:aws:ec2:{REGION}:{ACCT}:volume/vol-w"},
    error={B("unknown-tags")})

# -- aws.s3.weights_public_access_block -----------------------------------------------------------
C = "aws.s3.weights_public_access_block"
add(C, "empty", snap(account_settings(PAB_ON), bucket("logs", weights=False)))
add(C, "pass", snap(bucket("weights-a"), account_settings(PAB_ON)), **{"pass": {B("weights-a")}})
add(C, "fail", snap(bucket("weights-a", public_access_block=None), account_settings(None)),
    fail={B("weights-a")})
add(C, "mixed", snap(
    account_settings(None),                                   # ACCT: nothing at account level
    account_settings(PAB_ON, account=OTHER),                  # OTHER: all on at account level
    bucket("weights-a"),                                      # bucket level on: pass
    bucket("weights-b", public_access_block=None),            # off at both levels: fail
    bucket("weights-c", public_access_block={**PAB_OFF, "block_public_acls": True,
                                             "ignore_public_acls": True}),  # half: fail
    bucket("weights-d", drop=["public_access_block"]),        # bucket unread, account off: error
    bucket("weights-e", public_access_block=None, account=OTHER),  # account level on: pass
    bucket("weights-f", public_access_block=PAB_OFF, account="333333333333"),  # no acct data
    bucket("weights-g", account="333333333333"),              # bucket fully on: pass
    bucket("weights-h", public_access_block={**PAB_OFF, "block_public_acls": True,
                                             "ignore_public_acls": True}, account=OTHER),
), **{"pass": {B("weights-a"), B("weights-e"), B("weights-g"), B("weights-h")}},
    fail={B("weights-b"), B("weights-c")}, error={B("weights-d"), B("weights-f")})

# -- aws.s3.weights_no_public_or_cross_account ----------------------------------------------------
C = "aws.s3.weights_no_public_or_cross_account"
add(C, "empty", EMPTY)
add(C, "pass", snap(bucket("weights-a")), **{"pass": {B("weights-a")}})
add(C, "fail", snap(bucket("weights-a", policy=policy(allow("*")))), fail={B("weights-a")})
add(C, "mixed", snap(
    *ORG,
    bucket("weights-org", policy=policy(allow({"AWS": f"arn:aws:iam::{OTHER}:role/x"}))),
    bucket("weights-ext", policy=policy(allow({"AWS": STRANGER}))),
    bucket("weights-acl", ownership="ObjectWriter", acl_grants=[
        {"grantee_type": "Group", "grantee": "http://acs.amazonaws.com/groups/global/AllUsers",
         "permission": "READ"}]),
    bucket("weights-cond", policy=policy(allow("*", {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}))),
    bucket("weights-ifexists", policy=policy(allow(
        "*", {"StringEqualsIfExists": {"aws:PrincipalOrgID": ORG_ID}}))),
    bucket("weights-svc", policy=policy(allow({"Service": "cloudtrail.amazonaws.com"}))),
    bucket("weights-notprincipal", policy=policy(
        {"Effect": "Allow", "NotPrincipal": {"AWS": ACCT}, "Action": ["s3:*"], "Resource": ["*"]})),
    bucket("weights-anyacct", policy=policy(allow(
        "*", {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/reader"}}))),
    bucket("weights-public-status", policy_status_public=True),
    bucket("weights-canonical", policy=policy(allow({"CanonicalUser": "abc"}))),
    bucket("weights-unparsed", policy='{"Statement": []}'),
    bucket("weights-two-owners", ownership="BucketOwnerPreferred", acl_grants=[
        {"grantee_type": "CanonicalUser", "grantee": "owner", "permission": "FULL_CONTROL"},
        {"grantee_type": "CanonicalUser", "grantee": "someone-else", "permission": "READ"}]),
    bucket("weights-acl-disabled", acl_grants=[
        {"grantee_type": "Group", "grantee": "http://acs.amazonaws.com/groups/global/AllUsers",
         "permission": "READ"}]),
), **{"pass": {B("weights-org"), B("weights-cond"), B("weights-svc"), B("weights-acl-disabled")}},
    fail={B("weights-ext"), B("weights-acl"), B("weights-ifexists"), B("weights-notprincipal"),
          B("weights-anyacct"), B("weights-public-status")},
    error={B("weights-canonical"), B("weights-unparsed"), B("weights-two-owners")})
add(C, "org-unknown", snap(
    bucket("weights-ext", policy=policy(allow({"AWS": STRANGER}))),
    bucket("weights-orgcond", policy=policy(allow("*", {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}))),
    bucket("weights-vpce", policy=policy(allow("*", {"StringEquals": {"aws:SourceVpce": "vpce-1"}}))),
    bucket("weights-vpce-unknown", policy=policy(allow("*", {"StringEquals": {"aws:SourceVpce": "vpce-9"}}))),
), **{"pass": {B("weights-vpce")}},
    error={B("weights-ext"), B("weights-orgcond"), B("weights-vpce-unknown")})

# -- aws.s3.weights_versioning ------------------------------------------------------------------------
C = "aws.s3.weights_versioning"
add(C, "empty", snap(bucket("logs", weights=False, versioning=None)))
add(C, "pass", snap(bucket("weights-a")), **{"pass": {B("weights-a")}})
add(C, "fail", snap(bucket("weights-a", versioning=None)), fail={B("weights-a")})
add(C, "mixed", snap(bucket("weights-a"), bucket("weights-b", versioning="Suspended"),
                     bucket("weights-c", versioning=None), bucket("logs", weights=False, versioning=None)),
    **{"pass": {B("weights-a")}}, fail={B("weights-b"), B("weights-c")})

# -- aws.s3.weights_cmk_encryption ----------------------------------------------------------------
C = "aws.s3.weights_cmk_encryption"
SSE_S3_DEFAULT = {"algorithm": "AES256", "kms_key_id": None, "bucket_key_enabled": False,
                  "explicit": False}


def kms(ref: str | None, algorithm: str = "aws:kms") -> dict[str, Any]:
    return {"algorithm": algorithm, "kms_key_id": ref, "bucket_key_enabled": True, "explicit": True}


add(C, "empty", snap(WKEY))
add(C, "pass", snap(WKEY, bucket("weights-a")), **{"pass": {B("weights-a")}})
add(C, "fail-sse-s3-default", snap(WKEY, bucket("weights-a", encryption=SSE_S3_DEFAULT)),
    fail={B("weights-a")})
add(C, "mixed", snap(
    WKEY, AWS_KEY, ALIASED,
    bucket("weights-a"),
    bucket("weights-alias", encryption=kms("alias/weights"),
           policy=good_policy("weights-alias", key=ALIASED.id)),
    bucket("weights-keyid", encryption=kms(KEY_ID)),
    bucket("weights-dsse", encryption=kms(KEY_ARN, "aws:kms:dsse")),
    bucket("weights-sse-s3", encryption={**SSE_S3_DEFAULT, "explicit": True}),
    bucket("weights-aws-alias", encryption=kms("alias/aws/s3")),
    bucket("weights-aws-alias-arn", encryption=kms(f"arn:aws:kms:{REGION}:{ACCT}:alias/aws/s3")),
    bucket("weights-aws-key", encryption=kms("aws-managed-1")),
    bucket("weights-nokey", encryption=kms(None)),
    bucket("weights-unknown-key", encryption=kms(f"arn:aws:kms:{REGION}:{STRANGER}:key/x")),
    bucket("weights-other-region-id", encryption=kms(KEY_ID), region="eu-west-1"),
), **{"pass": {B("weights-a"), B("weights-alias"), B("weights-keyid"), B("weights-dsse")}},
    fail={B("weights-sse-s3"), B("weights-aws-alias"), B("weights-aws-alias-arn"),
          B("weights-aws-key"), B("weights-nokey")},
    error={B("weights-unknown-key"), B("weights-other-region-id")})

# -- aws.s3.weights_deny_insecure_transport ----------------------------------------------------------
C = "aws.s3.weights_deny_insecure_transport"
add(C, "empty", EMPTY)
add(C, "pass", snap(bucket("weights-a")), **{"pass": {B("weights-a")}})
add(C, "fail", snap(bucket("weights-a", policy=None)), fail={B("weights-a")})
add(C, "mixed", snap(
    bucket("weights-a"),
    bucket("weights-wild", policy=policy(deny("weights-wild", action=["s3:Get*"],
                                               resource=["arn:aws:s3:::*"],
                                               cond={"Bool": {"aws:SecureTransport": False}}))),
    bucket("weights-objects-only", policy=policy(deny("weights-objects-only",
                                                       resource=[B("weights-objects-only") + "/*"]))),
    bucket("weights-prefix", policy=policy(deny("weights-prefix",
                                                 resource=[B("weights-prefix"), B("weights-prefix") + "/a/*"]))),
    bucket("weights-extra-cond", policy=policy(deny("weights-extra-cond", cond={
        "Bool": {"aws:SecureTransport": "false"},
        "StringEquals": {"aws:PrincipalAccount": STRANGER}}))),
    bucket("weights-one-principal", policy=policy(deny("weights-one-principal",
                                                        principal={"AWS": STRANGER}))),
    bucket("weights-putonly", policy=policy(deny("weights-putonly", action=["s3:PutObject"]))),
), **{"pass": {B("weights-a"), B("weights-wild")}},
    fail={B("weights-objects-only"), B("weights-prefix"), B("weights-extra-cond"),
          B("weights-one-principal"), B("weights-putonly")})

# -- aws.s3.weights_vpce_restricted ----------------------------------------------------------------
C = "aws.s3.weights_vpce_restricted"
VPCE_DENY = {"StringNotEquals": {"aws:SourceVpce": ["vpce-1"]}}
add(C, "empty", EMPTY)
add(C, "pass", snap(bucket("weights-a")), **{"pass": {B("weights-a")}})
add(C, "fail", snap(bucket("weights-a", policy=policy(deny("weights-a")))), fail={B("weights-a")})
add(C, "not-declared", snap(bucket("weights-a")), config(approved=()),
    not_applicable={B("weights-a")})
add(C, "mixed", snap(
    bucket("weights-a"),
    bucket("weights-extra-vpce", policy=good_policy("weights-extra-vpce", ("vpce-1", "vpce-2"))),
    bucket("weights-ifexists", policy=policy(deny("weights-ifexists", action=["s3:GetObject"], cond={
        "StringNotEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}))),
    bucket("weights-narrowed", policy=policy(deny("weights-narrowed", cond={
        **VPCE_DENY, "StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin"}}))),
    bucket("weights-equals", policy=policy(deny("weights-equals", cond={
        "StringEquals": {"aws:SourceVpce": "vpce-1"}}))),
    bucket("weights-no-policy", policy=None),
    bucket("weights-unread", drop=["policy"]),
), **{"pass": {B("weights-a")}},
    # weights-ifexists used to PASS although its Deny names only s3:GetObject: GetObjectVersion
    # reads the same bytes outside the endpoint (issue 10, class 1).
    fail={B("weights-extra-vpce"), B("weights-narrowed"), B("weights-equals"),
          B("weights-no-policy"), B("weights-ifexists")},
    error={B("weights-unread")})

# -- aws.cloudtrail.multi_region_logging ------------------------------------------------------------
C = "aws.cloudtrail.multi_region_logging"
A = iam_account
ACC3, ACC4, ACC5, ACC6 = "333333333333", "444444444444", "555555555555", "666666666666"
ACC7, ACC8, ACC9 = "777777777777", "888888888888", "999999999990"
add(C, "empty", EMPTY)
add(C, "pass", snap(A(), trail("main")), **{"pass": {A().id}})
add(C, "fail", snap(A(), trail("main", is_multi_region=False)), fail={A().id})
add(C, "mixed", snap(
    *ORG,
    A(), trail("main"),                                               # ACCT: good own trail
    A(OTHER),                                                         # OTHER: covered by org trail
    trail("org", account=ACC6, is_organization=True),                 # org trail of ACC6 (no account res)
    A(ACC3), trail("off", account=ACC3, is_logging=False),            # not logging: fail
    A(ACC4),                                                          # no trail at all: fail
    A(ACC5), trail("unread", account=ACC5, drop=["is_logging"]),      # unknown: error
    A(ACC7), trail("data-only", account=ACC7, event_selectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": False, "DataResources": []}]),
    A(ACC8), trail("no-kms-events", account=ACC8, event_selectors=None, advanced_event_selectors=[
        {"Name": "m", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                         {"Field": "eventSource",
                                          "NotEquals": ["kms.amazonaws.com"]}]}]),
    A(ACC9), trail("default", account=ACC9, event_selectors=None),  # CloudTrail's default
), **{"pass": {A().id, A(OTHER).id, T("org", ACC6), A(ACC9).id}},
    fail={A(ACC3).id, A(ACC4).id, A(ACC7).id, A(ACC8).id}, error={A(ACC5).id})
add(C, "org-membership-unknown", snap(
    A(OTHER), trail("org", account=ACC6, is_organization=True)),
    **{"pass": {T("org", ACC6)}}, error={A(OTHER).id})

# -- aws.cloudtrail.log_file_validation / kms_encrypted ----------------------------------------------
for C, attr_name, bad in (("aws.cloudtrail.log_file_validation", "log_file_validation", False),
                          ("aws.cloudtrail.kms_encrypted", "kms_key_id", None)):
    add(C, "empty", EMPTY)
    add(C, "pass", snap(trail("t1")), **{"pass": {T("t1")}})
    add(C, "fail", snap(trail("t1", **{attr_name: bad})), fail={T("t1")})
    add(C, "mixed", snap(trail("t1"), trail("t2", **{attr_name: bad}),
                         trail("t3", drop=[attr_name])),
        **{"pass": {T("t1")}}, fail={T("t2")}, error={T("t3")})

# -- aws.cloudtrail.weights_data_events ----------------------------------------------------------
C = "aws.cloudtrail.weights_data_events"
ARN_SW = "arn:aws:s3:::"
add(C, "empty", snap(trail("t1"), bucket("logs", weights=False)))
add(C, "pass", snap(trail("t1"), bucket("weights-a")), **{"pass": {B("weights-a")}})
add(C, "fail", snap(trail("t1", event_selectors=[{"ReadWriteType": "All",
                                                  "IncludeManagementEvents": True,
                                                  "DataResources": []}]), bucket("weights-a")),
    fail={B("weights-a")})
add(C, "mixed", snap(
    trail("classic", event_selectors=classic(f"{ARN_SW}weights-a/", f"{ARN_SW}weights-c/prefix/")),
    trail("adv", event_selectors=None, advanced_event_selectors=advanced(
        [{"Field": "resources.ARN", "StartsWith": [f"{ARN_SW}weights-b/"]}],
        [{"Field": "resources.ARN", "StartsWith": [f"{ARN_SW}weights-d/"]},
         {"Field": "readOnly", "Equals": ["false"]}],
        [{"Field": "resources.ARN", "StartsWith": [f"{ARN_SW}weights-g"]},
         {"Field": "eventName", "NotEquals": ["PutObject"]}],
        [{"Field": "resources.ARN", "StartsWith": [f"{ARN_SW}weights-h/"]},
         {"Field": "userIdentity.arn", "StartsWith": ["arn:aws:iam::1:role/x"]}],
    )),
    trail("single", is_multi_region=False, event_selectors=classic(f"{ARN_SW}weights-e/")),
    trail("stopped", is_logging=False, event_selectors=classic("arn:aws:s3")),
    trail("writes", event_selectors=classic(f"{ARN_SW}weights-i/", rw="WriteOnly")),
    bucket("weights-a"), bucket("weights-b"), bucket("weights-c"), bucket("weights-d"),
    bucket("weights-e", region="eu-west-1"), bucket("weights-f"), bucket("weights-g"),
    bucket("weights-h"), bucket("weights-i"), bucket("weights-j", account=STRANGER),
), **{"pass": {B("weights-a"), B("weights-b"), B("weights-g")}},
    fail={B("weights-c"), B("weights-d"), B("weights-e"), B("weights-f"), B("weights-h"),
          B("weights-i"), B("weights-j")})
add(C, "org-trail-and-unknowns", snap(
    *ORG,
    trail("org", is_organization=True, event_selectors=classic("arn:aws:s3")),
    trail("unread", account=STRANGER, drop=["event_selectors", "advanced_event_selectors"]),
    bucket("weights-member", account=OTHER), bucket("weights-stranger", account=STRANGER),
), **{"pass": {B("weights-member")}}, error={B("weights-stranger")})

# -- aws.cloudtrail.log_bucket_protected ------------------------------------------------------------
C = "aws.cloudtrail.log_bucket_protected"
LOCK = {"enabled": True, "mode": "COMPLIANCE", "days": 365, "years": None}
add(C, "empty", snap(bucket("trail-logs", weights=False, object_lock=LOCK)))
add(C, "pass", snap(trail("t1"), bucket("trail-logs", weights=False, object_lock=LOCK)),
    **{"pass": {T("t1")}})
add(C, "fail", snap(trail("t1"), bucket("trail-logs", weights=False)), fail={T("t1")})
add(C, "mixed", snap(
    trail("locked"), bucket("trail-logs", weights=False, object_lock=LOCK),
    trail("no-retention", s3_bucket="l2"),
    bucket("l2", weights=False, object_lock={"enabled": True, "mode": None, "days": None,
                                             "years": None}),
    trail("elsewhere", s3_bucket="central", s3_bucket_account=OTHER),
    trail("unknown", s3_bucket="nowhere"),
    trail("other-in-snapshot", s3_bucket="l5"), bucket("l5", weights=False, account=OTHER),
    trail("unread-lock", s3_bucket="l6"), bucket("l6", weights=False, drop=["object_lock"]),
), **{"pass": {T("locked"), T("elsewhere"), T("other-in-snapshot")}},
    fail={T("no-retention")}, error={T("unknown"), T("unread-lock")})

# -- aws.logs.retention -------------------------------------------------------------------------------
C = "aws.logs.retention"
LG = "arn:aws:logs:us-east-1:111111111111:log-group:"
add(C, "empty", EMPTY)
add(C, "pass", snap(log_group("a")), **{"pass": {LG + "a"}})
add(C, "fail", snap(log_group("a", retention_days=30)), fail={LG + "a"})
add(C, "mixed", snap(log_group("a"), log_group("forever", retention_days=None),
                     log_group("short", retention_days=30), log_group("plain", kms_key_id=None),
                     log_group("unread", drop=["retention_days"]) if False else
                     with_attrs(log_group("unread"), drop=["retention_days"])),
    **{"pass": {LG + "a", LG + "forever"}}, fail={LG + "short", LG + "plain"},
    error={LG + "unread"})

# -- VPC scoping fixture shared by the network checks ----------------------------------------------
# vpc-w: tagged; vpc-x: holds a weight instance; vpc-e: holds the approved endpoint vpce-1;
# vpc-n: unrelated; vpc-u: tags unreadable.
NET = (vpc("vpc-w", weights=True), vpc("vpc-x"), vpc("vpc-e"), vpc("vpc-n"),
       vpc("vpc-u", tags=None), instance("i-w", "vpc-x", weights=True),
       endpoint("vpce-1", "vpc-e", None))
ORPHAN = instance("i-orphan", "vpc-gone", weights=True)

C = "aws.vpc.weights_flow_logs"
add(C, "empty", snap(vpc("vpc-n")))
add(C, "pass", snap(vpc("vpc-w", weights=True)), **{"pass": {V("vpc-w")}})
add(C, "fail", snap(vpc("vpc-w", weights=True, flow_logs=[])), fail={V("vpc-w")})
add(C, "mixed", snap(
    vpc("vpc-w", weights=True), vpc("vpc-x", flow_logs=[]),
    vpc("vpc-e", flow_logs=[{"id": "f", "status": "ACTIVE", "traffic_type": "REJECT",
                             "destination": "x"}]),
    vpc("vpc-n", flow_logs=[]), vpc("vpc-u", tags=None), *NET[5:], ORPHAN),
    **{"pass": {V("vpc-w")}}, fail={V("vpc-x"), V("vpc-e")},
    error={V("vpc-u"), I("i-orphan")})

C = "aws.vpc.weights_isolated"
add(C, "empty", snap(vpc("vpc-n", internet_gateways=["igw-1"])))
add(C, "pass", snap(vpc("vpc-w", weights=True)), **{"pass": {V("vpc-w")}})
add(C, "fail", snap(vpc("vpc-w", weights=True, nat_gateways=["nat-1"])), fail={V("vpc-w")})
add(C, "mixed", snap(
    vpc("vpc-w", weights=True), vpc("vpc-x", peering_connections=["pcx-1"]),
    vpc("vpc-e", drop=["transit_gateway_attachments"]), vpc("vpc-n", internet_gateways=["igw-1"]),
    vpc("vpc-u", tags=None), *NET[5:]),
    **{"pass": {V("vpc-w")}}, fail={V("vpc-x")}, error={V("vpc-e"), V("vpc-u")})

C = "aws.vpc.weights_sg_egress_restricted"
add(C, "empty", snap(*NET[:4], sg("sg-n", "vpc-n", [rule()])))
add(C, "pass", snap(*NET, sg("sg-ok", "vpc-w", [rule("tcp", ("10.0.0.0/8",), 443, 443)])),
    **{"pass": {SG("sg-ok")}})
add(C, "fail", snap(*NET, sg("sg-open", "vpc-w", [rule()])), fail={SG("sg-open")})
add(C, "mixed", snap(
    *NET,
    sg("sg-open", "vpc-w", [rule()]),
    sg("sg-ok", "vpc-x", [rule("tcp", ("0.0.0.0/0",), 443, 443)]),
    sg("sg-tcp-all-v6", "vpc-e", [rule("tcp", (), 0, 65535, ipv6=("::/0",))]),
    sg("sg-n", "vpc-n", [rule()]),
    sg("sg-u", "vpc-u", [rule("tcp", ("10.0.0.0/8",), 443, 443)]),
    sg("sg-unread", "vpc-w", [], drop=["egress"]),
), **{"pass": {SG("sg-ok")}}, fail={SG("sg-open"), SG("sg-tcp-all-v6")},
    error={SG("sg-u"), SG("sg-unread")})

C = "aws.vpc.weights_no_igw_route"
IGW = [{"destination": "0.0.0.0/0", "target": "igw-1"}]
add(C, "empty", snap(*NET[:4], subnet("s-n", "vpc-n", IGW)))
add(C, "pass", snap(*NET, subnet("s-w", "vpc-w")), **{"pass": {SN("s-w")}})
add(C, "fail", snap(*NET, subnet("s-w", "vpc-w", IGW)), fail={SN("s-w")})
add(C, "mixed", snap(
    *NET, subnet("s-w", "vpc-w", [{"destination": "0.0.0.0/0", "target": "nat-1"}]),
    subnet("s-x", "vpc-x", IGW), subnet("s-e", "vpc-e", [{"destination": "52.0.0.0/8",
                                                          "target": "igw-1"}]),
    subnet("s-n", "vpc-n", IGW), subnet("s-unread", "vpc-w", drop=["routes"])),
    **{"pass": {SN("s-w")}}, fail={SN("s-x"), SN("s-e")}, error={SN("s-unread")})

C = "aws.vpc.endpoint_policy_org_restricted"
ALL_ALLOW = policy({"Effect": "Allow", "Principal": "*", "Action": ["*"], "Resource": ["*"]})
PERIMETER = policy(
    {"Effect": "Allow", "Principal": "*", "Action": ["*"], "Resource": ["*"]},
    {"Effect": "Deny", "Principal": "*", "Action": ["*"], "Resource": ["*"],
     "Condition": {"StringNotEquals": {"aws:ResourceOrgID": ORG_ID}}})
ORG_ALLOW = policy({"Effect": "Allow", "Principal": "*", "Action": ["s3:*"], "Resource": ["*"],
                    "Condition": {"StringEquals": {"aws:ResourceOrgID": ORG_ID}}})
OUR_BUCKET = policy({"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
                     "Resource": [B("weights-a") + "/*"]})
EP_NET = (vpc("vpc-w", weights=True), vpc("vpc-n"), vpc("vpc-u", tags=None))
add(C, "empty", snap(*EP_NET[:2], endpoint("vpce-n", "vpc-n", None)))
add(C, "pass", snap(*ORG, *EP_NET[:2], endpoint("vpce-p", "vpc-w", PERIMETER)),
    **{"pass": {EP("vpce-p")}})
add(C, "fail", snap(*EP_NET[:2], endpoint("vpce-d", "vpc-w", None)), fail={EP("vpce-d")})
add(C, "mixed", snap(
    *ORG, *EP_NET, bucket("weights-a"),
    endpoint("vpce-default", "vpc-w", None), endpoint("vpce-all", "vpc-w", ALL_ALLOW),
    endpoint("vpce-p", "vpc-w", PERIMETER), endpoint("vpce-org", "vpc-w", ORG_ALLOW),
    endpoint("vpce-ours", "vpc-w", OUR_BUCKET),
    endpoint("vpce-foreign", "vpc-w", policy({"Effect": "Allow", "Principal": "*", "Action": ["*"],
                                               "Resource": ["*"], "Condition": {"StringEquals": {
                                                   "aws:ResourceAccount": STRANGER}}})),
    endpoint("vpce-n", "vpc-n", None), endpoint("vpce-u", "vpc-u", None),
    endpoint("vpce-unread", "vpc-w", None, drop=["policy"]),
    endpoint("vpce-unparsed", "vpc-w", "{}"),
    endpoint("vpce-notequals", "vpc-w", policy({"Effect": "Allow", "Principal": "*", "Action": ["*"],
                                                 "Resource": ["*"], "Condition": {"StringNotEquals": {
                                                     "aws:ResourceOrgID": ORG_ID}}})),
), **{"pass": {EP("vpce-p"), EP("vpce-org"), EP("vpce-ours")}},
    fail={EP("vpce-default"), EP("vpce-all"), EP("vpce-foreign"), EP("vpce-notequals")},
    error={EP("vpce-u"), EP("vpce-unread"), EP("vpce-unparsed")})
add(C, "org-unknown", snap(*EP_NET[:1], endpoint("vpce-org", "vpc-w", ORG_ALLOW)),
    error={EP("vpce-org")})

C = "aws.cloudwatch.egress_alarms"
W_NET = (vpc("vpc-w", weights=True, nat_gateways=["nat-1"]), instance("i-1", "vpc-w"),
         instance("i-stopped", "vpc-w", state="stopped"))
W_ALARMS = (alarm("i1-out", {"InstanceId": "i-1"}),
            alarm("nat-out", {"NatGatewayId": "nat-1"}, metric="BytesOutToDestination",
                  namespace="AWS/NATGateway"))
add(C, "empty", snap(vpc("vpc-n"), instance("i-n", "vpc-n")))
add(C, "pass", snap(*W_NET, *W_ALARMS), **{"pass": {V("vpc-w")}})
add(C, "fail", snap(*W_NET), fail={V("vpc-w")})
add(C, "budget-unset", snap(*W_NET, *W_ALARMS), config(budget=None), error={V("vpc-w")})
add(C, "mixed", snap(
    *W_NET, *W_ALARMS,
    vpc("vpc-x"), instance("i-2", "vpc-x", weights=True),
    alarm("i2-out", {"InstanceId": "i-2"}, threshold=BUDGET),                  # over budget/300s
    vpc("vpc-y", weights=True), instance("i-3", "vpc-y"),
    alarm("i3-out", {"InstanceId": "i-3"}, period=3600, threshold=BUDGET),     # exactly the budget
    vpc("vpc-z", weights=True), instance("i-4", "vpc-z", state="stopped"),      # nothing to watch
    vpc("vpc-v", weights=True), instance("i-5", "vpc-v", public_ip="1.2.3.4"),
    alarm("i5-avg", {"InstanceId": "i-5"}, statistic="Average"),
    alarm("i5-noaction", {"InstanceId": "i-5"}, alarm_actions=[]),
    alarm("i5-lt", {"InstanceId": "i-5"}, comparison="LessThanThreshold"),
    vpc("vpc-r", weights=True), instance("i-7", "vpc-r"),                      # rounded-down float
    alarm("i7-out", {"InstanceId": "i-7"}, period=3600, threshold=BUDGET,
          threshold_text=f"{BUDGET}.5"),
    vpc("vpc-q", weights=True), instance("i-6", "vpc-q"),
    alarm("i6-unread", {"InstanceId": "i-6"}, drop=["threshold"]),
    vpc("vpc-u", tags=None),
), **{"pass": {V("vpc-w"), V("vpc-y")}},
    fail={V("vpc-x"), V("vpc-z"), V("vpc-v"), V("vpc-r")}, error={V("vpc-q"), V("vpc-u")})

add(C, "aggregate", snap(
    vpc("vpc-y", weights=True), instance("i-3", "vpc-y"), instance("i-4", "vpc-y"),
    alarm("agg-out", {}, period=3600, threshold=BUDGET),                        # regional aggregate
    vpc("vpc-s", weights=True), instance("i-5", "vpc-s", account="x") if False else
    instance("i-5", "vpc-s"),
    alarm("agg-custom", {}, namespace="Custom", period=3600, threshold=1),
), **{"pass": {V("vpc-y"), V("vpc-s")}})

# -- EC2 -------------------------------------------------------------------------------------------
C = "aws.ec2.ebs_default_encryption"
RS = "arn:aws:ec2:{}:111111111111:settings"
add(C, "empty", EMPTY)
add(C, "pass", snap(region_settings()), **{"pass": {RS.format(REGION)}})
add(C, "fail", snap(region_settings(on=False)), fail={RS.format(REGION)})
add(C, "mixed", snap(region_settings(), region_settings("eu-west-1", on=False),
                     region_settings("us-west-2", drop=["ebs_encryption_by_default"])),
    **{"pass": {RS.format(REGION)}}, fail={RS.format("eu-west-1")}, error={RS.format("us-west-2")})

VOL = "arn:aws:ec2:us-east-1:111111111111:volume/"
SNP = "arn:aws:ec2:us-east-1:111111111111:snapshot/"
C = "aws.ec2.volumes_encrypted"
add(C, "empty", EMPTY)
add(C, "pass", snap(volume("v1")), **{"pass": {VOL + "v1"}})
add(C, "fail", snap(volume("v1", False)), fail={VOL + "v1"})
add(C, "mixed", snap(volume("v1"), volume("v2", False), volume("v3", drop=["encrypted"])),
    **{"pass": {VOL + "v1"}}, fail={VOL + "v2"}, error={VOL + "v3"})

C = "aws.ec2.snapshots_encrypted"
add(C, "empty", EMPTY)
add(C, "pass", snap(ebs_snapshot("s1")), **{"pass": {SNP + "s1"}})
add(C, "fail", snap(ebs_snapshot("s1", encrypted=False)), fail={SNP + "s1"})
add(C, "mixed", snap(ebs_snapshot("s1"), ebs_snapshot("s2", encrypted=False),
                     ebs_snapshot("s3", drop=["encrypted"])),
    **{"pass": {SNP + "s1"}}, fail={SNP + "s2"}, error={SNP + "s3"})

C = "aws.ec2.no_public_snapshots"
add(C, "empty", EMPTY)
add(C, "pass", snap(ebs_snapshot("s1")), **{"pass": {SNP + "s1"}})
add(C, "fail", snap(ebs_snapshot("s1", public=True)), fail={SNP + "s1"})
add(C, "mixed", snap(ebs_snapshot("s1"), ebs_snapshot("s2", public=True),
                     ebs_snapshot("s3", drop=["public"])),
    **{"pass": {SNP + "s1"}}, fail={SNP + "s2"}, error={SNP + "s3"})

C = "aws.ec2.imdsv2_required"
V1 = {"http_tokens": "optional", "http_put_response_hop_limit": 1, "http_endpoint": "enabled"}
add(C, "empty", EMPTY)
add(C, "pass", snap(instance("i-1", "vpc-n")), **{"pass": {I("i-1")}})
add(C, "fail", snap(instance("i-1", "vpc-n", metadata_options=V1)), fail={I("i-1")})
add(C, "mixed", snap(
    instance("i-1", "vpc-n"), instance("i-v1", "vpc-n", metadata_options=V1),
    instance("i-hop", "vpc-n", metadata_options={**V1, "http_tokens": "required",
                                                 "http_put_response_hop_limit": 2}),
    instance("i-off", "vpc-n", metadata_options={**V1, "http_endpoint": "disabled"}),
    instance("i-stopped", "vpc-n", state="stopped", metadata_options=V1),
    instance("i-unread", "vpc-n", drop=["metadata_options"])),
    **{"pass": {I("i-1"), I("i-off")}}, fail={I("i-v1"), I("i-hop")},
    not_applicable={I("i-stopped")}, error={I("i-unread")})

C = "aws.ec2.weights_no_public_ip"
add(C, "empty", snap(vpc("vpc-n"), instance("i-n", "vpc-n", public_ip="1.1.1.1")))
add(C, "pass", snap(*NET), **{"pass": {I("i-w")}})
add(C, "fail", snap(*NET[:5], instance("i-w", "vpc-x", weights=True, public_ip="3.3.3.3")),
    fail={I("i-w")})
add(C, "mixed", snap(
    *NET, instance("i-pub", "vpc-w", public_ip="3.3.3.3"), instance("i-n", "vpc-n", public_ip="1.1.1.1"),
    instance("i-u", "vpc-u"), instance("i-unread", "vpc-e", drop=["public_ip"]), ORPHAN),
    **{"pass": {I("i-w"), I("i-orphan")}}, fail={I("i-pub")}, error={I("i-u"), I("i-unread")})

C = "aws.guardduty.enabled"
GD = "arn:aws:guardduty:{}:111111111111:region"
add(C, "empty", EMPTY)
add(C, "pass", snap(guardduty()), **{"pass": {GD.format(REGION)}})
add(C, "fail", snap(guardduty(detectors=[])), fail={GD.format(REGION)})
add(C, "mixed", snap(guardduty(), guardduty("eu-west-1", [{"id": "d", "status": "DISABLED"}]),
                     guardduty("us-west-2", []), guardduty("ap-south-1", drop=["detectors"])),
    **{"pass": {GD.format(REGION)}}, fail={GD.format("eu-west-1"), GD.format("us-west-2")},
    error={GD.format("ap-south-1")})


# -- the tests --------------------------------------------------------------------------------------

MY_CHECKS = sorted({c.check for c in CASES})


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_table(case: Case) -> None:
    findings = run_check(case.check, case.snapshot, case.cfg)
    resources = [f.resource for f in findings]
    assert len(resources) == len(set(resources)), f"duplicate findings: {resources}"
    assert all(f.reason for f in findings)
    assert by_status(findings) == case.expect


def test_every_check_has_empty_pass_fail_and_mixed_cases() -> None:
    for check_id in MY_CHECKS:
        names = {c.name.split("-")[0] for c in CASES if c.check == check_id}
        assert {"empty", "pass", "fail", "mixed"} <= names, check_id
    assert len(MY_CHECKS) == 26
    assert all(cid in REGISTRY for cid in MY_CHECKS)


def test_unconfigured_bucket_encryption_is_sse_s3_and_fails() -> None:
    # moto answers "no configuration"; the collector records SSE-S3 default, which must FAIL.
    s = snap(WKEY, bucket("weights-a", encryption={
        "algorithm": "AES256", "kms_key_id": None, "bucket_key_enabled": False, "explicit": False}))
    [f] = run_check("aws.s3.weights_cmk_encryption", s, config())
    assert f.status.value == "fail" and "by default" in f.reason


# For each check: the resource of its "pass" case, and the (resource, attribute) pairs to remove
# from that case so the evidence it rests on is missing.
BW = B("weights-a")
ABSENT: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "aws.weights.storage_allowlisted": (BW, [(BW, "replication")]),
    "aws.s3.weights_public_access_block": (BW, [(BW, "public_access_block"),
                                                (f"arn:aws:s3::{ACCT}:account", "public_access_block")]),
    "aws.s3.weights_no_public_or_cross_account": (BW, [(BW, "policy")]),
    "aws.s3.weights_versioning": (BW, [(BW, "versioning")]),
    "aws.s3.weights_cmk_encryption": (BW, [(BW, "encryption")]),
    "aws.s3.weights_deny_insecure_transport": (BW, [(BW, "policy")]),
    "aws.s3.weights_vpce_restricted": (BW, [(BW, "policy")]),
    "aws.cloudtrail.multi_region_logging": (A().id, [(T("main"), "is_multi_region")]),
    "aws.cloudtrail.log_file_validation": (T("t1"), [(T("t1"), "log_file_validation")]),
    "aws.cloudtrail.kms_encrypted": (T("t1"), [(T("t1"), "kms_key_id")]),
    "aws.cloudtrail.weights_data_events": (BW, [(T("t1"), "event_selectors"),
                                                (T("t1"), "advanced_event_selectors")]),
    "aws.cloudtrail.log_bucket_protected": (T("t1"), [(T("t1"), "s3_bucket")]),
    "aws.logs.retention": (LG + "a", [(LG + "a", "retention_days")]),
    "aws.vpc.weights_flow_logs": (V("vpc-w"), [(V("vpc-w"), "flow_logs")]),
    "aws.vpc.weights_isolated": (V("vpc-w"), [(V("vpc-w"), "internet_gateways")]),
    "aws.vpc.weights_sg_egress_restricted": (SG("sg-ok"), [(SG("sg-ok"), "egress")]),
    "aws.vpc.weights_no_igw_route": (SN("s-w"), [(SN("s-w"), "routes")]),
    "aws.vpc.endpoint_policy_org_restricted": (EP("vpce-p"), [(EP("vpce-p"), "policy")]),
    "aws.cloudwatch.egress_alarms": (V("vpc-w"), [(V("vpc-w"), "nat_gateways")]),
    "aws.ec2.ebs_default_encryption": (RS.format(REGION), [(RS.format(REGION),
                                                            "ebs_encryption_by_default")]),
    "aws.ec2.volumes_encrypted": (VOL + "v1", [(VOL + "v1", "encrypted")]),
    "aws.ec2.snapshots_encrypted": (SNP + "s1", [(SNP + "s1", "encrypted")]),
    "aws.ec2.no_public_snapshots": (SNP + "s1", [(SNP + "s1", "public")]),
    "aws.ec2.imdsv2_required": (I("i-1"), [(I("i-1"), "metadata_options")]),
    "aws.ec2.weights_no_public_ip": (I("i-w"), [(I("i-w"), "public_ip")]),
    "aws.guardduty.enabled": (GD.format(REGION), [(GD.format(REGION), "detectors")]),
}


def _without(snapshot: Snapshot, ident: str, name: str) -> Snapshot:
    out: list[Resource] = []
    for r in snapshot.resources:
        if r.id == ident and name == "<tags>":
            out.append(Resource(r.kind, r.id, r.source, r.attributes, None, r.account, r.region))
        elif r.id == ident:
            assert name in r.attributes, (ident, name)
            out.append(with_attrs(r, drop=[name]))
        else:
            out.append(r)
    return Snapshot(tuple(out), snapshot.errors, snapshot.runs)


def test_absent_table_covers_every_check() -> None:
    assert sorted(ABSENT) == MY_CHECKS


@pytest.mark.parametrize("check_id", MY_CHECKS)
def test_absent_attribute_is_error(check_id: str) -> None:
    [case] = [c for c in CASES if c.check == check_id and c.name == "pass"]
    subject, removals = ABSENT[check_id]
    before = {f.resource: f.status.value for f in run_check(check_id, case.snapshot, case.cfg)}
    assert before.get(subject) == "pass"
    changed = case.snapshot
    for ident, name in removals:
        changed = _without(changed, ident, name)
    after = {f.resource: f.status.value for f in run_check(check_id, changed, case.cfg)}
    assert after.get(subject) == "error", (check_id, after)
