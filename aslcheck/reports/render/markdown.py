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


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


class MarkdownRenderer(Renderer):
    """Summary table plus the reasons of every non-passing control."""

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
            "| Control | Level | Status | Resources (pass/fail/error) | Reason |",
            "|---|---|---|---|---|",
        ]
        for r in run.results:
            c = r.counts
            lines.append(
                f"| {r.control.id} {_cell(r.control.title)}{' (optional)' if r.control.optional else ''} "
                f"| {r.control.level} | {ICON[r.status]} | {c.passed}/{c.failed}/{c.errored} "
                f"| {_cell(r.reason)[:300]} |")
        if run.collection_errors:
            lines += ["", "## Collection errors", ""]
            for e in run.collection_errors:
                where = e.resource or e.host or "/".join(x for x in (e.account, e.region) if x)
                lines.append(f"- `{e.source}` {e.operation} on {where or '-'}: {e.code}: {_cell(e.message)}")
        return ("\n".join(lines) + "\n").encode("utf-8")
