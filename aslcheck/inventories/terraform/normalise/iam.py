"""IAM roles, users, groups and managed policies from code.

NOTE: unlike other kinds, an IAM resource's ``id`` is its ARN when the code determines it
(name, path and the provider's pinned account), because the shared effective-access
evaluator identifies principals and managed policies by ARN everywhere: in bucket and key
policies, trust policies and ``attached_policies``. References (``aws_iam_role.x.arn``)
resolve to the same ARN (:func:`..resolve.iam_arn`). Without a pinned account both fall back
to the Terraform address, consistently, and ARN-based rosters then do not match (FAIL or
ERROR, never a silent PASS). The address is always in ``location.address``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aslcheck.inventories.snapshot import Resource
from aslcheck.inventories.terraform.declared import UNKNOWN, Block
from aslcheck.inventories.terraform.normalise.base import (
    Attrs,
    Context,
    int_arg,
    str_list,
    str_or_unknown,
)
from aslcheck.inventories.terraform.policy import normalised
from aslcheck.inventories.terraform.resolve import iam_arn, resource_attr

ROLE = "aws.iam.role"
USER = "aws.iam.user"
GROUP = "aws.iam.group"
POLICY = "aws.iam.policy"


def _ident(block: Block) -> str:
    return iam_arn(block) or block.address


def _names(block: Block) -> tuple[Any, Any]:
    """How satellites name the principal: by name (``.name``/``.id``) and by ARN."""
    return resource_attr(block, "name"), resource_attr(block, "arn")


def _inline(ctx: Context, attrs: Attrs, block: Block, rtype: str, arg: str,
            parts: list[Block]) -> None:
    """``inline_policies`` from ``inline_policy`` blocks and ``aws_iam_*_policy`` resources."""
    name, arn = _names(block)
    found, ambiguous = ctx.satellites((rtype,), arg, name, arn)
    parts.extend(found)
    inline = block.body.blocks("inline_policy")
    if ambiguous or inline is UNKNOWN:
        attrs.unknown("inline_policies", f"an {rtype} names an undetermined principal")
        return
    docs: dict[str, Any] = {}
    for i, blk in enumerate(inline):
        docs[str(blk.get("name", f"inline-{i}"))] = normalised(blk.get("policy", UNKNOWN))
    for sat in found:
        pname = sat.body.get("name", sat.address)
        docs[pname if isinstance(pname, str) else sat.address] = normalised(
            sat.body.get("policy", UNKNOWN))
    attrs.set("inline_policies", docs, "an inline policy is not determined")


def _attached(ctx: Context, attrs: Attrs, block: Block, rtype: str, arg: str, plural: str,
              parts: list[Block]) -> None:
    """``attached_policies`` from ``managed_policy_arns`` and attachment resources."""
    name, arn = _names(block)
    direct, amb1 = ctx.satellites((rtype,), arg, name, arn)
    shared, amb2 = ctx.satellites(("aws_iam_policy_attachment",), plural, name, arn,
                                  required=False)
    parts.extend(direct + shared)
    if amb1 or amb2:
        attrs.unknown("attached_policies", "a policy attachment names an undetermined principal")
        return
    arns: list[Any] = list(str_list(block.body.get("managed_policy_arns")) or [])
    if block.body.get("managed_policy_arns") is UNKNOWN:
        arns.append(UNKNOWN)
    arns += [a.body.get("policy_arn", UNKNOWN) for a in direct + shared]
    attrs.set("attached_policies", sorted(set(arns)) if all(isinstance(a, str) for a in arns)
              else UNKNOWN, "an attached policy ARN is not determined")


def _common(attrs: Attrs, block: Block) -> None:
    attrs.set("name", str_or_unknown(block.body.get("name", UNKNOWN)), "name not determined")
    attrs.set("path", str_or_unknown(block.body.get("path", "/")))
    arn = iam_arn(block)
    if arn is not None:
        attrs.set("arn", arn)


def _role(ctx: Context, block: Block) -> Resource:
    attrs = Attrs()
    parts: list[Block] = []
    _common(attrs, block)
    attrs.set("trust_policy", normalised(block.body.get("assume_role_policy", UNKNOWN)),
              "trust policy not determined")
    _inline(ctx, attrs, block, "aws_iam_role_policy", "role", parts)
    _attached(ctx, attrs, block, "aws_iam_role_policy_attachment", "role", "roles", parts)
    attrs.set("permissions_boundary", str_or_unknown(block.body.get("permissions_boundary")),
              "permissions boundary not determined")
    attrs.set("max_session_duration", int_arg(block.body, "max_session_duration", 3600),
              "max session duration not determined")
    name, arn = _names(block)
    profiles, ambiguous = ctx.satellites(("aws_iam_instance_profile",), "role", name, arn,
                                         required=False)
    attrs.set("instance_profiles", UNKNOWN if ambiguous else sorted(
        resource_attr(p, "arn") for p in profiles), "an instance profile names an undetermined role")
    return _resource(ctx, ROLE, block, attrs, parts)


def _user(ctx: Context, block: Block) -> Resource:
    attrs = Attrs()
    parts: list[Block] = []
    _common(attrs, block)
    _inline(ctx, attrs, block, "aws_iam_user_policy", "user", parts)
    _attached(ctx, attrs, block, "aws_iam_user_policy_attachment", "user", "users", parts)
    attrs.set("permissions_boundary", str_or_unknown(block.body.get("permissions_boundary")),
              "permissions boundary not determined")
    name, arn = _names(block)
    own, amb1 = ctx.satellites(("aws_iam_user_group_membership",), "user", name, arn)
    lists, amb2 = ctx.satellites(("aws_iam_group_membership",), "users", name, arn)
    parts.extend(own + lists)
    groups: list[Any] = [m.body.get("group", UNKNOWN) for m in lists]
    for m in own:
        listed = m.body.get("groups", UNKNOWN)
        groups.extend(listed if isinstance(listed, list) else [UNKNOWN])
    if amb1 or amb2 or not all(isinstance(g, str) for g in groups):
        attrs.unknown("groups", "a group membership is not determined")
    else:
        attrs.set("groups", sorted(_group_ident(ctx, g) for g in groups))
    keys, ambiguous = ctx.satellites(("aws_iam_access_key",), "user", name, arn)
    parts.extend(keys)
    now = ctx.declared.read_at
    attrs.set("access_keys", UNKNOWN if ambiguous else [
        {"id": k.address, "status": str_or_unknown(k.body.get("status", "Active")),
         "created": now, "last_used": None} for k in keys],
        "an access key names an undetermined user")
    profiles, ambiguous = ctx.satellites(("aws_iam_user_login_profile",), "user", name, arn)
    parts.extend(profiles)
    attrs.set("password_enabled", UNKNOWN if ambiguous else bool(profiles),
              "a login profile names an undetermined user")
    # NOTE: Terraform cannot attach an MFA device to a user; a user it creates has none.
    attrs.set("mfa_devices", [])
    attrs.set("created", now)
    return _resource(ctx, USER, block, attrs, parts)


def _group_ident(ctx: Context, name: str) -> str:
    """The ID of the group a membership names: the declared group's ID, else the name."""
    for g in ctx.declared.managed("aws_iam_group"):
        if name in (g.body.get("name"), iam_arn(g), g.address):
            return _ident(g)
    return name


