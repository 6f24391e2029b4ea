"""Egress rule sets judged against the public address space: unions of CIDRs, of ports, of
prefix-list entries; private ranges are not the internet; undetermined inputs both ways."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

import pytest

from aslcheck.checks.aws.egress import judge
from aslcheck.checks.aws.netspace import PUBLIC_V4, PUBLIC_V6, touches_public
from tests.checks.aws_network.netfix import rule

LISTS = {"pl-all": ["0.0.0.0/0"], "pl-low": ["0.0.0.0/1"], "pl-high": ["128.0.0.0/1"],
         "pl-s3": ["52.216.0.0/15", "3.5.0.0/19", "54.231.0.0/16"], "pl-bad": ["not-a-cidr"]}


def lookup(pid: str) -> Sequence[str] | None:
    return LISTS.get(pid)


def everything_but(*holes: str) -> list[str]:
    """CIDRs covering 0.0.0.0/0 except ``holes``."""
    nets = [ipaddress.ip_network("0.0.0.0/0")]
    for hole in map(ipaddress.ip_network, holes):
        nets = [piece for n in nets for piece in (n.address_exclude(hole) if hole.subnet_of(n)
                                                  else [n])]
    return [str(n) for n in nets]


PUBLIC_ONLY = [str(n) for n in ipaddress.ip_network("0.0.0.0/0").address_exclude(
    ipaddress.ip_network("10.0.0.0/8"))]
"""Everything but 10.0.0.0/8: still the whole public internet."""

OPEN: dict[str, list[dict[str, Any]]] = {
    # the whole internet, as CIDR unions
    "0/0": [rule("-1", ["0.0.0.0/0"])],
    "halves-in-two-rules": [rule("-1", ["0.0.0.0/1"]), rule("-1", ["128.0.0.0/1"])],
    "quarters-tcp": [rule("tcp", ["0.0.0.0/2"], 0, 65535), rule("tcp", ["64.0.0.0/2"], 0, 65535),
                     rule("tcp", ["128.0.0.0/1"], 0, 65535)],
    "public-only-no-private": [rule("-1", PUBLIC_ONLY)],
    "ipv6-all": [rule("-1", ipv6=["::/0"])],
    "ipv6-global-unicast": [rule("tcp", (), 0, 65535, ipv6=["2000::/3"])],
    "ipv6-halves": [rule("udp", (), 1, 65535, ipv6=["::/1"]), rule("udp", (), 1, 65535, ipv6=["8000::/1"])],
    # all ports, as port unions
    "tcp-split-ports": [rule("tcp", ["0.0.0.0/0"], 1, 32767), rule("tcp", ["0.0.0.0/0"], 32768, 65535)],
    "udp-1-65535": [rule("udp", ["0.0.0.0/0"], 1, 65535)],
    "numeric-protocol-6": [rule("6", ["0.0.0.0/0"], 0, 65535)],
    "all-but-port-443": [rule("tcp", ["0.0.0.0/0"], 1, 442), rule("tcp", ["0.0.0.0/0"], 444, 65535)],
    "gre-tunnel": [rule("47", ["0.0.0.0/0"])],
    "sctp": [rule("132", ["0.0.0.0/0"])],
    # prefix lists
    "pl-everything": [rule("-1", prefix_lists=["pl-all"])],
    "pl-halves": [rule("-1", prefix_lists=["pl-low", "pl-high"])],
    "pl-and-cidr": [rule("-1", ["128.0.0.0/1"], prefix_lists=["pl-low"])],
    # all but a sliver
    "all-but-one-host": [rule("-1", everything_but("8.8.8.8/32"))],
    "all-but-a-/10": [rule("-1", everything_but("44.0.0.0/10"))],
    # one definite opening beats an undetermined rule
    "open-plus-unknown": [rule("-1", ["0.0.0.0/0"]), rule("-1", prefix_lists=["pl-missing"])],
}

CLOSED: dict[str, list[dict[str, Any]]] = {
    "rfc1918": [rule("-1", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"])],
    "private-and-cgnat-and-link-local": [rule("-1", ["10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16"])],
    "multicast-and-reserved": [rule("-1", ["224.0.0.0/3"])],
    "half-the-internet": [rule("-1", ["0.0.0.0/1"])],
    "all-but-a-/7": [rule("-1", everything_but("8.0.0.0/7"))],
    "https-only": [rule("tcp", ["0.0.0.0/0"], 443, 443)],
    "half-the-ports": [rule("tcp", ["0.0.0.0/0"], 1, 30000)],
    "icmp-all": [rule("icmp", ["0.0.0.0/0"], -1, -1)],
    "icmpv6-all": [rule("icmpv6", ipv6=["::/0"])],
    "tcp-low-udp-high": [rule("tcp", ["0.0.0.0/1"], 0, 65535), rule("udp", ["128.0.0.0/1"], 0, 65535)],
    "ports-and-cidrs-do-not-line-up": [rule("tcp", ["0.0.0.0/0"], 1, 32767),
                                       rule("tcp", ["0.0.0.0/1"], 32768, 65535)],
    "tcp-port-0-only": [rule("tcp", ["0.0.0.0/0"], 0, 0)],
    "s3-prefix-list": [rule("-1", prefix_lists=["pl-s3"])],
    "unknown-list-on-443": [rule("tcp", (), 443, 443, prefix_lists=["pl-missing"])],
    "no-rules": [],
}

UNDECIDED: dict[str, list[Any]] = {
    "unresolved-prefix-list": [rule("-1", prefix_lists=["pl-missing"])],
    "prefix-list-entry-not-a-cidr": [rule("-1", prefix_lists=["pl-bad"])],
    "cidr-not-determined": [rule("-1", ["(undetermined)"])],
    "ports-not-determined": [rule("tcp", ["0.0.0.0/0"])],
    "protocol-not-recognised": [rule("everything", ["0.0.0.0/0"])],
    "unreadable-rule": ["<egress rules of sg-x not collected>"],
    "half-known-half-unresolved": [rule("-1", ["0.0.0.0/1"]), rule("-1", prefix_lists=["pl-missing"])],
}


@pytest.mark.parametrize("name", sorted(OPEN))
def test_open_sets_fail(name: str) -> None:
    verdict = judge(OPEN[name], lookup)
    assert verdict.open is True, verdict.reason


@pytest.mark.parametrize("name", sorted(CLOSED))
def test_restricted_sets_pass(name: str) -> None:
    verdict = judge(CLOSED[name], lookup)
    assert verdict.open is False, verdict.reason


@pytest.mark.parametrize("name", sorted(UNDECIDED))
def test_undetermined_inputs_are_undecided(name: str) -> None:
    verdict = judge(UNDECIDED[name], lookup)
    assert verdict.open is None, verdict.reason
    assert verdict.undetermined


def test_reasons_say_whole_or_sliver() -> None:
    assert "the whole public IPv4" in judge(OPEN["halves-in-two-rules"], lookup).reason
    assert "all but a sliver" in judge(OPEN["all-but-one-host"], lookup).reason
    assert "65534 of 65535 ports" in judge(OPEN["all-but-port-443"], lookup).reason


def test_public_space_is_computed_not_listed() -> None:
    # 0.0.0.0/0 minus the special-purpose registry: about 3.7 billion addresses.
    assert 3_600_000_000 < PUBLIC_V4.size() < 3_710_000_000
    assert PUBLIC_V6.size() < 1 << 125
    assert touches_public("8.8.8.0/24") is True
    assert touches_public("10.1.0.0/16") is False
    assert touches_public("0.0.0.0/0") is True
    assert touches_public("fd00::/8") is False
    assert touches_public("pl-123") is None
