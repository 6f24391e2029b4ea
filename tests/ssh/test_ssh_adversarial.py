"""Issue 10 class 8 against real OpenSSH sshd servers: each attack planted on real files, never a PASS.

Each server runs in its own mount namespace when it needs one (an overlay over ``/etc`` or
``/etc/ssh``, bind mounts, tmpfs), so the probe, which runs in that server's sessions, sees
the planted state and nothing else on the machine changes. The catalogue of these attacks is
docs/adversarial/hosts.md.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sample_trees import SAMPLES
from ssh_fleet_helpers import evaluate, scan, statuses, target_for, write_known_hosts
from sshd_servers import Sshd, SshdFactory, overlay, require

from aslcheck.controls.config import Access, Config, HostGroupScope, Scope
from aslcheck.inventories.snapshot import Snapshot

pytestmark = pytest.mark.sshd

SSHD_KINDS = frozenset({"host.os", "host.sshd"})
WEIGHT_KINDS = frozenset({"host.os", "host.accounts", "host.sudoers", "host.weight_path", "host.weight_volume"})
EXTRA_USERS = ("svc:x:900:900::/srv:/usr/sbin/nologin\neve:x:1000:1000::/tmp:/usr/sbin/nologin\n"
               "bob:x:1001:1001::/tmp:/usr/sbin/nologin\naslscan:x:4242:4242::/tmp:/bin/sh\n")
EXTRA_GROUPS = "weights:x:900:\neve:x:1000:\nbob:x:1001:\nstaff:x:1002:eve\naslscan:x:4242:\n"


def _one(factory: SshdFactory, server: Sshd, tmp: Path, config: Config, kinds: frozenset[str],
         groups: tuple[str, ...] = (), **extra: Any) -> Snapshot:
    known = write_known_hosts(tmp / f"kh_{server.name}", [server])
    return scan([target_for(server, factory, groups, **extra)], known, config, kinds)


def _etc_overlay(root: Path, files: Mapping[str, str], accounts: bool = True) -> str:
    """An upper layer for /etc holding ``files`` (relative to /etc) and, if asked, the test accounts."""
    upper = root / "etc.upper"
    upper.mkdir(parents=True)
    for rel, text in files.items():
        path = upper / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if accounts:
        (upper / "passwd").write_text(Path("/etc/passwd").read_text() + EXTRA_USERS)
        (upper / "group").write_text(Path("/etc/group").read_text() + EXTRA_GROUPS)
    return overlay("/etc", upper)


# --- sshd: Include, Match and Key=value -------------------------------------------------------

HARD = "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"


@dataclass(frozen=True)
class SshdCase:
    """One sshd configuration attack."""

    name: str
    extra: str
    """Lines appended to the server's config ({dir} is its directory)."""
    files: Mapping[str, str] = field(default_factory=dict)
    """Files written under the server's directory."""
    etc_ssh: Mapping[str, str] = field(default_factory=dict)
    """Files overlaid under /etc/ssh in the server's namespace (for relative Include)."""
    expect: Mapping[str, str] = field(default_factory=dict)
    """check ID -> status."""
    settings: Mapping[str, str] = field(default_factory=dict)
    """Effective global values the fact must report."""


