"""OCSF 1.5.0 Compliance Finding (class_uid 2003): every event valid against the vendored schema subset."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from aslcheck.reports.model import ControlStatus, RunResult
from aslcheck.reports.render import RENDERERS
from aslcheck.reports.render.ocsf import CLASS_UID, OCSF_VERSION, OcsfRenderer

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "ocsf" / "compliance_finding-1.5.0.schema.json"


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())  # a missing vendored schema is a failure, never a skip
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def errors(validator: Draft202012Validator, event: dict[str, Any]) -> list[str]:
    """Every schema violation of one event, with its path."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(event)]


def _events(run: RunResult) -> list[dict[str, Any]]:
    data = OcsfRenderer().render(run).decode()
    lines = data.splitlines()
    assert lines[0] == "[" and lines[-1] == "]"
    assert all(json.loads(ln.rstrip(",")) for ln in lines[1:-1])  # one event per line
    events: list[dict[str, Any]] = json.loads(data)
    return events


def test_every_event_is_a_valid_compliance_finding(run: RunResult, validator: Draft202012Validator) -> None:
    assert RENDERERS["ocsf"] is OcsfRenderer
    events = _events(run)
    for event in events:
        assert errors(validator, event) == [], event["finding_info"]["title"]
        assert event["class_uid"] == CLASS_UID and event["metadata"]["version"] == OCSF_VERSION
    kinds = Counter(e["finding_info"]["types"][0] for e in events)
    assert kinds["aslcheck/control"] == len(run.results)
    assert kinds["aslcheck/finding"] == sum(len(o.findings) for r in run.results for o in r.checks)
    assert len({e["finding_info"]["uid"] for e in events}) == len(events)


def test_vendored_schema_catches_what_it_must(validator: Draft202012Validator, run: RunResult) -> None:
    event = _events(run)[0]
    broken = {k: v for k, v in event.items() if k != "finding_info"}
    assert any("finding_info" in e for e in errors(validator, broken))
    assert errors(validator, {**event, "severity_id": 7})
    assert errors(validator, {**event, "colour": "red"})  # attribute OCSF does not define
    assert errors(validator, {**event, "compliance": {**event["compliance"], "status_id": 4}})


def test_status_mapping_never_reports_a_pass_without_one(run: RunResult) -> None:
    by_control = {e["compliance"]["control"]: e for e in _events(run)
                  if e["finding_info"]["types"] == ["aslcheck/control"]}
    for r in run.results:
        c = by_control[r.control.id]["compliance"]
        assert c["status_code"] == r.status.value
        assert (c["status_id"] == 1) == (r.status is ControlStatus.PASS), r.control.id
    inconclusive = next(r for r in run.results if r.status is ControlStatus.INCONCLUSIVE)
    assert by_control[inconclusive.control.id]["compliance"]["status"] == "Warning"
    not_attested = next(r for r in run.results if r.status is ControlStatus.NOT_ATTESTED)
    assert by_control[not_attested.control.id]["compliance"]["status"] == "Not Attested"
    waived = next(r for r in run.results if r.status is ControlStatus.WAIVED)
    event = by_control[waived.control.id]
    assert event["status_id"] == 3 and event["status"] == "Suppressed"  # the waiver
    assert event["compliance"]["status_id"] == 3  # it would have failed: a waiver is not a pass
    failing = [e for e in _events(run) if e["finding_info"]["types"] == ["aslcheck/finding"]
               and e["compliance"]["status"] == "Fail"]
    assert failing and all(e["resources"][0]["uid"] for e in failing)
    assert any(e.get("evidences") for e in failing)
