"""What Terraform code declares, independent of how it was read (HCL directory or plan JSON).

Both front-ends (:mod:`.hcl`, :mod:`.plan`) produce :class:`Declared`: every resource and data
source as a :class:`Block` whose :class:`Body` yields *evaluated* values. A value the code does
not determine (computed at apply time, an unresolvable reference, a variable without a value)
is :data:`UNKNOWN`; the normalisers then leave the attribute absent, so checks reading it
yield ERROR instead of guessing.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any, Final

from aslcheck.inventories.interface import utc_now


class _Unknown(Enum):
    """The type of :data:`UNKNOWN` (an enum, so ``x is UNKNOWN`` narrows types)."""

    UNKNOWN = "unknown"

    def __repr__(self) -> str:
        return "<unknown>"

    def __bool__(self) -> bool:
        # NOTE: an unknown value must never be mistaken for "set" or "true" by accident.
        raise TypeError("the truth of an unknown Terraform value is undefined")


UNKNOWN: Final = _Unknown.UNKNOWN
"""A value the code does not determine before apply."""


def is_unknown(value: Any) -> bool:
    """Whether ``value`` is, or contains, :data:`UNKNOWN`."""
    stack = [value]
    while stack:
        item = stack.pop()
        if item is UNKNOWN:
            return True
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


class Body(ABC):
    """Evaluated arguments and nested blocks of one resource (or one nested block)."""

    @abstractmethod
    def has(self, name: str) -> bool:
        """Whether the code sets argument ``name`` (or it is known to be unknown)."""

    @abstractmethod
    def get(self, name: str, default: Any = None) -> Any:
        """The evaluated argument; ``default`` when the code does not set it; may be UNKNOWN."""

    @abstractmethod
    def blocks(self, name: str) -> list[Body] | _Unknown:
        """Nested blocks called ``name``; UNKNOWN when generated (``dynamic``) or computed."""


class DictBody(Body):
    """A body over plain, already-evaluated values (nested blocks are lists of dicts)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values

    def has(self, name: str) -> bool:
        """Whether ``name`` is set."""
        return name in self._values

    def get(self, name: str, default: Any = None) -> Any:
        """The value of ``name``."""
        return self._values.get(name, default)

    def blocks(self, name: str) -> list[Body] | _Unknown:
        """Nested blocks."""
        raw: Any = self._values.get(name)
        if isinstance(raw, _Unknown):
            return UNKNOWN
        if isinstance(raw, Mapping):
            return [DictBody(raw)]
        if isinstance(raw, list):
            if any(not isinstance(b, Mapping) for b in raw):
                return UNKNOWN
            return [DictBody(b) for b in raw]
        return []


@dataclass(frozen=True)
class Provider:
    """The AWS provider configuration a resource uses."""

    account: str | None = None
    """The single account pinned by ``allowed_account_ids``, when the code pins exactly one."""
    region: str | None = None
    """The provider region, when a literal."""
    default_tags: Mapping[str, Any] | _Unknown = field(default_factory=dict)
    """``default_tags { tags = ... }`` merged into every resource's tags."""


@dataclass(frozen=True)
class Block:
    """One ``resource`` or ``data`` block (one instance, in plan mode)."""

    mode: str
    """``managed`` or ``data``."""
    type: str
    """Resource type, e.g. ``aws_s3_bucket``."""
    name: str
    """Local name."""
    address: str
    """Terraform address, e.g. ``aws_s3_bucket.weights`` or ``module.m.aws_s3_bucket.x[0]``."""
    file: str
    """File relative to the scanned directory (or the plan file), ``/``-separated."""
    start_line: int | None
    """First line of the block, when known."""
    end_line: int | None
    """Last line of the block, when known."""
    body: Body
    """Evaluated arguments."""
    provider: Provider
    """Provider configuration in effect."""
    expanded: bool = True
    """False when ``count``/``for_each`` made its instances unknowable from the code alone."""

    def location(self) -> dict[str, Any]:
        """``{"file", "start_line", "end_line"}`` for findings (lines omitted when unknown)."""
        out: dict[str, Any] = {"file": self.file, "address": self.address}
        if self.start_line is not None:
            out["start_line"] = self.start_line
        if self.end_line is not None:
            out["end_line"] = self.end_line
        return out


