"""JSON Schemas of results.json and the attestation predicate: real outputs (the demo's, filtered runs) validate,
and documents that break the fail-closed contract do not."""

from __future__ import annotations

import base64
import csv
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from aslcheck.cli import main
from aslcheck.reports.attestation import predicate
from aslcheck.reports.model import RunResult
from aslcheck.reports.schema import NAMES, problems, schema
from tests.reports.test_ocsf import SCHEMA as OCSF_SCHEMA


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``aslcheck demo`` once: moto on 127.0.0.1, the real collector, every renderer, a signed attestation."""
    pytest.importorskip("moto.server")
    out = tmp_path_factory.mktemp("demo-schemas") / "reports"
    assert main(["demo", "--out", str(out), "--quiet"]) == 0
    return out


def _predicate(envelope: Path) -> dict[str, Any]:
    env = json.loads(envelope.read_text())
    statement: dict[str, Any] = json.loads(base64.b64decode(env["payload"]))
    pred: dict[str, Any] = statement["predicate"]
    return pred


def test_schemas_are_valid_draft_2020_12_and_shipped_in_the_package() -> None:
    for name in NAMES:
        doc = schema(name)
        Draft202012Validator.check_schema(doc)
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    root = Path(__file__).resolve().parents[2]
    assert "reports/schema/*.json" in (root / "setup.cfg").read_text()
    formats = (root / "docs" / "formats.md").read_text()
    assert "aslcheck/reports/schema/results.schema.json" in formats
    assert "aslcheck/reports/schema/predicate.schema.json" in formats


def test_demo_outputs_validate(demo: Path) -> None:
    results = json.loads((demo / "results.json").read_text())
    assert problems("results", results) == []
    pred = _predicate(demo / "attestation.dsse.json")
    assert problems("predicate", pred) == []
    assert pred["results"] == results
    ocsf = Draft202012Validator(json.loads(OCSF_SCHEMA.read_text()))
    events = json.loads((demo / "results.ocsf.json").read_text())
    assert events and all(not list(ocsf.iter_errors(e)) for e in events)
    rows = list(csv.DictReader(io.StringIO((demo / "findings.csv").read_text(), newline="")))
    assert {r["control_id"] for r in rows} == {c["id"] for c in results["controls"]}


def test_filtered_and_waived_runs_validate(run: RunResult) -> None:
    assert problems("results", run.to_json()) == []
    filtered = replace(run, selection={"filtered": True, "filters": {"skip_checks": ["rpt.s3.kms"]},
                                       "selected_controls": ["R2-EN-1"], "excluded_controls": [],
                                       "skipped_checks": {"rpt.s3.kms": "skipped by --skip-checks"}})
    assert problems("results", filtered.to_json()) == []
    assert problems("predicate", predicate(filtered)) == []


@pytest.mark.parametrize(("path", "value", "expected"), [
    (("controls", "PASS", "counts", "failed"), 1, "0 was expected"),
    (("controls", "PASS", "checks", 0, "status"), "error", "is not one of"),
    (("controls", "PASS", "severity"), None, "'severity' is a required property"),
    (("controls", "PASS", "status"), "passed", "is not one of"),
    (("controls", "FAIL", "counts", "failed"), 0, "less than the minimum"),
    (("controls", "WAIVED", "underlying_status"), None, "'underlying_status' is a required property"),
    (("summary", "pass"), -1, "less than the minimum"),
    (("digests", "snapshot"), "abc", "does not match"),
    (("selection",), {"filtered": False}, "True was expected"),
])
def test_broken_documents_are_refused(run: RunResult, path: tuple[Any, ...], value: Any, expected: str) -> None:
    doc = run.to_json()
    doc["selection"] = {"filtered": True, "filters": {"controls": ["R2-*"]}, "selected_controls": ["R2-EN-1"],
                        "excluded_controls": [], "skipped_checks": {}}
    target: Any = doc
    for key in path[:-1]:
        if key in ("PASS", "FAIL", "WAIVED"):
            target = next(c for c in target if c["status"] == key.lower() and c["checks"])
        else:
            target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    found = problems("results", doc)
    assert any(expected in p for p in found), found
