"""``aws_s3_bucket`` and its configuration resources -> ``aws.s3.bucket``; account PAB.

With AWS provider v4+ a bucket's settings live in separate resources
(``aws_s3_bucket_versioning``, ``..._server_side_encryption_configuration``,
``..._public_access_block``, ``..._policy``, ``..._ownership_controls``, ``..._acl``,
``..._object_lock_configuration``, ``..._logging``) that name the bucket; the pre-v4 inline
arguments are read too. Both are merged into one resource shaped like the live collector's.
"""

from __future__ import annotations

from typing import Any

from aslcheck.inventories.snapshot import Resource
from aslcheck.inventories.terraform.declared import UNKNOWN, Block, Body
from aslcheck.inventories.terraform.normalise.base import (
    Attrs,
    Context,
    bool_arg,
    first_block,
    int_arg,
    single,
    str_list,
    str_or_unknown,
)
from aslcheck.inventories.terraform.policy import normalised
from aslcheck.inventories.terraform.resolve import bucket_name

BUCKET = "aws.s3.bucket"
ACCOUNT_SETTINGS = "aws.s3.account_settings"

_S3_DEFAULT = {"algorithm": "AES256", "kms_key_id": None, "bucket_key_enabled": False,
               "explicit": False}
"""No configuration: S3 encrypts with SSE-S3 by default (since January 2023), as live."""

_ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
_AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
_LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
_CANNED: dict[str, list[tuple[str, str]]] = {
    "private": [],
    "public-read": [(_ALL_USERS, "READ")],
    "public-read-write": [(_ALL_USERS, "READ"), (_ALL_USERS, "WRITE")],
    "authenticated-read": [(_AUTH_USERS, "READ")],
    "log-delivery-write": [(_LOG_DELIVERY, "WRITE"), (_LOG_DELIVERY, "READ_ACP")],
    "aws-exec-read": [],
    "bucket-owner-read": [],
    "bucket-owner-full-control": [],
}
_PAB = ("block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets")


def _encryption(body: Body) -> Any:
    """The default-encryption record of an SSE configuration (resource or inline block)."""
    rule = first_block(body, "rule")
    if rule is UNKNOWN or rule is None:
        return UNKNOWN
    default = first_block(rule, "apply_server_side_encryption_by_default")
    if default is UNKNOWN or default is None:
        return UNKNOWN
    blocked = rule.get("blocked_encryption_types")
    return {
        "algorithm": str_or_unknown(default.get("sse_algorithm", UNKNOWN)),
        "kms_key_id": str_or_unknown(default.get("kms_master_key_id")),
        "bucket_key_enabled": bool_arg(rule, "bucket_key_enabled", False),
        "explicit": True,
        # NOTE: not declared = not managed by the code: nothing is known to be blocked.
        "blocked_encryption_types": [] if blocked is None else str_list(blocked),
    }


def _pab(body: Body) -> dict[str, Any]:
    return {flag: bool_arg(body, flag, False) for flag in _PAB}


def _acl(value: Any) -> Any:
    if not isinstance(value, str) or value not in _CANNED:
        return UNKNOWN
    return [{"grantee_type": "Group", "grantee": uri, "permission": perm}
            for uri, perm in _CANNED[value]]


def _grants(body: Body) -> Any:
    """Grants of an ``aws_s3_bucket_acl``: a canned ``acl`` or an ``access_control_policy``."""
    if body.has("acl"):
        return _acl(body.get("acl"))
    acp = first_block(body, "access_control_policy")
    if acp is UNKNOWN or acp is None:
        return UNKNOWN
    out = []
    grants = acp.blocks("grant")
    if grants is UNKNOWN:
        return UNKNOWN
    for g in grants:
        grantee = first_block(g, "grantee")
        if grantee is UNKNOWN or grantee is None:
            return UNKNOWN
        gtype = grantee.get("type")
        ident = {"CanonicalUser": grantee.get("id"), "Group": grantee.get("uri"),
                 "AmazonCustomerByEmail": grantee.get("email_address")}.get(str(gtype), UNKNOWN)
        out.append({"grantee_type": gtype, "grantee": ident, "permission": g.get("permission")})
    return out


