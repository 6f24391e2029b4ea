"""Every host check on hand-built snapshots: empty, pass, fail, mixed, with exact resource-ID sets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.interface import CheckContext, Status
from aslcheck.controls.config import PARAM_SPECS, Access, Config
from aslcheck.inventories.snapshot import Resource, Snapshot

HOST_CHECKS = sorted(s.id for s in default_registry() if s.id.startswith("host."))

USERS = [{"name": "root", "uid": 0, "gid": 0, "home": "/root", "shell": "/bin/bash"},
         {"name": "svc", "uid": 900, "gid": 900, "home": "/srv", "shell": "/usr/sbin/nologin"},
         {"name": "eve", "uid": 1000, "gid": 1000, "home": "/home/eve", "shell": "/bin/bash"}]
GROUPS = [{"name": "root", "gid": 0, "members": []}, {"name": "weights", "gid": 900, "members": []},
          {"name": "staff", "gid": 1001, "members": ["eve"]}, {"name": "eve", "gid": 1000, "members": []}]


def res(kind: str, rid: str, host: str, **attrs: Any) -> Resource:
    return Resource(kind=kind, id=rid, source="ssh", attributes=attrs, host=host)


def wpath(host: str, path: str = "/srv/w", **over: Any) -> Resource:
    attrs: dict[str, Any] = {"path": path, "declared_by": ["w"], "exists": True, "type": "directory",
                             "mode": "0750", "owner": "root", "group": "weights", "owner_uid": 0,
                             "group_gid": 900,
                             "acl": [{"tag": "user", "qualifier": None, "perms": "rwx", "default": False}],
                             "acl_named": {"users": [], "groups": []}, "acl_extended_files": [],
                             "acl_extended_truncated": False, "other_readable": [],
                             "other_readable_truncated": False,
                             "owners": [{"user": "svc", "group": "weights"}], "owners_truncated": False,
                             "real_path": path, "link_targets": [], "links_truncated": False}
    attrs.update(over)
    return res("host.weight_path", f"{host}:{path}", host, **attrs)


CRYPT = [{"name": "data", "type": "crypt", "fstype": "ext4"}, {"name": "sda2", "type": "part", "fstype": "crypto_LUKS"}]
PLAIN = [{"name": "sda3", "type": "part", "fstype": "ext4"}]


def vol(dev: str, chain: list[dict[str, Any]] | None, encrypted: bool | None, mount: str = "/srv") -> dict[str, Any]:
    return {"dev": dev, "mounts": [mount], "source": "/dev/mapper/data" if encrypted else "/dev/sda3",
            "fstype": "ext4" if chain else "tmpfs", "device_chain": chain, "encrypted": encrypted,
            "note": None if chain else "tmpfs tmpfs is not a block device lsblk reports"}


def volume(host: str, encrypted: bool, path: str = "/srv/w", extra: list[dict[str, Any]] | None = None) -> Resource:
    volumes = [vol("254:1", CRYPT, True) if encrypted else vol("8:3", PLAIN, False), *(extra or [])]
    states = [v["encrypted"] for v in volumes]
    return res("host.weight_volume", f"{host}:{path}", host, path=path,
               mount={"target": "/srv", "source": "/dev/mapper/data" if encrypted else "/dev/sda3",
                      "fstype": "ext4", "options": "rw"},
               device_chain=CRYPT if encrypted else PLAIN, volumes=volumes,
               encrypted=False if False in states else (None if None in states else True),
               crypt_status=None, crypt_status_note=None)


HARD_SSHD = {"passwordauthentication": "no", "kbdinteractiveauthentication": "no", "permitrootlogin": "no",
             "allowtcpforwarding": "no", "allowagentforwarding": "no", "allowstreamlocalforwarding": "no",
             "disableforwarding": "no", "permittunnel": "no", "x11forwarding": "no",
             "banner": "/etc/issue.net", "pubkeyauthentication": "yes",
             "pubkeyacceptedalgorithms": "sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com",
             "pubkeyauthoptions": "touch-required", "authenticationmethods": "any",
             "hostbasedauthentication": "no", "gssapiauthentication": "no"}


def sshd(host: str, match: Mapping[str, list[str]] | None = None, blocks: list[dict[str, Any]] | None = None,
         **over: str) -> Resource:
    settings = {**HARD_SSHD, **over}
    mv = {k: [] for k in HARD_SSHD} | dict(match or {})
    return res("host.sshd", host, host, source="sshd -T", config_file="/etc/ssh/sshd_config",
               settings=settings, match_values=mv, match_blocks=blocks or [], files_read=["/etc/ssh/sshd_config"])


def accounts(host: str) -> Resource:
    return res("host.accounts", host, host, users=USERS, groups=GROUPS)


def sudoers(host: str, *rules: dict[str, Any]) -> Resource:
    return res("host.sudoers", host, host, rules=list(rules), aliases={"user": {}, "runas": {}, "host": {}, "cmnd": {}},
               defaults=[], files_read=["/etc/sudoers"])


def sudo_rule(user: str, command: str, args: list[str] | None = None, runas: str | None = None) -> dict[str, Any]:
    runas_users = None if runas is None else [{"neg": False, "name": runas}]
    return {"file": "/etc/sudoers", "line": 1, "text": f"{user} ALL = {command}",
            "users": [{"neg": False, "name": user}],
            "privileges": [{"hosts": [{"neg": False, "name": "ALL"}],
                            "commands": [{"neg": False, "command": command, "args": args, "tags": [], "options": {},
                                          "digest": False, "runas_users": runas_users, "runas_groups": None}]}]}


def auditd(host: str, enabled: int = 1, pid: int = 42, watches: list[dict[str, Any]] | None = None) -> Resource:
    return res("host.auditd", host, host, installed=True, enabled=enabled, daemon_pid=pid,
               watches=watches if watches is not None else
               [{"path": "/srv", "perms": "rwa", "key": "weights", "match": "tree"}])


def chain(family: str, hook: str, policy: str, rules: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"source": "nft", "family": family, "table": "f", "chain": hook, "hook": hook, "policy": policy,
            "rules": rules or []}


ACCEPT_ALL = {"verdict": "accept", "conditional": False, "limit_bytes_per_second": None,
              "match": {"input": "all", "output": "all"}}
ACCEPT_SSH = {"verdict": "accept", "conditional": True, "limit_bytes_per_second": None,
              "match": {"input": "narrow", "output": "all"}, "conditions": ["tcp dport == 22"]}
ACCEPT_INTERNAL = {"verdict": "accept", "conditional": True, "limit_bytes_per_second": None,
                   "match": {"input": "all", "output": "narrow"}, "conditions": ["ip daddr == 10.0.0.0/8"]}
ACCEPT_MARK = {"verdict": "accept", "conditional": True, "limit_bytes_per_second": None,
               "match": {"input": "unknown", "output": "unknown"}, "conditions": ["meta mark == 1"]}
LEGACY_CONDITIONAL = {"verdict": "accept", "conditional": True, "limit_bytes_per_second": None}


def firewall(host: str, *chains: dict[str, Any]) -> Resource:
    return res("host.firewall", host, host, tools={"nft": "read", "iptables": "absent", "ip6tables": "absent"},
               chains=list(chains))


def egress(host: str, rate: int | None = None) -> Resource:
    return res("host.egress", host, host,
               default_routes=[{"family": "ip", "dev": "eth0", "gateway": "10.0.0.1"}],
               egress_interfaces=["eth0"],
               qdiscs=[{"dev": "eth0", "kind": "tbf" if rate else "fq_codel", "rate_bytes_per_second": rate}])


def exec_control(host: str, fapolicyd: str = "inactive", selinux: str = "absent",
                 ima: str | None = None) -> Resource:
    return res("host.exec_control", host, host, fapolicyd=fapolicyd, selinux=selinux, ima_appraise=ima,
               noexec_mounts=["/dev/shm"], world_writable_mounts={"/dev/shm": True})


NOW = 1_800_000_000
DAY = 86400


def updates(host: str, pending: list[dict[str, Any]] | None = None, index_age_days: int = 1,
            auto: bool = True) -> Resource:
    return res("host.updates", host, host, manager="apt", pending_security=pending or [], pending_total=0,
               index_epoch=NOW - index_age_days * DAY, host_time_epoch=NOW,
               auto_updates={"mechanism": "unattended-upgrades", "enabled": auto})


def edr(host: str, **states: str) -> Resource:
    return res("host.edr", host, host, declared_units=sorted(states), states=dict(states))


BASE_CONFIG = Config(access=Access(host_roster=("svc",)),
                     parameters={**{n: s.default for n, s in PARAM_SPECS.items()},
                                 "egress_budget_bytes_per_hour": 3600 * 1_000_000},
                     host_settings={"hardware_keys_required": True})


@dataclass(frozen=True)
class Case:
    check: str
    resources: tuple[Resource, ...]
    expected: dict[str, Status]
    config: Config = BASE_CONFIG
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


P, F, E, NA = Status.PASS, Status.FAIL, Status.ERROR, Status.NOT_APPLICABLE
DROP_IN = (chain("inet", "input", "drop", [ACCEPT_SSH]),)

CASES = [
    # weights.not_world_readable
    Case("host.weights.not_world_readable", (wpath("a"), wpath("b", mode="0755"),
                                             wpath("c", other_readable=["/srv/w/x"]),
                                             wpath("d", exists=False),
                                             res("host.weight_path", "e:/srv/w", "e", path="/srv/w", exists=True),
                                             wpath("f", acl=[{"tag": "other", "qualifier": None, "perms": "r--",
                                                              "default": True}])),
         {"a:/srv/w": P, "b:/srv/w": F, "c:/srv/w": F, "d:/srv/w": E, "e:/srv/w": E, "f:/srv/w": F}),
    # weights.group_within_roster
    Case("host.weights.group_within_roster",
         (wpath("a"), accounts("a"), sudoers("a"), wpath("b", group="staff"), accounts("b"), sudoers("b"),
          wpath("c", acl_named={"users": ["eve"], "groups": []}), accounts("c"), sudoers("c"),
          wpath("d"), sudoers("d"), wpath("e", owners_truncated=True), accounts("e"), sudoers("e"),
          wpath("g", owners=[{"user": "svc", "group": "4242"}]), accounts("g"), sudoers("g"),
          wpath("h"), accounts("h"),
          wpath("i"), accounts("i"), sudoers("i", sudo_rule("eve", "ALL", runas="ALL")),
          wpath("j"), accounts("j"), sudoers("j", sudo_rule("eve", "/bin/cat", ["*"])),
          wpath("k"), accounts("k"), sudoers("k", sudo_rule("eve", "/usr/local/bin/report")),
          wpath("l"), accounts("l"), sudoers("l", sudo_rule("svc", "/usr/local/bin/report")),
          wpath("m"), accounts("m"), sudoers("m", sudo_rule("eve", "/usr/bin/id")),
          wpath("n", real_path="/data/w", links_truncated=True), accounts("n"), sudoers("n")),
         {"a:/srv/w": P, "b:/srv/w": F, "c:/srv/w": F, "d:/srv/w": E, "e:/srv/w": E, "g:/srv/w": E,
          "h:/srv/w": E, "i:/srv/w": F, "j:/srv/w": F, "k:/srv/w": E, "l:/srv/w": P, "m:/srv/w": P,
          "n:/srv/w": E}),
    Case("host.weights.group_within_roster", (wpath("a"), accounts("a"), sudoers("a")), {"a:/srv/w": F},
         config=Config(access=Access(host_roster=()))),
    # weights.encrypted_volume: every filesystem under the path counts
    Case("host.weights.encrypted_volume",
         (volume("a", True), volume("b", False), res("host.weight_volume", "c:/srv/w", "c", path="/srv/w"),
          volume("d", True, extra=[vol("8:3", PLAIN, False, "/srv/w/cache")]),
          volume("e", True, extra=[vol("0:42", None, None, "/srv/w/tmp")]),
          volume("f", False, extra=[vol("0:42", None, None, "/srv/w/tmp")])),
         {"a:/srv/w": P, "b:/srv/w": F, "c:/srv/w": E, "d:/srv/w": F, "e:/srv/w": E, "f:/srv/w": F}),
    # auditd
    Case("host.auditd.active", (auditd("a"), auditd("b", enabled=0), auditd("c", pid=0),
                                res("host.auditd", "d", "d", installed=True)),
         {"a": P, "b": F, "c": F, "d": E}),
    Case("host.auditd.weights_watched",
         (wpath("a"), auditd("a"), wpath("b"), auditd("b", watches=[]),
          wpath("c"), auditd("c", watches=[{"path": "/srv/w", "perms": "wa", "key": None, "match": "tree"}]),
          wpath("d"), auditd("d", enabled=0), wpath("e"),
          wpath("f"), auditd("f", watches=[{"path": "/sr", "perms": "r", "key": None, "match": "tree"}]),
          # /srv/w is a symlink to /data/w: a watch on /srv covers the link, not the bytes
          wpath("g", real_path="/data/w"), auditd("g"),
          wpath("h", real_path="/data/w"),
          auditd("h", watches=[{"path": "/data", "perms": "r", "key": "w", "match": "tree"}]),
          wpath("i", link_targets=["/mnt/shards"]), auditd("i"),
          wpath("j", link_targets=["/mnt/shards"]),
          auditd("j", watches=[{"path": "/srv", "perms": "r", "key": "w", "match": "tree"},
                               {"path": "/mnt/shards", "perms": "r", "key": "s", "match": "tree"}])),
         {"a:/srv/w": P, "b:/srv/w": F, "c:/srv/w": F, "d:/srv/w": F, "e:/srv/w": E, "f:/srv/w": F,
          "g:/srv/w": F, "h:/srv/w": P, "i:/srv/w": F, "j:/srv/w": P}),
    # sshd
    Case("host.sshd.password_auth_disabled",
         (sshd("a"), sshd("b", passwordauthentication="yes"), sshd("c", kbdinteractiveauthentication="yes"),
          sshd("d", match={"passwordauthentication": ["yes"]}), res("host.sshd", "e", "e", source="x")),
         {"a": P, "b": F, "c": F, "d": F, "e": E}),
    Case("host.sshd.root_login_disabled",
         (sshd("a"), sshd("b", permitrootlogin="without-password"),
          sshd("c", match={"permitrootlogin": ["yes"]})), {"a": P, "b": F, "c": F}),
    Case("host.sshd.forwarding_disabled",
         (sshd("a"), sshd("b", allowtcpforwarding="local"), sshd("c", x11forwarding="yes"),
          sshd("d", permittunnel="point-to-point"),
          sshd("e", disableforwarding="yes", allowtcpforwarding="yes", x11forwarding="yes"),
          sshd("f", disableforwarding="yes", permittunnel="yes"),
          sshd("g", match={"allowtcpforwarding": ["yes"]}),
          sshd("h", allowstreamlocalforwarding="yes"),
          sshd("i", disableforwarding="yes", allowtcpforwarding="yes", match={"disableforwarding": ["no"]}),
          sshd("j", blocks=[{"criteria": "User ops", "file": "/etc/ssh/sshd_config", "line": 9,
                             "settings": {}, "unknown": ["futureforwarding"]}])),
         {"a": P, "b": F, "c": F, "d": F, "e": P, "f": F, "g": F, "h": F, "i": F, "j": E}),
    Case("host.sshd.banner", (sshd("a"), sshd("b", banner="none"), sshd("c", match={"banner": ["none"]})),
         {"a": P, "b": F, "c": F}),
    Case("host.sshd.hardware_keys",
         (sshd("a"), sshd("b", pubkeyacceptedalgorithms="sk-ssh-ed25519@openssh.com,ssh-ed25519"),
          sshd("c", pubkeyacceptedalgorithms="default"), sshd("d", passwordauthentication="yes"),
          sshd("e", hostbasedauthentication="yes"), sshd("f", match={"gssapiauthentication": ["yes"]})),
         {"a": P, "b": F, "c": F, "d": F, "e": F, "f": F}),
    Case("host.sshd.hardware_keys", (sshd("a"), sshd("b", banner="none")), {"a": NA, "b": NA},
         config=Config()),
    # firewall
    Case("host.firewall.default_deny_inbound",
         (firewall("a", *DROP_IN), firewall("b", chain("inet", "input", "drop", [ACCEPT_ALL])),
          firewall("c", chain("ip", "input", "drop")),
          firewall("d", chain("ip", "input", "drop"), chain("ip6", "input", "drop")),
          firewall("e"), firewall("f", chain("inet", "output", "drop")),
          firewall("g", chain("inet", "input", "drop", [ACCEPT_SSH, ACCEPT_MARK])),
          firewall("h", chain("inet", "input", "drop", [LEGACY_CONDITIONAL])),
          firewall("i", chain("inet", "input", "drop", [ACCEPT_MARK, ACCEPT_ALL])),
          firewall("j", {**chain("inet", "input", "drop", [ACCEPT_SSH]), "table_state": "dormant"}),
          firewall("k", {**chain("inet", "input", "drop", [ACCEPT_SSH]), "table_state": "unknown"})),
         {"a": P, "b": F, "c": F, "d": P, "e": F, "f": F, "g": E, "h": E, "i": F, "j": F, "k": E}),
    Case("host.egress.limited",
         (egress("a"), firewall("a", chain("inet", "output", "drop", [ACCEPT_INTERNAL])),
          egress("b", rate=1_000_000), firewall("b"),
          egress("c", rate=2_000_000), firewall("c"),
          egress("d"), firewall("d", chain("inet", "output", "accept", [
              {"verdict": "drop", "conditional": True, "limit_bytes_per_second": 500_000}])),
          egress("e"), firewall("e", chain("inet", "output", "accept", [
              ACCEPT_SSH, {"verdict": "drop", "conditional": True, "limit_bytes_per_second": 500_000}])),
          egress("f"), firewall("f", chain("ip", "output", "drop")),
          egress("g"),
          egress("h"), firewall("h", chain("inet", "output", "drop", [ACCEPT_SSH])),
          egress("i"), firewall("i", chain("inet", "output", "drop", [ACCEPT_MARK]))),
         {"a": P, "b": P, "c": F, "d": P, "e": F, "f": F, "g": E, "h": F, "i": E}),
    Case("host.egress.limited", (egress("a", rate=1),  firewall("a")), {"a": E}, config=Config()),
    # exec
    Case("host.exec.allowlisting",
         (exec_control("a", fapolicyd="active"), exec_control("b", selinux="enforcing"),
          exec_control("c", ima="enforce"), exec_control("d", selinux="permissive"),
          res("host.exec_control", "e", "e", selinux="absent", ima_appraise=None)),
         {"a": P, "b": P, "c": P, "d": F, "e": E}),
    # edr
    Case("host.edr.active", (edr("a", **{"falcon-sensor.service": "active"}),
                             edr("b", **{"falcon-sensor.service": "inactive"}), edr("c"),
                             res("host.edr", "d", "d")),
         {"a": P, "b": F, "c": E, "d": E}),
    # updates
    Case("host.updates.security_current",
         (updates("a"), updates("b", pending=[{"package": "openssl", "candidate": "3", "issued_epoch": None}]),
          updates("c", index_age_days=30), updates("d", auto=False),
          updates("e", pending=[{"package": "RHSA-1", "candidate": "Important", "issued_epoch": NOW - 2 * DAY}]),
          updates("f", pending=[{"package": "RHSA-2", "candidate": "Important", "issued_epoch": NOW - 20 * DAY}]),
          res("host.updates", "g", "g", manager="apt")),
         {"a": P, "b": F, "c": F, "d": F, "e": P, "f": F, "g": E}),
]


def run(check_id: str, resources: tuple[Resource, ...], config: Config) -> dict[str, Status]:
    spec = default_registry().get(check_id)
    snap = Snapshot(resources=resources)
    subjects = tuple(r for r in snap.resources if r.kind in spec.subjects)
    findings = list(spec.evaluate(CheckContext(snapshot=snap, config=config, resources=subjects)))
    for f in findings:
        assert f.reason and f.check == check_id and f.source == "ssh"
        if f.status in (Status.PASS, Status.FAIL):
            assert f.evidence, f
    return {f.resource or "": f.status for f in findings}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.check}-{i}" for i, c in enumerate(CASES)])
def test_table(case: Case) -> None:
    assert run(case.check, case.resources, case.config) == case.expected


@pytest.mark.parametrize("check_id", HOST_CHECKS)
def test_empty_snapshot_yields_no_findings(check_id: str) -> None:
    assert run(check_id, (), BASE_CONFIG) == {}


def test_every_host_check_has_a_table_row_with_pass_and_fail() -> None:
    for check_id in HOST_CHECKS:
        seen = {s for c in CASES if c.check == check_id for s in c.expected.values()}
        assert {P, F} <= seen, check_id
        assert any(len(c.expected) > 1 for c in CASES if c.check == check_id), check_id


def test_exact_ids() -> None:
    assert sorted([
        "host.auditd.active", "host.auditd.weights_watched", "host.edr.active", "host.egress.limited",
        "host.exec.allowlisting", "host.firewall.default_deny_inbound", "host.sshd.banner",
        "host.sshd.forwarding_disabled", "host.sshd.hardware_keys", "host.sshd.password_auth_disabled",
        "host.sshd.root_login_disabled", "host.updates.security_current", "host.weights.encrypted_volume",
        "host.weights.group_within_roster", "host.weights.not_world_readable"]) == HOST_CHECKS
