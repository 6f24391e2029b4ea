"""Parser for sudo policy: sudoers files (with includes and aliases), sudo.conf and nsswitch.conf.

It reads the sudoers(5) grammar into structured rules and raises :class:`ParseError` for any
line it cannot read, so an unread rule can never be mistaken for "no rule". User and Runas
lists keep their nesting (aliases, ``!`` negation) because sudo matches them "last match
wins"; commands are flattened (a negated command only ever removes rights, and the checks
ignore negated commands, which can only over-count readers). ``#include``/``@include`` files
are relative to the including file's directory; ``#includedir``/``@includedir`` read the
entries whose names contain no ``.`` and do not end in ``~``, in sorted order.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aslcheck.inventories.ssh.parsers import ParseError
from aslcheck.inventories.ssh.probe import FileRecord, RecordKind

TAGS = frozenset({
    "EXEC", "NOEXEC", "FOLLOW", "NOFOLLOW", "LOG_INPUT", "NOLOG_INPUT", "LOG_OUTPUT", "NOLOG_OUTPUT",
    "MAIL", "NOMAIL", "INTERCEPT", "NOINTERCEPT", "PASSWD", "NOPASSWD", "SETENV", "NOSETENV",
})
"""Tag_Spec names (``NOPASSWD:``)."""
OPTIONS = frozenset({"CWD", "CHROOT", "TIMEOUT", "NOTBEFORE", "NOTAFTER", "ROLE", "TYPE",
                     "APPARMOR_PROFILE", "PRIVS", "LIMITPRIVS"})
"""Option_Spec names (``TIMEOUT=1h``)."""
DIGESTS = frozenset({"sha224", "sha256", "sha384", "sha512"})
"""Digest_Spec algorithms (``sha256:BASE64 /bin/ls``)."""
_ALIAS_KINDS = {"User_Alias": "user", "Runas_Alias": "runas", "Host_Alias": "host", "Cmnd_Alias": "cmnd",
                "Cmd_Alias": "cmnd"}
_ALIAS_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_INCLUDE = re.compile(r"^\s*[#@](include|includedir)\s+(.*?)\s*$")
_DEFAULTS = re.compile(r"^Defaults([@:!>]\S*)?(\s|$)")
_SPECIAL = " \t,:=()!"


class _Scanner:
    """A cursor over one logical sudoers line (comments already removed)."""

    def __init__(self, text: str, where: str) -> None:
        self.text = text
        self.pos = 0
        self.where = where

    def fail(self, what: str) -> ParseError:
        return ParseError("BadSudoers", f"{self.where}: {what} at column {self.pos + 1}: {self.text.strip()!r}")

    def ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def peek(self) -> str:
        self.ws()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def eat(self, char: str) -> bool:
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def expect(self, char: str) -> None:
        if not self.eat(char):
            raise self.fail(f"expected {char!r}")

    def word(self) -> str:
        self.ws()
        out: list[str] = []
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if c == '"':
                end = self.text.find('"', self.pos + 1)
                if end < 0:
                    raise self.fail("unbalanced quote")
                out.append(self.text[self.pos + 1:end])
                self.pos = end + 1
                continue
            if c in _SPECIAL:
                break
            out.append(c)
            self.pos += 1
        if not out:
            raise self.fail("expected a name")
        return "".join(out)

    def lookahead_word(self) -> tuple[str, int] | None:
        saved = self.pos
        try:
            return self.word(), self.pos
        except ParseError:
            return None
        finally:
            self.pos = saved

    def raw_until(self, stops: str) -> str:
        """Text up to an unescaped stop character, escapes kept (commands and their arguments)."""
        self.ws()
        start = self.pos
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == "\\":
                self.pos += 2
                continue
            if c in stops:
                break
            self.pos += 1
        return self.text[start:self.pos].strip()

    def done(self) -> bool:
        return self.peek() == ""


def _item(scanner: _Scanner) -> dict[str, Any]:
    neg = False
    while scanner.eat("!"):
        neg = not neg
    return {"neg": neg, "name": scanner.word()}


def _list(scanner: _Scanner) -> list[dict[str, Any]]:
    items = [_item(scanner)]
    while scanner.eat(","):
        items.append(_item(scanner))
    return items


def _split_command(raw: str, scanner: _Scanner) -> dict[str, Any]:
    """``!``* command [args] from raw text: args ``None`` = any arguments, ``[]`` = none (``""``)."""
    neg = False
    text = raw
    while text.startswith("!"):
        neg, text = not neg, text[1:].lstrip()
    tokens: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            current.append(text[i + 1])
            i += 2
            continue
        if c in " \t":
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(c)
        i += 1
    if current:
        tokens.append("".join(current))
    if not tokens:
        raise scanner.fail("expected a command")
    command, args = tokens[0], tokens[1:]
    if not (command.startswith(("/", "^")) or command in ("ALL", "sudoedit", "list") or _ALIAS_NAME.match(command)):
        raise scanner.fail(f"command {command!r} is not a fully-qualified path")
    return {"neg": neg, "command": command,
            "args": None if not args else ([] if args == ['""'] else args)}


def _digests(scanner: _Scanner) -> bool:
    found = False
    while True:
        ahead = scanner.lookahead_word()
        if ahead is None or ahead[0] not in DIGESTS:
            return found
        saved = scanner.pos
        scanner.word()
        if not scanner.eat(":"):
            scanner.pos = saved
            return found
        scanner.raw_until(" \t,:")
        found = True
        if not scanner.eat(","):
            return found


def _cmnd_spec(scanner: _Scanner, state: dict[str, Any]) -> dict[str, Any]:
    if scanner.eat("("):
        users: list[dict[str, Any]] | None = None
        groups: list[dict[str, Any]] | None = None
        if scanner.peek() not in (":", ")"):
            users = _list(scanner)
        if scanner.eat(":"):
            groups = _list(scanner) if scanner.peek() != ")" else []
        scanner.expect(")")
        # NOTE: "()" and "(:group)" run as the invoking user; sudoers(5) Runas_Spec.
        state["runas_users"] = users if users is not None else []
        state["runas_groups"] = groups
    while True:
        ahead = scanner.lookahead_word()
        if ahead is None:
            break
        word, after = ahead
        rest = scanner.text[after:].lstrip(" \t")
        if word in TAGS and rest.startswith(":"):
            scanner.pos = after
            scanner.expect(":")
            opposite = word[2:] if word.startswith("NO") else "NO" + word
            state["tags"] = sorted((set(state["tags"]) - {opposite}) | {word})
        elif word in OPTIONS and rest.startswith("="):
            scanner.pos = after
            scanner.expect("=")
            state["options"] = {**state["options"], word: scanner.word()}
        else:
            break
    digest = _digests(scanner)
    command = _split_command(scanner.raw_until(",:"), scanner)
    return {**command, "tags": list(state["tags"]), "options": dict(state["options"]), "digest": digest,
            "runas_users": state["runas_users"], "runas_groups": state["runas_groups"]}


def _user_spec(scanner: _Scanner) -> dict[str, Any]:
    users = _list(scanner)
    privileges = []
    while True:
        hosts = _list(scanner)
        scanner.expect("=")
        state: dict[str, Any] = {"runas_users": None, "runas_groups": None, "tags": [], "options": {}}
        commands = [_cmnd_spec(scanner, state)]
        while scanner.eat(","):
            commands.append(_cmnd_spec(scanner, state))
        privileges.append({"hosts": hosts, "commands": commands})
        if not scanner.eat(":"):
            break
    if not scanner.done():
        raise scanner.fail("unexpected text")
    return {"users": users, "privileges": privileges}


def _alias_line(kind: str, scanner: _Scanner) -> list[tuple[str, list[dict[str, Any]]]]:
    out = []
    while True:
        name = scanner.word()
        if not _ALIAS_NAME.match(name) or name == "ALL":
            raise scanner.fail(f"bad alias name {name!r}")
        scanner.expect("=")
        if kind == "cmnd":
            items = [_split_command(scanner.raw_until(",:"), scanner)]
            while scanner.eat(","):
                items.append(_split_command(scanner.raw_until(",:"), scanner))
        else:
            items = _list(scanner)
        out.append((name, items))
        if not scanner.eat(":"):
            break
    if not scanner.done():
        raise scanner.fail("unexpected text")
    return out


def _strip_comment(line: str) -> str:
    """Drop a ``#`` comment: ``#`` starts one at the start of a token unless a digit follows (``#1000``)."""
    out: list[str] = []
    i = 0
    quoted = False
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            out.append(line[i:i + 2])
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == "#" and not quoted:
            at_token_start = i == 0 or line[i - 1] in " \t,:=(!"
            if at_token_start and not line[i + 1:i + 2].isdigit():
                break
        out.append(c)
        i += 1
    return "".join(out).rstrip()


