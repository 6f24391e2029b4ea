"""Who can read a weight path through sudo: rules of ``host.sudoers`` against the host's accounts.

A user counts as a reader when a sudo rule lets them run, as root or as someone who can read
the path (its owner, a member of an owning or ACL group, a named ACL user), a command that can
read it: ``ALL``, anything that can start a shell or open arbitrary files (shells,
interpreters, editors, pagers, ``find``, ``env``...), a file reader (``cat``, ``less``, ``cp``,
``tar``...) with unrestricted or wildcard arguments or an argument at, above or below the
path, or ``sudoedit`` on it. Running such a command with a Runas group that owns the path, or
as a user who is a reader through sudo (transitively), counts too. User and Runas lists are
matched the way sudo does (last match wins, aliases, ``%group``, ``#uid``); negated commands
are ignored, which can only over-count. What cannot be decided (an unknown command run as
root, a netgroup, a group the host does not list, a literal argument that could be a symlink)
is reported as undecided, which the check turns into ERROR.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from aslcheck.checks.host.common import group_members


class Capability(Enum):
    """What running one sudo command gives the user, for one weight path."""

    FULL = "full"
    """Anything the target user can do (a shell or its equivalent)."""
    READ = "read"
    """Reading the weight path's files as the target user."""
    MAYBE = "maybe"
    """Not decided: the command might read them."""
    NONE = "none"
    """Cannot read them."""


INTERACTIVE = frozenset({
    "sh", "bash", "dash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish", "ash", "busybox", "su", "sudo", "sudoedit",
    "doas", "runuser", "setpriv", "env", "nohup", "nice", "ionice", "chrt", "taskset", "timeout", "time", "stdbuf",
    "flock", "setsid", "script", "expect", "tmux", "screen", "watch", "xargs", "strace", "ltrace", "gdb",
    "python", "python2", "python3", "perl", "ruby", "irb", "lua", "node", "nodejs", "php", "tclsh", "wish", "awk",
    "gawk", "mawk", "nawk", "vi", "vim", "view", "rvim", "nvim", "ex", "ed", "nano", "pico", "emacs", "joe", "mc",
    "less", "more", "most", "pg", "man", "journalctl", "systemctl", "git", "ftp", "sftp", "ssh", "scp", "socat",
    "make", "docker", "podman", "kubectl", "crontab", "at", "sqlite3", "mysql", "psql", "openssl", "zip", "unzip",
    "find", "rsync", "tar", "cpio", "dd", "cp", "mv", "install", "ln", "tee", "chmod", "chown", "chgrp", "setfacl",
    "mount", "umount", "chroot", "unshare", "nsenter", "capsh", "pkexec", "dpkg", "apt", "apt-get", "yum", "dnf",
    "rpm", "pip", "pip3", "npm", "sed", "zless", "zmore", "vipw", "vigr", "visudo", "service", "logrotate",
})
"""Programs that can start a shell or write/copy arbitrary files when their arguments are chosen freely."""
ESCAPES_WITH_ANY_ARGS = frozenset({
    "sh", "bash", "dash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish", "ash", "busybox", "su", "sudo",
    "python", "python2", "python3", "perl", "ruby", "irb", "lua", "node", "nodejs", "php", "tclsh", "wish",
    "vi", "vim", "view", "rvim", "nvim", "ex", "ed", "nano", "pico", "emacs", "joe", "mc", "less", "more", "most",
    "pg", "man", "journalctl", "systemctl", "git", "ftp", "sqlite3", "mysql", "psql", "gdb", "zless", "zmore",
    "vipw", "vigr", "script", "expect", "tmux", "screen", "awk", "gawk", "mawk", "nawk",
})
"""Programs that escape to a shell or open other files whatever their arguments (editors, pagers, REPLs)."""
READERS = frozenset({
    "cat", "tac", "head", "tail", "nl", "od", "xxd", "hexdump", "hd", "base32", "base64", "basenc", "strings",
    "grep", "egrep", "fgrep", "rgrep", "zgrep", "zcat", "bzcat", "xzcat", "zstdcat", "gzip", "gunzip", "bzip2",
    "bunzip2", "xz", "unxz", "zstd", "lz4", "sort", "uniq", "cut", "paste", "join", "comm", "diff", "cmp", "split",
    "csplit", "fold", "fmt", "pr", "expand", "unexpand", "iconv", "column", "jq", "yq", "xmllint", "curl",
    "wget", "nc", "ncat", "rev", "shuf", "look", "file", "readelf", "objdump", "sha256sum", "md5sum", "cksum",
})
"""Programs that print or send the files named on their command line."""
HARMLESS = frozenset({"true", "false", "id", "whoami", "uptime", "reboot", "poweroff", "shutdown", "halt", "date",
                      "hostname", "uname", "nproc"})
