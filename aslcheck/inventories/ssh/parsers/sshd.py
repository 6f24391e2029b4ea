"""Parsers for effective sshd settings: ``sshd -T`` output, or the config files with defaults."""

from __future__ import annotations

import fnmatch
import posixpath
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aslcheck.inventories.ssh.parsers import ParseError
from aslcheck.inventories.ssh.probe import FileRecord

TRACKED: Mapping[str, str] = {
    "passwordauthentication": "yes",
    "kbdinteractiveauthentication": "yes",
    "permitrootlogin": "prohibit-password",
    "allowtcpforwarding": "yes",
    "allowagentforwarding": "yes",
    "allowstreamlocalforwarding": "yes",
    "disableforwarding": "no",
    "permittunnel": "no",
    "x11forwarding": "no",
    "banner": "none",
    "pubkeyauthentication": "yes",
    "pubkeyacceptedalgorithms": "default",
    "pubkeyauthoptions": "none",
    "authenticationmethods": "any",
}
"""Keywords the checks read, with OpenSSH's compiled-in defaults (used only for the file fallback).

``pubkeyacceptedalgorithms`` defaults to ``default``: OpenSSH's built-in list, which always
includes non-FIDO key types.
"""

_ALIASES: Mapping[str, str] = {
    "challengeresponseauthentication": "kbdinteractiveauthentication",
    "pubkeyacceptedkeytypes": "pubkeyacceptedalgorithms",
}


def parse_sshd_t(text: str) -> dict[str, str]:
    """``sshd -T`` output into ``{keyword: value}`` for the tracked keywords (first value wins)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        key = _ALIASES.get(key.lower(), key.lower())
        if key in TRACKED and key not in out:
            out[key] = value.strip()
    missing = [k for k in ("passwordauthentication", "permitrootlogin", "permittunnel", "x11forwarding",
                           "allowtcpforwarding", "banner") if k not in out]
    if missing:
        raise ParseError("BadOutput", f"sshd -T did not report {', '.join(missing)}")
    if "pubkeyacceptedalgorithms" not in out:
        out["pubkeyacceptedalgorithms"] = "default"
    for key, default in TRACKED.items():
        out.setdefault(key, default)
    return out


@dataclass(frozen=True)
class SshdFiles:
    """What the config files say: global settings (defaults applied) and values set in Match blocks."""

    settings: dict[str, str]
    """Tracked keywords outside Match blocks, OpenSSH defaults for those never set."""
    match_values: dict[str, list[str]]
    """For each tracked keyword, the distinct values Match blocks set (empty list: none)."""
    files: list[str]
    """Files read, in processing order."""


def _split(line: str) -> tuple[str, str] | None:
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    if "=" in stripped.split(None, 1)[0]:
        key, _, value = stripped.partition("=")
    else:
        parts = stripped.split(None, 1)
        key, value = parts[0], parts[1] if len(parts) > 1 else ""
    return key.strip().lower(), value.strip()


def _glob_match(pattern: str, name: str) -> bool:
    pat_parts, name_parts = pattern.split("/"), name.split("/")
    return len(pat_parts) == len(name_parts) and all(
        fnmatch.fnmatchcase(n, p) for p, n in zip(pat_parts, name_parts, strict=True)
    )


def parse_sshd_files(records: Sequence[FileRecord], main: str) -> SshdFiles:
    """Interpret dumped config files the way sshd does: first value wins, Include inlined in place.

    Every file must have been read (a failed read is a :class:`ParseError`, never an empty
    file) and every Include must resolve within the dump.
    """
    by_name: dict[str, FileRecord] = {}
    for rec in records:
        by_name.setdefault(rec.name, rec)
    if main not in by_name:
        raise ParseError("NotCollected", f"{main} was not dumped")
    settings: dict[str, str] = {}
    match_values: dict[str, list[str]] = {k: [] for k in TRACKED}
    order: list[str] = []

    def process(name: str, in_match: bool, depth: int) -> bool:
        rec = by_name[name]
        if rec.rc != 0:
            raise ParseError("ReadFailed", f"cannot read {name} (exit {rec.rc})")
        if depth > 4:
            raise ParseError("NotCollected", f"Include nesting too deep at {name}")
        order.append(name)
        text = rec.content.decode("utf-8", "replace")
        for line in text.splitlines():
            parsed = _split(line)
            if parsed is None:
                continue
            key, value = parsed
            key = _ALIASES.get(key, key)
            if key == "match":
                in_match = True
                continue
            if key == "include":
                try:
                    patterns = shlex.split(value)
                except ValueError as exc:
                    raise ParseError("BadConfig", f"{name}: Include {value!r}: {exc}") from exc
                for pattern in patterns:
                    absolute = pattern if pattern.startswith("/") else posixpath.join("/etc/ssh", pattern)
                    for inc in sorted(n for n in by_name if _glob_match(absolute, n)):
                        in_match = process(inc, in_match, depth + 1)
                continue
            if key not in TRACKED:
                continue
            value = value.split()[0] if key != "banner" and value else value
            if in_match:
                if value not in match_values[key]:
                    match_values[key].append(value)
            elif key not in settings:
                settings[key] = value
        return in_match

    process(main, False, 0)
    for key, default in TRACKED.items():
        settings.setdefault(key, default)
    # sshd -T prints lowercase values; keep the fallback comparable.
    settings = {k: (v if k == "banner" else v.lower()) for k, v in settings.items()}
    match_values = {k: sorted({v.lower() for v in vs}) for k, vs in match_values.items()}
    return SshdFiles(settings, match_values, order)
