"""Pure parsers for Ansible inventories (YAML and INI) into hosts, groups and merged variables.

Supported: ``hosts``, ``vars`` and ``children`` at any depth (YAML), ``[group]``,
``[group:vars]`` and ``[group:children]`` sections (INI), numeric and alphabetic host ranges
(``web[01:10]``, ``db-[a:c]``), and Ansible's variable precedence (``all`` < parent groups <
child groups by depth, then by name < host variables). Dynamic inventory scripts and plugins
are not supported; anything unrecognised is a :class:`~aslcheck.errors.BadInputError` naming
file and line rather than being skipped.
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aslcheck.controls.yamlio import Located, Path, load_yaml
from aslcheck.errors import BadInputError, Location


@dataclass(frozen=True)
class InventoryHost:
    """One host of an inventory, with its groups and effective variables."""

    name: str
    """Inventory name (what ``ansible-inventory --list`` shows)."""
    groups: frozenset[str]
    """Every group the host belongs to, ancestors included (always contains ``all``)."""
    vars: Mapping[str, Any]
    """Effective variables after Ansible's precedence rules."""
    line: int
    """Line of the host's first declaration (for messages)."""


@dataclass
class _Group:
    name: str
    hosts: dict[str, int] = field(default_factory=dict)
    host_vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    children: set[str] = field(default_factory=set)
    line: int = 1


_RANGE = re.compile(r"\[([^\[\]:]+):([^\[\]:]+)(?::(\d+))?\]")
_NAME = re.compile(r"^[A-Za-z0-9_.\-\[\]:@]+$")
_GROUP = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def expand_host_pattern(pattern: str, where: Location) -> list[str]:
    """Expand Ansible host ranges (``web[01:03]`` -> web01, web02, web03)."""
    match = _RANGE.search(pattern)
    if match is None:
        return [pattern]
    start, end, step_text = match.group(1), match.group(2), match.group(3)
    step = int(step_text) if step_text else 1
    head, tail = pattern[: match.start()], pattern[match.end():]
    if start.isdigit() and end.isdigit():
        width = len(start) if start.startswith("0") else 0
        if int(end) < int(start) or step < 1:
            raise BadInputError(f"bad host range {match.group(0)!r}", where)
        items = [str(i).zfill(width) for i in range(int(start), int(end) + 1, step)]
    elif len(start) == 1 and len(end) == 1 and start in string.ascii_letters and end in string.ascii_letters:
        if ord(end) < ord(start) or step < 1:
            raise BadInputError(f"bad host range {match.group(0)!r}", where)
        items = [chr(c) for c in range(ord(start), ord(end) + 1, step)]
    else:
        raise BadInputError(f"bad host range {match.group(0)!r}", where)
    out: list[str] = []
    for item in items:
        out.extend(expand_host_pattern(head + item + tail, where))
    return out


def _check_host_name(name: str, where: Location) -> None:
    if not name or not _NAME.match(name):
        raise BadInputError(f"invalid host name {name!r}", where)


def _check_group_name(name: str, where: Location) -> None:
    if not _GROUP.match(name):
        raise BadInputError(f"invalid group name {name!r}", where)


