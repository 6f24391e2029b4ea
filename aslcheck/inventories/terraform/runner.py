"""Run checkov, isolated, as a subprocess that cannot reach the network.

Why a subprocess in its own virtual environment (see ``docs/terraform.md``): checkov 3.3.30
pins ``boto3==1.35.49`` and other libraries that conflict with the versions the AWS collector
and its tests need, so it cannot share our environment; a subprocess also gets an environment
we control (no API key, ``BC_SKIP_MAPPING``, no SCA scan, no update check, ``--skip-download``)
and makes the gate's overhead directly comparable with bare checkov.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from aslcheck.inventories.interface import InventoryError

ENV_VAR = "ASLCHECK_CHECKOV"
"""Environment variable naming the checkov executable to use."""

_OFFLINE_ENV = {
    "BC_SKIP_MAPPING": "TRUE",
    "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
    "LOG_LEVEL": "ERROR",
}
"""Keeps checkov from fetching guideline mappings, running SCA, or checking PyPI for updates."""
_DROP_ENV = ("BC_API_KEY", "PRISMA_API_URL", "BC_API_URL", "CKV_API_KEY")
"""Credentials and platform URLs that would make checkov upload or download."""


class Framework(Enum):
    """What checkov scans."""

    TERRAFORM = "terraform"
    """A directory of ``*.tf`` files (``-d``)."""
    TERRAFORM_PLAN = "terraform_plan"
    """A ``terraform show -json`` document (``-f``)."""


@dataclass(frozen=True)
class CheckovTarget:
    """One checkov invocation."""

    path: str
    """Directory or plan file."""
    framework: Framework
    """Directory or plan."""


@dataclass(frozen=True)
class CheckovOutput:
    """checkov's parsed JSON report and how it ran."""

    document: Any
    """The ``-o json`` document (a dict, or a list of dicts for several frameworks)."""
    command: tuple[str, ...] = ()
    """The command line, for the record."""
    stderr_tail: str = ""
    """Last lines of checkov's stderr (diagnostics)."""


CheckovRunner = Callable[[CheckovTarget], CheckovOutput]
"""Runs checkov on a target; raises :class:`CheckovError` when it cannot produce a report."""


class CheckovError(InventoryError):
    """checkov is missing, crashed, or printed something that is not its JSON report."""


def find_checkov(env: Mapping[str, str] | None = None) -> str:
    """The checkov executable: ``$ASLCHECK_CHECKOV``, ``.venv-checkov`` beside the checkout,
    or ``checkov`` on PATH; :class:`CheckovError` when none exists."""
    environ = os.environ if env is None else env
    named = environ.get(ENV_VAR)
    if named:
        if os.path.isfile(named) and os.access(named, os.X_OK):
            return named
        raise CheckovError(f"{ENV_VAR}={named!r} is not an executable file")
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    local = os.path.join(repo, ".venv-checkov", "bin", "checkov")
    if os.path.isfile(local) and os.access(local, os.X_OK):
        return local
    found = shutil.which("checkov", path=environ.get("PATH"))
    if found:
        return found
    raise CheckovError("checkov not found: set ASLCHECK_CHECKOV, run 'make checkov' to create "
                       ".venv-checkov, or put checkov on PATH")


def offline_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment checkov runs in: ours, minus credentials, plus the offline switches."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in _DROP_ENV}
    env.update(_OFFLINE_ENV)
    return env


def checkov_command(executable: str, target: CheckovTarget) -> list[str]:
    """The checkov command line for ``target`` (shared with the benchmark's bare run)."""
    flag = "-d" if target.framework is Framework.TERRAFORM else "-f"
    return [executable, flag, target.path, "--framework", target.framework.value, "-o", "json",
            "--skip-download", "--compact"]


@dataclass
class SubprocessCheckovRunner:
    """The production runner: checkov in its own virtual environment, offline."""

    executable: str | None = None
    """Path of checkov; :func:`find_checkov` when None."""
    timeout: int = 900
    """Seconds before the run is abandoned."""
    env: Mapping[str, str] | None = field(default=None)
    """Base environment (default: ours)."""

    def __call__(self, target: CheckovTarget) -> CheckovOutput:
        """Run checkov; raise :class:`CheckovError` unless it produced a JSON report."""
        exe = self.executable or find_checkov(self.env)
        cmd = checkov_command(exe, target)
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=self.timeout, check=False,
                                  env=offline_env(self.env), stdin=subprocess.DEVNULL)
        except FileNotFoundError as exc:
            raise CheckovError(f"cannot run checkov at {exe!r}: {exc.strerror}") from exc
        except subprocess.TimeoutExpired as exc:
            raise CheckovError(f"checkov did not finish within {self.timeout} s") from exc
        tail = "\n".join(proc.stderr.decode("utf-8", "replace").strip().splitlines()[-5:])
        # NOTE: checkov exits 1 when a check failed and 0 otherwise; anything else is a crash.
        if proc.returncode not in (0, 1):
            raise CheckovError(f"checkov exited with status {proc.returncode}: {tail}")
        try:
            doc = json.loads(proc.stdout)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckovError(f"checkov did not print a JSON report ({exc}): {tail}") from exc
        return CheckovOutput(document=doc, command=tuple(cmd), stderr_tail=tail)
