"""The terminal table and summary.md: fit the width, wrap instead of cutting, label counts, show fixes."""

from __future__ import annotations

import io
import re

import pytest

from aslcheck.cli.common import print_summary
from aslcheck.reports.model import ControlStatus, RunResult
from aslcheck.reports.render.markdown import MarkdownRenderer, shorten

LONG_ARN = "arn:aws:s3:::weights-" + "x" * 70 + "/checkpoints/step-000123/model.safetensors"


def _table(run: RunResult, width: int) -> str:
    buf = io.StringIO()
    print_summary(run, buf, width=width)
    return buf.getvalue()


@pytest.mark.parametrize("width", [60, 80, 132])
def test_table_fits_the_width(run: RunResult, width: int) -> None:
    text = _table(run, width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "..." not in text  # nothing is cut with an ellipsis any more


def test_table_wraps_reasons_at_word_boundaries(run: RunResult) -> None:
    text = _table(run, 132)
    flat = " ".join(re.sub(r"[│┃]", " ", text).split())
    for r in run.results:
        if r.status in (ControlStatus.NOT_ATTESTED, ControlStatus.NOT_APPLICABLE):
            assert r.control.id in text
            continue
        for word in r.reason.split():
            if len(word) < 40:  # longer tokens may be folded inside a narrow column
                assert word in flat, (r.control.id, word)


def test_table_labels_resources_and_findings_and_shows_fixes(run: RunResult) -> None:
    text = _table(run, 100)
    assert "Resources" in text and "Findings" in text and "p/f/e" in text
    assert "distinct resources in scope" in " ".join(text.split())
    fixes = text.split("How to fix the failures", 1)[1]
    for r in run.results:
        if r.status is ControlStatus.FAIL and r.control.remediation:
            assert f"{r.control.id}:" in fixes
            assert " ".join(r.control.remediation.split()[:4]) in " ".join(fixes.split())
    assert not any(f"{r.control.id}:" in fixes for r in run.results if r.status is ControlStatus.PASS)


@pytest.mark.parametrize("text", [
    "short reason",
    ("evidence missing: " + "rpt.s3.kms on " + LONG_ARN + " ") * 6,
    "x" * 400,
    "1 violation(s): " + ", ".join(f"check.{i} on {LONG_ARN}-{i}" for i in range(8)),
])
def test_shorten_never_cuts_a_token(text: str) -> None:
    out = shorten(text, 300)
    tokens = set(text.split())
    kept = out.removesuffix(" …").split()
    assert all(t in tokens for t in kept), "a token was cut"
    assert out == text or out.endswith(" …")
    if " " in text[:300]:
        assert len(out) <= 302


def test_markdown_cells_and_attention_section(run: RunResult) -> None:
    md = MarkdownRenderer().render(run).decode()
    assert "| Control | Level | Status | Resources | Findings (pass/fail/error) | Reason |" in md
    rows = [ln for ln in md.splitlines() if ln.startswith("| R")]
    assert len(rows) == len(run.results)
    for r in run.results:
        row = next(ln for ln in rows if ln.startswith(f"| {r.control.id} "))
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
        assert cells[3] == str(r.counts.in_scope)
        assert cells[4] == f"{r.counts.passed}/{r.counts.failed}/{r.counts.errored}"
    attention = md.split("## Needs attention", 1)[1]
    for r in run.results:
        if r.status in (ControlStatus.FAIL, ControlStatus.INCONCLUSIVE):
            assert f"### {r.control.id} " in attention
            assert " ".join(r.reason.split()).replace("|", "\\|") in attention
        if r.status is ControlStatus.FAIL and r.control.remediation:
            assert f"**How to fix:** {' '.join(r.control.remediation.split())}" in attention
