"""Fixtures for CLI feature tests: a small multi-check catalog and a CLI runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aslcheck.cli import main

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[2]
SEL_ARGS = ["--no-default-catalog", "--catalog", str(DATA / "catalog.yaml"), "--rules", str(DATA / "rules.yaml"),
            "--config", str(DATA / "aslcheck.yaml")]
"""The selection-test catalog: one weight bucket that fails only ``sel.s3.block``."""

BASELINE = {"S2-WA-1": "fail", "S2-EN-1": "pass", "S2-LM-1": "pass", "S2-PR-1": "pass", "S2-NW-1": "waived",
            "S3-TP-1": "pass"}
"""Control statuses of the unfiltered run of the selection-test catalog."""


@dataclass(frozen=True)
class Ran:
    """One CLI invocation."""

    code: int
    out: str
    err: str
    reports: Path

    def results(self) -> dict[str, Any]:
        """``results.json`` of the run."""
        loaded: dict[str, Any] = json.loads((self.reports / "results.json").read_text())
        return loaded

    def statuses(self) -> dict[str, str]:
        """Control ID -> status from ``results.json``."""
        return {c["id"]: c["status"] for c in self.results()["controls"]}


CliRunner = Callable[..., Ran]


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """Run ``aslcheck ARGS`` in-process; ``--out`` defaults to a fresh directory."""
    counter = [0]

    def run(*args: str, out: Path | None = None) -> Ran:
        counter[0] += 1
        reports = out or tmp_path / f"reports-{counter[0]}"
        argv = list(args)
        if args and args[0] in ("check", "scan", "gate") and "--out" not in argv:
            argv += ["--out", str(reports)]
        capsys.readouterr()
        code = main(argv)
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err, reports)

    return run


def check_args(*extra: str) -> list[str]:
    """``aslcheck check`` on the selection-test snapshot, plus ``extra``."""
    return ["check", "--snapshot", str(DATA / "snapshot.json"), *SEL_ARGS, *extra]
