"""VPC networking of one region: VPCs (with gateways, peerings, flow logs), subnets with their
effective routes, security groups, network interfaces, managed prefix lists (with their
entries) and VPC endpoints. Every read is a bulk ``Describe*`` call, except one
``GetManagedPrefixListEntries`` per prefix list.

Only networks the scanned account owns are kept (a subnet shared through RAM is collected in
its owner's account), so an organisation-wide scan sees each one once. Prefix lists are the
exception: AWS-managed and shared lists are kept too (rules name them), recorded under their
owner (``account`` null for AWS-managed lists) so every account's copy is the same resource.
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
NETWORK_INTERFACE = "aws.ec2.network_interface"
PREFIX_LIST = "aws.ec2.prefix_list"
SCOPE = "regional"

OPERATIONS: Mapping[str, frozenset[str]] = {
    VPC: frozenset({"ec2:DescribeVpcs", "ec2:DescribeFlowLogs", "ec2:DescribeInternetGateways",
                    "ec2:DescribeNatGateways", "ec2:DescribeVpcPeeringConnections",
                    "ec2:DescribeTransitGatewayAttachments",
                    "ec2:DescribeEgressOnlyInternetGateways", "ec2:DescribeVpnGateways"}),
    SUBNET: frozenset({"ec2:DescribeSubnets", "ec2:DescribeRouteTables"}),
    SECURITY_GROUP: frozenset({"ec2:DescribeSecurityGroups"}),
    VPC_ENDPOINT: frozenset({"ec2:DescribeVpcEndpoints"}),
    NETWORK_INTERFACE: frozenset({"ec2:DescribeNetworkInterfaces"}),
    PREFIX_LIST: frozenset({"ec2:DescribeManagedPrefixLists", "ec2:GetManagedPrefixListEntries"}),
}
KINDS = frozenset(OPERATIONS)
FEEDS: Feeds = {   # what each read supplies (aslcheck.inventories.aws.context.Feeds)
    "ec2:DescribeVpcs": {VPC: frozenset({LISTED})},
    "ec2:DescribeFlowLogs": {VPC: frozenset({"flow_logs"})},
    "ec2:DescribeInternetGateways": {VPC: frozenset({"internet_gateways"})},
    "ec2:DescribeNatGateways": {VPC: frozenset({"nat_gateways"})},
    "ec2:DescribeVpcPeeringConnections": {VPC: frozenset({"peering_connections"})},
    "ec2:DescribeTransitGatewayAttachments": {VPC: frozenset({"transit_gateway_attachments"})},
    "ec2:DescribeEgressOnlyInternetGateways": {VPC: frozenset({"egress_only_internet_gateways"})},
    "ec2:DescribeVpnGateways": {VPC: frozenset({"vpn_gateways"})},
    "ec2:DescribeSubnets": {SUBNET: frozenset({LISTED})},
    "ec2:DescribeRouteTables": {SUBNET: frozenset({"route_table_id", "routes"})},
    "ec2:DescribeSecurityGroups": {SECURITY_GROUP: frozenset({LISTED})},
    "ec2:DescribeVpcEndpoints": {VPC_ENDPOINT: frozenset({LISTED})},
    "ec2:DescribeNetworkInterfaces": {NETWORK_INTERFACE: frozenset({LISTED})},
    "ec2:DescribeManagedPrefixLists": {PREFIX_LIST: frozenset({LISTED})},
    "ec2:GetManagedPrefixListEntries": {PREFIX_LIST: frozenset({"entries"})},
}

_GONE = frozenset({"deleted", "deleting", "failed", "rejected", "expired", "detached",
                   "detaching"})
_ROUTE_TARGETS = (
    ("GatewayId", None), ("NatGatewayId", "nat_gateway"),
    ("TransitGatewayId", "transit_gateway"), ("VpcPeeringConnectionId", "vpc_peering"),
    ("NetworkInterfaceId", "network_interface"), ("InstanceId", "instance"),
    ("EgressOnlyInternetGatewayId", "egress_only_internet_gateway"),
    ("CarrierGatewayId", "carrier_gateway"), ("LocalGatewayId", "local_gateway"),
    ("CoreNetworkArn", "core_network"), ("OdbNetworkArn", "odb_network"),
)
"""Route target fields in precedence order, with the target type each one means."""
_GATEWAY_PREFIXES = (("igw-", "internet_gateway"), ("vgw-", "vpn_gateway"),
                     ("vpce-", "gateway_endpoint"))


def _arn(target: Target, kind: str, ident: str) -> str:
    return f"arn:{target.partition}:ec2:{target.region}:{target.account}:{kind}/{ident}"


def _owned(target: Target, items: list[Any]) -> list[Any]:
    return [i for i in items if str(i.get("OwnerId", target.account)) == target.account]


def _by_vpc(rd: Reader, op: str, key: str, ids: list[str],
            pairs: Callable[[Mapping[str, Any]], list[tuple[str, str]]],
            paginated: bool = True) -> dict[str, list[str]] | None:
    """``{vpc_id: [id, ...]}`` from one bulk call; ``None`` (errors per VPC) if it failed."""
    mark = len(rd.errors)
    items: Any
    if paginated:
        items = rd.paginate(op, key, VPC)
    else:
        answer = rd.call(op, VPC)
        items = answer.get(key, []) if isinstance(answer, dict) else None
        if not isinstance(items, list) and isinstance(answer, dict):
            rd.fail(op, VPC, None, "UnexpectedResponse", f"{key} is not a list")
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
        "egress_only_internet_gateways": _by_vpc(
            rd, "ec2:DescribeEgressOnlyInternetGateways", "EgressOnlyInternetGateways", arns,
            lambda g: [(str(a["VpcId"]), str(g["EgressOnlyInternetGatewayId"]))
                       for a in g.get("Attachments") or () if a.get("State") not in _GONE]),
        "vpn_gateways": _by_vpc(
            rd, "ec2:DescribeVpnGateways", "VpnGateways", arns,
            lambda g: [] if g.get("State") in _GONE else [
                (str(a["VpcId"]), str(g["VpnGatewayId"])) for a in g.get("VpcAttachments") or ()
                if a.get("State") not in _GONE], paginated=False),
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


def route_target(route: Mapping[str, Any]) -> tuple[str | None, str]:
    """(target ID, target type) of an API route; type ``unknown`` for an unrecognised target."""
    for key, kind in _ROUTE_TARGETS:
        value = route.get(key)
        if not value:
            continue
        ident = str(value)
        if kind is not None:
            return ident, kind
        if ident == "local":
            return ident, "local"
        return ident, next((k for p, k in _GATEWAY_PREFIXES if ident.startswith(p)), "unknown")
    return None, "unknown"


def _routes(table: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for route in table.get("Routes") or ():
        dest = (route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock")
                or route.get("DestinationPrefixListId"))
        tgt, kind = route_target(route)
        out.append({"destination": dest, "target": tgt, "target_type": kind,
                    "state": route.get("State"), "origin": route.get("Origin")})
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


def _interfaces(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[NETWORK_INTERFACE])
    op = "ec2:DescribeNetworkInterfaces"
    items = rd.paginate(op, "NetworkInterfaces", NETWORK_INTERFACE)
    got = rd.parse(op, NETWORK_INTERFACE, None, lambda: [Resource(
        kind=NETWORK_INTERFACE, id=_arn(target, "network-interface", str(n["NetworkInterfaceId"])),
        source="aws",
        attributes={"eni_id": str(n["NetworkInterfaceId"]), "vpc_id": n.get("VpcId"),
                    "subnet_id": n.get("SubnetId"), "interface_type": n.get("InterfaceType"),
                    "status": n.get("Status"),
                    "security_groups": sorted(str(g["GroupId"]) for g in n.get("Groups") or ()),
                    "instance_id": (n.get("Attachment") or {}).get("InstanceId"),
                    "requester_managed": n.get("RequesterManaged") is True,
                    "description": n.get("Description")},
        tags=tag_list(n.get("TagSet")), account=target.account, region=target.region)
        for n in _owned(target, items)]) if isinstance(items, list) else None
    if got is None:
        return Outcome(errors=rd.errors, incomplete={NETWORK_INTERFACE})
    return Outcome(resources=got.value, errors=rd.errors)


def _prefix_list(target: Target, arn: str, attrs: dict[str, Any], tags: dict[str, str],
                 account: str | None) -> Outcome:
    rd = target.reader(OPERATIONS[PREFIX_LIST])
    op = "ec2:GetManagedPrefixListEntries"
    entries = rd.paginate(op, "Entries", PREFIX_LIST, arn, PrefixListId=attrs["prefix_list_id"])
    if isinstance(entries, list):
        got = rd.parse(op, PREFIX_LIST, arn, lambda: sorted(str(e["Cidr"]) for e in entries))
        if got is not None:
            attrs["entries"] = got.value
    resource = Resource(kind=PREFIX_LIST, id=arn, source="aws", attributes=attrs, tags=tags,
                        account=account, region=target.region)
    return Outcome(resources=[resource], errors=rd.errors)


def _prefix_lists(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[PREFIX_LIST])
    op = "ec2:DescribeManagedPrefixLists"
    items = rd.paginate(op, "PrefixLists", PREFIX_LIST)

    def owner(p: Mapping[str, Any]) -> str | None:
        # NOTE: AWS-managed lists (owner "AWS") belong to no account, like AWS-managed policies.
        who = str(p.get("OwnerId") or target.account)
        return who if who.isdigit() else None

    got = rd.parse(op, PREFIX_LIST, None, lambda: [
        (str(p.get("PrefixListArn") or _arn(target, "prefix-list", str(p["PrefixListId"]))),
         {"prefix_list_id": str(p["PrefixListId"]), "name": p.get("PrefixListName"),
          "address_family": p.get("AddressFamily"), "owner_id": p.get("OwnerId"),
          "state": p.get("State")}, tag_list(p.get("Tags")), owner(p))
        for p in items]) if isinstance(items, list) else None
    if got is None:
        return Outcome(errors=rd.errors, incomplete={PREFIX_LIST})
    followups = [Task(target.label(f"ec2:{attrs['prefix_list_id']}"),
                      partial(_prefix_list, target, arn, attrs, tags, account),
                      frozenset({PREFIX_LIST}))
                 for arn, attrs, tags, account in got.value]
    return Outcome(errors=rd.errors, followups=followups)


_TASKS: Mapping[str, Callable[[Target], Outcome]] = {
    VPC: _vpcs, SUBNET: _subnets, SECURITY_GROUP: _security_groups, VPC_ENDPOINT: _endpoints,
    NETWORK_INTERFACE: _interfaces, PREFIX_LIST: _prefix_lists,
}


def plan(target: Target, kinds: frozenset[str]) -> list[Task]:
    """One bulk task per requested VPC kind in one account/region."""
    return [Task(target.label(kind), partial(fn, target), frozenset({kind}))
            for kind, fn in _TASKS.items() if kind in kinds]
