"""KMS: keys of one region, with policy, grants, rotation, aliases and tags."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from aslcheck.inventories.aws.context import (
    LISTED,
    TAGS,
    Feeds,
    NotConfigured,
    Outcome,
    Target,
    Task,
    settle,
)
from aslcheck.inventories.aws.normalise import policy_document, tag_list
from aslcheck.inventories.snapshot import Resource

KEY = "aws.kms.key"
SCOPE = "regional"

OPERATIONS: Mapping[str, frozenset[str]] = {
    KEY: frozenset(
        {
            "kms:ListKeys",
            "kms:ListAliases",
            "kms:DescribeKey",
            "kms:GetKeyRotationStatus",
            "kms:GetKeyPolicy",
            "kms:ListGrants",
            "kms:ListResourceTags",
        }
    ),
}
KINDS = frozenset(OPERATIONS)

FEEDS: Feeds = {
    "kms:ListKeys": {KEY: frozenset({LISTED})},
    "kms:ListAliases": {KEY: frozenset({"aliases"})},
    "kms:DescribeKey": {KEY: frozenset({"key_manager", "key_state", "key_spec", "key_usage",
                                        "origin", "custom_key_store_id", "multi_region",
                                        "multi_region_keys"})},
    "kms:GetKeyRotationStatus": {KEY: frozenset({"rotation_enabled"})},
    "kms:GetKeyPolicy": {KEY: frozenset({"policy"})},
    "kms:ListGrants": {KEY: frozenset({"grants"})},
    "kms:ListResourceTags": {KEY: frozenset({TAGS})},
}

# Rotation is only defined for symmetric keys whose material KMS generated itself.
_ROTATABLE_SPEC = "SYMMETRIC_DEFAULT"
_ROTATABLE_ORIGIN = "AWS_KMS"


def _metadata(answer: Mapping[str, Any]) -> dict[str, Any]:
    meta = answer["KeyMetadata"]
    return {
        "key_id": str(meta["KeyId"]),
        "key_manager": str(meta["KeyManager"]),
        "key_state": str(meta["KeyState"]),
        "key_spec": str(meta.get("KeySpec") or meta["CustomerMasterKeySpec"]),
        # AWS always names the usage; moto omits it when the key was created without one.
        "key_usage": meta.get("KeyUsage"),
        "origin": str(meta["Origin"]),
        "custom_key_store_id": meta.get("CustomKeyStoreId"),
        "multi_region": meta.get("MultiRegion") is True,
        "multi_region_keys": _multi_region_keys(meta),
    }


def _multi_region_keys(meta: Mapping[str, Any]) -> list[str] | None:
    """ARNs of every key sharing this multi-Region key's material (primary and replicas)."""
    if meta.get("MultiRegion") is not True:
        return None
    config = meta["MultiRegionConfiguration"]
    arns = {str(config["PrimaryKey"]["Arn"])}
    arns.update(str(r["Arn"]) for r in config.get("ReplicaKeys") or ())
    return sorted(arns)


def _grants(items: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "grant_id": str(g["GrantId"]),
            "grantee_principal": str(g["GranteePrincipal"]),
            "retiring_principal": g.get("RetiringPrincipal"),
            "operations": [str(op) for op in g["Operations"]],
            "constraints": dict(g["Constraints"]) if g.get("Constraints") else None,
        }
        for g in items
    ]


def _key(target: Target, key_id: str, arn: str, aliases: list[str] | None) -> Outcome:
    rd = target.reader(OPERATIONS[KEY])
    attrs: dict[str, Any] = {"key_id": key_id}
    if aliases is not None:
        attrs["aliases"] = sorted(aliases)
    settle(rd, attrs, "_meta", "kms:DescribeKey", KEY, arn,
           rd.call("kms:DescribeKey", KEY, arn, KeyId=arn), _metadata)
    meta = attrs.pop("_meta", None)
    if meta is not None:
        attrs.update(meta)
    known = meta is not None
    if known and (meta["key_spec"] != _ROTATABLE_SPEC or meta["origin"] != _ROTATABLE_ORIGIN):
        attrs["rotation_enabled"] = None
    else:
        settle(rd, attrs, "rotation_enabled", "kms:GetKeyRotationStatus", KEY, arn,
               rd.call("kms:GetKeyRotationStatus", KEY, arn,
                       expected=("UnsupportedOperationException",), KeyId=arn),
               lambda a: a["KeyRotationEnabled"] is True, lambda _: None)
    settle(rd, attrs, "policy", "kms:GetKeyPolicy", KEY, arn,
           rd.call("kms:GetKeyPolicy", KEY, arn, KeyId=arn, PolicyName="default"),
           lambda a: policy_document(a["Policy"]))
    grants = rd.paginate("kms:ListGrants", "Grants", KEY, arn, KeyId=arn)
    if isinstance(grants, list):
        got = rd.parse("kms:ListGrants", KEY, arn, lambda: _grants(grants))
        if got is not None:
            attrs["grants"] = got.value
    tags: dict[str, str] | None = None
    tag_items = rd.paginate("kms:ListResourceTags", "Tags", KEY, arn, KeyId=arn)
    if isinstance(tag_items, list):
        got_tags = rd.parse("kms:ListResourceTags", KEY, arn,
                            lambda: tag_list(tag_items, "TagKey", "TagValue"))
        tags = got_tags.value if got_tags else None
    resource = Resource(kind=KEY, id=arn, source="aws", attributes=attrs, tags=tags,
                        account=target.account, region=target.region)
    return Outcome(resources=[resource], errors=rd.errors)


def _list(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[KEY])
    keys = rd.paginate("kms:ListKeys", "Keys", KEY)
    if isinstance(keys, NotConfigured) or keys is None:
        return Outcome(errors=rd.errors, incomplete={KEY})
    listed = rd.parse("kms:ListKeys", KEY, None,
                      lambda: [(str(k["KeyId"]), str(k["KeyArn"])) for k in keys])
    if listed is None:
        return Outcome(errors=rd.errors, incomplete={KEY})
    by_key: dict[str, list[str]] | None = None
    mark = len(rd.errors)
    aliases = rd.paginate("kms:ListAliases", "Aliases", KEY)
    if isinstance(aliases, list):
        def index() -> dict[str, list[str]]:
            out: dict[str, list[str]] = {}
            for alias in aliases:
                if alias.get("TargetKeyId"):
                    out.setdefault(str(alias["TargetKeyId"]), []).append(str(alias["AliasName"]))
            return out

        got = rd.parse("kms:ListAliases", KEY, None, index)
        by_key = got.value if got else None
    if by_key is None:
        rd.spread(mark, (arn for _, arn in listed.value))
    followups = [
        Task(target.label(f"kms:{key_id}"),
             partial(_key, target, key_id, arn, None if by_key is None else by_key.get(key_id, [])),
             frozenset({KEY}))
        for key_id, arn in listed.value
    ]
    return Outcome(errors=rd.errors, followups=followups)


def plan(target: Target, kinds: frozenset[str]) -> list[Task]:
    """Tasks for the KMS keys of one account/region."""
    if KEY not in kinds:
        return []
    return [Task(target.label("kms:ListKeys"), lambda: _list(target), frozenset({KEY}))]
