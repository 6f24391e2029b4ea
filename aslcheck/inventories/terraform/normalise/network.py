"""VPCs, subnets, security groups and VPC endpoints from code.

IDs AWS assigns at apply (``vpc-...``, ``sg-...``, ``vpce-...``) are Terraform addresses here,
on both sides of every reference, so ``vpc_id`` of a security group equals ``vpc_id`` of its
VPC. Terraform removes the default allow-all egress rule from the security groups it creates,
so a group without ``egress`` blocks or egress rule resources has no egress rules. (The
default group AWS creates with every VPC is another matter: see :mod:`.interfaces`.)

Routes carry a ``target_type`` read from the argument that names the target and, for
``gateway_id``, from what the reference points at (``aws_internet_gateway.x.id`` is an
internet gateway even though its ID is an address). Routes a VPN gateway propagates are
known only after apply: they appear with an undetermined destination.
"""

from __future__ import annotations

from typing import Any

from aslcheck.inventories.snapshot import Resource
from aslcheck.inventories.terraform.declared import UNKNOWN, Block, Body
from aslcheck.inventories.terraform.normalise.base import (
    Attrs,
    Context,
    bool_arg,
    int_arg,
    str_list,
    str_or_unknown,
)
from aslcheck.inventories.terraform.policy import normalised
from aslcheck.inventories.terraform.resolve import main_route_table

VPC = "aws.ec2.vpc"
SUBNET = "aws.ec2.subnet"
SECURITY_GROUP = "aws.ec2.security_group"
VPC_ENDPOINT = "aws.ec2.vpc_endpoint"

