"""Sudo rules that make non-roster users readers of weights: parsed sample sudoers trees through the check.

The sample trees (tests/ssh/samples/sudoers/<case>/etc/...) were each validated with visudo
and cross-checked against ``sudo -l -U`` of the real sudo 1.9.13p3 (samples/sudoers/README.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.host.sudo import Capability, command_capability
from aslcheck.checks.interface import CheckContext, Finding, Status
from aslcheck.controls.config import Access, Config
from aslcheck.inventories.snapshot import Resource, Snapshot
from aslcheck.inventories.ssh.parsers import ParseError
from aslcheck.inventories.ssh.parsers.sudoers import sudoers_fact
from tests.ssh.sample_trees import SAMPLES, record, tree_records

USERS = [{"name": "root", "uid": 0, "gid": 0, "home": "/root", "shell": "/bin/bash"},
         {"name": "svc", "uid": 900, "gid": 900, "home": "/srv", "shell": "/usr/sbin/nologin"},
         {"name": "eve", "uid": 1000, "gid": 1000, "home": "/home/eve", "shell": "/bin/bash"},
         {"name": "bob", "uid": 1001, "gid": 1001, "home": "/home/bob", "shell": "/bin/bash"}]
GROUPS = [{"name": "root", "gid": 0, "members": []}, {"name": "weights", "gid": 900, "members": []},
          {"name": "eve", "gid": 1000, "members": []}, {"name": "bob", "gid": 1001, "members": []},
          {"name": "staff", "gid": 1002, "members": ["eve"]}, {"name": "sudo", "gid": 27, "members": []}]
CONFIG = Config(access=Access(host_roster=("svc",)))
P, F, E = Status.PASS, Status.FAIL, Status.ERROR

# case -> (status, readers outside the roster)
EXPECTED: dict[str, tuple[Status, set[str]]] = {
    # ALL / becoming the owner / file readers
    "all_as_root": (F, {"eve"}), "become_owner": (F, {"eve"}), "runas_all_but_root": (F, {"eve"}),
    "all_but_shell": (F, {"eve"}), "everyone": (F, {"eve", "bob"}), "setenv": (F, {"eve"}),
    "cat_wildcard": (F, {"eve"}), "tar_parent": (F, {"eve"}), "continuation": (F, {"eve"}),
    # editors, pagers, sudoedit, command directories and globs
    "pager_fixed_file": (F, {"eve"}), "editor_fixed_file": (F, {"eve"}), "sudoedit_weights": (F, {"eve"}),
    "directory_command": (F, {"eve"}), "wildcard_command": (F, {"eve"}),
    # groups, uids, Runas groups, aliases
    "group_rule": (F, {"eve"}), "uid_not_comment": (F, {"eve"}), "runas_group": (F, {"eve"}),
    "aliases": (F, {"eve"}), "other_host_group": (F, {"eve"}),
    # includes
    "include_file": (F, {"eve"}), "include_relative": (F, {"eve"}), "includedir_other": (F, {"eve"}),
    # not decided
    "unknown_command": (E, set()), "literal_tmp_file": (E, set()), "netgroup": (E, set()),
    # nothing outside the roster
    "harmless": (P, set()), "negated_users": (P, set()), "debian_default": (P, set()),
}
UNREADABLE = {"syntax_error": "BadSudoers", "nsswitch_sss": "NotDecided", "sudo_conf_other_file": "NotDecided"}


def sudoers_resource(case: str) -> Resource:
    recs = tree_records(SAMPLES / "sudoers" / case)
    attrs = sudoers_fact([r for r in recs if r.name.startswith("/etc/sudoers")], record(recs, "/etc/sudo.conf"),
                         record(recs, "/etc/nsswitch.conf"))
    return Resource(kind="host.sudoers", id="h", source="ssh", host="h", attributes=dict(attrs))


def weight_path(**over: Any) -> Resource:
    attrs: dict[str, Any] = {"path": "/srv/w", "declared_by": ["w"], "exists": True, "type": "directory",
                             "mode": "0750", "owner": "svc", "group": "weights", "owner_uid": 900, "group_gid": 900,
                             "acl": [], "acl_named": {"users": [], "groups": []}, "acl_extended_files": [],
                             "acl_extended_truncated": False, "other_readable": [], "other_readable_truncated": False,
                             "owners": [{"user": "svc", "group": "weights"}], "owners_truncated": False,
                             "real_path": "/srv/w", "link_targets": [], "links_truncated": False, **over}
    return Resource(kind="host.weight_path", id="h:/srv/w", source="ssh", host="h", attributes=attrs)


def roster_finding(sudoers: Resource | None, groups: list[dict[str, Any]] = GROUPS, **over: Any) -> Finding:
    accounts = Resource(kind="host.accounts", id="h", source="ssh", host="h", attributes={"users": USERS,
                                                                                          "groups": groups})
    resources = tuple(r for r in (weight_path(**over), accounts, sudoers) if r is not None)
    spec = default_registry().get("host.weights.group_within_roster")
    snap = Snapshot(resources=resources)
    subjects = tuple(r for r in resources if r.kind == "host.weight_path")
    (finding,) = spec.evaluate(CheckContext(snapshot=snap, config=CONFIG, resources=subjects))
    return finding


def test_every_sample_tree_has_an_expectation() -> None:
    cases = {p.name for p in (SAMPLES / "sudoers").iterdir() if p.is_dir()}
    assert cases == set(EXPECTED) | set(UNREADABLE)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_sudo_rules_count_as_readers(case: str) -> None:
    status, outside = EXPECTED[case]
    finding = roster_finding(sudoers_resource(case))
    assert finding.status is status, finding.reason
    assert set(finding.evidence["outside_roster"]) == outside
    if status is F:
        assert all(any(w.startswith("sudo rule /etc/sudoers") for w in ways)
                   for ways in finding.evidence["outside_roster"].values()), finding.evidence
    if status is E:
        assert finding.evidence["sudo_undecided"], finding.reason


@pytest.mark.parametrize(("case", "code"), sorted(UNREADABLE.items()))
def test_sudo_policy_that_cannot_be_read_is_an_error(case: str, code: str) -> None:
    with pytest.raises(ParseError) as info:
        sudoers_resource(case)
    assert info.value.code == code
    finding = roster_finding(None)  # the collector then records an error and no host.sudoers fact
    assert finding.status is E and "host.sudoers" in finding.reason


def test_group_members_and_symlink_targets_are_used() -> None:
    in_sudo = [g if g["name"] != "sudo" else {**g, "members": ["bob"]} for g in GROUPS]
    finding = roster_finding(sudoers_resource("debian_default"), in_sudo)
    assert finding.status is F and set(finding.evidence["outside_roster"]) == {"bob"}
    # sudoedit on the symlink target of the weights reads them too
    target = Resource(kind="host.sudoers", id="h", source="ssh", host="h", attributes={
        **sudoers_resource("sudoedit_weights").attributes})
    finding = roster_finding(target, path="/opt/models", real_path="/srv/w")
    assert finding.status is F
    finding = roster_finding(target, path="/opt/models", real_path="/data/models", link_targets=["/srv/w/x"])
    assert finding.status is F


def test_roster_users_may_run_anything() -> None:
    finding = roster_finding(sudoers_resource("unknown_command"))
    assert finding.status is E
    config_with_eve = Config(access=Access(host_roster=("svc", "eve")))
    spec = default_registry().get("host.weights.group_within_roster")
    resources = (weight_path(), Resource(kind="host.accounts", id="h", source="ssh", host="h",
                                         attributes={"users": USERS, "groups": GROUPS}),
                 sudoers_resource("unknown_command"))
    (finding,) = spec.evaluate(CheckContext(snapshot=Snapshot(resources=resources), config=config_with_eve,
                                            resources=resources[:1]))
    assert finding.status is P


@pytest.mark.parametrize(("command", "args", "expected"), [
    ("ALL", None, Capability.FULL), ("/bin/bash", ["-c", "id"], Capability.FULL),
    ("/usr/bin/vim", ["/etc/motd"], Capability.FULL), ("/usr/bin/less", ["/var/log/syslog"], Capability.FULL),
    ("/usr/bin/find", None, Capability.FULL), ("/usr/bin/find", ["/var/log", "-name", "*.gz"], Capability.FULL),
    ("/bin/cat", None, Capability.READ), ("/bin/cat", ["/srv/w/model.bin"], Capability.READ),
    ("/bin/cat", ["/var/log/../../srv/w/x"], Capability.READ), ("/bin/tar", ["-cf", "/tmp/x", "/srv"], Capability.FULL),
    ("/bin/cat", ["/proc/mdstat"], Capability.NONE), ("/bin/cat", ["/tmp/report"], Capability.MAYBE),
    ("/bin/cat", ["report.txt"], Capability.MAYBE), ("/usr/bin/id", None, Capability.NONE),
    ("/usr/local/bin/tool", None, Capability.MAYBE), ("sudoedit", ["/etc/motd"], Capability.NONE),
    ("sudoedit", ["/srv/*"], Capability.READ), ("/usr/sbin/", None, Capability.FULL),
    ("/usr/bin/c?t", None, Capability.FULL), ("^/usr/bin/.*$", None, Capability.MAYBE),
])
def test_command_capability(command: str, args: list[str] | None, expected: Capability) -> None:
    cmd = {"command": command, "args": args, "tags": []}
    assert command_capability(cmd, ["/srv/w"]) is expected
