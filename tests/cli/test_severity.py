"""Severity per control: declared for every built-in control, schema-validated, only raised by overlays."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from aslcheck.checks.builtin import default_registry
from aslcheck.controls.loader import load_catalog
from aslcheck.controls.model import Severity
from aslcheck.errors import BadInputError
from tests.cli.conftest import DATA, REPO

BUILTIN = REPO / "aslcheck/controls/catalog/asl.yaml"


def test_every_builtin_control_declares_its_severity_by_role() -> None:
    raw = yaml.safe_load(BUILTIN.read_text())
    declared = {c["id"]: c.get("severity") for c in raw["controls"]}
    assert None not in declared.values(), [k for k, v in declared.items() if v is None]
    catalog, _ = load_catalog(checks=default_registry())
    assert {c.id: c.severity.value for c in catalog} == declared
    # The rubric (docs/formats.md): weight access, two-party, weight encryption and keys, weight egress.
    critical = {cid for cid, s in declared.items() if s == "critical"}
    assert {"ASL2-WA-1", "ASL2-WA-2", "ASL3-WA-1", "ASL3-WA-2", "ASL3-TP-1", "ASL3-TP-2", "ASL3-EN-1",
            "ASL3-EN-2", "ASL3-NW-1"} <= critical
    assert all(catalog.controls[c].domain in {"WA", "TP", "EN", "NW", "ID"} for c in critical)  # type: ignore[index]
    for c in catalog:
        if c.domain == "PR" and c.verification.value == "manual":
            assert c.severity is Severity.LOW, c.id


def test_severity_is_in_results_and_the_catalog_digest() -> None:
    catalog, digest = load_catalog(checks=default_registry())
    assert catalog.controls["ASL3-TP-1"].to_json()["severity"] == "critical"  # type: ignore[index]
    assert len(digest) == 64


def _overlay(tmp_path: Path, body: str) -> str:
    path = tmp_path / "overlay.yaml"
    path.write_text("catalog: mine\nversion: 1\n" + body)
    return str(path)


def test_overlay_may_raise_severity(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path, "overrides:\n  - id: ASL2-PR-1\n    severity: high\n")
    catalog, _ = load_catalog([overlay], checks=default_registry())
    assert catalog.controls["ASL2-PR-1"].severity is Severity.HIGH  # type: ignore[index]


@pytest.mark.parametrize(("body", "line", "message"), [
    ("overrides:\n  - id: ASL3-WA-1\n    severity: low\n", 5, "may only raise a control's severity"),
    ("overrides:\n  - id: ASL3-WA-1\n    severity: urgent\n", 5, "severity"),
    ("controls:\n  - id: X-WA-1\n    title: t\n    level: ASL-2\n    domain: WA\n    severity: severe\n"
     "    statement: s\n    sources: {rsp: [{version: '2.2', section: x}], nist: []}\n"
     "    verification: manual\n    checks: []\n    evidence: e\n", 8, "severity"),
])
def test_bad_or_lowered_severity_is_bad_input_with_its_line(tmp_path: Path, body: str, line: int,
                                                            message: str) -> None:
    overlay = _overlay(tmp_path, body)
    with pytest.raises(BadInputError) as info:
        load_catalog([overlay], checks=default_registry())
    assert message in str(info.value)
    assert info.value.location is not None and info.value.location.file == overlay
    assert info.value.location.line == line


def test_user_controls_without_severity_default_to_medium() -> None:
    catalog, _ = load_catalog([str(DATA / "catalog.yaml")], builtin=False)
    assert catalog.controls["S2-NW-1"].severity is Severity.MEDIUM  # type: ignore[index]
    assert Severity.CRITICAL.rank > Severity.HIGH.rank > Severity.MEDIUM.rank > Severity.LOW.rank


def test_the_documented_rubric_lists_exactly_the_catalog() -> None:
    doc = (REPO / "docs" / "formats.md").read_text()
    catalog, _ = load_catalog(checks=default_registry())
    for severity in Severity:
        row = re.search(r"^\| `" + severity.value + r"` \|[^|]*\| ([^|]*) \|$", doc, re.M)
        assert row, severity
        listed = {x.strip() for x in row.group(1).split(",")}
        assert listed == {c.id for c in catalog if c.severity is severity}, severity
