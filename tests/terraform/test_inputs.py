"""Reading a root module as Terraform does (aslcheck/inventories/terraform/inputs.py): bad
variable and configuration files are bad input naming file and line; overrides merge; files
Terraform ignores are ignored; checkov's environment and configuration are pinned down."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from aslcheck.cli import main
from aslcheck.cli.exitcodes import ExitCode
from aslcheck.errors import BadInputError
from aslcheck.inventories.terraform.collector import TerraformCollector, _config_divergence
from aslcheck.inventories.terraform.declared import Declared
from aslcheck.inventories.terraform.hcl import load_directory
from aslcheck.inventories.terraform.runner import (
    CheckovTarget,
    Framework,
    SubprocessCheckovRunner,
    offline_env,
)
from tests.terraform.conftest import DATA, EXAMPLES, CachingRunner

BASE = '''
variable "alg" {
  type    = string
  default = "aws:kms"
}
resource "aws_s3_bucket" "w" {
  bucket = "w"
}
resource "aws_s3_bucket_server_side_encryption_configuration" "w" {
  bucket = aws_s3_bucket.w.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = var.alg
    }
  }
}
'''


def tree(tmp: Path, files: dict[str, str], main_tf: str = BASE) -> Path:
    (tmp / "main.tf").write_text(main_tf)
    for name, text in files.items():
        (tmp / name).write_text(text)
    return tmp


def algorithm(declared: Declared) -> Any:
    block = declared.find("aws_s3_bucket_server_side_encryption_configuration.w")
    assert block is not None
    rule = block.body.blocks("rule")
    assert isinstance(rule, list)
    default = rule[0].blocks("apply_server_side_encryption_by_default")
    assert isinstance(default, list)
    return default[0].get("sse_algorithm")


def bad(tmp: Path, files: dict[str, str], main_tf: str = BASE,
        var_files: tuple[str, ...] = ()) -> BadInputError:
    with pytest.raises(BadInputError) as info:
        load_directory(str(tree(tmp, files, main_tf)), var_files)
    return info.value


# -- malformed variable files: bad input with file and line --------------------------------

@pytest.mark.parametrize(("name", "text", "line", "needle"), [
    ("terraform.tfvars.json", '{\n  "alg": "AES256",\n  oops\n}', 3, "malformed JSON"),
    ("x.auto.tfvars.json", '{\n  "alg": "AES256",\n  "alg": "aws:kms"\n}', 3, "duplicate key"),
    ("x.auto.tfvars.json", '["alg", "AES256"]', 1, "one object"),
    ("terraform.tfvars", 'x = 1\nalg = "AES256"\nalg = "aws:kms"\n', 3, "more than once"),
    ("a.auto.tfvars", 'x = 1\nalg = var.other\n', 2, "not a literal"),
    ("a.auto.tfvars", 'alg = upper("aes256")\n', 1, "not a literal"),
    ("terraform.tfvars.json", '{"alg": "${var.other}"}', 1, "not a literal"),
])
def test_malformed_variable_file_names_file_and_line(tmp_path: Path, name: str, text: str,
                                                     line: int, needle: str) -> None:
    err = bad(tmp_path, {name: text})
    assert err.location is not None
    assert err.location.file.endswith(f"/{name}")
    assert err.location.line == line, err
    assert needle in err.message


def test_malformed_hcl_variable_file(tmp_path: Path) -> None:
    err = bad(tmp_path, {"terraform.tfvars": 'alg = "AES256"\nthis is not hcl {\n'})
    assert err.location is not None and err.location.file.endswith("/terraform.tfvars")
    assert "malformed HCL" in err.message


def test_block_in_a_variable_file_is_rejected(tmp_path: Path) -> None:
    err = bad(tmp_path, {"terraform.tfvars": 'variable "alg" {\n  default = "AES256"\n}\n'})
    assert "block" in err.message


def test_missing_var_file_argument(tmp_path: Path) -> None:
    err = bad(tmp_path, {}, var_files=(str(tmp_path / "nope.tfvars"),))
    assert err.location is not None and err.location.file.endswith("nope.tfvars")


def test_var_file_with_a_plan_is_bad_input(tmp_path: Path) -> None:
    plan = str(DATA / "plan" / "weights-plan.json")
    with pytest.raises(BadInputError, match="directory scan"):
        TerraformCollector(plan, var_files=[str(tmp_path / "x.tfvars")]).declared()


def test_numbers_nulls_and_undeclared_values(tmp_path: Path) -> None:
    main_tf = BASE + '''
variable "days" {
  type    = number
  default = 30
}
variable "keep" {
  type     = string
  default  = "kept"
  nullable = false
}
resource "aws_cloudwatch_log_group" "g" {
  name              = var.keep
  retention_in_days = var.days
}
'''
    declared = load_directory(str(tree(tmp_path, {
        "terraform.tfvars": 'days = -1\nkeep = null\nnot_declared = "x"\n'}, main_tf)))
    group = declared.find("aws_cloudwatch_log_group.g")
    assert group is not None
    assert group.body.get("retention_in_days") == -1
    assert group.body.get("name") == "kept"  # null for a non-nullable variable: the default


# -- configuration files -------------------------------------------------------------------

def test_duplicate_resource_across_files_is_bad_input(tmp_path: Path) -> None:
    err = bad(tmp_path, {"more.tf": 'resource "aws_s3_bucket" "w" {\n  bucket = "again"\n}\n'})
    assert "duplicate resource 'aws_s3_bucket.w'" in err.message
    assert err.location is not None and err.location.file.endswith("/more.tf")
    assert err.location.line == 1


def test_duplicate_variable_and_local_are_bad_input(tmp_path: Path) -> None:
    (tmp_path / "v").mkdir()
    (tmp_path / "l").mkdir()
    assert "duplicate variable 'alg'" in bad(tmp_path / "v", {"v.tf": 'variable "alg" {}\n'}).message
    main_tf = BASE + 'locals {\n  a = 1\n}\n'
    assert "duplicate local value 'a'" in bad(tmp_path / "l", {"l.tf": 'locals {\n  a = 2\n}\n'},
                                              main_tf).message


@pytest.mark.parametrize("name", [".hidden.tf", "main.tf~", "#main.tf#"])
def test_files_terraform_ignores(tmp_path: Path, name: str) -> None:
    # Each would change the algorithm (or redefine the bucket) if it were read.
    (tmp_path / name).write_text('variable "other" {\n  default = "AES256"\n}\n'
                                 'resource "aws_s3_bucket" "w" {\n  bucket = "again"\n}\n')
    declared = load_directory(str(tree(tmp_path, {})))
    assert algorithm(declared) == "aws:kms"
    if name.endswith(".tf"):
        assert [p.rsplit("/", 1)[-1] for p in declared.inputs.ignored] == [name]


OVERRIDE = '''
variable "alg" {
  default = "AES256"
}
resource "aws_s3_bucket" "w" {
  bucket = "renamed"
}
'''


def test_override_merges_arguments_and_keeps_the_rest(tmp_path: Path) -> None:
    declared = load_directory(str(tree(tmp_path, {"override.tf": OVERRIDE})))
    assert algorithm(declared) == "AES256"  # the variable's default was overridden
    w = declared.find("aws_s3_bucket.w")
    assert w is not None and w.body.get("bucket") == "renamed"
    assert w.file.endswith("/main.tf")  # the block stays where it was declared
    assert set(declared.inputs.overridden) == {"var.alg", "aws_s3_bucket.w"}
    assert declared.inputs.overrides[0].endswith("/override.tf")


def test_override_replaces_nested_blocks_and_dynamic_ones(tmp_path: Path) -> None:
    main_tf = BASE + '''
resource "aws_security_group" "g" {
  name = "g"
  dynamic "egress" {
    for_each = ["0.0.0.0/0"]
    content {
      protocol    = "-1"
      from_port   = 0
      to_port     = 0
      cidr_blocks = [egress.value]
    }
  }
  lifecycle {
    create_before_destroy = true
  }
}
'''
    override = '''
resource "aws_security_group" "g" {
  egress {
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = ["10.0.0.0/8"]
  }
  lifecycle {
    prevent_destroy = true
  }
}
'''
    declared = load_directory(str(tree(tmp_path, {"sg_override.tf": override}, main_tf)))
    g = declared.find("aws_security_group.g")
    assert g is not None
    egress = g.body.blocks("egress")  # the static override replaced the dynamic block
    assert isinstance(egress, list) and [e.get("from_port") for e in egress] == [443]
    life = g.body.blocks("lifecycle")
    assert isinstance(life, list)
    assert (life[0].get("create_before_destroy"), life[0].get("prevent_destroy")) == (True, True)


def test_override_without_a_base_is_bad_input(tmp_path: Path) -> None:
    err = bad(tmp_path, {"x_override.tf": 'resource "aws_s3_bucket" "ghost" {\n  bucket = "g"\n}\n'})
    assert "missing base resource definition" in err.message
    assert err.location is not None and err.location.file.endswith("/x_override.tf")


# -- checkov's inputs ----------------------------------------------------------------------

def test_checkov_environment_is_an_allowlist() -> None:
    env = offline_env({"PATH": "/bin", "LANG": "C.UTF-8", "CKV_SKIP_CHECK": "CKV_AWS_145",
                       "CKV_CHECK": "CKV_AWS_1", "CHECKOV_CREATE_GRAPH": "False",
                       "TF_VAR_alg": "AES256", "BC_API_KEY": "secret", "HOME": "/root"},
                      home="/tmp/sandbox")
    assert env["PATH"] == "/bin" and env["LANG"] == "C.UTF-8" and env["HOME"] == "/tmp/sandbox"
    for name in ("CKV_SKIP_CHECK", "CKV_CHECK", "CHECKOV_CREATE_GRAPH", "TF_VAR_alg",
                 "BC_API_KEY"):
        assert name not in env
    assert env["BC_SKIP_MAPPING"] == "TRUE"  # our offline switches are set


@pytest.mark.parametrize(("text", "diverges"), [
    ("compact: true\nsoft-fail: true\n", False),
    ("quiet: true\n", True),            # drops every passed result
    ("skip-check: [CKV_AWS_7]\n", True),
    ("check: CKV_AWS_1\n", True),
    ("external-checks-dir: [./policies]\n", True),
    (": not yaml: [\n", True),
])
def test_checkov_config_in_the_scanned_directory(tmp_path: Path, text: str,
                                                 diverges: bool) -> None:
    (tmp_path / ".checkov.yaml").write_text(text)
    assert bool(_config_divergence(str(tmp_path))) is diverges


@pytest.mark.checkov
def test_checkov_ignores_our_environment_and_home(tmp_path: Path, checkov: CachingRunner) -> None:
    """CKV_SKIP_CHECK, CKV_CHECK and a ~/.checkov.yaml in our HOME do not reach checkov."""
    (tmp_path / "code").mkdir()
    code = tree(tmp_path / "code", {"terraform.tfvars": 'alg = "AES256"\n'})
    home = tmp_path / "home"
    home.mkdir()
    (home / ".checkov.yaml").write_text("skip-check:\n  - CKV_AWS_145\n")
    runner = SubprocessCheckovRunner(checkov.inner.executable, env={
        **os.environ, "HOME": str(home), "CKV_SKIP_CHECK": "CKV_AWS_145",
        "CKV_CHECK": "CKV_AWS_19", "TF_VAR_alg": "aws:kms"})
    out = runner(CheckovTarget(str(code), Framework.TERRAFORM))
    results = out.document["results"]
    ids = {r["check_id"]: r["check_result"]["result"]
           for key in ("passed_checks", "failed_checks") for r in results[key]}
    assert ids.get("CKV_AWS_145") == "FAILED"  # ran, and saw the file's AES256, not TF_VAR_
    assert "CKV_AWS_21" in ids  # CKV_CHECK did not restrict the run


@pytest.mark.checkov
def test_cli_malformed_tfvars_exits_3_and_writes_nothing(tmp_path: Path, capsys: Any) -> None:
    code = tmp_path / "code"
    code.mkdir()
    tree(code, {"terraform.tfvars.json": '{\n  "alg": "AES256",\n}\n'})
    out = tmp_path / "reports"
    rc = main(["gate", "--iac", str(code), "--config", str(EXAMPLES / "aslcheck.yaml"),
               "--out", str(out), "--quiet"])
    assert rc == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert f"{code}/terraform.tfvars.json:3" in err and "Traceback" not in err
    assert not out.exists()


def test_json_fixture_is_well_formed() -> None:
    # The plan fixture stays a valid plan (guards the var-file/plan test above).
    assert json.loads((DATA / "plan" / "weights-plan.json").read_text())["format_version"]
