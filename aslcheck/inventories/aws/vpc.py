"""VPC networking of one region: VPCs (with gateways, peerings, flow logs), subnets with their
effective routes, security groups and VPC endpoints. Every read is a bulk ``Describe*`` call.

Only networks the scanned account owns are kept (a subnet shared through RAM is collected in
its owner's account), so an organisation-wide scan sees each one once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from aslcheck.inventories.aws.context import LISTED, Feeds, Outcome, Reader, Target, Task
from aslcheck.inventories.aws.normalise import optional_policy, tag_list
from aslcheck.inventories.snapshot import Resource

VPC = "aws.ec2.vpc"
SUBNET = "aws.ec2.subnet"
SECURITY_GROUP = "aws.ec2.security_group"
VPC_ENDPOINT = "aws.ec2.vpc_endpoint"
SCOPE = "regional"

OPERATIONS: Mapping[str, frozenset[str]] = {
    VPC: frozenset({"ec2:DescribeVpcs", "ec2:DescribeFlowLogs", "ec2:DescribeInternetGateways",
                    "ec2:DescribeNatGateways", "ec2:DescribeVpcPeeringConnections",
                    "ec2:DescribeTransitGatewayAttachments"}),
    SUBNET: frozenset({"ec2:DescribeSubnets", "ec2:DescribeRouteTables"}),
    SECURITY_GROUP: frozenset({"ec2:DescribeSecurityGroups"}),
    VPC_ENDPOINT: frozenset({"ec2:DescribeVpcEndpoints"}),
}
KINDS = frozenset(OPERATIONS)
FEEDS: Feeds = {   # what each read supplies (aslcheck.inventories.aws.context.Feeds)
    "ec2:DescribeVpcs": {VPC: frozenset({LISTED})},
    "ec2:DescribeFlowLogs": {VPC: frozenset({"flow_logs"})},
    "ec2:DescribeInternetGateways": {VPC: frozenset({"internet_gateways"})},
    "ec2:DescribeNatGateways": {VPC: frozenset({"nat_gateways"})},
    "ec2:DescribeVpcPeeringConnections": {VPC: frozenset({"peering_connections"})},
    "ec2:DescribeTransitGatewayAttachments": {VPC: frozenset({"transit_gateway_attachments"})},
    "ec2:DescribeSubnets": {SUBNET: frozenset({LISTED})},
    "ec2:DescribeRouteTables": {SUBNET: frozenset({"route_table_id", "routes"})},
    "ec2:DescribeSecurityGroups": {SECURITY_GROUP: frozenset({LISTED})},
    "ec2:DescribeVpcEndpoints": {VPC_ENDPOINT: frozenset({LISTED})},
}

_GONE = frozenset({"deleted", "deleting", "failed", "rejected", "expired"})
_ROUTE_TARGETS = ("GatewayId", "NatGatewayId", "TransitGatewayId", "VpcPeeringConnectionId",
                  "NetworkInterfaceId", "InstanceId", "EgressOnlyInternetGatewayId",
                  "CarrierGatewayId", "LocalGatewayId", "CoreNetworkArn")


def _arn(target: Target, kind: str, ident: str) -> str:
    return f"arn:{target.partition}:ec2:{target.region}:{target.account}:{kind}/{ident}"


def _owned(target: Target, items: list[Any]) -> list[Any]:
    return [i for i in items if str(i.get("OwnerId", target.account)) == target.account]


def _by_vpc(rd: Reader, op: str, key: str, ids: list[str],
            pairs: Callable[[Mapping[str, Any]], list[tuple[str, str]]]) -> dict[str, list[str]] | None:
    """``{vpc_id: [id, ...]}`` from one bulk call; ``None`` (errors per VPC) if it failed."""
    mark = len(rd.errors)
    items = rd.paginate(op, key, VPC)
    got = rd.parse(op, VPC, None, lambda: [p for i in items for p in pairs(i)]) \
        if isinstance(items, list) else None
    if got is None:
        rd.spread(mark, ids)
        return None
    out: dict[str, list[str]] = {}
    for vpc_id, ident in got.value:
        out.setdefault(vpc_id, []).append(ident)
    return {k: sorted(set(v)) for k, v in out.items()}


def _vpcs(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[VPC])
    items = rd.paginate("ec2:DescribeVpcs", "Vpcs", VPC)
    if not isinstance(items, list):
        return Outcome(errors=rd.errors, incomplete={VPC})
    got = rd.parse("ec2:DescribeVpcs", VPC, None, lambda: [
        (_arn(target, "vpc", str(v["VpcId"])), str(v["VpcId"]),
         {"vpc_id": str(v["VpcId"]), "cidr": str(v["CidrBlock"]),
          "is_default": v.get("IsDefault") is True}, tag_list(v.get("Tags")))
        for v in _owned(target, items)])
    if got is None:
        return Outcome(errors=rd.errors, incomplete={VPC})
    arns = [arn for arn, *_ in got.value]
    mark = len(rd.errors)
    flow = rd.paginate("ec2:DescribeFlowLogs", "FlowLogs", VPC) if arns else []
    flows: dict[str, list[dict[str, Any]]] | None = None
    if isinstance(flow, list):
        parsed = rd.parse("ec2:DescribeFlowLogs", VPC, None, lambda: [
            (str(f["ResourceId"]), {"id": str(f["FlowLogId"]), "status": f.get("FlowLogStatus"),
                                    "traffic_type": f.get("TrafficType"),
                                    "destination": f.get("LogDestination") or f.get("LogGroupName")})
            for f in flow])
        if parsed is not None:
            flows = {}
            for vpc_id, entry in parsed.value:
                flows.setdefault(vpc_id, []).append(entry)
    if flows is None:
        rd.spread(mark, arns)
    aux = {
        "internet_gateways": _by_vpc(rd, "ec2:DescribeInternetGateways", "InternetGateways", arns,
                                     lambda g: [(str(a["VpcId"]), str(g["InternetGatewayId"]))
                                                for a in g.get("Attachments") or ()]),
        "nat_gateways": _by_vpc(rd, "ec2:DescribeNatGateways", "NatGateways", arns,
                                lambda n: [] if n.get("State") in _GONE
                                else [(str(n["VpcId"]), str(n["NatGatewayId"]))]),
        "peering_connections": _by_vpc(
            rd, "ec2:DescribeVpcPeeringConnections", "VpcPeeringConnections", arns,
            lambda p: [] if (p.get("Status") or {}).get("Code") in _GONE else [
                (str(side["VpcId"]), str(p["VpcPeeringConnectionId"]))
                for side in (p.get("RequesterVpcInfo"), p.get("AccepterVpcInfo"))
                if side and side.get("VpcId")]),
        "transit_gateway_attachments": _by_vpc(
            rd, "ec2:DescribeTransitGatewayAttachments", "TransitGatewayAttachments", arns,
            lambda t: [] if t.get("ResourceType") != "vpc" or t.get("State") in _GONE
            else [(str(t["ResourceId"]), str(t["TransitGatewayAttachmentId"]))]),
    } if arns else {}
    resources = []
    for arn, vpc_id, attrs, tags in got.value:
        if flows is not None:
            attrs["flow_logs"] = sorted(flows.get(vpc_id, []), key=lambda f: str(f["id"]))
        for name, table in aux.items():
            if table is not None:
                attrs[name] = table.get(vpc_id, [])
        resources.append(Resource(kind=VPC, id=arn, source="aws", attributes=attrs, tags=tags,
                                  account=target.account, region=target.region))
    return Outcome(resources=resources, errors=rd.errors)


def _routes(table: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for route in table.get("Routes") or ():
        dest = (route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock")
                or route.get("DestinationPrefixListId"))
        tgt = next((route[k] for k in _ROUTE_TARGETS if route.get(k)), None)
        out.append({"destination": dest, "target": tgt, "state": route.get("State")})
    return out


def _route_index(tables: list[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Route tables by explicitly associated subnet and main tables by VPC."""
    explicit: dict[str, Any] = {}
    main: dict[str, Any] = {}
    for table in tables:
        for assoc in table.get("Associations") or ():
            if assoc.get("Main"):
                main[str(table["VpcId"])] = table
            elif assoc.get("SubnetId"):
                explicit[str(assoc["SubnetId"])] = table
    return explicit, main