def _logical_lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip("\r")
        if not pending:
            start = number
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending += line[:-1] + " "
            continue
        out.append((start, pending + line))
        pending = ""
    if pending:
        out.append((start, pending))
    return out


@dataclass(frozen=True)
class SudoersFiles:
    """The sudo policy read from files."""

    rules: list[dict[str, Any]]
    """User specifications: ``file``, ``line``, ``text``, ``users`` and ``privileges`` (hosts, commands)."""
    aliases: dict[str, dict[str, list[dict[str, Any]]]]
    """Alias definitions by kind (``user``, ``runas``, ``host``, ``cmnd``) and name."""
    defaults: list[dict[str, Any]]
    """Defaults lines (``file``, ``line``, ``text``), kept as evidence."""
    files: list[str]
    """Files read, in order; empty when /etc/sudoers does not exist."""


def parse_sudoers_files(records: Sequence[FileRecord], main: str = "/etc/sudoers") -> SudoersFiles:
    """Read the dumped sudoers files starting at ``main``, following include directives.

    A missing ``main`` means no sudo policy (sudo refuses to run without it); a missing
    included file adds nothing (sudo cannot read rules from it either). Any other failed
    read, and any include the probe did not record, is a :class:`ParseError`.
    """
    files: dict[str, FileRecord] = {}
    dirs: dict[str, FileRecord] = {}
    for rec in records:
        (dirs if rec.kind is RecordKind.DIR else files).setdefault(rec.name, rec)
    rules: list[dict[str, Any]] = []
    aliases: dict[str, dict[str, list[dict[str, Any]]]] = {k: {} for k in ("user", "runas", "host", "cmnd")}
    defaults: list[dict[str, Any]] = []
    order: list[str] = []

    def read(name: str) -> str | None:
        rec = files.get(name)
        if rec is None:
            raise ParseError("NotCollected", f"{name} (sudoers) was not read by the probe")
        if rec.rc != 0:
            if rec.missing():
                return None
            raise ParseError("ReadFailed", f"cannot read {name}: {rec.stderr[:200] or f'exit {rec.rc}'}")
        return rec.content.decode("utf-8", "replace")

    def process(name: str, depth: int) -> None:
        if depth > 16:
            raise ParseError("BadSudoers", f"sudoers includes nested too deep at {name}")
        text = read(name)
        if text is None:
            return
        order.append(name)
        for number, line in _logical_lines(text):
            where = f"{name}:{number}"
            directive = _INCLUDE.match(line)
            if directive:
                target = directive.group(2)
                if target.startswith('"') and target.endswith('"') and len(target) > 1:
                    target = target[1:-1]
                if "%h" in target:
                    raise ParseError("NotDecided", f"{where}: include path {target!r} depends on the host name")
                if not target.startswith("/"):
                    target = posixpath.join(posixpath.dirname(name), target)
                if directive.group(1) == "include":
                    process(target, depth + 1)
                else:
                    for entry in included_dir(target, where):
                        process(entry, depth + 1)
                continue
            body = _strip_comment(line).strip()
            if not body:
                continue
            scanner = _Scanner(body, where)
            if _DEFAULTS.match(body):
                defaults.append({"file": name, "line": number, "text": " ".join(body.split())})
                continue
            head = body.split(None, 1)[0]
            if head in _ALIAS_KINDS:
                scanner.pos = len(head)
                kind = _ALIAS_KINDS[head]
                for alias, items in _alias_line(kind, scanner):
                    aliases[kind].setdefault(alias, items)
                continue
            rules.append({"file": name, "line": number, "text": " ".join(body.split()), **_user_spec(scanner)})

    def included_dir(path: str, where: str) -> list[str]:
        listing = dirs.get(path)
        if listing is None:
            raise ParseError("NotCollected", f"{where}: includedir {path} was not listed by the probe")
        if listing.rc != 0:
            if listing.missing():
                return []
            raise ParseError("ReadFailed", f"{where}: cannot list {path}: {listing.stderr[:200]}")
        names = sorted(n for t, n in listing.entries() if t == "f" and "." not in n and not n.endswith("~"))
        return [posixpath.join(path, n) for n in names]

    process(main, 0)
    return SudoersFiles(rules, aliases, defaults, order)


