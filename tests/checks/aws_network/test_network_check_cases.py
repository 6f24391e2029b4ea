"""The network checks on hand-made snapshots: each attack shape, with the exact verdict per
resource (the live-collector and Terraform variants are in tests/aws and tests/terraform)."""

from __future__ import annotations

from typing import Any

import pytest

from aslcheck.checks.interface import Status
from aslcheck.inventories.snapshot import CollectionError, Resource
from tests.checks.aws_network.netfix import (
    ACCT,
    ALARMS,
    BUDGET,
    ENDPOINTS,
    ISOLATED,
    REGION,
    ROUTES,
    SG_EGRESS,
    alarm,
    arn,
    eni,
    instance,
    prefix_list,
    res,
    route,
    rule,
    run,
    sg,
    snap,
    statuses,
    subnet,
    vpc,
)

P, F, E, NA = Status.PASS, Status.FAIL, Status.ERROR, Status.NOT_APPLICABLE


def V(i: str) -> str:
    return arn("vpc", i)


def SG(i: str) -> str:
    return arn("security-group", i)


def ENI(i: str) -> str:
    return arn("network-interface", i)


def SN(i: str) -> str:
    return arn("subnet", i)


ENI_KIND = "aws.ec2.network_interface"
ALL_TCP = (0, 65535)

# -- security groups: unions over an interface's groups -----------------------------------------

LOW = sg("sg-low", "vpc-w", [rule("tcp", ["0.0.0.0/1"], *ALL_TCP)])
HIGH = sg("sg-high", "vpc-w", [rule("tcp", ["128.0.0.0/1"], *ALL_TCP)])
HTTPS = sg("sg-https", "vpc-w", [rule("tcp", ["0.0.0.0/0"], 443, 443)])
DEFAULT = sg("sg-default", "vpc-w", [rule("-1", ["0.0.0.0/0"])])


def test_groups_that_open_the_internet_only_together_fail_on_the_interface() -> None:
    s = snap(vpc("vpc-w"), LOW, HIGH, HTTPS, eni("eni-both", "vpc-w", ["sg-low", "sg-high"]),
             eni("eni-one", "vpc-w", ["sg-low", "sg-https"]))
    got = statuses(run(SG_EGRESS, s))
    assert got == {SG("sg-low"): P, SG("sg-high"): P, SG("sg-https"): P,
                   ENI("eni-both"): F, ENI("eni-one"): P}
    assert "the whole public IPv4 internet" in run(SG_EGRESS, s)[ENI("eni-both")].reason


def test_the_default_group_counts_alone_and_in_unions() -> None:
    s = snap(vpc("vpc-w"), DEFAULT, HTTPS, eni("eni-d", "vpc-w", ["sg-https", "sg-default"]))
    assert statuses(run(SG_EGRESS, s)) == {SG("sg-default"): F, SG("sg-https"): P,
                                           ENI("eni-d"): F}


def test_unknown_or_unread_groups_on_an_interface() -> None:
    unread = sg("sg-unread", "vpc-w", None)
    s = snap(vpc("vpc-w"), HTTPS, DEFAULT, unread,
             eni("eni-gone", "vpc-w", ["sg-https", "sg-elsewhere"]),
             eni("eni-unread", "vpc-w", ["sg-unread"]),
             eni("eni-open-anyway", "vpc-w", ["sg-unread", "sg-default"]),
             eni("eni-no-groups-read", "vpc-w", None),
             eni("eni-nat", "vpc-w", [], kind="nat_gateway"))
    assert statuses(run(SG_EGRESS, s)) == {
        SG("sg-https"): P, SG("sg-default"): F, SG("sg-unread"): E, ENI("eni-gone"): E,
        ENI("eni-unread"): E, ENI("eni-open-anyway"): F, ENI("eni-no-groups-read"): E,
        ENI("eni-nat"): NA}


