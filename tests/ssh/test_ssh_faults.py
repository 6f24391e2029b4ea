"""Faults against real sshd servers: each is a collection error for that host only, never a PASS."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from ssh_fleet_helpers import evaluate, scan, target_for, write_known_hosts
from sshd_servers import SilentServer, Sshd, SshdFactory, free_port, keygen

from aslcheck.checks.interface import Status
from aslcheck.controls.config import Config, HostGroupScope, Scope
from aslcheck.inventories.snapshot import Snapshot
from aslcheck.inventories.ssh import HostTarget

pytestmark = pytest.mark.sshd

KINDS = frozenset({"host.os", "host.sshd", "host.weight_path"})
CONFIG = Config(scope=Scope(hosts=True, host_groups=(HostGroupScope("w", ("/srv/aslcheck-none",)),)))


@pytest.fixture(scope="module")
def good(sshd_factory: SshdFactory) -> Sshd:
    return sshd_factory.start("fault-good", "PasswordAuthentication no\n")


def _errors_for(snapshot: Snapshot, host: str) -> dict[str, str]:
    return {e.kind or "": e.code for e in snapshot.errors if e.host == host}


def _assert_host_failed(snapshot: Snapshot, host: str, code: str) -> None:
    errors = [e for e in snapshot.errors if e.host == host]
    assert {e.kind for e in errors} == set(KINDS), errors
    assert all(e.code == code for e in errors), errors
    assert {e.resource for e in errors} == {host, f"{host}:/srv/aslcheck-none"}
    assert not [r for r in snapshot.resources if r.host == host]
    for check_id in ("host.sshd.password_auth_disabled", "host.weights.not_world_readable"):
        assert not [f for f in evaluate(check_id, snapshot, CONFIG)
                    if f.resource and f.resource.startswith(host) and f.status is Status.PASS]


def _assert_good_unaffected(snapshot: Snapshot, good: Sshd) -> None:
    assert not [e for e in snapshot.errors if e.host == good.name]
    assert {r.kind for r in snapshot.resources if r.host == good.name} == KINDS
    missing = next(r for r in snapshot.resources if r.kind == "host.weight_path")
    assert missing.attributes["exists"] is False
    found = {f.resource: f.status for f in evaluate("host.sshd.password_auth_disabled", snapshot, CONFIG)}
    assert found[good.name] is Status.FAIL  # kbd-interactive is still on: a real verdict, not an error


def _target(server: Sshd, factory: SshdFactory, **extra: object) -> HostTarget:
    return target_for(server, factory, ["w"], **extra)


def test_unknown_host_key_sends_no_credentials(sshd_factory: SshdFactory, good: Sshd, tmp_path: Path) -> None:
    stranger = sshd_factory.start("unknown-key")
    known = write_known_hosts(tmp_path / "kh", [good])
    snap = scan([_target(stranger, sshd_factory), _target(good, sshd_factory)], known, CONFIG, KINDS)
    _assert_host_failed(snap, "unknown-key", "HostKeyUnknown")
    message = next(e.message for e in snap.errors if e.host == "unknown-key")
    assert "unknown-key" in message and "SHA256:" in message and "no credentials were sent" in message
    _assert_good_unaffected(snap, good)
    time.sleep(0.2)
    # sshd logs every userauth request at DEBUG; the positive control proves the log would show one.
    assert "userauth-request" not in stranger.log_text()
    assert "userauth-request" in good.log_text()


def test_changed_host_key(sshd_factory: SshdFactory, good: Sshd, tmp_path: Path) -> None:
    changed = sshd_factory.start("changed-key")
    other = keygen(tmp_path / "other_host_key").split()
    (tmp_path / "kh").write_text(f"[127.0.0.1]:{changed.port} {other[0]} {other[1]}\n{good.known_hosts_line()}\n")
    snap = scan([_target(changed, sshd_factory), _target(good, sshd_factory)], str(tmp_path / "kh"), CONFIG, KINDS)
    _assert_host_failed(snap, "changed-key", "HostKeyMismatch")
    assert "CHANGED" in next(e.message for e in snap.errors if e.host == "changed-key")
    assert "userauth-request" not in changed.log_text()
    _assert_good_unaffected(snap, good)


def test_refused_auth(sshd_factory: SshdFactory, good: Sshd, tmp_path: Path) -> None:
    stranger_key = keygen(tmp_path / "someone_else")
    locked = sshd_factory.start("refused", authorized=stranger_key)
    known = write_known_hosts(tmp_path / "kh", [locked, good])
    snap = scan([_target(locked, sshd_factory), _target(good, sshd_factory)], known, CONFIG, KINDS)
    _assert_host_failed(snap, "refused", "AuthFailed")
    _assert_good_unaffected(snap, good)


def test_unreachable_and_silent_ports(sshd_factory: SshdFactory, good: Sshd, silent_server: SilentServer,
                                      tmp_path: Path) -> None:
    known = write_known_hosts(tmp_path / "kh", [good])
    dead = _target(good, sshd_factory, ansible_port=free_port())
    dead = type(dead)(**{**dead.__dict__, "name": "dead"})
    mute = type(dead)(**{**dead.__dict__, "name": "mute", "port": silent_server.port})
    started = time.monotonic()
    snap = scan([dead, mute, _target(good, sshd_factory)], known, CONFIG, KINDS, connect_timeout=1.5)
    assert time.monotonic() - started < 10
    _assert_host_failed(snap, "dead", "Unreachable")
    _assert_host_failed(snap, "mute", "HandshakeFailed")
    _assert_good_unaffected(snap, good)


def test_command_timeout(sshd_factory: SshdFactory, good: Sshd, tmp_path: Path) -> None:
    slow = sshd_factory.start("slow", "ForceCommand sleep 30\n")
    known = write_known_hosts(tmp_path / "kh", [slow, good])
    snap = scan([_target(slow, sshd_factory), _target(good, sshd_factory)], known, CONFIG, KINDS,
                command_timeout=2)
    _assert_host_failed(snap, "slow", "CommandTimeout")
    _assert_good_unaffected(snap, good)


def test_truncated_output(sshd_factory: SshdFactory, good: Sshd, tmp_path: Path) -> None:
    # A host that answers with the start of a probe and then stops (a killed shell, a dropped link).
    cut = sshd_factory.start("truncated", "ForceCommand head -c 200\n")
    known = write_known_hosts(tmp_path / "kh", [cut, good])
    snap = scan([_target(cut, sshd_factory), _target(good, sshd_factory)], known, CONFIG, KINDS)
    _assert_host_failed(snap, "truncated", "TruncatedOutput")
    _assert_good_unaffected(snap, good)


def test_passphrase_callback(sshd_factory: SshdFactory, tmp_path: Path) -> None:
    key = tmp_path / "locked_key"
    pub = keygen(key, passphrase="correct horse")
    servers = [sshd_factory.start(f"passphrase{i}", authorized=pub) for i in range(3)]
    known = write_known_hosts(tmp_path / "kh", servers)
    targets = [_target(s, sshd_factory, ansible_ssh_private_key_file=str(key)) for s in servers]
    target = targets[0]
    asked: list[str] = []

    def passphrase(path: str) -> str | None:
        asked.append(path)
        return "correct horse"

    snap = scan(targets, known, CONFIG, {"host.os"}, passphrase=passphrase)
    # The key is decrypted once per scan, not once per host (it is parsed once and reused).
    assert asked == [str(key)] and not snap.errors and len(snap.resources) == 3
    refused = scan([target], known, CONFIG, {"host.os"}, passphrase=lambda _p: None)
    assert {e.code for e in refused.errors} == {"AuthFailed"}


def test_proxy_jump_is_strictly_checked(sshd_factory: SshdFactory, tmp_path: Path) -> None:
    jump = sshd_factory.start("jump", "AllowTcpForwarding yes\n")
    inner = sshd_factory.start("inner")
    hop = _target(jump, sshd_factory)
    target = type(hop)(**{**_target(inner, sshd_factory).__dict__, "jump": hop})
    known = write_known_hosts(tmp_path / "kh", [jump, inner])
    snap = scan([target], known, CONFIG, {"host.os"})
    assert not snap.errors and [r.host for r in snap.resources] == ["inner"]
    assert "direct-tcpip" in jump.log_text() or "forwarding" in jump.log_text().lower()
    only_inner = write_known_hosts(tmp_path / "kh2", [inner])
    snap = scan([target], only_inner, CONFIG, {"host.os"})
    assert {e.code for e in snap.errors} == {"HostKeyUnknown"}
    assert "jump" in snap.errors[0].message


def test_identity_keys_are_parsed_once_and_reread_when_replaced(tmp_path: Path) -> None:
    from aslcheck.inventories.ssh import ParamikoConnector

    (tmp_path / "kh").write_text("")
    key = tmp_path / "id"
    keygen(key)
    connector = ParamikoConnector(str(tmp_path / "kh"), use_agent=False)
    first = connector._identity(str(key))
    assert first is not None and connector._identity(str(key)) is first
    key.unlink()
    keygen(key)
    second = connector._identity(str(key))
    assert second is not None and second is not first and second != first
    assert connector._identity(str(tmp_path / "missing")) is None
