"""Run checkov, isolated, as a subprocess that cannot reach the network.

Why a subprocess in its own virtual environment (see ``docs/terraform.md``): checkov 3.3.30
pins ``boto3==1.35.49`` and other libraries that conflict with the versions the AWS collector
and its tests need, so it cannot share our environment; a subprocess also gets an environment
we control and makes the gate's overhead directly comparable with bare checkov.

What checkov sees is pinned down because its inputs steer its results (issue 10 class 9):
checkov reads ``CKV_*``/``CHECKOV_*`` environment variables (``CKV_SKIP_CHECK``, ``CKV_CHECK``,
``CHECKOV_CREATE_GRAPH``...), ``TF_VAR_*`` values, and ``.checkov.yaml`` from its working and
home directories, any of which can silently drop results. So it runs with an allowlisted
environment, in an empty temporary directory that is also its ``HOME``, offline
(``BC_SKIP_MAPPING``, no SCA scan, no update check, ``--skip-download``). A ``.checkov.yaml``
inside the scanned directory is read by checkov regardless; the collector judges it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import IO, Any

from aslcheck.inventories.interface import InventoryError

ENV_VAR = "ASLCHECK_CHECKOV"
"""Environment variable naming the checkov executable to use."""

_OFFLINE_ENV = {
    "BC_SKIP_MAPPING": "TRUE",
    "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
    "LOG_LEVEL": "ERROR",
    # NOTE: checkov abandons any file hcl2 takes more than 10 s to parse and reports it as a
    # parsing error; a 1,000-bucket file on a loaded machine takes longer. The run as a whole
    # is bounded by the runner's timeout instead.
    "HCL_PARSE_TIMEOUT_SEC": "0",
}
"""Keeps checkov from fetching guideline mappings, running SCA, checking PyPI for updates,
or giving up on large files."""
_KEEP_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SYSTEMROOT")
"""The only variables of our environment checkov inherits (no credentials, no CKV_*/TF_VAR_*)."""


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
    var_files: tuple[str, ...] = ()
    """``--var-file`` arguments (directory scans only), highest precedence last."""


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


def offline_env(base: Mapping[str, str] | None = None, home: str | None = None) -> dict[str, str]:
    """The environment checkov runs in: the allowlisted part of ours plus the offline switches.

    ``home`` becomes ``HOME`` (the sandbox directory), so no ``~/.checkov.yaml`` applies.
    """
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if k in _KEEP_ENV or k.startswith("LC_")}
    env.update(_OFFLINE_ENV)
    if home is not None:
        env["HOME"] = home
    return env


def checkov_command(executable: str, target: CheckovTarget) -> list[str]:
    """The checkov command line for ``target`` (shared with the benchmark's bare run).

    Paths are absolute because checkov runs in its sandbox directory.
    """
    flag = "-d" if target.framework is Framework.TERRAFORM else "-f"
    cmd = [executable, flag, os.path.abspath(target.path), "--framework",
           target.framework.value, "-o", "json", "--skip-download", "--compact"]
    for var_file in target.var_files:
        cmd += ["--var-file", os.path.abspath(var_file)]
    return cmd


class RunningCheckov:
    """A started checkov process: :meth:`result` waits for its report, :meth:`cancel` stops it.

    Output goes to temporary files, not pipes, so checkov never blocks on a full pipe while the
    gate parses the same code in parallel.
    """

    def __init__(self, cmd: list[str], env: Mapping[str, str] | None, timeout: int) -> None:
        self.cmd = tuple(cmd)
        self._timeout = timeout
        self._sandbox = tempfile.TemporaryDirectory(prefix="aslcheck-checkov-")
        # The files outlive this call (the process writes to them); result/cancel close them.
        self._out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self._err: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(
                cmd, stdout=self._out, stderr=self._err, stdin=subprocess.DEVNULL,
                cwd=self._sandbox.name, env=offline_env(env, home=self._sandbox.name))
        except OSError as exc:
            self._close()
            raise CheckovError(f"cannot run checkov at {cmd[0]!r}: {exc.strerror}") from exc

    def _close(self) -> None:
        self._out.close()
        self._err.close()
        self._sandbox.cleanup()

    def cancel(self) -> None:
        """Stop checkov (when the gate gave up before needing its report)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._close()

    def result(self) -> CheckovOutput:
        """Wait for checkov; raise :class:`CheckovError` unless it printed a JSON report."""
        try:
            code = self._proc.wait(timeout=self._timeout)
        except subprocess.TimeoutExpired as exc:
            self.cancel()
            raise CheckovError(f"checkov did not finish within {self._timeout} s") from exc
        try:
            self._out.seek(0)
            self._err.seek(0)
            stdout, stderr = self._out.read(), self._err.read()
        finally:
            self._close()
        tail = "\n".join(stderr.decode("utf-8", "replace").strip().splitlines()[-5:])
        # NOTE: checkov exits 1 when a check failed and 0 otherwise; anything else is a crash.
        if code not in (0, 1):
            raise CheckovError(f"checkov exited with status {code}: {tail}")
        try:
            doc = json.loads(stdout)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckovError(f"checkov did not print a JSON report ({exc}): {tail}") from exc
        return CheckovOutput(document=doc, command=self.cmd, stderr_tail=tail)


@dataclass
class SubprocessCheckovRunner:
    """The production runner: checkov in its own virtual environment, offline, sandboxed."""

    executable: str | None = None
    """Path of checkov; :func:`find_checkov` when None."""
    timeout: int = 900
    """Seconds before the run is abandoned."""
    env: Mapping[str, str] | None = field(default=None)
    """Base environment (default: ours; only allowlisted variables pass)."""

    def start(self, target: CheckovTarget) -> RunningCheckov:
        """Start checkov on ``target`` without waiting for it."""
        exe = self.executable or find_checkov(self.env)
        return RunningCheckov(checkov_command(exe, target), self.env, self.timeout)

    def __call__(self, target: CheckovTarget) -> CheckovOutput:
        """Run checkov; raise :class:`CheckovError` unless it produced a JSON report."""
        return self.start(target).result()


class PrestartedRunner:
    """A :class:`SubprocessCheckovRunner` whose run on one target starts ahead of time.

    The CLI starts checkov before it loads the catalog and imports the gate, so that work
    overlaps checkov too; :meth:`close` stops the run if nothing asked for its report.
    """

    def __init__(self, target: CheckovTarget, inner: SubprocessCheckovRunner | None = None
                 ) -> None:
        self.inner = inner or SubprocessCheckovRunner()
        """Runs any other target."""
        self.target = target
        """The target started ahead of time."""
        self._running: RunningCheckov | None = self.inner.start(target)

    @classmethod
    def for_path(cls, path: str, var_files: tuple[str, ...] = ()) -> PrestartedRunner | None:
        """Start checkov on ``path`` as the Terraform collector will ask for it (None when
        ``path`` is neither a directory nor a file: the collector reports that)."""
        if os.path.isdir(path):
            return cls(CheckovTarget(path, Framework.TERRAFORM, var_files))
        if os.path.isfile(path) and not var_files:
            return cls(CheckovTarget(path, Framework.TERRAFORM_PLAN))
        return None

    def start(self, target: CheckovTarget) -> RunningCheckov:
        """The run started ahead of time for ``target``, else a new one."""
        if target == self.target and self._running is not None:
            running, self._running = self._running, None
            return running
        return self.inner.start(target)

    def __call__(self, target: CheckovTarget) -> CheckovOutput:
        """Run checkov on ``target`` (using the early run when it is the same target)."""
        return self.start(target).result()

    def close(self) -> None:
        """Stop the early run if it was never claimed."""
        if self._running is not None:
            self._running.cancel()
            self._running = None
