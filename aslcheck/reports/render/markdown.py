"""Markdown summary for people and pull-request comments."""

from __future__ import annotations

from aslcheck.reports.interface import Renderer
from aslcheck.reports.model import ControlStatus, RunResult

ICON = {
    ControlStatus.PASS: "PASS",
    ControlStatus.FAIL: "**FAIL**",
    ControlStatus.INCONCLUSIVE: "**INCONCLUSIVE**",
    ControlStatus.NOT_ATTESTED: "NOT ATTESTED",
    ControlStatus.WAIVED: "WAIVED",
    ControlStatus.NOT_APPLICABLE: "n/a",
}


CELL_LIMIT = 300
"""Longest reason shown in a table cell; the full text follows under "Needs attention"."""


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def shorten(text: str, limit: int = CELL_LIMIT) -> str:
    """``text`` cut to at most ``limit`` characters at a space, never inside a token (ARN, path)."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    if cut <= 0:
        # NOTE: a single token longer than the limit: show it whole rather than a broken piece.
        end = text.find(" ", limit)
        return text if end < 0 else text[:end] + " …"
    return text[:cut].rstrip(" ,;:") + " …"


class MarkdownRenderer(Renderer):
    """Summary table, then every failing or inconclusive control in full, with its remediation."""

    name = "markdown"
    filename = "summary.md"

    def render(self, run: RunResult) -> bytes:
        """Markdown text."""
        tally = run.tally()
        lines = [
            f"# aslcheck: profile `{run.profile}`",
            "",
            f"Evaluated {run.evaluated_at} by aslcheck {run.tool_version}. "
            f"Snapshot `sha256:{run.snapshot_digest[:16]}…`, catalog `sha256:{run.catalog_digest[:16]}…`.",
            "",
            " · ".join(f"{s.value.replace('_', ' ')}: {tally[s]}" for s in ControlStatus),
            "",
        ]
        if run.selection is not None:
            # NOTE: a PR comment of a filtered run must never read as the whole profile's result.
            sel = run.selection
            lines += [f"> **FILTERED RUN**, not a full-profile result: {len(sel.get('selected_controls', []))} "
                      f"control(s) evaluated, {len(sel.get('excluded_controls', []))} left out, checks not run: "
                      f"{', '.join(sorted(sel.get('skipped_checks', {}))) or 'none'}.", ""]
        lines += [
            "Resources: distinct resources in scope. Findings: pass/fail/error (error = evidence missing).",
            "",
            "| Control | Level | Status | Resources | Findings (pass/fail/error) | Reason |",
            "|---|---|---|---|---|---|",
        ]
        for r in run.results:
            c = r.counts
            lines.append(
                f"| {r.control.id} {_cell(r.control.title)}{' (optional)' if r.control.optional else ''} "
                f"| {r.control.level} | {ICON[r.status]} | {c.in_scope} | {c.passed}/{c.failed}/{c.errored} "
                f"| {shorten(_cell(r.reason))} |")
        attention = [r for r in run.results if r.status in (ControlStatus.FAIL, ControlStatus.INCONCLUSIVE)]
        if attention:
            lines += ["", "## Needs attention", ""]
            for r in attention:
                lines.append(f"### {r.control.id} {_cell(r.control.title)}: {ICON[r.status]}")
                lines += ["", _cell(r.reason) or "-", ""]
                if r.status is ControlStatus.FAIL and r.control.remediation:
                    lines += [f"**How to fix:** {_cell(r.control.remediation)}", ""]
            lines.pop()
        if run.collection_errors:
            lines += ["", "## Collection errors", ""]
            for e in run.collection_errors:
                where = e.resource or e.host or "/".join(x for x in (e.account, e.region) if x)
                lines.append(f"- `{e.source}` {e.operation} on {where or '-'}: {e.code}: {_cell(e.message)}")
        return ("\n".join(lines) + "\n").encode("utf-8")
