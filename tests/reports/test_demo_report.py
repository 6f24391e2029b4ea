"""The demo's own reports: its HTML renders in headless Chromium with the right counts, its OSCAL validates."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from aslcheck.cli import main
from tests.reports.conftest import chromium_binary, control_statuses, run_chromium
from tests.schemas import schema_errors

pytest.importorskip("moto.server")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run ``aslcheck demo`` once (moto on 127.0.0.1, real collector, every renderer)."""
    out = tmp_path_factory.mktemp("demo") / "reports"
    main(["demo", "--out", str(out), "--quiet"])
    for name in ("report.html", "results.json", "assessment-results.json", "attestation.dsse.json"):
        assert (out / name).exists(), f"the demo wrote no {name}"
    return out


def _summary(demo: Path) -> Counter[str]:
    summary = json.loads((demo / "results.json").read_text())["summary"]
    return Counter({k: v for k, v in summary.items() if v})


def test_demo_html_counts(demo: Path) -> None:
    html = (demo / "report.html").read_text()
    assert control_statuses(html) == _summary(demo)
    for status, n in _summary(demo).items():
        assert f'data-count-status="{status}">{n}<' in html


def test_demo_oscal_validates(demo: Path, oscal_validator: Any) -> None:
    doc = json.loads((demo / "assessment-results.json").read_text())
    assert schema_errors(oscal_validator, doc) == []
    findings = doc["assessment-results"]["results"][0]["findings"]
    assert len(findings) == sum(_summary(demo).values())


@pytest.mark.chromium
def test_demo_html_in_headless_chromium(demo: Path, tmp_path: Path, artifacts_dir: Path) -> None:
    binary = chromium_binary()
    url = (demo / "report.html").as_uri()
    dom = run_chromium(binary, tmp_path / "p1", "--dump-dom", url).stdout
    assert 'data-js="ready"' in dom
    total = sum(_summary(demo).values())
    assert control_statuses(dom) == _summary(demo)
    assert f"showing {total} of {total} controls" in dom
    shot = tmp_path / "demo-report.png"
    run_chromium(binary, tmp_path / "p2", "--hide-scrollbars", "--window-size=1280,2400", f"--screenshot={shot}", url)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shutil.copy(shot, artifacts_dir / "demo-report.png")
