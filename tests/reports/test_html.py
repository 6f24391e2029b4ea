"""HTML report: self-contained, escaped, right counts; rendered for real in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from dataclasses import replace
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from aslcheck.checks.interface import CheckId, Finding, Status
from aslcheck.reports.model import ControlStatus, RunResult
from aslcheck.reports.render import RENDERERS
from aslcheck.reports.render.html import HtmlRenderer, style
from aslcheck.reports.render.html_data import Budget, allocate
from tests.reports.conftest import (
    EXPECTED,
    XSS,
    RunFactory,
    bucket,
    chromium_binary,
    control_statuses,
    run_chromium,
    snapshot_of,
)


def test_registered_and_counts(run: RunResult) -> None:
    assert RENDERERS["html"] is HtmlRenderer and HtmlRenderer.filename == "report.html"
    html = HtmlRenderer().render(run).decode()
    assert control_statuses(html) == Counter(EXPECTED)
    for status, n in EXPECTED.items():
        assert f'data-count-status="{status}">{n}<' in html
    assert 'data-count-status="total">12<' in html
    assert 'data-headline="fail"' in html and "4 gating control(s) FAIL" in html  # R3-SC-1 is optional


def test_self_contained_and_escaped(run: RunResult) -> None:
    html = HtmlRenderer().render(run).decode()
    # No fetchable reference at all: only the SVG namespace URI, which is never fetched.
    assert not re.search(r'\s(src|href|action|poster|data)\s*=', html, re.I)
    # url(...) only as a fragment reference to the SVG patterns defined in the page itself.
    assert set(re.findall(r"url\(([^)]*)\)", html)) <= {"#pat-hatch", "#pat-dots"} and "@import" not in html
    assert set(re.findall(r"https?://[^\s\"'<)]+", html)) <= {"http://www.w3.org/2000/svg",
                                                             "https://tickets.example/IR-12"}
    # The attacker-controlled attribute value is escaped everywhere; only our own script tag exists.
    assert XSS not in html
    assert "&lt;script&gt;alert(" in html
    assert html.count("<script>") == 1
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp
    policy = unescape(csp.group(1))
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy and "script-src 'sha256-" in policy


def test_sections_carry_evidence_reason_sources_remediation(run: RunResult) -> None:
    html = HtmlRenderer().render(run).decode()
    section = html.split('id="control-R2-WA-1"', 1)[1].split("</section>", 1)[0]
    assert "versioning = &#39;Suspended&#39; violates" in section          # reason
    assert "RSP 2.2 App. B-4, CM-8, CP-9" in section                      # sources
    assert "Enable bucket versioning." in section                         # remediation
    assert "&#34;versioning&#34;: &#34;Suspended&#34;" in section          # evidence (escaped JSON)
    assert "<details class=\"evidence\" open>" in section                  # failing: open
    passing = html.split('id="control-R3-NW-1"', 1)[1].split("</section>", 1)[0]
    assert "<details class=\"evidence\">" in passing                        # passing: closed
    waived = html.split('id="control-R2-LM-1"', 1)[1].split("</section>", 1)[0]
    assert 'data-waiver="applied"' in waived and "without waivers: FAIL" in waived


def test_history_strip(run: RunResult) -> None:
    assert 'class="history"' not in HtmlRenderer().render(run).decode()
    html = HtmlRenderer(history={"R2-WA-1": [("2026-11-25T02:00:00Z", "pass"), ("2026-11-26T02:00:00Z", "pass")]}
                        ).render(run).decode()
    strip = html.split('id="control-R2-WA-1"', 1)[1].split("</svg>", 1)[0]
    assert strip.count("<rect") == 3
    assert "2026-11-25T02:00:00Z: PASS" in strip and f"{run.evaluated_at}: FAIL" in strip
    assert 'stroke="#000"' in strip  # the current run is outlined


def test_css_colours_match_the_chart() -> None:
    css = (Path(__file__).resolve().parents[2] / "aslcheck/reports/render/templates/report.css").read_text()
    for status in ControlStatus:
        assert f'[data-badge="{status.value}"]' in css
        assert style(status).color in css


@pytest.mark.chromium
def test_renders_in_headless_chromium(run: RunResult, tmp_path: Path, artifacts_dir: Path) -> None:
    binary = chromium_binary()
    page = tmp_path / "report.html"
    page.write_bytes(HtmlRenderer(history={"R2-WA-1": [("2026-11-26T02:00:00Z", "pass")]}).render(run))
    url = page.as_uri()

    dom = run_chromium(binary, tmp_path / "p1", "--dump-dom", url).stdout
    assert 'data-js="ready"' in dom, "the inline script did not run"
    assert control_statuses(dom) == Counter(EXPECTED)
    assert 'data-visible="12"' in dom and "showing 12 of 12 controls" in dom
    assert '<nav id="filters" class="filters" aria-label' in dom  # un-hidden by the script
    for status, n in EXPECTED.items():
        assert f'data-count-status="{status}">{n}<' in dom

    filtered = run_chromium(binary, tmp_path / "p2", "--dump-dom", url + "#filter=fail,inconclusive").stdout
    assert 'data-visible="7"' in filtered
    hidden = re.findall(r'<section class="control" id="[^"]+" data-status="([a-z_]+)"[^>]*\shidden', filtered)
    assert Counter(hidden) == Counter({k: v for k, v in EXPECTED.items() if k not in ("fail", "inconclusive")})

    shot = tmp_path / "html-report.png"
    run_chromium(binary, tmp_path / "p3", "--hide-scrollbars", "--window-size=1280,2400", f"--screenshot={shot}", url)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    pdf = tmp_path / "html-report.pdf"
    run_chromium(binary, tmp_path / "p4", "--no-pdf-header-footer", f"--print-to-pdf={pdf}", url)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000
    shutil.copy(shot, artifacts_dir / "html-report.png")
    shutil.copy(pdf, artifacts_dir / "html-report.pdf")


def test_waived_findings_are_marked(run: RunResult) -> None:
    html = HtmlRenderer().render(run).decode()
    waived = html.split('id="control-R2-LM-1"', 1)[1].split("</section>", 1)[0]
    assert waived.count('data-finding-waived="1"') == 1
    assert 'data-finding-waived="1"' not in html.split('id="control-R2-WA-1"', 1)[1].split("</section>", 1)[0]
    manual = html.split('id="control-R3-PR-1"', 1)[1].split("</section>", 1)[0]
    assert "Evidence: human attestation only" in manual


# -- at scale: a bounded page, problems first ----------------------------------------------------------


def _embedded_data(html: str) -> dict[str, Any]:
    block = re.search(r'<script type="application/json" id="aslcheck-data">(.*?)</script>', html, re.S)
    assert block, "no data block"
    loaded: dict[str, Any] = json.loads(block.group(1))
    return loaded


def _huge(run: RunResult, n: int, evidence: int = 40) -> RunResult:
    """``run`` with one check of the first control holding ``n`` findings (1 in 10 failing)."""
    first = run.results[0]
    findings = tuple(Finding(check=CheckId("rpt.s3.kms"), status=Status.FAIL if i % 10 == 0 else Status.PASS,
                             reason=f"bucket {i} reason", resource=f"arn:aws:s3:::bulk-{i:07d}", kind="aws.s3.bucket",
                             evidence={"blob": "x" * evidence, "i": i}) for i in range(n))
    outcome = replace(first.checks[0], findings=findings)
    return replace(run, results=(replace(first, checks=(outcome,)), *run.results[1:]))


def test_allocate_is_fair_and_bounded() -> None:
    assert allocate([5, 100, 100], 105) == [5, 50, 50]
    assert allocate([0, 3], 10) == [0, 3]
    assert allocate([10, 10, 10], 7) == [2, 2, 3] or sum(allocate([10, 10, 10], 7)) == 7
    assert sum(allocate([1000] * 7, 100)) <= 100


def test_page_size_is_bounded_by_the_budget_not_the_estate(run: RunResult) -> None:
    tight = Budget(findings=2_000)
    small, large = (HtmlRenderer(budget=tight).render(_huge(run, n)) for n in (30_000, 300_000))
    assert len(large) < 1.05 * len(small)  # ten times the findings, the same page
    large = HtmlRenderer().render(_huge(run, 300_000))
    assert len(large) < 8_000_000
    data = _embedded_data(large.decode())
    rows = [r for c in data["checks"] for r in c["rows"]]
    assert len(rows) <= Budget().findings
    statuses = [data["statuses"][r[2]] for r in data["checks"][0]["rows"]]
    assert statuses.count("fail") == 30_000  # every failure fits; then at most 100 passing
    assert statuses.index("pass") == 30_000 and statuses.count("pass") == Budget().passing_per_check
    html = large.decode()
    assert 'data-findings="' in html and "Showing 20 of 300,000 findings" in html
    # Worst case: every finding carries the largest evidence the page keeps; the byte budget holds.
    heavy = HtmlRenderer(budget=Budget(bytes=2_000_000)).render(_huge(run, 50_000, evidence=5_000))
    assert len(heavy) < 3 * 2_000_000 + 500_000


def test_data_block_cannot_end_the_script_element(make_run: RunFactory) -> None:
    evil = "</script><script>alert(1)</script><!--"
    snap = snapshot_of(bucket(evil, encryption={"algorithm": evil, "key_manager": "CUSTOMER"}))
    html = HtmlRenderer().render(make_run(snap)).decode()
    assert "</script><script>alert(1)" not in html
    assert html.count("<script>") == 1 and html.count("</script>") == 2  # the data block and our script
    data = _embedded_data(html)
    assert f"arn:aws:s3:::{evil}" in data["strings"]  # intact once parsed


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_status_is_never_colour_alone() -> None:
    styles = {s: style(s) for s in ControlStatus}
    assert len({st.glyph for st in styles.values()}) == len(styles) and all(st.glyph for st in styles.values())
    assert len({st.label for st in styles.values()}) == len(styles)
    inc, nat = styles[ControlStatus.INCONCLUSIVE], styles[ControlStatus.NOT_ATTESTED]
    assert _contrast(inc.color, nat.color) >= 2.0  # apart in lightness, so apart in greyscale
    assert {inc.pattern, nat.pattern} == {"hatch", "dots"}
    css = (Path(__file__).resolve().parents[2] / "aslcheck/reports/render/templates/report.css").read_text()
    for status, st in styles.items():
        rule = re.search(r'\[data-badge="' + status.value + r'"\][^{]*\{([^}]*)\}', css)
        assert rule, status
        text = re.search(r"(?<![-\w])color:\s*(#[0-9a-f]{6})", rule.group(1))
        assert _contrast(st.color, text.group(1) if text else "#ffffff") >= 4.5, status  # WCAG AA badge text
    templates = Path(__file__).resolve().parents[2] / "aslcheck/reports/render/templates"
    # headline, legend, control badges, findings
    assert (templates / "report.html.j2").read_text().count('class="glyph"') >= 4


def test_filtered_run_is_announced(run: RunResult) -> None:
    filtered = replace(run, selection={"filtered": True, "filters": {"skip_checks": ["rpt.s3.kms"]},
                                       "selected_controls": ["R2-EN-1"], "excluded_controls": ["R2-WA-1"],
                                       "skipped_checks": {"rpt.s3.kms": "skipped by --skip-checks"}})
    html = HtmlRenderer().render(filtered).decode()
    assert 'data-filtered="1"' in html and "FILTERED RUN" in html and "--skip-checks rpt.s3.kms" in html
    assert 'data-filtered="1"' not in HtmlRenderer().render(run).decode()


@pytest.mark.chromium
def test_search_and_resource_view_in_headless_chromium(run: RunResult, tmp_path: Path) -> None:
    binary = chromium_binary()
    page = tmp_path / "report.html"
    page.write_bytes(HtmlRenderer().render(run))
    url = page.as_uri()
    dom = run_chromium(binary, tmp_path / "s1", "--dump-dom", url + "#q=weights-staging").stdout
    hits = re.search(r'id="search-count"[^>]*data-hits="(\d+)" data-controls="(\d+)"', dom)
    assert hits and int(hits.group(1)) >= 3 and int(hits.group(2)) >= 3, hits
    visible = re.findall(r'<section class="control" id="control-([^"]+)"[^>]*>', dom)
    hidden = re.findall(r'<section class="control" id="control-([^"]+)"[^>]*\shidden', dom)
    assert set(visible) - set(hidden) and "R3-PR-1" in hidden  # a manual control has no such finding
    nothing = run_chromium(binary, tmp_path / "s2", "--dump-dom", url + "#q=no-such-thing-anywhere").stdout
    assert 'data-hits="0"' in nothing and 'data-visible="0"' in nothing
    view = run_chromium(binary, tmp_path / "s3", "--dump-dom", url + "#view=resources&q=weights-").stdout
    assert 'data-view="resources"' in view
    count = re.search(r'id="resource-list" data-resources="(\d+)"', view)
    assert count and int(count.group(1)) == 4  # the four weight buckets (access-logs is out of scope)
    assert '<article class="resource" data-resource-status="fail">' in view
    assert XSS not in view and "&lt;script&gt;alert(" in view  # the script wrote text, not markup
