"""Parsers for effective sshd settings: ``sshd -T`` output, or the config files with defaults.

The file parser follows OpenSSH's own reading (``servconf.c``, OpenSSH 9.x): a keyword ends at
whitespace or one ``=`` (``Key=value``, ``Key = value``), arguments are split like
``argv_split`` (quotes, backslash escapes, ``#`` starting a comment), keywords are
case-insensitive, the first value wins, ``Include`` is expanded in place (relative patterns
under ``/etc/ssh``, globs sorted, at most 16 levels), an included file never changes the
including file's Match state, and every line after a ``Match`` (in the same file, or in a
file included from inside it) is conditional. Match blocks are kept as blocks; the checks
decide, and a keyword this parser does not know inside a Match block makes them ERROR.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aslcheck.inventories.ssh.parsers import ParseError
from aslcheck.inventories.ssh.probe import FileRecord, RecordKind

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
    "hostbasedauthentication": "no",
    "gssapiauthentication": "no",
}
"""Keywords the checks read, with OpenSSH's compiled-in defaults (used only for the file fallback).

``pubkeyacceptedalgorithms`` defaults to ``default``: OpenSSH's built-in list, which always
includes non-FIDO key types. ``gssapiauthentication`` is absent from ``sshd -T`` when sshd
was built without GSSAPI, which means it is unavailable ("no").
"""

_ALIASES: Mapping[str, str] = {
    "challengeresponseauthentication": "kbdinteractiveauthentication",
    "pubkeyacceptedkeytypes": "pubkeyacceptedalgorithms",
    "hostbasedacceptedkeytypes": "hostbasedacceptedalgorithms",
}

_FLAG = frozenset({"yes", "no"})
_VALUES: Mapping[str, frozenset[str]] = {
    "passwordauthentication": _FLAG, "kbdinteractiveauthentication": _FLAG, "allowagentforwarding": _FLAG,
    "disableforwarding": _FLAG, "x11forwarding": _FLAG, "pubkeyauthentication": _FLAG,
    "hostbasedauthentication": _FLAG, "gssapiauthentication": _FLAG,
    "permitrootlogin": frozenset({"yes", "no", "prohibit-password", "without-password", "forced-commands-only"}),
    "allowtcpforwarding": frozenset({"yes", "all", "no", "local", "remote"}),
    "allowstreamlocalforwarding": frozenset({"yes", "all", "no", "local", "remote"}),
    "permittunnel": frozenset({"yes", "no", "point-to-point", "ethernet"}),
}
"""Accepted values of the tracked keywords (sshd refuses to start on any other)."""

MATCH_KEYWORDS: frozenset[str] = frozenset({
    "acceptenv", "allowagentforwarding", "allowgroups", "allowstreamlocalforwarding", "allowtcpforwarding",
    "allowusers", "authenticationmethods", "authorizedkeyscommand", "authorizedkeyscommanduser",
    "authorizedkeysfile", "authorizedprincipalscommand", "authorizedprincipalscommanduser",
    "authorizedprincipalsfile", "banner", "casignaturealgorithms", "channeltimeout", "chrootdirectory",
    "clientalivecountmax", "clientaliveinterval", "denygroups", "denyusers", "disableforwarding",
    "exposeauthinfo", "forcecommand", "gatewayports", "gssapiauthentication", "hostbasedacceptedalgorithms",
    "hostbasedauthentication", "hostbasedusesnamefrompacketonly", "ignorerhosts", "include", "ipqos",
    "kbdinteractiveauthentication", "kerberosauthentication", "loglevel", "logverbose", "maxauthtries",
    "maxsessions", "pamservicename", "passwordauthentication", "permitemptypasswords", "permitlisten",
    "permitopen", "permitrootlogin", "permittty", "permittunnel", "permituserrc", "pubkeyacceptedalgorithms",
    "pubkeyauthentication", "pubkeyauthoptions", "rdomain", "refuseconnection", "rekeylimit", "revokedkeys",
    "requiredrsasize", "setenv", "streamlocalbindmask", "streamlocalbindunlink", "trustedusercakeys",
    "unusedconnectiontimeout", "x11displayoffset", "x11forwarding", "x11uselocalhost",
})
"""Keywords sshd_config(5) allows inside Match (OpenSSH 9.x); any other there is not decided."""

_SPLIT = " \t\r\n"


@dataclass(frozen=True)
class Line:
    """One config line as sshd splits it."""

    keyword: str
    """Lowercased keyword with aliases resolved."""
    args: tuple[str, ...]
    """Arguments after quote and escape processing, comments dropped."""


def split_line(line: str) -> Line | None:
    """Split one line like OpenSSH (``strdelim`` for the keyword, ``argv_split`` for the rest).

    Returns ``None`` for blank and comment lines; raises :class:`ParseError` on unbalanced quotes.
    """
    text = line.rstrip(_SPLIT + "\f").lstrip(" \t\r")
    if not text or text.startswith("#"):
        return None
    keyword, rest = _keyword(text)
    if not keyword or keyword.startswith("#"):
        return None
    key = keyword.lower()
    return Line(_ALIASES.get(key, key), tuple(argv_split(rest)))


def _keyword(text: str) -> tuple[str, str]:
    if text.startswith('"'):
        end = text.find('"', 1)
        if end < 0:
            raise ParseError("BadConfig", f"unbalanced quote in {text!r}")
        keyword, rest = text[1:end], text[end + 1:]
        return keyword, rest.lstrip(_SPLIT)
    i = 0
    while i < len(text) and text[i] not in _SPLIT + '"=':
        i += 1
    keyword, rest = text[:i], text[i:]
    if rest.startswith("="):
        return keyword, rest[1:].lstrip(_SPLIT)
    rest = rest.lstrip(_SPLIT)
    # NOTE: strdelim skips one '=' after the whitespace too, so "Key = value" is "Key" "value".
    if rest.startswith("="):
        rest = rest[1:].lstrip(_SPLIT)
    return keyword, rest


def argv_split(text: str) -> list[str]:
    """OpenSSH's ``argv_split(s, ..., terminate_on_comment=1)``."""
    args: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in " \t":
            i += 1
            continue
        if text[i] == "#":
            break
        quote = ""
        arg: list[str] = []
        while i < n:
            c = text[i]
            if c == "\\" and i + 1 < n and (text[i + 1] in "'\"\\" or (not quote and text[i + 1] == " ")):
                arg.append(text[i + 1])
                i += 2
                continue
            if not quote and c in " \t":
                break
            if not quote and c in "\"'":
                quote = c
            elif quote and c == quote:
                quote = ""
            else:
                arg.append(c)
            i += 1
        if quote:
            raise ParseError("BadConfig", f"unbalanced quotes in {text!r}")
        args.append("".join(arg))
    return args


