"""Host firewall checks: default-deny inbound, and egress limited by drop policy or rate limit."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from aslcheck.checks.host.common import by_host, missing, not_collected_reason
from aslcheck.checks.interface import CheckContext, CheckId, Finding, Select, Status
from aslcheck.checks.registry import check

DEFAULT_DENY_INBOUND = CheckId("host.firewall.default_deny_inbound")
EGRESS_LIMITED = CheckId("host.egress.limited")

FAMILIES = ("ip", "ip6")
_ESCAPES = ("accept", "jump", "goto")


def _covers(chain: Mapping[str, Any], family: str) -> bool:
    return chain["family"] in (family, "inet")


def default_drop(chains: Sequence[Mapping[str, Any]], hook: str, family: str) -> list[str]:
    """Base chains on ``hook`` for ``family`` whose policy is drop with no unconditional accept/jump."""
    out = []
    for chain in chains:
        if chain["hook"] != hook or not _covers(chain, family) or chain["policy"] != "drop":
            continue
        if any(r["verdict"] in _ESCAPES and not r["conditional"] for r in chain["rules"]):
            continue
        out.append(f"{chain['source']} {chain['family']} {chain['table']} {chain['chain']}")
    return out


def nft_rate_limit(chains: Sequence[Mapping[str, Any]], family: str) -> int | None:
    """Lowest byte rate of an output ``limit rate over N drop`` rule that nothing before it bypasses."""
    best: int | None = None
    for chain in chains:
        if chain["hook"] != "output" or not _covers(chain, family):
            continue
        for rule in chain["rules"]:
            rate = rule["limit_bytes_per_second"]
            if rate is not None:
                best = rate if best is None else min(best, rate)
                break
            if rule["verdict"] in _ESCAPES:
                break
    return best


@check(DEFAULT_DENY_INBOUND, kinds=["host.firewall"], select=Select.ALL)
def default_deny_inbound(ctx: CheckContext) -> Iterator[Finding]:
    """For IPv4 and IPv6, an input base chain drops by default and has no unconditional accept."""
    for res in ctx.resources:
        a = res.attributes
        gaps = missing(a, ("chains", "tools"))
        if gaps:
            yield ctx.finding(DEFAULT_DENY_INBOUND, res, Status.ERROR, not_collected_reason(res.id, gaps))
            continue
        covered = {f: default_drop(a["chains"], "input", f) for f in FAMILIES}
        evidence = {"tools": a["tools"], "default_drop_chains": covered}
        open_families = [f for f in FAMILIES if not covered[f]]
        if open_families:
            yield ctx.finding(DEFAULT_DENY_INBOUND, res, Status.FAIL,
                              f"no input chain drops by default for {', '.join(open_families)}", evidence)
        else:
            yield ctx.finding(DEFAULT_DENY_INBOUND, res, Status.PASS,
                              "inbound traffic is dropped by default for IPv4 and IPv6", evidence)


def _egress_verdict(fw: Mapping[str, Any], eg: Mapping[str, Any], budget: int) -> tuple[bool, str, dict[str, Any]]:
    chains = fw["chains"]
    drop = {f: default_drop(chains, "output", f) for f in FAMILIES}
    nft = {f: nft_rate_limit(chains, f) for f in FAMILIES}
    qdisc = {q["dev"]: q for q in eg["qdiscs"]}
    tc = {dev: qdisc.get(dev, {}).get("rate_bytes_per_second") for dev in eg["egress_interfaces"]}
    evidence: dict[str, Any] = {"budget_bytes_per_hour": budget, "output_default_drop": drop,
                                "nft_limit_bytes_per_second": nft, "tc_rate_bytes_per_second": tc,
                                "egress_interfaces": eg["egress_interfaces"]}
    per_family: list[str] = []
    for family in FAMILIES:
        limit = nft[family]
        if drop[family]:
            per_family.append(f"{family}: output policy drop")
        elif limit is not None and limit * 3600 <= budget:
            per_family.append(f"{family}: nft limit {limit * 3600} bytes/hour")
    if len(per_family) == len(FAMILIES):
        return True, "; ".join(per_family), evidence
    if tc and all(rate is not None and rate * 3600 <= budget for rate in tc.values()):
        return True, f"tc shapes every egress interface within {budget} bytes/hour", evidence
    parts = []
    for family in FAMILIES:
        if not drop[family]:
            limit = nft[family]
            parts.append(f"{family} output accepts by default"
                         + (f" and its nft limit {limit * 3600} bytes/hour exceeds the budget" if limit else ""))
    over = {d: r for d, r in tc.items() if r is None or r * 3600 > budget}
    if not tc:
        parts.append("no egress interface (default route) to shape")
    elif over:
        parts.append("tc does not limit " + ", ".join(
            f"{d} ({'no rate' if r is None else f'{r * 3600} bytes/hour'})" for d, r in over.items()))
    return False, "; ".join(parts) + f" (budget {budget} bytes/hour)", evidence


@check(EGRESS_LIMITED, kinds=["host.egress", "host.firewall"], primary_kinds=["host.egress"],
       select=Select.ALL, params=["egress_budget_bytes_per_hour"])
def egress_limited(ctx: CheckContext) -> Iterator[Finding]:
    """Output is dropped by default, or rate-limited (nft ``limit rate over`` or tc tbf) within the budget."""
    budget = ctx.config.param("egress_budget_bytes_per_hour")
    firewalls = by_host(ctx.snapshot, "host.firewall")
    for res in ctx.resources:
        fw = firewalls.get(res.host or "")
        gaps = missing(res.attributes, ("egress_interfaces", "qdiscs"))
        if fw is None or missing(fw.attributes, ("chains",)):
            gaps.append("host.firewall")
        if gaps or fw is None:
            yield ctx.finding(EGRESS_LIMITED, res, Status.ERROR, not_collected_reason(res.id, gaps))
            continue
        if budget is None:
            yield ctx.finding(EGRESS_LIMITED, res, Status.ERROR,
                              "parameter egress_budget_bytes_per_hour is not set in the config")
            continue
        passed, reason, evidence = _egress_verdict(fw.attributes, res.attributes, budget)
        yield ctx.finding(EGRESS_LIMITED, res, Status.PASS if passed else Status.FAIL, reason, evidence)