def _object_lock(bucket: Block, lock: Block | None) -> Any:
    enabled = bool_arg(bucket.body, "object_lock_enabled", False)
    inline = first_block(bucket.body, "object_lock_configuration")
    if inline is UNKNOWN:
        return UNKNOWN
    if inline is not None:
        enabled = True if inline.get("object_lock_enabled") == "Enabled" else enabled
        rule_src: Any = inline
    else:
        rule_src = lock.body if lock is not None else None
    if enabled is UNKNOWN:
        return UNKNOWN
    if lock is not None and not enabled:
        enabled = True  # NOTE: a lock configuration is accepted only on a lock-enabled bucket.
    if not enabled:
        return None
    record: dict[str, Any] = {"enabled": True, "mode": None, "days": None, "years": None}
    rule = first_block(rule_src, "rule") if rule_src is not None else None
    if rule is UNKNOWN:
        return UNKNOWN
    retention = first_block(rule, "default_retention") if rule is not None else None
    if retention is UNKNOWN:
        return UNKNOWN
    if retention is not None:
        record.update(mode=str_or_unknown(retention.get("mode")),
                      days=int_arg(retention, "days", None),
                      years=int_arg(retention, "years", None))
    return record


def _logging(body: Body) -> Any:
    return {"target_bucket": str_or_unknown(body.get("target_bucket", UNKNOWN)),
            "target_prefix": str_or_unknown(body.get("target_prefix", ""))}


def _replication(body: Body, rule_name: str) -> Any:
    """``replication`` as the live collector records it, from the v4 resource or the inline block."""
    rules = body.blocks(rule_name)
    if rules is UNKNOWN:
        return UNKNOWN
    out = []
    for rule in rules:
        dest = first_block(rule, "destination")
        if dest is UNKNOWN or dest is None:
            return UNKNOWN
        out.append({"bucket": str_or_unknown(dest.get("bucket", UNKNOWN)),
                    "account": str_or_unknown(dest.get("account")),
                    "status": str_or_unknown(rule.get("status", UNKNOWN))})
    return {"role": str_or_unknown(body.get("role")),
            "destinations": sorted(out, key=lambda d: (str(d["bucket"]), str(d["status"])))}


