"""--controls/--domains/--severity/--checks/--skip-checks: honest filters that never manufacture a PASS.

Catalogue of the attacks: docs/adversarial/cli-filters.md.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from aslcheck.checks.selection import NOT_SELECTED, SKIPPED_BY_FLAG, Selection, apply_selection
from aslcheck.controls.loader import load_catalog
from aslcheck.controls.model import Severity
from aslcheck.reports.signing import generate_keypair
from tests.cli.conftest import BASELINE, DATA, CliRunner, check_args


def _reason(ran: Any, control: str) -> str:
    return str(next(c["reason"] for c in ran.results()["controls"] if c["id"] == control))


def test_unfiltered_run_has_no_selection_record(cli: CliRunner) -> None:
    ran = cli(*check_args())
    assert ran.code == 1
    assert ran.statuses() == BASELINE
    assert "selection" not in ran.results()
    assert "FILTERED" not in ran.out


# -- skipping a check a control needs never leaves that control PASS (variants of the attack) -----


def test_skipping_the_only_failing_check_gives_inconclusive_not_pass(cli: CliRunner) -> None:
    ran = cli(*check_args("--skip-checks", "sel.s3.block"))
    st = ran.statuses()
    assert st["S2-WA-1"] == "inconclusive"  # was FAIL; its remaining check (versioning) passes
    assert SKIPPED_BY_FLAG in _reason(ran, "S2-WA-1")
    assert st["S2-NW-1"] == "waived"        # its whole-control waiver still applies, underlying not PASS
    assert ran.results()["controls"][[c["id"] for c in ran.results()["controls"]].index("S2-NW-1")][
        "underlying_status"] == "inconclusive"
    assert ran.code == 2


def test_skipping_a_shared_passing_check_makes_every_user_inconclusive(cli: CliRunner) -> None:
    ran = cli(*check_args("--skip-checks", "sel.s3.kms"))
    st = ran.statuses()
    assert st["S2-EN-1"] == "inconclusive" and st["S3-TP-1"] == "inconclusive"
    assert st["S2-WA-1"] == "fail"          # a violation found by a check that ran still fails
    assert ran.results()["selection"]["skipped_checks"] == {"sel.s3.kms": SKIPPED_BY_FLAG}


def test_skipping_every_check_by_glob_leaves_no_automated_pass(cli: CliRunner) -> None:
    ran = cli(*check_args("--skip-checks", "sel.s3.*"))
    st = ran.statuses()
    for cid in ("S2-WA-1", "S2-EN-1", "S2-LM-1", "S3-TP-1"):
        assert st[cid] == "inconclusive", cid
    assert st["S2-PR-1"] == "pass"  # manual: it needs no check, its attestation decides
    assert ran.code == 2


def test_a_human_attestation_cannot_rescue_a_skipped_check(cli: CliRunner) -> None:
    ran = cli(*check_args("--skip-checks", "sel.s3.logging"))
    assert ran.statuses()["S2-LM-1"] == "inconclusive"  # partial + valid attestation, automated part skipped
    assert "attestation" not in next(c for c in ran.results()["controls"] if c["id"] == "S2-LM-1")


def test_checks_flag_runs_only_those_and_the_controls_left_partial_cannot_pass(cli: CliRunner) -> None:
    ran = cli(*check_args("--checks", "sel.s3.versioning"))
    assert ran.statuses() == {"S2-WA-1": "inconclusive", "S3-TP-1": "inconclusive"}
    record = ran.results()["selection"]
    assert record["skipped_checks"] == {"sel.s3.block": NOT_SELECTED, "sel.s3.kms": NOT_SELECTED}
    assert NOT_SELECTED in _reason(ran, "S3-TP-1")
    failing = cli(*check_args("--checks", "sel.s3.block"))
    assert failing.statuses() == {"S2-WA-1": "fail", "S2-NW-1": "waived"}  # FAIL beats missing evidence


def test_skip_in_the_gate_on_real_checkov_refuses_to_pass(cli: CliRunner, monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    pytest.importorskip("hcl2")
    from aslcheck.inventories.terraform.runner import CheckovError, find_checkov
    from tests.terraform.test_gate_examples import _fenced_org

    try:
        find_checkov()
    except CheckovError:
        pytest.skip("checkov is not installed (make checkov)")
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    # The live Organizations data fences the root user (from code alone the gate cannot pass).
    base = ["gate", "--iac", "examples/terraform/compliant", "--config", "examples/terraform/aslcheck.yaml",
            "--snapshot", _fenced_org(tmp_path)]
    assert cli(*base).code == 0
    ran = cli(*base, "--skip-checks", "aws.s3.weights_versioning")
    assert ran.code == 2, ran.out
    assert "FILTERED RUN" in ran.out and "INCONCLUSIVE" in ran.out
    junit = (ran.reports / "junit.xml").read_text()
    assert "skipped by --skip-checks" in junit


# -- control selection -------------------------------------------------------------------------------


def test_controls_by_id_glob_and_case(cli: CliRunner) -> None:
    assert cli(*check_args("--controls", "S2-EN-1")).statuses() == {"S2-EN-1": "pass"}
    assert set(cli(*check_args("--controls", "s2-*")).statuses()) == {
        "S2-WA-1", "S2-EN-1", "S2-LM-1", "S2-PR-1", "S2-NW-1"}
    both = cli(*check_args("--controls", "S2-EN-1,S3-TP-1", "--controls", "S2-EN-1"))
    assert both.statuses() == {"S2-EN-1": "pass", "S3-TP-1": "pass"}
    assert both.code == 0
    record = both.results()["selection"]
    assert record["filters"] == {"controls": ["S2-EN-1", "S3-TP-1"]}
    assert record["selected_controls"] == ["S2-EN-1", "S3-TP-1"]
    assert sorted(record["excluded_controls"]) == sorted(set(BASELINE) - {"S2-EN-1", "S3-TP-1"})
    assert "FILTERED RUN" in both.out
    assert "**FILTERED RUN**" in (both.reports / "summary.md").read_text()  # the pull-request comment too
    assert "FILTERED" not in (cli(*check_args()).reports / "summary.md").read_text()


def test_domains_and_severity(cli: CliRunner) -> None:
    assert set(cli(*check_args("--domains", "wa,tp")).statuses()) == {"S2-WA-1", "S3-TP-1"}
    high = cli(*check_args("--severity", "high"))
    assert set(high.statuses()) == {"S2-WA-1", "S2-EN-1", "S3-TP-1"}  # critical and high
    assert high.results()["selection"]["filters"] == {"severity": "high"}
    assert set(cli(*check_args("--severity", "low")).statuses()) == set(BASELINE)
    severities = {c["id"]: c["severity"] for c in high.results()["controls"]}
    assert severities == {"S2-WA-1": "critical", "S2-EN-1": "high", "S3-TP-1": "critical"}


@pytest.mark.parametrize(("extra", "message"), [
    (["--controls", "S9-*"], "no control matches 'S9-*'"),
    (["--controls", "S3-TP-1", "--profile", "asl2"], "matches no control of profile 'asl2'"),
    (["--domains", "XX"], "unknown domain 'XX'"),
    (["--checks", "sel.s3.nope"], "no check matches 'sel.s3.nope'"),
    (["--skip-checks", "nope.*"], "no check matches 'nope.*'"),
    (["--skip-checks", "sel.ec2.imdsv2"], "no selected control uses these checks"),
    (["--domains", "PR", "--severity", "critical"], "keeps no control"),
    (["--severity", "urgent"], "invalid choice"),
])
def test_a_filter_that_selects_nothing_is_bad_input(cli: CliRunner, extra: list[str], message: str) -> None:
    ran = cli(*check_args(*extra))
    assert ran.code == 3, ran.out + ran.err
    assert message in ran.err
    assert "Traceback" not in ran.err
    assert not ran.reports.exists()  # nothing written that could be mistaken for a result


def test_validate_checks_the_selection_too(cli: CliRunner) -> None:
    ran = cli("validate", "--no-default-catalog", "--catalog", str(DATA / "catalog.yaml"), "--rules",
              str(DATA / "rules.yaml"), "--controls", "S2-WA-1")
    assert ran.code == 0 and "selection: 1 control(s)" in ran.out
    assert cli("validate", "--controls", "NOPE-1").code == 3


# -- the signed record: a filtered PASS is never mistaken for a full-profile PASS ------------------


def test_attestation_records_the_selection_and_gate_refuses_it(cli: CliRunner, tmp_path: Path) -> None:
    key, pub = str(tmp_path / "k.key"), str(tmp_path / "k.pub")
    generate_keypair(key, pub, None)
    ran = cli(*check_args("--controls", "S2-EN-1", "--sign-key", key))
    assert ran.code == 0  # the selection passes...
    env = json.loads((ran.reports / "attestation.dsse.json").read_text())
    pred = json.loads(base64.b64decode(env["payload"]))["predicate"]
    assert pred["results"]["selection"]["selected_controls"] == ["S2-EN-1"]
    assert pred["results"]["selection"]["filtered"] is True
    verified = cli("verify", str(ran.reports / "attestation.dsse.json"), "--key", pub)
    assert verified.code == 0 and "FILTERED RUN, not a full-profile result" in verified.out
    gate = cli("gate", "--attestation", str(ran.reports / "attestation.dsse.json"), "--key", pub)
    assert gate.code == 2, gate.out + gate.err  # ...but it cannot pass a gate on the profile
    assert "FILTERED run" in gate.err
    allowed = cli("gate", "--attestation", str(ran.reports / "attestation.dsse.json"), "--key", pub,
                  "--allow-filtered")
    assert allowed.code == 0
    failing = cli(*check_args("--controls", "S2-WA-1", "--sign-key", key))
    refused = cli("gate", "--attestation", str(failing.reports / "attestation.dsse.json"), "--key", pub,
                  "--allow-filtered")
    assert refused.code == 1  # a recorded FAIL stays a FAIL whatever the flag


def test_selected_kinds_are_what_the_collector_is_asked_for() -> None:
    from aslcheck.checks.builtin import default_registry

    registry = default_registry()
    catalog, _ = load_catalog(checks=registry)
    full = apply_selection(Selection(), catalog, "asl3", registry)
    en2 = apply_selection(Selection(controls=("ASL3-EN-2",)), catalog, "asl3", registry)
    assert en2.kinds() < full.kinds()
    assert en2.kinds() == frozenset().union(*(registry.get(c).kinds for c in catalog.controls["ASL3-EN-2"].checks))  # type: ignore[index]
    skipped = apply_selection(Selection(controls=("ASL3-EN-2",), skip_checks=("iac.*",)), catalog, "asl3", registry)
    assert not any(k.startswith("iac.") for k in skipped.kinds())
    assert {c.value for c in Severity} == {"critical", "high", "medium", "low"}


@pytest.mark.parametrize("deep", [False, True])
def test_scan_collects_only_the_kinds_of_the_selected_checks(cli: CliRunner, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             deep: bool) -> None:
    pytest.importorskip("moto.server")
    import logging
    import urllib.request

    import boto3
    from moto.server import ThreadedMotoServer

    from aslcheck.checks.builtin import default_registry
    from aslcheck.inventories.aws.demo_lab import REGION, seed_demo_lab

    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", REGION), ("AWS_CONFIG_FILE", str(tmp_path / "c")),
                        ("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "k")), ("AWS_EC2_METADATA_DISABLED", "true")):
        monkeypatch.setenv(name, value)
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        # moto keeps one state per process, shared by every server in it: start from an empty account.
        urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=30).close()
        seed_demo_lab(boto3.session.Session(region_name=REGION), url)
        # The packaged demo config names the attestations file `aslcheck demo` writes beside it.
        config = tmp_path / "aslcheck.yaml"
        config.write_text((Path(__file__).resolve().parents[2] / "aslcheck/inventories/aws/demo_config.yaml")
                          .read_text(encoding="utf-8"), encoding="utf-8")
        (tmp_path / "attestations.yaml").write_text("version: 1\nattestations: []\n", encoding="utf-8")
        ran = cli("scan", "--aws", "--endpoint-url", url, "--region", REGION, "--config", str(config),
                  "--controls", "ASL3-EN-2", "--quiet", "--format", "json", *(["--deep"] if deep else []))
    finally:
        server.stop()
    assert ran.code in (0, 1, 2), ran.err
    snap = json.loads((ran.reports / "snapshot.json").read_text())
    listed = {k for c in snap["provenance"]["collectors"] for k in c["kinds"]}
    registry = default_registry()
    catalog, _ = load_catalog(checks=registry)
    wanted = apply_selection(Selection(controls=("ASL3-EN-2",)), catalog, "asl3", registry).kinds()
    assert listed and listed <= wanted, listed - wanted
    assert {r["kind"] for r in snap["resources"]} <= wanted
    assert "aws.ec2.vpc" not in listed  # the demo lab has a VPC; EN-2 does not read VPCs
    assert ran.statuses().keys() == {"ASL3-EN-2"}
    assert os.path.exists(ran.reports / "results.json")
    shallow = {i for c in snap["provenance"]["collectors"] for i in c.get("shallow", {}).get("aws.s3.bucket", [])}
    buckets = {r["id"]: r for r in snap["resources"] if r["kind"] == "aws.s3.bucket"}
    assert shallow <= buckets.keys()
    if deep:  # scan --deep: every bucket read deeply
        assert not shallow and all("encryption" in b["attributes"] for b in buckets.values())
    else:  # the rest listed with name, region and tags only
        assert all(set(buckets[i]["attributes"]) <= {"name", "region"} for i in shallow)
