"""Self-contained HTML report for auditors: summary charts, per-control evidence, filters, search.

One file, no external assets: CSS and JavaScript are inlined and pinned by a Content-Security-
Policy that allows only their hashes and no network at all, so it works offline and an injected
script could not run. Everything from the run is rendered through Jinja2 with autoescaping, and
the script builds rows with ``textContent`` only.

It scales: the page embeds a bounded number of findings (:class:`~.html_data.Budget`, problems
first) as a JSON data block and renders them a page at a time, so a 400k-resource run gives a
page of a few MB; each check says how many findings it has and how many the page holds.
Without JavaScript every control and the first page of each check's findings are shown; with it,
status filters, paging, search and a by-resource view appear. Status is never conveyed by colour
alone: every badge carries its label and a glyph, and INCONCLUSIVE and NOT_ATTESTED also differ
in lightness and pattern (hatched vs dotted), so they stay apart in greyscale.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jinja2

from aslcheck.controls.model import Waiver
from aslcheck.errors import assert_never
from aslcheck.reports.interface import Renderer
from aslcheck.reports.model import ControlResult, ControlStatus, RunResult
from aslcheck.reports.render.html_data import Block, Budget, blocks, data_document, evidence_text, script_json

ORDER = (ControlStatus.FAIL, ControlStatus.INCONCLUSIVE, ControlStatus.NOT_ATTESTED, ControlStatus.WAIVED,
         ControlStatus.PASS, ControlStatus.NOT_APPLICABLE)
"""Display order: what needs attention first."""

DOMAINS = {
    "WA": "Weight access", "TP": "Two-party authorization", "EN": "Encryption & keys",
    "ID": "Identity & MFA", "LM": "Logging & monitoring", "NW": "Network & egress",
    "EP": "Endpoint hardening", "SC": "Supply chain & change", "PR": "Insider risk & personnel",
    "PH": "Physical security", "IR": "Incident response", "AS": "Assurance & testing",
}
"""Domain codes of the catalog, as headings."""

HISTORY_POINTS = 30
"""Runs shown in a control's history strip (the newest ones)."""


@dataclass(frozen=True)
class Style:
    """How a status looks: never colour alone (label, glyph and, where colours are close, pattern)."""

    label: str
    color: str
    glyph: str = ""
    """Shown before the label (also in greyscale print)."""
    pattern: str = "solid"
    """``solid``, ``hatch`` (INCONCLUSIVE) or ``dots`` (NOT_ATTESTED) in swatches and chart bars."""


def style(status: ControlStatus | str) -> Style:
    """Label and colour of a control status (or of a status value from history)."""
    if isinstance(status, str):
        try:
            status = ControlStatus(status)
        except ValueError:
            return Style(str(status).upper(), "#757575")
    if status is ControlStatus.PASS:
        return Style("PASS", "#1b7837", "\u2713")
    if status is ControlStatus.FAIL:
        return Style("FAIL", "#c62828", "\u2717")
    if status is ControlStatus.INCONCLUSIVE:
        return Style("INCONCLUSIVE", "#e69f00", "?", "hatch")
    if status is ControlStatus.NOT_ATTESTED:
        return Style("NOT ATTESTED", "#0072b2", "\u270e", "dots")
    if status is ControlStatus.WAIVED:
        return Style("WAIVED", "#7b3294", "\u2298")
    if status is ControlStatus.NOT_APPLICABLE:
        return Style("N/A", "#8a8a8a", "\u2013")
    assert_never(status)


