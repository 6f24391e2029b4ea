"""Routes, isolation and endpoint perimeters on the real moto server: exits by target type
(IPv6 egress-only gateways, transit and VPN gateways with public destinations, prefix-list
destinations), and denied reads that must give ERROR."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from awsfake import RecordingProxy
from awsseed import ACCOUNT, WEIGHT_TAG, client, moto_api

from aslcheck.checks.interface import Status
from tests.checks.aws_network.netfix import (
    ENDPOINTS,
    ISOLATED,
    REGION,
    ROUTES,
    collect_live,
    live_arn,
    run,
    statuses,
)

EVERY = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}


@dataclass(frozen=True)
class Lab:
    url: str
    vpcs: dict[str, str]
    subnets: dict[str, str]
    endpoints: dict[str, str]


def _vpc(ec2: Any, cidr: str) -> str:
    return str(ec2.create_vpc(CidrBlock=cidr, TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [WEIGHT_TAG]}])["Vpc"]["VpcId"])


def _seed(url: str) -> Lab:
    ec2 = client(url, "ec2")
    w = _vpc(ec2, "10.40.0.0/16")
    tgw = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    vgw = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
    public_list = ec2.create_managed_prefix_list(
        PrefixListName="partner", MaxEntries=5, AddressFamily="IPv4",
        Entries=[{"Cidr": "203.0.113.0/24"}, {"Cidr": "52.94.0.0/22"}])["PrefixList"]["PrefixListId"]
    private_list = ec2.create_managed_prefix_list(
        PrefixListName="corp", MaxEntries=5, AddressFamily="IPv4",
        Entries=[{"Cidr": "10.0.0.0/8"}])["PrefixList"]["PrefixListId"]
    subnets: dict[str, str] = {}

    def subnet(name: str, cidr: str, **route: Any) -> None:
        sid = str(ec2.create_subnet(VpcId=w, CidrBlock=cidr)["Subnet"]["SubnetId"])
        table = ec2.create_route_table(VpcId=w)["RouteTable"]["RouteTableId"]
        if route:
            ec2.create_route(RouteTableId=table, **route)
        ec2.associate_route_table(RouteTableId=table, SubnetId=sid)
        subnets[name] = sid

    eigw = ec2.create_egress_only_internet_gateway(VpcId=w)["EgressOnlyInternetGateway"][
        "EgressOnlyInternetGatewayId"]
    subnet("ipv6-egress-only", "10.40.1.0/24", DestinationIpv6CidrBlock="::/0",
           EgressOnlyInternetGatewayId=eigw)
    subnet("tgw-default", "10.40.2.0/24", DestinationCidrBlock="0.0.0.0/0", TransitGatewayId=tgw)
    subnet("tgw-public-half", "10.40.3.0/24", DestinationCidrBlock="128.0.0.0/1", TransitGatewayId=tgw)
    subnet("tgw-private", "10.40.4.0/24", DestinationCidrBlock="172.16.0.0/12", TransitGatewayId=tgw)
    subnet("tgw-public-list", "10.40.5.0/24", DestinationPrefixListId=public_list, TransitGatewayId=tgw)
    subnet("tgw-private-list", "10.40.6.0/24", DestinationPrefixListId=private_list,
           TransitGatewayId=tgw)
    subnet("vgw-public", "10.40.7.0/24", DestinationCidrBlock="0.0.0.0/0", GatewayId=vgw)
    subnet("vgw-private", "10.40.8.0/24", DestinationCidrBlock="192.168.0.0/16", GatewayId=vgw)
    subnet("local-only", "10.40.9.0/24")
    # Isolation: a VPC with only an egress-only gateway, one with only a VPN gateway.
    only_eigw = _vpc(ec2, "10.41.0.0/16")
    ec2.create_egress_only_internet_gateway(VpcId=only_eigw)
    only_vgw = _vpc(ec2, "10.42.0.0/16")
    ec2.attach_vpn_gateway(VpcId=only_vgw, VpnGatewayId=vgw)
    sealed = _vpc(ec2, "10.43.0.0/16")
    # Endpoint perimeters in the sealed VPC.
    endpoints = {}
    for name, statement in {
        "caller-org-only": {**EVERY, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-lab"}}},
        "caller-account-only": {**EVERY, "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}},
        "every-bucket": {**EVERY, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::*/*"},
        "resource-account": {**EVERY, "Condition": {"StringEquals": {"aws:ResourceAccount": ACCOUNT}}},
    }.items():
        endpoints[name] = ec2.create_vpc_endpoint(
            VpcId=sealed, ServiceName=f"com.amazonaws.{REGION}.s3", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [statement]}))["VpcEndpoint"]["VpcEndpointId"]
    vpcs = {"routes": w, "egress-only": only_eigw, "vpn": only_vgw, "sealed": sealed}
    return Lab(url, vpcs, subnets, endpoints)


@pytest.fixture(scope="module")
def lab(moto_server: Any) -> Iterator[Lab]:
    host, port = moto_server.get_host_and_port()
    url = f"http://{host}:{port}"
    moto_api(url, "reset")
    yield _seed(url)
    moto_api(url, "reset")


@pytest.fixture
def proxy(lab: Lab, moto_server: Any) -> Iterator[RecordingProxy]:
    host, port = moto_server.get_host_and_port()
    p = RecordingProxy(host, port).start()
    try:
        yield p
    finally:
        p.stop()


EXPECTED_ROUTES = {
    "ipv6-egress-only": Status.FAIL, "tgw-default": Status.FAIL, "tgw-public-half": Status.FAIL,
    "tgw-public-list": Status.FAIL, "vgw-public": Status.FAIL, "tgw-private": Status.PASS,
    "tgw-private-list": Status.PASS, "vgw-private": Status.PASS, "local-only": Status.PASS,
}


def test_exits_by_target_type_and_destination(lab: Lab) -> None:
    snapshot = collect_live(lab.url, [ROUTES, ISOLATED, ENDPOINTS])
    assert not snapshot.errors, [e.to_json() for e in snapshot.errors]
    got = statuses(run(ROUTES, snapshot))
    for name, expected in EXPECTED_ROUTES.items():
        assert got[live_arn("subnet", lab.subnets[name])] is expected, name
    iso = statuses(run(ISOLATED, snapshot))
    assert iso[live_arn("vpc", lab.vpcs["egress-only"])] is Status.FAIL
    assert iso[live_arn("vpc", lab.vpcs["vpn"])] is Status.FAIL
    assert iso[live_arn("vpc", lab.vpcs["routes"])] is Status.FAIL
    assert iso[live_arn("vpc", lab.vpcs["sealed"])] is Status.PASS


def test_endpoint_policies_must_limit_resources_not_callers(lab: Lab) -> None:
    snapshot = collect_live(lab.url, [ENDPOINTS])
    got = statuses(run(ENDPOINTS, snapshot))
    expected = {"caller-org-only": Status.FAIL, "caller-account-only": Status.FAIL,
                "every-bucket": Status.FAIL, "resource-account": Status.PASS}
    for name, status in expected.items():
        assert got[live_arn("vpc-endpoint", lab.endpoints[name])] is status, name


@pytest.mark.parametrize("operation", ["ec2:DescribeEgressOnlyInternetGateways",
                                       "ec2:DescribeVpnGateways"])
def test_denied_gateway_reads_leave_isolation_undecided(lab: Lab, proxy: RecordingProxy,
                                                        operation: str) -> None:
    proxy.fault(operation, 403, "UnauthorizedOperation")
    snapshot = collect_live(proxy.url, [ISOLATED])
    assert any(e.operation == operation for e in snapshot.errors)
    got = statuses(run(ISOLATED, snapshot))
    assert got[live_arn("vpc", lab.vpcs["sealed"])] is Status.ERROR
    assert Status.PASS not in got.values()


def test_denied_prefix_list_entries_leave_list_routes_undecided(lab: Lab, proxy: RecordingProxy) -> None:
    proxy.fault("ec2:GetManagedPrefixListEntries", 403, "UnauthorizedOperation")
    got = statuses(run(ROUTES, collect_live(proxy.url, [ROUTES])))
    assert got[live_arn("subnet", lab.subnets["tgw-public-list"])] is Status.ERROR
    assert got[live_arn("subnet", lab.subnets["tgw-private-list"])] is Status.ERROR
    assert got[live_arn("subnet", lab.subnets["tgw-default"])] is Status.FAIL