"""Programs that read no file a caller chooses."""
SYSTEM_TREES = ("/proc", "/sys", "/etc", "/usr", "/boot")
"""Root-owned trees: a literal argument there cannot be swapped for a symlink to the weights."""


@dataclass(frozen=True)
class Grant:
    """One way a user gets at a weight path through sudo."""

    user: str
    """Who runs sudo."""
    target: str
    """``root``, ``user NAME`` or ``group NAME``: whom the command runs as."""
    capability: Capability
    """What the command gives."""
    rule: str
    """``file:line: text`` of the sudoers rule."""
    command: str
    """The command as written (with its arguments)."""


class _Unresolved(Exception):
    """A list item that cannot be resolved on this host (netgroup, unknown group, non-Unix group)."""


def _within(path: str, root: str) -> bool:
    root = root.rstrip("/") or "/"
    return path == root or path.startswith("/" if root == "/" else root + "/")


def _glob_chars(text: str) -> bool:
    return any(c in text for c in "*?[")


def _touches(arg: str, roots: Sequence[str]) -> bool:
    """Whether a literal argument is at, below or above a weight root (``tar /srv`` reads ``/srv/weights``)."""
    path = posixpath.normpath(arg)
    return any(_within(path, r) or _within(r, path) for r in roots)


def _paths_class(args: list[str] | None, roots: Sequence[str], reader: Capability) -> Capability:
    if args is None or any(_glob_chars(a) for a in args):
        return reader
    paths = [a for a in args if not a.startswith("-") and not a.isdigit()]
    if any(_touches(p, roots) for p in paths if p.startswith("/")):
        return reader
    # NOTE: a relative path is resolved in the caller's working directory, and a literal path
    # outside root-owned trees may be a symlink the caller planted, so neither is decided.
    if any(not p.startswith("/") or not any(_within(posixpath.normpath(p), t) for t in SYSTEM_TREES)
           for p in paths):
        return Capability.MAYBE
    return Capability.NONE


def command_capability(cmd: Mapping[str, Any], roots: Sequence[str]) -> Capability:
    """What one (non-negated) sudoers command gives, for a weight path whose locations are ``roots``."""
    command = str(cmd["command"])
    args = cmd.get("args")
    if command == "ALL" or "SETENV" in (cmd.get("tags") or []):
        return Capability.FULL
    if command == "list":
        return Capability.NONE
    if command == "sudoedit":
        if args is None or any(_glob_chars(a) for a in args):
            return Capability.READ
        return Capability.READ if any(_touches(a, roots) for a in args if a.startswith("/")) else Capability.NONE
    if command.startswith("^"):
        return Capability.MAYBE
    if command.endswith("/"):
        return Capability.FULL
    name = posixpath.basename(command)
    if _glob_chars(name):
        pool = INTERACTIVE | READERS
        return Capability.FULL if any(fnmatch.fnmatchcase(p, name) for p in pool) else Capability.MAYBE
    if name in ESCAPES_WITH_ANY_ARGS:
        return Capability.FULL
    if name in INTERACTIVE:
        return _paths_class(args, roots, Capability.FULL)
    if name in READERS:
        return _paths_class(args, roots, Capability.READ)
    if name in HARMLESS:
        return Capability.NONE
    return Capability.MAYBE