def parse_sshd_t(text: str) -> dict[str, str]:
    """``sshd -T`` output into ``{keyword: value}`` for the tracked keywords (first value wins)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        key = _ALIASES.get(key.lower(), key.lower())
        if key in TRACKED and key not in out:
            out[key] = value.strip()
    missing = [k for k in ("passwordauthentication", "permitrootlogin", "permittunnel", "x11forwarding",
                           "allowtcpforwarding", "allowstreamlocalforwarding", "banner",
                           "hostbasedauthentication") if k not in out]
    if missing:
        raise ParseError("BadOutput", f"sshd -T did not report {', '.join(missing)}")
    if "pubkeyacceptedalgorithms" not in out:
        out["pubkeyacceptedalgorithms"] = "default"
    for key, default in TRACKED.items():
        out.setdefault(key, default)
    return out


@dataclass
class MatchBlock:
    """One Match block: its criteria, where it starts, what it sets."""

    criteria: str
    """The Match line's criteria as written (``User backup``)."""
    file: str
    """File holding the Match line."""
    line: int
    """Line number of the Match line."""
    settings: dict[str, str] = field(default_factory=dict)
    """Tracked keywords it sets (first value wins, lowercase except Banner)."""
    unknown: list[str] = field(default_factory=list)
    """Keywords it sets that this parser does not know (could loosen anything)."""

    def to_json(self) -> dict[str, Any]:
        """JSON form stored in the snapshot."""
        return {"criteria": self.criteria, "file": self.file, "line": self.line,
                "settings": dict(self.settings), "unknown": list(self.unknown)}


@dataclass(frozen=True)
class SshdFiles:
    """What the config files say: global settings (defaults applied) and every Match block."""

    settings: dict[str, str]
    """Tracked keywords outside Match blocks, OpenSSH defaults for those never set."""
    match_values: dict[str, list[str]]
    """For each tracked keyword, the distinct values Match blocks set (empty list: none)."""
    files: list[str]
    """Files read, in processing order."""
    match_blocks: list[dict[str, Any]]
    """Every Match block (criteria, file, line, settings, unknown keywords), in order."""
    defaulted: list[str]
    """Tracked keywords no file sets globally (their value is OpenSSH's compiled-in default)."""


