"""Self-contained HTML report for auditors: summary charts, per-control evidence, status filters.

One file, no external assets: CSS and JavaScript are inlined and pinned by a Content-Security-
Policy that allows only their hashes and no network at all, so it works offline and an injected
script could not run. Everything from the run is rendered through Jinja2 with autoescaping.
Without JavaScript every control is shown; with it, status filters appear. Printing opens every
evidence block and drops the filters.
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

from aslcheck.checks.interface import Status
from aslcheck.controls.model import Waiver
from aslcheck.errors import assert_never
from aslcheck.reports.interface import Renderer
from aslcheck.reports.model import CheckOutcome, ControlResult, ControlStatus, RunResult

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
    """How a status looks."""

    label: str
    color: str


def style(status: ControlStatus | str) -> Style:
    """Label and colour of a control status (or of a status value from history)."""
    if isinstance(status, str):
        try:
            status = ControlStatus(status)
        except ValueError:
            return Style(str(status).upper(), "#757575")
    if status is ControlStatus.PASS:
        return Style("PASS", "#2e7d32")
    if status is ControlStatus.FAIL:
        return Style("FAIL", "#c62828")
    if status is ControlStatus.INCONCLUSIVE:
        return Style("INCONCLUSIVE", "#e0a100")
    if status is ControlStatus.NOT_ATTESTED:
        return Style("NOT ATTESTED", "#ef6c00")
    if status is ControlStatus.WAIVED:
        return Style("WAIVED", "#6a1b9a")
    if status is ControlStatus.NOT_APPLICABLE:
        return Style("N/A", "#9e9e9e")
    assert_never(status)


def _asset(name: str) -> str:
    return resources.files("aslcheck.reports.render").joinpath("templates").joinpath(name).read_text("utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def _environment() -> jinja2.Environment:
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


class HtmlRenderer(Renderer):
    """One self-contained HTML file."""

    name = "html"
    filename = "report.html"

    def __init__(self, history: Mapping[str, Sequence[tuple[str, str]]] | None = None) -> None:
        """``history``: control ID -> earlier ``(evaluatedAt, status)`` points, oldest first."""
        self.history = history

    def render(self, run: RunResult) -> bytes:
        """The HTML bytes."""
        css, js = _asset("report.css"), _asset("report.js")
        template = _environment().from_string(_asset("report.html.j2"))
        csp = (f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
               "img-src data:; base-uri 'none'; form-action 'none'")
        html = template.render(
            run=run, css=css, js=js, csp=csp, tally=_tally(run), headline=_headline(run),
            chart=_chart(run), domains=_domain_table(run),
            controls=[_control(r, run.evaluated_at, self.history)
                      for r in sorted(run.results, key=lambda r: ORDER.index(r.status))],
            errors=[_error(e) for e in run.collection_errors], has_history=self.history is not None,
        )
        return html.encode("utf-8")


def _tally(run: RunResult) -> list[dict[str, Any]]:
    t = run.tally()
    return [{"status": s.value, "label": style(s).label, "color": style(s).color, "count": t[s]} for s in ORDER]


def _headline(run: RunResult) -> dict[str, str]:
    gating = {r.status for r in run.results if r.gating}
    for s in (ControlStatus.FAIL, ControlStatus.INCONCLUSIVE, ControlStatus.NOT_ATTESTED):
        if s in gating:
            n = sum(1 for r in run.results if r.gating and r.status is s)
            return {"status": s.value, "label": style(s).label, "color": style(s).color,
                    "text": f"{n} gating control(s) {style(s).label}"}
    return {"status": "pass", "label": "PASS", "color": style(ControlStatus.PASS).color,
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
                         "label": style(s).label, "status": s.value})
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


def _evidence(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), indent=2, sort_keys=True, ensure_ascii=False)


_FINDING_ORDER = (Status.FAIL, Status.ERROR, Status.PASS, Status.NOT_APPLICABLE)


def _check(o: CheckOutcome, waived: Callable[[str | None], bool]) -> dict[str, Any]:
    return {
        "id": o.check, "version": o.version, "status": o.status or "unknown", "note": o.note,
        "findings": [{
            "resource": f.resource or "(check-level)", "kind": f.kind, "status": f.status.value,
            "waived": f.status in (Status.FAIL, Status.ERROR) and waived(f.resource),
            "reason": f.reason, "evidence": _evidence(f.evidence) if f.evidence else "",
            "location": (f"{f.location.get('file')}:{f.location.get('start_line')}" if f.location else None),
        } for f in sorted(o.findings, key=lambda f: _FINDING_ORDER.index(f.status))],
        "errors": [_error(e) for e in o.errors],
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


def _control(r: ControlResult, evaluated_at: str,
             history: Mapping[str, Sequence[tuple[str, str]]] | None) -> dict[str, Any]:
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
        "level": c.level, "domain": c.domain, "domain_name": DOMAINS.get(c.domain, c.domain),
        "verification": c.verification.value, "optional": c.optional, "statement": c.statement,
        "reason": r.reason, "counts": r.counts, "remediation": c.remediation, "evidence_needed": c.evidence,
        "rsp": [f"RSP {s.version} {s.section}" for s in c.rsp], "nist": list(c.nist), "rand": c.rand,
        "underlying": style(r.underlying).label if r.underlying else None,
        "waivers": waivers,
        "attestation": None if att is None else {
            "by": att.attested_by, "date": att.date.strftime("%Y-%m-%d"), "evidence": att.evidence,
            "expires": att.expires.strftime("%Y-%m-%d")},
        "checks": [_check(o, waived) for o in r.checks],
        "open": r.status not in (ControlStatus.PASS, ControlStatus.NOT_APPLICABLE),
        "history": _history(c.id, r.status, evaluated_at, history),
    }
