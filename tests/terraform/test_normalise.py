"""HCL and plan normalisation into the shared AWS model (no checkov needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aslcheck.controls.config import Config
from aslcheck.errors import BadInputError
from aslcheck.inventories.interface import CollectionRequest
from aslcheck.inventories.snapshot import Resource, Snapshot
from aslcheck.inventories.terraform import CheckovOutput, CheckovTarget, TerraformCollector

PROVIDER = '''
provider "aws" {
  region              = "us-east-1"
  allowed_account_ids = ["111122223333"]
}
'''


def empty_checkov(target: CheckovTarget) -> CheckovOutput:
    """A runner standing in for checkov: no results."""
    return CheckovOutput({"check_type": "terraform", "results": {
        "passed_checks": [], "failed_checks": [], "skipped_checks": [], "parsing_errors": []},
        "summary": {"checkov_version": "test"}})


def collect(tmp: Path, hcl: str, runner: Any = empty_checkov) -> Snapshot:
    (tmp / "main.tf").write_text(PROVIDER + hcl)
    return TerraformCollector(str(tmp), runner).collect(CollectionRequest(frozenset(), Config()))


def one(snap: Snapshot, kind: str) -> Resource:
    found = [r for r in snap.of_kind(kind) if r.source == "terraform"]
    assert len(found) == 1, found
    return found[0]


def test_bucket_merges_its_configuration_resources(tmp_path: Path) -> None:
    snap = collect(tmp_path, '''
resource "aws_kms_key" "w" {
  enable_key_rotation = true
}
resource "aws_kms_alias" "w" {
  name          = "alias/weights"
  target_key_id = aws_kms_key.w.key_id
}
resource "aws_s3_bucket" "w" {
  bucket = "lab-weights"
  tags   = { "asl:asset" = "model-weights" }
}
resource "aws_s3_bucket_server_side_encryption_configuration" "w" {
  bucket = aws_s3_bucket.w.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.w.arn
    }
  }
}
resource "aws_s3_bucket_versioning" "w" {
  bucket = aws_s3_bucket.w.bucket
  versioning_configuration { status = "Enabled" }
}
resource "aws_s3_bucket_public_access_block" "w" {
  bucket            = aws_s3_bucket.w.id
  block_public_acls = true
}
''')
    bucket = one(snap, "aws.s3.bucket")
    assert bucket.id == "aws_s3_bucket.w"
    assert bucket.tags == {"asl:asset": "model-weights"}
    assert (bucket.account, bucket.region) == ("111122223333", "us-east-1")
    a = bucket.attributes
    assert a["encryption"] == {"algorithm": "aws:kms", "kms_key_id": "aws_kms_key.w",
                               "bucket_key_enabled": False, "explicit": True,
                               "blocked_encryption_types": []}
    assert a["versioning"] == "Enabled"
    assert a["public_access_block"] == {"block_public_acls": True, "ignore_public_acls": False,
                                        "block_public_policy": False,
                                        "restrict_public_buckets": False}
    assert a["policy"] is None
    assert a["location"]["start_line"] > 0
    key = one(snap, "aws.kms.key")
    assert key.attributes["key_id"] == "aws_kms_key.w"  # what the bucket's reference names
    assert key.attributes["key_manager"] == "CUSTOMER"
    assert key.attributes["aliases"] == ["alias/weights"]
    assert key.attributes["policy"]["Statement"][0]["Principal"] == {
        "AWS": "arn:aws:iam::111122223333:root"}


def test_no_encryption_configuration_is_sse_s3_never_kms(tmp_path: Path) -> None:
    bucket = one(collect(tmp_path, 'resource "aws_s3_bucket" "b" { bucket = "x" }'),
                 "aws.s3.bucket")
    assert bucket.attributes["encryption"] == {"algorithm": "AES256", "kms_key_id": None,
                                               "bucket_key_enabled": False, "explicit": False}


def test_unresolvable_values_are_absent_not_guessed(tmp_path: Path) -> None:
    snap = collect(tmp_path, '''
variable "key_arn" { type = string }
resource "aws_s3_bucket" "b" {
  bucket_prefix = "weights-"
  tags          = { "asl:asset" = var.key_arn }
}
resource "aws_s3_bucket_server_side_encryption_configuration" "b" {
  bucket = aws_s3_bucket.b.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.key_arn
    }
  }
}
resource "aws_s3_bucket_policy" "b" {
  bucket = aws_s3_bucket.b.id
  policy = jsonencode({ Statement = [{ Effect = "Allow", Principal = "*", Action = "s3:GetObject",
                                       Resource = "${aws_s3_bucket.b.arn}/*" }] })
}
''')
    bucket = one(snap, "aws.s3.bucket")
    for name in ("name", "encryption", "policy"):
        assert name not in bucket.attributes, name
        assert name in bucket.attributes["undetermined"]
    assert bucket.tags is None  # undeterminable tags: weight scope undecidable -> ERROR
    assert bucket.attributes["versioning"] is None  # determined: never enabled


def test_satellite_with_unknown_parent_makes_the_attribute_absent(tmp_path: Path) -> None:
    snap = collect(tmp_path, '''
variable "name" { type = string }
resource "aws_s3_bucket" "b" { bucket = "known" }
resource "aws_s3_bucket_versioning" "other" {
  bucket = var.name
  versioning_configuration { status = "Suspended" }
}
''')
    assert "versioning" not in one(snap, "aws.s3.bucket").attributes


def test_security_group_rules_and_terraform_default_egress(tmp_path: Path) -> None:
    snap = collect(tmp_path, '''
resource "aws_vpc" "v" { cidr_block = "10.0.0.0/16" }
resource "aws_security_group" "open" {
  vpc_id = aws_vpc.v.id
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
resource "aws_security_group" "none" { vpc_id = aws_vpc.v.id }
resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.none.id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "10.0.0.0/16"
}
''')
    groups = {r.id: r for r in snap.of_kind("aws.ec2.security_group")}
    assert groups["aws_security_group.open"].attributes["egress"] == [
        {"protocol": "-1", "from_port": None, "to_port": None, "cidrs": ["0.0.0.0/0"],
         "ipv6_cidrs": [], "prefix_lists": [], "groups": []}]
    assert groups["aws_security_group.open"].attributes["vpc_id"] == "aws_vpc.v"
    assert groups["aws_security_group.none"].attributes["egress"] == [
        {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidrs": ["10.0.0.0/16"],
         "ipv6_cidrs": [], "prefix_lists": [], "groups": []}]
    assert one(snap, "aws.ec2.vpc").attributes["vpc_id"] == "aws_vpc.v"


def test_trail_selectors_in_api_shape(tmp_path: Path) -> None:
    snap = collect(tmp_path, '''
resource "aws_s3_bucket" "w" { bucket = "lab-weights" }
resource "aws_cloudtrail" "t" {
  name           = "t"
  s3_bucket_name = "logs"
  event_selector {
    data_resource {
      type   = "AWS::S3::Object"
      values = ["${aws_s3_bucket.w.arn}/"]
    }
  }
}
''')
    trail = one(snap, "aws.cloudtrail.trail").attributes
    assert trail["event_selectors"] == [{
        "ReadWriteType": "All", "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::lab-weights/"]}],
        "ExcludeManagementEventSources": []}]
    assert trail["advanced_event_selectors"] is None
    assert (trail["is_multi_region"], trail["is_logging"]) == (False, True)


def test_iam_roles_are_identified_by_arn_and_policies_resolve(tmp_path: Path) -> None:
    snap = collect(tmp_path, '''
resource "aws_iam_role" "r" {
  name               = "reader"
  assume_role_policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "sts:AssumeRole",
                                    Principal = { Service = "ec2.amazonaws.com" } }] })
}
resource "aws_iam_policy" "p" {
  name   = "read"
  policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "*" }] })
}
resource "aws_iam_role_policy_attachment" "a" {
  role       = aws_iam_role.r.name
  policy_arn = aws_iam_policy.p.arn
}
''')
    role = one(snap, "aws.iam.role")
    assert role.id == "arn:aws:iam::111122223333:role/reader"
    assert role.region == "global"
    assert role.attributes["location"]["address"] == "aws_iam_role.r"
    assert role.attributes["attached_policies"] == ["arn:aws:iam::111122223333:policy/read"]
    assert one(snap, "aws.iam.policy").id == "arn:aws:iam::111122223333:policy/read"


@pytest.mark.parametrize(("hcl", "code"), [
    ('module "m" {\n  source = "./m"\n}\n', "ModuleNotExpanded"),
    ('resource "aws_s3_bucket" "b" {\n  count  = 2\n  bucket = "x"\n}\n', "CountNotExpanded"),
    ('resource "aws_ebs_snapshot" "s" { volume_id = "vol-1" }\n', "NotModelled"),
])
def test_unevaluable_code_is_a_collection_error(tmp_path: Path, hcl: str, code: str) -> None:
    snap = collect(tmp_path, hcl)
    assert code in {e.code for e in snap.errors}
    assert all(e.source == "terraform" for e in snap.errors)


def test_malformed_hcl_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_s3_bucket" "x" {\n  bucket = "a"\n  tags = {\n    a = \n}\n')
    with pytest.raises(BadInputError) as err:
        TerraformCollector(str(tmp_path), empty_checkov).collect(
            CollectionRequest(frozenset(), Config()))
    assert err.value.location is not None
    assert err.value.location.file.endswith("main.tf")
    assert err.value.location.line == 4
    assert "malformed HCL" in str(err.value)


@pytest.mark.parametrize(("content", "expected"), [
    ("{not json", "not valid JSON"),
    ('{"format_version": "1.2"}', "not a Terraform plan"),
    ("[]", "not a Terraform plan"),
])
def test_unreadable_plan_is_bad_input(tmp_path: Path, content: str, expected: str) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(content)
    with pytest.raises(BadInputError, match=expected):
        TerraformCollector(str(plan), empty_checkov).collect(
            CollectionRequest(frozenset(), Config()))


def test_missing_target_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no such directory or plan file"):
        TerraformCollector(str(tmp_path / "nope"), empty_checkov).collect(
            CollectionRequest(frozenset(), Config()))


def test_checkov_parse_error_fails_closed(tmp_path: Path) -> None:
    def broken(target: CheckovTarget) -> CheckovOutput:
        return CheckovOutput({"check_type": "terraform", "results": {
            "passed_checks": [], "failed_checks": [], "skipped_checks": [],
            "parsing_errors": [str(tmp_path / "sub" / "x.tf")]}})

    with pytest.raises(BadInputError, match="checkov could not parse"):
        collect(tmp_path, 'resource "aws_s3_bucket" "b" { bucket = "x" }', broken)


def test_plan_unknown_reference_resolves_to_key_address() -> None:
    from aslcheck.inventories.terraform.plan import load_plan

    path = Path(__file__).parent / "data" / "plan" / "weights-plan.json"
    declared = load_plan(str(path))
    sse = declared.find("aws_s3_bucket_server_side_encryption_configuration.weights")
    assert sse is not None
    rule = sse.body.blocks("rule")
    assert isinstance(rule, list)
    default = rule[0].blocks("apply_server_side_encryption_by_default")
    assert isinstance(default, list)
    assert default[0].get("kms_master_key_id") == "aws_kms_key.weights"
    assert json.loads(path.read_text())["format_version"] == "1.2"


def test_normalising_the_same_code_twice_gives_the_same_resources(tmp_path: Path) -> None:
    # A planned access key is "created" when the code was read, not when a normaliser ran: the
    # same read normalises to the same bytes (a flaky equivalence test found the clock in it).
    import dataclasses

    from aslcheck.inventories.terraform.hcl import load_directory
    from aslcheck.inventories.terraform.normalise import normalise

    (tmp_path / "main.tf").write_text(
        'provider "aws" {\n  region = "us-east-1"\n  allowed_account_ids = ["111122223333"]\n}\n'
        'resource "aws_iam_user" "u" { name = "u" }\n'
        'resource "aws_iam_access_key" "k" { user = aws_iam_user.u.name }\n')
    declared = dataclasses.replace(load_directory(str(tmp_path)), read_at="2026-01-02T03:04:05Z")
    first, second = (Snapshot(resources=tuple(normalise(declared))) for _ in range(2))
    assert first.canonical_bytes() == second.canonical_bytes()
    user = next(r for r in first.resources if r.kind == "aws.iam.user")
    assert user.attributes["created"] == "2026-01-02T03:04:05Z"
    assert [k["created"] for k in user.attributes["access_keys"]] == ["2026-01-02T03:04:05Z"]