def _value(key: str, args: tuple[str, ...], where: str) -> str:
    if not args:
        raise ParseError("BadConfig", f"{where}: {key} has no argument")
    if key == "authenticationmethods":
        return " ".join(args)
    if key == "pubkeyauthoptions":
        return ",".join(a.lower() for a in args)
    if len(args) > 1:
        raise ParseError("BadConfig", f"{where}: {key} has extra arguments {list(args[1:])} (sshd refuses this)")
    value = args[0] if key in ("banner", "pubkeyacceptedalgorithms") else args[0].lower()
    allowed = _VALUES.get(key)
    # NOTE: PermitTunnel is compared case-sensitively by sshd; the others with strcasecmp.
    checked = args[0] if key == "permittunnel" else value
    if allowed is not None and checked not in allowed:
        raise ParseError("BadConfig", f"{where}: {key} {args[0]!r} is not a value sshd accepts")
    return value


def _has_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def _glob_name(pattern: str, name: str) -> bool:
    # NOTE: glob(3) without GLOB_PERIOD: wildcards never match a leading dot.
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, pattern)


def parse_sshd_files(records: Sequence[FileRecord], main: str) -> SshdFiles:
    """Interpret dumped config files the way sshd does (see the module docstring).

    Every file must have been read (a failed read is a :class:`ParseError`, never an empty
    file), and every Include must have a record of its expansion in the dump.
    """
    files: dict[str, FileRecord] = {}
    dirs: dict[str, FileRecord] = {}
    for rec in records:
        (dirs if rec.kind is RecordKind.DIR else files).setdefault(rec.name, rec)
    if main not in files:
        raise ParseError("NotCollected", f"{main} was not dumped")
    settings: dict[str, str] = {}
    blocks: list[MatchBlock] = []
    order: list[str] = []

    def expand(pattern: str, where: str) -> list[str]:
        absolute = pattern if pattern.startswith(("/", "~")) else posixpath.join("/etc/ssh", pattern)
        if not _has_glob(absolute):
            rec = files.get(absolute)
            if rec is None:
                raise ParseError("NotCollected", f"{where}: Include {absolute} was not read by the probe")
            return [] if rec.missing() else [absolute]
        parent, base = posixpath.split(absolute)
        if _has_glob(parent):
            raise ParseError("NotDecided", f"{where}: Include {absolute} has wildcards in a directory name, "
                                           "which aslcheck does not expand")
        listing = dirs.get(parent or "/")
        if listing is None:
            raise ParseError("NotCollected", f"{where}: the directory of Include {absolute} was not listed")
        if listing.rc != 0:
            if listing.missing():
                return []
            raise ParseError("ReadFailed", f"{where}: cannot list {parent} for Include {absolute}: "
                                           f"{listing.stderr[:200] or f'exit {listing.rc}'}")
        names = sorted(n for _, n in listing.entries() if _glob_name(base, n))
        return [posixpath.join(parent, n) for n in names]

    def process(name: str, block: MatchBlock | None, depth: int) -> None:
        if depth > 16:
            raise ParseError("BadConfig", f"Include nesting deeper than sshd allows at {name}")
        rec = files.get(name)
        if rec is None:
            raise ParseError("NotCollected", f"{name} was not dumped")
        if rec.rc != 0:
            raise ParseError("ReadFailed", f"cannot read {name}: {rec.stderr[:200] or f'exit {rec.rc}'}")
        order.append(name)
        current = block
        for number, raw in enumerate(rec.content.decode("utf-8", "replace").split("\n"), 1):
            where = f"{name}:{number}"
            parsed = split_line(raw)
            if parsed is None:
                continue
            key, args = parsed.keyword, parsed.args
            if key == "match":
                current = MatchBlock(" ".join(args), name, number)
                blocks.append(current)
                continue
            if key == "include":
                if not args:
                    raise ParseError("BadConfig", f"{where}: Include without a file name")
                for pattern in args:
                    for included in expand(pattern, where):
                        # NOTE: sshd restores the including file's Match state after each file.
                        process(included, current, depth + 1)
                continue
            if current is not None and key not in TRACKED and key not in MATCH_KEYWORDS:
                if key not in current.unknown:
                    current.unknown.append(key)
                continue
            if key not in TRACKED:
                continue
            value = _value(key, args, where)
            target = settings if current is None else current.settings
            target.setdefault(key, value)

    process(main, None, 0)
    defaulted = sorted(k for k in TRACKED if k not in settings)
    for key, default in TRACKED.items():
        settings.setdefault(key, default)
    match_values = {k: sorted({b.settings[k] for b in blocks if k in b.settings}) for k in TRACKED}
    return SshdFiles(settings, match_values, order, [b.to_json() for b in blocks], defaulted)
