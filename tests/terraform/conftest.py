"""Shared fixtures: a real checkov (isolated, cached per target), the catalog with the proposed
iac.checkov additions, and the examples' config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.registry import Registry
from aslcheck.controls.config import Config
from aslcheck.controls.loader import load_catalog, load_config
from aslcheck.controls.model import Catalog
from aslcheck.inventories.terraform.runner import (
    CheckovError,
    CheckovOutput,
    CheckovTarget,
    SubprocessCheckovRunner,
    find_checkov,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "terraform"
DATA = Path(__file__).resolve().parent / "data"
OVERLAY = DATA / "catalog_iac_overlay.yaml"
_FALLBACK = "/tmp/vck/bin/checkov"


def _checkov() -> str | None:
    try:
        return find_checkov()
    except CheckovError:
        return _FALLBACK if os.access(_FALLBACK, os.X_OK) else None


class CachingRunner:
    """The real subprocess runner, run once per target for the whole session."""

    def __init__(self, executable: str) -> None:
        self.inner = SubprocessCheckovRunner(executable)
        self.cache: dict[CheckovTarget, CheckovOutput] = {}

    def __call__(self, target: CheckovTarget) -> CheckovOutput:
        if target not in self.cache:
            self.cache[target] = self.inner(target)
        return self.cache[target]


@pytest.fixture(scope="session")
def checkov() -> CachingRunner:
    """Real checkov; skipped when absent, except under CI=true where that is a failure."""
    exe = _checkov()
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("checkov is required in CI: run 'make' to create .venv-checkov")
        pytest.skip("checkov not installed (set ASLCHECK_CHECKOV or create .venv-checkov)")
    return CachingRunner(exe)


@pytest.fixture(scope="session")
def registry() -> Registry:
    return default_registry()


@pytest.fixture(scope="session")
def catalog(registry: Registry) -> Catalog:
    """The built-in catalog plus the iac.checkov additions proposed for it."""
    cat, _ = load_catalog([str(OVERLAY)], checks=registry)
    return cat


@pytest.fixture(scope="session")
def config() -> Config:
    cfg, _ = load_config(str(EXAMPLES / "aslcheck.yaml"))
    return cfg


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    # Paths in findings are shown as given; tests pass repo-relative paths like CI does.
    monkeypatch.chdir(ROOT)
