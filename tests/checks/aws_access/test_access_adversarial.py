"""Adversarial cases of the evaluator, several shapes per false-PASS class (docs/adversarial/access.md).

Issue 10 class 1 (read actions), class 2 (escalation paths are reader paths), class 3 (principals
we cannot see), issue 13 items 1 and 2 (a session Deny, a NotPrincipal Deny without the account).
Each case names the principals that must (``yes``/``conditional``) or must not (``no``) read the
target, and for escalations a fragment of the route the path must report. Pure evaluator, hand
built snapshots; the collector-involved variants are in tests/aws/test_access_*.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest
from access_builders import (
    ACCT,
    FULL_ACCESS,
    OTHER,
    STRANGER,
    allow,
    aws,
    bucket,
    bucket_arn,
    config,
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

from aslcheck.checks.aws.access import AccessAnalyzer, Unevaluable, bucket_read, key_decrypt
from aslcheck.inventories.snapshot import Resource

W = "arn:aws:s3:::weights/*"
CANONICAL = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
K = "k-1"
KEY = key_arn(K)
FENCE = (org_account(ACCT, ["r-1"]), org_account(OTHER, ["r-1"]), org_policy("full", FULL_ACCESS, ["r-1", ACCT, OTHER]),
         org_policy("no-root", doc(deny("*", "*", Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}})),
                    ["r-1"]))
"""Member accounts whose SCP fences the root user, so only the principals under test act."""


@dataclass(frozen=True)
class Case:
    """One attack shape."""

    name: str
    resources: tuple[Resource, ...]
    target: str
    expect: Mapping[str, str]
    """principal -> yes | conditional | no."""
    route: Mapping[str, str] = field(default_factory=dict)
    """principal -> a fragment its path's steps must contain."""
    gap: str = ""
    """A fragment some gap of the result must contain."""
    kinds: tuple[str, ...] | None = None
    """Kinds the run listed (default: every kind held, Organizations policies included)."""


KINDS_NO_ORG = ("aws.s3.bucket", "aws.iam.user", "aws.iam.role", "aws.iam.group", "aws.iam.policy")


def _u(name: str, *statements: Mapping[str, object], **kw: object) -> Resource:
    return user(name, inline={"p": doc(*statements)} if statements else None, **kw)  # type: ignore[arg-type]


BUCKET = bucket("weights")
KEYPOL = kms_key(K, policy=default_key_policy())

CLASS1 = [
    Case("bucket policy grants an outsider s3:GetObjectVersion", (*FENCE, bucket("weights", policy=doc(
        allow("s3:GetObjectVersion", W, Principal=aws(user_arn("ext", OTHER))))),
        _u("ext", allow("s3:*"), account=OTHER)), bucket_arn("weights"), {user_arn("ext", OTHER): "yes"}),
    Case("bucket policy grants an outsider s3:Get*", (*FENCE, bucket("weights", policy=doc(
        allow("s3:Get*", W, Principal=aws(root(OTHER))))), _u("ext", allow("s3:GetObject*"), account=OTHER)),
        bucket_arn("weights"), {user_arn("ext", OTHER): "yes"}),
    Case("bucket policy grants s3:GetObjectTorrent to everyone", (*FENCE, bucket("weights", policy=doc(
        allow("s3:GetObjectTorrent", W, Principal="*")))), bucket_arn("weights"), {"*": "yes"}),
    Case("identity policy with s3:GetObjectVersion only", (*FENCE, BUCKET, _u("v", allow("s3:GetObjectVersion", W))),
         bucket_arn("weights"), {user_arn("v"): "yes"}),
    Case("a replication role reads only through S3 replication", (*FENCE, BUCKET,
         role("repl", trust=trusting(services=["s3.amazonaws.com"]),
              inline={"p": doc(allow("s3:GetObjectVersionForReplication", W))}),
         _u("admin", allow(["iam:PassRole", "s3:PutReplicationConfiguration"])),
         _u("plain", allow("s3:GetObjectVersionForReplication", W))),
         bucket_arn("weights"), {role_arn("repl"): "yes", user_arn("admin"): "yes", user_arn("plain"): "no"},
         {user_arn("admin"): "s3:PutReplicationConfiguration"}),
    Case("key policy grants kms:ReEncryptFrom to an outsider", (*FENCE, kms_key(K, policy=doc(
        allow("kms:ReEncrypt*", "*", Principal=aws(user_arn("ext", OTHER))))),
        _u("ext", allow("kms:*"), account=OTHER)),
        KEY, {user_arn("ext", OTHER): "yes"}),
    Case("key policy grants kms:GenerateDataKey to a role", (*FENCE, kms_key(K, policy=doc(
        allow("kms:GenerateDataKey", "*", Principal=aws(role_arn("writer"))))),
        role("writer", trust=trusting(root()))), KEY, {role_arn("writer"): "yes"}),
    Case("key policy grants kms:CreateGrant (grants itself Decrypt)", (*FENCE, kms_key(K, policy=doc(
        allow("kms:CreateGrant", "*", Principal=aws(user_arn("g"))))), _u("g")), KEY, {user_arn("g"): "yes"}),
    Case("a KMS grant of GenerateDataKey", (*FENCE, kms_key(K, policy=doc(), grants=[
        grant(role_arn("batch"), ops=("GenerateDataKey",))]), role("batch", trust=trusting(root()))),
        KEY, {role_arn("batch"): "yes"}),
]

