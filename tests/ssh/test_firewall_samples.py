"""Default deny and egress on real nft/iptables output (samples/firewall/capture.sh), through the checks.

Each sample is one ruleset loaded alone into a throw-away network namespace and listed with
``nft -j list ruleset`` or ``iptables-save``; the expected status is what the check must say
about it. A rule whose match is always true (or that cannot be read) before the final drop is
never a default deny.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.interface import CheckContext, Status
from aslcheck.controls.config import PARAM_SPECS, Config
from aslcheck.inventories.snapshot import Resource, Snapshot
from aslcheck.inventories.ssh.parsers import ParseError
from aslcheck.inventories.ssh.parsers import network as net

SAMPLES = Path(__file__).parent / "samples" / "firewall"
P, F, E = Status.PASS, Status.FAIL, Status.ERROR

INBOUND = {
    # nft, inet family (one chain covers IPv4 and IPv6)
    "nft_good": P, "nft_jump_narrow": P, "nft_drop_first": P, "nft_vmap": P,
    "nft_saddr_any": F, "nft_l4proto_tcp_udp": F, "nft_dport_not_22": F, "nft_dport_every_port": F,
    "nft_named_set_any": F, "nft_two_halves": F, "nft_jump_accept_all": F, "nft_ct_state_new": F,
    "nft_sport_53": F, "nft_daddr_self": F,
    "nft_iifname_eth0": E, "nft_meta_mark": E, "nft_dormant_table": E,
    # iptables (IPv4) paired with the good ip6tables ruleset
    "iptables_good": P, "iptables_log_then_drop": P,
    "iptables_source_any": F, "iptables_proto_tcp": F, "iptables_dport_not_22": F, "iptables_dport_every_port": F,
    "iptables_state_new": F, "iptables_comment_disguise": F, "iptables_jump_accept_all": F,
    "iptables_iface_eth0": E, "iptables_mark": E,
}
EGRESS = {"nft_output_daddr": P, "nft_output_dport_443": F, "nft_output_daddr_any": F}


def chains_of(name: str) -> list[dict[str, Any]]:
    if name.startswith("nft_"):
        return net.parse_nft_ruleset((SAMPLES / f"{name}.json").read_text())
    chains = net.parse_iptables_save((SAMPLES / f"{name}.txt").read_text(), "ip")
    return chains + net.parse_iptables_save((SAMPLES / "ip6tables_good.txt").read_text(), "ip6")


def run(check_id: str, *resources: Resource) -> Status:
    spec = default_registry().get(check_id)
    snap = Snapshot(resources=resources)
    config = Config(parameters={**{n: s.default for n, s in PARAM_SPECS.items()},
                                "egress_budget_bytes_per_hour": 10**9})
    subjects = tuple(r for r in snap.resources if r.kind in spec.subjects)
    (finding,) = spec.evaluate(CheckContext(snapshot=snap, config=config, resources=subjects))
    assert finding.reason
    return finding.status


def firewall(chains: list[dict[str, Any]]) -> Resource:
    return Resource(kind="host.firewall", id="h", source="ssh", host="h",
                    attributes={"tools": {"nft": "read", "iptables": "read", "ip6tables": "read"}, "chains": chains})


def test_every_sample_has_an_expectation() -> None:
    names = {p.stem for p in SAMPLES.iterdir() if p.suffix in (".json", ".txt")} - {"ip6tables_good"}
    assert names == set(INBOUND) | set(EGRESS)


@pytest.mark.parametrize(("name", "expected"), sorted(INBOUND.items()))
def test_default_deny_inbound(name: str, expected: Status) -> None:
    assert run("host.firewall.default_deny_inbound", firewall(chains_of(name))) is expected


@pytest.mark.parametrize(("name", "expected"), sorted(EGRESS.items()))
def test_egress_output_drop_needs_a_destination_allowlist(name: str, expected: Status) -> None:
    egress = Resource(kind="host.egress", id="h", source="ssh", host="h",
                      attributes={"default_routes": [], "egress_interfaces": ["eth0"],
                                  "qdiscs": [{"dev": "eth0", "kind": "fq_codel", "rate_bytes_per_second": None}]})
    assert run("host.egress.limited", egress, firewall(chains_of(name))) is expected


def test_reasons_name_the_rule() -> None:
    spec = default_registry().get("host.firewall.default_deny_inbound")
    for name, needle in (("nft_l4proto_tcp_udp", "meta l4proto == { tcp, udp }"),
                         ("iptables_dport_not_22", "! --dport 22"),
                         ("nft_jump_accept_all", "allow rule 2"),
                         ("nft_meta_mark", "meta mark == 1")):
        res = firewall(chains_of(name))
        (finding,) = spec.evaluate(CheckContext(snapshot=Snapshot(resources=(res,)), config=Config(),
                                                resources=(res,)))
        assert needle in finding.reason, (name, finding.reason)


def test_table_flags_as_nft_1_0_6_prints_them() -> None:
    chains = net.parse_nft_ruleset((SAMPLES / "nft_dormant_table.json").read_text())
    assert {c["table_state"] for c in chains} == {"unknown"}  # "flags": "f" (the table's own name)
    doc = '{"nftables": [{"table": {"family": "inet", "name": "f", "flags": ["dormant"]}}, ' \
          '{"chain": {"family": "inet", "table": "f", "name": "input", "hook": "input", "policy": "drop"}}]}'
    (dormant,) = net.parse_nft_ruleset(doc)
    assert dormant["table_state"] == "dormant"
    assert run("host.firewall.default_deny_inbound", firewall([dormant])) is F


def test_iptables_rule_without_a_readable_target_is_an_error() -> None:
    with pytest.raises(ParseError):  # the "-j" was consumed as a value: refuse rather than miss an ACCEPT
        net.parse_iptables_save("*filter\n:INPUT DROP [0:0]\n-A INPUT -s -j ACCEPT\nCOMMIT\n", "ip")
    unknown = net.parse_iptables_save("*filter\n:INPUT DROP [0:0]\n-A INPUT -m weird --opt -j\nCOMMIT\n", "ip")
    assert unknown[0]["rules"][0]["verdict"] == "unknown"
    ip6 = net.parse_iptables_save((SAMPLES / "ip6tables_good.txt").read_text(), "ip6")
    assert run("host.firewall.default_deny_inbound", firewall(unknown + ip6)) is E
    with pytest.raises(ParseError):
        net.parse_iptables_save("*filter\n:INPUT DROP [0:0]\n-A NOCHAIN -j ACCEPT\nCOMMIT\n", "ip")
