"""The collector with an injected connector: a local shell stands in for the SSH session.

The local connector runs the real probe script with ``/bin/sh -s`` on this machine (optionally
as ``nobody`` through ``runuser``), so fact building, privilege handling, parallelism and
progress are exercised without a network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from aslcheck.controls.config import Config, HostGroupScope, Scope
from aslcheck.errors import Location
from aslcheck.inventories.interface import CollectionRequest
from aslcheck.inventories.ssh import (
    KINDS,
    Connection,
    ExecMode,
    ExecResult,
    HostTarget,
    SshCollector,
    SshError,
    SshOptions,
    resolve_target,
)


class LocalConnection:
    """Runs the probe locally, optionally as another user."""

    def __init__(self, user: str | None) -> None:
        self.user = user

    def run(self, command: str, stdin: bytes, timeout: float, max_bytes: int) -> ExecResult:
        argv = command.split()
        if self.user:
            argv = ["runuser", "-u", self.user, "--", *argv]
        proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout, check=False, cwd="/")
        return ExecResult(proc.stdout, proc.stderr, proc.returncode)

    def close(self) -> None:
        """Nothing to close."""


class LocalConnector:
    """Connector whose hosts all are this machine; ``fail`` maps host names to errors."""

    def __init__(self, user: str | None = None, fail: dict[str, SshError] | None = None,
                 delay: float = 0.0) -> None:
        self.user = user
        self.fail = fail or {}
        self.delay = delay
        self.active = 0
        self.peak = 0
        self.lock = threading.Lock()

    def connect(self, target: HostTarget) -> Connection:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            time.sleep(self.delay)
            if target.name in self.fail:
                raise self.fail[target.name]
            return LocalConnection(self.user)
        finally:
            with self.lock:
                self.active -= 1


def target(name: str, groups: tuple[str, ...] = ()) -> HostTarget:
    return resolve_target(name, {"ansible_host": "127.0.0.1"}, None, Location("<test>"),
                          frozenset({"all", *groups}))


def collect(connector: LocalConnector, targets: list[HostTarget], config: Config, kinds: frozenset[str],
            **options: object) -> tuple[SshCollector, object]:
    collector = SshCollector(tuple(targets), "/dev/null", connector=connector,
                             options=SshOptions(**options))  # type: ignore[arg-type]
    events: list[tuple[str, int, int]] = []
    snap = collector.collect(CollectionRequest(kinds=kinds, config=config,
                                               progress=lambda t, d, n: events.append((t, d, n))))
    return collector, (snap, events)


needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None,
                                reason="needs root and runuser to drop privileges")


def test_progress_parallelism_and_isolation() -> None:
    connector = LocalConnector(delay=0.2, fail={"h2": SshError("Unreachable", "no route to h2")})
    targets = [target(f"h{i}") for i in range(6)]
    _, (snap, events) = collect(connector, targets, Config(), frozenset({"host.os", "host.accounts"}),
                                max_workers=2)
    assert connector.peak == 2
    assert events[0] == ("ssh", 0, 6) and events[-1] == ("ssh", 6, 6) and len(events) == 7
    assert {e.host for e in snap.errors} == {"h2"}
    assert {(e.kind, e.code, e.resource) for e in snap.errors} == {
        ("host.os", "Unreachable", "h2"), ("host.accounts", "Unreachable", "h2")}
    assert len(snap.of_kind("host.os")) == 5
    # h2 answered neither kind, so neither was listed completely ("none exist" would be a lie).
    assert snap.runs[0].kinds == ()
    _, (whole, _) = collect(LocalConnector(), targets[:2], Config(), frozenset({"host.os", "host.accounts"}))
    assert whole.runs[0].kinds == ("host.accounts", "host.os")


def test_only_known_kinds_are_collected() -> None:
    collector, (snap, _) = collect(LocalConnector(), [target("h")], Config(), frozenset({"aws.s3.bucket"}))
    assert collector.kinds() == KINDS
    assert not snap.resources and not snap.errors and snap.runs[0].kinds == ()


def _outcome(snap: object) -> tuple[dict[tuple[str, str], dict[str, object]], set[tuple[str | None, str, str | None]]]:
    strip = {"host_time_epoch"}
    resources = {(r.kind, r.id): {k: v for k, v in r.attributes.items() if k not in strip}
                 for r in snap.resources}  # type: ignore[attr-defined]
    errors = {(e.kind, e.code, e.resource) for e in snap.errors}  # type: ignore[attr-defined]
    return resources, errors


def test_per_command_mode_matches_single_exec() -> None:
    # NOTE: compares everything each mode produced, errors included, so it holds on a machine
    # where sshd -T cannot run (no /run/sshd) as well as on one where it can.
    kinds = frozenset({"host.os", "host.accounts", "host.sshd", "host.sudoers"})
    _, (single, _) = collect(LocalConnector(), [target("h")], Config(), kinds)
    _, (each, _) = collect(LocalConnector(), [target("h")], Config(), kinds, mode=ExecMode.PER_COMMAND)
    assert _outcome(single) == _outcome(each)
    resources, errors = _outcome(single)
    assert {k for k, _ in resources} | {k for k, _, _ in errors} == kinds  # each kind: a resource or an error


@needs_root
def test_unprivileged_probe_errors_never_absent(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    (locked / "w").mkdir()
    tmp_path.chmod(0o755)
    config = Config(scope=Scope(hosts=True, host_groups=(HostGroupScope("w", (str(locked / "w"),)),)))
    _, (snap, _) = collect(LocalConnector(user="nobody"), [target("h", ("w",))], config, KINDS)
    errors = {e.kind: e for e in snap.errors}
    assert errors["host.auditd"].code == "NeedsRoot" and "needs root" in errors["host.auditd"].message
    assert errors["host.firewall"].code == "NeedsRoot"
    assert errors["host.sudoers"].code == "NeedsRoot"
    assert errors["host.weight_path"].code == "PermissionDenied"
    assert errors["host.weight_path"].resource == f"h:{locked / 'w'}"
    assert not snap.of_kind("host.weight_path")  # permission denied is never "does not exist"
    os_facts = snap.of_kind("host.os")[0].attributes
    assert (os_facts["login_user"], os_facts["privilege"]) == ("nobody", "none")
    sshd = snap.of_kind("host.sshd")
    if sshd:  # /etc/ssh/sshd_config is world-readable on Debian: fall back to the files
        assert sshd[0].attributes["source"] == "config files"


@needs_root
def test_sudo_refused_is_an_error() -> None:
    """``sudo -n`` that cannot run (refused, or sudo not installed: exit 127) never means "not installed"."""
    config = Config(host_settings={"sudo": True})
    kinds = frozenset({"host.auditd", "host.firewall", "host.sudoers"})
    _, (snap, _) = collect(LocalConnector(user="nobody"), [target("h")], config, kinds)
    codes = {e.kind: e.code for e in snap.errors}
    assert set(codes) == set(kinds), snap.errors
    assert set(codes.values()) <= {"SudoRefused", "CommandMissing"}
    assert not snap.resources  # neither "auditd not installed" nor "no firewall tool"
    if shutil.which("sudo") is None:
        assert all("sudo is not installed" in e.message for e in snap.errors)
    assert snap.runs[0].kinds == ()  # nothing was listed completely


@needs_root
def test_files_fallback_follows_include_and_match_as_the_login_user() -> None:
    """Without root the files are read as the login user, Include globs and Match blocks included."""
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="aslcheck-sshd-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        (root / "conf.d").mkdir(mode=0o755)
        (root / "conf.d" / "10-legacy.conf").write_text("PasswordAuthentication yes\n")
        (root / "conf.d" / "20-match.conf").write_text("Match User nobody\n  X11Forwarding yes\n")
        main = root / "sshd_config"
        main.write_text(f"Include={root}/conf.d/*.conf\nPasswordAuthentication no\nX11Forwarding no\n")
        for path in (main, *root.glob("conf.d/*")):
            path.chmod(0o644)
        host = resolve_target("h", {"ansible_host": "127.0.0.1", "aslcheck_sshd_config": str(main)}, None,
                              Location("<test>"), frozenset({"all"}))
        _, (snap, _) = collect(LocalConnector(user="nobody"), [host], Config(), frozenset({"host.sshd"}))
        fact = snap.of_kind("host.sshd")[0].attributes
        assert fact["source"] == "config files"
        assert (fact["settings"]["passwordauthentication"], fact["settings"]["x11forwarding"]) == ("yes", "no")
        assert fact["match_values"]["x11forwarding"] == ["yes"]
        assert fact["files_read"] == [str(main), f"{root}/conf.d/10-legacy.conf", f"{root}/conf.d/20-match.conf"]
        assert "allowtcpforwarding" in fact["defaulted"]
        (root / "conf.d" / "20-match.conf").chmod(0o600)  # now unreadable by nobody: an error, not defaults
        _, (denied, _) = collect(LocalConnector(user="nobody"), [host], Config(), frozenset({"host.sshd"}))
        assert [e.code for e in denied.errors] == ["PermissionDenied"] and not denied.resources


def test_root_probe_as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    _, (snap, _) = collect(LocalConnector(), [target("h")], Config(), frozenset({"host.sshd", "host.sudoers"}))
    assert snap.of_kind("host.sudoers")
    sshd_errors = [e for e in snap.errors if e.kind == "host.sshd"]
    sshd = snap.of_kind("host.sshd")
    assert sshd_errors or sshd[0].attributes["source"] == "sshd -T"


def test_collector_from_settings(tmp_path: Path) -> None:
    from aslcheck.errors import BadInputError
    from aslcheck.inventories.ssh import collector_from_settings

    inv = tmp_path / "hosts.ini"
    inv.write_text("[w]\nh1 ansible_host=127.0.0.1 ansible_port=2200\n")
    known = tmp_path / "known_hosts"
    known.write_text("")
    with pytest.raises(BadInputError, match="known_hosts"):
        collector_from_settings({"inventory": str(inv)})
    with pytest.raises(BadInputError, match="not found"):
        collector_from_settings({"inventory": str(inv), "known_hosts": str(tmp_path / "nope")})
    collector = collector_from_settings({"inventory": str(inv), "known_hosts": str(known), "max_workers": 3,
                                         "command_timeout": 60, "ssh_config": str(known)})
    assert [t.name for t in collector.targets] == ["h1"] and collector.targets[0].port == 2200
    assert (collector.options.max_workers, collector.options.command_timeout) == (3, 60.0)


def test_importing_the_package_does_not_import_paramiko() -> None:
    code = ("import sys, aslcheck.inventories.ssh, aslcheck.checks.host, aslcheck.checks.builtin;"
            "sys.exit('paramiko' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
