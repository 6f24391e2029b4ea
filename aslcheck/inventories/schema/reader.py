"""Read snapshot bytes into a compact :class:`Snapshot`, refusing anything two parsers could read apart.

msgspec splits the document into one zero-copy slice per resource without building objects;
each slice is decoded once, validated, and kept: the resource's ``attributes`` and ``tags`` are
:class:`FrozenObject` views of it, decoded again when a check reads them. What differs is how
the absence of duplicate keys and floats (see :mod:`.strict`) is proven:

1. **Fast path** (files aslcheck wrote: canonical JSON). Each slice must equal the canonical
   re-encoding of what it decodes to, and the canonical document rebuilt from the parts must
   have the file's SHA-256. Equal bytes prove there is no repeated key anywhere (a canonical
   encoding never repeats a key, and a repeated key would be lost on decoding), no white space
   and no float (the decoder refuses floats outright).
2. **Careful path** (anything else: pretty-printed, reordered, or broken). The strict pass of
   :mod:`.strict` refuses duplicate keys, floats and NaN with file, line and path; then the
   same builder runs without the proof.

Schema violations name the file, the line (found by :func:`strict.locate`) and the dotted path.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import msgspec

from aslcheck.errors import BadInputError, Location
from aslcheck.inventories.compact import EMPTY, FrozenObject, encode_canonical
from aslcheck.inventories.schema import ARRAYS, ERROR_KEYS, RESOURCE_KEYS, head_problem, item_problem, strict
from aslcheck.inventories.snapshot import CollectionError, CollectorRun, Resource, Snapshot, shallow_problem

_TOP = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ITEMS = msgspec.json.Decoder(list[msgspec.Raw])


def _refuse_float(text: str) -> Any:
    raise ValueError("float")


_VALUE = msgspec.json.Decoder(float_hook=_refuse_float)


_BYTE = re.compile(r"\(byte (\d+)\)")
_JSON_ERRORS = (msgspec.DecodeError, UnicodeDecodeError)  # ValidationError is a DecodeError


class _NotCanonical(Exception):
    """The fast path cannot vouch for the file; read it the careful way."""


def read(data: bytes, origin: str) -> Snapshot:
    """Parse, validate and build the snapshot held in ``data`` (the bytes of file ``origin``)."""
    try:
        return _Builder(data, origin, canonical=True).build()
    except _NotCanonical:
        pass
    strict.check(data, origin)
    return _Builder(data, origin, canonical=False).build()


class _Builder:
    """One pass over the document; ``canonical`` selects the fast path (see the module docstring)."""

    def __init__(self, data: bytes, origin: str, *, canonical: bool) -> None:
        self.data = data
        self.origin = origin
        self.canonical = canonical
        self.hasher = hashlib.sha256()
        self._names: dict[str, str] = {}

    def fail(self, path: list[str | int], message: str) -> BadInputError:
        """A located schema error."""
        dotted = ".".join(str(p) for p in path) or "(document)"
        return BadInputError(f"not a valid aslcheck snapshot: {message}",
                             Location(self.origin, strict.locate(self.data, path), dotted))

    def not_json(self, path: list[str | int], exc: Exception) -> Exception:
        """Undecodable JSON: on the fast path, a reason to try the careful one."""
        if self.canonical:
            return _NotCanonical()
        # msgspec names a byte offset, relative to what it decoded: the file only at the top.
        offset = _BYTE.search(str(exc)) if not path else None
        line = strict.line_of(self.data, int(offset.group(1))) if offset else strict.locate(self.data, path)
        where = ".".join(str(p) for p in path) or None
        return BadInputError(f"not valid JSON: {exc}", Location(self.origin, line, where))

    def name(self, value: str) -> str:
        """One shared string per distinct kind, source, account, region, host."""
        return self._names.setdefault(value, value)

    def build(self) -> Snapshot:
        """The snapshot, or :class:`BadInputError` / :class:`_NotCanonical`."""
        try:
            top = _TOP.decode(self.data)
        except msgspec.ValidationError:
            raise BadInputError("expected a JSON object (an aslcheck snapshot)",
                                Location(self.origin, strict.locate(self.data, []))) from None
        except _JSON_ERRORS as exc:
            raise self.not_json([], exc) from None
        head: dict[str, Any] = {}
        arrays: dict[str, list[msgspec.Raw]] = {}
        for key, raw in top.items():
            if key in ARRAYS:
                try:
                    arrays[key] = _ITEMS.decode(raw)
                except msgspec.ValidationError:
                    raise self.fail([key], "expected an array") from None
                head[key] = []
            else:
                try:
                    head[key] = _VALUE.decode(raw)
                except _JSON_ERRORS as exc:  # a float (see _refuse_float) or invalid JSON
                    raise self.not_json([key], exc) from None
        problem = head_problem(head)
        if problem:
            path, message = problem
            raise self.fail([] if path == "(document)" else _split(path), message)
        errors = [self.error(i, raw) for i, raw in enumerate(arrays["errors"])]
        found = [self.resource(i, raw) for i, raw in enumerate(arrays["resources"])]
        runs = [CollectorRun(name=r["name"], version=r["version"], targets=tuple(r["targets"]),
                             kinds=tuple(r["kinds"]), started=r["started"], ended=r["ended"],
                             shallow={k: tuple(v) for k, v in r.get("shallow", {}).items()})
                for r in head["provenance"]["collectors"]]
        if self.canonical:
            self.prove_canonical(top, head, arrays)
        snap = Snapshot(resources=tuple(found), errors=tuple(errors), runs=tuple(runs))
        unnamed = shallow_problem(runs, snap)
        if unnamed is not None:
            n, kind, message = unnamed
            raise self.fail(["provenance", "collectors", n, "shallow", kind], message)
        return snap

    def item(self, name: str, index: int, raw: msgspec.Raw,
             keys: tuple[tuple[str, ...], tuple[str, ...]]) -> dict[str, Any]:
        """Decode and validate one array item (and, on the fast path, check it is canonical)."""
        try:
            obj = _VALUE.decode(raw)
        except _JSON_ERRORS as exc:
            raise self.not_json([name, index], exc) from None
        problem = item_problem(obj, keys)
        if problem:
            sub, message = problem
            raise self.fail([name, index, *([sub] if sub else [])], message)
        if self.canonical and memoryview(raw) != encode_canonical(obj):
            raise _NotCanonical
        return obj  # type: ignore[no-any-return]

    def error(self, index: int, raw: msgspec.Raw) -> CollectionError:
        """One ``errors`` item."""
        e = self.item("errors", index, raw, ERROR_KEYS)
        return CollectionError(
            source=self.name(e["source"]), operation=e["operation"], code=e["code"], message=e["message"],
            resource=e.get("resource"), kind=_opt(self, e.get("kind")), account=_opt(self, e.get("account")),
            region=_opt(self, e.get("region")), host=_opt(self, e.get("host")))

    def resource(self, index: int, raw: msgspec.Raw) -> Resource:
        """One ``resources`` item; its attributes and tags stay encoded in ``raw`` (zero-copy)."""
        r = self.item("resources", index, raw, RESOURCE_KEYS)
        attributes = FrozenObject(raw, "attributes") if r["attributes"] else EMPTY
        tags = None if "tags" not in r else FrozenObject(raw, "tags") if r["tags"] else EMPTY
        return Resource(kind=self.name(r["kind"]), id=r["id"], source=self.name(r["source"]),
                        attributes=attributes, tags=tags, account=_opt(self, r.get("account")),
                        region=_opt(self, r.get("region")), host=_opt(self, r.get("host")))

    def prove_canonical(self, top: dict[str, msgspec.Raw], head: dict[str, Any],
                        arrays: dict[str, list[msgspec.Raw]]) -> None:
        """Raise :class:`_NotCanonical` unless the file is exactly the canonical document."""
        h = self.hasher
        h.update(b"{")
        for n, key in enumerate(sorted(top)):
            h.update(b"%s%s:" % (b"," if n else b"", encode_canonical(key)))
            if key in arrays:
                h.update(b"[")
                for i, raw in enumerate(arrays[key]):
                    if i:
                        h.update(b",")
                    h.update(raw)  # each item was checked equal to its canonical encoding
                h.update(b"]")
            else:
                h.update(encode_canonical(head[key]))
        h.update(b"}")
        if h.digest() != hashlib.sha256(self.data).digest():
            raise _NotCanonical


def _opt(builder: _Builder, value: str | None) -> str | None:
    return None if value is None else builder.name(value)


def _split(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in path.split(".")]

