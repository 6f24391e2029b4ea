"""IP address sets as sorted integer intervals, and the public address space they may cover.

"Egress to the internet" is a question about *sets*: several rules, each naming a few CIDRs,
together cover the public address space or they do not (``0.0.0.0/1`` + ``128.0.0.0/1`` is the
whole internet; ``10.0.0.0/8`` alone is none of it). This module answers it by arithmetic on
address intervals, never by matching ``0.0.0.0/0`` as text.

The public space is the whole family minus the IANA special-purpose registries (RFC 6890 and
successors). NOTE: in doubt a range is counted as *not* public: a smaller public space is easier
to cover, so excluding too much can only turn a PASS into a FAIL, never the reverse.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

V4_BITS = 32
V6_BITS = 128


@dataclass(frozen=True)
class AddressSet:
    """A set of addresses of one family: disjoint, sorted, half-open ``[start, end)`` intervals."""

    family: int
    """4 or 6."""
    intervals: tuple[tuple[int, int], ...] = ()
    """Disjoint, sorted, non-adjacent intervals."""

    @staticmethod
    def of(family: int, spans: Iterable[tuple[int, int]]) -> AddressSet:
        """Normalise arbitrary (possibly overlapping) spans into a set."""
        merged: list[tuple[int, int]] = []
        for start, end in sorted(s for s in spans if s[0] < s[1]):
            if merged and start <= merged[-1][1]:
                if end > merged[-1][1]:
                    merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return AddressSet(family, tuple(merged))

    def union(self, other: AddressSet) -> AddressSet:
        """Addresses in either set."""
        return AddressSet.of(self.family, self.intervals + other.intervals)

    def minus(self, other: AddressSet) -> AddressSet:
        """Addresses in this set and not in ``other``."""
        out: list[tuple[int, int]] = []
        cuts = other.intervals
        j = 0
        for start, end in self.intervals:
            cur = start
            while j < len(cuts) and cuts[j][1] <= cur:
                j += 1
            k = j
            while k < len(cuts) and cuts[k][0] < end:
                if cuts[k][0] > cur:
                    out.append((cur, cuts[k][0]))
                cur = max(cur, cuts[k][1])
                k += 1
            if cur < end:
                out.append((cur, end))
        return AddressSet(self.family, tuple(out))

    def size(self) -> int:
        """Number of addresses."""
        return sum(end - start for start, end in self.intervals)

    def intersects(self, other: AddressSet) -> bool:
        """Whether the sets share an address."""
        return other.size() != other.minus(self).size()


def parse_cidr(text: object) -> tuple[int, tuple[int, int]] | None:
    """``(family, (start, end))`` of a CIDR (host bits are ignored, as AWS masks them);
    ``None`` for anything that is not a CIDR (an undetermined value, a typo)."""
    if not isinstance(text, str) or "/" not in text:
        return None
    return _parse(text)


@lru_cache(maxsize=65536)
def _parse(text: str) -> tuple[int, tuple[int, int]] | None:
    # NOTE: the same few CIDRs recur across thousands of rules; ipaddress is slow to parse.
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None
    start = int(net.network_address)
    return net.version, (start, start + net.num_addresses)


def cidr_set(family: int, cidrs: Iterable[str]) -> AddressSet:
    """The addresses of the CIDRs of ``family`` among ``cidrs`` (others are ignored)."""
    return _cidr_set(family, tuple(cidrs))


@lru_cache(maxsize=16384)
def _cidr_set(family: int, cidrs: tuple[str, ...]) -> AddressSet:
    spans = []
    for c in cidrs:
        got = parse_cidr(c)
        if got is not None and got[0] == family:
            spans.append(got[1])
    return AddressSet.of(family, spans)


def everything(family: int) -> AddressSet:
    """Every address of the family."""
    return AddressSet(family, ((0, 1 << (V4_BITS if family == 4 else V6_BITS)),))


_SPECIAL_V4 = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24",
    "192.88.99.0/24", "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
)
"""IANA IPv4 special-purpose and multicast ranges (not reachable on the public internet)."""
_SPECIAL_V6 = ("2001::/23", "2001:db8::/32", "2002::/16", "2620:4f:8000::/48", "3fff::/20")
"""Special-purpose ranges inside the global-unicast ``2000::/3`` (documentation, 6to4...)."""

PUBLIC_V4 = everything(4).minus(cidr_set(4, _SPECIAL_V4))
"""Publicly routable IPv4 space."""
PUBLIC_V6 = cidr_set(6, ["2000::/3"]).minus(cidr_set(6, _SPECIAL_V6))
"""Publicly routable IPv6 space (global unicast minus special-purpose ranges)."""


def public(family: int) -> AddressSet:
    """The public space of a family."""
    return PUBLIC_V4 if family == 4 else PUBLIC_V6


@lru_cache(maxsize=16384)
def uncovered_public(family: int, allowed: AddressSet) -> int:
    """How many public addresses of ``family`` ``allowed`` leaves out."""
    # NOTE: cached: the same destination sets recur across groups and ports.
    return public(family).minus(allowed).size()


def touches_public(cidr: str) -> bool | None:
    """Whether a CIDR contains any public address (``None``: not a CIDR)."""
    got = parse_cidr(cidr)
    if got is None:
        return None
    family, span = got
    return public(family).intersects(AddressSet(family, (span,)))
