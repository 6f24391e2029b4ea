"""A small fleet of real sshd servers scanned for real: planted violations per host, compliant host passes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from ssh_fleet_helpers import evaluate, scan, statuses, target_for, write_known_hosts
from sshd_servers import SshdFactory, require

from aslcheck.controls.config import Access, Config, HostGroupScope, Scope
from aslcheck.inventories.snapshot import Snapshot
from aslcheck.inventories.ssh import KINDS

pytestmark = pytest.mark.sshd

HARDENED = """\
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding no
AllowStreamLocalForwarding no
X11Forwarding no
PermitTunnel no
Banner {dir}/banner
"""
LOOSE = """\
PasswordAuthentication yes
X11Forwarding yes
AllowTcpForwarding yes
"""
MATCH_OVERRIDE = HARDENED + """\
Match User nobody
    PasswordAuthentication yes
"""


def _plant(root: Path, name: str, dir_mode: int, file_mode: int) -> Path:
    path = root / name
    path.mkdir()
    (path / "model.safetensors").write_bytes(b"\0" * 64)
    (path / "shard").mkdir()
    (path / "shard" / "part-0001.bin").write_bytes(b"\1" * 64)
    for item in (path / "shard", ):
        item.chmod(dir_mode)
    (path / "model.safetensors").chmod(file_mode)
    (path / "shard" / "part-0001.bin").chmod(file_mode)
    path.chmod(dir_mode)
    return path


class Fleet:
    """Three hosts: compliant, readable-by-others, and ACL'd-to-a-stranger (all on unencrypted disk)."""

    def __init__(self, factory: SshdFactory, root: Path) -> None:
        self.paths = {
            "good": _plant(root, "weights-good", 0o750, 0o640),
            "readable": _plant(root, "weights-readable", 0o755, 0o644),
            "stranger": _plant(root, "weights-stranger", 0o750, 0o640),
        }
        subprocess.run(["setfacl", "-m", "u:nobody:r", str(self.paths["stranger"] / "model.safetensors")],
                       check=True)
        self.good = factory.start("good", "")
        (self.good.dir / "banner").write_text("Access to this host is monitored.\n")
        self.good.config.write_text(self.good.config.read_text() + HARDENED.format(dir=self.good.dir))
        self.readable = factory.start("readable", LOOSE)
        self.stranger = factory.start("stranger", "")
        (self.stranger.dir / "banner").write_text("Monitored.\n")
        self.stranger.config.write_text(self.stranger.config.read_text()
                                        + MATCH_OVERRIDE.format(dir=self.stranger.dir))
        self.servers = [self.good, self.readable, self.stranger]
        self.known_hosts = write_known_hosts(root / "known_hosts", self.servers)
        self.targets = [target_for(s, factory, [f"w_{s.name}"]) for s in self.servers]
        self.config = Config(
            scope=Scope(hosts=True, host_groups=tuple(
                HostGroupScope(f"w_{name}", (str(path),)) for name, path in self.paths.items())),
            access=Access(host_roster=("root",)),
            host_settings={"edr_units": ["aslcheck-test-edr.service"]},
        )

    def rid(self, host: str) -> str:
        return f"{host}:{self.paths[host]}"


