"""The demo lab seeds into moto's HTTP server, and a live collection finds what it planted."""

from __future__ import annotations

import os
import socket
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

from aws_res_builders import REGISTRY, run_check  # noqa: E402

from aslcheck.controls.loader import load_config  # noqa: E402
from aslcheck.inventories.aws import demo_lab  # noqa: E402

CONFIG = os.path.join(os.path.dirname(demo_lab.__file__), "demo_config.yaml")
MY_RULE_FILES = ("aws_s3.yaml", "aws_logging.yaml", "aws_ec2.yaml")
MY_MODULES = ("aslcheck.checks.aws.s3", "aslcheck.checks.aws.logging",
              "aslcheck.checks.aws.network", "aslcheck.checks.aws.ec2")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    # moto's backends are process-global: reset so each test sees an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))
    try:
        yield url
    finally:
        server.stop()


def _session() -> Any:
    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                 region_name="us-east-1")


def _mine(check_id: str) -> bool:
    spec = REGISTRY.get(check_id)
    return spec.origin.startswith(MY_MODULES) or any(f in spec.origin for f in MY_RULE_FILES)


@pytest.fixture(scope="module")
def lab(moto_url: str) -> demo_lab.DemoLab:
    return demo_lab.seed_demo_lab(_session(), moto_url)


def test_seed_creates_the_lab(moto_url: str, lab: demo_lab.DemoLab) -> None:
    assert lab.account == "123456789012"  # demo_config.yaml names this account
    s3 = _session().client("s3", endpoint_url=moto_url)
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {demo_lab.PROD_BUCKET, demo_lab.SCRATCH_BUCKET, demo_lab.LOGS_BUCKET} <= names
    assert len(lab.violations) == len(lab.violation_pairs()) == 13
    assert not lab.violation_pairs() & lab.compliant_pairs()
    assert all(p.check_id in REGISTRY or p.check_id.startswith(("aws.iam.", "aws.kms."))
               for p in lab.violations + lab.compliant)


def test_live_collection_finds_planted_violations(moto_url: str, lab: demo_lab.DemoLab) -> None:
    collector_mod = pytest.importorskip("aslcheck.inventories.aws.collector")
    from aslcheck.inventories.interface import CollectionRequest

    config, _ = load_config(CONFIG)
    # Every registered AWS check (ours and the IAM/KMS ones) is held to the lab's expectations.
    aws_checks = sorted(s.id for s in REGISTRY if s.id.startswith("aws."))
    assert all(_mine(c) for c in aws_checks if not c.startswith(("aws.iam.", "aws.kms.")))
    kinds = frozenset(k for cid in aws_checks for k in REGISTRY.get(cid).kinds)
    # NOTE: moto does not implement ec2:GetEbsDefaultKmsKeyId; no check of ours reads its answer.
    collector = collector_mod.AwsCollector(_session, regions=["us-east-1"], endpoint_url=moto_url,
                                           credential_report_wait_seconds=5.0,
                                           skip_operations=["ec2:GetEbsDefaultKmsKeyId"])
    snapshot = collector.collect(CollectionRequest(kinds=kinds, config=config))
    assert not snapshot.errors, [e.to_json() for e in snapshot.errors]
    verdicts: dict[tuple[str, str], str] = {}
    for cid in aws_checks:
        for f in run_check(cid, snapshot, config):
            verdicts[(cid, f.resource or "")] = f.status.value
    missed = {p for p in lab.violation_pairs() if p[0] in aws_checks and verdicts.get(p) != "fail"}
    assert not missed, {p: verdicts.get(p) for p in missed}
    wrong = {p for p in lab.compliant_pairs() if p[0] in aws_checks and verdicts.get(p) != "pass"}
    assert not wrong, {p: verdicts.get(p) for p in wrong}
    # No approved endpoint is declared: the endpoint check does not apply to either bucket.
    assert {verdicts.get(("aws.s3.weights_vpce_restricted", b)) for b in lab.weight_buckets} \
        == {"not_applicable"}
    # Nothing else fails or errs: the lab plants exactly what it lists.
    extra = {p: s for p, s in verdicts.items()
             if s in ("fail", "error") and p not in lab.violation_pairs()}
    assert not extra, (extra, [e.to_json() for e in snapshot.errors])