def parse_yaml_inventory(doc: Located) -> tuple[InventoryHost, ...]:
    """Parse a YAML inventory already loaded with line information."""
    groups: dict[str, _Group] = {}
    if not isinstance(doc.data, dict):
        raise BadInputError("an inventory must be a mapping of group names", doc.where(()))

    def mapping(value: Any, path: Path, what: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise BadInputError(f"{what} must be a mapping", doc.where(path))
        return value

    def walk(name: str, body: Any, path: Path) -> None:
        where = doc.where(path)
        _check_group_name(name, where)
        group = groups.setdefault(name, _Group(name, line=where.line or 1))
        content = mapping(body, path, f"group {name!r}")
        unknown = set(content) - {"hosts", "vars", "children"}
        if unknown:
            key = sorted(unknown)[0]
            raise BadInputError(
                f"unknown key {key!r} in group {name!r} (expected hosts, vars, children)",
                doc.where(path + (key,)),
            )
        for host, hvars in mapping(content.get("hosts"), path + ("hosts",), "hosts").items():
            hpath = path + ("hosts", host)
            hwhere = doc.where(hpath)
            for expanded in expand_host_pattern(str(host), hwhere):
                _check_host_name(expanded, hwhere)
                group.hosts.setdefault(expanded, hwhere.line or 1)
                group.host_vars.setdefault(expanded, {}).update(
                    mapping(hvars, hpath, f"variables of host {host!r}")
                )
        group.vars.update(mapping(content.get("vars"), path + ("vars",), "vars"))
        for child, cbody in mapping(content.get("children"), path + ("children",), "children").items():
            group.children.add(str(child))
            walk(str(child), cbody, path + ("children", child))

    for top, body in doc.data.items():
        walk(str(top), body, (top,))
    return _resolve(groups, doc.file)


_INI_SECTION = re.compile(r"^\[([^\]:]+)(?::(vars|children))?\]\s*$")


def _ini_value(raw: str) -> Any:
    # NOTE: Ansible evaluates INI values as Python literals when it can, else keeps the string.
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


def _split_ini_line(line: str, where: Location) -> list[str]:
    import shlex

    try:
        return shlex.split(line, comments=True, posix=True)
    except ValueError as exc:
        raise BadInputError(f"cannot parse line: {exc}", where) from exc


def parse_ini_inventory(text: str, file: str) -> tuple[InventoryHost, ...]:
    """Parse an INI inventory from ``text`` (``file`` is used in error locations)."""
    groups: dict[str, _Group] = {"ungrouped": _Group("ungrouped")}
    section, mode = "ungrouped", "hosts"
    for number, raw_line in enumerate(text.splitlines(), start=1):
        where = Location(file, number)
        line = raw_line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            match = _INI_SECTION.match(line)
            if match is None:
                raise BadInputError(f"malformed section header {line!r}", where)
            section, mode = match.group(1), match.group(2) or "hosts"
            _check_group_name(section, where)
            groups.setdefault(section, _Group(section, line=number))
            continue
        group = groups[section]
        if mode == "vars":
            if "=" not in line:
                raise BadInputError(f"expected key=value in [{section}:vars]", where)
            key, _, value = line.partition("=")
            group.vars[key.strip()] = _ini_value(value.strip())
        elif mode == "children":
            _check_group_name(line, where)
            group.children.add(line)
            groups.setdefault(line, _Group(line, line=number))
        else:
            parts = _split_ini_line(line, where)
            if not parts:
                continue
            hvars: dict[str, Any] = {}
            for part in parts[1:]:
                if "=" not in part:
                    raise BadInputError(f"expected key=value after the host name, got {part!r}", where)
                key, _, value = part.partition("=")
                hvars[key] = _ini_value(value)
            for host in expand_host_pattern(parts[0], where):
                _check_host_name(host, where)
                group.hosts.setdefault(host, number)
                group.host_vars.setdefault(host, {}).update(hvars)
    return _resolve(groups, file)


def _resolve(groups: dict[str, _Group], file: str) -> tuple[InventoryHost, ...]:
    groups.setdefault("all", _Group("all"))
    for name, group in list(groups.items()):
        for child in group.children:
            if child not in groups:
                raise BadInputError(f"group {name!r} names unknown child group {child!r}",
                                    Location(file, group.line))
    # Every group without a parent is a child of ``all``.
    has_parent = {c for g in groups.values() for c in g.children}
    groups["all"].children |= {n for n in groups if n != "all" and n not in has_parent}
    depth: dict[str, int] = {}
    parents: dict[str, set[str]] = {n: set() for n in groups}
    for name, group in groups.items():
        for child in group.children:
            parents[child].add(name)

    def group_depth(name: str, trail: tuple[str, ...]) -> int:
        if name in trail:
            raise BadInputError(f"group cycle: {' -> '.join(trail + (name,))}",
                                Location(file, groups[name].line))
        if name not in depth:
            depth[name] = 1 + max((group_depth(p, trail + (name,)) for p in parents[name]), default=-1)
        return depth[name]

    for name in groups:
        group_depth(name, ())

    def ancestors(name: str) -> set[str]:
        out = {name}
        for parent in parents[name]:
            out |= ancestors(parent)
        return out

    member_of: dict[str, set[str]] = {}
    first_line: dict[str, int] = {}
    for name, group in groups.items():
        for host, line in group.hosts.items():
            member_of.setdefault(host, set()).update(ancestors(name))
            first_line[host] = min(first_line.get(host, line), line)
    hosts: list[InventoryHost] = []
    for host in sorted(member_of):
        names = member_of[host] | {"all"}
        if names - {"all", "ungrouped"}:
            names.discard("ungrouped")
        merged: dict[str, Any] = {}
        for gname in sorted(names, key=lambda n: (depth[n], n)):
            merged.update(groups[gname].vars)
        for gname in sorted(names, key=lambda n: (depth[n], n)):
            merged.update(groups[gname].host_vars.get(host, {}))
        hosts.append(InventoryHost(host, frozenset(names), merged, first_line[host]))
    return tuple(hosts)


def load_inventory(path: str) -> tuple[InventoryHost, ...]:
    """Read an inventory file; YAML when it parses as a YAML mapping of groups, else INI."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise BadInputError(f"cannot read inventory: {exc.strerror}", Location(path)) from exc
    except UnicodeDecodeError as exc:
        raise BadInputError("inventory is not UTF-8 text", Location(path)) from exc
    if path.endswith((".yml", ".yaml")) or _looks_like_yaml(text):
        return parse_yaml_inventory(load_yaml(path, text))
    return parse_ini_inventory(text, path)


def _looks_like_yaml(text: str) -> bool:
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        return stripped == "---" or (stripped.endswith(":") and not stripped.startswith("["))
    return False