class _Accounts:
    """Users and groups of one host, for matching sudoers list items."""

    def __init__(self, users: list[Mapping[str, Any]], groups: list[Mapping[str, Any]]) -> None:
        self.users = users
        self.groups = groups
        self.names = sorted({str(u["name"]) for u in users} | {"root"})
        self.by_uid = {int(u["uid"]): str(u["name"]) for u in users}
        self._members: dict[str, set[str]] = {}

    def members(self, group: str) -> set[str]:
        if group not in self._members:
            found = group_members(group, self.users, self.groups)
            if found is None:
                raise _Unresolved(f"group {group} is not listed on the host")
            self._members[group] = set(found)
        return self._members[group]

    def group_by_gid(self, gid: int) -> str:
        name = next((str(g["name"]) for g in self.groups if int(g["gid"]) == gid), None)
        if name is None:
            raise _Unresolved(f"group id {gid} is not listed on the host")
        return name

    def user_groups(self, user: str) -> set[str]:
        out = {str(g["name"]) for g in self.groups if user in g["members"]}
        primary = next((int(u["gid"]) for u in self.users if u["name"] == user), None)
        out |= {str(g["name"]) for g in self.groups if primary is not None and int(g["gid"]) == primary}
        return out


def _item_matches(item: Mapping[str, Any], user: str, acct: _Accounts,
                  aliases: Mapping[str, list[Mapping[str, Any]]], seen: frozenset[str]) -> bool | None:
    """sudo's match of one user-list item: True (allow), False (deny, negated), None (no match)."""
    name = str(item["name"])
    matched: bool
    if name == "ALL":
        matched = True
    elif name in aliases:
        if name in seen:
            raise _Unresolved(f"alias {name} refers to itself")
        matched = _list_matches(aliases[name], user, acct, aliases, seen | {name}) is True
    elif name.startswith("%:") or name.startswith("+"):
        raise _Unresolved(f"{name} (netgroups and non-Unix groups are not resolved)")
    elif name.startswith("%#"):
        matched = user in acct.members(acct.group_by_gid(int(name[2:])))
    elif name.startswith("%"):
        matched = user in acct.members(name[1:])
    elif name.startswith("#") and name[1:].isdigit():
        matched = acct.by_uid.get(int(name[1:])) == user
    elif name[:1].isupper() and name.isupper() and name not in acct.names:
        matched = False  # NOTE: an undefined alias matches nobody (sudo warns and goes on).
    else:
        matched = name == user
    if not matched:
        return None
    return not item["neg"]


def _list_matches(items: Sequence[Mapping[str, Any]], user: str, acct: _Accounts,
                  aliases: Mapping[str, list[Mapping[str, Any]]], seen: frozenset[str] = frozenset()) -> bool | None:
    # NOTE: sudo walks a list from the end and the first item that matches decides.
    for item in reversed(items):
        result = _item_matches(item, user, acct, aliases, seen)
        if result is not None:
            return result
    return None


def _commands(cmds: Iterable[Mapping[str, Any]], aliases: Mapping[str, list[Mapping[str, Any]]],
              neg: bool = False, seen: frozenset[str] = frozenset()) -> Iterable[Mapping[str, Any]]:
    for cmd in cmds:
        name = str(cmd["command"])
        negated = bool(cmd.get("neg")) != neg
        if name in aliases:
            if name in seen:
                continue
            inner = [{**c, "tags": cmd.get("tags", []), "runas_users": cmd.get("runas_users"),
                      "runas_groups": cmd.get("runas_groups")} for c in aliases[name]]
            yield from _commands(inner, aliases, negated, seen | {name})
        elif not negated:
            yield cmd


def _show(cmd: Mapping[str, Any]) -> str:
    args = cmd.get("args")
    return str(cmd["command"]) + ("" if args is None else " " + (" ".join(args) if args else '""'))


@dataclass(frozen=True)
class SudoReaders:
    """Result of the sudo analysis for one weight path."""

    readers: dict[str, list[str]]
    """User -> how they read through sudo (``sudo rule FILE:LINE as root: /bin/cat *``)."""
    undecided: list[tuple[str | None, str]]
    """What could not be decided: (the user concerned, or ``None`` when unknown; a sentence naming the rule)."""


