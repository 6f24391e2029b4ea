"""HTML report: self-contained, escaped, right counts; rendered for real in headless Chromium."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from html import unescape
from pathlib import Path

import pytest

from aslcheck.reports.model import ControlStatus, RunResult
from aslcheck.reports.render import RENDERERS
from aslcheck.reports.render.html import HtmlRenderer, style
from tests.reports.conftest import EXPECTED, XSS, chromium_binary, control_statuses, run_chromium


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
    assert "url(" not in html and "@import" not in html
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
