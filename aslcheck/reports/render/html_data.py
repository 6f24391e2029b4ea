"""The findings an HTML report embeds, within a fixed budget, as one compact JSON document.

A 400k-resource run has about 400k findings; rendered as table rows that made a 157 MB page no
browser could open. The page instead embeds at most :attr:`Budget.findings` findings, chosen
problems first (FAIL, then ERROR, shared fairly between checks), then up to
:attr:`Budget.passing_per_check` passing ones per check, as a JSON data block the page's script
pages through, searches and regroups by resource. Every check states how many findings it has
per status and how many the page holds; ``results.json`` and ``findings.csv`` hold them all.
The page size is therefore bounded by the budget, not by the size of the estate.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aslcheck.checks.interface import Finding, Status
from aslcheck.reports.model import CheckOutcome, RunResult

FINDING_ORDER = (Status.FAIL, Status.ERROR, Status.PASS, Status.NOT_APPLICABLE)
"""Display order of findings: problems first."""
_PROBLEMS = (Status.FAIL, Status.ERROR)


@dataclass(frozen=True)
class Budget:
    """How much of a run one HTML page embeds (the page size follows from it)."""

    findings: int = 40_000
    """Findings embedded in the page, all checks together."""
    bytes: int = 8_000_000
    """Characters of embedded finding data (resource, kind, reason, evidence), all checks together;
    with ``findings`` this bounds the page whatever the findings look like."""
    passing_per_check: int = 100
    """Passing (and not-applicable) findings embedded per check, after every problem that fits."""
    evidence_chars: int = 1_200
    """Evidence longer than this is cut (and marked) in the page."""
    reason_chars: int = 2_000
    """Reasons longer than this are cut in the page."""
    first_page: int = 20
    """Findings per check rendered as HTML (readable without JavaScript and in print)."""
    errors: int = 200
    """Collection errors listed in the page (run-wide list); per check: ``first_page``."""


def allocate(needs: Sequence[int], budget: int) -> list[int]:
    """Share ``budget`` between ``needs`` fairly: nobody gets more than it needs, the rest split evenly.

    Deterministic water-filling: small needs are met in full, large ones share what is left.
    """
    out = [0] * len(needs)
    order = sorted(range(len(needs)), key=lambda i: needs[i])
    left, remaining = budget, len(needs)
    for i in order:
        share = left // remaining if remaining else 0
        out[i] = min(needs[i], share)
        left -= out[i]
        remaining -= 1
    return out


def evidence_text(evidence: Any, limit: int) -> tuple[str, bool]:
    """Compact JSON of ``evidence``, cut to ``limit`` characters; and whether it was cut."""
    if not evidence:
        return "", False
    text = json.dumps(dict(evidence), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(text) <= limit:
        return text, False
    return text[:limit], True


class Strings:
    """A string table: each distinct string stored once, rows refer to it by index."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def add(self, value: str | None) -> int:
        """Index of ``value`` (-1 for None)."""
        if value is None:
            return -1
        idx = self._index.get(value)
        if idx is None:
            idx = self._index[value] = len(self.items)
            self.items.append(value)
        return idx


@dataclass
class Block:
    """One check outcome as the page shows it (shared by every control that uses the outcome)."""

    key: str
    outcome: CheckOutcome
    counts: Counter[str]
    """Findings per status value (all of them, not only the embedded ones)."""
    embedded: list[Finding] = field(default_factory=list)
    """The findings the page holds, in display order."""

    @property
    def total(self) -> int:
        """Every finding of the check."""
        return len(self.outcome.findings)


def _ordered(findings: Sequence[Finding], statuses: Sequence[Status]) -> list[Finding]:
    rank = {s: i for i, s in enumerate(FINDING_ORDER)}
    chosen = [f for f in findings if f.status in statuses]
    chosen.sort(key=lambda f: (rank[f.status], f.resource or ""))
    return chosen


