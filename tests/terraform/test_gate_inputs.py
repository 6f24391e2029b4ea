"""Gate inputs (issue 10 class 9) with real checkov on real Terraform files: variable files
loaded in Terraform's precedence, files Terraform ignores or overrides, and inputs that would
make checkov judge other code than Terraform applies. Each attack is catalogued in
docs/adversarial/gate.md."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from aslcheck.checks.registry import Registry
from aslcheck.controls.config import Config
from aslcheck.controls.model import Catalog
from aslcheck.gate import GateResult, GateVerdict, run_gate
from aslcheck.inventories.snapshot import Resource
from tests.terraform.conftest import EXAMPLES, CachingRunner
from tests.terraform.test_gate_examples import _fenced_org

pytestmark = pytest.mark.checkov

COMPLIANT = EXAMPLES / "compliant"
WEIGHT_BUCKET = "aws_s3_bucket.weights"


def copy_compliant(tmp: Path, name: str) -> Path:
    out = tmp / name
    shutil.copytree(COMPLIANT, out)
    return out


def gate(path: Path | str, catalog: Catalog, registry: Registry, config: Config,
         checkov: CachingRunner, **kw: Any) -> GateResult:
    return run_gate(str(path), None, "asl3", config, catalog=catalog, registry=registry,
                    runner=checkov, **kw)


def bucket(result: GateResult, address: str = WEIGHT_BUCKET) -> Resource:
    return next(r for r in result.snapshot.of_kind("aws.s3.bucket") if r.id == address)


def findings(result: GateResult, check: str) -> dict[str, str]:
    """Resource -> status of one check's findings."""
    return {f.resource or "": f.status.value for c in result.controls for o in c.result.checks
            if o.check == check for f in o.findings}


def checkov_results(result: GateResult, check_id: str) -> dict[str, str]:
    """Terraform address -> checkov's own result for ``check_id``."""
    return {str(r.attributes["resource"]): str(r.attributes["result"])
            for r in result.snapshot.of_kind("iac.checkov.finding")
            if r.attributes.get("check_id") == check_id}


def control(result: GateResult, cid: str) -> GateVerdict | None:
    return next(c.verdict for c in result.controls if c.result.control.id == cid)


# -- precedence: six variables, each set by a different combination of files ---------------

PRECEDENCE_TF = '''
provider "aws" {
  region              = "us-east-1"
  allowed_account_ids = ["111122223333"]
}
locals {
  weight_tags = { "asl:asset" = "model-weights" }
}
resource "aws_kms_key" "weights" {
  enable_key_rotation = true
  tags                = local.weight_tags
}
'''
BUCKET_TF = '''
variable "alg_{n}" {{
  type    = string
  default = "aws:kms"
}}
resource "aws_s3_bucket" "{n}" {{
  bucket = "precedence-{n}"
  tags   = local.weight_tags
}}
resource "aws_s3_bucket_server_side_encryption_configuration" "{n}" {{
  bucket = aws_s3_bucket.{n}.id
  rule {{
    apply_server_side_encryption_by_default {{
      sse_algorithm     = var.alg_{n}
      kms_master_key_id = aws_kms_key.weights.arn
    }}
    blocked_encryption_types = ["SSE-C"]
  }}
}}
# Uploads naming their own encryption are refused, so the default decides (issue 13 item 3).
resource "aws_s3_bucket_policy" "{n}" {{
  bucket = aws_s3_bucket.{n}.id
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [
      {{ Sid = "DenySseS3", Effect = "Deny", Principal = "*", Action = "s3:PutObject",
        Resource = "${{aws_s3_bucket.{n}.arn}}/*",
        Condition = {{ StringEquals = {{ "s3:x-amz-server-side-encryption" = "AES256" }} }} }},
      {{ Sid = "DenyOtherKeys", Effect = "Deny", Principal = "*", Action = "s3:PutObject",
        Resource = "${{aws_s3_bucket.{n}.arn}}/*",
        Condition = {{
          StringEquals    = {{ "s3:x-amz-server-side-encryption" = ["aws:kms", "aws:kms:dsse"] }}
          StringNotEquals = {{ "s3:x-amz-server-side-encryption-aws-kms-key-id" = aws_kms_key.weights.arn }}
        }} }},
    ]
  }})
}}
'''
# What Terraform ends with for each bucket, and which file decided it.
EXPECTED = {
    "a": "aws:kms",   # terraform.tfvars says AES256, terraform.tfvars.json overrides it
    "b": "AES256",    # terraform.tfvars.json only
    "c": "AES256",    # terraform.tfvars says aws:kms, x.auto.tfvars.json overrides it
    "d": "aws:kms",   # a.auto.tfvars says AES256, b.auto.tfvars.json (later) overrides it
    "e": "AES256",    # b.auto.tfvars.json says aws:kms, c.auto.tfvars (later) overrides it
    "f": "aws:kms",   # no file: the default
}
VAR_FILES = {
    "terraform.tfvars": 'alg_a = "AES256"\nalg_c = "aws:kms"\n',
    "terraform.tfvars.json": json.dumps({"alg_a": "aws:kms", "alg_b": "AES256"}),
    "a.auto.tfvars": 'alg_d = "AES256"\n',
    "b.auto.tfvars.json": json.dumps({"alg_d": "aws:kms", "alg_e": "aws:kms"}),
    "c.auto.tfvars": 'alg_e = "AES256"\n',
    "x.auto.tfvars.json": json.dumps({"alg_c": "AES256"}),
}


