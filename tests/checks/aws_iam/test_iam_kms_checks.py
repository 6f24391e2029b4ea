"""One table-driven test over the IAM and KMS checks.

Every check has an empty-scope row, a pass, a fail and a mixed multi-resource row (plus rows for
the undecidable cases); each row asserts the exact set of resource IDs per status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest
from access_builders import (
    ACCT,
    FULL_ACCESS,
    REGION,
    allow,
    aws,
    bucket,
    bucket_arn,
    config,
    default_key_policy,
    deny,
    doc,
    grant,
    key_arn,
    kms_key,
    org_account,
    org_policy,
    role,
    role_arn,
    root,
    snap,
    trusting,
    user,
    user_arn,
)

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.interface import CheckContext, Finding, Status
from aslcheck.controls.config import Config
from aslcheck.inventories.snapshot import Resource

REGISTRY = default_registry()
K = "k-1"
KEY = key_arn(K)
W = "arn:aws:s3:::weights/*"
READ = allow("s3:GetObject", "arn:aws:s3:::*/*")
DECRYPT = allow("kms:Decrypt", "*")
SERVING = role_arn("serving")
BROKER = role_arn("broker")
BROKER_SVC = role_arn("broker-service")
NO_ROOT = deny("s3:GetObject", "arn:aws:s3:::*/*", Principal="*",
               Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}})
"""Bucket-policy statement keeping the (human) root user out of direct reads. It is not enough
alone: the bucket owner's root user can always rewrite the bucket policy, and it can pass the
serving role to EC2 (see FENCED)."""
FENCED = (org_account(ACCT, ["r-1"]), org_policy("full", FULL_ACCESS, ["r-1", ACCT]),
          org_policy("no-root", doc(deny("*", "*", Condition={
              "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}})), ["r-1"]))
"""ACCT as a member account whose SCP denies its root user everything (how ASL-3 accounts fence
the one human credential IAM cannot restrict)."""


def key_for(*principals: str, **kw: object) -> Resource:
    """A weight-bucket key whose policy lets exactly ``principals`` decrypt (no root delegation)."""
    policy = doc(allow("kms:Decrypt", "*", Principal=aws(*principals))) if principals else doc()
    return kms_key(K, policy=policy, **kw)  # type: ignore[arg-type]


def wbucket(name: str = "weights", *statements: Mapping[str, object], **kw: object) -> Resource:
    """A weight bucket encrypted with the weight key, with a bucket policy of ``statements``."""
    return bucket(name, policy=doc(*statements) if statements else None, kms_key=KEY, **kw)  # type: ignore[arg-type]


serving = role("serving", trust=trusting(services=["ec2.amazonaws.com"]), inline={"p": doc(READ, DECRYPT)})
broker = role("broker", trust=trusting(BROKER_SVC), inline={"p": doc(READ, DECRYPT)})
broker_svc = role("broker-service", trust=trusting(services=["lambda.amazonaws.com"]),
                  inline={"p": doc(allow("sts:AssumeRole", BROKER))})
alice_reads = user("alice", inline={"p": doc(READ)})
ROSTER = (SERVING, root())
BASE = config(roster=ROSTER, brokers=(BROKER,), broker_principals=(BROKER_SVC,))


@dataclass(frozen=True)
class Row:
    """One fixture: a snapshot, a config and the exact resource IDs per status."""

    check: str
    name: str
    resources: tuple[Resource, ...]
    expect: Mapping[Status, set[str]]
    cfg: Config = BASE
    evidence: Sequence[str] = field(default_factory=tuple)
    """Evidence keys every finding with a resource must carry."""


ROWS = [
    # -- effective access within the roster ------------------------------------------------------
    Row("aws.iam.weights_effective_access_within_roster", "empty: no weight bucket or key",
        (bucket("scratch", weights=False), serving), {}),
    Row("aws.iam.weights_effective_access_within_roster", "pass: only rostered readers",
        (wbucket(), key_for(SERVING), serving), {Status.PASS: {bucket_arn("weights"), KEY}},
        evidence=("readers", "offending")),
    Row("aws.iam.weights_effective_access_within_roster", "fail: a user outside the roster reads",
        (wbucket(), key_for(SERVING), serving, alice_reads),
        {Status.FAIL: {bucket_arn("weights")}, Status.PASS: {KEY}}, evidence=("offending",)),
    Row("aws.iam.weights_effective_access_within_roster", "mixed: fail, pass, conditional, undecided, no policy",
        (wbucket("weights-a"), wbucket("weights-b", deny("s3:GetObject", "arn:aws:s3:::weights-b/*",
                                                         Principal=aws(user_arn("alice")))),
         wbucket("weights-c", deny("s3:*", "arn:aws:s3:::weights-c/*", Principal=aws(user_arn("alice")),
                                   Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1"}})),
         wbucket("weights-d", tags=None), wbucket("weights-e", drop=("policy",)),
         key_for(SERVING, user_arn("alice")), serving, alice_reads),
        {Status.FAIL: {bucket_arn("weights-a"), KEY}, Status.PASS: {bucket_arn("weights-b")},
         Status.ERROR: {bucket_arn("weights-c"), bucket_arn("weights-d"), bucket_arn("weights-e")}}),
    Row("aws.iam.weights_effective_access_within_roster", "error: empty roster",
        (wbucket(), key_for(SERVING), serving), {Status.ERROR: {bucket_arn("weights"), KEY}},
        cfg=config(roster=())),
    Row("aws.iam.weights_effective_access_within_roster", "error: reader role's trust policy not collected",
        (wbucket(), key_for(SERVING), role("serving", trust=doc(), inline={"p": doc(READ, DECRYPT)},
                                           drop=("trust_policy",))),
        {Status.ERROR: {bucket_arn("weights"), KEY}}),
    Row("aws.iam.weights_effective_access_within_roster", "error: weight bucket names a key not collected",
        (wbucket(), serving), {Status.PASS: {bucket_arn("weights")}, Status.ERROR: {KEY}}),
    # -- no standing human access -------------------------------------------------------------
    Row("aws.iam.no_standing_human_weight_access", "empty: no weight bucket or key",
        (bucket("scratch", weights=False), alice_reads), {}),
    Row("aws.iam.no_standing_human_weight_access", "pass: humans reach weights only via the broker",
        (*FENCED, wbucket("weights", NO_ROOT), key_for(SERVING, BROKER), serving,
         role("broker", trust=trusting(user_arn("alice")), inline={"p": doc(READ, DECRYPT)}),
         user("alice", inline={"p": doc(allow("sts:AssumeRole", BROKER))})),
        {Status.PASS: {bucket_arn("weights"), KEY}}),
    Row("aws.iam.no_standing_human_weight_access", "fail: a human can act as the broker principal",
        (*FENCED, wbucket("weights", NO_ROOT), key_for(SERVING, BROKER), serving, broker,
         role("broker-service", trust=trusting(root()), inline={"p": doc(allow("sts:AssumeRole", BROKER))}),
         user("alice", inline={"p": doc(allow("sts:AssumeRole", BROKER_SVC))})),
        {Status.FAIL: {bucket_arn("weights"), KEY}}),
    Row("aws.iam.no_standing_human_weight_access", "fail: a user reads directly",
        (*FENCED, wbucket("weights", NO_ROOT), key_for(SERVING), serving, alice_reads),
        {Status.FAIL: {bucket_arn("weights")}, Status.PASS: {KEY}}, evidence=("offending",)),
    Row("aws.iam.no_standing_human_weight_access",
        "fail: the root user of an unfenced account (bucket-policy Deny or not) passes the serving role to EC2",
        (wbucket("weights", NO_ROOT), key_for(SERVING), serving),
        {Status.FAIL: {bucket_arn("weights"), KEY}}, evidence=("offending",)),
    Row("aws.iam.no_standing_human_weight_access", "mixed: a user reads one bucket, an SSO role another, MFA-gated",
        (*FENCED, wbucket("weights-a"),
         user("carol", inline={"p": doc(allow("s3:GetObject", "arn:aws:s3:::weights-a/*"))}),
         wbucket("weights-b", NO_ROOT),
         wbucket("weights-c", NO_ROOT, allow("s3:GetObject", "arn:aws:s3:::weights-c/*", Principal=aws(
             user_arn("bob")), Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})),
         key_for(SERVING), serving, user("bob"),
         role("sso-admin", path="/aws-reserved/sso.amazonaws.com/", trust=trusting(services=["sso.amazonaws.com"]),
              inline={"p": doc(allow("s3:GetObject", "arn:aws:s3:::weights-b/*"))})),
        {Status.FAIL: {bucket_arn("weights-a"), bucket_arn("weights-b")}, Status.ERROR: {bucket_arn("weights-c")},
         Status.PASS: {KEY}}),
    # -- broker role trust ------------------------------------------------------------------
    Row("aws.iam.broker_role_trust", "empty: no broker declared", (broker,), {Status.ERROR: {"<check>"}},
        cfg=config(roster=ROSTER)),
    Row("aws.iam.broker_role_trust", "pass: trusts only the broker service", (broker, broker_svc),
        {Status.PASS: {BROKER}}, evidence=("admitted", "offending")),
    Row("aws.iam.broker_role_trust", "fail: trusts the whole account",
        (role("broker", trust=trusting(BROKER_SVC, root())),), {Status.FAIL: {BROKER}}, evidence=("offending",)),
    Row("aws.iam.broker_role_trust", "mixed: guarded root trust, wildcard, missing role, unreadable trust",
        (role("broker", trust=doc(allow("sts:AssumeRole", None, Principal=aws(root())),
                                  deny("sts:AssumeRole", None, Principal="*",
                                       Condition={"ArnNotEquals": {"aws:PrincipalArn": BROKER_SVC}}))),
         role("broker-2", trust=trusting("*")), role("broker-3", trust=doc(), drop=("trust_policy",))),
        {Status.PASS: {BROKER}, Status.FAIL: {role_arn("broker-2")},
         Status.ERROR: {role_arn("broker-3"), role_arn("broker-missing")}},
        cfg=config(brokers=(BROKER, role_arn("broker-2"), role_arn("broker-3"), role_arn("broker-missing")),
                   broker_principals=(BROKER_SVC,))),
    Row("aws.iam.broker_role_trust", "error: no broker principals declared", (broker,), {Status.ERROR: {BROKER}},
        cfg=config(brokers=(BROKER,))),
    # -- every weight-reader role (TP-1, issue 10 class 7) ------------------------------------
    Row("aws.iam.weight_reader_role_trust", "empty: no weight bucket or key",
        (bucket("scratch", weights=False), serving, broker), {}),
    Row("aws.iam.weight_reader_role_trust", "pass: serving (EC2), broker (broker principal), broker service (Lambda)",
        (*FENCED, wbucket(), key_for(SERVING, BROKER), serving, broker, broker_svc),
        {Status.PASS: {SERVING, BROKER, BROKER_SVC}}, evidence=("admitted", "offending", "reads")),
    Row("aws.iam.weight_reader_role_trust", "fail: a rostered reader role trusts the account root",
        (*FENCED, wbucket(), key_for(SERVING), serving,
         role("analyst", trust=trusting(root()), inline={"p": doc(READ)})),
        {Status.PASS: {SERVING}, Status.FAIL: {role_arn("analyst")}},
        cfg=config(roster=(SERVING, role_arn("analyst")), brokers=(BROKER,), broker_principals=(BROKER_SVC,))),
    Row("aws.iam.weight_reader_role_trust", "mixed: long sessions, Roles Anywhere, unpinned and pinned SageMaker, "
        "wildcard narrowed to the broker, trust not collected, a bucket no role reads",
        (*FENCED, wbucket(), key_for(), bucket("weights-2", kms_key=KEY),
         role("long", trust=trusting(services=["ec2.amazonaws.com"]), max_session=43200,
              inline={"p": doc(allow("s3:GetObject", "arn:aws:s3:::weights/*"))}),
         role("anywhere", trust=trusting(services=["rolesanywhere.amazonaws.com"]),
              inline={"p": doc(allow("s3:GetObject", "arn:aws:s3:::weights/*"))}),
         role("sm-open", trust=trusting(services=["sagemaker.amazonaws.com"]),
              inline={"p": doc(allow("s3:GetObject", "arn:aws:s3:::weights/*"))}),
         role("sm-pinned", trust=trusting(services=["sagemaker.amazonaws.com"],
                                          condition={"StringEquals": {"aws:SourceAccount": ACCT}}),
              inline={"p": doc(allow("s3:GetObject", "arn:aws:s3:::weights/*"))}),
         role("guarded", trust=trusting("*", condition={"ArnEquals": {"aws:PrincipalArn": BROKER_SVC}}),
              inline={"p": doc(allow("s3:GetObject", "arn:aws:s3:::weights/*"))}),
         role("blind", trust=doc(), drop=("trust_policy",),
              inline={"p": doc(allow("s3:GetObject", "arn:aws:s3:::weights/*"))})),
        {Status.FAIL: {role_arn("long"), role_arn("anywhere"), role_arn("sm-open")},
         Status.PASS: {role_arn("sm-pinned"), role_arn("guarded")},
         Status.ERROR: {role_arn("blind"), bucket_arn("weights")},
         Status.NOT_APPLICABLE: {bucket_arn("weights-2"), KEY}}),
    # -- broker max session -----------------------------------------------------------------
    Row("aws.iam.broker_max_session", "empty: no broker declared", (broker,), {Status.ERROR: {"<check>"}},
        cfg=config()),
    Row("aws.iam.broker_max_session", "pass: one hour", (broker,), {Status.PASS: {BROKER}},
        evidence=("max_session_duration",)),
    Row("aws.iam.broker_max_session", "fail: twelve hours",
        (role("broker", trust=trusting(BROKER_SVC), max_session=43200),), {Status.FAIL: {BROKER}}),
    Row("aws.iam.broker_max_session", "mixed: pattern matches three roles",
        (role("broker-a", trust=doc()), role("broker-b", trust=doc(), max_session=7200),
         role("broker-c", trust=doc(), drop=("max_session_duration",)), role("other", trust=doc(), max_session=43200)),
        {Status.PASS: {role_arn("broker-a")}, Status.FAIL: {role_arn("broker-b")},
         Status.ERROR: {role_arn("broker-c")}},
        cfg=config(brokers=(role_arn("broker-*"),))),
    # -- human MFA --------------------------------------------------------------------------
    Row("aws.iam.human_mfa", "empty: no users", (serving,), {}),
    Row("aws.iam.human_mfa", "pass: user with a hardware key",
        (user("alice", password=True, mfa=[{"serial": "arn:aws:iam::1:u2f/x", "virtual": False}]),),
        {Status.PASS: {user_arn("alice")}}, evidence=("mfa_devices",)),
    Row("aws.iam.human_mfa", "fail: console password without MFA", (user("bob", password=True),),
        {Status.FAIL: {user_arn("bob")}}),
    Row("aws.iam.human_mfa", "mixed: keys without MFA, no credentials, not collected, root",
        (user("alice", mfa=[{"serial": "s", "virtual": True}]),
         user("bob", keys=[{"id": "AKIA1", "status": "Active", "created": "2025-12-01T00:00:00Z", "last_used": None}]),
         user("carol"), user("dave", drop=("mfa_devices",)),
         Resource("aws.iam.account", root(), "aws", {"account_mfa_enabled": False}, {}, ACCT, "global")),
        {Status.PASS: {user_arn("alice")}, Status.FAIL: {user_arn("bob"), root()},
         Status.NOT_APPLICABLE: {user_arn("carol")}, Status.ERROR: {user_arn("dave")}}),
    # -- access key age (snapshot "now" is 2026-01-01T00:01:00Z) ------------------------------
    Row("aws.iam.access_key_age", "empty: no users", (serving,), {}),
    Row("aws.iam.access_key_age", "pass: a 31-day-old key",
        (user("alice", keys=[{"id": "AKIA1", "status": "Active", "created": "2025-12-01T00:00:00Z"}]),),
        {Status.PASS: {user_arn("alice")}}, evidence=("active_key_age_days",)),
    Row("aws.iam.access_key_age", "fail: a 200-day-old key",
        (user("bob", keys=[{"id": "AKIA2", "status": "Active", "created": "2025-06-15T00:00:00Z"}]),),
        {Status.FAIL: {user_arn("bob")}}),
    Row("aws.iam.access_key_age", "mixed: inactive old key, keys not collected, root keys",
        (user("alice", keys=[{"id": "AKIA1", "status": "Inactive", "created": "2020-01-01T00:00:00Z"}]),
         user("bob", keys=[{"id": "AKIA2", "status": "Active", "created": "2025-06-15T00:00:00Z"},
                           {"id": "AKIA3", "status": "Active", "created": "2025-12-15T00:00:00Z"}]),
         user("carol", drop=("access_keys",)),
         Resource("aws.iam.account", root(), "aws", {"root_access_keys_present": True, "credential_report": [
             {"user": "<root_account>", "access_key_1_active": "true",
              "access_key_1_last_rotated": "2024-01-01T00:00:00+00:00", "access_key_2_active": "false",
              "access_key_2_last_rotated": "N/A"}]}, {}, ACCT, "global")),
        {Status.PASS: {user_arn("alice")}, Status.FAIL: {user_arn("bob"), root()},
         Status.ERROR: {user_arn("carol")}}),
    # -- KMS: customer managed and enabled ------------------------------------------------
    Row("aws.kms.weight_key_customer_managed", "empty: no weight key",
        (kms_key(K, policy=default_key_policy()), bucket("scratch", weights=False, kms_key=KEY)), {}),
    Row("aws.kms.weight_key_customer_managed", "pass: bucket key resolved through its alias",
        (bucket("weights", kms_key="alias/weights"),
         kms_key(K, policy=default_key_policy(), aliases=["alias/weights"])),
        {Status.PASS: {KEY}}, evidence=("key_manager", "key_state")),
    Row("aws.kms.weight_key_customer_managed", "fail: AWS-managed key",
        (wbucket(), key_for(manager="AWS")), {Status.FAIL: {KEY}}),
    Row("aws.kms.weight_key_customer_managed", "mixed: disabled, aws/s3, unknown key, tagged key, undecided",
        (wbucket("weights-a"), key_for(state="Disabled"),
         bucket("weights-b", algorithm="aws:kms"),
         bucket("weights-c", kms_key="0000-missing"),
         kms_key("k-2", policy=default_key_policy(), weights=True),
         kms_key("k-3", policy=default_key_policy(), tags=None)),
        {Status.FAIL: {KEY, f"arn:aws:kms:{REGION}:{ACCT}:alias/aws/s3"}, Status.PASS: {key_arn("k-2")},
         Status.ERROR: {f"arn:aws:kms:{REGION}:{ACCT}:key/0000-missing", key_arn("k-3")}}),
    # -- KMS: rotation --------------------------------------------------------------------
    Row("aws.kms.weight_key_rotation", "empty: no weight key", (kms_key(K, policy=doc()),), {}),
    Row("aws.kms.weight_key_rotation", "pass", (wbucket(), key_for()), {Status.PASS: {KEY}},
        evidence=("rotation_enabled",)),
    Row("aws.kms.weight_key_rotation", "fail", (wbucket(), key_for(rotation=False)), {Status.FAIL: {KEY}}),
    Row("aws.kms.weight_key_rotation", "mixed: unsupported, not collected, on",
        (kms_key("k-2", policy=doc(), weights=True, rotation=None),
         kms_key("k-3", policy=doc(), weights=True, drop=("rotation_enabled",)), wbucket(), key_for()),
        {Status.PASS: {KEY}, Status.FAIL: {key_arn("k-2")}, Status.ERROR: {key_arn("k-3")}}),
    # -- KMS: no wildcard principal -------------------------------------------------------
    Row("aws.kms.weight_key_no_wildcard_principal", "empty: no weight key", (kms_key(K, policy=doc()),), {}),
    Row("aws.kms.weight_key_no_wildcard_principal", "pass: named principals only", (wbucket(), key_for(SERVING)),
        {Status.PASS: {KEY}}, evidence=("wildcard_statements",)),
    Row("aws.kms.weight_key_no_wildcard_principal", "fail: open to everyone",
        (wbucket(), kms_key(K, policy=doc(allow("kms:Decrypt", "*", Principal="*")))), {Status.FAIL: {KEY}}),
    Row("aws.kms.weight_key_no_wildcard_principal", "mixed: narrowed, IfExists, NotPrincipal, no policy",
        (kms_key("k-a", weights=True, policy=doc(allow("kms:Decrypt", "*", Principal=aws("*"), Condition={
            "StringEquals": {"kms:CallerAccount": ACCT, "kms:ViaService": "s3.us-east-1.amazonaws.com"}}))),
         kms_key("k-b", weights=True, policy=doc(allow("kms:Decrypt", "*", Principal="*", Condition={
             "ArnLikeIfExists": {"aws:PrincipalArn": SERVING}}))),
         kms_key("k-c", weights=True, policy=doc({"Effect": "Allow", "NotPrincipal": aws(SERVING),
                                                  "Action": "kms:Decrypt", "Resource": "*"})),
         kms_key("k-d", weights=True, policy=doc(), drop=("policy",))),
        {Status.PASS: {key_arn("k-a")}, Status.FAIL: {key_arn("k-b"), key_arn("k-c")},
         Status.ERROR: {key_arn("k-d")}}),
    # -- KMS: no human grants -------------------------------------------------------------
    Row("aws.kms.weight_key_no_human_grants", "empty: no weight key",
        (kms_key(K, policy=doc(), grants=[grant(user_arn("alice"))]),), {}),
    Row("aws.kms.weight_key_no_human_grants", "pass: grant to a service role",
        (wbucket(), key_for(grants=[grant(SERVING)])), {Status.PASS: {KEY}}, evidence=("grants",)),
    Row("aws.kms.weight_key_no_human_grants", "fail: grant to a user",
        (wbucket(), key_for(grants=[grant(SERVING), grant(user_arn("alice"), grant_id="g-2")])), {Status.FAIL: {KEY}}),
    Row("aws.kms.weight_key_no_human_grants", "mixed: human pattern, no grants, not collected",
        (kms_key("k-a", weights=True, policy=doc(), grants=[grant(role_arn("people/eng"))]),
         kms_key("k-b", weights=True, policy=doc()),
         kms_key("k-c", weights=True, policy=doc(), drop=("grants",))),
        {Status.FAIL: {key_arn("k-a")}, Status.PASS: {key_arn("k-b")}, Status.ERROR: {key_arn("k-c")}},
        cfg=config(humans=(role_arn("people/*"),))),
]


def _run(row: Row) -> list[Finding]:
    spec = REGISTRY.get(row.check)
    ctx = CheckContext(snapshot=snap(*row.resources), config=row.cfg, resources=())
    return list(spec.evaluate(ctx))


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.check}: {r.name}" for r in ROWS])
def test_check_fixture(row: Row) -> None:
    findings = _run(row)
    got = {s: {f.resource or "<check>" for f in findings if f.status is s} for s in Status}
    want = {s: set(row.expect.get(s, set())) for s in Status}
    assert got == want, [(f.status.name, f.resource, f.reason) for f in findings]
    for f in findings:
        assert f.reason and f.check == row.check
        if f.resource is not None and f.status in (Status.PASS, Status.FAIL):
            assert f.evidence, f
    for f in findings:
        if f.status in (Status.PASS, Status.FAIL):
            for key in row.evidence:
                assert key in f.evidence, (key, f)


def test_every_check_has_empty_pass_fail_and_mixed_rows() -> None:
    ids = {r.check for r in ROWS}
    for cid in ids:
        kinds = {r.name.split(":")[0] for r in ROWS if r.check == cid}
        assert {"empty", "pass", "fail", "mixed"} <= kinds, (cid, kinds)
    assert len(ids) == 11


def test_offending_path_evidence_names_the_route() -> None:
    row = next(r for r in ROWS if r.name == "fail: a user outside the roster reads")
    finding = next(f for f in _run(row) if f.status is Status.FAIL)
    offending = finding.evidence["offending"]
    assert offending[0]["principal"] == user_arn("alice")
    assert offending[0]["steps"] and not offending[0]["conditional"]