def sudo_readers(sudoers: Mapping[str, Any], users: list[Mapping[str, Any]], groups: list[Mapping[str, Any]],
                 direct_readers: Iterable[str], reader_groups: Iterable[str], roots: Sequence[str]) -> SudoReaders:
    """Users who can read a weight path through sudo (see the module docstring)."""
    acct = _Accounts(users, groups)
    aliases = sudoers.get("aliases") or {}
    user_aliases = aliases.get("user", {})
    runas_aliases = aliases.get("runas", {})
    cmnd_aliases = aliases.get("cmnd", {})
    direct = set(direct_readers) | {"root"}
    rgroups = set(reader_groups)
    grants: list[Grant] = []
    undecided: list[tuple[str | None, str]] = []
    for rule in sudoers.get("rules", []):
        where = f"{rule['file']}:{rule['line']}: {rule['text']}"
        try:
            invokers = [u for u in acct.names if _list_matches(rule["users"], u, acct, user_aliases) is True]
        except _Unresolved as exc:
            if _rule_relevant(rule, cmnd_aliases, roots):
                undecided.append((None, f"sudo rule {where} names {exc}"))
            continue
        if not invokers:
            continue
        for privilege in rule["privileges"]:
            for cmd in _commands(privilege["commands"], cmnd_aliases):
                cap = command_capability(cmd, roots)
                if cap is Capability.NONE:
                    continue
                try:
                    targets = _targets(cmd, acct, runas_aliases)
                except _Unresolved as exc:
                    undecided.extend((u, f"sudo rule {where}: Runas names {exc}") for u in invokers)
                    continue
                for invoker in invokers:
                    for target in targets(invoker):
                        grants.append(Grant(invoker, target, cap, where, _show(cmd)))
    readers: dict[str, list[str]] = {}
    derived: set[str] = set()
    changed = True
    while changed:
        changed = False
        for g in grants:
            if g.user in derived:
                continue
            kind, _, name = g.target.partition(" ")
            reads = (g.target == "root" or (kind == "user" and name in direct) or (kind == "group" and name in rgroups)
                     or (g.capability is Capability.FULL and kind == "user" and name in derived))
            if reads and g.capability in (Capability.READ, Capability.FULL):
                derived.add(g.user)
                readers.setdefault(g.user, []).append(f"sudo rule {g.rule} as {g.target}: {g.command}")
                changed = True
    for g in grants:
        kind, _, name = g.target.partition(" ")
        relevant = g.target == "root" or (kind == "user" and (name in direct or name in derived)) \
            or (kind == "group" and name in rgroups)
        if g.capability is Capability.MAYBE and relevant and g.user not in derived:
            undecided.append((g.user, f"{g.user} may read it through sudo rule {g.rule} as {g.target}: cannot "
                                      f"decide what {g.command} can read"))
    return SudoReaders(readers, sorted(set(undecided), key=lambda u: (u[0] or "", u[1])))


def _targets(cmd: Mapping[str, Any], acct: _Accounts,
             runas_aliases: Mapping[str, list[Mapping[str, Any]]]) -> Any:
    users, groups = cmd.get("runas_users"), cmd.get("runas_groups")
    if users is None and groups is None:
        return lambda invoker: ["root"]
    names = [u for u in acct.names if users and _list_matches(users, u, acct, runas_aliases) is True]
    as_groups = _GroupAccounts(acct)
    group_names = sorted({str(g["name"]) for g in acct.groups
                          if groups and _list_matches(groups, str(g["name"]), as_groups, runas_aliases) is True})
    out = [("root" if n == "root" else f"user {n}") for n in names] + [f"group {g}" for g in group_names]

    def for_invoker(invoker: str) -> list[str]:
        # NOTE: "()" or "(:group)" alone runs as the invoking user, with that group.
        return out if users else [f"group {g}" for g in group_names]
    return for_invoker


class _GroupAccounts(_Accounts):
    """Matches Runas group lists: an item names a group (``ALL``, ``name``, ``#gid``, alias)."""

    def __init__(self, acct: _Accounts) -> None:
        super().__init__(acct.users, acct.groups)
        self.names = sorted(str(g["name"]) for g in acct.groups)
        self.by_uid = {int(g["gid"]): str(g["name"]) for g in acct.groups}


def _rule_relevant(rule: Mapping[str, Any], cmnd_aliases: Mapping[str, list[Mapping[str, Any]]],
                   roots: Sequence[str]) -> bool:
    return any(command_capability(cmd, roots) is not Capability.NONE
               for privilege in rule["privileges"] for cmd in _commands(privilege["commands"], cmnd_aliases))
