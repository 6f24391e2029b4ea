"""Conformance: the built-in catalog and the check registry agree, and no check passes on nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.interface import CheckContext, Status
from aslcheck.controls.config import Config, Scope
from aslcheck.controls.loader import load_catalog
from aslcheck.controls.model import Verification
from aslcheck.inventories.snapshot import Resource, Snapshot

REFERENCE_IDS = Path(__file__).resolve().parents[1] / "data" / "asl-control-ids.txt"
"""The reference catalog's control IDs, vendored with their source (see the file's header)."""


def reference_ids() -> list[str]:
    lines = REFERENCE_IDS.read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def test_every_reference_control_is_in_the_catalog() -> None:
    ids = reference_ids()
    assert len(ids) == 61 and len(set(ids)) == 61
    assert all(re.fullmatch(r"ASL[23]-[A-Z]+-[0-9]+", i) for i in ids)
    catalog, _ = load_catalog(checks=default_registry())
    assert sorted(catalog.controls) == sorted(ids)


def test_profiles_nest() -> None:
    catalog, _ = load_catalog(checks=default_registry())
    asl2 = {c.id for c in catalog.select("asl2")}
    asl3 = {c.id for c in catalog.select("asl3")}
    assert asl2 < asl3
    assert all(c.level == "ASL-2" for c in catalog.select("asl2"))


def test_catalog_and_registry_agree() -> None:
    registry = default_registry()
    catalog, _ = load_catalog(checks=registry)  # raises on a reference to a missing check
    used = {cid for c in catalog for cid in c.checks}
    unused = sorted(s.id for s in registry if s.id not in used)
    assert not unused, f"checks no control uses: {unused}"
    for c in catalog:
        if c.verification is not Verification.AUTOMATED:
            assert c.evidence, f"{c.id} needs an evidence text for the human part"


def test_every_check_declares_what_it_reads() -> None:
    for spec in default_registry():
        assert spec.kinds, spec.id
        assert all(re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", k) for k in spec.kinds), spec.id
        assert spec.id.split(".")[0] in {"aws", "host", "iac"}, spec.id


def test_no_check_passes_on_resources_without_attributes() -> None:
    """A resource whose every attribute is missing (all reads failed) never yields PASS."""
    config = Config(scope=Scope(weight_tags={"asl:asset": "model-weights"}, aws=True, hosts=True))
    for spec in default_registry():
        resources = tuple(
            Resource(kind=k, id=f"{k}:blind", source="test", attributes={},
                     tags={"asl:asset": "model-weights"}, host="h1" if k.startswith("host.") else None)
            for k in sorted(spec.kinds))
        ctx = CheckContext(snapshot=Snapshot(resources=resources), config=config,
                           resources=tuple(r for r in resources if r.kind in spec.subjects))
        try:
            findings = list(spec.evaluate(ctx))
        except Exception:
            continue
        passed = [f for f in findings if f.status is Status.PASS]
        assert not passed, f"{spec.id} passed with no evidence: {passed[0].reason}"


def test_core_imports_without_collector_libraries() -> None:
    code = (
        "import sys\n"
        "import aslcheck.controls, aslcheck.checks, aslcheck.checks.engine, aslcheck.checks.builtin\n"
        "import aslcheck.reports, aslcheck.reports.render, aslcheck.reports.signing, aslcheck.inventories\n"
        "import aslcheck.cli\n"
        "bad = [m for m in ('boto3', 'botocore', 'paramiko', 'checkov', 'moto') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