def _bucket(ctx: Context, block: Block) -> Resource:
    attrs = Attrs()
    body = block.body
    name = bucket_name(block)
    attrs.set("name", name, "bucket name not set literally (bucket_prefix or computed)")
    if name is not UNKNOWN:
        attrs.set("arn", f"arn:aws:s3:::{name}")
    attrs.set("region", block.provider.region if block.provider.region else UNKNOWN,
              "provider region not set literally")
    # Satellites name the bucket by name (aws_s3_bucket.x.id/.bucket) or, unnamed, by address.
    target, alt = (block.address if name is UNKNOWN else name), block.address
    parts: list[Block] = []

    def one(attr: str, rtype: str) -> tuple[Block | None, bool]:
        found, ok = single(ctx, attrs, attr, (rtype,), "bucket", target, alt)
        if found is not None:
            parts.append(found)
        return found, ok

    sse, ok = one("encryption", "aws_s3_bucket_server_side_encryption_configuration")
    if ok:
        inline = first_block(body, "server_side_encryption_configuration")
        if sse is not None:
            attrs.set("encryption", _encryption(sse.body), "encryption settings not determined")
        elif inline is UNKNOWN:
            attrs.unknown("encryption", "generated server_side_encryption_configuration block")
        elif inline is not None:
            attrs.set("encryption", _encryption(inline), "encryption settings not determined")
        else:
            attrs.set("encryption", dict(_S3_DEFAULT))

    pab, ok = one("public_access_block", "aws_s3_bucket_public_access_block")
    if ok:
        attrs.set("public_access_block", _pab(pab.body) if pab is not None else None)

    pol, ok = one("policy", "aws_s3_bucket_policy")
    if ok:
        raw = pol.body.get("policy", UNKNOWN) if pol is not None else body.get("policy")
        attrs.set("policy", normalised(raw),
                  "bucket policy not determined (unresolvable reference or not a policy)")

    own, ok = one("ownership", "aws_s3_bucket_ownership_controls")
    if ok:
        if own is None:
            # NOTE: new buckets have had ACLs disabled (BucketOwnerEnforced) since April 2023.
            attrs.set("ownership", "BucketOwnerEnforced")
        else:
            rule = first_block(own.body, "rule")
            attrs.set("ownership", UNKNOWN if rule is UNKNOWN or rule is None
                      else str_or_unknown(rule.get("object_ownership", UNKNOWN)))

    acl, ok = one("acl_grants", "aws_s3_bucket_acl")
    if ok:
        if acl is not None:
            attrs.set("acl_grants", _grants(acl.body), "ACL grants not determined")
        elif body.has("acl"):
            attrs.set("acl_grants", _acl(body.get("acl")), "ACL not determined")
        else:
            attrs.set("acl_grants", [])

    ver, ok = one("versioning", "aws_s3_bucket_versioning")
    if ok:
        status: Any = None
        if ver is not None:
            cfg = first_block(ver.body, "versioning_configuration")
            status = UNKNOWN if cfg is UNKNOWN or cfg is None else cfg.get("status", UNKNOWN)
            status = None if status == "Disabled" else status
        else:
            inline_ver = first_block(body, "versioning")
            if inline_ver is UNKNOWN:
                status = UNKNOWN
            elif inline_ver is not None:
                enabled = bool_arg(inline_ver, "enabled", False)
                status = UNKNOWN if enabled is UNKNOWN else ("Enabled" if enabled else None)
        attrs.set("versioning", status, "versioning status not determined")

    lock, ok = one("object_lock", "aws_s3_bucket_object_lock_configuration")
    if ok:
        attrs.set("object_lock", _object_lock(block, lock), "object lock not determined")

    log, ok = one("logging", "aws_s3_bucket_logging")
    if ok:
        inline_log = first_block(body, "logging")
        if log is not None:
            attrs.set("logging", _logging(log.body), "logging target not determined")
        elif inline_log is UNKNOWN:
            attrs.unknown("logging", "generated logging block")
        else:
            attrs.set("logging", _logging(inline_log) if inline_log is not None else None,
                      "logging target not determined")
    rep, ok = one("replication", "aws_s3_bucket_replication_configuration")
    if ok:
        inline_rep = first_block(body, "replication_configuration")
        if rep is not None:
            attrs.set("replication", _replication(rep.body, "rule"),
                      "replication destinations not determined")
        elif inline_rep is UNKNOWN:
            attrs.unknown("replication", "generated replication_configuration block")
        else:
            attrs.set("replication", _replication(inline_rep, "rules")
                      if inline_rep is not None else None, "replication destinations not determined")
    return ctx.resource(BUCKET, block, attrs, parts)


def buckets(ctx: Context) -> list[Resource]:
    """One ``aws.s3.bucket`` per declared ``aws_s3_bucket``."""
    return [_bucket(ctx, b) for b in ctx.declared.managed("aws_s3_bucket") if b.expanded]


def account_settings(ctx: Context) -> list[Resource]:
    """``aws_s3_account_public_access_block`` -> ``aws.s3.account_settings``."""
    out = []
    for block in ctx.declared.managed("aws_s3_account_public_access_block"):
        attrs = Attrs()
        attrs.set("public_access_block", _pab(block.body))
        out.append(ctx.resource(ACCOUNT_SETTINGS, block, attrs))
    return out
