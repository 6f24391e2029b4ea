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


def _public_ip(ctx: Context, block: Block, subnet: Block | None) -> tuple[Any, list[Block]]:
    """Whether the instance gets a public IPv4 address, and the EIP blocks that give it one.

    Three ways, as AWS assigns them: ``associate_public_ip_address``; else the subnet's
    ``map_public_ip_on_launch`` (for the primary interface the launch creates); and an elastic
    IP (``aws_eip.instance``, ``aws_eip_association.instance_id``, or either naming one of the
    instance's network interfaces). checkov's CKV_AWS_88 reads only the first.
    """
    enis = block.body.blocks("network_interface")
    if enis is UNKNOWN:
        return UNKNOWN, []
    assert isinstance(enis, list)
    eni_ids = [e.get("network_interface_id") for e in enis]
    if any(not isinstance(e, str) for e in eni_ids):
        return UNKNOWN, []
    eips, amb1 = ctx.satellites(("aws_eip",), "instance", block.address, required=False)
    assoc, amb2 = ctx.satellites(("aws_eip_association",), "instance_id", block.address,
                                 required=False)
    via_eni: list[Block] = []
    amb3 = amb4 = False
    if eni_ids:
        eni_eips, amb3 = ctx.satellites(("aws_eip",), "network_interface", *eni_ids,
                                        required=False)
        eni_assoc, amb4 = ctx.satellites(("aws_eip_association",), "network_interface_id",
                                         *eni_ids, required=False)
        via_eni = eni_eips + eni_assoc
    parts = eips + assoc + via_eni
    if amb1 or amb2 or amb3 or amb4:
        return UNKNOWN, parts
    if parts:
        return "(elastic IP associated at apply)", parts
    if eni_ids:
        # NOTE: with its own interfaces the launch creates none, so no auto-assigned address.
        return None, parts
    assoc_arg = bool_arg(block.body, "associate_public_ip_address", False) \
        if block.body.has("associate_public_ip_address") else None
    if assoc_arg is UNKNOWN:
        return UNKNOWN, parts
    if assoc_arg is None:
        if subnet is None:
            return UNKNOWN, parts
        assoc_arg = bool_arg(subnet.body, "map_public_ip_on_launch", False)
        if assoc_arg is UNKNOWN:
            return UNKNOWN, parts
    # NOTE: the address itself is assigned at launch; its presence is what the checks judge.
    return ("(public IP assigned at launch)" if assoc_arg else None), parts


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
        public_ip, eips = _public_ip(ctx, block, subnet)
        attrs.set("public_ip", public_ip,
                  "public IP assignment not determined (or an elastic IP names an "
                  "undetermined instance or interface)")
        attrs.set("metadata_options", _metadata(block),
                  "metadata_options not declared (IMDS defaults depend on the AMI)")
        attrs.set("instance_profile", str_or_unknown(b.get("iam_instance_profile")),
                  "instance profile not determined")
        attrs.set("security_groups", str_list(b.get("vpc_security_group_ids")),
                  "security groups not determined")
        detailed = bool_arg(b, "monitoring", False)
        attrs.set("monitoring", UNKNOWN if detailed is UNKNOWN else
                  "enabled" if detailed else "disabled", "monitoring not determined")
        out.append(ctx.resource(INSTANCE, block, attrs, eips))
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
