"""Prefix-list entries, security groups by ID, and which routes of a subnet leave the VPC.

Exits, for a weight subnet:

- a route of any destination to an internet gateway, an egress-only (IPv6) internet gateway or
  a carrier gateway: the subnet talks to the internet directly;
- a route whose destination includes public addresses to a transit gateway, a virtual private
  (VPN) gateway, a peering connection, a local gateway, a core network or an ODB network: the
  traffic leaves the VPC for networks this snapshot does not describe (centralised egress,
  on-premises, another VPC). Private destinations through them are segmentation, not exits.

Routes to a NAT gateway, a gateway endpoint, an appliance (instance or network interface) or
``local`` are not exits. A target of unknown type, or a destination that is not a CIDR or a
collected prefix list, cannot be judged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aslcheck.checks.aws.netspace import touches_public
from aslcheck.inventories.snapshot import Resource, Snapshot

PREFIX_LIST = "aws.ec2.prefix_list"
SECURITY_GROUP = "aws.ec2.security_group"

DIRECT_EXITS = frozenset({"internet_gateway", "egress_only_internet_gateway", "carrier_gateway"})
"""Targets that reach the internet whatever the destination."""
OFF_VPC = frozenset({"transit_gateway", "vpn_gateway", "vpc_peering", "local_gateway",
                     "core_network", "odb_network"})
"""Targets that carry traffic out of the VPC to networks the snapshot does not describe."""
INSIDE = frozenset({"local", "nat_gateway", "gateway_endpoint", "network_interface", "instance"})
"""Targets that are not exits of their own."""
_PREFIXES = (("igw-", "internet_gateway"), ("eigw-", "egress_only_internet_gateway"),
             ("vgw-", "vpn_gateway"), ("tgw-", "transit_gateway"), ("pcx-", "vpc_peering"),
             ("nat-", "nat_gateway"), ("vpce-", "gateway_endpoint"), ("eni-", "network_interface"),
             ("i-", "instance"), ("cagw-", "carrier_gateway"), ("lgw-", "local_gateway"))


class PrefixLists:
    """Collected prefix-list entries, by region and prefix-list ID."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._entries: dict[tuple[str | None, str], list[str] | None] = {}
        for pl in snapshot.of_kind(PREFIX_LIST):
            ident = pl.attributes.get("prefix_list_id")
            entries = pl.attributes.get("entries")
            if isinstance(ident, str):
                ok = isinstance(entries, list) and all(isinstance(e, str) for e in entries)
                self._entries[(pl.region, ident)] = list(entries) if isinstance(entries, list) \
                    and ok else None

    def lookup(self, region: str | None) -> Any:
        """A function ``prefix_list_id -> entries | None`` for resources in ``region``."""
        def find(ident: str) -> Sequence[str] | None:
            return self._entries.get((region, ident))
        return find


def security_groups(snapshot: Snapshot) -> dict[tuple[str | None, str], Resource]:
    """Security groups by (region, group ID)."""
    out: dict[tuple[str | None, str], Resource] = {}
    for sg in snapshot.of_kind(SECURITY_GROUP):
        gid = sg.attributes.get("group_id")
        if isinstance(gid, str):
            out[(sg.region, gid)] = sg
    return out


def route_kind(route: Mapping[str, Any]) -> str:
    """Target type of a modelled route (inferred from the target ID for older snapshots)."""
    kind = route.get("target_type")
    if isinstance(kind, str):
        return kind
    target = route.get("target")
    if target == "local":
        return "local"
    if isinstance(target, str):
        return next((k for p, k in _PREFIXES if target.startswith(p)), "unknown")
    return "unknown"


def _public_destination(dest: Any, lookup: Any) -> bool | None:
    """Whether a route destination (CIDR or prefix-list ID) includes public addresses."""
    if not isinstance(dest, str):
        return None
    if "/" in dest:
        return touches_public(dest)
    entries = lookup(dest)
    if entries is None:
        return None
    verdicts = [touches_public(e) for e in entries]
    return True if True in verdicts else None if None in verdicts else False


def judge_routes(routes: Iterable[Any], lookup: Any) -> tuple[list[str], list[str]]:
    """(exits, undecidable routes) among a subnet's routes, each as ``dest -> target (type)``."""
    exits: list[str] = []
    unknown: list[str] = []
    for r in routes:
        if not isinstance(r, Mapping):
            unknown.append(f"unreadable route {r!r}")
            continue
        if r.get("state") == "blackhole":
            continue  # its target is gone: it carries no traffic
        kind = route_kind(r)
        desc = f"{r.get('destination')} -> {r.get('target')} ({kind})"
        if kind in DIRECT_EXITS:
            exits.append(desc)
        elif kind in OFF_VPC:
            public = _public_destination(r.get("destination"), lookup)
            if public is True:
                exits.append(desc)
            elif public is None:
                unknown.append(f"{desc}: destination not a CIDR or a collected prefix list")
        elif kind not in INSIDE:
            unknown.append(f"{desc}: target type not recognised")
    return exits, unknown
