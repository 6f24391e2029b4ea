"""Requests the analysis asks about: reading a bucket's objects, decrypting with a key.

A request needs the resource policy (and for keys the grants); when one of those was not
collected the request cannot be evaluated and :class:`Unevaluable` says why (the checks turn
that into ERROR). Data gaps that could only *add* readers travel with the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aslcheck.checks.aws.access.model import Grant, Request, Service
from aslcheck.checks.aws.access.policy import parse_policy
from aslcheck.inventories.snapshot import Resource

READ_OBJECT = "s3:GetObject"
"""The weight-read action on buckets."""
DECRYPT = "kms:Decrypt"
"""The weight-read action on keys."""
_MISSING: Any = object()


@dataclass(frozen=True)
class Unevaluable:
    """Why a request cannot be evaluated."""

    resource_id: str
    """The bucket or key."""
    reasons: tuple[str, ...]
    """What is missing."""


def bucket_read(res: Resource) -> Request | Unevaluable:
    """``s3:GetObject`` on every object of a bucket (``arn:aws:s3:::NAME/*``)."""
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
    return Request(
        action=READ_OBJECT, resource=f"{prefix}:::{name}/", is_prefix=True, service=Service.S3,
        resource_id=res.id, resource_account=res.account,
        policy=parse_policy(policy) if policy is not None else None,
        policy_label=f"bucket policy of {res.id}", resource_tags=res.tags, gaps=tuple(gaps))


def _grant(raw: Any) -> Grant | None:
    if not isinstance(raw, Mapping):
        return None
    grantee = raw.get("grantee_principal")
    ops = raw.get("operations")
    if not isinstance(grantee, str) or not isinstance(ops, list):
        return None
    return Grant(str(raw.get("grant_id", "?")), grantee, tuple(str(o) for o in ops),
                 bool(raw.get("constraints")))


def key_decrypt(res: Resource) -> Request | Unevaluable:
    """``kms:Decrypt`` with a key."""
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
    return Request(
        action=DECRYPT, resource=res.id, is_prefix=False, service=Service.KMS, resource_id=res.id,
        resource_account=res.account, policy=parse_policy(policy) if policy is not None else None,
        policy_label=f"key policy of {res.id}", resource_tags=res.tags, grants=tuple(grants))