SSHD_CASES = [
    SshdCase("include_glob_first_wins", "Include {dir}/conf.d/*.conf\n" + HARD,
             {"conf.d/10-legacy.conf": "PasswordAuthentication yes\n", "conf.d/.99-hidden.conf": HARD,
              "conf.d/README.txt": "PasswordAuthentication no\n"},
             expect={"host.sshd.password_auth_disabled": "fail"}, settings={"passwordauthentication": "yes"}),
    SshdCase("include_key_equals_value", "Include={dir}/evil.conf\nX11Forwarding no\n",
             {"evil.conf": "X11Forwarding yes\n"},
             expect={"host.sshd.forwarding_disabled": "fail"}, settings={"x11forwarding": "yes"}),
    SshdCase("include_relative_to_etc_ssh", "Include aslcheck-adv.d/*.conf\nAllowTcpForwarding no\n",
             etc_ssh={"aslcheck-adv.d/10.conf": "AllowTcpForwarding yes\n"},
             expect={"host.sshd.forwarding_disabled": "fail"}, settings={"allowtcpforwarding": "yes"}),
    SshdCase("include_inside_match", "AllowTcpForwarding no\nMatch User nobody\n    Include {dir}/m.conf\n",
             {"m.conf": "AllowTcpForwarding yes\n"},
             expect={"host.sshd.forwarding_disabled": "fail"}, settings={"allowtcpforwarding": "no"}),
    SshdCase("match_state_restored_after_include",
             "Include {dir}/tail.conf\nBanner {dir}/banner\nX11Forwarding no\n",
             {"tail.conf": "Match User nobody\n    X11Forwarding yes\n", "banner": "Monitored.\n"},
             expect={"host.sshd.forwarding_disabled": "fail", "host.sshd.banner": "pass"},
             settings={"x11forwarding": "no"}),
    SshdCase("match_address_loosens", HARD + "Match Address 127.0.0.0/8\n    PasswordAuthentication yes\n",
             expect={"host.sshd.password_auth_disabled": "fail"}, settings={"passwordauthentication": "no"}),
    SshdCase("key_value_spellings",
             "PasswordAuthentication=no\nKbdInteractiveAuthentication = no\nX11Forwarding =no\n"
             '"AllowTcpForwarding" no\nallowstreamlocalforwarding no # comment\nPermitTunnel\tno\n',
             expect={"host.sshd.password_auth_disabled": "pass", "host.sshd.forwarding_disabled": "pass"},
             settings={"passwordauthentication": "no", "x11forwarding": "no", "allowtcpforwarding": "no"}),
    SshdCase("include_missing_file_is_tolerated", "Include {dir}/absent.conf\n" + HARD,
             expect={"host.sshd.password_auth_disabled": "pass"}, settings={"passwordauthentication": "no"}),
]

COMPARED = ("passwordauthentication", "kbdinteractiveauthentication", "allowtcpforwarding",
            "allowstreamlocalforwarding", "x11forwarding", "permittunnel", "disableforwarding",
            "hostbasedauthentication", "banner")