def _group(ctx: Context, block: Block) -> Resource:
    attrs = Attrs()
    parts: list[Block] = []
    _common(attrs, block)
    _inline(ctx, attrs, block, "aws_iam_group_policy", "group", parts)
    _attached(ctx, attrs, block, "aws_iam_group_policy_attachment", "group", "groups", parts)
    return _resource(ctx, GROUP, block, attrs, parts)


def _policy(ctx: Context, block: Block) -> Resource:
    attrs = Attrs()
    _common(attrs, block)
    attrs.set("aws_managed", False)
    attrs.set("default_version", "v1")
    attrs.set("document", normalised(block.body.get("policy", UNKNOWN)),
              "policy document not determined")
    return _resource(ctx, POLICY, block, attrs, ())


def _resource(ctx: Context, kind: str, block: Block, attrs: Attrs,
              parts: Iterable[Block]) -> Resource:
    res = ctx.resource(kind, block, attrs, parts)
    return Resource(kind=res.kind, id=_ident(block), source=res.source,
                    attributes=res.attributes, tags=res.tags, account=res.account,
                    region="global")


def iam(ctx: Context) -> list[Resource]:
    """Roles, users, groups and customer-managed policies declared in the code."""
    out: list[Resource] = []
    for rtype, fn in (("aws_iam_role", _role), ("aws_iam_user", _user),
                      ("aws_iam_group", _group), ("aws_iam_policy", _policy)):
        out.extend(fn(ctx, b) for b in ctx.declared.managed(rtype) if b.expanded)
    return out

