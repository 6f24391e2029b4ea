"""Strict JSON for snapshots: refuse what two parsers could read differently, and say on which line.

A snapshot is named by the SHA-256 of its bytes. If those bytes could be read as two different
inventories, a signed digest would not pin down what was evaluated. So, besides invalid JSON, a
snapshot may not contain:

- a key twice in one object (most parsers keep the last value, some the first, some refuse);
- a floating-point number (canonical JSON has none: parsers round differently, 1E400 overflows);
- ``NaN``/``Infinity`` (not JSON at all; Python's ``json`` accepts them).

:func:`check` is the slow, exact pass the loader runs only when the fast path could not prove
the file canonical (see :mod:`aslcheck.inventories.schema.reader`); :func:`locate` finds the
line of a dotted path for error messages. Both are pure functions of the text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from json.decoder import scanstring  # type: ignore[attr-defined]  # C-accelerated, undocumented
from typing import Any

from aslcheck.errors import BadInputError, Location

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")
_PLAIN = json.JSONDecoder()
"""Skips values (used only after the strict pass, or on documents already refused)."""


class _Problem(Exception):
    """Raised inside the strict decoder's hooks; the walker then finds where."""


def _pairs(pairs: list[tuple[str, Any]]) -> None:
    if len({k for k, _ in pairs}) != len(pairs):
        raise _Problem
    # NOTE: the strict pass only proves the text acceptable; the loader builds the snapshot
    # separately, so nothing is kept (memory stays flat on large documents).


def _no_float(text: str) -> None:
    raise _Problem


_STRICT = json.JSONDecoder(object_pairs_hook=_pairs, parse_float=_no_float, parse_constant=_no_float)


def line_of(text: str | bytes, pos: int) -> int:
    """1-based line of offset ``pos``."""
    newline: Any = "\n" if isinstance(text, str) else b"\n"
    return text.count(newline, 0, pos) + 1


def decode_utf8(data: bytes, origin: str) -> str:
    """The document as text; invalid UTF-8 is bad input (JSON interchange is UTF-8, RFC 8259)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"not valid UTF-8 (byte {exc.start}): a snapshot is UTF-8 JSON",
                            Location(origin, line_of(data, exc.start))) from None


def check(data: bytes, origin: str) -> None:
    """Raise :class:`BadInputError` (with line and path) unless ``data`` is strict JSON."""
    text = decode_utf8(data, origin)
    try:
        _STRICT.decode(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"not valid JSON: {exc.msg} (column {exc.colno})",
                            Location(origin, exc.lineno)) from None
    except _Problem:
        pos, path, message = _find(text)
        raise BadInputError(message, Location(origin, line_of(text, pos), _dotted(path))) from None


def _dotted(path: Sequence[str | int]) -> str | None:
    return ".".join(str(p) for p in path) or None


def _ws(text: str, pos: int) -> int:
    end: int = _WS.match(text, pos).end()  # type: ignore[union-attr]  # matches the empty string
    return end


def _find(text: str) -> tuple[int, list[str | int], str]:
    """Offset, path and message of the first problem in document order (text is valid JSON)."""
    found = _walk(text, _ws(text, 0), [])
    if found is None:  # pragma: no cover - the strict pass said there is one
        raise AssertionError("strict JSON pass and walker disagree")
    return found


def _walk(text: str, pos: int, path: list[str | int]) -> tuple[int, list[str | int], str] | None:
    """First problem in the value at ``pos`` (descends only into values that have one)."""
    char = text[pos]
    if char == "{":
        seen: set[str] = set()
        pos = _ws(text, pos + 1)
        if text[pos] == "}":
            return None
        while True:
            key_at = pos
            key, pos = scanstring(text, pos + 1)
            if key in seen:
                return key_at, [*path, key], (
                    f"duplicate key {key!r}: a key may appear once per object (parsers disagree "
                    "on which copy counts, so the bytes would not name one snapshot)")
            seen.add(key)
            pos = _ws(text, _ws(text, pos) + 1)  # past the colon
            found = _child(text, pos, [*path, key])
            if found is not None:
                return found
            pos = _ws(text, _end(text, pos))
            if text[pos] == "}":
                return None
            pos = _ws(text, pos + 1)  # past the comma
    if char == "[":
        pos = _ws(text, pos + 1)
        index = 0
        if text[pos] == "]":
            return None
        while True:
            found = _child(text, pos, [*path, index])
            if found is not None:
                return found
            pos = _ws(text, _end(text, pos))
            if text[pos] == "]":
                return None
            pos = _ws(text, pos + 1)
            index += 1
    number = _NUMBER.match(text, pos)
    if number is not None and (number.group(1) or number.group(2)):
        return pos, path, (f"floating-point number {number.group(0)}: a snapshot holds integers only "
                           "(canonical JSON; parsers round floats differently)")
    if text.startswith(("NaN", "Infinity", "-Infinity"), pos):
        return pos, path, "NaN and Infinity are not JSON"
    return None


def _child(text: str, pos: int, path: list[str | int]) -> tuple[int, list[str | int], str] | None:
    # NOTE: a container is first checked whole by the C-accelerated strict decoder; only a
    # container that has a problem is walked in Python, so locating costs about two parses.
    if text[pos] in "{[":
        try:
            _STRICT.raw_decode(text, pos)
        except _Problem:
            return _walk(text, pos, path)
        return None
    return _walk(text, pos, path)


def _end(text: str, pos: int) -> int:
    end: int = _PLAIN.raw_decode(text, pos)[1]
    return end


def locate(data: bytes, path: Sequence[str | int]) -> int | None:
    """Line of the value at ``path`` (keys and indexes) in a JSON document; None if not found."""
    try:
        text = data.decode("utf-8")
        pos = _ws(text, 0)
        for step in path:
            pos = _step(text, pos, step)
            if pos < 0:
                return None
        return line_of(text, pos)
    except (UnicodeDecodeError, ValueError, IndexError):
        return None


def _step(text: str, pos: int, step: str | int) -> int:
    """Offset of member ``step`` of the container at ``pos``, or -1."""
    char = text[pos]
    if char == "{" and isinstance(step, str):
        pos = _ws(text, pos + 1)
        found = -1
        while text[pos] != "}":
            key, pos = scanstring(text, pos + 1)
            pos = _ws(text, _ws(text, pos) + 1)
            if key == step:
                found = pos  # keep going: with a repeated key the last copy is the one read
            pos = _ws(text, _end(text, pos))
            if text[pos] == ",":
                pos = _ws(text, pos + 1)
        return found
    if char == "[" and isinstance(step, int):
        pos = _ws(text, pos + 1)
        index = 0
        while text[pos] != "]":
            if index == step:
                return pos
            pos = _ws(text, _end(text, pos))
            if text[pos] == ",":
                pos = _ws(text, pos + 1)
            index += 1
    return -1