# The same run also carries files Terraform ignores (they would version bucket a), a cosmetic
# .checkov.yml, a --var-file that flips bucket f, and a TF_VAR_ name whose variable a file
# sets anyway.
IGNORED = '''
resource "aws_s3_bucket_versioning" "a" {
  bucket = aws_s3_bucket.a.id
  versioning_configuration {
    status = "Enabled"
  }
}
'''
FINAL = {**EXPECTED, "f": "AES256"}  # f: the --var-file has the last word


@pytest.fixture(scope="module")
def precedence(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog, registry: Registry,
               config: Config, checkov: CachingRunner) -> GateResult:
    root = tmp_path_factory.mktemp("precedence")
    (root / "main.tf").write_text(PRECEDENCE_TF + "".join(BUCKET_TF.format(n=n)
                                                          for n in EXPECTED))
    for name, text in VAR_FILES.items():
        (root / name).write_text(text)
    for name in (".versioning.tf", "versioning.tf~", "#versioning.tf#"):
        (root / name).write_text(IGNORED)
    (root / ".checkov.yml").write_text("compact: true\nsoft-fail: true\n")
    prod = root.parent / "prod.tfvars"
    prod.write_text('alg_f = "AES256"\n')
    return gate(root, catalog, registry, config, checkov, var_files=[str(prod)],
                environment_variables=["TF_VAR_alg_a"])


def test_variable_files_apply_in_terraforms_precedence(precedence: GateResult) -> None:
    got = {n: bucket(precedence, f"aws_s3_bucket.{n}").attributes["encryption"]["algorithm"]
           for n in EXPECTED}
    assert got == FINAL
    assert any(t.endswith("prod.tfvars") for t in precedence.snapshot.runs[0].targets)


def test_shared_check_and_checkov_agree_with_terraform(precedence: GateResult) -> None:
    cmk = findings(precedence, "aws.s3.weights_cmk_encryption")
    assert {n: cmk[f"aws_s3_bucket.{n}"] for n in FINAL} == {
        n: "pass" if alg == "aws:kms" else "fail" for n, alg in FINAL.items()}
    # checkov loads the same files in the same order: CKV_AWS_145 fails exactly the AES256 ones.
    theirs = checkov_results(precedence, "CKV_AWS_145")
    assert {n: theirs[f"aws_s3_bucket.{n}"] for n in FINAL} == {
        n: "passed" if alg == "aws:kms" else "failed" for n, alg in FINAL.items()}
    assert precedence.verdict is GateVerdict.FAIL
    # A cosmetic .checkov.yml changes no result; a TF_VAR_ that a file overrides is moot.
    assert not [e for e in precedence.snapshot.errors
                if e.code in ("CheckovInputsDiverge", "VariableFromEnvironment")]


def test_files_terraform_ignores_are_ignored(precedence: GateResult) -> None:
    assert bucket(precedence, "aws_s3_bucket.a").attributes["versioning"] is None
    assert findings(precedence, "aws.s3.weights_versioning")["aws_s3_bucket.a"] == "fail"
    assert "aws_s3_bucket_versioning.a" not in {
        r.attributes["resource"] for r in precedence.snapshot.of_kind("iac.checkov.finding")}


# -- a variable file flips the compliant example -------------------------------------------

def test_compliant_example_passes_before_any_variable_file(
        tmp_path: Path, catalog: Catalog, registry: Registry, config: Config, checkov: CachingRunner) -> None:
    # Live Organizations data fences the root user: from code alone the gate cannot pass.
    result = run_gate("examples/terraform/compliant", _fenced_org(tmp_path), "asl3", config, catalog=catalog,
                      registry=registry, runner=checkov)
    assert result.verdict is GateVerdict.PASS, result.reasons
    assert bucket(result).attributes["encryption"]["algorithm"] == "aws:kms"


