"""``aws_kms_key`` with its aliases, key policy and grants -> ``aws.kms.key``.

A declared key is customer-managed by construction (``key_manager: CUSTOMER``). Its ``key_id``
is its Terraform address, the value references such as ``aws_kms_key.weights.arn`` resolve
to, so the shared checks find it from a bucket's ``kms_key_id``.
"""

from __future__ import annotations

from typing import Any

from aslcheck.inventories.snapshot import Resource
from aslcheck.inventories.terraform.declared import UNKNOWN, Block
from aslcheck.inventories.terraform.normalise.base import (
    Attrs,
    Context,
    bool_arg,
    single,
    str_list,
    str_or_unknown,
)
from aslcheck.inventories.terraform.policy import normalised
from aslcheck.inventories.terraform.resolve import partition

KEY = "aws.kms.key"
_ROTATABLE = "SYMMETRIC_DEFAULT"


def default_key_policy(block: Block) -> Any:
    """The policy KMS attaches when none is given: the account root may use the key via IAM."""
    account = block.provider.account
    if account is None:
        return UNKNOWN
    part = partition(block.provider.region) or "aws"
    return normalised({"Version": "2012-10-17", "Id": "key-default-1", "Statement": [{
        "Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:{part}:iam::{account}:root"},
        "Action": "kms:*", "Resource": "*"}]})


def _grant(block: Block) -> Any:
    body = block.body
    constraints = body.blocks("constraints")
    if constraints is UNKNOWN:
        return UNKNOWN
    cons: Any = None
    if constraints:
        c = constraints[0]
        cons = {k: v for k, v in (
            ("EncryptionContextEquals", c.get("encryption_context_equals")),
            ("EncryptionContextSubset", c.get("encryption_context_subset"))) if v is not None}
    return {"grant_id": block.address,
            "grantee_principal": str_or_unknown(body.get("grantee_principal", UNKNOWN)),
            "retiring_principal": str_or_unknown(body.get("retiring_principal")),
            "operations": str_list(body.get("operations", UNKNOWN)),
            "constraints": cons}


def _key(ctx: Context, block: Block) -> Resource:
    attrs = Attrs()
    body = block.body
    attrs.set("key_id", block.address)
    attrs.set("key_manager", "CUSTOMER")
    enabled = bool_arg(body, "is_enabled", True)
    attrs.set("key_state", UNKNOWN if enabled is UNKNOWN else ("Enabled" if enabled else "Disabled"))
    spec = body.get("customer_master_key_spec", body.get("key_spec", _ROTATABLE))
    attrs.set("key_spec", str_or_unknown(spec))
    attrs.set("key_usage", str_or_unknown(body.get("key_usage", "ENCRYPT_DECRYPT")))
    store = str_or_unknown(body.get("custom_key_store_id"))
    attrs.set("custom_key_store_id", store)
    attrs.set("origin", UNKNOWN if store is UNKNOWN else ("AWS_CLOUDHSM" if store else "AWS_KMS"))
    rotation = bool_arg(body, "enable_key_rotation", False)
    attrs.set("rotation_enabled", rotation if spec == _ROTATABLE else
              (None if isinstance(spec, str) else UNKNOWN))
    parts: list[Block] = []
    sep, ok = single(ctx, attrs, "policy", ("aws_kms_key_policy",), "key_id", block.address)
    if ok:
        if sep is not None:
            parts.append(sep)
            raw = sep.body.get("policy", UNKNOWN)
        else:
            raw = body.get("policy")
        doc = default_key_policy(block) if raw is None else normalised(raw)
        attrs.set("policy", doc, "key policy not determined (unresolvable reference, or the "
                                 "default policy in an account the provider does not pin)")
    grants, ambiguous = ctx.satellites(("aws_kms_grant",), "key_id", block.address)
    parts.extend(grants)
    if ambiguous:
        attrs.unknown("grants", "an aws_kms_grant names an undetermined key")
    else:
        attrs.set("grants", [_grant(g) for g in grants], "a grant is not determined")
    aliases, ambiguous = ctx.satellites(("aws_kms_alias",), "target_key_id", block.address)
    parts.extend(aliases)
    names = [a.body.get("name", UNKNOWN) for a in aliases]
    if ambiguous:
        attrs.unknown("aliases", "an aws_kms_alias names an undetermined key")
    else:
        attrs.set("aliases", sorted(n for n in names if isinstance(n, str))
                  if all(isinstance(n, str) for n in names) else UNKNOWN,
                  "an alias name is not determined")
    return ctx.resource(KEY, block, attrs, parts)


def keys(ctx: Context) -> list[Resource]:
    """One ``aws.kms.key`` per declared ``aws_kms_key``."""
    return [_key(ctx, b) for b in ctx.declared.managed("aws_kms_key") if b.expanded]
