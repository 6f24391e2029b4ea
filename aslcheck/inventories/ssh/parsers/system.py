"""Parsers for OS identity, accounts, sudoers, auditd, SELinux, systemd and kernel command line."""

from __future__ import annotations

import shlex
from typing import Any

from aslcheck.inventories.ssh.parsers import ParseError


def parse_os_release(text: str) -> dict[str, str]:
    """``/etc/os-release`` (shell-style KEY=value lines) into a dict."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            parts = shlex.split(value)
        except ValueError as exc:
            raise ParseError("BadOutput", f"os-release line {line!r}: {exc}") from exc
        out[key.strip()] = parts[0] if parts else ""
    if "ID" not in out:
        raise ParseError("BadOutput", "os-release has no ID")
    return out


def parse_whoami(text: str) -> tuple[int, str, int]:
    """``id -u; id -un; date +%s`` into (uid, user name, host clock in epoch seconds)."""
    lines = text.split()
    if len(lines) != 3 or not lines[0].isdigit() or not lines[2].isdigit():
        raise ParseError("BadOutput", f"unexpected identity output {text!r}")
    return int(lines[0]), lines[1], int(lines[2])


def parse_uname(text: str) -> tuple[str, str]:
    """``uname -r; uname -m`` into (kernel release, machine)."""
    lines = text.split()
    if len(lines) != 2:
        raise ParseError("BadOutput", f"unexpected uname output {text!r}")
    return lines[0], lines[1]


def parse_passwd(text: str) -> list[dict[str, Any]]:
    """``getent passwd`` lines into user records."""
    users = []
    for line in text.splitlines():
        if not line:
            continue
        fields = line.split(":")
        if len(fields) != 7 or not fields[2].isdigit() or not fields[3].isdigit():
            raise ParseError("BadOutput", f"malformed passwd line {line!r}")
        users.append({"name": fields[0], "uid": int(fields[2]), "gid": int(fields[3]),
                      "home": fields[5], "shell": fields[6]})
    if not users:
        raise ParseError("BadOutput", "getent passwd returned no users")
    return users


def parse_group(text: str) -> list[dict[str, Any]]:
    """``getent group`` lines into group records with their supplementary members."""
    groups = []
    for line in text.splitlines():
        if not line:
            continue
        fields = line.split(":")
        if len(fields) != 4 or not fields[2].isdigit():
            raise ParseError("BadOutput", f"malformed group line {line!r}")
        members = sorted(m for m in fields[3].split(",") if m)
        groups.append({"name": fields[0], "gid": int(fields[2]), "members": members})
    if not groups:
        raise ParseError("BadOutput", "getent group returned no groups")
    return groups


def parse_sudoers(text: str) -> list[str]:
    """Rule lines of sudoers content: comments, blank lines and ``#include`` lines are dropped."""
    rules = []
    joined = text.replace("\\\n", " ")
    for line in joined.splitlines():
        stripped = line.strip()
        if not stripped or (stripped.startswith("#") and not stripped.startswith(("#include", "#includedir"))):
            continue
        if stripped.startswith(("#include", "@include")):
            continue
        rules.append(" ".join(stripped.split()))
    return rules


def parse_auditctl_status(text: str) -> dict[str, int]:
    """``auditctl -s`` into ``{"enabled": 0|1|2, "pid": N, ...}`` (integer fields only)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    if "enabled" not in out or "pid" not in out:
        raise ParseError("BadOutput", "auditctl -s did not report 'enabled' and 'pid'")
    return out


def parse_auditctl_rules(text: str) -> list[dict[str, Any]]:
    """``auditctl -l`` into file-watch rules ``{path, perms, key, match}``.

    ``-w PATH -p PERMS`` watches (how auditctl lists both ``-w`` and ``-F dir=`` rules) and
    ``-a ... -F dir=|path= ... -F perm=`` rules are returned; syscall rules without a path
    are ignored. ``match`` is ``tree`` (a directory and everything below it) or ``exact``.
    """
    if text.strip() == "No rules":
        return []
    rules: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            tokens = shlex.split(line)
        except ValueError as exc:
            raise ParseError("BadOutput", f"auditctl rule {line!r}: {exc}") from exc
        if tokens[0] == "-w" and len(tokens) >= 2:
            opts = dict(zip(tokens[2::2], tokens[3::2], strict=False))
            rules.append({"path": tokens[1].rstrip("/") or "/", "perms": opts.get("-p", "rwxa"),
                          "key": opts.get("-k"), "match": "tree"})
        elif tokens[0] == "-a":
            fields: dict[str, str] = {}
            for i, tok in enumerate(tokens):
                if tok == "-F" and i + 1 < len(tokens) and "=" in tokens[i + 1]:
                    k, _, v = tokens[i + 1].partition("=")
                    fields[k] = v
            if "never" in tokens[1]:
                continue
            target = fields.get("dir") or fields.get("path")
            if target:
                rules.append({"path": target.rstrip("/") or "/", "perms": fields.get("perm", "rwxa"),
                              "key": fields.get("key"), "match": "tree" if "dir" in fields else "exact"})
    return rules


SYSTEMD_STATES = frozenset({"active", "inactive", "failed", "activating", "deactivating",
                            "reloading", "refreshing", "maintenance"})
UNIT_FILE_STATES = frozenset({"enabled", "enabled-runtime", "linked", "linked-runtime", "alias",
                              "masked", "masked-runtime", "static", "indirect", "disabled",
                              "generated", "transient", "bad", "not-found"})


def parse_unit_state(stdout: str, stderr: str, states: frozenset[str] = SYSTEMD_STATES) -> str:
    """First line of ``systemctl is-active``/``is-enabled``; anything else (no systemd) is an error."""
    first = stdout.strip().splitlines()[0].strip() if stdout.strip() else ""
    if first in states:
        return first
    if "No such file or directory" in stderr and states is UNIT_FILE_STATES:
        return "not-found"
    raise ParseError("SystemdUnavailable", stderr.strip() or f"unexpected systemctl output {stdout!r}")


def parse_getenforce(stdout: str, rc: int) -> str:
    """``getenforce`` into ``enforcing``/``permissive``/``disabled``, or ``absent`` (not installed)."""
    if rc == 127:
        return "absent"
    value = stdout.strip().lower()
    if rc != 0 or value not in {"enforcing", "permissive", "disabled"}:
        raise ParseError("BadOutput", f"getenforce exited {rc} with {stdout!r}")
    return value


def parse_cmdline_ima(text: str) -> str | None:
    """The ``ima_appraise=`` value of the kernel command line, ``None`` when absent."""
    for token in text.split():
        if token.startswith("ima_appraise="):
            return token.partition("=")[2]
    return None