def test_without_an_interface_listing_a_dangerous_union_is_an_error_on_the_vpc() -> None:
    s = snap(vpc("vpc-w"), vpc("vpc-safe"), LOW, HIGH,
             sg("sg-a", "vpc-safe", [rule("tcp", ["10.0.0.0/8"], *ALL_TCP)]),
             sg("sg-b", "vpc-safe", [rule("tcp", ["0.0.0.0/0"], 443, 443)]))
    got = statuses(run(SG_EGRESS, s))
    assert got == {SG("sg-low"): P, SG("sg-high"): P, SG("sg-a"): P, SG("sg-b"): P,
                   V("vpc-w"): E}
    # A failed interface listing counts as no listing.
    listed = snap(vpc("vpc-w"), LOW, HIGH, kinds={"aws.ec2.vpc", "aws.ec2.security_group", ENI_KIND},
                  errors=[CollectionError("aws", "ec2:DescribeNetworkInterfaces", "AccessDenied",
                                          "denied", kind=ENI_KIND, account=ACCT, region=REGION)])
    assert statuses(run(SG_EGRESS, listed))[V("vpc-w")] is E
    complete = snap(vpc("vpc-w"), LOW, HIGH, kinds={"aws.ec2.vpc", "aws.ec2.security_group", ENI_KIND})
    assert V("vpc-w") not in run(SG_EGRESS, complete)


def test_prefix_list_destinations_need_their_entries() -> None:
    by_list = [rule("-1", prefix_lists=["pl-1"])]
    s = snap(vpc("vpc-w"), sg("sg-known", "vpc-w", by_list), prefix_list("pl-1", ["0.0.0.0/0"]),
             sg("sg-unread", "vpc-w", [rule("-1", prefix_lists=["pl-2"])]),
             prefix_list("pl-2", None),
             sg("sg-absent", "vpc-w", [rule("-1", prefix_lists=["pl-3"])]),
             sg("sg-narrow", "vpc-w", [rule("tcp", (), 443, 443, prefix_lists=["pl-3"])]))
    assert statuses(run(SG_EGRESS, s)) == {SG("sg-known"): F, SG("sg-unread"): E,
                                           SG("sg-absent"): E, SG("sg-narrow"): P}


def test_children_whose_vpc_is_not_in_the_snapshot_are_errors() -> None:
    s = snap(vpc("vpc-w"), sg("sg-shared", "vpc-shared", [rule("-1", ["0.0.0.0/0"])]),
             eni("eni-shared", "vpc-shared", ["sg-shared"]), vpc("vpc-other", weights=False),
             sg("sg-other", "vpc-other", [rule("-1", ["0.0.0.0/0"])]))
    assert statuses(run(SG_EGRESS, s)) == {SG("sg-shared"): E, ENI("eni-shared"): E}


# -- routes: exits --------------------------------------------------------------------------------

ROUTE_CASES: list[tuple[str, dict[str, Any], Status]] = [
    ("igw-any-destination", route("52.0.0.0/8", "igw-1", "internet_gateway"), F),
    ("egress-only-ipv6", route("::/0", "eigw-1", "egress_only_internet_gateway"), F),
    ("egress-only-inferred", route("::/0", "eigw-1"), F),
    ("carrier-gateway", route("0.0.0.0/0", "cagw-1", "carrier_gateway"), F),
    ("tgw-default-route", route("0.0.0.0/0", "tgw-1", "transit_gateway"), F),
    ("tgw-public-half", route("128.0.0.0/1", "tgw-1", "transit_gateway"), F),
    ("vgw-public", route("52.0.0.0/8", "vgw-1", "vpn_gateway"), F),
    ("vgw-inferred", route("0.0.0.0/0", "vgw-1"), F),
    ("peering-public", route("0.0.0.0/0", "pcx-1", "vpc_peering"), F),
    ("tgw-prefix-list-public", route("pl-pub", "tgw-1", "transit_gateway"), F),
    ("tgw-private", route("10.0.0.0/8", "tgw-1", "transit_gateway"), P),
    ("vgw-private", route("192.168.0.0/16", "vgw-1", "vpn_gateway"), P),
    ("tgw-prefix-list-private", route("pl-priv", "tgw-1", "transit_gateway"), P),
    ("nat-default-route", route("0.0.0.0/0", "nat-1", "nat_gateway"), P),
    ("s3-gateway-endpoint", route("pl-pub", "vpce-1", "gateway_endpoint"), P),
    ("appliance", route("0.0.0.0/0", "eni-1", "network_interface"), P),
    ("blackholed-igw", route("0.0.0.0/0", "igw-1", "internet_gateway", state="blackhole"), P),
    ("tgw-prefix-list-unread", route("pl-unread", "tgw-1", "transit_gateway"), E),
    ("vgw-propagated-later", route("(propagated by aws_vpn_gateway.v: known after apply)",
                                   "aws_vpn_gateway.v", "vpn_gateway"), E),
    ("unknown-target", route("0.0.0.0/0", "xyz-1", "unknown"), E),
]