def parse_sudo_conf(rec: FileRecord | None) -> dict[str, Any]:
    """sudo.conf: the policy plugin must be sudoers.so reading /etc/sudoers (else NotDecided)."""
    if rec is None:
        raise ParseError("NotCollected", "/etc/sudo.conf was not read")
    if rec.rc != 0:
        if rec.missing():
            return {"policy": "sudoers_policy", "sudoers_file": "/etc/sudoers", "plugins": []}
        raise ParseError("ReadFailed", f"cannot read /etc/sudo.conf: {rec.stderr[:200]}")
    plugins = []
    for raw in rec.content.decode("utf-8", "replace").splitlines():
        words = raw.split("#", 1)[0].split()
        if len(words) >= 3 and words[0] == "Plugin":
            plugins.append({"name": words[1], "path": words[2], "args": words[3:]})
    sudoers_file = "/etc/sudoers"
    for plugin in plugins:
        if plugin["name"] not in ("sudoers_policy", "sudoers_io", "sudoers_audit"):
            raise ParseError("NotDecided", f"/etc/sudo.conf loads plugin {plugin['name']} ({plugin['path']}); "
                                           "aslcheck can only read the sudoers policy")
        for arg in plugin["args"]:
            if plugin["name"] == "sudoers_policy" and arg.startswith("sudoers_file="):
                sudoers_file = arg.partition("=")[2]
    if sudoers_file != "/etc/sudoers":
        raise ParseError("NotDecided", f"/etc/sudo.conf makes sudo read {sudoers_file}, not /etc/sudoers")
    return {"policy": "sudoers_policy", "sudoers_file": sudoers_file, "plugins": plugins}