@pytest.fixture(scope="module")
def sshd_cases(sshd_factory: SshdFactory, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Snapshot]:
    out: dict[str, Snapshot] = {}
    for case in SSHD_CASES:
        root = tmp_path_factory.mktemp(case.name)
        setup = None
        if case.etc_ssh:
            upper = root / "etc_ssh.upper"
            for rel, text in case.etc_ssh.items():
                (upper / rel).parent.mkdir(parents=True, exist_ok=True)
                (upper / rel).write_text(text)
            setup = overlay("/etc/ssh", upper)
        server = sshd_factory.start(case.name, setup=setup)
        for rel, text in case.files.items():
            (server.dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (server.dir / rel).write_text(text.format(dir=server.dir))
        server.config.write_text(server.config.read_text() + case.extra.format(dir=server.dir))
        out[case.name] = _one(sshd_factory, server, root, Config(), SSHD_KINDS)
    return out


@pytest.mark.parametrize("case", SSHD_CASES, ids=[c.name for c in SSHD_CASES])
def test_sshd_config_attacks(sshd_cases: dict[str, Snapshot], case: SshdCase) -> None:
    snap = sshd_cases[case.name]
    assert not [e for e in snap.errors if e.kind == "host.sshd"], snap.errors
    fact = snap.of_kind("host.sshd")[0].attributes
    assert fact["source"] == "sshd -T"
    for key, value in case.settings.items():
        assert fact["settings"][key] == value, key
    for check_id, status in case.expect.items():
        assert statuses(evaluate(check_id, snap, Config()))[case.name] == status, check_id


@pytest.mark.parametrize("case", SSHD_CASES, ids=[c.name for c in SSHD_CASES])
def test_file_reading_agrees_with_sshd_T(sshd_cases: dict[str, Snapshot], case: SshdCase) -> None:
    """Real sshd is the oracle: the global values read from the files are what ``sshd -T`` prints."""
    fact = sshd_cases[case.name].of_kind("host.sshd")[0].attributes
    files = {k: {"all": "yes"}.get(v, v) for k, v in fact["files_settings"].items()}
    assert {k: files[k] for k in COMPARED} == {k: fact["settings"][k] for k in COMPARED}


def test_match_block_evidence_names_file_and_line(sshd_cases: dict[str, Snapshot]) -> None:
    fact = sshd_cases["match_state_restored_after_include"].of_kind("host.sshd")[0].attributes
    (block,) = fact["match_blocks"]
    assert (block["criteria"], block["settings"]) == ("User nobody", {"x11forwarding": "yes"})
    assert block["file"].endswith("/tail.conf") and block["line"] == 1
    assert fact["files_read"][-1].endswith("/tail.conf")
    nested = sshd_cases["include_inside_match"].of_kind("host.sshd")[0].attributes
    assert nested["match_values"]["allowtcpforwarding"] == ["yes"]


# --- weight paths behind symlinks, bind mounts and other filesystems ---------------------------

def _weights(root: Path, name: str, mode: int = 0o750, file_mode: int = 0o640) -> Path:
    path = root / name
    path.mkdir(mode=mode)
    path.chmod(mode)
    (path / "model.safetensors").write_bytes(b"\0" * 64)
    (path / "model.safetensors").chmod(file_mode)
    return path


@dataclass
class WeightCase:
    """One weight-path attack: the declared path and the namespace setup that plants it."""

    name: str
    path: str
    setup: str | None
    expect: dict[str, str]


@pytest.fixture(scope="module")
def weight_cases(sshd_factory: SshdFactory, tmp_path_factory: pytest.TempPathFactory) -> tuple[
        dict[str, WeightCase], dict[str, Snapshot], Config]:
    require(shutil.which("setfacl") is not None, "setfacl is not installed (apt-get install acl)")
    root = tmp_path_factory.mktemp("wpaths")
    root.chmod(0o755)
    cases: list[WeightCase] = []
    # 1. the declared path is a symlink to a readable directory
    real = _weights(root, "real-open", 0o755, 0o644)
    (root / "declared-link").symlink_to(real)
    cases.append(WeightCase("path_is_symlink", str(root / "declared-link"), None,
                            {"host.weights.not_world_readable": "fail"}))
    # 2. a symlink inside a locked weight tree points at a world-readable file owned by nobody
    locked = _weights(root, "locked-link-file")
    public = root / "public"
    public.mkdir()
    (public / "shard.bin").write_bytes(b"\1" * 64)
    (public / "shard.bin").chmod(0o644)
    subprocess.run(["chown", "nobody", str(public / "shard.bin")], check=True)
    (locked / "shard.bin").symlink_to(public / "shard.bin")
    cases.append(WeightCase("link_inside_to_public_file", str(locked), None,
                            {"host.weights.not_world_readable": "fail", "host.weights.group_within_roster": "fail"}))
    # 3. a symlinked directory inside the tree holds a file with an ACL for nobody
    other = root / "other-shards"
    other.mkdir(mode=0o750)
    (other / "part-0001.bin").write_bytes(b"\2" * 64)
    (other / "part-0001.bin").chmod(0o640)
    subprocess.run(["setfacl", "-m", "u:nobody:r", str(other / "part-0001.bin")], check=True)
    tree = _weights(root, "locked-link-dir")
    (tree / "shards").symlink_to(other)
    cases.append(WeightCase("link_inside_to_acl_dir", str(tree), None,
                            {"host.weights.not_world_readable": "pass", "host.weights.group_within_roster": "fail"}))
    # 4. the declared (empty, locked) directory is a bind mount of a directory with an ACL for nobody
    source = _weights(root, "bind-source")
    subprocess.run(["setfacl", "-m", "u:nobody:r", str(source / "model.safetensors")], check=True)
    target = root / "bind-target"
    target.mkdir(mode=0o700)
    cases.append(WeightCase("bind_mount", str(target), f"mount --bind {source} {target}\n",
                            {"host.weights.group_within_roster": "fail", "host.weights.encrypted_volume": "fail"}))
    # 5. the declared path is on tmpfs (undeterminable), but a symlink puts the bytes on the plain disk
    disk_copy = _weights(root, "disk-shards")
    tmpfs = root / "tmpfs-a"
    tmpfs.mkdir()
    cases.append(WeightCase("tmpfs_with_link_to_disk", str(tmpfs / "w"),
                            f"mount -t tmpfs -o mode=0755 aslcheck {tmpfs}\nmkdir -m 0750 {tmpfs}/w\n"
                            f"ln -s {disk_copy} {tmpfs}/w/shards\n",
                            {"host.weights.encrypted_volume": "fail"}))
    # 6. control: the same without the symlink cannot be decided (tmpfs is not a block device)
    tmpfs_b = root / "tmpfs-b"
    tmpfs_b.mkdir()
    cases.append(WeightCase("tmpfs_only", str(tmpfs_b / "w"),
                            f"mount -t tmpfs -o mode=0755 aslcheck {tmpfs_b}\nmkdir -m 0750 {tmpfs_b}/w\n",
                            {"host.weights.encrypted_volume": "error"}))
    # 7. a plain filesystem (tmpfs) is mounted inside a weight tree that lives on disk
    inner = _weights(root, "mount-inside")
    (inner / "cache").mkdir()
    cases.append(WeightCase("mount_inside_tree", str(inner), f"mount -t tmpfs aslcheck {inner}/cache\n",
                            {"host.weights.encrypted_volume": "fail"}))
    config = Config(scope=Scope(hosts=True, host_groups=tuple(HostGroupScope(f"w_{c.name}", (c.path,))
                                                              for c in cases)),
                    access=Access(host_roster=("root",)))
    snaps = {}
    for case in cases:
        server = sshd_factory.start(f"w-{case.name}", setup=case.setup)
        snaps[case.name] = _one(sshd_factory, server, root, config, WEIGHT_KINDS, (f"w_{case.name}",))
    return {c.name: c for c in cases}, snaps, config


@pytest.mark.parametrize("name", ["path_is_symlink", "link_inside_to_public_file", "link_inside_to_acl_dir",
                                  "bind_mount", "tmpfs_with_link_to_disk", "tmpfs_only", "mount_inside_tree"])
def test_weight_path_attacks(weight_cases: tuple[dict[str, WeightCase], dict[str, Snapshot], Config],
                             name: str) -> None:
    cases, snaps, config = weight_cases
    case, snap = cases[name], snaps[name]
    assert not [e for e in snap.errors if e.kind in ("host.weight_path", "host.weight_volume")], snap.errors
    for check_id, status in case.expect.items():
        got = statuses(evaluate(check_id, snap, config))
        assert got == {f"w-{name}:{case.path}": status}, (check_id, [f.reason for f in evaluate(check_id, snap,
                                                                                                  config)])


def test_weight_facts_say_where_the_bytes_are(
        weight_cases: tuple[dict[str, WeightCase], dict[str, Snapshot], Config]) -> None:
    _, snaps, config = weight_cases
    linked = snaps["path_is_symlink"].of_kind("host.weight_path")[0].attributes
    assert linked["real_path"].endswith("/real-open") and linked["path"].endswith("/declared-link")
    public = snaps["link_inside_to_public_file"].of_kind("host.weight_path")[0].attributes
    assert [t.rsplit("/", 2)[-2:] for t in public["link_targets"]] == [["public", "shard.bin"]]
    assert any(o["user"] == "nobody" for o in public["owners"])
    volume = snaps["tmpfs_with_link_to_disk"].of_kind("host.weight_volume")[0].attributes
    assert sorted(str(v["fstype"]) for v in volume["volumes"]) == ["ext4", "tmpfs"]
    reason = evaluate("host.weights.encrypted_volume", snaps["tmpfs_with_link_to_disk"], config)[0].reason
    assert "/dev/vda" in reason or "not dm-crypt" in reason
    bind = snaps["bind_mount"].of_kind("host.weight_path")[0].attributes
    assert bind["acl_named"]["users"] == ["nobody"]


# --- sudo rules that make non-roster users readers ---------------------------------------------

SUDO_CASES = {
    "include_file": "fail", "includedir_other": "fail", "uid_not_comment": "fail", "runas_group": "fail",
    "become_owner": "fail", "harmless": "pass", "syntax_error": "error", "nsswitch_sss": "error",
    "sudo_conf_other_file": "error", "unknown_command": "error",
}


@pytest.fixture(scope="module")
def sudo_cases(sshd_factory: SshdFactory, tmp_path_factory: pytest.TempPathFactory) -> tuple[
        dict[str, Snapshot], Config, Path]:
    root = tmp_path_factory.mktemp("sudo")
    root.chmod(0o755)
    weights = _weights(root, "w")
    subprocess.run(["chown", "-R", "900:900", str(weights)], check=True)  # svc:weights in the namespaces
    config = Config(scope=Scope(hosts=True, host_groups=(HostGroupScope("w", (str(weights),)),)),
                    access=Access(host_roster=("svc",)))
    snaps = {}
    for case in SUDO_CASES:
        tree = SAMPLES / "sudoers" / case / "etc"
        files = {str(p.relative_to(tree)): p.read_text() for p in tree.rglob("*") if p.is_file()}
        server = sshd_factory.start(f"s-{case}", setup=_etc_overlay(root / case, files))
        snaps[case] = _one(sshd_factory, server, root, config, WEIGHT_KINDS, ("w",))
    return snaps, config, weights


@pytest.mark.parametrize(("case", "expected"), sorted(SUDO_CASES.items()))
def test_sudo_rule_attacks(sudo_cases: tuple[dict[str, Snapshot], Config, Path], case: str, expected: str) -> None:
    snaps, config, weights = sudo_cases
    findings = evaluate("host.weights.group_within_roster", snaps[case], config)
    assert statuses(findings) == {f"s-{case}:{weights}": expected}, [f.reason for f in findings]
    if expected == "fail":
        assert "eve (sudo rule" in findings[0].reason
        assert "bob" not in findings[0].evidence["outside_roster"]


def test_sudo_walk_follows_includes_and_skips_what_sudo_skips(
        sudo_cases: tuple[dict[str, Snapshot], Config, Path]) -> None:
    snaps, _, _ = sudo_cases
    fact = snaps["includedir_other"].of_kind("host.sudoers")[0].attributes
    assert fact["files_read"] == ["/etc/sudoers", "/etc/sudoers.extra.d/10-eve"]
    errors = {e.kind: e for e in snaps["syntax_error"].errors}
    assert errors["host.sudoers"].code == "BadSudoers" and "/etc/sudoers:1" in errors["host.sudoers"].message
    assert {e.code for e in snaps["nsswitch_sss"].errors} == {"NotDecided"}


# --- exit 127 from "sudo -n CMD" is an error, not "not installed" -------------------------------

def test_sudo_missing_for_a_non_root_login(sshd_factory: SshdFactory, tmp_path: Path) -> None:
    require(shutil.which("sudo") is None, "sudo is installed here; this test needs a host without it")
    # NOTE: the scan user must be able to read its authorized keys, which the server's own
    # directory does not allow; a Match block (harmless to every check) points it elsewhere.
    # The running sshd reads its config once, at start, so it is written before.
    keys = {"aslscan_keys": sshd_factory.client_pub + "\n"}
    (tmp_path / "loose.conf").write_text("PasswordAuthentication yes\n")
    server = sshd_factory.start("nonroot", setup=_etc_overlay(tmp_path, keys),
                                extra=f"Include={tmp_path}/loose.conf\n"
                                      "Match User aslscan\n    AuthorizedKeysFile /etc/aslscan_keys\n")
    kinds = frozenset({"host.os", "host.auditd", "host.firewall", "host.sudoers", "host.sshd"})
    snap = _one(sshd_factory, server, tmp_path, Config(host_settings={"sudo": True}), kinds, ansible_user="aslscan")
    os_fact = snap.of_kind("host.os")[0].attributes
    assert (os_fact["login_user"], os_fact["privilege"]) == ("aslscan", "sudo")
    errors = {e.kind: e for e in snap.errors}
    for kind in ("host.auditd", "host.firewall", "host.sudoers"):
        assert errors[kind].code == "CommandMissing" and "sudo is not installed" in errors[kind].message, kind
    assert not snap.of_kind("host.auditd") and not snap.of_kind("host.firewall")
    # Without root, sshd -T cannot run and the server's config is not readable by the scan
    # user: an error, never OpenSSH's defaults.
    assert errors["host.sshd"].code == "PermissionDenied" and str(server.config) in errors["host.sshd"].message
    assert statuses(evaluate("host.sshd.password_auth_disabled", snap, Config())) == {}
    assert snap.runs[0].kinds == ("host.os",)
