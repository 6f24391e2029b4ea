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
_ESCAPES = ("accept", "jump", "goto", "queue", "vmap", "unknown")
_DIRECTION = {"input": "input", "prerouting": "input", "forward": "input", "ingress": "input",
              "output": "output", "postrouting": "output"}
_MAX_JUMPS = 16


def _covers(chain: Mapping[str, Any], family: str) -> bool:
    return chain["family"] in (family, "inet")


def _match(rule: Mapping[str, Any], direction: str) -> str:
    match = rule.get("match")
    if isinstance(match, Mapping) and direction in match:
        return str(match[direction])
    # NOTE: a rule summary without a match class (older snapshots) is only known to be
    # unconditional or not; a condition of unknown shape proves nothing.
    return "all" if not rule.get("conditional") else "unknown"


def _describe(chain: Mapping[str, Any], rule: Mapping[str, Any], index: int) -> str:
    conds = rule.get("conditions") or []
    what = " and ".join(str(c) for c in conds) if conds else "everything"
    return f"{chain['source']} {chain['family']} {chain['table']} {chain['chain']} rule {index + 1} " \
           f"({rule.get('verdict')} on {what})"


def _walk(chains: Mapping[tuple[str, str, str], Mapping[str, Any]], chain: Mapping[str, Any], direction: str,
          narrowed: bool, depth: int, wide: list[str], unknown: list[str]) -> None:
    """Collect the accept paths of ``chain`` that match everything (``wide``) or cannot be read (``unknown``)."""
    if depth > _MAX_JUMPS:
        unknown.append(f"jumps nested deeper than {_MAX_JUMPS} from {chain['chain']}")
        return
    for index, rule in enumerate(chain["rules"]):
        cls = "narrow" if narrowed else _match(rule, direction)
        verdict = rule.get("verdict")
        if verdict in ("jump", "goto"):
            key = (chain["family"], chain["table"], rule.get("target") or "")
            target = chains.get(key)
            if target is None:
                if cls != "narrow":
                    unknown.append(f"{_describe(chain, rule, index)}: target chain not in the ruleset")
            else:
                _walk(chains, target, direction, cls == "narrow", depth + 1, wide, unknown)
        elif verdict in _ESCAPES:
            if cls == "all":
                wide.append(_describe(chain, rule, index))
            elif cls == "unknown":
                unknown.append(_describe(chain, rule, index))
        elif verdict in ("drop", "reject", "return") and cls == "all":
            # NOTE: nothing after an unconditional drop (or return) in this chain is reached.
            return


def chain_states(chains: Sequence[Mapping[str, Any]], hook: str, family: str) -> dict[str, list[dict[str, Any]]]:
    """Base chains on ``hook`` for ``family`` sorted into ``deny`` / ``open`` / ``unknown`` with reasons.

    ``deny``: policy drop, table active, and no accept path that matches everything or cannot
    be read (jumps into regular chains followed). One deny chain is enough for the family, since
    an accept in one base chain does not skip the others on the same hook.
    """
    direction = _DIRECTION.get(hook, "input")
    by_key = {(c["family"], c["table"], c["chain"]): c for c in chains}
    out: dict[str, list[dict[str, Any]]] = {"deny": [], "open": [], "unknown": []}
    for chain in chains:
        if chain.get("hook") != hook or not _covers(chain, family):
            continue
        name = f"{chain['source']} {chain['family']} {chain['table']} {chain['chain']}"
        state = chain.get("table_state", "active")
        if state == "dormant":
            out["open"].append({"chain": name, "why": "its table is dormant (not in effect)"})
            continue
        if chain["policy"] != "drop":
            out["open"].append({"chain": name, "why": f"policy {chain['policy']}"})
            continue
        wide: list[str] = []
        unknown: list[str] = []
        _walk(by_key, chain, direction, False, 0, wide, unknown)
        if state != "active":
            unknown.insert(0, f"the flags of table {chain['table']} could not be read, so it may be dormant")
        if wide:
            peer = "source" if direction == "input" else "destination"
            out["open"].append({"chain": name, "why": f"an accept before the drop admits any {peer}, port or "
                                                      "protocol its match leaves open: " + "; ".join(wide[:3])})
        elif unknown:
            out["unknown"].append({"chain": name, "why": "cannot tell what it accepts: " + "; ".join(unknown[:3])})
        else:
            out["deny"].append({"chain": name, "why": "policy drop, every accept is narrow"})
    return out


def default_drop(chains: Sequence[Mapping[str, Any]], hook: str, family: str) -> list[str]:
    """Base chains on ``hook`` for ``family`` that deny by default (see :func:`chain_states`)."""
    return [c["chain"] for c in chain_states(chains, hook, family)["deny"]]


