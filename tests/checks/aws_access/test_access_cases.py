"""The effective-access evaluator against cases whose answers come from AWS documentation.

Each case names the AWS documentation page (title) whose rule or example it encodes, builds a
small snapshot, and states for chosen principals whether they can read the target: ``yes``
(unconditional path), ``conditional`` (depends on an undecidable condition) or ``no``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest
from access_builders import (
    ACCT,
    FULL_ACCESS,
    MGMT,
    OTHER,
    aws,
    bucket,
    bucket_arn,
    default_key_policy,
    deny,
    doc,
    grant,
    group,
    key_arn,
    kms_key,
    managed,
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
from access_builders import allow as allow_st

from aslcheck.checks.aws.access import AccessAnalyzer, Unevaluable, bucket_read, key_decrypt
from aslcheck.inventories.snapshot import Resource

W = "arn:aws:s3:::weights/*"
K = "k-1"
READ = allow_st("s3:GetObject", W)
DECRYPT = allow_st("kms:Decrypt", key_arn(K))
ASSUME_ANY = allow_st("sts:AssumeRole", "*")


@dataclass(frozen=True)
class Case:
    """One documented behaviour."""

    name: str
    source: str
    """Title of the AWS documentation page the expected answer comes from."""
    resources: tuple[Resource, ...]
    target: str
    """ID of the bucket or key whose read is analysed."""
    expect: Mapping[str, str]
    """principal ARN -> yes | conditional | no."""
    via: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Expected role chain of some principals."""


def _reader(name: str, statement: Mapping[str, object] = READ, **kw: object) -> Resource:
    return user(name, inline={"p": doc(statement)}, **kw)  # type: ignore[arg-type]


