"""What a reference to another resource or data source evaluates to before apply.

The rule that lets the shared AWS checks run on code: an identifier AWS assigns at apply
time (a KMS key ID or ARN, a VPC or security-group ID) resolves to the Terraform address of
the resource that will own it, and that resource carries the same address as its ID
attribute (``key_id``, ``vpc_id``, ``group_id``...). So ``kms_master_key_id =
aws_kms_key.weights.arn`` names ``aws_kms_key.weights``, and the CMK check finds the key.
Identifiers the code determines (an S3 bucket's name and ARN, an IAM ARN in a pinned
account) resolve to their real value, exactly as the live collector would report them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aslcheck.inventories.terraform.declared import UNKNOWN, Block, Provider, index

_IAM_ARN_KIND = {"aws_iam_role": "role", "aws_iam_user": "user", "aws_iam_group": "group",
                 "aws_iam_policy": "policy"}
_KEY_TOKEN_ATTRS = {"aws_kms_key": ("id", "arn", "key_id")}

PolicyBuilder = Callable[[Block], Any]
"""Builds the policy document of a ``data.aws_iam_policy_document`` block."""


def partition(region: str | None) -> str | None:
    """AWS partition of a region (``aws``, ``aws-cn``, ``aws-us-gov``)."""
    if region is None:
        return None
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def iam_arn(block: Block) -> str | None:
    """The ARN of a declared IAM role/user/group/policy, when its name and account are known."""
    what = _IAM_ARN_KIND.get(block.type)
    name = block.body.get("name")
    path = block.body.get("path", "/")
    part = partition(block.provider.region) or "aws"
    if what is None or block.provider.account is None or not isinstance(name, str) \
            or not isinstance(path, str):
        return None
    return f"arn:{part}:iam::{block.provider.account}:{what}{path}{name}"


def main_route_table(vpc: str) -> str:
    """Token standing for the main route table of the VPC declared at address ``vpc``."""
    return f"{vpc}.main_route_table_id"


def bucket_name(block: Block) -> Any:
    """The declared bucket name (UNKNOWN for ``bucket_prefix`` or a computed name)."""
    name = block.body.get("bucket", UNKNOWN)
    return name if isinstance(name, str) else UNKNOWN


def resource_attr(block: Block, attr: str) -> Any:
    """Value of ``TYPE.NAME.attr`` for a declared managed resource."""
    t = block.type
    if attr in _KEY_TOKEN_ATTRS.get(t, ()):
        return block.address
    if t == "aws_s3_bucket":
        name = bucket_name(block)
        if attr in ("id", "bucket"):
            # NOTE: an unnamed bucket (bucket_prefix) is still identifiable by its address, so
            # its versioning/policy/encryption blocks can be attached to it.
            return block.address if name is UNKNOWN else name
        if attr == "arn":
            return UNKNOWN if name is UNKNOWN else f"arn:aws:s3:::{name}"
    if t in _IAM_ARN_KIND:
        if attr == "arn" or (attr == "id" and t == "aws_iam_policy"):
            return iam_arn(block) or block.address
        if attr in ("id", "name"):
            name = block.body.get("name", UNKNOWN)
            return name if isinstance(name, str) else block.address
    if t == "aws_kms_alias":
        if attr in ("id", "name", "arn"):
            name = block.body.get("name", UNKNOWN)
            return name if isinstance(name, str) else UNKNOWN
        if attr in ("target_key_id", "target_key_arn"):
            return block.body.get("target_key_id", UNKNOWN)
    if t == "aws_vpc" and attr in ("main_route_table_id", "default_route_table_id"):
        return main_route_table(block.address)
    if t == "aws_vpc" and attr in ("default_security_group_id", "default_network_acl_id"):
        return f"{block.address}.{attr}"
    if attr in ("id", "arn"):
        return block.address
    if block.body.has(attr):
        return block.body.get(attr)
    if attr.endswith(("_id", "_arn")):
        # NOTE: another identifier AWS assigns (prefix_list_id, default_route_table_id...):
        # a token that equals itself wherever it is referenced, and nothing else.
        return f"{block.address}.{attr}"
    return UNKNOWN


def data_attr(block: Block, attr: str, policy: PolicyBuilder) -> Any:
    """Value of ``data.TYPE.NAME.attr`` where the data source's answer is known before apply."""
    prov: Provider = block.provider
    t = block.type
    if t != "aws_iam_policy_document" and attr not in ("id",) and block.body.has(attr):
        # A plan records what data sources answered; a directory scan knows only arguments.
        known = block.body.get(attr)
        if known is not None and known is not UNKNOWN:
            return known
    if t == "aws_caller_identity" and attr in ("account_id", "id"):
        return prov.account if prov.account is not None else UNKNOWN
    if t == "aws_region" and attr in ("name", "id", "region"):
        return prov.region if prov.region is not None else UNKNOWN
    if t == "aws_partition" and attr in ("partition", "id"):
        return partition(prov.region) or UNKNOWN
    if t == "aws_iam_policy_document" and attr in ("json", "minified_json"):
        return policy(block)
    if t == "aws_kms_alias" and attr in ("id", "name", "arn", "target_key_id", "target_key_arn"):
        # NOTE: an alias name is as good as a key reference for the checks: alias/aws/* is
        # recognised as AWS-managed, other aliases resolve against declared or live keys.
        name = block.body.get("name", UNKNOWN)
        return name if isinstance(name, str) else UNKNOWN
    if t == "aws_kms_key" and attr in ("id", "arn", "key_id"):
        ref = block.body.get("key_id", UNKNOWN)
        return ref if isinstance(ref, str) else UNKNOWN
    if block.body.has(attr):
        return block.body.get(attr)
    return UNKNOWN


def reference(parts: list[str | int], lookup: Callable[[str], Block | None],
              policy: PolicyBuilder) -> Any:
    """Resolve ``TYPE.NAME.ATTR...`` or ``data.TYPE.NAME.ATTR...`` (not var/local)."""
    if parts and parts[0] == "data":
        if len(parts) < 4 or not all(isinstance(p, str) for p in parts[1:4]):
            return UNKNOWN
        block = lookup(f"data.{parts[1]}.{parts[2]}")
        if block is None:
            return UNKNOWN
        return index(data_attr(block, str(parts[3]), policy), parts[4:])
    if len(parts) < 3 or not all(isinstance(p, str) for p in parts[:3]):
        # NOTE: aws_x.y[0].id needs count expansion, which only a plan provides.
        return UNKNOWN
    block = lookup(f"{parts[0]}.{parts[1]}")
    if block is None or block.mode != "managed" or not block.expanded:
        return UNKNOWN
    return index(resource_attr(block, str(parts[2])), parts[3:])


def merged_tags(default: Mapping[str, Any] | Any, own: Any) -> dict[str, str] | None:
    """``default_tags`` merged with a resource's own ``tags``; None when any part is unknown."""
    if default is UNKNOWN or own is UNKNOWN:
        return None
    out: dict[str, Any] = dict(default) if isinstance(default, Mapping) else {}
    if isinstance(own, Mapping):
        out.update(own)
    elif own is not None:
        return None
    if any(not isinstance(k, str) or not isinstance(v, (str, int, bool)) or isinstance(v, float)
           for k, v in out.items()):
        return None
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in out.items()}
