"""Pure parsers on real command output captured on Debian 12 (tests/ssh/samples/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aslcheck.inventories.ssh.parsers import ParseError
from aslcheck.inventories.ssh.parsers import network as net
from aslcheck.inventories.ssh.parsers import sshd as sshdp
from aslcheck.inventories.ssh.parsers import storage as st
from aslcheck.inventories.ssh.parsers import sudoers as sudo
from aslcheck.inventories.ssh.parsers import system as sy
from aslcheck.inventories.ssh.parsers import updates as up
from aslcheck.inventories.ssh.probe import FileRecord, RecordKind

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


def test_os_identity() -> None:
    release = sy.parse_os_release(sample("os_release.txt"))
    assert (release["ID"], release["VERSION_ID"]) == ("debian", "12")
    kernel, machine = sy.parse_uname(sample("uname.txt"))
    assert kernel and machine == "x86_64"
    assert sy.parse_whoami("0\nroot\n1795781001\n") == (0, "root", 1795781001)
    with pytest.raises(ParseError):
        sy.parse_os_release("NAME=x\n")


def test_accounts() -> None:
    users = sy.parse_passwd(sample("getent_passwd.txt"))
    groups = sy.parse_group(sample("getent_group.txt"))
    assert users[0] == {"name": "root", "uid": 0, "gid": 0, "home": "/root", "shell": "/bin/bash"}
    assert any(g["name"] == "sudo" for g in groups)
    with pytest.raises(ParseError):
        sy.parse_passwd("broken:line\n")
    with pytest.raises(ParseError):
        sy.parse_group("")


def test_sudoers_real_debian_default() -> None:
    main = FileRecord("/etc/sudoers", sample("sudoers.txt").encode(), 0)
    listing = FileRecord("/etc/sudoers.d", b"ff README\0", 0, kind=RecordKind.DIR)
    readme = FileRecord("/etc/sudoers.d/README", b"# comment only\n", 0)
    parsed = sudo.parse_sudoers_files([main, listing, readme])
    assert [r["text"] for r in parsed.rules] == ["root ALL=(ALL:ALL) ALL", "%sudo ALL=(ALL:ALL) ALL"]
    assert parsed.files == ["/etc/sudoers", "/etc/sudoers.d/README"]
    assert len(parsed.defaults) == 4
    sudo_rule = parsed.rules[1]
    assert sudo_rule["users"] == [{"neg": False, "name": "%sudo"}]
    command = sudo_rule["privileges"][0]["commands"][0]
    assert (command["command"], command["args"], command["runas_users"], command["runas_groups"]) == (
        "ALL", None, [{"neg": False, "name": "ALL"}], [{"neg": False, "name": "ALL"}])
    with pytest.raises(ParseError) as info:
        sudo.parse_sudoers_files([main])  # the includedir was not listed by the probe
    assert info.value.code == "NotCollected"


def test_auditd() -> None:
    status = sy.parse_auditctl_status(sample("auditctl_s.txt"))
    assert (status["enabled"], status["pid"]) == (0, 0)
    assert sy.parse_auditctl_rules(sample("auditctl_l_empty.txt")) == []
    rules = sy.parse_auditctl_rules(sample("auditctl_l_rules.txt"))
    assert rules[0] == {"path": "/tmp/aslw_audit", "perms": "rwa", "key": "model_weights", "match": "tree"}
    assert rules[1]["perms"] == "r" and len(rules) == 3
    syscall = sy.parse_auditctl_rules("-a always,exit -F arch=b64 -S openat -F path=/srv/w/f -F perm=r -F key=k\n")
    assert syscall == [{"path": "/srv/w/f", "perms": "r", "key": "k", "match": "exact"}]


def test_systemd_states_and_no_systemd() -> None:
    assert sy.parse_unit_state("active\n", "") == "active"
    assert sy.parse_unit_state("inactive\n", "") == "inactive"
    assert sy.parse_unit_state(sample("systemctl_is_enabled.txt"), "", sy.UNIT_FILE_STATES) == "enabled"
    with pytest.raises(ParseError) as info:
        sy.parse_unit_state(sample("systemctl_no_systemd.out"), sample("systemctl_no_systemd.err"))
    assert info.value.code == "SystemdUnavailable"


def test_selinux_and_ima() -> None:
    assert sy.parse_getenforce("", 127) == "absent"
    assert sy.parse_getenforce("Enforcing\n", 0) == "enforcing"
    with pytest.raises(ParseError):
        sy.parse_getenforce("", 1)
    assert sy.parse_cmdline_ima(sample("proc_cmdline.txt")) is None
    assert sy.parse_cmdline_ima("ro quiet ima_appraise=enforce") == "enforce"


def test_sshd_t_real_output() -> None:
    settings = sshdp.parse_sshd_t(sample("sshd_T.txt"))
    assert settings["passwordauthentication"] == "yes"
    assert settings["permitrootlogin"] == "without-password"
    assert settings["x11forwarding"] == "yes" and settings["banner"] == "none"
    assert "sk-ssh-ed25519@openssh.com" in settings["pubkeyacceptedalgorithms"]
    with pytest.raises(ParseError):
        sshdp.parse_sshd_t("port 22\n")


def _listing(path: str, *names: str) -> FileRecord:
    return FileRecord(path, b"".join(f"ff {n}".encode() + b"\0" for n in names), 0, kind=RecordKind.DIR)


def test_sshd_files_real_debian_config_with_defaults() -> None:
    main = FileRecord("/etc/ssh/sshd_config", sample("sshd_config.txt").encode(), 0)
    parsed = sshdp.parse_sshd_files([main, _listing("/etc/ssh/sshd_config.d")], "/etc/ssh/sshd_config")
    assert parsed.settings["kbdinteractiveauthentication"] == "no"  # Debian sets it
    assert parsed.settings["x11forwarding"] == "yes"
    assert parsed.settings["passwordauthentication"] == "yes"  # OpenSSH default
    assert parsed.settings["pubkeyacceptedalgorithms"] == "default"
    assert "passwordauthentication" in parsed.defaulted and "x11forwarding" not in parsed.defaulted


def test_sshd_files_include_first_value_wins_and_match() -> None:
    main = FileRecord("/etc/ssh/sshd_config", b"Include sshd_config.d/*.conf\nPasswordAuthentication yes\n"
                      b"PermitRootLogin yes\nMatch User backup\n  PermitRootLogin forced-commands-only\n"
                      b"  AllowTcpForwarding yes\n", 0)
    conf = FileRecord("/etc/ssh/sshd_config.d/10-hard.conf", b"PasswordAuthentication=no\nBanner /etc/issue.net\n", 0)
    other_dir = FileRecord("/etc/ssh/other/20.conf", b"PermitRootLogin no\n", 0)
    listing = _listing("/etc/ssh/sshd_config.d", "10-hard.conf", "README")
    parsed = sshdp.parse_sshd_files([main, conf, other_dir, listing], "/etc/ssh/sshd_config")
    assert parsed.settings["passwordauthentication"] == "no"
    assert parsed.settings["banner"] == "/etc/issue.net"
    assert parsed.settings["permitrootlogin"] == "yes"
    assert parsed.match_values["permitrootlogin"] == ["forced-commands-only"]
    assert parsed.match_values["allowtcpforwarding"] == ["yes"]
    assert parsed.files == ["/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/10-hard.conf"]
    assert parsed.match_blocks == [{"criteria": "User backup", "file": "/etc/ssh/sshd_config", "line": 4,
                                    "settings": {"permitrootlogin": "forced-commands-only",
                                                 "allowtcpforwarding": "yes"}, "unknown": []}]


def test_sshd_files_unreadable_is_an_error_not_defaults() -> None:
    main = FileRecord("/etc/ssh/sshd_config", b"Include /etc/ssh/sshd_config.d/*.conf\n", 0)
    denied = FileRecord("/etc/ssh/sshd_config.d/x.conf", b"", 1,
                        "cat: /etc/ssh/sshd_config.d/x.conf: Permission denied")
    with pytest.raises(ParseError) as info:
        sshdp.parse_sshd_files([main, denied, _listing("/etc/ssh/sshd_config.d", "x.conf")], "/etc/ssh/sshd_config")
    assert info.value.code == "ReadFailed"
    with pytest.raises(ParseError):
        sshdp.parse_sshd_files([], "/etc/ssh/sshd_config")


def test_stat_and_acls() -> None:
    info = st.parse_stat(sample("stat.txt"))
    assert info == {"type": "directory", "mode": "0755", "owner": "root", "group": "root",
                    "owner_uid": 0, "group_gid": 0}
    assert st.mode_other_readable(info["mode"])
    top = st.parse_getfacl(sample("getfacl.txt"))
    assert top[0]["file"] == "/tmp/sample_w"
    assert {"tag": "group", "qualifier": "daemon", "perms": "r-x", "default": False} in top[0]["entries"]
    ext = st.parse_getfacl(sample("getfacl_skipbase.txt"))
    assert st.acl_named_principals(ext) == {"users": ["nobody"], "groups": ["daemon"]}
    masked = st.parse_getfacl("# file: x\nuser:eve:r--\t#effective:---\nmask::---\n")
    assert st.acl_named_principals(masked) == {"users": [], "groups": []}


def test_find_lists() -> None:
    items, cut = st.parse_nul_list((SAMPLES / "find_other_readable.bin").read_bytes(), 1000)
    assert "/tmp/sample_w/a.bin" in items and not cut
    items, cut = st.parse_nul_list(b"a\0b\0c\0", 2)
    assert items == ["a", "b"] and cut
    owners, cut = st.parse_owner_pairs((SAMPLES / "find_owners.bin").read_bytes(), 200)
    assert owners == [{"user": "root", "group": "root"}] and not cut


def test_mounts_and_unencrypted_root() -> None:
    mount = st.parse_findmnt(sample("findmnt_T.json"))
    assert len(mount) == 1 and mount[0]["target"] == "/"
    devices = st.parse_lsblk(sample("lsblk.json"))
    chain = st.device_chain(mount[0]["source"], devices)
    assert chain == [{"name": "vda", "type": "disk", "fstype": None}]
    assert not st.chain_encrypted(chain)
    assert st.device_chain("overlay", devices) is None
    assert len(st.parse_findmnt(sample("findmnt_all.json"))) > 5


@pytest.mark.parametrize(("source", "encrypted"), [
    ("/dev/mapper/vg0-weights", True), ("/dev/dm-1", True), ("/dev/mapper/nvme0n1p2_crypt", True),
    ("/dev/nvme0n1p3", False), ("/dev/nvme0n1p1", False),
])
def test_luks_positive_path(source: str, encrypted: bool) -> None:
    devices = st.parse_lsblk(sample("lsblk_luks_handwritten.json"))
    chain = st.device_chain(source, devices)
    assert chain is not None and st.chain_encrypted(chain) is encrypted


def test_cryptsetup_status() -> None:
    status = st.parse_cryptsetup_status(sample("cryptsetup_status_handwritten.txt"))
    assert (status["state"], status["type"], status["cipher"]) == ("active", "LUKS2", "aes-xts-plain64")


def test_nft_ruleset() -> None:
    assert net.parse_nft_ruleset(sample("nft_empty.json")) == []
    chains = {c["hook"]: c for c in net.parse_nft_ruleset(sample("nft_input_drop_output_limit.json"))}
    assert chains["input"]["policy"] == "drop" and chains["input"]["family"] == "inet"
    assert [r["conditional"] for r in chains["input"]["rules"]] == [True, True]
    assert [r["match"]["input"] for r in chains["input"]["rules"]] == ["narrow", "narrow"]
    assert chains["output"]["rules"][0]["limit_bytes_per_second"] == 10 * 1024 * 1024
    chains = {c["hook"]: c for c in net.parse_nft_ruleset(
        sample("nft_input_drop_unconditional_accept_output_drop.json"))}
    rule = chains["input"]["rules"][0]
    assert (rule["verdict"], rule["conditional"], rule["match"]) == ("accept", False, {"input": "all", "output": "all"})
    assert chains["output"]["policy"] == "drop"
    with pytest.raises(ParseError):
        net.parse_nft_ruleset("not json")


def test_iptables_save() -> None:
    assert net.parse_iptables_save(sample("iptables_save_empty.txt"), "ip") == []
    chains = {c["chain"]: c for c in net.parse_iptables_save(sample("iptables_save_drop.txt"), "ip")}
    assert chains["INPUT"]["policy"] == "drop" and chains["OUTPUT"]["policy"] == "drop"
    rule = chains["INPUT"]["rules"][0]
    assert (rule["verdict"], rule["conditional"], rule["match"]["input"]) == ("accept", True, "narrow")
    v6 = net.parse_iptables_save(sample("ip6tables_save_drop.txt"), "ip6")
    assert {c["family"] for c in v6} == {"ip6"}
    unconditional = net.parse_iptables_save("*filter\n:INPUT DROP [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n", "ip")
    assert unconditional[0]["rules"][0]["conditional"] is False


def test_routes_and_qdiscs() -> None:
    routes = net.parse_default_routes(sample("ip_route4.json"), "ip")
    assert routes == [{"family": "ip", "dev": "eth0", "gateway": "192.0.2.1"}]
    assert net.parse_default_routes("", "ip6") == []
    assert {q["dev"]: q["rate_bytes_per_second"] for q in net.parse_tc_qdiscs(sample("tc_qdisc.json"))} == {
        "lo": None, "eth0": None}
    assert net.parse_tc_qdiscs(sample("tc_qdisc_tbf.json")) == [
        {"dev": "lo", "kind": "tbf", "rate_bytes_per_second": 125000}]


def test_apt() -> None:
    pending = up.parse_apt_simulation(sample("apt_dist_upgrade.txt"))
    security = [p for p in pending if p["security"]]
    assert pending and security and len(security) < len(pending)
    assert all(any("Security" in o or "security" in o for o in p["origins"]) for p in security)
    listed = up.parse_apt_upgradable(sample("apt_list_upgradable.txt"))
    listed_security = {p["package"] for p in listed if p["security"]}
    assert len(listed) == 141 and len(listed_security) == 91
    same_day = up.parse_apt_simulation(sample("apt_dist_upgrade_same_day.txt"))  # captured with the list
    assert {p["package"] for p in same_day} == {p["package"] for p in listed}
    assert {p["package"] for p in same_day if p["security"]} == listed_security
    apt = next(p for p in listed if p["package"] == "apt")
    assert (apt["current"], apt["candidate"], apt["origins"], apt["security"]) == (
        "2.6.1", "2.6.2", ["oldstable-security"], True)
    ubuntu = up.parse_apt_upgradable("Listing... Done\nlibssl3/jammy-updates,jammy-security 3.0.2-0ubuntu1.15 "
                                     "amd64 [upgradable from: 3.0.2-0ubuntu1.14]\n")
    assert ubuntu[0]["security"] is True
    with pytest.raises(ParseError):
        up.parse_apt_upgradable("Listing...\nsomething unexpected\n")
    assert up.parse_apt_lists(sample("apt_lists.txt")) == 1795781001
    assert up.parse_apt_unattended(sample("apt_unattended_absent.txt")) == {
        "package_installed": False, "periodic_unattended_upgrade": None}
    enabled = up.parse_apt_unattended('install ok installed\nAPT::Periodic::Unattended-Upgrade "1";\n')
    assert enabled == {"package_installed": True, "periodic_unattended_upgrade": "1"}
    assert up.parse_package_managers("/usr/bin/apt-get\n") == "apt"


def test_dnf() -> None:
    advisories = up.parse_dnf_updateinfo(sample("dnf_updateinfo_info_handwritten.txt"))
    assert [a["id"] for a in advisories] == ["RHSA-2024:0310", "RHSA-2024:0452"]
    assert advisories[1]["issued_epoch"] < advisories[0]["issued_epoch"] + 10 * 86400
    assert advisories[0]["severity"] == "Important"
    assert up.parse_dnf_automatic_conf("[commands]\napply_updates = yes\n") is True
    assert up.parse_dnf_automatic_conf("[commands]\napply_updates = no\n") is False


def test_devices_under_a_path_map_to_their_filesystems() -> None:
    """Real output from a mount namespace: a tmpfs weight path with a symlink to a bind-mounted disk file."""
    mounts = st.parse_findmnt(sample("findmnt_dev_bind_tmpfs.json"))
    devices = st.parse_lsblk(sample("lsblk.json"))
    numbers, cut = st.parse_device_numbers(sample("find_devices_tmpfs_link.txt"), 64)
    assert (numbers, cut) == ([40, 65024], False)
    tmpfs, disk = (st.volume_for(n, mounts, devices) for n in numbers)
    assert (tmpfs["dev"], tmpfs["fstype"], tmpfs["encrypted"]) == ("0:40", "tmpfs", None)
    assert "not a block device" in tmpfs["note"]
    assert (disk["dev"], disk["source"], disk["encrypted"]) == ("254:0", "/dev/vda", False)
    assert "/tmp/bindcap/dst" in disk["mounts"]  # the bind mount is the same filesystem
    (bind,) = st.parse_findmnt(sample("findmnt_T_bind.json"))
    assert (bind["source"], bind["fsroot"], bind["majmin"]) == ("/dev/vda[/tmp/bindcap/src]", "/tmp/bindcap/src",
                                                                "254:0")
    assert st.volume_for(12345678, mounts, devices)["note"].startswith("no mounted filesystem")
    with pytest.raises(ParseError):
        st.parse_device_numbers("254:0\n", 64)