CLASS2 = [
    Case("s3:PutBucketPolicy holder rewrites a Deny-everyone policy", (*FENCE, bucket("weights", policy=doc(
        deny("s3:GetObject*", W, Principal="*"))), _u("ops", allow("s3:PutBucketPolicy", "arn:aws:s3:::weights"))),
        bucket_arn("weights"), {user_arn("ops"): "yes"}, {user_arn("ops"): "s3:PutBucketPolicy"}),
    Case("s3:DeleteBucketPolicy holder drops the Deny its read allow needed", (*FENCE, bucket("weights", policy=doc(
        deny("s3:GetObject*", W, Principal=aws(user_arn("ops"))))),
        _u("ops", allow("s3:DeleteBucketPolicy", "*"), allow("s3:GetObject*", W))),
        bucket_arn("weights"), {user_arn("ops"): "yes"}, {user_arn("ops"): "s3:DeleteBucketPolicy"}),
    Case("the bucket owner's root user (standalone account) rewrites a policy that denies it",
         (bucket("weights", policy=doc(deny("s3:*", W, Principal=aws(root())))), _u("someone")),
         bucket_arn("weights"), {root(): "yes"}, {root(): "s3:PutBucketPolicy"}),
    Case("the root user of a member account fenced by an SCP does not",
         (*FENCE, bucket("weights", policy=doc(deny("s3:*", W, Principal=aws(root())))), _u("someone")),
         bucket_arn("weights"), {root(): "no"}),
    Case("the root user of a member account whose SCPs were not collected: undecided",
         (bucket("weights", policy=doc(deny("s3:*", W, Principal=aws(root())))), _u("someone")),
         bucket_arn("weights"), {root(): "conditional"}, {root(): "s3:PutBucketPolicy"}, kinds=KINDS_NO_ORG),
    Case("ACLs can be re-enabled and an object ACL granted", (*FENCE, bucket("weights", policy=None),
         _u("acl", allow(["s3:PutBucketOwnershipControls", "s3:PutObjectAcl"], "*"))),
         bucket_arn("weights"), {user_arn("acl"): "yes"}, {user_arn("acl"): "PutBucketOwnershipControls"}),
    Case("kms:PutKeyPolicy holder on a key that names only serving", (*FENCE, kms_key(K, policy=doc(
        allow("kms:Decrypt", "*", Principal=aws(role_arn("serving"))),
        allow("kms:PutKeyPolicy", "*", Principal=aws(user_arn("keyadmin"))))),
        role("serving", trust=trusting(root())), _u("keyadmin")), KEY, {user_arn("keyadmin"): "yes"},
        {user_arn("keyadmin"): "kms:PutKeyPolicy"}),
    Case("iam:PutUserPolicy on itself", (*FENCE, BUCKET, _u("self", allow("iam:PutUserPolicy", user_arn("self")))),
         bucket_arn("weights"), {user_arn("self"): "yes"}, {user_arn("self"): "rewrites its own permissions"}),
    Case("iam:AttachRolePolicy on the role it is", (*FENCE, BUCKET, role("dev", trust=trusting(root()), inline={
        "p": doc(allow("iam:AttachRolePolicy", role_arn("dev")))})), bucket_arn("weights"), {role_arn("dev"): "yes"}),
    Case("iam:CreatePolicyVersion of a policy attached to itself", (*FENCE, BUCKET,
         managed("mine", doc(allow("iam:CreatePolicyVersion", policy_arn("mine")))),
         user("pv", attached=[policy_arn("mine")])), bucket_arn("weights"), {user_arn("pv"): "yes"}),
    Case("iam:PutGroupPolicy on its own group", (*FENCE, BUCKET, group("eng", inline={
        "p": doc(allow("iam:PutGroupPolicy", f"arn:aws:iam::{ACCT}:group/eng"))}),
        user("member", groups=[f"arn:aws:iam::{ACCT}:group/eng"])), bucket_arn("weights"), {user_arn("member"): "yes"}),
    Case("iam:AddUserToGroup into a reader group", (*FENCE, BUCKET,
         group("readers", inline={"p": doc(allow("s3:GetObject", W))}),
         _u("joiner", allow("iam:AddUserToGroup", f"arn:aws:iam::{ACCT}:group/readers"))),
         bucket_arn("weights"), {user_arn("joiner"): "yes"}, {user_arn("joiner"): "AddUserToGroup"}),
    Case("a boundary stops a self-rewrite unless it can be lifted", (*FENCE, BUCKET,
         managed("b", doc(allow("iam:*"))),
         _u("bounded", allow("iam:PutUserPolicy", user_arn("bounded")), boundary=policy_arn("b")),
         _u("lifter", allow(["iam:PutUserPolicy", "iam:DeleteUserPermissionsBoundary"], user_arn("lifter")),
            boundary=policy_arn("b"))),
         bucket_arn("weights"), {user_arn("bounded"): "no", user_arn("lifter"): "yes"}),
    Case("iam:PutRolePolicy on a role it can assume (not on itself)", (*FENCE, BUCKET,
         role("target", trust=trusting(user_arn("w"))),
         _u("w", allow("iam:PutRolePolicy", role_arn("target")), allow("sts:AssumeRole", role_arn("target"))),
         _u("stuck", allow("iam:PutRolePolicy", role_arn("target")))),
         bucket_arn("weights"), {user_arn("w"): "yes", user_arn("stuck"): "no"},
         {user_arn("w"): "changes the permissions"}),
    Case("iam:UpdateAssumeRolePolicy of a reader role", (*FENCE, BUCKET,
         role("reader", trust=trusting(services=["ec2.amazonaws.com"]), inline={"p": doc(allow("s3:GetObject", W))}),
         _u("trustfix", allow("iam:UpdateAssumeRolePolicy", role_arn("reader")))),
         bucket_arn("weights"), {user_arn("trustfix"): "yes"}, {user_arn("trustfix"): "UpdateAssumeRolePolicy"}),
    Case("iam:PassRole of an EC2 reader role plus ec2:RunInstances; PassRole alone is not enough", (*FENCE, BUCKET,
         role("serving", trust=trusting(services=["ec2.amazonaws.com"]), inline={"p": doc(allow("s3:GetObject", W))}),
         _u("launcher", allow(["iam:PassRole", "ec2:RunInstances"])), _u("passer", allow("iam:PassRole"))),
         bucket_arn("weights"), {user_arn("launcher"): "yes", user_arn("passer"): "no"},
         {user_arn("launcher"): "ec2:RunInstances"}),
    Case("iam:PassRole with iam:PassedToService limited to another service", (*FENCE, BUCKET,
         role("serving", trust=trusting(services=["ec2.amazonaws.com"]), inline={"p": doc(allow("s3:GetObject", W))}),
         _u("glue", allow("iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}}),
            allow("ec2:RunInstances"))),
         bucket_arn("weights"), {user_arn("glue"): "no"}),
    Case("iam:PassRole of a Lambda reader role plus lambda:CreateFunction", (*FENCE, BUCKET,
         role("fn", trust=trusting(services=["lambda.amazonaws.com"]), inline={"p": doc(allow("s3:GetObject", W))}),
         _u("dev", allow(["iam:PassRole", "lambda:CreateFunction"]))),
         bucket_arn("weights"), {user_arn("dev"): "yes"}, {user_arn("dev"): "lambda:CreateFunction"}),
    Case("iam:PassRole of an ECS task role plus RegisterTaskDefinition and RunTask", (*FENCE, BUCKET,
         role("task", trust=trusting(services=["ecs-tasks.amazonaws.com"]),
              inline={"p": doc(allow("s3:GetObject", W))}),
         _u("ecs", allow(["iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:RunTask"]))),
         bucket_arn("weights"), {user_arn("ecs"): "yes"}, {user_arn("ecs"): "ecs:RunTask"}),
    Case("sts:GetFederationToken sidesteps a Deny naming the user", (*FENCE, bucket("weights", policy=doc(
        deny("s3:*", W, Principal=aws(user_arn("fed"))))),
        _u("fed", allow("s3:GetObject*", W), allow("sts:GetFederationToken"))),
        bucket_arn("weights"), {user_arn("fed"): "yes"}, {user_arn("fed"): "GetFederationToken"}),
    Case("iam:CreateUser with a key and a policy makes a new reader", (*FENCE, BUCKET,
         _u("maker", allow(["iam:CreateUser", "iam:CreateAccessKey", "iam:PutUserPolicy"],
                           f"arn:aws:iam::{ACCT}:user/svc-*"))),
         bucket_arn("weights"), {user_arn("maker"): "yes"}, {user_arn("maker"): "iam:CreateUser"}),
    Case("iam:CreateAccessKey of a reader user", (*FENCE, BUCKET, _u("reader", allow("s3:GetObject", W)),
         _u("keys", allow("iam:CreateAccessKey", user_arn("reader")))),
         bucket_arn("weights"), {user_arn("keys"): "yes"}, {user_arn("keys"): "obtains credentials"}),
]

CLASS3 = [
    Case("a CanonicalUser in the bucket policy", (*FENCE, bucket("weights", policy=doc(
        allow("s3:GetObject", W, Principal={"CanonicalUser": CANONICAL})))),
        bucket_arn("weights"), {CANONICAL: "conditional"}),
    Case("a reader role trusted by IAM Roles Anywhere", (*FENCE, BUCKET, role("anywhere", trust=trusting(
        services=["rolesanywhere.amazonaws.com"]), inline={"p": doc(allow("s3:GetObject", W))})),
        bucket_arn("weights"), {"rolesanywhere.amazonaws.com": "conditional", role_arn("anywhere"): "yes"}),
    Case("a reader role trusted by an unpinned, uninventoried service", (*FENCE, BUCKET, role("sm", trust=trusting(
        services=["sagemaker.amazonaws.com"]), inline={"p": doc(allow("s3:GetObject", W))})),
        bucket_arn("weights"), {"sagemaker.amazonaws.com": "conditional"}),
    Case("the same service pinned to the account by aws:SourceAccount is followed, not invisible", (*FENCE, BUCKET,
         role("sm", trust=trusting(services=["sagemaker.amazonaws.com"],
                                   condition={"StringEquals": {"aws:SourceAccount": ACCT}}),
              inline={"p": doc(allow("s3:GetObject", W))})),
         bucket_arn("weights"), {"sagemaker.amazonaws.com": "no"}),
    Case("a key policy naming an account that was not scanned", (*FENCE, kms_key(K, policy=doc(
        allow("kms:Decrypt", "*", Principal=aws(root(STRANGER)))))), KEY, {root(STRANGER): "yes"}),
]

ISSUE13 = [
    Case("bucket Deny naming one session of a reader role", (*FENCE, bucket("weights", policy=doc(deny(
        "s3:*", W, Principal=aws(f"arn:aws:sts::{ACCT}:assumed-role/reader/alice")))),
        role("reader", trust=trusting(root()), inline={"p": doc(allow("s3:GetObject*", W))})),
        bucket_arn("weights"), {role_arn("reader"): "conditional"}),
    Case("key Deny naming one session of a reader role", (*FENCE, kms_key(K, policy=default_key_policy(ACCT, deny(
        "kms:*", "*", Principal=aws(f"arn:aws:sts::{ACCT}:assumed-role/reader/alice")))),
        role("reader", trust=trusting(root()), inline={"p": doc(allow("kms:*", KEY))})),
        KEY, {role_arn("reader"): "conditional"}),
    Case("trust-policy Deny naming one session of the caller role", (*FENCE, BUCKET,
         role("reader", trust=doc(allow("sts:AssumeRole", None, Principal=aws(role_arn("hop"))),
                                  deny("sts:AssumeRole", None,
                                       Principal=aws(f"arn:aws:sts::{ACCT}:assumed-role/hop/x"))),
              inline={"p": doc(allow("s3:GetObject*", W))}),
         role("hop", trust=trusting(root()))),
         bucket_arn("weights"), {role_arn("hop"): "conditional"}),
    Case("bucket NotPrincipal Deny listing a user without its account", (*FENCE, bucket("weights", policy=doc(
        {"Effect": "Deny", "NotPrincipal": aws(user_arn("bob")), "Action": "s3:*", "Resource": W})),
        _u("bob", allow("s3:GetObject*", W))), bucket_arn("weights"), {user_arn("bob"): "conditional"}),
    Case("key NotPrincipal Deny listing a role without its account", (*FENCE, kms_key(K, policy=default_key_policy(
        ACCT, {"Effect": "Deny", "NotPrincipal": aws(role_arn("serving")), "Action": "kms:*", "Resource": "*"})),
        role("serving", trust=trusting(root()), inline={"p": doc(allow("kms:Decrypt", KEY))})),
        KEY, {role_arn("serving"): "conditional"}),
    Case("trust NotPrincipal Deny listing the assuming user without its account", (*FENCE, BUCKET,
         role("reader", trust=doc(allow("sts:AssumeRole", None, Principal=aws(user_arn("carol"))),
                                  {"Effect": "Deny", "NotPrincipal": aws(user_arn("carol")),
                                   "Action": "sts:AssumeRole"}),
              inline={"p": doc(allow("s3:GetObject*", W))}), _u("carol")),
         bucket_arn("weights"), {user_arn("carol"): "conditional"}),
]


def _analyse(case: Case) -> tuple[dict[str, tuple[bool, str]], tuple[str, ...]]:
    s = snap(*case.resources, kinds=case.kinds)
    res = next(r for r in s.resources if r.id == case.target)
    target = bucket_read(res) if res.kind == "aws.s3.bucket" else key_decrypt(res)
    assert not isinstance(target, Unevaluable), target
    result = AccessAnalyzer(s).analyse(target)
    return {p.principal: (p.conditional, " | ".join(p.steps)) for p in result.paths}, result.gaps


ALL = [*CLASS1, *CLASS2, *CLASS3, *ISSUE13]


@pytest.mark.parametrize("case", ALL, ids=[c.name for c in ALL])
def test_attack_shape(case: Case) -> None:
    paths, gaps = _analyse(case)
    got = {p: ("no" if p not in paths else "conditional" if paths[p][0] else "yes") for p in case.expect}
    assert got == dict(case.expect), {p: s for p, (_, s) in paths.items()}
    for p, fragment in case.route.items():
        assert fragment in paths[p][1], paths[p][1]
    if case.gap:
        assert any(case.gap in g for g in gaps), gaps


def test_every_class_has_at_least_three_shapes() -> None:
    for cases in (CLASS1, CLASS2, CLASS3, ISSUE13):
        assert len(cases) >= 3


def test_delegation_to_an_incompletely_listed_account_is_a_gap_not_a_reader() -> None:
    # The key policy delegates to ACCT, whose IAM listing failed: every principal of ACCT is
    # unknown, so even a roster naming the root user cannot make it pass (issue 10, class 3).
    from aslcheck.checks.builtin import default_registry
    from aslcheck.checks.interface import CheckContext, Status
    from aslcheck.inventories.snapshot import CollectionError

    err = CollectionError(source="aws", operation="iam:GetAccountAuthorizationDetails", code="AccessDenied",
                          message="denied", kind="aws.iam.role", account=ACCT)
    s = snap(kms_key(K, policy=default_key_policy(), weights=True), errors=[err],
             kinds=["aws.kms.key", "aws.organizations.policy"])
    target = key_decrypt(next(r for r in s.resources if r.kind == "aws.kms.key"))
    assert not isinstance(target, Unevaluable)
    result = AccessAnalyzer(s).analyse(target)
    assert any("not listed completely" in g for g in result.gaps), result.gaps
    spec = default_registry().get("aws.iam.weights_effective_access_within_roster")
    findings = list(spec.evaluate(CheckContext(snapshot=s, config=config(roster=(root(),)), resources=())))
    assert [f.status for f in findings] == [Status.ERROR], [f.reason for f in findings]