@dataclass(frozen=True)
class Problem:
    """Something in the code that keeps part of it from being evaluated (not a syntax error)."""

    code: str
    """Machine-readable code (``ModuleNotExpanded``, ``CountNotExpanded``, ``UnknownProvider``)."""
    message: str
    """What and why, for a person."""
    address: str | None = None
    """The block concerned, if one."""
    resource_type: str | None = None
    """Its Terraform type, to map the problem onto snapshot kinds."""


@dataclass(frozen=True)
class DeclaredInputs:
    """Which files fed a directory scan beyond the ``*.tf`` files (shown paths)."""

    var_files: tuple[str, ...] = ()
    """Variable files applied, lowest precedence first."""
    hidden_var_files: tuple[str, ...] = ()
    """Automatic variable files with hidden names (Terraform loads them; checkov does not)."""
    overrides: tuple[str, ...] = ()
    """Override files merged (checkov reads them as ordinary files)."""
    overridden: tuple[str, ...] = ()
    """Addresses the override files changed."""
    ignored: tuple[str, ...] = ()
    """``*.tf`` files Terraform ignores (hidden or editor files), so the gate ignores them too."""


@dataclass(frozen=True)
class Declared:
    """Everything the code declares."""

    blocks: tuple[Block, ...]
    """Resources and data sources."""
    problems: tuple[Problem, ...] = ()
    """Parts that could not be evaluated."""
    origin: str = ""
    """Directory or plan file read."""
    inputs: DeclaredInputs = field(default_factory=DeclaredInputs)
    """The variable and override files of a directory scan (empty for a plan)."""
    read_at: str = field(default_factory=utc_now)
    """When the code was read (RFC 3339): what AWS would stamp on resources created now (an
    access key's ``created``). Fixed per read, so every normalisation of it is identical."""

    @cached_property
    def _by_type(self) -> dict[str, tuple[Block, ...]]:
        """Managed blocks per type, each in address order (built once, on first use)."""
        # NOTE: normalisers ask for the blocks of a type once per parent resource; sorting the
        # whole module on every call made the gate quadratic in its size (issue 12 item 4).
        out: dict[str, list[Block]] = {}
        for b in sorted(self.blocks, key=lambda b: b.address):
            if b.mode == "managed":
                out.setdefault(b.type, []).append(b)
        return {t: tuple(bs) for t, bs in out.items()}

    @cached_property
    def _by_address(self) -> dict[str, Block]:
        out: dict[str, Block] = {}
        for b in self.blocks:
            out.setdefault(b.address, b)
        return out

    def managed(self, *types: str) -> Iterator[Block]:
        """Managed resources of the given types, in address order."""
        if len(types) == 1:
            yield from self._by_type.get(types[0], ())
            return
        chosen = [b for t in dict.fromkeys(types) for b in self._by_type.get(t, ())]
        yield from sorted(chosen, key=lambda b: b.address)

    def find(self, address: str) -> Block | None:
        """The block with ``address`` (``data.`` prefix for data sources)."""
        return self._by_address.get(address)


_TRAVERSAL = re.compile(r'^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*|\[\d+\]|\["[^"]*"\])*$')


def is_traversal(text: str) -> bool:
    """Whether ``text`` is a plain reference such as ``aws_kms_key.k.arn`` or ``var.x[0]``."""
    return bool(_TRAVERSAL.match(text))


def split_traversal(text: str) -> list[str | int]:
    """``a.b["c"][0]`` -> ``["a", "b", "c", 0]``."""
    out: list[str | int] = []
    for m in re.finditer(r'\.?([A-Za-z_][\w-]*)|\[(\d+)\]|\["([^"]*)"\]', text):
        if m.group(1) is not None:
            out.append(m.group(1))
        elif m.group(2) is not None:
            out.append(int(m.group(2)))
        else:
            out.append(m.group(3))
    return out


def index(value: Any, path: Sequence[str | int]) -> Any:
    """Follow ``path`` into ``value``; UNKNOWN where it cannot be followed."""
    for step in path:
        if isinstance(step, int) and isinstance(value, list) and 0 <= step < len(value):
            value = value[step]
            continue
        if isinstance(step, str) and isinstance(value, Mapping) and step in value:
            value = value[step]
            continue
        return UNKNOWN
    return value
