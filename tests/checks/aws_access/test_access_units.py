"""Unit tables for the evaluator's layers: wildcards, conditions, scope helpers, data gaps."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from access_builders import (
    ACCT,
    OTHER,
    REGION,
    STRANGER,
    allow,
    aws,
    bucket,
    bucket_arn,
    config,
    default_key_policy,
    deny,
    doc,
    key_arn,
    kms_key,
    org_account,
    org_policy,
    policy_arn,
    role,
    role_arn,
    root,
    snap,
    trusting,
    user,
    user_arn,
)

from aslcheck.checks.aws.access import AccessAnalyzer, Unevaluable, analyzer_for, bucket_read, key_decrypt
from aslcheck.checks.aws.access.conditions import (
    ConditionClause,
    ContextValue,
    Excluded,
    Missing,
    Tri,
    evaluate_clause,
)
from aslcheck.checks.aws.access.matching import arn_like, covers_prefix, glob_match, may_match_prefix
from aslcheck.checks.aws.scope import is_human, weight_keys, weight_vpcs
from aslcheck.inventories.snapshot import Resource

P = "arn:aws:s3:::weights/"


@pytest.mark.parametrize(("pattern", "may", "covers"), [
    ("*", True, True),
    ("arn:aws:s3:::weights/*", True, True),
    ("arn:aws:s3:::weig*", True, True),
    ("arn:aws:s3:::weights/models/*", True, False),
    ("arn:aws:s3:::weights", False, False),
    ("arn:aws:s3:::other/*", False, False),
    ("arn:aws:s3:::*/secret", True, False),
    ("arn:aws:s3:::weights/?", True, False),
])
def test_prefix_matching(pattern: str, may: bool, covers: bool) -> None:
    assert may_match_prefix(P, pattern) is may
    assert covers_prefix(P, pattern) is covers


def test_glob_and_arn_matching() -> None:
    assert glob_match("s3:getobject", "s3:get*")
    assert not glob_match("s3:getobject", "s3:put*")
    assert glob_match("abc", "a?c") and not glob_match("abbc", "a?c")
    assert arn_like("arn:aws:iam::111111111111:role/x", "arn:aws:iam::*:role/*")
    # In ArnLike a wildcard does not cross the colon-separated fields.
    assert not arn_like("arn:aws:iam::111111111111:role/x", "arn:aws:iam:*:role/x")


class Ctx:
    """A fixed request context."""

    def __init__(self, values: Mapping[str, ContextValue]) -> None:
        self.values = {k.lower(): v for k, v in values.items()}

    def lookup(self, key: str) -> ContextValue:
        return self.values.get(key, Missing.ABSENT)


ANON = Excluded(frozenset({ACCT}), arn=True)


@pytest.mark.parametrize(("operator", "key", "values", "ctx", "want"), [
    ("StringEquals", "aws:PrincipalTag/team", ("ml",), {"aws:PrincipalTag/team": ("ml",)}, Tri.TRUE),
    ("StringEquals", "aws:PrincipalTag/team", ("ml",), {}, Tri.FALSE),
    ("StringNotEquals", "aws:PrincipalTag/team", ("ml",), {}, Tri.TRUE),
    ("StringEqualsIfExists", "aws:PrincipalTag/team", ("ml",), {}, Tri.TRUE),
    ("StringLike", "aws:PrincipalArn", ("arn:aws:iam::*:role/ml-*",), {"aws:PrincipalArn": (role_arn("ml-1"),)},
     Tri.TRUE),
    ("ArnNotLike", "aws:PrincipalArn", (role_arn("a"),), {"aws:PrincipalArn": (role_arn("b"),)}, Tri.TRUE),
    ("Bool", "aws:SecureTransport", ("false",), {"aws:SecureTransport": ("true",)}, Tri.FALSE),
    ("Null", "aws:PrincipalTag/team", ("true",), {}, Tri.TRUE),
    ("Null", "aws:PrincipalTag/team", ("false",), {}, Tri.FALSE),
    ("ForAnyValue:StringEquals", "aws:TagKeys", ("a",), {}, Tri.FALSE),
    ("ForAllValues:StringEquals", "aws:TagKeys", ("a",), {}, Tri.TRUE),
    ("ForAllValues:StringEquals", "aws:TagKeys", ("a",), {"aws:TagKeys": ("a", "b")}, Tri.FALSE),
    ("StringEquals", "aws:SourceVpce", ("vpce-1",), {"aws:SourceVpce": Missing.UNKNOWN}, Tri.UNKNOWN),
    ("NumericLessThan", "aws:MultiFactorAuthAge", ("3600",), {"aws:MultiFactorAuthAge": ("10",)}, Tri.UNKNOWN),
    ("NumericNotEquals", "x:n", ("1",), {}, Tri.TRUE),
    ("SomeFutureOperator", "x:n", ("1",), {"x:n": ("1",)}, Tri.UNKNOWN),
    ("ArnEquals", "aws:PrincipalArn", (role_arn("serving"),), {"aws:PrincipalArn": ANON}, Tri.FALSE),
    ("ArnNotEquals", "aws:PrincipalArn", (role_arn("serving"),), {"aws:PrincipalArn": ANON}, Tri.TRUE),
    ("ArnEquals", "aws:PrincipalArn", (role_arn("x", OTHER),), {"aws:PrincipalArn": ANON}, Tri.UNKNOWN),
    ("ArnEqualsIfExists", "aws:PrincipalArn", (role_arn("serving"),), {"aws:PrincipalArn": ANON}, Tri.UNKNOWN),
    ("StringEquals", "aws:PrincipalTag/team", ("${aws:username}",),
     {"aws:PrincipalTag/team": ("bob",), "aws:username": ("bob",)}, Tri.TRUE),
    ("StringEquals", "aws:PrincipalTag/team", ("${aws:userid}",),
     {"aws:PrincipalTag/team": ("bob",), "aws:userid": Missing.UNKNOWN}, Tri.UNKNOWN),
])
def test_condition_operators(operator: str, key: str, values: tuple[str, ...],
                             ctx: Mapping[str, ContextValue], want: Tri) -> None:
    assert evaluate_clause(ConditionClause(operator, key, values), Ctx(ctx)) is want


def _readers(resources: tuple[Resource, ...], target: str) -> dict[str, bool]:
    s = snap(*resources)
    res = next(r for r in s.resources if r.id == target)
    req = bucket_read(res) if res.kind == "aws.s3.bucket" else key_decrypt(res)
    assert not isinstance(req, Unevaluable)
    return {p.principal: p.conditional for p in AccessAnalyzer(s).analyse(req).paths}


def test_malformed_allow_is_conditional_and_malformed_deny_keeps_access() -> None:
    weird_allow = user("weird", inline={"p": {"Statement": [{"Effect": "Alow", "Action": "s3:GetObject",
                                                             "Resource": "*"}]}})
    reader = user("reader", inline={"p": doc(allow("s3:GetObject"))})
    b = bucket("weights", policy={"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                                 "Resource": "*", "Condition": "broken"}]})
    got = _readers((weird_allow, reader, b), bucket_arn("weights"))
    assert got[user_arn("weird")] is True
    assert got[user_arn("reader")] is True  # the unreadable Deny makes it conditional, never removes it


def test_missing_identity_data_makes_paths_conditional() -> None:
    ghost = user("ghost", attached=[policy_arn("not-collected")])
    nodata = role("nodata", trust=trusting(root()), drop=("inline_policies",))
    got = _readers((ghost, nodata, bucket("weights")), bucket_arn("weights"))
    assert got[user_arn("ghost")] is True and got[role_arn("nodata")] is True


def test_cross_account_key_policy_delegation() -> None:
    ext = user("ext", account=OTHER, inline={"p": doc(allow("kms:Decrypt", key_arn("k")))})
    idle = user("idle", account=OTHER)
    key = kms_key("k", policy=default_key_policy(ACCT, {"Effect": "Allow", "Principal": aws(root(OTHER)),
                                                        "Action": "kms:Decrypt", "Resource": "*"}))
    got = _readers((ext, idle, key), key_arn("k"))
    assert got.get(user_arn("ext", OTHER)) is False and user_arn("idle", OTHER) not in got


def test_rcp_deny_for_principals_outside_the_org() -> None:
    rcp = doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
               "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}}})
    resources = (bucket("weights", policy=doc(allow("s3:GetObject", "arn:aws:s3:::weights/*", Principal="*"))),
                 user("inside"), user("outside", account=OTHER, inline={"p": doc(allow("s3:GetObject"))}),
                 org_account(ACCT, ["r-1"]),
                 org_policy("full", doc(allow("*", Principal="*")), ["r-1", ACCT], kind="RESOURCE_CONTROL_POLICY"),
                 org_policy("org-only", rcp, ["r-1"], kind="RESOURCE_CONTROL_POLICY"))
    got = _readers(resources, bucket_arn("weights"))
    assert got[user_arn("inside")] is False
    assert user_arn("outside", OTHER) not in got  # the org lists its members; OTHER is not one
    assert "*" not in got  # every member's IAM is collected, so anyone else is outside the org
    # With a member account whose IAM was not collected, "anyone else" may be inside the org.
    got = _readers((*resources, org_account(STRANGER, ["r-1"])), bucket_arn("weights"))
    assert got["*"] is True


def test_depth_bound_is_a_gap_not_silence() -> None:
    chain = [role(f"r{i}", trust=trusting(role_arn(f"r{i + 1}")),
                  inline={"p": doc(allow("sts:AssumeRole"), *( [allow("s3:GetObject")] if i == 0 else []))})
             for i in range(5)]
    s = snap(*chain, bucket("weights"))
    req = bucket_read(next(r for r in s.resources if r.kind == "aws.s3.bucket"))
    assert not isinstance(req, Unevaluable)
    shallow = AccessAnalyzer(s, max_depth=2).analyse(req)
    assert any("longer than 2" in g for g in shallow.gaps)
    deep = AccessAnalyzer(s).analyse(req)
    assert not deep.gaps and role_arn("r4") in {p.principal for p in deep.paths}


def test_analyzer_is_shared_per_snapshot() -> None:
    s = snap(bucket("weights"))
    assert analyzer_for(s) is analyzer_for(s)
    assert analyzer_for(snap(bucket("weights"))) is not analyzer_for(s)


def test_weight_key_resolution() -> None:
    key = kms_key("k", policy=doc(), aliases=["alias/w"])
    s = snap(key, bucket("by-id", kms_key="k"), bucket("by-alias", kms_key="alias/w"),
             bucket("by-alias-arn", kms_key=f"arn:aws:kms:{REGION}:{ACCT}:alias/w"),
             bucket("managed", algorithm="aws:kms"), bucket("unknown", tags=None, kms_key="nope"),
             bucket("sse-s3"), bucket("noenc", drop=("encryption",)))
    sel = weight_keys(s, config())
    assert [r.id for r in sel.resources] == [key_arn("k")]
    assert {(u.referrer, u.aws_managed) for u in sel.unresolved} == {
        (bucket_arn("managed"), True), (bucket_arn("unknown"), False), (bucket_arn("noenc"), False)}


def test_weight_vpcs() -> None:
    def vpc(vid: str, **kw: object) -> Resource:
        tags = kw.get("tags", {})
        return Resource("aws.ec2.vpc", f"arn:aws:ec2:{REGION}:{ACCT}:vpc/{vid}", "aws", {"vpc_id": vid},
                        tags, ACCT, REGION)  # type: ignore[arg-type]

    inst = Resource("aws.ec2.instance", "arn:i-1", "aws", {"vpc_id": "vpc-b"}, {"asl:asset": "model-weights"},
                    ACCT, REGION)
    orphan = Resource("aws.ec2.instance", "arn:i-2", "aws", {"vpc_id": "vpc-z"}, {"asl:asset": "model-weights"},
                      ACCT, REGION)
    ep = Resource("aws.ec2.vpc_endpoint", "arn:vpce-1", "aws", {"endpoint_id": "vpce-1", "vpc_id": "vpc-c"}, {},
                  ACCT, REGION)
    s = snap(vpc("vpc-a", tags={"asl:asset": "model-weights"}), vpc("vpc-b"), vpc("vpc-c"), vpc("vpc-d", tags=None),
             vpc("vpc-e"), inst, orphan, ep)
    cfg = config()
    cfg = type(cfg)(scope=type(cfg.scope)(weight_tags=cfg.scope.weight_tags, approved_vpc_endpoints=("vpce-1",)))
    sel = weight_vpcs(s, cfg)
    assert {r.attributes["vpc_id"] for r in sel.resources} == {"vpc-a", "vpc-b", "vpc-c"}
    assert {r.attributes["vpc_id"] for r in sel.undecided} == {"vpc-d"}
    assert [u.ref for u in sel.unresolved] == ["vpc-z"]


@pytest.mark.parametrize(("arn", "human"), [
    (user_arn("alice"), True),
    (root(), True),
    ("*", True),
    (f"arn:aws:iam::{ACCT}:saml-provider/Okta", True),
    (f"arn:aws:iam::{ACCT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_1", True),
    (f"arn:aws:sts::{ACCT}:assumed-role/AWSReservedSSO_Admin_1/alice", True),
    (role_arn("serving"), False),
    (role_arn("people/eng"), True),
    ("ec2.amazonaws.com", False),
])
def test_is_human(arn: str, human: bool) -> None:
    assert is_human(arn, config(humans=(role_arn("people/*"),))) is human


def test_unevaluable_targets() -> None:
    assert isinstance(bucket_read(bucket("w", drop=("policy",))), Unevaluable)
    assert isinstance(key_decrypt(kms_key("k", policy=doc(), drop=("grants",))), Unevaluable)
    gaps = bucket_read(bucket("w", ownership="ObjectWriter"))
    assert not isinstance(gaps, Unevaluable) and gaps.gaps


def test_deny_with_account_principal_applies_to_the_whole_account() -> None:
    s = snap(user("a", inline={"p": doc(allow("s3:GetObject*"))}),
             bucket("weights", policy=doc(deny("s3:GetObject*", "*", Principal=aws(root())))))
    req = bucket_read(next(r for r in s.resources if r.kind == "aws.s3.bucket"))
    assert not isinstance(req, Unevaluable)
    paths = {p.principal: p for p in AccessAnalyzer(s).analyse(req).paths}
    assert user_arn("a") not in paths
    # The bucket owner's root user is denied the read, but can always rewrite the bucket policy.
    assert not paths[root()].conditional and "s3:PutBucketPolicy" in paths[root()].steps[0]


def test_evaluator_and_checks_import_without_boto3() -> None:
    import subprocess
    import sys

    code = ("import sys; sys.modules['boto3'] = None; sys.modules['botocore'] = None\n"
            "import aslcheck.checks.aws.access, aslcheck.checks.aws.iam, aslcheck.checks.aws.kms, "
            "aslcheck.checks.aws.scope")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