def _subnets(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[SUBNET])
    items = rd.paginate("ec2:DescribeSubnets", "Subnets", SUBNET)
    if not isinstance(items, list):
        return Outcome(errors=rd.errors, incomplete={SUBNET})
    got = rd.parse("ec2:DescribeSubnets", SUBNET, None, lambda: [
        (str(s.get("SubnetArn") or _arn(target, "subnet", str(s["SubnetId"]))),
         {"subnet_id": str(s["SubnetId"]), "vpc_id": str(s["VpcId"]), "cidr": s.get("CidrBlock"),
          "map_public_ip_on_launch": s.get("MapPublicIpOnLaunch") is True},
         tag_list(s.get("Tags")))
        for s in _owned(target, items)])
    if got is None:
        return Outcome(errors=rd.errors, incomplete={SUBNET})
    mark = len(rd.errors)
    tables = rd.paginate("ec2:DescribeRouteTables", "RouteTables", SUBNET) if got.value else []
    index = rd.parse("ec2:DescribeRouteTables", SUBNET, None,
                     lambda: _route_index(tables)) if isinstance(tables, list) else None
    if index is None:
        rd.spread(mark, [arn for arn, *_ in got.value])
    resources = []
    for arn, attrs, tags in got.value:
        if index is not None:
            explicit, main = index.value
            table = explicit.get(attrs["subnet_id"]) or main.get(attrs["vpc_id"])
            if table is None:
                rd.fail("ec2:DescribeRouteTables", SUBNET, arn, "UnexpectedResponse",
                        "no explicit or main route table for the subnet")
            else:
                routes = rd.parse("ec2:DescribeRouteTables", SUBNET, arn,
                                  _routes, table)
                if routes is not None:
                    attrs["route_table_id"] = str(table.get("RouteTableId"))
                    attrs["routes"] = routes.value
        resources.append(Resource(kind=SUBNET, id=arn, source="aws", attributes=attrs,
                                  tags=tags, account=target.account, region=target.region))
    return Outcome(resources=resources, errors=rd.errors)