_PROTOCOLS = {"all": "-1", "-1": "-1", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
_TARGETS = {"gateway_id": None, "nat_gateway_id": "nat_gateway",
            "transit_gateway_id": "transit_gateway", "vpc_peering_connection_id": "vpc_peering",
            "network_interface_id": "network_interface", "vpc_endpoint_id": "gateway_endpoint",
            "egress_only_gateway_id": "egress_only_internet_gateway",
            "local_gateway_id": "local_gateway", "carrier_gateway_id": "carrier_gateway",
            "core_network_arn": "core_network"}
"""Route target arguments -> target type (``gateway_id``: decided by its value)."""
_GATEWAYS = (("aws_internet_gateway.", "internet_gateway"), ("igw-", "internet_gateway"),
             ("aws_vpn_gateway.", "vpn_gateway"), ("vgw-", "vpn_gateway"),
             ("aws_vpc_endpoint.", "gateway_endpoint"), ("vpce-", "gateway_endpoint"))
PROPAGATED = "(propagated by {}: known after apply)"
"""Destination of routes a VPN gateway propagates into a table."""
UNDETERMINED_PREFIX_LIST = "(undetermined prefix list)"
"""A prefix-list ID the code does not determine (a data source...): judged both ways."""


def _protocol(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return UNKNOWN
    return _PROTOCOLS.get(value.lower(), value.lower())


def _rule(protocol: Any, from_port: Any, to_port: Any, cidrs: Any, ipv6: Any, prefixes: Any,
          groups: Any) -> dict[str, Any]:
    proto = _protocol(protocol)
    # NOTE: the API reports no port range for "all protocols"; the model follows the API.
    all_ports = proto == "-1"
    return {"protocol": proto, "from_port": None if all_ports else from_port,
            "to_port": None if all_ports else to_port, "cidrs": cidrs, "ipv6_cidrs": ipv6,
            "prefix_lists": prefixes, "groups": groups}


def prefix_lists(value: Any) -> Any:
    """Prefix-list IDs of a rule; an undetermined ID is kept as a marker the egress judgement
    reads both ways (an ID names a list that may or may not be collected anyway)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return UNKNOWN
    return [v if isinstance(v, str) else UNDETERMINED_PREFIX_LIST for v in value]


def _inline(body: Body, group: str) -> dict[str, Any]:
    groups = str_list(body.get("security_groups"))
    if bool_arg(body, "self", False) is True and groups is not UNKNOWN:
        groups = [*groups, group]
    return _rule(body.get("protocol", UNKNOWN), int_arg(body, "from_port", None),
                 int_arg(body, "to_port", None), str_list(body.get("cidr_blocks")),
                 str_list(body.get("ipv6_cidr_blocks")), prefix_lists(body.get("prefix_list_ids")),
                 groups)


def _classic_rule(body: Body, group: str) -> dict[str, Any]:
    source = body.get("source_security_group_id")
    groups: Any = [] if source is None else ([source] if isinstance(source, str) else UNKNOWN)
    if bool_arg(body, "self", False) is True:
        groups = [group]
    return _rule(body.get("protocol", UNKNOWN), int_arg(body, "from_port", None),
                 int_arg(body, "to_port", None), str_list(body.get("cidr_blocks")),
                 str_list(body.get("ipv6_cidr_blocks")), prefix_lists(body.get("prefix_list_ids")),
                 groups)


def _one(value: Any) -> Any:
    return [] if value is None else ([value] if isinstance(value, str) else UNKNOWN)


def _vpc_rule(body: Body) -> dict[str, Any]:
    return _rule(body.get("ip_protocol", UNKNOWN), int_arg(body, "from_port", None),
                 int_arg(body, "to_port", None), _one(body.get("cidr_ipv4")),
                 _one(body.get("cidr_ipv6")), prefix_lists(body.get("prefix_list_id")),
                 _one(body.get("referenced_security_group_id")))


def _security_group(ctx: Context, block: Block) -> Resource:
    body = block.body
    attrs = Attrs()
    attrs.set("group_id", block.address)
    attrs.set("vpc_id", str_or_unknown(body.get("vpc_id", UNKNOWN)),
              "vpc_id not set or not determined (a group without vpc_id lands in the default VPC)")
    default = "default" if block.type == "aws_default_security_group" else UNKNOWN
    attrs.set("name", str_or_unknown(body.get("name", default)), "name not determined")
    parts: list[Block] = []
    for direction in ("egress", "ingress"):
        inline = body.blocks(direction)
        classic, amb1 = ctx.satellites(("aws_security_group_rule",), "security_group_id",
                                       block.address)
        classic = [c for c in classic if c.body.get("type") == direction]
        modern, amb2 = ctx.satellites((f"aws_vpc_security_group_{direction}_rule",),
                                      "security_group_id", block.address)
        parts.extend(classic + modern)
        if inline is UNKNOWN or amb1 or amb2:
            attrs.unknown(direction, f"generated {direction} blocks or a rule resource names an "
                                     "undetermined security group")
            continue
        rules = ([_inline(r, block.address) for r in inline]
                 + [_classic_rule(c.body, block.address) for c in classic]
                 + [_vpc_rule(m.body) for m in modern])
        attrs.set(direction, rules, f"an {direction} rule is not determined")
    return ctx.resource(SECURITY_GROUP, block, attrs, parts)


def security_groups(ctx: Context) -> list[Resource]:
    """``aws_security_group``/``aws_default_security_group`` (+ rule resources)."""
    return [_security_group(ctx, b) for b in ctx.declared.managed(
        "aws_security_group", "aws_default_security_group") if b.expanded]


def _addresses(ctx: Context, types: tuple[str, ...], arg: str, *targets: Any,
               required: bool = True) -> Any:
    found, ambiguous = ctx.satellites(types, arg, *targets, required=required)
    return UNKNOWN if ambiguous else sorted(b.address for b in found)


def _vpc(ctx: Context, block: Block) -> Resource:
    attrs = Attrs()
    me = block.address
    attrs.set("vpc_id", me)
    attrs.set("cidr", str_or_unknown(block.body.get("cidr_block", UNKNOWN)), "CIDR not determined")
    attrs.set("is_default", False)
    logs, ambiguous = ctx.satellites(("aws_flow_log",), "vpc_id", me, required=False)
    if ambiguous:
        attrs.unknown("flow_logs", "an aws_flow_log names an undetermined VPC")
    else:
        attrs.set("flow_logs", [{
            "id": f.address, "status": "ACTIVE",
            "traffic_type": str_or_unknown(f.body.get("traffic_type", UNKNOWN)),
            "destination": str_or_unknown(f.body.get("log_destination",
                                                     f.body.get("log_group_name")))}
            for f in logs], "a flow log is not determined")
    gws, amb1 = ctx.satellites(("aws_internet_gateway",), "vpc_id", me, required=False)
    att, amb2 = ctx.satellites(("aws_internet_gateway_attachment",), "vpc_id", me)
    attrs.set("internet_gateways", UNKNOWN if amb1 or amb2 else sorted(
        {g.address for g in gws} | {str_or_unknown(a.body.get("internet_gateway_id", UNKNOWN))
                                    for a in att}),
              "an internet gateway names an undetermined VPC")
    subnets = _addresses(ctx, ("aws_subnet",), "vpc_id", me)
    attrs.set("nat_gateways", UNKNOWN if subnets is UNKNOWN else
              _addresses(ctx, ("aws_nat_gateway",), "subnet_id", *subnets),
              "a NAT gateway's subnet is not determined")
    own = _addresses(ctx, ("aws_vpc_peering_connection",), "vpc_id", me)
    peer = _addresses(ctx, ("aws_vpc_peering_connection",), "peer_vpc_id", me)
    attrs.set("peering_connections", UNKNOWN if UNKNOWN in (own, peer) else sorted({*own, *peer}),
              "a peering connection names an undetermined VPC")
    attrs.set("transit_gateway_attachments",
              _addresses(ctx, ("aws_ec2_transit_gateway_vpc_attachment",), "vpc_id", me),
              "a transit gateway attachment names an undetermined VPC")
    attrs.set("egress_only_internet_gateways",
              _addresses(ctx, ("aws_egress_only_internet_gateway",), "vpc_id", me),
              "an egress-only internet gateway names an undetermined VPC")
    vgws, amb3 = ctx.satellites(("aws_vpn_gateway",), "vpc_id", me, required=False)
    vatt, amb4 = ctx.satellites(("aws_vpn_gateway_attachment",), "vpc_id", me)
    attrs.set("vpn_gateways", UNKNOWN if amb3 or amb4 else sorted(
        {g.address for g in vgws} | {str_or_unknown(a.body.get("vpn_gateway_id", UNKNOWN))
                                     for a in vatt}),
              "a VPN gateway names an undetermined VPC")
    return ctx.resource(VPC, block, attrs)


def vpcs(ctx: Context) -> list[Resource]:
    """``aws_vpc`` (+ flow logs, gateways, peering, TGW attachments) -> ``aws.ec2.vpc``."""
    return [_vpc(ctx, b) for b in ctx.declared.managed("aws_vpc") if b.expanded]


def _target_type(arg: str, value: Any) -> Any:
    kind = _TARGETS.get(arg)
    if kind is not None:
        return kind
    if not isinstance(value, str):
        return UNKNOWN
    if value == "local":
        return "local"
    return next((k for p, k in _GATEWAYS if value.startswith(p)), "unknown")


def _route(body: Body, dest_args: tuple[str, ...]) -> dict[str, Any]:
    dest = next((body.get(a) for a in dest_args if body.has(a)), UNKNOWN)
    arg = next((t for t in _TARGETS if body.has(t)), None)
    target = body.get(arg) if arg is not None else UNKNOWN
    return {"destination": str_or_unknown(dest), "target": str_or_unknown(target),
            "target_type": _target_type(arg, target) if arg is not None else UNKNOWN}


def _propagated(ctx: Context, table: Block | None, ids: tuple[str, ...]) -> Any:
    """Pseudo-routes for the VPN gateways that propagate into the table."""
    vgws: Any = []
    if table is not None and table.body.has("propagating_vgws"):
        vgws = str_list(table.body.get("propagating_vgws"))
    found, ambiguous = ctx.satellites(("aws_vpn_gateway_route_propagation",), "route_table_id",
                                      *ids)
    if vgws is UNKNOWN or ambiguous:
        return UNKNOWN
    names = [*vgws, *(str_or_unknown(f.body.get("vpn_gateway_id", UNKNOWN)) for f in found)]
    return [{"destination": PROPAGATED.format(v if isinstance(v, str) else "a VPN gateway"),
             "target": v if isinstance(v, str) else "(undetermined VPN gateway)",
             "target_type": "vpn_gateway"} for v in names]


def _routes(ctx: Context, vpc: Any, table: Block | None, ids: tuple[str, ...]) -> Any:
    """Routes of one table: the implicit local route, inline routes, ``aws_route`` resources."""
    cidr = next((v.body.get("cidr_block") for v in ctx.declared.managed("aws_vpc")
                 if v.address == vpc), UNKNOWN)
    routes = [{"destination": str_or_unknown(cidr), "target": "local", "target_type": "local"}]
    if table is not None:
        inline = table.body.blocks("route")
        if inline is UNKNOWN:
            return UNKNOWN
        routes += [_route(r, ("cidr_block", "ipv6_cidr_block", "destination_prefix_list_id"))
                   for r in inline]
    extra, ambiguous = ctx.satellites(("aws_route",), "route_table_id", *ids)
    propagated = _propagated(ctx, table, ids)
    if ambiguous or propagated is UNKNOWN:
        return UNKNOWN
    routes += [_route(r.body, ("destination_cidr_block", "destination_ipv6_cidr_block",
                               "destination_prefix_list_id")) for r in extra]
    return routes + propagated


def _table(ctx: Context, address: Any) -> Block | None:
    return next((t for t in ctx.declared.managed("aws_route_table") if t.address == address), None)


def _effective_routes(ctx: Context, subnet: Block, vpc: Any) -> tuple[Any, str]:
    """Routes of the subnet's explicit route table, else of its VPC's main route table."""
    assoc, ambiguous = ctx.satellites(("aws_route_table_association",), "subnet_id",
                                      subnet.address, required=False)
    if ambiguous or len(assoc) > 1:
        return UNKNOWN, "route table association not determined"
    if assoc:
        table = _table(ctx, assoc[0].body.get("route_table_id"))
        if table is None:
            return UNKNOWN, "the associated route table is not declared in the code"
        return _routes(ctx, vpc, table, (table.address,)), "a route is not determined"
    if not isinstance(vpc, str):
        return UNKNOWN, "VPC not determined"
    token = main_route_table(vpc)
    main, amb1 = ctx.satellites(("aws_main_route_table_association",), "vpc_id", vpc)
    managed, amb2 = ctx.satellites(("aws_default_route_table",), "default_route_table_id", token)
    if amb1 or amb2 or len(main) + len(managed) > 1:
        return UNKNOWN, "main route table not determined"
    if main:
        table = _table(ctx, main[0].body.get("route_table_id"))
        if table is None:
            return UNKNOWN, "the main route table is not declared in the code"
        return _routes(ctx, vpc, table, (table.address, token)), "a route is not determined"
    # NOTE: without a managed main table, a new VPC's main table holds only the local route
    # (plus aws_route resources added to it).
    return (_routes(ctx, vpc, managed[0] if managed else None, (token,)),
            "a route is not determined")


def _subnet(ctx: Context, block: Block) -> Resource:
    body = block.body
    attrs = Attrs()
    attrs.set("subnet_id", block.address)
    vpc = str_or_unknown(body.get("vpc_id", UNKNOWN))
    attrs.set("vpc_id", vpc, "vpc_id not determined")
    attrs.set("map_public_ip_on_launch", bool_arg(body, "map_public_ip_on_launch", False))
    routes, why = _effective_routes(ctx, block, vpc)
    attrs.set("routes", routes, why)
    return ctx.resource(SUBNET, block, attrs)


def subnets(ctx: Context) -> list[Resource]:
    """``aws_subnet`` (+ its route table) -> ``aws.ec2.subnet``."""
    return [_subnet(ctx, b) for b in ctx.declared.managed("aws_subnet") if b.expanded]


def endpoints(ctx: Context) -> list[Resource]:
    """``aws_vpc_endpoint`` -> ``aws.ec2.vpc_endpoint`` (its ID is its address)."""
    out = []
    for block in ctx.declared.managed("aws_vpc_endpoint"):
        if not block.expanded:
            continue
        b = block.body
        attrs = Attrs()
        attrs.set("endpoint_id", block.address)
        attrs.set("vpc_id", str_or_unknown(b.get("vpc_id", UNKNOWN)), "vpc_id not determined")
        attrs.set("service_name", str_or_unknown(b.get("service_name", UNKNOWN)),
                  "service name not determined")
        attrs.set("type", str_or_unknown(b.get("vpc_endpoint_type", "Gateway")))
        attrs.set("policy", normalised(b.get("policy")), "endpoint policy not determined")
        out.append(ctx.resource(VPC_ENDPOINT, block, attrs))
    return out
