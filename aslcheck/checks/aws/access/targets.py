"""What the analysis asks about: reading a weight bucket's objects, using a weight key's material.

A target needs the resource policy (and for keys the grants); when one of those was not
collected it cannot be evaluated and :class:`Unevaluable` says why (the checks turn that into
ERROR). Data gaps that could only *add* readers travel with the target. Each read action of
:mod:`.actions` becomes one request; the control-plane template carries the resource policy
for the questions "can P rewrite it?".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from aslcheck.checks.aws.access.actions import KMS_READS, S3_READS
from aslcheck.checks.aws.access.model import Grant, Principal, PrincipalKind, ReadTarget, Request, Service
from aslcheck.checks.aws.access.policy import Policy, parse_policy

READ_OBJECT = "s3:GetObject"
"""The main weight-read action on buckets."""
DECRYPT = "kms:Decrypt"
"""The main weight-read action on keys."""
_MISSING: Any = object()


@dataclass(frozen=True)
class Unevaluable:
    """Why a target cannot be evaluated."""

    resource_id: str
    """The bucket or key."""
    reasons: tuple[str, ...]
    """What is missing."""


def bucket_read(res: Any) -> ReadTarget | Unevaluable:
    """Every read of every object of a bucket (``arn:aws:s3:::NAME/*``)."""
    missing: list[str] = []
    policy = res.attributes.get("policy", _MISSING)
    if policy is _MISSING:
        missing.append("bucket policy not collected")
    if not res.account:
        missing.append("bucket account unknown")
    if missing:
        return Unevaluable(res.id, tuple(missing))
    name = res.attributes.get("name")
    if not isinstance(name, str):
        name = res.id.rsplit(":", 1)[-1]
    gaps: list[str] = []
    ownership = res.attributes.get("ownership", _MISSING)
    if ownership is _MISSING:
        gaps.append(f"object ownership of {res.id} not collected: object ACLs may grant reads")
    elif ownership != "BucketOwnerEnforced":
        gaps.append(f"object ownership of {res.id} is {ownership!r}, so object ACLs (not "
                    "collected) may grant reads; set BucketOwnerEnforced")
    prefix = res.id.split(":::", 1)[0] if ":::" in res.id else "arn:aws:s3"
    parsed = parse_policy(policy) if policy is not None else None
    base = Request(
        action=READ_OBJECT, resource=f"{prefix}:::{name}/", is_prefix=True, service=Service.S3,
        resource_id=res.id, resource_account=res.account, policy=parsed,
        policy_label=f"bucket policy of {res.id}", resource_tags=res.tags, gaps=tuple(gaps))
    control = replace(base, action="s3:PutBucketPolicy", resource=f"{prefix}:::{name}", is_prefix=False,
                      gaps=())
    return ReadTarget(
        resource_id=res.id, display=base.display_resource,
        reads=tuple(replace(base, action=a) for a in S3_READS), control=control, gaps=tuple(gaps),
        acl_enabled=None if ownership is _MISSING else ownership != "BucketOwnerEnforced")


def _grant(raw: Any) -> Grant | None:
    if not isinstance(raw, Mapping):
        return None
    grantee = raw.get("grantee_principal")
    ops = raw.get("operations")
    if not isinstance(grantee, str) or not isinstance(ops, list):
        return None
    return Grant(str(raw.get("grant_id", "?")), grantee, tuple(str(o) for o in ops),
                 bool(raw.get("constraints")))


def key_decrypt(res: Any) -> ReadTarget | Unevaluable:
    """Every use of a key that yields its material (``kms:Decrypt`` and the rest of :data:`KMS_READS`)."""
    missing: list[str] = []
    policy = res.attributes.get("policy", _MISSING)
    grants_raw = res.attributes.get("grants", _MISSING)
    if policy is _MISSING:
        missing.append("key policy not collected")
    if grants_raw is _MISSING:
        missing.append("key grants not collected")
    if not res.account:
        missing.append("key account unknown")
    grants: list[Grant] = []
    if isinstance(grants_raw, list):
        for raw in grants_raw:
            g = _grant(raw)
            if g is None:
                missing.append(f"unreadable grant entry {raw!r}")
            else:
                grants.append(g)
    elif grants_raw is not _MISSING:
        missing.append("key grants are not a list")
    if missing:
        return Unevaluable(res.id, tuple(missing))
    base = Request(
        action=DECRYPT, resource=res.id, is_prefix=False, service=Service.KMS, resource_id=res.id,
        resource_account=res.account, policy=parse_policy(policy) if policy is not None else None,
        policy_label=f"key policy of {res.id}", resource_tags=res.tags, grants=tuple(grants))
    multi = res.attributes.get("multi_region", _MISSING)
    return ReadTarget(
        resource_id=res.id, display=res.id, reads=tuple(replace(base, action=a) for a in KMS_READS),
        control=replace(base, action="kms:PutKeyPolicy"),
        multi_region=None if multi is _MISSING else bool(multi))


def single(request: Request) -> ReadTarget:
    """A target of one request (tests and ad-hoc questions)."""
    return ReadTarget(resource_id=request.resource_id, display=request.display_resource,
                      reads=(request,), control=request, gaps=request.gaps)


def session_arn(p: Principal) -> str | None:
    """An assumed-role session ARN of role ``p`` (the session name is the caller's choice)."""
    if p.kind is not PrincipalKind.ROLE or p.account is None or p.name is None:
        return None
    part = p.id.split(":", 2)[1] if p.id.count(":") >= 2 else "aws"
    return f"arn:{part}:sts::{p.account}:assumed-role/{p.name}/escalation"


def granting_policy(p: Principal, actions: str, resources: list[str]) -> Policy:
    """The resource policy a principal that can rewrite it would write: allow itself everything.

    A role names one of its sessions too, which no permissions boundary limits ("Permissions
    boundaries for IAM entities": grants to a session ARN are not limited by the boundary).
    """
    names = [p.id] + ([s] if (s := session_arn(p)) else [])
    return parse_policy({"Version": "2012-10-17", "Statement": [{
        "Sid": "EscalationGrant", "Effect": "Allow", "Principal": {"AWS": names},
        "Action": actions, "Resource": resources}]})


def with_statement(policy: Policy | None, extra: Policy) -> Policy:
    """``policy`` plus the statements of ``extra`` (an ACL grant: existing Denies still apply)."""
    return Policy((*(policy.statements if policy is not None else ()), *extra.statements),
                  policy.problems if policy is not None else ())
