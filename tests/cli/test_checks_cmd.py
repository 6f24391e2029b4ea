"""``aslcheck checks list|show``: ID, version, kinds read and the controls using each check."""

from __future__ import annotations

import json

from aslcheck.checks.builtin import default_registry
from aslcheck.controls.loader import load_catalog
from tests.cli.conftest import DATA, CliRunner


def test_list_json_matches_registry_and_catalog(cli: CliRunner) -> None:
    ran = cli("checks", "list", "--format", "json")
    assert ran.code == 0
    items = json.loads(ran.out)
    registry = default_registry()
    catalog, _ = load_catalog(checks=registry)
    assert [i["id"] for i in items] == [s.id for s in registry]
    by_id = {i["id"]: i for i in items}
    for spec in registry:
        item = by_id[spec.id]
        assert item["version"] == spec.version and item["kinds"] == sorted(spec.kinds)
        assert item["controls"] == [c.id for c in catalog if spec.id in c.checks]
        assert item["controls"], f"{spec.id} is used by no control"
    assert "ASL3-EN-1" in by_id["aws.s3.weights_cmk_encryption"]["controls"]


def test_list_by_profile_and_text(cli: CliRunner) -> None:
    asl2 = json.loads(cli("checks", "list", "--profile", "asl2", "--format", "json").out)
    asl3 = json.loads(cli("checks", "list", "--profile", "asl3", "--format", "json").out)
    assert {i["id"] for i in asl2} < {i["id"] for i in asl3}
    assert all(c.startswith("ASL2-") for i in asl2 for c in i["controls"])
    text = cli("checks", "list", "--profile", "asl2")
    assert text.code == 0 and "aws.s3.weights_versioning" in text.out and "Kinds read" in text.out
    assert cli("checks", "list", "--profile", "asl9").code == 3


def test_show_and_user_rules(cli: CliRunner) -> None:
    shown = json.loads(cli("checks", "show", "aws.ec2.imdsv2_required", "--format", "json").out)
    assert shown["kinds"] == ["aws.ec2.instance"] and shown["select"] == "all"
    assert cli("checks", "show", "nope.nope").code == 3
    own = json.loads(cli("checks", "--no-default-catalog", "--catalog", str(DATA / "catalog.yaml"), "--rules",
                         str(DATA / "rules.yaml"), "list", "--format", "json").out)
    by_id = {i["id"]: i for i in own}
    assert by_id["sel.s3.kms"]["controls"] == ["S2-EN-1", "S3-TP-1"]
    assert by_id["sel.ec2.imdsv2"]["controls"] == []
