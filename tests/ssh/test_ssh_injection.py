"""Hostile configured values (weight paths, unit names, sshd config path) never run as commands."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from ssh_fleet_helpers import scan, target_for, write_known_hosts
from sshd_servers import SshdFactory

from aslcheck.controls.config import Config, HostGroupScope, Scope

pytestmark = pytest.mark.sshd


FAKE_MARKER = "fake\n0123456789abcdef0123456789abcdef R 0\nDONE"


def hostile_names(canary: Path) -> list[str]:
    """Names that would create ``canary`` if they ever reached a shell unquoted."""
    return [
        f"semi;touch {canary}",
        f"subst$(touch {canary})",
        f"tick`touch {canary}`",
        f"quote'; touch {canary}; echo '",
        f'dquote"; touch {canary}; echo "',
        f"space and tab\t|| touch {canary}",
        f"new\nline; touch {canary}",
        f"pipe| touch {canary}",
    ]


def test_canary_would_catch_an_injection(tmp_path: Path) -> None:
    """Positive control: each name creates the canary when pasted into sh bare or in naive quotes."""
    canary = tmp_path / "CANARY"
    for name in hostile_names(canary):
        for template in ("stat {}", "stat '{}'", 'stat "{}"'):
            subprocess.run(["/bin/sh", "-c", template.format(name)], capture_output=True, check=False)
        assert canary.exists(), name
        canary.unlink()


def test_hostile_values_are_quoted(sshd_factory: SshdFactory, tmp_path: Path) -> None:
    canary = tmp_path / "CANARY"
    root = tmp_path / "weights"
    root.mkdir()
    paths = []
    for name in hostile_names(canary):
        path = root / name
        path.mkdir(parents=True)  # names holding "/" become nested directories
        (path / "f").write_text("x")
        (path / FAKE_MARKER).write_text("marker-looking file name")
        paths.append(str(path))
    paths.append(str(root / f"missing;touch {canary}"))
    server = sshd_factory.start("injection")
    known = write_known_hosts(tmp_path / "kh", [server])
    config = Config(
        scope=Scope(hosts=True, host_groups=(HostGroupScope("w", tuple(paths)),)),
        host_settings={"edr_units": [f"x;touch {canary}", f"$(touch {canary})", f"`touch {canary}`"]},
    )
    target = target_for(server, sshd_factory, ["w"], aslcheck_sshd_config=f"/etc/ssh/sshd_config;touch {canary}")
    snap = scan([target], known, config, {"host.weight_path", "host.weight_volume", "host.edr", "host.sshd"})
    assert not canary.exists()
    by_path = {r.attributes["path"]: r.attributes for r in snap.of_kind("host.weight_path")}
    assert sorted(by_path) == sorted(paths)
    for path in paths[:-1]:
        attrs = by_path[path]
        assert attrs["exists"] is True and attrs["mode"] == "0755", path
        assert sorted(attrs["other_readable"]) == sorted(
            [path, f"{path}/f", f"{path}/{FAKE_MARKER}"]), path
    assert by_path[paths[-1]] == {"path": paths[-1], "declared_by": ["w"], "exists": False}
    volumes = {r.attributes["path"] for r in snap.of_kind("host.weight_volume")}
    assert volumes == set(paths[:-1])
    # The hostile sshd config path is passed to sshd -T as one argument: sshd fails on it, as it should.
    assert {e.kind for e in snap.errors} >= {"host.sshd"}