CASES = [
    Case("explicit deny wins over allow",
         "Policy evaluation logic: How AWS enforcement code logic evaluates requests to allow or deny access",
         (_reader("alice"), _reader("bob"),
          bucket("weights", policy=doc(deny("s3:*", W, Principal=aws(user_arn("bob")))))),
         bucket_arn("weights"), {user_arn("alice"): "yes", user_arn("bob"): "no"}),
    Case("identity deny wins over bucket policy allow",
         "Policy evaluation logic: How AWS enforcement code logic evaluates requests to allow or deny access",
         (user("carol", inline={"d": doc(deny("s3:*"))}),
          bucket("weights", policy=doc(allow_st("s3:GetObject", W, Principal=aws(user_arn("carol")))))),
         bucket_arn("weights"), {user_arn("carol"): "no"}),
    Case("boundary intersects the identity policy",
         "Permissions boundaries for IAM entities",
         (_reader("shirley", allow_st("s3:*"), boundary=policy_arn("ec2only")),
          _reader("zhang", allow_st("s3:*"), boundary=policy_arn("s3ok")),
          managed("ec2only", doc(allow_st("ec2:*"))), managed("s3ok", doc(allow_st("s3:*"))),
          bucket("weights")),
         bucket_arn("weights"), {user_arn("shirley"): "no", user_arn("zhang"): "yes"}),
    Case("resource policy naming a user ARN is not limited by the user's boundary",
         "Permissions boundaries for IAM entities (Resource-based policies for IAM users)",
         (user("ursula", boundary=policy_arn("ec2only")), managed("ec2only", doc(allow_st("ec2:*"))),
          bucket("weights", policy=doc(allow_st("s3:GetObject", W, Principal=aws(user_arn("ursula")))))),
         bucket_arn("weights"), {user_arn("ursula"): "yes"}),
    Case("resource policy naming a role ARN is limited by the role's boundary",
         "Permissions boundaries for IAM entities (Resource-based policies for IAM roles)",
         (role("bounded", trust=trusting(root()), boundary=policy_arn("ec2only")),
          role("free", trust=trusting(root())), managed("ec2only", doc(allow_st("ec2:*"))),
          bucket("weights", policy=doc(allow_st("s3:GetObject", W,
                                                Principal=aws(role_arn("bounded"), role_arn("free")))))),
         bucket_arn("weights"), {role_arn("bounded"): "no", role_arn("free"): "yes"}),
    Case("SCP deny blocks member accounts but not the management account",
         "Service control policies (SCPs) (AWS Organizations User Guide)",
         (_reader("member"), _reader("boss", account=MGMT), bucket("weights"),
          bucket("weights-mgmt", policy=doc(allow_st("s3:GetObject", "arn:aws:s3:::weights-mgmt/*",
                                                      Principal=aws(user_arn("member"))))),
          org_account(ACCT, ["r-1", "ou-1"]), org_account(MGMT, ["r-1"]),
          org_policy("full", FULL_ACCESS, ["r-1", "ou-1", ACCT, MGMT]),
          org_policy("nos3", doc(deny("s3:GetObject*")), ["r-1"])),
         bucket_arn("weights"), {user_arn("member"): "no", root(ACCT): "no"}),
    # Issue 10 class 1: the case above used to deny only s3:GetObject and answered "no" for the
    # root user, a false certainty: GetObjectVersion yields the same bytes.
    Case("an SCP denying only s3:GetObject leaves s3:GetObjectVersion",
         "Actions, resources, and condition keys for Amazon S3 (GetObjectVersion)",
         (_reader("member"), bucket("weights"), org_account(ACCT, ["r-1"]),
          org_policy("full", FULL_ACCESS, ["r-1", ACCT]), org_policy("nos3", doc(deny("s3:GetObject")), ["r-1"])),
         bucket_arn("weights"), {user_arn("member"): "no", root(ACCT): "yes"}),
    Case("SCPs do not affect the management account",
         "Service control policies (SCPs) (AWS Organizations User Guide)",
         (user("boss", inline={"p": doc(allow_st("s3:GetObject", "arn:aws:s3:::mgmt-weights/*"))}, account=MGMT),
          bucket("mgmt-weights", account=MGMT),
          org_account(MGMT, ["r-1"]), org_policy("full", FULL_ACCESS, ["r-1", MGMT]),
          org_policy("nos3", doc(deny("s3:GetObject")), ["r-1"])),
         bucket_arn("mgmt-weights"), {user_arn("boss", MGMT): "yes", root(MGMT): "yes"}),
    Case("SCP without an allow at one level blocks",
         "SCP evaluation (AWS Organizations User Guide)",
         (_reader("member"), bucket("weights"), org_account(ACCT, ["r-1", "ou-1"]),
          org_policy("full", FULL_ACCESS, ["r-1", ACCT]),
          org_policy("ec2only", doc(allow_st("ec2:*")), ["ou-1"])),
         bucket_arn("weights"), {user_arn("member"): "no"}),
    Case("cross-account read needs the bucket policy and the identity policy",
         "Cross-account policy evaluation logic",
         (_reader("both", account=OTHER), user("nopolicy", account=OTHER), _reader("nobucket", account=OTHER),
          bucket("weights", policy=doc(allow_st("s3:GetObject", W, Principal=aws(
              user_arn("both", OTHER), user_arn("nopolicy", OTHER)))))),
         bucket_arn("weights"),
         {user_arn("both", OTHER): "yes", user_arn("nopolicy", OTHER): "no", user_arn("nobucket", OTHER): "no"}),
    Case("cross-account: bucket policy trusting the other account root delegates to its IAM",
         "Cross-account policy evaluation logic",
         (_reader("dev", account=OTHER), user("idle", account=OTHER),
          bucket("weights", policy=doc(allow_st("s3:GetObject", W, Principal=aws(root(OTHER)))))),
         bucket_arn("weights"), {user_arn("dev", OTHER): "yes", user_arn("idle", OTHER): "no"}),
    Case("KMS key policy without root delegation ignores IAM policies",
         "Key policies in AWS KMS (Allows access to the AWS account and enables IAM policies)",
         (_reader("iamonly", DECRYPT), role("serving", trust=trusting(root())),
          kms_key(K, policy=doc(allow_st("kms:Decrypt", "*", Principal=aws(role_arn("serving")))))),
         key_arn(K), {user_arn("iamonly"): "no", role_arn("serving"): "yes", root(): "no"}),
    Case("KMS key policy delegating to the account root enables IAM policies",
         "Key policies in AWS KMS (Allows access to the AWS account and enables IAM policies)",
         (_reader("iamuser", DECRYPT), user("nobody"), kms_key(K, policy=default_key_policy())),
         key_arn(K), {user_arn("iamuser"): "yes", user_arn("nobody"): "no", root(): "yes"}),
    Case("KMS grant gives the grantee access",
         "Grants in AWS KMS",
         (role("batch", trust=trusting(root())), role("other", trust=trusting(root())),
          kms_key(K, policy=doc(), grants=[grant(role_arn("batch"))])),
         key_arn(K), {role_arn("batch"): "yes", role_arn("other"): "no"}),
    Case("NotAction allow grants everything but the listed actions",
         "IAM JSON policy elements: NotAction",
         (user("notiam", inline={"p": doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})}),
          user("nots3", inline={"p": doc({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"})}),
          user("nots3iam", inline={"p": doc({"Effect": "Allow", "NotAction": ["s3:*", "iam:*"], "Resource": "*"})}),
          bucket("weights")),
         # nots3 used to be "no": a false certainty, NotAction s3:* allows iam:PutUserPolicy on
         # itself (issue 10 class 2), so it can grant itself the read.
         bucket_arn("weights"), {user_arn("notiam"): "yes", user_arn("nots3"): "yes", user_arn("nots3iam"): "no"}),
    Case("NotPrincipal deny spares only principals listed with their account",
         "IAM JSON policy elements: NotPrincipal",
         (_reader("bob"), _reader("alice"), _reader("bob2"),
          bucket("weights", policy=doc(
              {"Effect": "Deny", "NotPrincipal": aws(user_arn("bob"), root()), "Action": "s3:*", "Resource": W}))),
         bucket_arn("weights"), {user_arn("bob"): "yes", user_arn("alice"): "no", user_arn("bob2"): "no"}),
    # Issue 13 item 2: this used to answer "no" (certain deny); AWS documents that such a Deny
    # may deny the whole account or not depending on the service, so the answer is "maybe".
    Case("NotPrincipal deny without the account ARN may or may not deny the listed principal",
         "IAM JSON policy elements: NotPrincipal",
         (_reader("bob"), _reader("eve"), bucket("weights", policy=doc(
             {"Effect": "Deny", "NotPrincipal": aws(user_arn("bob")), "Action": "s3:*", "Resource": W}))),
         bucket_arn("weights"), {user_arn("bob"): "conditional", user_arn("eve"): "no"}),
    Case("wildcard principal narrowed by aws:PrincipalArn",
         "AWS global condition context keys (aws:PrincipalArn)",
         (role("serving", trust=trusting(root())), role("intruder", trust=trusting(root())),
          kms_key(K, policy=doc(allow_st("kms:Decrypt", "*", Principal="*", Condition={
              "ArnEquals": {"aws:PrincipalArn": role_arn("serving")}})))),
         key_arn(K), {role_arn("serving"): "yes", role_arn("intruder"): "no", "*": "no"}),
    Case("role chaining through trust policies",
         "IAM roles terms and concepts (Role chaining)",
         (user("u", inline={"p": doc(allow_st("sts:AssumeRole", role_arn("a")))}),
          user("v", inline={"p": doc(ASSUME_ANY)}),
          role("a", trust=trusting(user_arn("u")), inline={"p": doc(allow_st("sts:AssumeRole", role_arn("b")))}),
          role("b", trust=trusting(role_arn("a")), inline={"p": doc(READ)}),
          bucket("weights")),
         bucket_arn("weights"), {user_arn("u"): "yes", user_arn("v"): "no", role_arn("a"): "yes"},
         via={user_arn("u"): (role_arn("a"), role_arn("b"))}),
    Case("trust in the account root needs an identity-side sts:AssumeRole",
         "How to use trust policies with IAM roles (AWS Security Blog)",
         (user("holder", inline={"p": doc(ASSUME_ANY)}), user("plain"),
          role("reader", trust=trusting(root()), inline={"p": doc(READ)}), bucket("weights")),
         bucket_arn("weights"), {user_arn("holder"): "yes", user_arn("plain"): "no"}),
    Case("a trust policy naming a same-account user needs no identity policy, but its boundary must allow",
         "Update a role trust policy (Notes); Policy evaluation for requests within a single account",
         (user("named"), user("bounded", boundary=policy_arn("ec2only")), managed("ec2only", doc(allow_st("ec2:*"))),
          role("reader", trust=trusting(user_arn("named"), user_arn("bounded")), inline={"p": doc(READ)}),
          bucket("weights")),
         bucket_arn("weights"), {user_arn("named"): "yes", user_arn("bounded"): "no"},
         via={user_arn("named"): (role_arn("reader"),)}),
    Case("cross-account role assumption",
         "Cross-account policy evaluation logic",
         (user("ext", account=OTHER, inline={"p": doc(ASSUME_ANY)}), user("extnone", account=OTHER),
          role("reader", trust=trusting(root(OTHER)), inline={"p": doc(READ)}), bucket("weights")),
         bucket_arn("weights"), {user_arn("ext", OTHER): "yes", user_arn("extnone", OTHER): "no"},
         via={user_arn("ext", OTHER): (role_arn("reader"),)}),
    Case("role cycles terminate",
         "IAM roles terms and concepts (Role chaining)",
         (role("x", trust=trusting(role_arn("y")), inline={"p": doc(ASSUME_ANY, READ)}),
          role("y", trust=trusting(role_arn("x")), inline={"p": doc(ASSUME_ANY)}), bucket("weights")),
         bucket_arn("weights"), {role_arn("x"): "yes", role_arn("y"): "yes"}),
    Case("aws:SourceVpce on the bucket policy is undecidable: conditional",
         "Controlling access from VPC endpoints with bucket policies (Amazon S3 User Guide)",
         (_reader("alice"), bucket("weights", policy=doc(deny("s3:*", W, Principal="*", Condition={
             "StringNotEquals": {"aws:SourceVpce": "vpce-1"}})))),
         bucket_arn("weights"), {user_arn("alice"): "conditional"}),
    Case("aws:SecureTransport deny is avoided by using TLS",
         "Examples of Amazon S3 bucket policies (Managing access based on HTTP or HTTPS requests)",
         (_reader("alice"), bucket("weights", policy=doc(deny("s3:*", W, Principal="*", Condition={
             "Bool": {"aws:SecureTransport": "false"}})))),
         bucket_arn("weights"), {user_arn("alice"): "yes"}),
    Case("group-inherited access",
         "IAM user groups",
         (user("member", groups=[f"arn:aws:iam::{ACCT}:group/ml"]), user("outsider"),
          group("ml", attached=[policy_arn("read")]), managed("read", doc(READ)), bucket("weights")),
         bucket_arn("weights"), {user_arn("member"): "yes", user_arn("outsider"): "no"}),
    Case("MFA condition is undecidable offline: conditional",
         "AWS global condition context keys (aws:MultiFactorAuthPresent)",
         (_reader("mfa", allow_st("s3:GetObject", W, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})),
          bucket("weights")),
         bucket_arn("weights"), {user_arn("mfa"): "conditional"}),
    Case("aws:PrincipalTag is decided from collected tags",
         "AWS global condition context keys (aws:PrincipalTag)",
         (_reader("ml", allow_st("s3:GetObject", W, Condition={"StringEquals": {"aws:PrincipalTag/team": "ml"}}),
                  tags={"team": "ml"}),
          _reader("web", allow_st("s3:GetObject", W, Condition={"StringEquals": {"aws:PrincipalTag/team": "ml"}}),
                  tags={"team": "web"}),
          bucket("weights")),
         bucket_arn("weights"), {user_arn("ml"): "yes", user_arn("web"): "no"}),
    Case("wildcards in actions are case-insensitive, resources glob",
         "IAM JSON policy elements: Action",
         (_reader("glob", allow_st("S3:Get*", "arn:aws:s3:::weig?ts/*")),
          _reader("narrow", allow_st("s3:GetObject", "arn:aws:s3:::other/*")), bucket("weights")),
         bucket_arn("weights"), {user_arn("glob"): "yes", user_arn("narrow"): "no"}),
    Case("public bucket policy lets anyone read",
         "IAM JSON policy elements: Principal (Everyone: anonymous users)",
         (bucket("weights", policy=doc(allow_st("s3:GetObject", W, Principal="*"))),),
         bucket_arn("weights"), {"*": "yes"}),
    Case("public policy limited to the organisation is conditional when the org is not fully collected",
         "AWS global condition context keys (aws:PrincipalOrgID)",
         (bucket("weights", policy=doc(allow_st("s3:GetObject", W, Principal="*", Condition={
             "StringEquals": {"aws:PrincipalOrgID": "o-other"}}))),),
         bucket_arn("weights"), {"*": "conditional"}),
    Case("kms:ViaService is undecidable offline: conditional",
         "AWS KMS condition keys (kms:ViaService)",
         (role("serving", trust=trusting(root())),
          kms_key(K, policy=doc(allow_st("kms:Decrypt", "*", Principal=aws(role_arn("serving")), Condition={
              "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})))),
         key_arn(K), {role_arn("serving"): "conditional"}),
    Case("an undecidable condition in a Deny keeps the access (conditional)",
         "IAM JSON policy elements: Condition operators",
         (_reader("alice"), bucket("weights", policy=doc(deny("s3:GetObject", W, Principal="*", Condition={
             "IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})))),
         bucket_arn("weights"), {user_arn("alice"): "conditional"}),
    Case("a Deny on part of the objects does not remove the read",
         "IAM JSON policy elements: Resource",
         (_reader("alice"), bucket("weights", policy=doc(deny("s3:GetObject", "arn:aws:s3:::weights/secret/*",
                                                              Principal="*")))),
         bucket_arn("weights"), {user_arn("alice"): "yes"}),
]


def _status(result_paths: Mapping[str, bool], principal: str) -> str:
    if principal not in result_paths:
        return "no"
    return "conditional" if result_paths[principal] else "yes"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_documented_case(case: Case) -> None:
    snapshot = snap(*case.resources)
    target = next(r for r in snapshot.resources if r.id == case.target)
    request = bucket_read(target) if target.kind == "aws.s3.bucket" else key_decrypt(target)
    assert not isinstance(request, Unevaluable), request
    analyzer = AccessAnalyzer(snapshot)
    result = analyzer.analyse(request)
    unknown = [p for p in case.expect if p != "*" and p not in analyzer.directory.principals]
    assert not unknown, f"expectations name principals that are not in the snapshot: {unknown}"
    by_principal = {p.principal: p.conditional for p in result.paths}
    got = {p: _status(by_principal, p) for p in case.expect}
    assert got == dict(case.expect), f"{case.source}: {[p.steps for p in result.paths]}"
    paths = {p.principal: p for p in result.paths}
    for principal, chain in case.via.items():
        assert paths[principal].via == chain
    for path in result.paths:
        assert path.steps, path
        assert path.conditional == bool(path.conditions)
