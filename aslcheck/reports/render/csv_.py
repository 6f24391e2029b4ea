"""CSV report: one row per finding (RFC 4180), safe to open in a spreadsheet.

Every finding is a row; so is every collection error that touches a check, a check that produced
no finding (its note says why, e.g. "no in-scope resource"), and a control with no check (a
manual control), so an INCONCLUSIVE or NOT_ATTESTED control is never missing from the file.
Each row repeats its control's status, so filtering rows never hides the verdict.

Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return; OWASP "CSV Injection") are prefixed with a single quote: resource names,
reasons and evidence come from the scanned infrastructure, which an attacker may control.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from typing import Any

from aslcheck.reports.interface import Renderer
from aslcheck.reports.model import ControlResult, RunResult

COLUMNS = ("profile", "evaluated_at", "control_id", "control_title", "level", "domain", "severity",
           "control_status", "optional", "row", "check", "check_version", "check_status", "resource",
           "kind", "source", "finding_status", "waived", "reason", "evidence", "location")
"""Header row, in order."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell text, with a leading quote when a spreadsheet would otherwise evaluate it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False) if value else ""


def _rows(run: RunResult, r: ControlResult) -> Iterator[list[object]]:
    c = r.control
    head = [run.profile, run.evaluated_at, c.id, c.title, c.level, c.domain, c.severity.value, r.status.value,
            str(c.optional).lower()]
    whole = any(w.resource is None for w in r.waivers)
    by_resource = {w.resource for w in r.waivers if w.resource is not None}
    if not r.checks:
        yield [*head, "control", "", "", "", "", "", "", "", "", r.reason, "", ""]
    for o in r.checks:
        check = [o.check, o.version, o.status]
        for f in o.findings:
            waived = f.status.value in ("fail", "error") and (whole or f.resource in by_resource)
            loc = f"{f.location.get('file')}:{f.location.get('start_line')}" if f.location else ""
            yield [*head, "finding", *check, f.resource or "", f.kind or "", f.source or "", f.status.value,
                   str(waived).lower(), f.reason, _json(f.evidence), loc]
        for e in o.errors:
            where = e.resource or e.host or "/".join(x for x in (e.account, e.region) if x)
            yield [*head, "collection_error", *check, where, e.kind or "", e.source, "error",
                   str(whole or e.resource in by_resource).lower(), f"{e.operation}: {e.code}: {e.message}", "", ""]
        if not o.findings and not o.errors:
            yield [*head, "check", *check, "", "", "", "", "", o.note or "", "", ""]


class CsvRenderer(Renderer):
    """``findings.csv``: every finding of every control, with the control's verdict on each row."""

    name = "csv"
    filename = "findings.csv"

    def render(self, run: RunResult) -> bytes:
        """UTF-8, CRLF line ends, fields quoted only when needed (RFC 4180)."""
        buf = io.StringIO(newline="")
        writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(COLUMNS)
        for r in run.results:
            for row in _rows(run, r):
                writer.writerow([safe_cell(v) for v in row])
        return buf.getvalue().encode("utf-8")
