"""Whether a set of security-group egress rules lets traffic reach the whole internet on all ports.

Rules are judged *together* (the rules of one group, or the union over every group of a network
interface): the destinations of all rules covering a port are united before asking whether
they cover the public address space (:mod:`aslcheck.checks.aws.netspace`).

"All ports" means: protocol ``-1``; or every port 1-65535 of TCP, or of UDP, open to the whole
public space of a family; or any other IP protocol (SCTP, GRE, ESP, IP-in-IP...: they have no
port filter in a security group and carry arbitrary payloads) open to it. ICMP is not "all
ports". Leaving a sliver out does not restrict egress: missing fewer than 1/256 of the public
addresses of a family, or fewer than :data:`PORT_SLIVER` ports, still counts as all of them.

Anything the rules do not determine (an unresolved prefix list, a CIDR or port that is not a
value, an unknown protocol) is judged both ways, as nothing and as everything; when the two
answers differ the verdict is undecidable (``None``), never open-by-default nor closed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from aslcheck.checks.aws.netspace import (
    AddressSet,
    cidr_set,
    everything,
    parse_cidr,
    public,
    uncovered_public,
)

FIRST_PORT, LAST_PORT = 1, 65535
"""Destination ports (port 0 is not a usable destination port)."""
PORT_SLIVER = 1024
"""Fewer closed ports than this still means "all ports"."""
_NO_PORTS = frozenset({"icmp", "icmpv6", "1", "58"})
_ALIASES = {"6": "tcp", "17": "udp", "all": "-1"}
_FAMILIES = (4, 6)

PrefixLookup = Callable[[str], "Sequence[str] | None"]
"""Entries (CIDRs) of a prefix list by ID; ``None`` when they were not collected."""


_SLIVERS = {f: public(f).size() >> 8 for f in (4, 6)}
"""Fewer uncovered public addresses than this still means "the whole internet"."""


@dataclass(frozen=True)
class _Rect:
    """One rule as allowed (protocol, port range, destinations)."""

    protocol: str
    """``-1``, ``tcp``, ``udp`` or another protocol (name or number)."""
    lo: int
    """First port (TCP/UDP)."""
    hi: int
    """Last port (TCP/UDP)."""
    dests: tuple[AddressSet, AddressSet]
    """IPv4 and IPv6 destinations."""


@dataclass
class _Reading:
    """Rules read one way (unknowns as nothing, or as everything)."""

    rects: list[_Rect] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _dests(rule: Mapping[str, Any], lookup: PrefixLookup, worst: bool,
           unknown: list[str]) -> tuple[AddressSet, AddressSet]:
    cidrs: list[str] = []
    anything = False
    for name in ("cidrs", "ipv6_cidrs"):
        values = rule.get(name) or []
        if not isinstance(values, list):
            values = [values]
        for c in values:
            if parse_cidr(c) is None:
                unknown.append(f"destination {c!r} is not a CIDR")
                anything = True
            else:
                cidrs.append(c)
    pls = rule.get("prefix_lists") or []
    for pl in pls if isinstance(pls, list) else [pls]:
        entries = lookup(str(pl))
        if entries is None:
            unknown.append(f"entries of prefix list {pl} not collected")
            anything = True
        else:
            for c in entries:
                if parse_cidr(c) is None:
                    unknown.append(f"prefix list {pl} entry {c!r} is not a CIDR")
                    anything = True
                else:
                    cidrs.append(c)
    if anything and worst:
        return everything(4), everything(6)
    v4, v6 = (cidr_set(f, cidrs) for f in _FAMILIES)
    return v4, v6


def _port(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _read(rules: Iterable[Any], lookup: PrefixLookup, worst: bool) -> _Reading:
    out = _Reading()
    full = (everything(4), everything(6))
    for rule in rules:
        if not isinstance(rule, Mapping):
            out.unknown.append(f"unreadable rule {rule!r}")
            if worst:
                out.rects.append(_Rect("-1", FIRST_PORT, LAST_PORT, full))
            continue
        raw = rule.get("protocol")
        proto = _ALIASES.get(str(raw).lower(), str(raw).lower()) if isinstance(raw, (str, int)) \
            and not isinstance(raw, bool) else None
        if proto is None or not proto or (proto not in ("-1", "tcp", "udp") and not proto.isdigit()
                                          and proto not in _NO_PORTS):
            out.unknown.append(f"protocol {raw!r} not recognised")
            if worst:
                out.rects.append(_Rect("-1", FIRST_PORT, LAST_PORT, full))
            continue
        if proto in _NO_PORTS:
            continue
        dests = _dests(rule, lookup, worst, out.unknown)
        lo, hi = FIRST_PORT, LAST_PORT
        if proto in ("tcp", "udp"):
            a, b = _port(rule.get("from_port")), _port(rule.get("to_port"))
            if a is None or b is None:
                out.unknown.append(f"{proto} port range {rule.get('from_port')!r}-"
                                   f"{rule.get('to_port')!r} not determined")
                if not worst:
                    continue
            else:
                lo, hi = max(a, FIRST_PORT), min(b, LAST_PORT)
        out.rects.append(_Rect(proto, lo, hi, dests))
    return out


def _covers(sets: Iterable[tuple[AddressSet, AddressSet]]) -> tuple[bool, bool, str]:
    """(covers up to a sliver, covers exactly, family) of the union of destinations."""
    v4, v6 = AddressSet(4), AddressSet(6)
    for a, b in sets:
        v4, v6 = v4.union(a), v6.union(b)
    for family, got in ((4, v4), (6, v6)):
        if not got.intervals:
            continue
        missing = uncovered_public(family, got)
        if missing <= _SLIVERS[family]:
            return True, missing == 0, f"IPv{family}"
    return False, False, ""


def _transport(rects: list[_Rect], proto: str) -> str | None:
    """Why TCP or UDP is open on all ports to the whole internet, or ``None``."""
    mine = [r for r in rects if r.protocol in (proto, "-1") and r.lo <= r.hi]
    if not mine or not _covers(r.dests for r in mine)[0]:
        return None  # NOTE: not even all the rules together reach the internet: skip the ports
    cuts = sorted({FIRST_PORT, LAST_PORT + 1} | {r.lo for r in mine} | {r.hi + 1 for r in mine})
    open_ports, exact, family = 0, True, ""
    for a, b in pairwise(cuts):
        if a > LAST_PORT:
            break
        near, whole, fam = _covers(r.dests for r in mine if r.lo <= a and r.hi >= b - 1)
        if near:
            open_ports += b - a
            exact = exact and whole
            family = family or fam
        else:
            exact = False
    total = LAST_PORT - FIRST_PORT + 1
    if open_ports < total - PORT_SLIVER:
        return None
    scope = "the whole" if exact else "(all but a sliver of) the"
    return f"{proto} on {open_ports} of {total} ports to {scope} public {family} internet"


def _opens(rects: list[_Rect]) -> str | None:
    """Why the rules open the internet on all ports, or ``None``."""
    everything_rules = [r for r in rects if r.protocol == "-1"]
    if everything_rules:
        near, whole, family = _covers(r.dests for r in everything_rules)
        if near:
            scope = "the whole" if whole else "(all but a sliver of) the"
            return f"all traffic to {scope} public {family} internet"
    for proto in ("tcp", "udp"):
        why = _transport(rects, proto)
        if why:
            return why
    others = sorted({r.protocol for r in rects if r.protocol not in ("tcp", "udp", "-1")})
    for proto in others:
        near, whole, family = _covers(r.dests for r in rects if r.protocol in (proto, "-1"))
        if near:
            what = f"IP protocol {proto} (no port filter)"
            scope = "the whole" if whole else "(all but a sliver of) the"
            return f"{what} to {scope} public {family} internet"
    return None


@dataclass(frozen=True)
class EgressVerdict:
    """Whether a rule set opens the internet on all ports."""

    open: bool | None
    """True: it does; False: it does not; None: undetermined inputs decide it."""
    reason: str
    """Why."""
    undetermined: tuple[str, ...] = ()
    """What the rules leave undetermined."""


def judge(rules: Sequence[Any], lookup: PrefixLookup) -> EgressVerdict:
    """Judge egress ``rules`` (the attribute model's rule dicts), unknowns both ways."""
    best = _read(rules, lookup, worst=False)
    why = _opens(best.rects)
    if not best.unknown:
        return EgressVerdict(True, f"allows {why}") if why else \
            EgressVerdict(False, "no set of rules opens all ports to the internet")
    worst = _read(rules, lookup, worst=True)
    notes = tuple(dict.fromkeys(worst.unknown))
    if why:
        return EgressVerdict(True, f"allows {why}", notes)
    why = _opens(worst.rects)
    if why is None:
        return EgressVerdict(False, "no set of rules opens all ports to the internet", notes)
    return EgressVerdict(None, f"may allow {why}: {'; '.join(notes)}", notes)
