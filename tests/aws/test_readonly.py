"""The AWS collector is read-only, provably: allowlist, IAM policy, source and wire all agree."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import botocore.session
import pytest
from awsfake import RecordingProxy, iter_allowed
from awsseed import AWS_MANAGED

from aslcheck.controls.config import Config, Scope
from aslcheck.inventories.aws import (
    ALL_KINDS,
    ALLOWED_OPERATIONS,
    READ_OPERATIONS,
    AwsCollector,
    declared_operations,
)
from aslcheck.inventories.aws import collector as collector_mod
from aslcheck.inventories.aws.readonly import NON_READ_EXCEPTIONS
from aslcheck.inventories.interface import CollectionRequest

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "docs" / "aws-scanner-policy.json"
CALL = re.compile(r"""(?:call|paginate|pages)\(\s*"([a-z0-9-]+:[A-Za-z0-9]+)\"""")
OP_LITERAL = re.compile(r'"([a-z0-9-]+:[A-Z][A-Za-z0-9]+)"')


def _policy_actions() -> set[str]:
    doc = json.loads(POLICY.read_text())
    actions: set[str] = set()
    for stmt in doc["Statement"]:
        assert stmt["Effect"] == "Allow"
        actions.update([stmt["Action"]] if isinstance(stmt["Action"], str) else stmt["Action"])
    return actions


def test_allowlist_is_exactly_what_the_modules_declare() -> None:
    assert declared_operations() == ALLOWED_OPERATIONS


def test_allowlist_holds_only_reads() -> None:
    for op in ALLOWED_OPERATIONS:
        name = op.partition(":")[2]
        assert name.startswith(("List", "Get", "Describe")) or op in NON_READ_EXCEPTIONS, op


def test_allowlisted_operations_exist_in_botocore() -> None:
    session = botocore.session.get_session()
    for op in ALLOWED_OPERATIONS:
        service, _, name = op.partition(":")
        assert name in session.get_service_model(service).operation_names, op


def test_scanner_policy_covers_allowlist_and_nothing_more() -> None:
    actions = _policy_actions()
    assert actions == set(READ_OPERATIONS.values())
    assert not any("*" in a for a in actions), "no wildcard actions in the scanner policy"


def _collector_sources() -> list[Path]:
    """Source files of the collector's read path (not seeders that may share the package)."""
    from aslcheck.inventories.aws import context, iam_account, normalise, readonly, regions, session

    modules = [*collector_mod.MODULES, collector_mod, context, iam_account, normalise, readonly,
               regions, session]
    return sorted({Path(str(m.__file__)) for m in modules})


def test_module_sources_only_call_allowlisted_operations() -> None:
    seen: set[str] = set()
    for path in _collector_sources():
        text = path.read_text()
        for op in CALL.findall(text):
            assert op in ALLOWED_OPERATIONS, f"{path.name} calls {op}"
        seen.update(o for o in OP_LITERAL.findall(text) if ":" in o)
        if path.name not in ("session.py", "context.py"):
            # Clients are only touched through Reader; no module calls a boto3 method directly.
            assert ".client(" not in text.replace("pool.client(", ""), path.name
        assert "get_paginator(" not in text or path.name == "context.py", path.name
    assert seen >= ALLOWED_OPERATIONS, sorted(ALLOWED_OPERATIONS - seen)


def test_full_collection_sends_only_allowlisted_reads(lab_proxy: RecordingProxy,
                                                      aws_collector: Callable[..., AwsCollector]) -> None:
    # Weight tags declared: the regions outside the scan are probed for weights as well.
    weights = Config(scope=Scope(weight_tags={"asl:asset": "model-weights"}, aws=True))
    # Scope-driven first (tags from the tag index), then --deep (every bucket's own reads):
    # between them every declared operation is sent.
    shallow = aws_collector(lab_proxy.url).collect(CollectionRequest(kinds=ALL_KINDS, config=weights))
    assert shallow.runs[0].shallow  # the lab's plain bucket is only listed
    snap = aws_collector(lab_proxy.url).collect(CollectionRequest(kinds=ALL_KINDS, config=weights, deep=True))
    assert shallow.errors == snap.errors
    assert snap.resources
    assert snap.errors == () or {e.operation for e in snap.errors} == {"ec2:GetEbsDefaultKmsKeyId"}
    managed = {r.id: r for r in snap.of_kind("aws.iam.policy")}[AWS_MANAGED]
    assert managed.attributes["aws_managed"] is True
    assert managed.account is None
    assert managed.attributes["document"]["Statement"]
    sent = list(iter_allowed(lab_proxy.records))
    assert set(sent) <= ALLOWED_OPERATIONS
    for rec in lab_proxy.records:
        if rec.operation and rec.operation.startswith("s3:"):
            assert rec.method in ("GET", "HEAD"), rec
    # Every declared operation except org-scan ones was exercised by this one account scan.
    assert ALLOWED_OPERATIONS - set(sent) <= {"sts:AssumeRole", "organizations:ListAccounts"}


@pytest.mark.parametrize("kind", sorted(ALL_KINDS))
def test_each_kind_reads_only_its_declared_operations(kind: str, lab_proxy: RecordingProxy,
                                                      aws_collector: Callable[..., AwsCollector]) -> None:
    snap = aws_collector(lab_proxy.url).collect(CollectionRequest(kinds=frozenset({kind}), config=Config()))
    assert {r.kind for r in snap.resources} == {kind}
    # Regional kinds: the account's regions are listed to see which ones the scan leaves out.
    allowed = {"sts:GetCallerIdentity", "ec2:DescribeRegions"}
    for module in collector_mod.MODULES:
        allowed |= set(module.OPERATIONS.get(kind, ()))
    assert set(iter_allowed(lab_proxy.records)) <= allowed