@pytest.fixture(scope="module")
def fleet(sshd_factory: SshdFactory, tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    require(shutil.which("setfacl") is not None, "setfacl is not installed (apt-get install acl)")
    return Fleet(sshd_factory, tmp_path_factory.mktemp("weights"))


@pytest.fixture(scope="module")
def snapshot(fleet: Fleet) -> Snapshot:
    # NOTE: sshd re-reads its config per connection, so the configs edited after start apply.
    return scan(fleet.targets, fleet.known_hosts, fleet.config, KINDS)


PLANTED = [
    ("host.weights.not_world_readable", {"good": "pass", "readable": "fail", "stranger": "pass"}),
    ("host.weights.group_within_roster", {"good": "pass", "readable": "pass", "stranger": "fail"}),
    ("host.weights.encrypted_volume", {"good": "fail", "readable": "fail", "stranger": "fail"}),
]
SSHD = [
    ("host.sshd.password_auth_disabled", {"good": "pass", "readable": "fail", "stranger": "fail"}),
    ("host.sshd.forwarding_disabled", {"good": "pass", "readable": "fail", "stranger": "pass"}),
    ("host.sshd.banner", {"good": "pass", "readable": "fail", "stranger": "pass"}),
    # The tests log in as root (to read root-only facts), so PermitRootLogin cannot be "no".
    ("host.sshd.root_login_disabled", {"good": "fail", "readable": "fail", "stranger": "fail"}),
    ("host.sshd.hardware_keys", {"good": "not_applicable", "readable": "not_applicable",
                                 "stranger": "not_applicable"}),
]


@pytest.mark.parametrize(("check_id", "expected"), PLANTED, ids=[c for c, _ in PLANTED])
def test_weight_checks_report_planted_violations(fleet: Fleet, snapshot: Snapshot, check_id: str,
                                                 expected: dict[str, str]) -> None:
    got = statuses(evaluate(check_id, snapshot, fleet.config))
    assert got == {fleet.rid(h): s for h, s in expected.items()}


@pytest.mark.parametrize(("check_id", "expected"), SSHD, ids=[c for c, _ in SSHD])
def test_sshd_checks_per_host(fleet: Fleet, snapshot: Snapshot, check_id: str, expected: dict[str, str]) -> None:
    assert statuses(evaluate(check_id, snapshot, fleet.config)) == expected


def test_reasons_name_the_violation(fleet: Fleet, snapshot: Snapshot) -> None:
    readable = {f.resource: f for f in evaluate("host.weights.not_world_readable", snapshot, fleet.config)}
    assert "readable by others" in readable[fleet.rid("readable")].reason
    assert readable[fleet.rid("readable")].evidence["other_readable_count"] == 4
    roster = {f.resource: f for f in evaluate("host.weights.group_within_roster", snapshot, fleet.config)}
    assert "nobody (ACL entry)" in roster[fleet.rid("stranger")].reason
    for finding in evaluate("host.weights.encrypted_volume", snapshot, fleet.config):
        assert "not dm-crypt/LUKS" in finding.reason
        assert finding.evidence["device_chain"], finding
    password = {f.resource: f for f in evaluate("host.sshd.password_auth_disabled", snapshot, fleet.config)}
    assert "'Match User nobody' at" in password["stranger"].reason
    assert "sets passwordauthentication 'yes'" in password["stranger"].reason


def test_every_kind_collected_or_explained(fleet: Fleet, snapshot: Snapshot) -> None:
    hosts = {"good", "readable", "stranger"}
    for kind in sorted(KINDS):
        seen = {r.host for r in snapshot.of_kind(kind)}
        failed = {e.host for e in snapshot.errors if e.kind == kind}
        assert seen | failed == hosts, kind
    for error in snapshot.errors:
        assert error.kind and error.host and error.resource, error
    sshd = {r.host: r.attributes for r in snapshot.of_kind("host.sshd")}
    assert sshd["good"]["source"] == "sshd -T"
    # A kind is listed as complete only when no host failed it (here: no systemd for edr/exec).
    assert snapshot.runs[0].kinds == tuple(sorted(KINDS - {e.kind for e in snapshot.errors}))


def test_compliant_weight_path_facts(fleet: Fleet, snapshot: Snapshot) -> None:
    by_id = {r.id: r.attributes for r in snapshot.of_kind("host.weight_path")}
    good = by_id[fleet.rid("good")]
    assert (good["mode"], good["owner"], good["group"]) == ("0750", "root", "root")
    assert good["other_readable"] == [] and good["acl_named"] == {"users": [], "groups": []}
    stranger = by_id[fleet.rid("stranger")]
    assert stranger["acl_named"]["users"] == ["nobody"]
    assert os.path.isdir(good["path"])