@pytest.mark.parametrize(("name", "rt", "expected"), ROUTE_CASES, ids=[c[0] for c in ROUTE_CASES])
def test_route_exits(name: str, rt: dict[str, Any], expected: Status) -> None:
    s = snap(vpc("vpc-w"), subnet("s-1", "vpc-w", [rt]), prefix_list("pl-pub", ["52.216.0.0/15"]),
             prefix_list("pl-priv", ["10.0.0.0/8"]), prefix_list("pl-unread", None))
    assert statuses(run(ROUTES, s)) == {SN("s-1"): expected}


def test_isolation_counts_egress_only_and_vpn_gateways() -> None:
    s = snap(vpc("vpc-ok"), vpc("vpc-eigw", egress_only_internet_gateways=["eigw-1"]),
             vpc("vpc-vgw", vpn_gateways=["vgw-1"]),
             res("aws.ec2.vpc", arn("vpc", "vpc-unread"),
                 {k: v for k, v in vpc("vpc-unread").attributes.items() if k != "vpn_gateways"},
                 weights=True))
    assert statuses(run(ISOLATED, s)) == {V("vpc-ok"): P, V("vpc-eigw"): F, V("vpc-vgw"): F,
                                          V("vpc-unread"): E}


# -- endpoint policies: resource-side perimeters --------------------------------------------------

ORG = "o-abc123"
EVERY = {"Effect": "Allow", "Principal": "*", "Action": ["*"], "Resource": ["*"]}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def cond(op: str, key: str, value: Any) -> dict[str, Any]:
    return {"Condition": {op: {key: value}}}


ENDPOINT_CASES: list[tuple[str, dict[str, Any], Status]] = [
    ("caller-org-only", policy({**EVERY, **cond("StringEquals", "aws:PrincipalOrgID", ORG)}), F),
    ("caller-account-only", policy({**EVERY, **cond("StringEquals", "aws:PrincipalAccount", ACCT)}), F),
    ("named-caller-every-bucket", policy({**EVERY, "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/x"}}), F),
    ("every-bucket-arn", policy({**EVERY, "Action": ["s3:PutObject"], "Resource": ["arn:aws:s3:::*/*"]}), F),
    ("not-resource", policy({"Effect": "Allow", "Principal": "*", "Action": ["s3:*"],
                             "NotResource": ["arn:aws:s3:::attacker/*"]}), F),
    ("wildcard-bucket-name", policy({**EVERY, "Resource": ["arn:aws:s3:::weights-*/*"]}), F),
    ("caller-perimeter-deny", policy(EVERY, {**EVERY, "Effect": "Deny",
                                            **cond("StringNotEquals", "aws:PrincipalOrgID", ORG)}), F),
    ("resource-org", policy({**EVERY, **cond("StringEquals", "aws:ResourceOrgID", ORG)}), P),
    ("resource-account", policy({**EVERY, **cond("StringEquals", "aws:ResourceAccount", ACCT)}), P),
    ("resource-perimeter-deny", policy(EVERY, {**EVERY, "Effect": "Deny",
                                              **cond("StringNotEquals", "aws:ResourceOrgID", ORG)}), P),
    ("s3-star-perimeter-deny", policy(EVERY, {**EVERY, "Effect": "Deny", "Action": ["s3:*"],
                                             **cond("StringNotEquals", "aws:ResourceAccount", ACCT)}), P),
    ("our-buckets", policy({**EVERY, "Resource": ["arn:aws:s3:::weights-a/*"]}), P),
]


@pytest.mark.parametrize(("name", "doc", "expected"), ENDPOINT_CASES, ids=[c[0] for c in ENDPOINT_CASES])
def test_endpoint_perimeters(name: str, doc: dict[str, Any], expected: Status) -> None:
    org = res("aws.organizations.account", f"arn:aws:organizations::{ACCT}:account/{ORG}/{ACCT}",
              {"account_id": ACCT, "organization_id": ORG})
    ep = res("aws.ec2.vpc_endpoint", arn("vpc-endpoint", "vpce-1"),
             {"endpoint_id": "vpce-1", "vpc_id": "vpc-w", "service_name": f"com.amazonaws.{REGION}.s3",
              "type": "Gateway", "policy": doc})
    bucket = res("aws.s3.bucket", "arn:aws:s3:::weights-a", {"name": "weights-a"})
    s = snap(vpc("vpc-w"), ep, org, bucket)
    got = run(ENDPOINTS, s)
    assert got[arn("vpc-endpoint", "vpce-1")].status is expected, got[arn("vpc-endpoint", "vpce-1")].reason


