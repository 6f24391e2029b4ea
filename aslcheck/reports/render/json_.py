"""Machine-readable JSON report, streamed: the whole document never sits in memory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from aslcheck.reports.interface import Renderer
from aslcheck.reports.model import LazyArray, RunResult

_ENCODE = json.JSONEncoder(separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode
_CHUNK = 1 << 20
"""Bytes gathered before each write."""


def iter_json(value: Any) -> Iterator[str]:
    """The compact, sorted encoding of ``value`` in pieces; :class:`LazyArray` items one by one.

    The concatenation equals ``json.dumps(value, separators=(",", ":"), sort_keys=True,
    ensure_ascii=False)`` of the same document built eagerly: dicts are walked in sorted key
    order with the same separators, and every piece without a lazy array inside is encoded by
    the same (C) encoder. A lazy array must be a direct value of a dict that is the document,
    or an item of another lazy array (deeper, the C encoder refuses it: a loud ``TypeError``).
    """
    if isinstance(value, LazyArray):
        yield "["
        first = True
        for item in value:
            if not first:
                yield ","
            first = False
            yield from iter_json(item)
        yield "]"
    elif isinstance(value, dict) and any(isinstance(v, LazyArray) for v in value.values()):
        yield "{"
        for n, key in enumerate(sorted(value)):
            yield ("," if n else "") + _ENCODE(key) + ":"
            yield from iter_json(value[key])
        yield "}"
    else:
        yield _ENCODE(value)


class JsonRenderer(Renderer):
    """The full result model as JSON (stable key order)."""

    name = "json"
    filename = "results.json"
    streams = True

    def chunks(self, run: RunResult) -> Iterator[bytes]:
        """The file in pieces of about a megabyte, ending with a newline.

        NOTE: compact because ``indent`` switches json to its pure-Python encoder (48 s and
        +3 GB peak at 1M resources, BENCHMARKS.md); ``python -m json.tool results.json``
        pretty-prints it. Streamed because the eager document of a 1M-resource run is a tree
        of millions of dicts plus a 300-550 MB string and its bytes copy.
        """
        pending: list[str] = []
        size = 0
        for piece in iter_json(run.to_json(lazy=True)):
            pending.append(piece)
            size += len(piece)
            if size >= _CHUNK:
                yield "".join(pending).encode()
                pending, size = [], 0
        pending.append("\n")
        yield "".join(pending).encode()

    def render(self, run: RunResult) -> bytes:
        """Compact, sorted JSON and a newline (the same bytes :meth:`write` writes)."""
        return b"".join(self.chunks(run))

    def write(self, run: RunResult, fh: BinaryIO) -> None:
        """Stream the report to ``fh``."""
        for chunk in self.chunks(run):
            fh.write(chunk)
