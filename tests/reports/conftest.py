"""Fixtures for report tests: a 12-control catalog, a realistic snapshot, keys, CLI helpers."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from aslcheck.checks.declarative import load_rule_file
from aslcheck.checks.engine import Options, evaluate
from aslcheck.checks.registry import Registry
from aslcheck.controls.config import Config
from aslcheck.controls.loader import load_catalog, load_config
from aslcheck.controls.model import Catalog, ControlId, ManualAttestation, Waiver
from aslcheck.controls.yamlio import load_yaml
from aslcheck.inventories.snapshot import CollectionError, CollectorRun, Resource, Snapshot
from aslcheck.reports.model import RunResult
from aslcheck.reports.signing import generate_keypair
from tests.schemas import OSCAL_SCHEMAS, validator

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[2]
WEIGHTS = {"asl:asset": "model-weights"}
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)
XSS = "<script>alert('x')</script>"
BASE_ARGS = ["--no-default-catalog", "--catalog", str(DATA / "catalog.yaml"), "--rules", str(DATA / "rules.yaml")]

EXPECTED = {"pass": 2, "fail": 5, "inconclusive": 2, "not_attested": 1, "waived": 1, "not_applicable": 1}
"""Tally of the realistic run (see :func:`realistic_snapshot`)."""


def bucket(name: str, weights: bool = True, **attrs: Any) -> Resource:
    """A weight bucket that passes every rpt.s3.* check unless ``attrs`` says otherwise."""
    base: dict[str, Any] = {"encryption": {"algorithm": "aws:kms", "key_manager": "CUSTOMER"},
                            "versioning": "Enabled", "logging": {"enabled": True}, "public_access_block": True,
                            "replication": None}
    for key, value in attrs.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return Resource(kind="aws.s3.bucket", id=f"arn:aws:s3:::{name}", source="aws", attributes=base,
                    tags=dict(WEIGHTS) if weights else {}, account="111122223333", region="us-east-1")


KINDS = ("aws.s3.bucket", "aws.ec2.snapshot", "aws.iam.user")


def snapshot_of(*resources: Resource, errors: tuple[CollectionError, ...] = ()) -> Snapshot:
    """A snapshot from one aws run that listed :data:`KINDS` completely."""
    run = CollectorRun("aws", "test", ("111122223333/us-east-1",), KINDS,
                       "2026-11-27T01:58:00Z", "2026-11-27T01:59:00Z")
    return Snapshot(resources=resources, errors=errors, runs=(run,))


def realistic_snapshot(regress: bool = False) -> Snapshot:
    """Passing, failing, erroring and out-of-scope resources, plus an IAM collection error.

    ``regress`` plants one regression: the EBS snapshot becomes public (R3-NW-1 pass -> fail).
    """
    return snapshot_of(
        bucket("weights-prod"),
        bucket("weights-staging", versioning="Suspended",
               encryption={"algorithm": "aws:kms", "key_manager": "AWS"}),
        bucket("weights-archive", public_access_block=None, logging={"enabled": False}),
        bucket("weights-lab", encryption={"algorithm": XSS, "key_manager": "CUSTOMER"}),
        bucket("access-logs", weights=False, versioning="Suspended"),
        Resource(kind="aws.ec2.snapshot", id="arn:aws:ec2:us-east-1:111122223333:snapshot/snap-1",
                 source="aws", attributes={"public": regress}, tags={}, account="111122223333",
                 region="us-east-1"),
        errors=(CollectionError(source="aws", operation="iam:ListUsers", code="AccessDenied",
                                message="not authorized to perform iam:ListUsers", kind="aws.iam.user",
                                account="111122223333"),),
    )


def waivers() -> list[Waiver]:
    """An unsigned ASL-2 waiver of the archive bucket's logging."""
    return [Waiver(ControlId("R2-LM-1"), "archive bucket is write-once; logging tracked in SEC-9",
                   "carol", "SEC-9", NOW + timedelta(days=30), resource="arn:aws:s3:::weights-archive")]


def attestations() -> list[ManualAttestation]:
    """A valid attestation for the IR tabletop."""
    return [ManualAttestation(ControlId("R3-IR-1"), "dana", NOW - timedelta(days=20),
                              "https://tickets.example/IR-12", NOW + timedelta(days=300))]


@pytest.fixture(scope="session")
def registry() -> Registry:
    reg = Registry()
    for spec in load_rule_file(load_yaml(str(DATA / "rules.yaml"))):
        reg.add(spec)
    return reg


@pytest.fixture(scope="session")
def catalog(registry: Registry) -> Catalog:
    cat, _ = load_catalog([str(DATA / "catalog.yaml")], checks=registry, builtin=False)
    return cat


@pytest.fixture(scope="session")
def config() -> Config:
    cfg, _ = load_config(str(DATA / "aslcheck.yaml"))
    return cfg


RunFactory = Callable[..., RunResult]


@pytest.fixture(scope="session")
def make_run(catalog: Catalog, registry: Registry, config: Config) -> RunFactory:
    def build(snap: Snapshot | None = None, now: datetime = NOW, waived: Sequence[Waiver] | None = None,
              profile: str = "asl3") -> RunResult:
        snap = snap if snap is not None else realistic_snapshot()
        return evaluate(catalog, profile, registry, snap, config,
                        waivers=waivers() if waived is None else waived, attestations=attestations(),
                        digests={"snapshot": snap.digest(), "catalog": "ca" * 32, "config": "cf" * 32},
                        options=Options(now=now))

    return build


@pytest.fixture(scope="session")
def run(make_run: RunFactory) -> RunResult:
    return make_run()


@pytest.fixture
def keypair(tmp_path: Path) -> Callable[[str], tuple[str, str]]:
    def make(name: str) -> tuple[str, str]:
        prefix = os.fspath(tmp_path / name)
        generate_keypair(prefix + ".key", prefix + ".pub", None)
        return prefix + ".key", prefix + ".pub"

    return make


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests leave files for people to look at (screenshots): $ASLCHECK_ARTIFACTS or tests/.artifacts."""
    path = Path(os.environ.get("ASLCHECK_ARTIFACTS") or REPO / "tests" / ".artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-logging=stderr",
                  "--v=0"]


def control_statuses(html: str) -> Counter[str]:
    """Control sections per ``data-status`` in report HTML (or a dumped DOM)."""
    return Counter(re.findall(r'<section class="control" id="[^"]+" data-status="([a-z_]+)"', html))


def chromium_binary() -> str:
    """Path of headless Chromium; skip without it, except under CI=true where it must exist."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI") == "true":
        pytest.fail("headless Chromium is required under CI (installed by .ci/run)")
    pytest.skip("Chromium is not installed (apt-get install chromium)")


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium; fail on a non-zero exit or anything the page logged to the console."""
    proc = subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=90, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln]
    assert not console, f"page logged to the console (script error or CSP violation): {console}"
    return proc


@pytest.fixture(scope="session", params=OSCAL_SCHEMAS)
def oscal_validator(request: pytest.FixtureRequest) -> Any:
    """NIST's OSCAL assessment-results schemas (vendored in tests/data/schemas), formats checked.

    Parametrised: every test using it runs against 1.0.6 and 1.2.3, the schemas either side of the
    1.1.2 we declare (tests/data/schemas/README.md says why there is no 1.1.2 file).
    """
    return validator(str(request.param))
