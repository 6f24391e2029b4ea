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


def _signed_results(demo: Path) -> dict[str, Any]:
    import base64

    envelope = json.loads((demo / "attestation.dsse.json").read_text())
    return dict(json.loads(base64.b64decode(envelope["payload"]))["predicate"]["results"])


def test_demo_config_reproduces_the_signed_result(demo: Path, tmp_path: Path) -> None:
    """The generated config names the generated attestations: `check` on the demo's snapshot agrees."""
    config = demo / "demo-inputs" / "aslcheck.yaml"
    assert "attestations: attestations.yaml" in config.read_text()
    out = tmp_path / "recheck"
    code = main(["check", "--snapshot", str(demo / "snapshot.json"), "--config", str(config),
                 "--out", str(out), "--quiet"])
    assert code == 1  # the planted violations
    signed = _signed_results(demo)
    again = json.loads((out / "results.json").read_text())
    assert again["digests"] == signed["digests"]
    assert {c["id"]: (c["status"], c["reason"]) for c in again["controls"]} == {
        c["id"]: (c["status"], c["reason"]) for c in signed["controls"]}
    assert signed["summary"]["pass"] > 0


def _readme_commands(heading: str) -> list[tuple[list[str], int]]:
    """(argv after `.venv/bin/aslcheck`, expected exit) for each line of the first sh block under ``heading``."""
    import re
    import shlex

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = text.split(heading, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    out = []
    for line in block.strip().splitlines():
        command, _, comment = line.partition("#")
        words = shlex.split(command)
        assert words[0] == ".venv/bin/aslcheck", line
        expected = re.match(r"\s*exit (\d+)", comment)
        assert expected, f"README line without '# exit N': {line}"
        out.append((words[1:], int(expected.group(1))))
    return out


def test_readme_commands_work_after_make_demo(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(demo.parent)  # the demo wrote ./reports here, as `make demo` does in the checkout
    commands = _readme_commands("### After `make demo`")
    assert len(commands) >= 5
    for argv, expected in commands:
        assert main(argv) == expected, argv
    assert oct(Path("reports-keys").stat().st_mode & 0o777) == "0o700"
    (demo.parent / "examples").symlink_to(repo / "examples")
    import os

    from aslcheck.inventories.terraform.runner import CheckovError, find_checkov

    try:
        find_checkov()
    except CheckovError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("checkov not installed: the gate line of the README is not run")
    gate = _readme_commands("The gate needs checkov")
    for argv, expected in gate:
        assert main(argv) == expected, argv