def _asset(name: str) -> str:
    return resources.files("aslcheck.reports.render").joinpath("templates").joinpath(name).read_text("utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


FINDING_GLYPHS = {"fail": "\u2717", "error": "?", "pass": "\u2713", "not_applicable": "\u2013"}
"""Glyphs of finding and check statuses (the same shapes as the control statuses they roll up to)."""


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.globals["finding_glyph"] = lambda status: FINDING_GLYPHS.get(status, "")
    return env


class HtmlRenderer(Renderer):
    """One self-contained HTML file."""

    name = "html"
    filename = "report.html"

    def __init__(self, history: Mapping[str, Sequence[tuple[str, str]]] | None = None,
                 budget: Budget | None = None) -> None:
        """``history``: control ID -> earlier ``(evaluatedAt, status)`` points, oldest first;
        ``budget``: how many findings the page embeds (default :class:`Budget`)."""
        self.history = history
        self.budget = budget or Budget()

    def render(self, run: RunResult) -> bytes:
        """The HTML bytes."""
        css, js = _asset("report.css"), _asset("report.js")
        template = _environment().from_string(_asset("report.html.j2"))
        csp = (f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
               "img-src data:; base-uri 'none'; form-action 'none'")
        table = blocks(run, self.budget)
        embedded = sum(len(b.embedded) for b in table.values())
        total = sum(b.total for b in table.values())
        html = template.render(
            run=run, css=css, js=js, csp=csp, tally=_tally(run), headline=_headline(run),
            chart=_chart(run), domains=_domain_table(run), statuses=_legend(),
            controls=[_control(r, run.evaluated_at, self.history, table, self.budget)
                      for r in sorted(run.results, key=lambda r: ORDER.index(r.status))],
            errors=[_error(e) for e in run.collection_errors[:self.budget.errors]],
            errors_total=len(run.collection_errors), has_history=self.history is not None,
            data=script_json(data_document(run, table, self.budget)),
            embedded=embedded, findings_total=total, selection=_selection(run),
        )
        return html.encode("utf-8")


def _tally(run: RunResult) -> list[dict[str, Any]]:
    t = run.tally()
    return [{"status": s.value, "label": style(s).label, "color": style(s).color, "count": t[s],
             "pattern": style(s).pattern} for s in ORDER]


def _legend() -> list[dict[str, str]]:
    return [{"status": s.value, "label": style(s).label, "glyph": style(s).glyph, "pattern": style(s).pattern}
            for s in ORDER]


def _selection(run: RunResult) -> dict[str, Any] | None:
    if run.selection is None:
        return None
    rec = run.selection
    return {"filters": ", ".join(f"--{k.replace('_', '-')} {v if isinstance(v, str) else ','.join(v)}"
                                 for k, v in rec.get("filters", {}).items()),
            "selected": len(rec.get("selected_controls", [])), "excluded": list(rec.get("excluded_controls", [])),
            "skipped": dict(rec.get("skipped_checks", {}))}


def _headline(run: RunResult) -> dict[str, str]:
    gating = {r.status for r in run.results if r.gating}
    for s in (ControlStatus.FAIL, ControlStatus.INCONCLUSIVE, ControlStatus.NOT_ATTESTED):
        if s in gating:
            n = sum(1 for r in run.results if r.gating and r.status is s)
            return {"status": s.value, "label": style(s).label, "color": style(s).color, "glyph": style(s).glyph,
                    "text": f"{n} gating control(s) {style(s).label}"}
    return {"status": "pass", "label": "PASS", "color": style(ControlStatus.PASS).color,
            "glyph": style(ControlStatus.PASS).glyph,
            "text": "every gating control passed, is waived or not applicable"}


_BAR_X, _BAR_W, _ROW_H = 190, 420, 24


def _row(label: str, results: Sequence[ControlResult], y: int) -> dict[str, Any]:
    total = len(results)
    segments, x = [], float(_BAR_X)
    for s in ORDER:
        n = sum(1 for r in results if r.status is s)
        if not n:
            continue
        w = _BAR_W * n / total
        segments.append({"x": round(x, 2), "w": round(w, 2), "color": style(s).color, "n": n,
                         "label": style(s).label, "status": s.value, "pattern": style(s).pattern})
        x += w
    return {"label": label, "y": y, "total": total, "segments": segments}


def _chart(run: RunResult) -> dict[str, Any]:
    sections: list[tuple[str, list[tuple[str, list[ControlResult]]]]] = [
        ("Profile", [(run.profile, list(run.results))]),
        ("Level", [(lv, [r for r in run.results if r.control.level == lv])
                   for lv in sorted({r.control.level for r in run.results})]),
        ("Domain", [(f"{d} {DOMAINS.get(d, '')}".strip(), [r for r in run.results if r.control.domain == d])
                    for d in _domain_order(run)]),
    ]
    rows: list[dict[str, Any]] = []
    headers: list[dict[str, Any]] = []
    y = 4
    for title, groups in sections:
        headers.append({"label": title, "y": y + 12})
        y += 18
        for label, rs in groups:
            if rs:
                rows.append(_row(label, rs, y))
                y += _ROW_H
        y += 8
    return {"rows": rows, "headers": headers, "height": y, "bar_x": _BAR_X, "bar_w": _BAR_W,
            "width": _BAR_X + _BAR_W + 50}


def _domain_order(run: RunResult) -> list[str]:
    present = {r.control.domain for r in run.results}
    return [d for d in DOMAINS if d in present] + sorted(present - set(DOMAINS))


def _domain_table(run: RunResult) -> list[dict[str, Any]]:
    out = []
    for d in _domain_order(run):
        rs = [r for r in run.results if r.control.domain == d]
        out.append({"code": d, "name": DOMAINS.get(d, d), "total": len(rs),
                     "counts": [sum(1 for r in rs if r.status is s) for s in ORDER]})
    return out


def _evidence(value: Mapping[str, Any], limit: int) -> str:
    text, cut = evidence_text(value, limit)
    if cut:
        return text + " \u2026 (cut; the full evidence is in results.json)"
    return json.dumps(dict(value), indent=2, sort_keys=True, ensure_ascii=False) if text else ""


def _check(b: Block, waived: Callable[[str | None], bool], budget: Budget) -> dict[str, Any]:
    o = b.outcome
    first = b.embedded[:budget.first_page]
    return {
        "key": b.key, "id": o.check, "version": o.version, "status": o.status or "unknown", "note": o.note,
        "counts": [(s, b.counts[s]) for s in ("fail", "error", "pass", "not_applicable") if b.counts.get(s)],
        "total": b.total, "embedded": len(b.embedded),
        "findings": [{
            "resource": f.resource or "(check-level)", "kind": f.kind, "status": f.status.value,
            "waived": f.status.value in ("fail", "error") and waived(f.resource),
            "reason": f.reason if len(f.reason) <= budget.reason_chars else f.reason[:budget.reason_chars] + " \u2026",
            "evidence": _evidence(f.evidence, budget.evidence_chars) if f.evidence else "",
            "location": (f"{f.location.get('file')}:{f.location.get('start_line')}" if f.location else None),
        } for f in first],
        "errors": [_error(e) for e in o.errors[:budget.first_page]], "errors_total": len(o.errors),
    }


def _error(e: Any) -> dict[str, str]:
    where = e.resource or e.host or "/".join(x for x in (e.account, e.region) if x) or "-"
    return {"source": e.source, "operation": e.operation, "where": where, "code": e.code, "message": e.message,
            "kind": e.kind or "-"}


def _waiver(w: Waiver, state: str) -> dict[str, Any]:
    return {"state": state, "ticket": w.ticket, "approver": w.approver, "justification": w.justification,
            "expires": w.expires.strftime("%Y-%m-%d"), "resource": w.resource, "approvers": list(w.approvers),
            "rejected": w.rejected}


def _history(cid: str, current: ControlStatus, evaluated_at: str,
             history: Mapping[str, Sequence[tuple[str, str]]] | None) -> list[dict[str, Any]] | None:
    if history is None:
        return None
    points = [*history.get(cid, ()), (evaluated_at, current.value)][-HISTORY_POINTS:]
    return [{"x": i * 12, "color": style(s).color, "title": f"{t}: {style(s).label}",
             "current": i == len(points) - 1} for i, (t, s) in enumerate(points)]


def _control(r: ControlResult, evaluated_at: str, history: Mapping[str, Sequence[tuple[str, str]]] | None,
             table: Mapping[int, Block], budget: Budget) -> dict[str, Any]:
    c = r.control
    st = style(r.status)
    whole = any(w.resource is None for w in r.waivers)
    by_resource = {w.resource for w in r.waivers if w.resource is not None}

    def waived(resource: str | None) -> bool:
        return whole or (resource is not None and resource in by_resource)

    waivers = [_waiver(w, "applied") for w in r.waivers]
    waivers += [_waiver(w, "rejected" if w.rejected else "expired") for w in r.expired_waivers]
    att = r.attestation
    return {
        "id": c.id, "title": c.title, "status": r.status.value, "label": st.label, "color": st.color,
        "severity": c.severity.value, "glyph": st.glyph,
        "level": c.level, "domain": c.domain, "domain_name": DOMAINS.get(c.domain, c.domain),
        "verification": c.verification.value, "optional": c.optional, "statement": c.statement,
        "reason": r.reason, "counts": r.counts, "remediation": c.remediation, "evidence_needed": c.evidence,
        "rsp": [f"RSP {s.version} {s.section}" for s in c.rsp], "nist": list(c.nist), "rand": c.rand,
        "underlying": style(r.underlying).label if r.underlying else None,
        "waivers": waivers,
        "attestation": None if att is None else {
            "by": att.attested_by, "date": att.date.strftime("%Y-%m-%d"), "evidence": att.evidence,
            "expires": att.expires.strftime("%Y-%m-%d")},
        "checks": [_check(table[id(o)], waived, budget) for o in r.checks],
        "open": r.status not in (ControlStatus.PASS, ControlStatus.NOT_APPLICABLE),
        "history": _history(c.id, r.status, evaluated_at, history),
    }
