"""EC2 instances, EBS volumes and the regional EBS encryption default from code."""

from __future__ import annotations

from typing import Any

from aslcheck.inventories.snapshot import Resource
from aslcheck.inventories.terraform.declared import UNKNOWN, Block
from aslcheck.inventories.terraform.normalise.base import (
    Attrs,
    Context,
    bool_arg,
    first_block,
    int_arg,
    str_list,
    str_or_unknown,
)

INSTANCE = "aws.ec2.instance"
VOLUME = "aws.ec2.volume"
REGION_SETTINGS = "aws.ec2.region_settings"


def _subnet(ctx: Context, ref: Any) -> Block | None:
    found = ctx.declared.find(ref) if isinstance(ref, str) else None
    return found if found is not None and found.mode == "managed" \
        and found.type == "aws_subnet" else None


def _metadata(block: Block) -> Any:
    opts = first_block(block.body, "metadata_options")
    if opts is None:
        # NOTE: without metadata_options IMDSv1 stays on unless the AMI demands v2: unknown.
        return UNKNOWN
    if opts is UNKNOWN:
        return UNKNOWN
    return {"http_tokens": str_or_unknown(opts.get("http_tokens", UNKNOWN)),
            "http_put_response_hop_limit": int_arg(opts, "http_put_response_hop_limit", 1),
            "http_endpoint": str_or_unknown(opts.get("http_endpoint", "enabled"))}


def _public_ip(ctx: Context, block: Block, subnet: Block | None) -> Any:
    assoc = bool_arg(block.body, "associate_public_ip_address", False) \
        if block.body.has("associate_public_ip_address") else None
    if assoc is UNKNOWN:
        return UNKNOWN
    if assoc is None:
        if subnet is None:
            return UNKNOWN
        assoc = bool_arg(subnet.body, "map_public_ip_on_launch", False)
        if assoc is UNKNOWN:
            return UNKNOWN
    # NOTE: the address itself is assigned at launch; its presence is what the checks judge.
    return "(public IP assigned at launch)" if assoc else None


def instances(ctx: Context) -> list[Resource]:
    """``aws_instance`` -> ``aws.ec2.instance`` (state ``pending``: it is about to launch)."""
    out = []
    for block in ctx.declared.managed("aws_instance"):
        if not block.expanded:
            continue
        b = block.body
        attrs = Attrs()
        attrs.set("instance_id", block.address)
        attrs.set("state", "pending")
        subnet_ref = b.get("subnet_id", UNKNOWN)
        subnet = _subnet(ctx, subnet_ref)
        attrs.set("subnet_id", str_or_unknown(subnet_ref), "subnet not set or not determined")
        attrs.set("vpc_id", str_or_unknown(subnet.body.get("vpc_id", UNKNOWN))
                  if subnet is not None else UNKNOWN, "the instance's subnet is not declared")
        attrs.set("public_ip", _public_ip(ctx, block, subnet),
                  "public IP assignment not determined")
        attrs.set("metadata_options", _metadata(block),
                  "metadata_options not declared (IMDS defaults depend on the AMI)")
        attrs.set("instance_profile", str_or_unknown(b.get("iam_instance_profile")),
                  "instance profile not determined")
        attrs.set("security_groups", str_list(b.get("vpc_security_group_ids")),
                  "security groups not determined")
        out.append(ctx.resource(INSTANCE, block, attrs))
    return out


def _default_encryption(ctx: Context, block: Block) -> Any:
    """Whether the code turns on EBS encryption by default in the volume's provider region."""
    for enc in ctx.declared.managed("aws_ebs_encryption_by_default"):
        if enc.provider.region == block.provider.region and enc.provider.region is not None:
            return bool_arg(enc.body, "enabled", True)
    return UNKNOWN


def volumes(ctx: Context) -> list[Resource]:
    """``aws_ebs_volume`` (+ attachments) -> ``aws.ec2.volume``."""
    out = []
    for block in ctx.declared.managed("aws_ebs_volume"):
        if not block.expanded:
            continue
        attrs = Attrs()
        attrs.set("volume_id", block.address)
        encrypted = bool_arg(block.body, "encrypted", False)
        if encrypted is False or not block.body.has("encrypted"):
            default = _default_encryption(ctx, block)
            if default is True:
                encrypted = True
            elif not block.body.has("encrypted"):
                # NOTE: the account's EBS default decides it; the code does not.
                encrypted = UNKNOWN
        attrs.set("encrypted", encrypted,
                  "encrypted not set and EBS default encryption not declared in the code")
        attrs.set("kms_key_id", str_or_unknown(block.body.get("kms_key_id")),
                  "KMS key not determined")
        found, ambiguous = ctx.satellites(("aws_volume_attachment",), "volume_id", block.address)
        attrs.set("attached_to", UNKNOWN if ambiguous else sorted(
            str_or_unknown(a.body.get("instance_id", UNKNOWN)) for a in found)
            if all(isinstance(a.body.get("instance_id"), str) for a in found) else UNKNOWN,
            "an attachment is not determined")
        out.append(ctx.resource(VOLUME, block, attrs, found))
    return out


def region_settings(ctx: Context) -> list[Resource]:
    """``aws_ebs_encryption_by_default`` (+ ``aws_ebs_default_kms_key``) per region."""
    out = []
    for block in ctx.declared.managed("aws_ebs_encryption_by_default"):
        attrs = Attrs()
        attrs.set("ebs_encryption_by_default", bool_arg(block.body, "enabled", True))
        keys = [k for k in ctx.declared.managed("aws_ebs_default_kms_key")
                if k.provider.region == block.provider.region]
        if len(keys) > 1:
            attrs.unknown("ebs_default_kms_key_id", "several aws_ebs_default_kms_key blocks")
        else:
            attrs.set("ebs_default_kms_key_id", str_or_unknown(keys[0].body.get("key_arn", UNKNOWN))
                      if keys else None, "default EBS key not determined")
        out.append(ctx.resource(REGION_SETTINGS, block, attrs, keys))
    return out
