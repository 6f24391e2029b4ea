"""Acceptance (issue 3): denying any single read operation never turns a FAIL or INCONCLUSIVE into PASS.

The demo lab is seeded into moto once; a baseline scan records every operation the collector
sends. Then, for each of those operations in turn, a proxy answers it with AccessDenied and the
whole ASL-3 profile is evaluated again. No control may move from a non-passing status to PASS,
and the denied operation must show up as a collection error (the fault was really hit).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from awsfake import RecordingProxy
from awsseed import FAKE_KEY, moto_api

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.engine import Options, evaluate
from aslcheck.controls.loader import load_catalog, load_config
from aslcheck.inventories.aws import AwsCollector, demo_lab
from aslcheck.inventories.interface import CollectionRequest
from aslcheck.reports.model import ControlStatus

boto3 = pytest.importorskip("boto3")

NOT_IN_MOTO = "ec2:GetEbsDefaultKmsKeyId"
NOW = datetime(2026, 11, 27, tzinfo=timezone.utc)
REGISTRY = default_registry()
CATALOG, _ = load_catalog(checks=REGISTRY)
CONFIG, _ = load_config(os.path.join(os.path.dirname(demo_lab.__file__), "demo_config.yaml"), CATALOG)
KINDS = frozenset(k for c in CATALOG.select("asl3") for cid in c.checks for k in REGISTRY.get(cid).kinds)


@pytest.fixture(scope="module")
def demo_moto(moto_server: Any) -> Iterator[str]:
    host, port = moto_server.get_host_and_port()
    url = f"http://{host}:{port}"
    moto_api(url, "reset")
    session = boto3.session.Session(aws_access_key_id=FAKE_KEY, aws_secret_access_key=FAKE_KEY,
                                    region_name=demo_lab.REGION)
    demo_lab.seed_demo_lab(session, url)
    try:
        yield url
    finally:
        moto_api(url, "reset")


def _statuses(collector: AwsCollector) -> tuple[dict[str, ControlStatus], Any]:
    kinds = KINDS & collector.kinds()
    snap = collector.collect(CollectionRequest(kinds=kinds, config=CONFIG))
    run = evaluate(CATALOG, "asl3", REGISTRY, snap, CONFIG, options=Options(now=NOW))
    return {r.control.id: r.status for r in run.results}, snap


def test_denying_any_single_operation_never_creates_a_pass(
        demo_moto: str, moto_server: Any, aws_collector: Callable[..., AwsCollector]) -> None:
    host, port = moto_server.get_host_and_port()
    proxy = RecordingProxy(host, port).start()
    try:
        baseline, snap = _statuses(aws_collector(proxy.url, skip_operations={NOT_IN_MOTO}))
        assert snap.errors == ()
        assert ControlStatus.FAIL in baseline.values() and ControlStatus.PASS in baseline.values()
        used = sorted({op for op in proxy.operations() if op})
        assert len(used) > 20
    finally:
        proxy.stop()
    problems: list[str] = []
    for op in used:
        proxy = RecordingProxy(host, port).start()
        try:
            proxy.fault(op, 403, "AccessDenied")
            after, snap = _statuses(aws_collector(proxy.url, skip_operations={NOT_IN_MOTO}))
        finally:
            proxy.stop()
        if not any(e.operation == op and e.code == "AccessDenied" for e in snap.errors):
            problems.append(f"{op}: denied, but no collection error names it")
        for control, status in after.items():
            if status is ControlStatus.PASS and baseline[control] is not ControlStatus.PASS:
                problems.append(f"{op}: {control} went {baseline[control].value} -> pass")
    assert not problems, "\n".join(problems)