def blocks(run: RunResult, budget: Budget) -> dict[int, Block]:
    """Every distinct check outcome of ``run`` (keyed by object identity) with its embedded findings."""
    out: dict[int, Block] = {}
    for r in run.results:
        for o in r.checks:
            if id(o) not in out:
                counts = Counter(f.status.value for f in o.findings)
                out[id(o)] = Block(f"k{len(out)}", o, counts)
    items = list(out.values())
    problems = [_ordered(b.outcome.findings, _PROBLEMS) for b in items]
    given = allocate([len(p) for p in problems], budget.findings)
    left = budget.findings - sum(given)
    passing = [_ordered(b.outcome.findings, (Status.PASS, Status.NOT_APPLICABLE)) for b in items]
    extra = allocate([min(len(p), budget.passing_per_check) for p in passing], left)
    chosen_problems = [p[:n] for p, n in zip(problems, given, strict=True)]
    chosen_passing = [p[:m] for p, m in zip(passing, extra, strict=True)]
    # Then the byte budget: problems before passing findings, round-robin between checks.
    room = budget.bytes
    kept_problems, room = _within(chosen_problems, room, budget)
    kept_passing, room = _within(chosen_passing, room, budget)
    for b, prob, ok in zip(items, kept_problems, kept_passing, strict=True):
        b.embedded = prob + ok
    return out


def cost(f: Finding, budget: Budget) -> int:
    """Characters one embedded finding adds to the page's data (before the string table shares them)."""
    ev = 0 if not f.evidence else min(len(evidence_text(f.evidence, budget.evidence_chars)[0]), budget.evidence_chars)
    return 16 + len(f.resource or "") + len(f.kind or "") + min(len(f.reason), budget.reason_chars) + ev


def _within(lists: Sequence[Sequence[Finding]], room: int, budget: Budget) -> tuple[list[list[Finding]], int]:
    kept: list[list[Finding]] = [[] for _ in lists]
    depth = max((len(x) for x in lists), default=0)
    for i in range(depth):
        for j, items in enumerate(lists):
            if i < len(items):
                c = cost(items[i], budget)
                if c > room:
                    return kept, 0
                room -= c
                kept[j].append(items[i])
    return kept, room


_CODES = {s: i for i, s in enumerate(FINDING_ORDER)}


def data_document(run: RunResult, table: dict[int, Block], budget: Budget) -> dict[str, Any]:
    """The JSON the page's script reads: string table, checks with their rows, controls."""
    strings = Strings()
    checks = []
    for b in table.values():
        rows = []
        for f in b.embedded:
            ev, cut = evidence_text(f.evidence, budget.evidence_chars)
            loc = f"{f.location.get('file')}:{f.location.get('start_line')}" if f.location else None
            reason = f.reason if len(f.reason) <= budget.reason_chars else f.reason[:budget.reason_chars] + " \u2026"
            rows.append([strings.add(f.resource), strings.add(f.kind), _CODES[f.status], strings.add(reason),
                         strings.add(ev or None), int(cut), strings.add(loc)])
        checks.append({"key": b.key, "id": b.outcome.check, "status": b.outcome.status or "unknown",
                       "counts": dict(b.counts), "total": b.total, "rows": rows})
    controls = []
    for r in run.results:
        whole = any(w.resource is None for w in r.waivers)
        controls.append({"id": r.control.id, "status": r.status.value,
                         "checks": [table[id(o)].key for o in r.checks],
                         "waived_all": whole,
                         "waived": sorted({w.resource for w in r.waivers if w.resource is not None})})
    return {"version": 1, "statuses": [s.value for s in FINDING_ORDER], "strings": strings.items,
            "checks": checks, "controls": controls, "page": budget.first_page}


def script_json(document: dict[str, Any]) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` can end the block."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


__all__ = ["FINDING_ORDER", "Block", "Budget", "allocate", "blocks", "cost", "data_document", "evidence_text",
           "script_json"]