def _rules(perms: list[Any] | None) -> list[dict[str, Any]]:
    return [
        {
            "protocol": str(p["IpProtocol"]),
            "from_port": p.get("FromPort"),
            "to_port": p.get("ToPort"),
            "cidrs": sorted(str(r["CidrIp"]) for r in p.get("IpRanges") or ()),
            "ipv6_cidrs": sorted(str(r["CidrIpv6"]) for r in p.get("Ipv6Ranges") or ()),
            "prefix_lists": sorted(str(r["PrefixListId"]) for r in p.get("PrefixListIds") or ()),
            "groups": sorted(str(r["GroupId"]) for r in p.get("UserIdGroupPairs") or ()),
        }
        for p in perms or ()
    ]


def _security_groups(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[SECURITY_GROUP])
    op = "ec2:DescribeSecurityGroups"
    items = rd.paginate(op, "SecurityGroups", SECURITY_GROUP)
    got = rd.parse(op, SECURITY_GROUP, None, lambda: [Resource(
        kind=SECURITY_GROUP,
        id=str(g.get("SecurityGroupArn") or _arn(target, "security-group", str(g["GroupId"]))),
        source="aws",
        attributes={"group_id": str(g["GroupId"]), "vpc_id": g.get("VpcId"),
                    "name": str(g["GroupName"]), "ingress": _rules(g.get("IpPermissions")),
                    "egress": _rules(g.get("IpPermissionsEgress"))},
        tags=tag_list(g.get("Tags")), account=target.account, region=target.region)
        for g in _owned(target, items)]) if isinstance(items, list) else None
    if got is None:
        return Outcome(errors=rd.errors, incomplete={SECURITY_GROUP})
    return Outcome(resources=got.value, errors=rd.errors)


def _endpoints(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[VPC_ENDPOINT])
    op = "ec2:DescribeVpcEndpoints"
    items = rd.paginate(op, "VpcEndpoints", VPC_ENDPOINT)
    got = rd.parse(op, VPC_ENDPOINT, None, lambda: [Resource(
        kind=VPC_ENDPOINT, id=_arn(target, "vpc-endpoint", str(e["VpcEndpointId"])),
        source="aws",
        attributes={"endpoint_id": str(e["VpcEndpointId"]), "vpc_id": str(e["VpcId"]),
                    "service_name": str(e["ServiceName"]), "type": e.get("VpcEndpointType"),
                    "state": e.get("State"), "policy": optional_policy(e.get("PolicyDocument"))},
        tags=tag_list(e.get("Tags")), account=target.account, region=target.region)
        for e in _owned(target, items)]) if isinstance(items, list) else None
    if got is None:
        return Outcome(errors=rd.errors, incomplete={VPC_ENDPOINT})
    return Outcome(resources=got.value, errors=rd.errors)


_TASKS: Mapping[str, Callable[[Target], Outcome]] = {
    VPC: _vpcs, SUBNET: _subnets, SECURITY_GROUP: _security_groups, VPC_ENDPOINT: _endpoints,
}


def plan(target: Target, kinds: frozenset[str]) -> list[Task]:
    """One bulk task per requested VPC kind in one account/region."""
    return [Task(target.label(kind), partial(fn, target), frozenset({kind}))
            for kind, fn in _TASKS.items() if kind in kinds]
