"""Egress alarms on the real moto server: each weight VPC holds one running instance (or a NAT
gateway) and one alarm variant; only alarms that can fire within the budget pass."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from awsfake import RecordingProxy
from awsseed import ACCOUNT, WEIGHT_TAG, client, moto_api

from aslcheck.checks.interface import Status
from tests.checks.aws_network.netfix import ALARMS, BUDGET, REGION, collect_live, live_arn, run

PERIOD = 300
THRESHOLD = float(BUDGET * PERIOD // 3600)
GOOD: dict[str, Any] = {"Namespace": "AWS/EC2", "MetricName": "NetworkOut", "Statistic": "Sum",
                        "Period": PERIOD, "EvaluationPeriods": 1, "Threshold": THRESHOLD,
                        "ComparisonOperator": "GreaterThanThreshold"}
VARIANTS: dict[str, tuple[dict[str, Any], Status]] = {
    "good": ({}, Status.PASS),
    "good-one-of-three": ({"EvaluationPeriods": 3, "DatapointsToAlarm": 1}, Status.PASS),
    "custom-namespace": ({"Namespace": "Lab/Network"}, Status.FAIL),
    "unit-filter-bits": ({"Unit": "Bits"}, Status.FAIL),
    "three-of-three": ({"EvaluationPeriods": 3, "DatapointsToAlarm": 3}, Status.FAIL),
    "two-periods-by-default": ({"EvaluationPeriods": 2}, Status.FAIL),
    "daily": ({"Period": 86400, "Threshold": float(BUDGET * 24)}, Status.FAIL),
    "no-data-yet": ({}, Status.ERROR),          # set to INSUFFICIENT_DATA after creation
    "aggregate-basic-monitoring": ({"Dimensions": []}, Status.FAIL),
    "aggregate-detailed-monitoring": ({"Dimensions": []}, Status.PASS),
    "nat-in-ec2-namespace": ({"MetricName": "BytesOutToDestination"}, Status.FAIL),
    "nat-good": ({"Namespace": "AWS/NATGateway", "MetricName": "BytesOutToDestination"}, Status.PASS),
}


@dataclass(frozen=True)
class Lab:
    url: str
    vpcs: dict[str, str]


def _seed(url: str) -> Lab:
    ec2, cw = client(url, "ec2"), client(url, "cloudwatch")
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:security"
    image = ec2.register_image(Name="lab", RootDeviceName="/dev/xvda", BlockDeviceMappings=[
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}])["ImageId"]
    vpcs = {}
    for i, (name, (over, _)) in enumerate(sorted(VARIANTS.items())):
        vpc = str(ec2.create_vpc(CidrBlock=f"10.{50 + i}.0.0/16", TagSpecifications=[
            {"ResourceType": "vpc", "Tags": [WEIGHT_TAG]}])["Vpc"]["VpcId"])
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{50 + i}.1.0/24")["Subnet"]["SubnetId"]
        vpcs[name] = vpc
        spec = {**GOOD, **over}
        if name.startswith("nat"):
            eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
            nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=eip)["NatGateway"]["NatGatewayId"]
            dims = [{"Name": "NatGatewayId", "Value": nat}]
        else:
            inst = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet,
                                     # NOTE: a regional aggregate covers every instance with
                                     # detailed monitoring: only one variant has it.
                                     Monitoring={"Enabled": name == "aggregate-detailed-monitoring"})[
                "Instances"][0]["InstanceId"]
            dims = [{"Name": "InstanceId", "Value": inst}]
        spec.setdefault("Dimensions", dims)
        cw.put_metric_alarm(AlarmName=f"egress-{name}", AlarmActions=[topic], ActionsEnabled=True,
                            **spec)
        if name == "no-data-yet":
            cw.set_alarm_state(AlarmName=f"egress-{name}", StateValue="INSUFFICIENT_DATA",
                               StateReason="no datapoints")
    return Lab(url, vpcs)


@pytest.fixture(scope="module")
def lab(moto_server: Any) -> Iterator[Lab]:
    host, port = moto_server.get_host_and_port()
    url = f"http://{host}:{port}"
    moto_api(url, "reset")
    yield _seed(url)
    moto_api(url, "reset")


def test_only_alarms_that_can_fire_within_the_budget_pass(lab: Lab) -> None:
    snapshot = collect_live(lab.url, [ALARMS])
    assert not snapshot.errors, [e.to_json() for e in snapshot.errors]
    got = run(ALARMS, snapshot)
    verdicts = {name: got[live_arn("vpc", vpc)].status for name, vpc in lab.vpcs.items()}
    assert verdicts == {name: expected for name, (_, expected) in VARIANTS.items()}, {
        name: got[live_arn("vpc", vpc)].reason for name, vpc in lab.vpcs.items()}


def test_denied_alarm_listing_never_passes(lab: Lab, moto_server: Any) -> None:
    host, port = moto_server.get_host_and_port()
    proxy = RecordingProxy(host, port).start()
    try:
        proxy.fault("cloudwatch:DescribeAlarms", 403, "AccessDenied")
        snapshot = collect_live(proxy.url, [ALARMS])
    finally:
        proxy.stop()
    assert any(e.operation == "cloudwatch:DescribeAlarms" for e in snapshot.errors)
    got = run(ALARMS, snapshot)
    # No alarm was read: every source is unwatched (FAIL) as far as the evidence goes, and the
    # engine also attaches the listing error; nothing passes.
    assert Status.PASS not in {f.status for f in got.values()}
