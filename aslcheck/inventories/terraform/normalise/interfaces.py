"""Network interfaces, each VPC's implicit default security group, and managed prefix lists.

- **Default security groups.** AWS gives every VPC a default group that allows all egress to
  ``0.0.0.0/0`` (and ``::/0`` with IPv6). Terraform leaves it alone unless the code declares
  ``aws_default_security_group``, which strips its rules. So for a VPC without one, the
  default group is recorded as AWS creates it, under the token Terraform would resolve
  ``aws_vpc.NAME.default_security_group_id`` to.
- **Network interfaces.** An ``aws_instance`` gets a primary interface (token
  ``aws_instance.NAME.primary_network_interface_id``) with its ``vpc_security_group_ids`` /
  ``security_groups``, or the VPC's default group when it names none, as AWS does;
  ``aws_network_interface`` likewise; ``aws_network_interface_sg_attachment`` adds groups.
  Interfaces other resources create (Lambda, ECS, endpoints...) are not modelled, which is why
  the network-interface kind is never "listed completely" from code.
- **Prefix lists.** ``aws_ec2_managed_prefix_list`` (ID = address) with its ``entry`` blocks
  and ``aws_ec2_managed_prefix_list_entry`` resources.
"""

from __future__ import annotations

from typing import Any

from aslcheck.inventories.snapshot import Resource
from aslcheck.inventories.terraform.declared import UNKNOWN, Block
from aslcheck.inventories.terraform.normalise.base import (
    Attrs,
    Context,
    bool_arg,
    str_list,
    str_or_unknown,
)

SECURITY_GROUP = "aws.ec2.security_group"
NETWORK_INTERFACE = "aws.ec2.network_interface"
PREFIX_LIST = "aws.ec2.prefix_list"


def default_group_token(vpc: str) -> str:
    """What ``aws_vpc.NAME.default_security_group_id`` resolves to."""
    return f"{vpc}.default_security_group_id"


def _declared_default(ctx: Context, vpc: str) -> tuple[Block | None, bool]:
    found, ambiguous = ctx.satellites(("aws_default_security_group",), "vpc_id", vpc)
    return (found[0] if len(found) == 1 else None), ambiguous or len(found) > 1


def _default_group_of(ctx: Context, vpc: Any) -> Any:
    """The group ID standing for the default group of ``vpc``."""
    if not isinstance(vpc, str):
        return UNKNOWN
    declared, ambiguous = _declared_default(ctx, vpc)
    if ambiguous:
        return UNKNOWN
    return declared.address if declared is not None else default_group_token(vpc)


def _canonical(ctx: Context, gid: Any) -> Any:
    """A group reference as the group's ``group_id`` (a VPC's default-group token names the
    declared ``aws_default_security_group`` when there is one)."""
    if isinstance(gid, str) and gid.endswith(".default_security_group_id"):
        return _default_group_of(ctx, gid[: -len(".default_security_group_id")])
    return gid


def default_groups(ctx: Context) -> list[Resource]:
    """The default group AWS creates for each declared VPC the code does not manage."""
    out = []
    for vpc in ctx.declared.managed("aws_vpc"):
        if not vpc.expanded:
            continue
        declared, ambiguous = _declared_default(ctx, vpc.address)
        if declared is not None:
            continue
        token = default_group_token(vpc.address)
        attrs = Attrs()
        attrs.set("group_id", token)
        attrs.set("vpc_id", vpc.address)
        attrs.set("name", "default")
        ipv6 = bool_arg(vpc.body, "assign_generated_ipv6_cidr_block", False)
        if vpc.body.has("ipv6_cidr_block") or vpc.body.has("ipv6_ipam_pool_id"):
            ipv6 = True
        if ambiguous or ipv6 is UNKNOWN:
            attrs.unknown("egress", "an aws_default_security_group names an undetermined VPC, "
                                    "or the VPC's IPv6 block is not determined")
        else:
            attrs.set("egress", [{"protocol": "-1", "from_port": None, "to_port": None,
                                  "cidrs": ["0.0.0.0/0"], "ipv6_cidrs": ["::/0"] if ipv6 else [],
                                  "prefix_lists": [], "groups": []}])
        attrs.set("ingress", [{"protocol": "-1", "from_port": None, "to_port": None, "cidrs": [],
                               "ipv6_cidrs": [], "prefix_lists": [], "groups": [token]}])
        res = ctx.resource(SECURITY_GROUP, vpc, attrs)
        out.append(Resource(kind=SECURITY_GROUP, id=token, source=res.source,
                            attributes={**res.attributes, "implicit": True}, tags={},
                            account=res.account, region=res.region))
    return out


