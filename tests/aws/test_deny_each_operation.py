"""Acceptance (issue 10): denying any single read operation never leaves a PASS that rested on it.

The demo lab is seeded into moto once. A baseline scan through a recording proxy names every
operation the collector sends (so operations other helpers add are picked up by themselves),
and a traced evaluation records which attributes of which resources each check reads. Then,
for each operation in turn, the proxy answers it with AccessDenied and the ASL-3 profile is
evaluated again:

- the denial shows up as a collection error naming the operation;
- what changed in the snapshot is what the collector's ``FEEDS`` table says the operation
  supplies (the table is true), and nothing changed to another value (no guessed value); a
  resource the denial left read shallowly (a trail's log bucket, when the trails are denied)
  is recorded as such, and only its listing and tags are compared;
- no finding is PASS whose check read a supplied attribute *of that finding's resource*, or
  reads a kind the operation lists, or is about a shallow resource; and no control is PASS that
  has such a check.

A static test keeps every module's ``FEEDS`` table complete: one entry per declared operation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

import pytest
from awsfake import RecordingProxy
from awsseed import FAKE_KEY, moto_api
from readtrace import Read, traced_run

from aslcheck.checks.aws.weight_scope import scope_kinds
from aslcheck.checks.builtin import default_registry
from aslcheck.checks.engine import Options, evaluate
from aslcheck.checks.interface import CheckSpec, Select, Status
from aslcheck.controls.loader import load_catalog, load_config
from aslcheck.inventories.aws import AwsCollector, demo_lab
from aslcheck.inventories.aws import collector as collector_mod
from aslcheck.inventories.aws.context import LISTED, TAGS
from aslcheck.inventories.interface import CollectionRequest
from aslcheck.inventories.snapshot import SHALLOW_ATTRIBUTES, Resource, Snapshot
from aslcheck.reports.model import ControlStatus, RunResult

boto3 = pytest.importorskip("boto3")

NOT_IN_MOTO = "ec2:GetEbsDefaultKmsKeyId"
NOW = datetime(2026, 11, 27, tzinfo=timezone.utc)
REGISTRY = default_registry()
CATALOG, _ = load_catalog(checks=REGISTRY)
CONFIG, _ = load_config(os.path.join(os.path.dirname(demo_lab.__file__), "demo_config.yaml"), CATALOG)
KINDS = frozenset(k for c in CATALOG.select("asl3") for cid in c.checks for k in REGISTRY.get(cid).kinds)
Feeds = Mapping[str, frozenset[str]]

PASS_WITHOUT: Mapping[tuple[str, str], str] = {
    ("aws.s3.weights_public_access_block", "s3:GetPublicAccessBlock"):
        "S3 applies the most restrictive of the bucket and account blocks: the account-level "
        "block alone turns every flag on (the finding's evidence shows the bucket's as "
        "'<not collected>')",
    ("aws.kms.weight_key_rotation", "kms:DescribeKey"):
        "the verdict is GetKeyRotationStatus's own answer (an asymmetric or imported key answers "
        "UnsupportedOperationException, which fails); key spec and origin are only shown",
}
"""(check, denied operation) pairs whose PASS legitimately does not rest on what the operation
supplies although the check reads it, and why. Each entry is a claim a reviewer can check."""


def test_every_declared_operation_says_what_it_supplies() -> None:
    feeds = collector_mod.operation_feeds()
    missing = sorted(collector_mod.declared_operations() - set(feeds))
    assert not missing, f"add these operations to their module's FEEDS table: {missing}"
    for module in collector_mod.MODULES:
        table = getattr(module, "FEEDS", None)
        assert table is not None, f"{module.__name__} has no FEEDS table"
        declared = {op for ops in module.OPERATIONS.values() for op in ops}
        assert set(table) == declared, (module.__name__, sorted(set(table) ^ declared))
        for op, kinds in table.items():
            assert kinds and all(attrs for attrs in kinds.values()), (module.__name__, op)
            # An operation supplies the kinds it is declared for (plus derived attributes).
            assert {k for k, ops in module.OPERATIONS.items() if op in ops} <= set(kinds), op


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


def _collect(collector: AwsCollector) -> Snapshot:
    return collector.collect(CollectionRequest(kinds=KINDS & collector.kinds(), config=CONFIG))


def _run(snap: Snapshot) -> RunResult:
    return evaluate(CATALOG, "asl3", REGISTRY, snap, CONFIG, options=Options(now=NOW))


def _reads_kinds(spec: CheckSpec) -> frozenset[str]:
    extra = scope_kinds(spec.subjects) if spec.select is Select.WEIGHTS else frozenset()
    return spec.kinds | extra


def _value(res: Resource, name: str) -> Any:
    if name == TAGS:
        return res.tags if res.tags is not None else _ABSENT
    return res.attributes.get(name, _ABSENT)


_ABSENT = object()


def _diff(before: Snapshot, after: Snapshot) -> tuple[dict[str, set[str]], list[str]]:
    """``({kind: attributes that changed, or LISTED}, substituted values)`` from one denial."""
    changed: dict[str, set[str]] = {}
    substituted: list[str] = []
    old = {r.key(): r for r in before.resources}
    new = {r.key(): r for r in after.resources}
    for key in old.keys() ^ new.keys():
        changed.setdefault(key[1], set()).add(LISTED)
    thin = after.shallow_keys() - before.shallow_keys()
    for key in old.keys() & new.keys():
        a, b = old[key], new[key]
        names = {*a.attributes, *b.attributes, TAGS}
        if (key[1], key[2]) in thin:
            # NOTE: read shallowly now (the denied read decided the deep set, e.g. a trail's
            # log bucket): the snapshot itself says its other attributes were not read, and
            # the engine never takes them as evidence (asserted in _pass_problems).
            names = {n for n in names if n in SHALLOW_ATTRIBUTES or n == TAGS}
        for name in names:
            va, vb = _value(a, name), _value(b, name)
            if va == vb:
                continue
            changed.setdefault(key[1], set()).add(name)
            if vb is not _ABSENT:
                substituted.append(f"{key[2]}: {name} {va!r} -> {vb!r}")
    return changed, substituted


def _undeclared(changed: Mapping[str, set[str]], declared: Feeds) -> list[str]:
    out = []
    for kind, names in sorted(changed.items()):
        allowed = declared.get(kind, frozenset())
        if LISTED in allowed:
            continue
        out.extend(f"{kind}.{n}" for n in sorted(names - allowed))
    return out


def _pass_problems(op: str, declared: Feeds, run: RunResult, reads: set[Read],
                   shallow: frozenset[tuple[str, str]] = frozenset()) -> list[str]:
    listed = {k for k, attrs in declared.items() if LISTED in attrs}
    fed = {(k, a) for k, attrs in declared.items() for a in attrs if a != LISTED}
    by_listing = {s.id for s in REGISTRY if _reads_kinds(s) & listed}
    touched = {(c, key) for c, key, a in reads if (key[1], a) in fed}
    dependent = by_listing | {c for c, _ in touched}
    problems = []
    for result in run.results:
        checks = {o.check for o in result.checks}
        if result.status is ControlStatus.PASS and checks & dependent:
            problems.append(f"{op}: control {result.control.id} is PASS but reads "
                            f"{sorted(checks & dependent)}")
        for outcome in result.checks:
            for f in outcome.findings:
                if f.status is not Status.PASS:
                    continue
                key = (str(f.source), str(f.kind), str(f.resource))
                if (key[1], key[2]) in shallow:
                    problems.append(f"{op}: {outcome.check} PASS on shallow {f.resource}")
                if (outcome.check, op) in PASS_WITHOUT:
                    continue
                if outcome.check in by_listing or (outcome.check, key) in touched:
                    problems.append(f"{op}: {outcome.check} PASS on {f.resource}: {f.reason}")
    return sorted(set(problems))


def test_denying_any_single_read_leaves_no_pass_that_rested_on_it(
        demo_moto: str, moto_server: Any, aws_collector: Callable[..., AwsCollector]) -> None:
    host, port = moto_server.get_host_and_port()
    proxy = RecordingProxy(host, port).start()
    try:
        base = _collect(aws_collector(proxy.url, skip_operations={NOT_IN_MOTO}))
        used = sorted({op for op in proxy.operations() if op})
    finally:
        proxy.stop()
    assert base.errors == ()
    baseline, reads = traced_run(CATALOG, "asl3", REGISTRY, base, CONFIG, Options(now=NOW))
    statuses = {r.status for r in baseline.results}
    assert ControlStatus.FAIL in statuses and ControlStatus.PASS in statuses
    assert len(used) > 40 and reads
    feeds = collector_mod.operation_feeds()
    problems: list[str] = []
    for op in used:
        proxy = RecordingProxy(host, port).start()
        try:
            proxy.fault(op, 403, "AccessDenied")
            snap = _collect(aws_collector(proxy.url, skip_operations={NOT_IN_MOTO}))
        finally:
            proxy.stop()
        if not any(e.operation == op for e in snap.errors):
            problems.append(f"{op}: denied, but no collection error names it")
        changed, substituted = _diff(base, snap)
        declared = feeds.get(op)
        if declared is None:
            problems.append(f"{op}: sent, but no module's FEEDS table declares it")
            declared = {k: frozenset(v) for k, v in changed.items()}
        problems.extend(f"{op}: changes {what}, which FEEDS does not declare"
                        for what in _undeclared(changed, declared))
        problems.extend(f"{op}: a value was substituted, not left absent: {s}" for s in substituted)
        problems.extend(_pass_problems(op, declared, _run(snap), reads, snap.shallow_keys()))
    assert not problems, "\n".join(problems)