def nft_rate_limit(chains: Sequence[Mapping[str, Any]], family: str) -> int | None:
    """Lowest byte rate of an output ``limit rate over N drop`` rule that nothing before it bypasses."""
    best: int | None = None
    for chain in chains:
        if chain.get("hook") != "output" or not _covers(chain, family) \
                or chain.get("table_state", "active") != "active":
            continue
        for rule in chain["rules"]:
            rate = rule["limit_bytes_per_second"]
            if rate is not None:
                best = rate if best is None else min(best, rate)
                break
            if rule.get("verdict") in _ESCAPES:
                break
    return best


@check(DEFAULT_DENY_INBOUND, kinds=["host.firewall"], select=Select.ALL)
def default_deny_inbound(ctx: CheckContext) -> Iterator[Finding]:
    """For IPv4 and IPv6, an input base chain drops by default and accepts only narrow traffic.

    An accept whose match is always true (``ip saddr 0.0.0.0/0``, ``meta l4proto {tcp, udp}``,
    a jump to a chain that accepts everything) before the final drop is not a default deny
    (FAIL); one this check cannot read, with no default-deny chain beside it, is an ERROR.
    """
    for res in ctx.resources:
        a = res.attributes
        gaps = missing(a, ("chains", "tools"))
        if gaps:
            yield ctx.finding(DEFAULT_DENY_INBOUND, res, Status.ERROR, not_collected_reason(res.id, gaps))
            continue
        states = {f: chain_states(a["chains"], "input", f) for f in FAMILIES}
        evidence = {"tools": a["tools"], "default_drop_chains": {f: [c["chain"] for c in states[f]["deny"]]
                                                                 for f in FAMILIES},
                    "open_chains": {f: states[f]["open"] for f in FAMILIES},
                    "undetermined_chains": {f: states[f]["unknown"] for f in FAMILIES}}
        open_families = [f for f in FAMILIES if not states[f]["deny"] and not states[f]["unknown"]]
        unknown_families = [f for f in FAMILIES if not states[f]["deny"] and states[f]["unknown"]]
        if open_families:
            details = "; ".join(f"{c['chain']}: {c['why']}" for f in open_families for c in states[f]["open"][:2])
            yield ctx.finding(DEFAULT_DENY_INBOUND, res, Status.FAIL,
                              f"no input chain drops by default for {', '.join(open_families)}"
                              + (f" ({details})" if details else ""), evidence)
        elif unknown_families:
            details = "; ".join(f"{c['chain']}: {c['why']}" for f in unknown_families
                                for c in states[f]["unknown"][:2])
            yield ctx.finding(DEFAULT_DENY_INBOUND, res, Status.ERROR,
                              f"cannot decide whether inbound {', '.join(unknown_families)} traffic is denied "
                              f"by default: {details}", evidence)
        else:
            yield ctx.finding(DEFAULT_DENY_INBOUND, res, Status.PASS,
                              "inbound traffic is dropped by default for IPv4 and IPv6", evidence)


def _egress_verdict(fw: Mapping[str, Any], eg: Mapping[str, Any], budget: int) -> tuple[bool, str, dict[str, Any]]:
    chains = fw["chains"]
    states = {f: chain_states(chains, "output", f) for f in FAMILIES}
    drop = {f: [c["chain"] for c in states[f]["deny"]] for f in FAMILIES}
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
    evidence["undetermined_output_chains"] = {f: states[f]["unknown"] for f in FAMILIES}
    parts = []
    for family in FAMILIES:
        if not drop[family]:
            limit = nft[family]
            why = "; ".join(c["why"] for c in states[family]["open"][:2] + states[family]["unknown"][:2])
            parts.append(f"{family} output is not dropped by default" + (f" ({why})" if why else "")
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
        # NOTE: ERROR only when every family that is not limited might be (an unreadable chain).
        unlimited = [f for f in FAMILIES if not evidence["output_default_drop"][f]
                     and not (evidence["nft_limit_bytes_per_second"][f] is not None
                              and evidence["nft_limit_bytes_per_second"][f] * 3600 <= budget)]
        undecided = not passed and bool(unlimited) and all(
            evidence["undetermined_output_chains"][f] for f in unlimited)
        status = Status.PASS if passed else (Status.ERROR if undecided else Status.FAIL)
        if undecided:
            reason = "cannot decide whether output is limited: " + reason
        yield ctx.finding(EGRESS_LIMITED, res, status, reason, evidence)
