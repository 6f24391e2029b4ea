"""The reviewed checkov map and the iac.checkov checks over synthetic checkov reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aslcheck.checks.iac.checkov import CONTROLS, Evidence, checkov_map, control_check_id
from aslcheck.checks.interface import Status
from aslcheck.checks.registry import Registry
from aslcheck.controls.config import Config
from aslcheck.controls.model import Catalog
from aslcheck.gate import GateResult, GateVerdict, run_gate
from aslcheck.inventories.terraform import CheckovOutput, CheckovTarget
from aslcheck.reports.render.sarif import SarifRenderer, artifact_uri
from tests.schemas import SARIF, load_schema

HCL = '''
provider "aws" {
  region              = "us-east-1"
  allowed_account_ids = ["111122223333"]
}
resource "aws_kms_key" "w" {
  enable_key_rotation = true
  tags = { "asl:asset" = "model-weights" }
}
resource "aws_s3_bucket" "w" {
  bucket = "lab-weights"
  tags   = { "asl:asset" = "model-weights" }
}
resource "aws_s3_bucket" "other" {
  bucket = "lab-scratch"
}
'''


def item(check_id: str, resource: str, lines: tuple[int, int], result: str) -> dict[str, Any]:
    out: dict[str, Any] = {"check_id": check_id, "check_name": f"name of {check_id}",
                           "resource": resource, "file_path": "/main.tf",
                           "file_line_range": list(lines), "check_result": {"result": result}}
    if result == "SKIPPED":
        out["check_result"]["suppress_comment"] = "accepted by the team"
    return out


def runner_for(*items: tuple[str, dict[str, Any]]) -> Any:
    def run(target: CheckovTarget) -> CheckovOutput:
        results: dict[str, list[Any]] = {"passed_checks": [], "failed_checks": [],
                                         "skipped_checks": [], "parsing_errors": []}
        for key, it in items:
            results[key].append(it)
        return CheckovOutput({"check_type": "terraform", "results": results,
                              "summary": {"checkov_version": "test"}})
    return run


def gate(tmp: Path, catalog: Catalog, registry: Registry, config: Config, runner: Any,
         hcl: str = HCL) -> GateResult:
    (tmp / "main.tf").write_text(hcl)
    return run_gate(str(tmp), None, "asl3", config, catalog=catalog, registry=registry,
                    runner=runner)


def findings_of(result: GateResult, check: str) -> list[Any]:
    return [f for c in result.controls for o in c.result.checks if o.check == check
            for f in o.findings]


def test_map_is_valid_and_names_catalog_controls(catalog: Catalog) -> None:
    table = checkov_map()
    mapped = {c for e in table.values() for c in e.controls}
    assert mapped == set(CONTROLS)
    assert mapped <= set(catalog.controls)
    for control in CONTROLS:
        assert control_check_id(control) in catalog.controls[control].checks  # type: ignore[index]


def test_known_traps_are_encoded() -> None:
    table = checkov_map()
    assert table["CKV_AWS_19"].controls == ()  # passes on S3's default encryption
    assert table["CKV_AWS_145"].controls == ("ASL3-EN-1",)
    assert table["CKV_AWS_145"].evidence is Evidence.FAIL_ONLY  # aws:kms, not a CMK
    assert "TRAP" in (table["CKV_AWS_145"].note or "")
    assert table["CKV_AWS_356"].scope.value == "identity_policy"  # key policies need "*"
    # Issue 10 class 9: passes that ignore rule resources, subnets or elastic IPs, or that any
    # graph connection satisfies, are no evidence.
    for cid in ("CKV_AWS_382", "CKV_AWS_88", "CKV2_AWS_6", "CKV2_AWS_11", "CKV2_AWS_12",
                "CKV_AWS_21", "CKV_AWS_283"):
        assert table[cid].evidence is Evidence.FAIL_ONLY, cid
    assert table["CKV_AWS_21"].controls == ("ASL2-WA-1",)
    assert table["CKV_AWS_283"].scope.value == "weight_policy"


def test_every_entry_says_why_its_polarity_holds() -> None:
    for cid, entry in checkov_map().items():
        assert entry.review.strip(), cid
        if entry.evidence is Evidence.BOTH and entry.controls:
            assert entry.review.startswith("stays"), cid


def test_results_become_findings_per_polarity(tmp_path: Path, catalog: Catalog,
                                              registry: Registry, config: Config) -> None:
    result = gate(tmp_path, catalog, registry, config, runner_for(
        ("passed_checks", item("CKV_AWS_145", "aws_s3_bucket.w", (10, 13), "PASSED")),
        ("failed_checks", item("CKV_AWS_7", "aws_kms_key.w", (6, 9), "FAILED")),
        ("skipped_checks", item("CKV_AWS_53", "aws_s3_bucket.w", (10, 13), "SKIPPED")),
        ("failed_checks", item("CKV_AWS_53", "aws_s3_bucket.other", (14, 16), "FAILED")),
        ("failed_checks", item("CKV_AWS_18", "aws_s3_bucket.w", (10, 13), "FAILED")),
    ))
    en1 = findings_of(result, "iac.checkov.asl3_en_1")
    assert [f.status for f in en1] == [Status.NOT_APPLICABLE]
    en2 = findings_of(result, "iac.checkov.asl3_en_2")
    assert [f.status for f in en2] == [Status.FAIL]
    assert en2[0].location == {"file": f"{tmp_path}/main.tf", "address": "aws_kms_key.w",
                               "start_line": 6, "end_line": 9}
    wa1 = findings_of(result, "iac.checkov.asl2_wa_1")
    # The suppressed result on the weight bucket is an ERROR; the scratch bucket is out of scope.
    assert [(f.status, f.resource.split("@")[0]) for f in wa1] == [
        (Status.ERROR, "CKV_AWS_53:aws_s3_bucket.w")]
    assert "suppressed in the code" in wa1[0].reason
    lm1 = findings_of(result, "iac.checkov.asl3_lm_1")
    assert [f.status for f in lm1] == [Status.NOT_APPLICABLE]  # pass_only: no violation
    assert result.verdict is GateVerdict.FAIL


def test_undecidable_weight_scope_is_an_error(tmp_path: Path, catalog: Catalog,
                                              registry: Registry, config: Config) -> None:
    hcl = HCL + '''
variable "t" { type = string }
resource "aws_s3_bucket" "maybe" {
  bucket = "lab-maybe"
  tags   = { "asl:asset" = var.t }
}
'''
    result = gate(tmp_path, catalog, registry, config, runner_for(
        ("passed_checks", item("CKV_AWS_53", "aws_s3_bucket.maybe", (20, 23), "PASSED"))), hcl)
    wa1 = findings_of(result, "iac.checkov.asl2_wa_1")
    assert [f.status for f in wa1] == [Status.ERROR]
    assert result.verdict is not GateVerdict.PASS


def test_no_weight_resource_is_inconclusive_never_pass(tmp_path: Path, catalog: Catalog,
                                                       registry: Registry, config: Config) -> None:
    hcl = '''
provider "aws" {
  region = "us-east-1"
}
resource "aws_s3_bucket" "b" { bucket = "scratch" }
'''
    result = gate(tmp_path, catalog, registry, config, runner_for(
        ("passed_checks", item("CKV_AWS_53", "aws_s3_bucket.b", (5, 5), "PASSED"))), hcl)
    assert result.verdict is GateVerdict.INCONCLUSIVE
    assert result.weight_resources == ()
    assert any("nothing to gate" in r for r in result.reasons)


def test_sarif_without_location_uses_logical_location(tmp_path: Path, catalog: Catalog,
                                                       registry: Registry, config: Config) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    result = gate(tmp_path, catalog, registry, config, runner_for(
        ("failed_checks", item("CKV_AWS_7", "aws_kms_key.w", (6, 9), "FAILED"))))
    doc = json.loads(SarifRenderer().render(result.run))
    jsonschema.Draft4Validator(load_schema(SARIF)).validate(doc)
    results = doc["runs"][0]["results"]
    assert any("physicalLocation" in loc for r in results for loc in r["locations"])
    # e.g. "no VPC holds weights" check-level errors have no file: logical locations
    assert all(("physicalLocation" in loc) or loc.get("logicalLocations")
               for r in results for loc in r["locations"])
    assert {r["ruleId"] for r in results} <= {str(c.result.control.id) for c in result.controls}


def test_artifact_uri() -> None:
    assert artifact_uri("examples/terraform/violating/main.tf") == \
        "examples/terraform/violating/main.tf"
    assert artifact_uri("./a b/main.tf") == "a%20b/main.tf"
    assert artifact_uri("/abs/main.tf") == "file:///abs/main.tf"


def test_iac_checks_stay_out_of_live_only_runs(catalog: Catalog, registry: Registry,
                                               config: Config) -> None:
    from aslcheck.checks.engine import Options, evaluate
    from aslcheck.inventories.snapshot import Snapshot

    run = evaluate(catalog, "asl3", registry, Snapshot(resources=()), config,
                   options=Options(families=frozenset({"aws"})))
    iac = [o for r in run.results for o in r.checks if o.check.startswith("iac.")]
    assert iac and {o.status for o in iac} == {"not_applicable"}
