"""Security-group egress on the real moto server: unions across groups and rules, the default
group, prefix lists with collected entries, and denied reads (ERROR, never PASS)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from awsfake import RecordingProxy
from awsseed import WEIGHT_TAG, client, moto_api

from aslcheck.checks.interface import Status
from tests.checks.aws_network.netfix import SG_EGRESS, collect_live, live_arn, run, statuses

ALL_TCP = {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535}


@dataclass(frozen=True)
class Lab:
    url: str
    vpc: str
    split_vpc: str
    groups: dict[str, str]
    enis: dict[str, str]


def _no_egress(ec2: Any, gid: str) -> None:
    perms = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]["IpPermissionsEgress"]
    if perms:
        ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=perms)


def _group(ec2: Any, vpc: str, name: str, *perms: dict[str, Any]) -> str:
    gid = str(ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"])
    _no_egress(ec2, gid)
    if perms:
        ec2.authorize_security_group_egress(GroupId=gid, IpPermissions=list(perms))
    return gid


def _seed(url: str) -> Lab:
    ec2 = client(url, "ec2")
    vpc = str(ec2.create_vpc(CidrBlock="10.30.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [WEIGHT_TAG]}])["Vpc"]["VpcId"])
    subnet = str(ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"])
    default = str(ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}])[
        "SecurityGroups"][0]["GroupId"])
    s3_list = next(p["PrefixListId"] for p in ec2.describe_managed_prefix_lists()["PrefixLists"]
                   if p["PrefixListName"].endswith(".s3"))
    halves = str(ec2.create_managed_prefix_list(
        PrefixListName="halves", MaxEntries=5, AddressFamily="IPv4",
        Entries=[{"Cidr": "0.0.0.0/1"}, {"Cidr": "128.0.0.0/1"}])["PrefixList"]["PrefixListId"])
    groups = {
        "default": default,
        "low": _group(ec2, vpc, "low", {**ALL_TCP, "IpRanges": [{"CidrIp": "0.0.0.0/1"}]}),
        "high": _group(ec2, vpc, "high", {**ALL_TCP, "IpRanges": [{"CidrIp": "128.0.0.0/1"}]}),
        "quarters": _group(ec2, vpc, "quarters", {**ALL_TCP, "IpRanges": [
            {"CidrIp": "0.0.0.0/2"}, {"CidrIp": "64.0.0.0/2"}, {"CidrIp": "128.0.0.0/1"}]}),
        "v6": _group(ec2, vpc, "v6", {"IpProtocol": "udp", "FromPort": 1, "ToPort": 65535,
                                      "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}),
        "halves-list": _group(ec2, vpc, "halves-list", {"IpProtocol": "-1",
                                                        "PrefixListIds": [{"PrefixListId": halves}]}),
        "private": _group(ec2, vpc, "private", {"IpProtocol": "-1", "IpRanges": [
            {"CidrIp": "10.0.0.0/8"}, {"CidrIp": "172.16.0.0/12"}, {"CidrIp": "192.168.0.0/16"}]}),
        "icmp": _group(ec2, vpc, "icmp", {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1,
                                          "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}),
        "https-s3": _group(ec2, vpc, "https-s3", {"IpProtocol": "tcp", "FromPort": 443,
                                                  "ToPort": 443,
                                                  "PrefixListIds": [{"PrefixListId": s3_list}]}),
    }

    def interface(*names: str) -> str:
        return str(ec2.create_network_interface(SubnetId=subnet, Groups=[groups[n] for n in names])[
            "NetworkInterface"]["NetworkInterfaceId"])

    enis = {"low+high": interface("low", "high"), "default": interface("default"),
            "private+icmp+https": interface("private", "icmp", "https-s3"),
            "low+private": interface("low", "private")}
    # A second weight VPC whose default group is closed: only the union of two groups opens it.
    split = str(ec2.create_vpc(CidrBlock="10.32.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [WEIGHT_TAG]}])["Vpc"]["VpcId"])
    groups["split-default"] = str(ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [split]}, {"Name": "group-name", "Values": ["default"]}])[
        "SecurityGroups"][0]["GroupId"])
    _no_egress(ec2, groups["split-default"])
    split_subnet = str(ec2.create_subnet(VpcId=split, CidrBlock="10.32.1.0/24")["Subnet"]["SubnetId"])
    groups["split-low"] = _group(ec2, split, "split-low", {**ALL_TCP, "IpRanges": [{"CidrIp": "0.0.0.0/1"}]})
    groups["split-high"] = _group(ec2, split, "split-high",
                                  {**ALL_TCP, "IpRanges": [{"CidrIp": "128.0.0.0/1"}]})
    enis["split"] = str(ec2.create_network_interface(
        SubnetId=split_subnet, Groups=[groups["split-low"], groups["split-high"]])[
        "NetworkInterface"]["NetworkInterfaceId"])
    # An open group in a VPC that holds no weights is out of scope.
    other = str(ec2.create_vpc(CidrBlock="10.31.0.0/16")["Vpc"]["VpcId"])
    _group(ec2, other, "elsewhere", {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
    return Lab(url, vpc, split, groups, enis)


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


def _sg(lab: Lab, name: str) -> str:
    return live_arn("security-group", lab.groups[name])


def _eni(lab: Lab, name: str) -> str:
    return live_arn("network-interface", lab.enis[name])


def test_unions_over_rules_groups_and_prefix_lists(lab: Lab) -> None:
    snapshot = collect_live(lab.url, [SG_EGRESS])
    assert not snapshot.errors, [e.to_json() for e in snapshot.errors]
    got = statuses(run(SG_EGRESS, snapshot))
    expected = {
        _sg(lab, "default"): Status.FAIL,      # AWS's default group: all egress to 0.0.0.0/0
        _sg(lab, "low"): Status.PASS, _sg(lab, "high"): Status.PASS,
        _sg(lab, "quarters"): Status.FAIL,     # 0/2 + 64/2 + 128/1 in one rule
        _sg(lab, "v6"): Status.FAIL,           # every UDP port to ::/0
        _sg(lab, "halves-list"): Status.FAIL,  # a prefix list holding both halves
        _sg(lab, "private"): Status.PASS, _sg(lab, "icmp"): Status.PASS,
        _sg(lab, "https-s3"): Status.PASS,
        _eni(lab, "low+high"): Status.FAIL,    # the two halves on one interface
        _eni(lab, "default"): Status.FAIL,
        _eni(lab, "private+icmp+https"): Status.PASS,
        _eni(lab, "low+private"): Status.PASS,
        _sg(lab, "split-low"): Status.PASS, _sg(lab, "split-high"): Status.PASS,
        _sg(lab, "split-default"): Status.PASS,
        _eni(lab, "split"): Status.FAIL,
    }
    assert {k: v for k, v in got.items() if k in expected} == expected
    assert not {k for k in got if k not in expected}, "only the weight VPC's groups and interfaces"


def test_denied_prefix_list_entries_are_errors_where_they_matter(lab: Lab, proxy: RecordingProxy) -> None:
    proxy.fault("ec2:GetManagedPrefixListEntries", 403, "UnauthorizedOperation")
    snapshot = collect_live(proxy.url, [SG_EGRESS])
    assert any(e.operation == "ec2:GetManagedPrefixListEntries" for e in snapshot.errors)
    got = statuses(run(SG_EGRESS, snapshot))
    assert got[_sg(lab, "halves-list")] is Status.ERROR
    assert got[_sg(lab, "https-s3")] is Status.PASS  # port 443 only, whatever the list holds
    assert got[_sg(lab, "low")] is Status.PASS


def test_denied_interface_listing_turns_a_dangerous_union_into_an_error(lab: Lab,
                                                                     proxy: RecordingProxy) -> None:
    proxy.fault("ec2:DescribeNetworkInterfaces", 403, "UnauthorizedOperation")
    snapshot = collect_live(proxy.url, [SG_EGRESS])
    got = run(SG_EGRESS, snapshot)
    vpc = live_arn("vpc", lab.split_vpc)
    assert got[vpc].status is Status.ERROR
    assert "together" in got[vpc].reason
    assert not any(k.startswith(live_arn("network-interface", "")) for k in got)


def test_denied_group_listing_leaves_interfaces_undecided(lab: Lab, proxy: RecordingProxy) -> None:
    proxy.fault("ec2:DescribeSecurityGroups", 403, "UnauthorizedOperation")
    snapshot = collect_live(proxy.url, [SG_EGRESS])
    got = statuses(run(SG_EGRESS, snapshot))
    assert got[_eni(lab, "low+private")] is Status.ERROR
    assert got[_eni(lab, "private+icmp+https")] is Status.ERROR
    assert Status.PASS not in got.values()
