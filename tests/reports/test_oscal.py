"""OSCAL assessment-results: valid against NIST's 1.0.6 JSON schema, deterministic, never a false satisfied."""

from __future__ import annotations

import json
import re
from typing import Any

from aslcheck.reports.model import ControlStatus, RunResult
from aslcheck.reports.render import RENDERERS
from aslcheck.reports.render.oscal import OscalRenderer, finding_state, token
from tests.reports.conftest import RunFactory, snapshot_of
from tests.schemas import schema_errors


def test_registered() -> None:
    assert RENDERERS["oscal"] is OscalRenderer and OscalRenderer.filename == "assessment-results.json"


def test_valid_against_oscal_schema(run: RunResult, oscal_validator: Any) -> None:
    doc = json.loads(OscalRenderer().render(run))
    assert schema_errors(oscal_validator, doc) == []
    assert doc["assessment-results"]["metadata"]["oscal-version"] == "1.1.2"
    # The schema really checks: a broken document is rejected.
    broken = json.loads(OscalRenderer().render(run))
    broken["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] = "passed"
    del broken["assessment-results"]["results"][0]["observations"][0]["methods"]
    assert len(schema_errors(oscal_validator, broken)) == 2


def test_version_is_configurable(run: RunResult, oscal_validator: Any) -> None:
    doc = json.loads(OscalRenderer(oscal_version="1.0.6").render(run))
    assert doc["assessment-results"]["metadata"]["oscal-version"] == "1.0.6"
    assert schema_errors(oscal_validator, doc) == []


def test_findings_and_observations(run: RunResult) -> None:
    result = json.loads(OscalRenderer().render(run))["assessment-results"]["results"][0]
    findings = {f["title"].split()[0]: f for f in result["findings"]}
    assert list(findings) == [r.control.id for r in run.results]
    states = {cid: (f["target"]["status"]["state"], f["target"]["status"]["reason"]) for cid, f in findings.items()}
    assert states["R3-NW-1"] == ("satisfied", "pass")
    assert states["R2-WA-1"] == ("not-satisfied", "fail")
    for cid in ("R3-ID-1", "R3-PR-1", "R2-LM-1", "R3-EP-1"):  # inconclusive, not attested, waived, n/a
        assert states[cid] == ("not-satisfied", "other")
    props = {p["name"]: p["value"] for p in findings["R2-LM-1"]["props"]}
    assert props["aslcheck-status"] == "waived" and props["status-without-waivers"] == "fail"
    assert findings["R2-WA-1"]["target"] == {
        "type": "statement-id", "target-id": "R2-WA-1_smt", "title": "Versioning is enabled on weight buckets.",
        "status": {"state": "not-satisfied", "reason": "fail"}}
    obs = {o["title"]: o for o in result["observations"]}
    assert list(obs) == sorted(obs)
    versioning = obs["rpt.s3.versioning"]
    assert versioning["methods"] == ["TEST"] and versioning["collected"] == run.evaluated_at
    assert any(e.get("remarks") == '{"versioning":"Suspended"}' for e in versioning["relevant-evidence"])
    assert {"observation-uuid": versioning["uuid"]} in findings["R2-WA-1"]["related-observations"]
    # Subjects point at inventory items that exist.
    items = {i["uuid"] for i in result["local-definitions"]["inventory-items"]}
    assert {s["subject-uuid"] for s in versioning["subjects"]} <= items
    mfa = obs["rpt.iam.mfa"]
    assert any("AccessDenied" in e["description"] for e in mfa["relevant-evidence"])


def test_deterministic(run: RunResult, make_run: RunFactory) -> None:
    assert OscalRenderer().render(run) == OscalRenderer().render(make_run())
    doc = json.loads(OscalRenderer().render(run))
    uuids = re.findall(r'"[a-z-]*uuid": "([0-9a-f-]{36})"', json.dumps(doc))
    assert len(set(uuids)) > 20
    other = json.loads(OscalRenderer().render(make_run(snap=snapshot_of())))
    assert other["assessment-results"]["uuid"] != doc["assessment-results"]["uuid"]


def test_no_status_is_satisfied_without_pass() -> None:
    for status in ControlStatus:
        assert (finding_state(status)[0] == "satisfied") is (status is ControlStatus.PASS)


def test_token() -> None:
    assert token("ASL3-EN-1") == "ASL3-EN-1"
    assert token("3 bad id") == "_3_bad_id"


def test_empty_profile_is_valid(make_run: RunFactory, oscal_validator: Any) -> None:
    doc = json.loads(OscalRenderer().render(make_run(snap=snapshot_of(), profile="asl2")))
    assert schema_errors(oscal_validator, doc) == []