def _subnet_vpc(ctx: Context, subnet: Any) -> Any:
    block = next((s for s in ctx.declared.managed("aws_subnet") if s.address == subnet), None)
    return str_or_unknown(block.body.get("vpc_id", UNKNOWN)) if block is not None else UNKNOWN


def _groups(ctx: Context, own: list[Any], eni: str, vpc: Any) -> Any:
    """An interface's groups: its own, else the VPC default, plus SG attachment resources."""
    extra, ambiguous = ctx.satellites(("aws_network_interface_sg_attachment",),
                                      "network_interface_id", eni)
    if ambiguous or any(g is UNKNOWN for g in own):
        return UNKNOWN
    groups = list(own) or [_default_group_of(ctx, vpc)]
    groups += [str_or_unknown(a.body.get("security_group_id", UNKNOWN)) for a in extra]
    groups = [_canonical(ctx, g) for g in groups]
    return UNKNOWN if any(g is UNKNOWN for g in groups) else sorted(set(groups))


def _interface(ctx: Context, block: Block, ident: str, subnet: Any, own: Any,
               instance: str | None) -> Resource:
    attrs = Attrs()
    attrs.set("eni_id", ident)
    attrs.set("subnet_id", str_or_unknown(subnet), "subnet not set or not determined")
    vpc = _subnet_vpc(ctx, subnet)
    attrs.set("vpc_id", vpc, "the interface's subnet is not declared (or lands in the default VPC)")
    attrs.set("interface_type", "interface")
    attrs.set("status", "in-use" if instance else "available")
    attrs.set("instance_id", instance)
    attrs.set("requester_managed", False)
    attrs.set("security_groups", UNKNOWN if own is UNKNOWN else _groups(ctx, own, ident, vpc),
              "security groups not determined")
    res = ctx.resource(NETWORK_INTERFACE, block, attrs)
    if ident == block.address:
        return res
    return Resource(kind=NETWORK_INTERFACE, id=ident, source=res.source,
                    attributes=res.attributes, tags=res.tags, account=res.account,
                    region=res.region)


def interfaces(ctx: Context) -> list[Resource]:
    """Primary interfaces of ``aws_instance`` and ``aws_network_interface`` resources."""
    out = []
    for block in ctx.declared.managed("aws_instance"):
        attached = block.body.blocks("network_interface")
        if not block.expanded or (attached is not UNKNOWN and attached):
            continue  # an attached aws_network_interface is the primary interface
        by_id = str_list(block.body.get("vpc_security_group_ids"))
        by_name = str_list(block.body.get("security_groups"))
        own: Any = UNKNOWN if attached is UNKNOWN or by_id is UNKNOWN or by_name is UNKNOWN \
            else [*by_id, *by_name]
        out.append(_interface(ctx, block, f"{block.address}.primary_network_interface_id",
                              block.body.get("subnet_id", UNKNOWN), own, block.address))
    for block in ctx.declared.managed("aws_network_interface"):
        if block.expanded:
            out.append(_interface(ctx, block, block.address, block.body.get("subnet_id", UNKNOWN),
                                  str_list(block.body.get("security_groups")), None))
    return out


def prefix_lists(ctx: Context) -> list[Resource]:
    """``aws_ec2_managed_prefix_list`` (+ entry resources) -> ``aws.ec2.prefix_list``."""
    out = []
    for block in ctx.declared.managed("aws_ec2_managed_prefix_list"):
        if not block.expanded:
            continue
        attrs = Attrs()
        attrs.set("prefix_list_id", block.address)
        attrs.set("name", str_or_unknown(block.body.get("name", UNKNOWN)), "name not determined")
        attrs.set("address_family", str_or_unknown(block.body.get("address_family", UNKNOWN)),
                  "address family not determined")
        attrs.set("owner_id", block.provider.account)
        inline = block.body.blocks("entry")
        extra, ambiguous = ctx.satellites(("aws_ec2_managed_prefix_list_entry",),
                                          "prefix_list_id", block.address)
        if inline is UNKNOWN or ambiguous:
            attrs.unknown("entries", "generated entry blocks, or an entry resource names an "
                                     "undetermined prefix list")
        else:
            entries = [e.get("cidr", UNKNOWN) for e in inline]
            entries += [e.body.get("cidr", UNKNOWN) for e in extra]
            attrs.set("entries", UNKNOWN if any(not isinstance(e, str) for e in entries)
                      else sorted(entries), "an entry's CIDR is not determined")
        out.append(ctx.resource(PREFIX_LIST, block, attrs, extra))
    return out