# -- egress alarms: alarms that can fire ----------------------------------------------------------

I1 = {"InstanceId": "i-1"}
ALARM_CASES: list[tuple[str, list[Resource], Status]] = [
    ("good", [alarm("a", I1)], P),
    ("good-unit-bytes", [alarm("a", I1, unit="Bytes")], P),
    ("one-of-five", [alarm("a", I1, evaluation_periods=5, datapoints_to_alarm=1)], P),
    ("one-good-one-bad", [alarm("a", I1), alarm("b", I1, namespace="Custom")], P),
    ("wrong-namespace", [alarm("a", I1, namespace="Custom/Net")], F),
    ("no-such-metric", [alarm("a", I1, metric="NetworkBytesOut")], F),
    ("unit-filter-bits", [alarm("a", I1, unit="Bits")], F),
    ("unit-filter-kilobytes", [alarm("a", I1, unit="Kilobytes")], F),
    ("three-of-three", [alarm("a", I1, evaluation_periods=3, datapoints_to_alarm=3)], F),
    ("all-of-three-by-default", [alarm("a", I1, evaluation_periods=3)], F),
    ("daily-period", [alarm("a", I1, period=86400, threshold=BUDGET * 24)], F),
    ("anomaly-band", [alarm("a", I1, comparison="GreaterThanUpperThreshold")], F),
    ("evaluation-error", [alarm("a", I1, evaluation_state="EVALUATION_ERROR")], F),
    ("stuck-without-data", [alarm("a", I1, state="INSUFFICIENT_DATA",
                                  state_updated="2026-11-20T00:00:00Z")], F),
    ("no-data-yet", [alarm("a", I1, state="INSUFFICIENT_DATA",
                           state_updated="2026-11-27T11:55:00Z")], E),
    ("state-not-collected", [res("aws.cloudwatch.alarm", "arn:aws:cloudwatch:x:alarm:a",
                                 {k: v for k, v in alarm("a", I1).attributes.items() if k != "state"})], E),
    ("evaluation-periods-not-collected",
     [res("aws.cloudwatch.alarm", "arn:aws:cloudwatch:x:alarm:a",
          {k: v for k, v in alarm("a", I1).attributes.items() if k != "evaluation_periods"})], E),
    ("aggregate-with-detailed-monitoring", [alarm("agg", {})], P),
]


@pytest.mark.parametrize(("name", "alarms", "expected"), ALARM_CASES, ids=[c[0] for c in ALARM_CASES])
def test_alarms_must_be_able_to_fire(name: str, alarms: list[Resource], expected: Status) -> None:
    s = snap(vpc("vpc-w"), instance("i-1", "vpc-w"), *alarms)
    got = run(ALARMS, s)[V("vpc-w")]
    assert got.status is expected, got.reason


@pytest.mark.parametrize(("monitoring", "expected"), [("disabled", F), (None, E), ("enabled", P)])
def test_regional_aggregates_cover_only_detailed_monitoring(monitoring: str | None,
                                                            expected: Status) -> None:
    s = snap(vpc("vpc-w"), instance("i-1", "vpc-w", monitoring=monitoring), alarm("agg", {}))
    assert run(ALARMS, s)[V("vpc-w")].status is expected


def test_nat_alarm_must_be_in_the_nat_namespace() -> None:
    nat = {"NatGatewayId": "nat-1"}
    base = vpc("vpc-w", nat_gateways=["nat-1"])
    good = alarm("n", nat, namespace="AWS/NATGateway", metric="BytesOutToDestination")
    wrong = alarm("n", nat, namespace="AWS/EC2", metric="BytesOutToDestination")
    assert run(ALARMS, snap(base, good))[V("vpc-w")].status is P
    assert run(ALARMS, snap(base, wrong))[V("vpc-w")].status is F