def test_tfvars_json_flips_the_weight_bucket_to_sse_s3(
        tmp_path: Path, catalog: Catalog, registry: Registry, config: Config,
        checkov: CachingRunner) -> None:
    root = copy_compliant(tmp_path, "json")
    (root / "terraform.tfvars.json").write_text('{"weights_sse_algorithm": "AES256"}')
    result = gate(root, catalog, registry, config, checkov)
    assert bucket(result).attributes["encryption"]["algorithm"] == "AES256"
    assert findings(result, "aws.s3.weights_cmk_encryption")[WEIGHT_BUCKET] == "fail"
    assert checkov_results(result, "CKV_AWS_145")[WEIGHT_BUCKET] == "failed"
    assert control(result, "ASL3-EN-1") is GateVerdict.FAIL
    assert result.verdict is GateVerdict.FAIL


def test_tf_var_in_the_environment_makes_the_gate_inconclusive(
        catalog: Catalog, registry: Registry, config: Config, checkov: CachingRunner) -> None:
    # Terraform would read TF_VAR_weights_sse_algorithm; the gate is told only its name.
    result = gate("examples/terraform/compliant", catalog, registry, config, checkov,
                  environment_variables=["TF_VAR_weights_sse_algorithm", "TF_VAR_undeclared"])
    problems = [e for e in result.snapshot.errors if e.code == "VariableFromEnvironment"]
    assert len(problems) == 1 and "var.weights_sse_algorithm" in problems[0].message
    assert problems[0].kind is None  # every control the code feeds is affected
    assert result.verdict is GateVerdict.INCONCLUSIVE


# -- inputs checkov reads differently from Terraform ---------------------------------------

OVERRIDE = '''
resource "aws_s3_bucket_versioning" "weights" {
  versioning_configuration {
    status = "Suspended"
  }
}
'''


@pytest.fixture(scope="module")
def diverged(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog, registry: Registry,
             config: Config, checkov: CachingRunner) -> GateResult:
    """The compliant example plus three inputs checkov reads differently from Terraform."""
    root = tmp_path_factory.mktemp("diverged") / "code"
    shutil.copytree(COMPLIANT, root)
    # Terraform loads .ci.auto.tfvars; checkov skips names starting with "." and judges the
    # default aws:kms.
    (root / ".ci.auto.tfvars").write_text('weights_sse_algorithm = "AES256"\n')
    # Terraform merges the override (the nested block is replaced: Suspended); checkov reads
    # it as a second, partial definition.
    (root / "storage_override.tf").write_text(OVERRIDE)
    # checkov reads .checkov.yaml from the directory it scans: skip-check drops results
    # without a trace (not even as "skipped").
    (root / ".checkov.yaml").write_text("skip-check:\n  - CKV_AWS_7\n  - CKV2_AWS_45\n")
    return gate(root, catalog, registry, config, checkov)


def test_model_follows_terraform_where_checkov_does_not(diverged: GateResult) -> None:
    weights = bucket(diverged)
    assert weights.attributes["encryption"]["algorithm"] == "AES256"
    assert weights.attributes["versioning"] == "Suspended"
    assert findings(diverged, "aws.s3.weights_cmk_encryption")[WEIGHT_BUCKET] == "fail"
    assert findings(diverged, "aws.s3.weights_versioning")[WEIGHT_BUCKET] == "fail"
    # What checkov concluded from what it saw: the default algorithm, and no rotation result.
    assert checkov_results(diverged, "CKV_AWS_145")[WEIGHT_BUCKET] == "passed"
    assert "CKV_AWS_7" not in {r.attributes["check_id"]
                               for r in diverged.snapshot.of_kind("iac.checkov.finding")}
    assert diverged.verdict is GateVerdict.FAIL


@pytest.mark.parametrize("cause", [".ci.auto.tfvars", "storage_override.tf", "skip-check"])
def test_each_divergence_is_detected_and_checkov_distrusted(diverged: GateResult,
                                                           cause: str) -> None:
    messages = [e.message for e in diverged.snapshot.errors if e.code == "CheckovInputsDiverge"]
    assert any(cause in m for m in messages), messages
    # No checkov result counts, either way: every iac finding is an ERROR, and a control only
    # checkov speaks to is inconclusive.
    statuses = {f.status.value for c in diverged.controls for o in c.result.checks
                if o.check.startswith("iac.checkov.") for f in o.findings}
    assert statuses == {"error"}
    assert control(diverged, "ASL3-LM-5") is GateVerdict.INCONCLUSIVE
