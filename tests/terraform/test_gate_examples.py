"""The gate on the examples with real checkov: planted violations found and located, the
compliant variant passes, SARIF validates, drift is reported, plans are read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aslcheck.checks.iac.drift import DriftKind
from aslcheck.checks.registry import Registry
from aslcheck.controls.config import Config
from aslcheck.controls.model import Catalog
from aslcheck.gate import GateResult, GateVerdict, run_gate
from aslcheck.inventories.snapshot import CollectorRun, Resource, Snapshot
from aslcheck.reports.render.sarif import SarifRenderer
from tests.schemas import SARIF, load_schema
from tests.terraform.conftest import DATA, ROOT, CachingRunner

pytestmark = pytest.mark.checkov

VIOLATING = "examples/terraform/violating"
COMPLIANT = "examples/terraform/compliant"

# (control, check, file, a line inside the reported block) for every planted violation.
PLANTED = [
    ("ASL3-EN-1", "aws.s3.weights_cmk_encryption", "storage.tf", 3),
    ("ASL3-EN-1", "iac.checkov.asl3_en_1", "storage.tf", 3),
    ("ASL2-WA-1", "aws.s3.weights_versioning", "storage.tf", 3),
    ("ASL2-WA-1", "iac.checkov.asl2_wa_1", "storage.tf", 27),
    ("ASL2-EN-2", "aws.s3.weights_deny_insecure_transport", "storage.tf", 3),
    ("ASL3-EN-2", "aws.kms.weight_key_rotation", "kms.tf", 5),
    ("ASL3-EN-2", "aws.kms.weight_key_no_wildcard_principal", "kms.tf", 3),
    ("ASL3-EN-2", "iac.checkov.asl3_en_2", "kms.tf", 5),
    ("ASL2-WA-2", "aws.iam.weights_effective_access_within_roster", "kms.tf", 3),
    ("ASL3-LM-1", "aws.cloudtrail.weights_data_events", "storage.tf", 3),
    ("ASL3-NW-1", "aws.vpc.weights_sg_egress_restricted", "network.tf", 79),
    ("ASL3-NW-1", "iac.checkov.asl3_nw_1", "network.tf", 79),
    ("ASL3-WA-1", "aws.iam.broker_max_session", "iam.tf", 76),
]


def _gate(path: str, catalog: Catalog, registry: Registry, config: Config,
          checkov: CachingRunner, snapshot: str | None = None) -> GateResult:
    return run_gate(path, snapshot, "asl3", config, catalog=catalog, registry=registry,
                    runner=checkov)


@pytest.fixture(scope="module")
def violating(catalog: Catalog, registry: Registry, config: Config,
              checkov: CachingRunner) -> GateResult:
    return _gate(VIOLATING, catalog, registry, config, checkov)


@pytest.fixture(scope="module")
def compliant(catalog: Catalog, registry: Registry, config: Config,
              checkov: CachingRunner) -> GateResult:
    return _gate(COMPLIANT, catalog, registry, config, checkov)


def test_violating_fails_with_every_planted_violation_located(violating: GateResult) -> None:
    assert violating.verdict is GateVerdict.FAIL
    located = violating.located_failures()
    for control, check, file, line in PLANTED:
        hits = [loc for c, k, loc in located if c == control and k == check
                and loc["file"] == f"{VIOLATING}/{file}"
                and int(str(loc["start_line"])) <= line <= int(str(loc["end_line"]))]
        assert hits, f"{control} {check} not reported at {file}:{line}"


def test_planted_lines_are_marked_in_the_example() -> None:
    for _, _, file, line in PLANTED:
        text = (ROOT / VIOLATING / file).read_text().splitlines()
        assert any("PLANTED" in t for t in text), file
        assert line <= len(text)


def _fenced_org(tmp: Path) -> str:
    """Live Organizations data (read from the management account): the examples' account is a
    member whose SCP denies its root user everything."""
    mgmt, org, member = "999999999999", "o-example", "111122223333"
    def pol(name: str, doc: dict[str, object]) -> Resource:
        return Resource("aws.organizations.policy", f"arn:aws:organizations::{mgmt}:policy/{org}/scp/{name}",
                        "aws", {"type": "SERVICE_CONTROL_POLICY", "name": name, "document": doc,
                                "targets": ["r-1", member] if name == "full" else ["r-1"]},
                        None, mgmt, "global")
    full = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    deny_root = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
                 "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}]}
    acct = Resource("aws.organizations.account", f"arn:aws:organizations::{mgmt}:account/{org}/{member}", "aws",
                    {"account_id": member, "parent_path": ["r-1"], "organization_id": org, "name": "prod"},
                    None, mgmt, "global")
    run = CollectorRun("aws", "test", (f"{mgmt}/global",),
                       ("aws.organizations.account", "aws.organizations.policy"),
                       "2026-11-27T00:00:00Z", "2026-11-27T00:00:01Z")
    path = tmp / "org.json"
    path.write_bytes(Snapshot(resources=(pol("full", full), pol("deny-root", deny_root), acct),
                              runs=(run,)).canonical_bytes())
    return str(path)


def test_compliant_code_alone_cannot_fence_the_root_user(compliant: GateResult) -> None:
    # Issue 10: the bucket owner's root user can always rewrite the bucket policy and can pass
    # the serving role to EC2; only an SCP stops it, and SCPs are not in the code. The gate used
    # to PASS here (a false PASS for a standalone account); it is now INCONCLUSIVE, never FAIL.
    assert compliant.verdict is GateVerdict.INCONCLUSIVE, compliant.reasons
    unsure = [c for c in compliant.controls if c.verdict is GateVerdict.INCONCLUSIVE]
    assert unsure and not [c for c in compliant.controls if c.verdict is GateVerdict.FAIL]
    assert all("no SCP fences the root user" in c.why for c in unsure), [c.why for c in unsure]


def test_compliant_passes_every_evaluated_control(tmp_path: Path, catalog: Catalog, registry: Registry,
                                                  config: Config, checkov: CachingRunner) -> None:
    compliant = _gate(COMPLIANT, catalog, registry, config, checkov, _fenced_org(tmp_path))
    assert compliant.verdict is GateVerdict.PASS, compliant.reasons
    judged = {str(c.result.control.id): c.verdict for c in compliant.controls if c.verdict}
    assert set(judged.values()) == {GateVerdict.PASS}
    # The checkov and the shared checks both took part.
    for control in ("ASL2-WA-1", "ASL3-EN-1", "ASL3-EN-2", "ASL3-LM-1", "ASL3-NW-1", "ASL3-WA-1"):
        assert judged.get(control) is GateVerdict.PASS, control
    checks = {o.check for c in compliant.controls for o in c.result.checks if o.status == "pass"}
    assert {"iac.checkov.asl2_wa_1", "iac.checkov.asl3_en_2", "aws.s3.weights_cmk_encryption",
            "aws.cloudtrail.weights_data_events", "aws.vpc.weights_sg_egress_restricted"} <= checks


def test_ckv_aws_145_pass_is_not_counted_as_cmk_evidence(compliant: GateResult) -> None:
    en1 = next(c for c in compliant.controls if c.result.control.id == "ASL3-EN-1")
    iac = next(o for o in en1.result.checks if o.check == "iac.checkov.asl3_en_1")
    assert iac.status == "not_applicable"
    assert all(f.status.value == "not_applicable" for f in iac.findings)
    assert any("CKV_AWS_145" in f.reason for f in iac.findings)


def test_sarif_validates_and_locates(violating: GateResult) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    doc = json.loads(SarifRenderer().render(violating.run))
    jsonschema.Draft4Validator(load_schema(SARIF)).validate(doc)
    run = doc["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} >= {"ASL3-EN-1", "ASL3-NW-1"}
    physical = [loc["physicalLocation"] for r in run["results"] for loc in r["locations"]
                if "physicalLocation" in loc]
    assert any(p["artifactLocation"]["uri"] == f"{VIOLATING}/network.tf"
               and p["region"]["startLine"] <= 79 <= p["region"]["endLine"] for p in physical)
    assert {r["level"] for r in run["results"]} <= {"error", "warning"}


def _live_snapshot(tmp: Path) -> str:
    """A hand-built live inventory: the weight bucket exists with SSE-S3, plus a stray bucket."""
    tags = {"asl:asset": "model-weights"}
    common = {"public_access_block": dict.fromkeys((
        "block_public_acls", "ignore_public_acls", "block_public_policy",
        "restrict_public_buckets"), True), "policy": None, "ownership": "BucketOwnerEnforced",
        "acl_grants": [], "versioning": "Enabled", "object_lock": None, "logging": None}
    sse_s3 = {"algorithm": "AES256", "kms_key_id": None, "bucket_key_enabled": False,
              "explicit": False}
    buckets = [
        Resource("aws.s3.bucket", "arn:aws:s3:::frontier-lab-model-weights-prod", "aws",
                 {"name": "frontier-lab-model-weights-prod", "region": "us-east-1",
                  "encryption": sse_s3, **common}, tags, "111122223333", "us-east-1"),
        Resource("aws.s3.bucket", "arn:aws:s3:::frontier-lab-weights-scratch", "aws",
                 {"name": "frontier-lab-weights-scratch", "region": "us-east-1",
                  "encryption": sse_s3, **common}, tags, "111122223333", "us-east-1"),
    ]
    run = CollectorRun("aws", "test", ("111122223333/us-east-1",), ("aws.s3.bucket",),
                       "2026-11-27T00:00:00Z", "2026-11-27T00:00:01Z")
    path = tmp / "live.json"
    path.write_bytes(Snapshot(resources=tuple(buckets), runs=(run,)).canonical_bytes())
    return str(path)


def test_drift_between_declared_and_live_bucket(tmp_path: Path, catalog: Catalog,
                                                registry: Registry, config: Config,
                                                checkov: CachingRunner) -> None:
    result = _gate(COMPLIANT, catalog, registry, config, checkov, _live_snapshot(tmp_path))
    by_kind = {(d.kind, d.name, d.attribute) for d in result.drift}
    assert (DriftKind.MISMATCH, "frontier-lab-model-weights-prod", "encryption") in by_kind
    assert (DriftKind.NOT_IN_CODE, "frontier-lab-weights-scratch", None) in by_kind
    enc = next(d for d in result.drift if d.attribute == "encryption")
    assert enc.location is not None and enc.location["file"] == f"{COMPLIANT}/storage.tf"
    assert "aws:kms" in enc.message and "AES256" in enc.message
    # The live bucket's SSE-S3 fails the shared CMK check in the same run.
    assert result.verdict is GateVerdict.FAIL


def test_plan_json_is_read_and_references_resolve(catalog: Catalog, registry: Registry,
                                                  config: Config, checkov: CachingRunner) -> None:
    plan = str((DATA / "plan" / "weights-plan.json").relative_to(ROOT))
    result = _gate(plan, catalog, registry, config, checkov)
    bucket = next(r for r in result.snapshot.of_kind("aws.s3.bucket") if r.source == "terraform")
    assert bucket.attributes["encryption"]["kms_key_id"] == "aws_kms_key.weights"
    assert bucket.attributes["location"]["file"] == plan
    assert "start_line" in bucket.attributes["location"]
    en1 = next(c for c in result.controls if c.result.control.id == "ASL3-EN-1")
    cmk = next(o for o in en1.result.checks if o.check == "aws.s3.weights_cmk_encryption")
    # The key reference resolves to the declared customer-managed key; the plan declares no
    # bucket policy refusing uploads under other encryption, so the check still fails on that.
    [finding] = cmk.findings
    assert "customer-managed key aws_kms_key.weights" in finding.reason
    assert "uploads may choose their own encryption" in finding.reason
    # The key policy is computed by AWS: undetermined, so the key checks cannot pass.
    assert result.verdict is not GateVerdict.PASS