def parse_nsswitch_sudoers(rec: FileRecord | None) -> list[str]:
    """The ``sudoers:`` sources of nsswitch.conf; anything but ``files`` is NotDecided."""
    if rec is None:
        raise ParseError("NotCollected", "/etc/nsswitch.conf was not read")
    if rec.rc != 0:
        if rec.missing():
            return ["files"]
        raise ParseError("ReadFailed", f"cannot read /etc/nsswitch.conf: {rec.stderr[:200]}")
    sources = ["files"]
    for raw in rec.content.decode("utf-8", "replace").splitlines():
        key, sep, value = raw.split("#", 1)[0].partition(":")
        if sep and key.strip() == "sudoers":
            sources = [w for w in value.split() if not w.startswith("[")]
    other = [s for s in sources if s != "files"]
    if other:
        raise ParseError("NotDecided", f"nsswitch.conf takes sudo rules from {', '.join(other)} too, "
                                       "which aslcheck does not read")
    return sources


def sudoers_fact(records: Sequence[FileRecord], sudo_conf: FileRecord | None,
                 nsswitch: FileRecord | None) -> Mapping[str, Any]:
    """The ``host.sudoers`` attributes (raises :class:`ParseError` on anything not read)."""
    conf = parse_sudo_conf(sudo_conf)
    sources = parse_nsswitch_sudoers(nsswitch)
    policy = parse_sudoers_files(records)
    return {"rules": policy.rules, "aliases": policy.aliases, "defaults": policy.defaults,
            "files_read": policy.files, "sudo_conf": conf, "nsswitch_sources": sources}
