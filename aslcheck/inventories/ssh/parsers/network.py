"""Parsers for firewall rulesets (nftables JSON, iptables-save), default routes and tc qdiscs.

Rulesets are summarised per base chain (hook, policy and, per rule, its verdict, whether it
matches anything, and a byte-rate limit when it is ``limit rate over N bytes/... drop``); the
checks decide what that means.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aslcheck.inventories.ssh.parsers import ParseError

_UNIT = {"bytes": 1, "kbytes": 1024, "mbytes": 1024 * 1024, "gbytes": 1024 ** 3}
_PER = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}
_VERDICTS = ("accept", "drop", "reject", "jump", "goto", "return", "queue")
_PASSIVE = ("counter", "log")


def _nft_rule(expr: list[Mapping[str, Any]]) -> dict[str, Any]:
    verdict: str | None = None
    conditions = 0
    limit_bps: int | None = None
    for item in expr:
        (op, value), = item.items() if len(item) == 1 else (("?", None),)
        if op in _VERDICTS:
            verdict = op
        elif op in _PASSIVE:
            continue
        elif op == "limit" and isinstance(value, dict):
            conditions += 1
            unit = value.get("rate_unit")
            if value.get("inv") and unit in _UNIT and value.get("per") in _PER:
                limit_bps = int(value["rate"]) * _UNIT[unit] // _PER[value["per"]]
        else:
            conditions += 1
    return {"verdict": verdict, "conditional": conditions > 0,
            "limit_bytes_per_second": limit_bps if verdict == "drop" and conditions == 1 else None}


def parse_nft_ruleset(text: str) -> list[dict[str, Any]]:
    """``nft -j list ruleset`` into base-chain summaries (family, table, chain, hook, policy, rules)."""
    try:
        doc = json.loads(text)
        items = doc["nftables"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ParseError("BadOutput", f"nft output is not a JSON ruleset: {exc}") from exc
    chains: dict[tuple[str, str, str], dict[str, Any]] = {}
    for item in items:
        chain = item.get("chain")
        if isinstance(chain, dict) and "hook" in chain:
            key = (chain["family"], chain["table"], chain["name"])
            chains[key] = {"source": "nft", "family": chain["family"], "table": chain["table"],
                           "chain": chain["name"], "hook": chain["hook"],
                           "policy": chain.get("policy", "accept"), "rules": []}
    for item in items:
        rule = item.get("rule")
        if isinstance(rule, dict):
            key = (rule["family"], rule["table"], rule["chain"])
            if key in chains:
                chains[key]["rules"].append(_nft_rule(rule.get("expr", [])))
    return [chains[k] for k in sorted(chains)]


_IPT_HOOKS = {"INPUT": "input", "OUTPUT": "output", "FORWARD": "forward",
              "PREROUTING": "prerouting", "POSTROUTING": "postrouting"}


def parse_iptables_save(text: str, family: str) -> list[dict[str, Any]]:
    """``iptables-save``/``ip6tables-save`` into built-in chain summaries of every table."""
    chains: dict[tuple[str, str], dict[str, Any]] = {}
    table: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            table = line[1:]
        elif line == "COMMIT":
            table = None
        elif line.startswith(":") and table is not None:
            parts = line[1:].split()
            if len(parts) >= 2 and parts[0] in _IPT_HOOKS and parts[1] != "-":
                chains[(table, parts[0])] = {"source": f"{'ip6' if family == 'ip6' else 'ip'}tables",
                                             "family": family, "table": table, "chain": parts[0],
                                             "hook": _IPT_HOOKS[parts[0]], "policy": parts[1].lower(),
                                             "rules": []}
        elif line.startswith("-A ") and table is not None:
            tokens = line.split()
            key = (table, tokens[1])
            if key not in chains:
                continue
            verdict = None
            if "-j" in tokens:
                target = tokens[tokens.index("-j") + 1].lower()
                verdict = target if target in _VERDICTS else "jump"
            elif "-g" in tokens:
                verdict = "goto"
            chains[key]["rules"].append({"verdict": verdict, "conditional": bool(_ipt_conditions(tokens)),
                                         "limit_bytes_per_second": None})
        elif table is None and line:
            raise ParseError("BadOutput", f"iptables-save line outside a table: {line!r}")
    return [chains[k] for k in sorted(chains)]


def _ipt_conditions(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for tok in tokens[2:]:
        if tok in ("-j", "-g"):
            # NOTE: target options (e.g. --reject-with) follow the target; they match nothing.
            break
        out.append(tok)
    return out


def parse_default_routes(text: str, family: str) -> list[dict[str, Any]]:
    """``ip -j [-6] route show default`` into ``{family, dev, gateway}`` records."""
    if not text.strip():
        return []
    try:
        routes = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError("BadOutput", f"ip route output is not JSON: {exc}") from exc
    if not isinstance(routes, list):
        raise ParseError("BadOutput", "ip route JSON is not a list")
    return [{"family": family, "dev": r.get("dev"), "gateway": r.get("gateway")} for r in routes]


def parse_tc_qdiscs(text: str) -> list[dict[str, Any]]:
    """``tc -j -s qdisc show`` into root qdiscs with a byte rate when the qdisc shapes (tbf)."""
    try:
        qdiscs = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError("BadOutput", f"tc output is not JSON: {exc}") from exc
    if not isinstance(qdiscs, list):
        raise ParseError("BadOutput", "tc JSON is not a list")
    out = []
    for q in qdiscs:
        if not q.get("root"):
            continue
        rate = None
        options = q.get("options") or {}
        if q.get("kind") == "tbf" and isinstance(options.get("rate"), int):
            rate = options["rate"]
        out.append({"dev": q.get("dev"), "kind": q.get("kind"), "rate_bytes_per_second": rate})
    return out
