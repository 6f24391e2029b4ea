"""The corpus of the differential test against @cloud-copilot/iam-simulate (ours, not theirs).

Documented cases (AWS documentation examples, by page title) plus bounded random and
adversarial ones from a fixed seed; :class:`iamsim_case.SimCase` renders each for both sides.
"""

from __future__ import annotations

import random
from typing import Any

from access_builders import ACCT, MGMT, OTHER, REGION, role_arn, root, user_arn
from iamsim_case import BUCKET, FULL, KEY_ID, ORG, Doc, SimCase, _d, _st

# -- documented cases ------------------------------------------------------------------------

def documented() -> list[SimCase]:
    """Cases that encode AWS documentation examples (page titles in ``source``)."""
    obj = f"arn:aws:s3:::{BUCKET}/*"
    key = f"arn:aws:kms:{REGION}:{ACCT}:key/{KEY_ID}"
    read = _d(_st("Allow", "s3:GetObject", obj))
    out = [
        SimCase("doc-identity-allow", "Policy evaluation for requests within a single account", "user", ACCT, "s3",
                "s3:GetObject", ACCT, (read,)),
        SimCase("doc-bucket-allows-user", "Policy evaluation for requests within a single account", "user", ACCT,
                "s3", "s3:GetObject", ACCT, (), None,
                _d(_st("Allow", "s3:GetObject", obj, Principal={"AWS": user_arn("p")}))),
        SimCase("doc-deny-wins", "Policy evaluation logic", "user", ACCT, "s3", "s3:GetObject", ACCT, (read,), None,
                _d(_st("Deny", "s3:*", obj, Principal="*"))),
        SimCase("doc-tls-deny", "Examples of Amazon S3 bucket policies (HTTPS)", "user", ACCT, "s3",
                "s3:GetObject", ACCT, (read,), None,
                _d(_st("Deny", "s3:*", [f"arn:aws:s3:::{BUCKET}", obj], Principal="*",
                       Condition={"Bool": {"aws:SecureTransport": "false"}}))),
        SimCase("doc-vpce-deny", "Controlling access from VPC endpoints with bucket policies", "user", ACCT, "s3",
                "s3:GetObject", ACCT, (read,), None,
                _d(_st("Deny", "s3:*", obj, Principal="*",
                       Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}))),
        SimCase("doc-org-bucket", "aws:PrincipalOrgID (AWS global condition context keys)", "user", OTHER, "s3",
                "s3:GetObject", ACCT, (read,), None,
                _d(_st("Allow", "s3:GetObject", obj, Principal="*",
                       Condition={"StringEquals": {"aws:PrincipalOrgID": ORG}})),
                ((FULL,), (FULL,), (FULL,))),
        SimCase("doc-cross-account-both", "Cross-account policy evaluation logic", "user", OTHER, "s3",
                "s3:GetObject", ACCT, (read,), None, _d(_st("Allow", "s3:GetObject", obj, Principal={"AWS": OTHER}))),
        SimCase("doc-cross-account-no-identity", "Cross-account policy evaluation logic", "user", OTHER, "s3",
                "s3:GetObject", ACCT, (), None, _d(_st("Allow", "s3:GetObject", obj, Principal={"AWS": OTHER}))),
        SimCase("doc-boundary-limits", "Permissions boundaries for IAM entities", "user", ACCT, "s3", "s3:GetObject",
                ACCT, (_d(_st("Allow", "s3:*")),), _d(_st("Allow", "ec2:*"))),
        SimCase("doc-boundary-user-grant", "Permissions boundaries for IAM entities (resource-based policies)",
                "user", ACCT, "s3", "s3:GetObject", ACCT, (), _d(_st("Allow", "ec2:*")),
                _d(_st("Allow", "s3:GetObject", obj, Principal={"AWS": user_arn("p")}))),
        SimCase("doc-boundary-role-grant", "Permissions boundaries for IAM entities (resource-based policies)",
                "role", ACCT, "s3", "s3:GetObject", ACCT, (), _d(_st("Allow", "ec2:*")),
                _d(_st("Allow", "s3:GetObject", obj, Principal={"AWS": role_arn("p")}))),
        SimCase("doc-session-grant", "Permissions boundaries for IAM entities (role session)", "role", ACCT, "s3",
                "s3:GetObject", ACCT, (), _d(_st("Allow", "ec2:*")),
                _d(_st("Allow", "s3:GetObject", obj,
                       Principal={"AWS": f"arn:aws:sts::{ACCT}:assumed-role/p/session"}))),
        SimCase("doc-key-default", "Default key policy", "user", ACCT, "kms", "kms:Decrypt", ACCT,
                (_d(_st("Allow", "kms:Decrypt", key)),), None,
                _d(_st("Allow", "kms:*", "*", Principal={"AWS": root()}))),
        SimCase("doc-key-no-root", "Key policies in AWS KMS", "user", ACCT, "kms", "kms:Decrypt", ACCT,
                (_d(_st("Allow", "kms:Decrypt", key)),), None,
                _d(_st("Allow", "kms:Decrypt", "*", Principal={"AWS": role_arn("serving")}))),
        SimCase("doc-key-direct", "Key policies in AWS KMS", "role", ACCT, "kms", "kms:Decrypt", ACCT, (), None,
                _d(_st("Allow", "kms:Decrypt", "*", Principal={"AWS": role_arn("p")}))),
        SimCase("doc-key-viaservice", "kms:ViaService", "role", ACCT, "kms", "kms:Decrypt", ACCT, (), None,
                _d(_st("Allow", "kms:Decrypt", "*", Principal={"AWS": role_arn("p")},
                       Condition={"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}))),
        SimCase("doc-key-cross-account", "Allowing users in other accounts to use a KMS key", "user", OTHER, "kms",
                "kms:Decrypt", ACCT, (_d(_st("Allow", "kms:Decrypt", key)),), None,
                _d(_st("Allow", "kms:*", "*", Principal={"AWS": root()}),
                   _st("Allow", "kms:Decrypt", "*", Principal={"AWS": root(OTHER)}))),
        SimCase("doc-scp-deny", "Service control policies (SCPs)", "user", ACCT, "s3", "s3:GetObject", ACCT, (read,),
                None, None, ((FULL, _d(_st("Deny", "s3:GetObject"))), (FULL,), (FULL,))),
        SimCase("doc-scp-no-allow", "SCP evaluation", "user", ACCT, "s3", "s3:GetObject", ACCT, (read,), None, None,
                ((FULL,), (_d(_st("Allow", "ec2:*")),), (FULL,))),
        SimCase("doc-rcp-org-only", "Resource control policies (RCPs)", "user", OTHER, "s3", "s3:GetObject", ACCT,
                (read,), None, _d(_st("Allow", "s3:GetObject", obj, Principal={"AWS": OTHER})),
                ((FULL,), (FULL,), (FULL,)),
                ((_d(_st("Deny", "s3:*", "*", Principal="*",
                         Condition={"StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORG},
                                    "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}})),), (), ())),
        SimCase("doc-notprincipal-with-account", "IAM JSON policy elements: NotPrincipal", "user", ACCT, "s3",
                "s3:GetObject", ACCT, (read,), None,
                _d({"Effect": "Deny", "NotPrincipal": {"AWS": [user_arn("p"), root()]}, "Action": "s3:*",
                    "Resource": obj})),
        SimCase("doc-notprincipal-no-account", "IAM JSON policy elements: NotPrincipal", "user", ACCT, "s3",
                "s3:GetObject", ACCT, (read,), None,
                _d({"Effect": "Deny", "NotPrincipal": {"AWS": [user_arn("p")]}, "Action": "s3:*", "Resource": obj})),
        SimCase("doc-notaction", "IAM JSON policy elements: NotAction", "user", ACCT, "s3", "s3:GetObject", ACCT,
                (_d({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),)),
        SimCase("doc-notresource", "IAM JSON policy elements: NotResource", "user", ACCT, "s3", "s3:GetObject", ACCT,
                (_d({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::other/*"}),)),
        SimCase("doc-principal-tag", "aws:PrincipalTag", "user", ACCT, "s3", "s3:GetObject", ACCT,
                (_d(_st("Allow", "s3:GetObject", obj, Condition={"StringEquals": {"aws:PrincipalTag/team": "ml"}})),),
                tags={"team": "ml"}),
        SimCase("doc-username-variable", "IAM policy elements: Variables and tags", "user", ACCT, "s3",
                "s3:GetObject", ACCT, (_d(_st("Allow", "s3:GetObject", f"arn:aws:s3:::{BUCKET}/${{aws:username}}*")),)),
        SimCase("doc-mfa", "aws:MultiFactorAuthPresent", "user", ACCT, "s3", "s3:GetObject", ACCT,
                (_d(_st("Allow", "s3:GetObject", obj, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})),)),
        SimCase("doc-trust-root", "How to use trust policies with IAM roles", "user", ACCT, "sts", "sts:AssumeRole",
                ACCT, (_d(_st("Allow", "sts:AssumeRole", role_arn("target"))),), None,
                _d({"Effect": "Allow", "Principal": {"AWS": root()}, "Action": "sts:AssumeRole"})),
        SimCase("doc-trust-user", "Update a role trust policy", "user", ACCT, "sts", "sts:AssumeRole", ACCT, (), None,
                _d({"Effect": "Allow", "Principal": {"AWS": user_arn("p")}, "Action": "sts:AssumeRole"})),
        SimCase("doc-trust-cross", "Cross-account policy evaluation logic (roles)", "user", OTHER, "sts",
                "sts:AssumeRole", ACCT, (_d(_st("Allow", "sts:AssumeRole", "*")),), None,
                _d({"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "sts:AssumeRole"})),
        SimCase("doc-trust-external-id", "sts:ExternalId", "user", OTHER, "sts", "sts:AssumeRole", ACCT,
                (_d(_st("Allow", "sts:AssumeRole", "*")),), None,
                _d({"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": "abc"}}})),
    ]
    return out


# -- random and adversarial cases ------------------------------------------------------------

_ACTIONS = {
    "s3": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
    "kms": ["kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:CreateGrant"],
    "sts": ["sts:AssumeRole"],
}
_ACTION_PATTERNS = ["s3:GetObject", "s3:Get*", "s3:*", "*", "kms:Decrypt", "kms:*", "kms:GenerateDataKey*",
                    "sts:AssumeRole", "sts:*", "s3:GetObjectVersion", "ec2:*", "kms:ReEncrypt*", "s3:Put*",
                    "S3:getobject", "s3:GetObj?ct"]


def _resources(rnd: random.Random) -> list[str]:
    return rnd.sample([
        "*", f"arn:aws:s3:::{BUCKET}/*", f"arn:aws:s3:::{BUCKET}", "arn:aws:s3:::other/*", "arn:aws:s3:::weig*",
        f"arn:aws:s3:::{BUCKET}/model.bin", f"arn:aws:s3:::{BUCKET}/m*", "arn:aws:s3:::*/*",
        f"arn:aws:kms:{REGION}:{ACCT}:key/{KEY_ID}", "arn:aws:kms:*:*:key/*", f"arn:aws:kms:{REGION}:{OTHER}:key/*",
        role_arn("target"), "arn:aws:iam::*:role/*", role_arn("target", OTHER), "arn:aws:iam::*:role/t?rget",
        f"arn:aws:s3:::{BUCKET}/${{aws:username}}*",
    ], k=rnd.randrange(1, 3))


def _principal(rnd: random.Random) -> Any:
    return rnd.choice([
        "*", {"AWS": "*"}, {"AWS": root()}, {"AWS": ACCT}, {"AWS": root(OTHER)}, {"AWS": OTHER},
        {"AWS": user_arn("p")}, {"AWS": user_arn("p", OTHER)}, {"AWS": role_arn("p")}, {"AWS": role_arn("p", OTHER)},
        {"AWS": f"arn:aws:sts::{ACCT}:assumed-role/p/session"}, {"AWS": f"arn:aws:sts::{OTHER}:assumed-role/p/session"},
        {"AWS": f"arn:aws:sts::{ACCT}:assumed-role/p/other-session"}, {"Service": "ec2.amazonaws.com"},
        {"AWS": [user_arn("p"), root()]}, {"AWS": root(MGMT)},
    ])


def _condition(rnd: random.Random) -> Doc:
    return rnd.choice([
        {"Bool": {"aws:SecureTransport": "false"}}, {"Bool": {"aws:SecureTransport": "true"}},
        {"StringEquals": {"aws:PrincipalAccount": rnd.choice([ACCT, OTHER])}},
        {"StringNotEquals": {"aws:PrincipalAccount": ACCT}},
        {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}},
        {"ArnEquals": {"aws:PrincipalArn": rnd.choice([user_arn("p"), role_arn("p"), user_arn("p", OTHER)])}},
        {"ArnNotLike": {"aws:PrincipalArn": [role_arn("p"), user_arn("p")]}},
        {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}},
        {"StringEquals": {"aws:PrincipalTag/team": "ml"}}, {"StringNotEquals": {"aws:PrincipalTag/team": "ml"}},
        {"Null": {"aws:PrincipalTag/team": "true"}}, {"StringEqualsIfExists": {"aws:PrincipalTag/team": "ml"}},
        {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}, {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
        {"Bool": {"aws:MultiFactorAuthPresent": "true"}}, {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}},
        {"StringEquals": {"aws:PrincipalOrgID": rnd.choice([ORG, "o-other"])}},
        {"StringNotEquals": {"aws:PrincipalOrgID": ORG}},
        {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"{ORG}/r-1/*"]}},
        {"StringEquals": {"aws:username": "p"}}, {"StringEquals": {"aws:ResourceAccount": ACCT}},
        {"StringEquals": {"aws:PrincipalType": "AssumedRole"}},
        {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
        {"StringEquals": {"sts:ExternalId": "abc"}}, {"StringLike": {"aws:userid": "AIDA*"}},
    ])


def _statement(rnd: random.Random, resource_policy: bool, trust: bool) -> Doc:
    st: Doc = {"Effect": rnd.choice(["Allow", "Allow", "Deny"])}
    acts = rnd.sample(_ACTION_PATTERNS, k=rnd.randrange(1, 3))
    if rnd.random() < 0.1:
        st["NotAction"] = acts
    else:
        st["Action"] = acts
    if not trust:
        res = _resources(rnd)
        if rnd.random() < 0.1:
            st["NotResource"] = res
        else:
            st["Resource"] = res
    if resource_policy:
        if rnd.random() < 0.1:
            st["NotPrincipal"] = _principal(rnd)
        else:
            st["Principal"] = _principal(rnd)
    if rnd.random() < 0.35:
        cond: Doc = {}
        for _ in range(rnd.randrange(1, 3)):
            for op, block in _condition(rnd).items():
                cond.setdefault(op, {}).update(block)
        st["Condition"] = cond
    return st


def _doc(rnd: random.Random, resource_policy: bool = False, trust: bool = False) -> Doc:
    return _d(*(_statement(rnd, resource_policy, trust) for _ in range(rnd.randrange(1, 4))))


def _rcp(rnd: random.Random) -> Doc:
    """An RCP as AWS accepts them: Deny, Principal ``*``, an Action that is not ``*``."""
    st: Doc = {"Effect": "Deny", "Principal": "*",
               "Action": rnd.sample(["s3:*", "s3:GetObject", "s3:Get*", "kms:*", "kms:Decrypt", "sts:*",
                                     "sts:AssumeRole"], k=rnd.randrange(1, 3)),
               "Resource": _resources(rnd)}
    if rnd.random() < 0.8:
        st["Condition"] = _condition(rnd)
    return _d(st)


_TWISTS = ("deny-session", "deny-notprincipal", "deny-unknown-key", "scp-deny", "boundary", "cross-no-identity",
           "variable", "qmark", "notresource", "deny-account", "rcp-deny", "allow-condition", "none")


def _targeted(rnd: random.Random, i: int) -> SimCase:
    """An allowing configuration plus one adversarial twist."""
    service = rnd.choice(["s3", "kms", "sts"])
    kind = rnd.choice(["user", "role"])
    pacct = rnd.choice([ACCT, OTHER])
    racct = ACCT
    action = rnd.choice(_ACTIONS[service])
    res = {"s3": f"arn:aws:s3:::{BUCKET}/*", "kms": f"arn:aws:kms:{REGION}:{ACCT}:key/{KEY_ID}",
           "sts": role_arn("target")}[service]
    me = user_arn("p", pacct) if kind == "user" else role_arn("p", pacct)
    identity: list[Doc] = [_d(_st("Allow", rnd.choice([action, action.split(":")[0] + ":*", "*"]), res))]
    grant: Doc = {"Effect": "Allow", "Principal": {"AWS": rnd.choice([me, root(pacct), pacct])},
                  "Action": action}
    if service != "sts":
        grant["Resource"] = "*" if service == "kms" else res
    statements = [grant]
    if service == "kms":
        statements.append({"Effect": "Allow", "Principal": {"AWS": root()}, "Action": "kms:*", "Resource": "*"})
    boundary: Doc | None = None
    scps: tuple[tuple[Doc, ...], ...] = ()
    rcps: tuple[tuple[Doc, ...], ...] = ()
    twist = _TWISTS[i % len(_TWISTS)]
    deny: Doc = {"Effect": "Deny", "Action": rnd.choice([action, "*", action.split(":")[0] + ":*"])}
    if service != "sts":
        deny["Resource"] = "*"
    if twist == "deny-session":
        deny["Principal"] = {"AWS": f"arn:aws:sts::{pacct}:assumed-role/p/{rnd.choice(['session', 'audit'])}"}
        statements.append(deny)
    elif twist == "deny-notprincipal":
        listed = [me] + ([root(pacct)] if rnd.random() < 0.5 else [])
        statements.append({**deny, "NotPrincipal": {"AWS": listed}})
    elif twist == "deny-unknown-key":
        statements.append({**deny, "Principal": "*", "Condition": rnd.choice([
            {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}},
            {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"Bool": {"aws:SecureTransport": "false"}}])})
    elif twist == "scp-deny":
        scps = ((FULL, _d({**{k: v for k, v in deny.items() if k != "Principal"},
                           "Condition": _condition(rnd)} if rnd.random() < 0.5 else
                          {k: v for k, v in deny.items() if k != "Principal"})), (FULL,), (FULL,))
    elif twist == "boundary":
        boundary = _d(_st("Allow", rnd.choice([action, "ec2:*", "s3:Get*", "kms:Decrypt", "sts:AssumeRole"]), "*"))
    elif twist == "cross-no-identity":
        identity = []
    elif twist == "variable" and service == "s3":
        identity = [_d(_st("Allow", action, f"arn:aws:s3:::{BUCKET}/${{aws:username}}*"))]
    elif twist == "qmark" and service == "s3":
        identity = [_d(_st("Allow", action, "arn:aws:s3:::weig?ts/model.*"))]
    elif twist == "notresource":
        identity = [_d({"Effect": "Allow", "Action": action, "NotResource": rnd.choice(["arn:aws:s3:::other/*", res])})]
    elif twist == "deny-account":
        statements.append({**deny, "Principal": {"AWS": rnd.choice([root(pacct), pacct, root(OTHER)])}})
    elif twist == "rcp-deny":
        scps = ((FULL,), (FULL,), (FULL,))
        rcps = ((_rcp(rnd),), (), ())
    elif twist == "allow-condition":
        grant["Condition"] = _condition(rnd)
    if rnd.random() < 0.3 and not scps:
        scps = ((FULL,), (FULL,), (FULL,))
    return SimCase(f"adv-{i:04d}-{twist}", "adversarial", kind, pacct, service, action, racct, tuple(identity),
                   boundary, _d(*statements), scps, rcps, {"team": "ml"} if rnd.random() < 0.5 else {})


def generated(count: int, seed: int = 20261202) -> list[SimCase]:
    """``count`` random cases and ``count`` adversarial ones (an allowing setup plus one twist)."""
    rnd = random.Random(seed)
    out: list[SimCase] = []
    for i in range(count):
        service = rnd.choice(["s3", "s3", "kms", "kms", "sts"])
        kind = rnd.choice(["user", "role"])
        pacct = rnd.choice([ACCT, ACCT, OTHER])
        racct = rnd.choice([ACCT, ACCT, OTHER])
        identity = tuple(_doc(rnd) for _ in range(rnd.randrange(0, 3)))
        boundary = _doc(rnd) if rnd.random() < 0.2 else None
        if service == "sts":
            rpol: Doc | None = _doc(rnd, resource_policy=True, trust=True)
        elif service == "kms":
            rpol = _doc(rnd, resource_policy=True)
        else:
            rpol = _doc(rnd, resource_policy=True) if rnd.random() < 0.8 else None
        scps: tuple[tuple[Doc, ...], ...] = ()
        rcps: tuple[tuple[Doc, ...], ...] = ()
        if rnd.random() < 0.3:
            scps = tuple(((FULL,) + ((_doc(rnd),) if rnd.random() < 0.4 else ())) if rnd.random() < 0.95
                         else (_doc(rnd),) for _ in range(3))
            if rnd.random() < 0.5:
                rcps = tuple(((_rcp(rnd),) if rnd.random() < 0.4 else ()) for _ in range(3))
        tags = {"team": rnd.choice(["ml", "web"])} if rnd.random() < 0.5 else {}
        action = rnd.choice(_ACTIONS[service])
        out.append(SimCase(f"gen-{i:04d}", "random", kind, pacct, service, action, racct, identity, boundary, rpol,
                           scps, rcps, tags))
    out.extend(_targeted(rnd, i) for i in range(count))
    return out


def corpus(random_cases: int = 400) -> list[SimCase]:
    """The whole corpus: documented cases first, then the generated ones."""
    return documented() + generated(random_cases)
