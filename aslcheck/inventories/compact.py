"""Read-only JSON objects kept encoded and decoded when read (the compact resource store).

A loaded snapshot of 1M resources as Python dicts and strings takes ~3 GB for ~0.5 GB of JSON
(BENCHMARKS.md §1). :class:`FrozenObject` keeps a resource's ``attributes`` (or ``tags``) as a
zero-copy slice of the snapshot file the caller keeps anyway, namely the resource's whole
JSON object, and decodes that member on access. Checks still see a ``Mapping[str, JSON]`` of
plain ``dict``/``list``/``str``/``int``/``bool``/``None`` values.

NOTE: decoding costs ~1-2 us per resource. A check typically reads several keys of one resource
in a row (``a = res.attributes; a.get(...); a["..."]``), so the most recently decoded objects are
kept in a small direct-mapped cache (:data:`CACHE_SLOTS` entries, a few MB); memory stays bounded
whatever the access pattern, and a resource read again after eviction is simply decoded again.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any

import msgspec

JSON = Any

CACHE_SLOTS = 4096
"""Decoded objects kept for re-reads (direct-mapped by object identity; a power of two)."""
_MASK = CACHE_SLOTS - 1


class _Attributes(msgspec.Struct):
    attributes: dict[str, Any]


class _Tags(msgspec.Struct):
    tags: dict[str, Any]


_decode = msgspec.json.Decoder().decode
_decode_attributes = msgspec.json.Decoder(_Attributes).decode
_decode_tags = msgspec.json.Decoder(_Tags).decode


def _load(raw: bytes | msgspec.Raw, member: str | None) -> dict[str, JSON]:
    if member is None:
        value: dict[str, JSON] = _decode(raw)
        return value
    # Decoding into a one-field struct skips the other members without building them.
    return _decode_attributes(raw).attributes if member == "attributes" else _decode_tags(raw).tags


_encode = msgspec.json.Encoder(order="sorted").encode
# Each entry is (owner, decoded value); holding the owner keeps its id() from being reused
# while the entry is alive, so an identity match is always the right object.
_cache: list[tuple[FrozenObject, dict[str, JSON]] | None] = [None] * CACHE_SLOTS


def encode_canonical(value: JSON) -> bytes:
    """Canonical JSON bytes of ``value`` (sorted keys, compact, UTF-8); same bytes as
    :func:`aslcheck.inventories.snapshot.canonical_json` for float-free JSON values."""
    return _encode(value)


class FrozenObject(Mapping[str, JSON]):
    """A JSON object kept encoded (usually a slice of the snapshot file); a read-only ``Mapping``.

    Values read from it are plain Python objects decoded from the bytes, which never change:
    the snapshot (and its digest) cannot be altered through it. Do not mutate what you read
    anyway: the next read may come from the cache and show the change until it is evicted.
    Two frozen objects are equal when their canonical encodings are (so ``1`` and ``true``
    differ, as they do in the digest); a frozen object equals any other mapping with the same
    content.
    """

    __slots__ = ("_member", "_raw")

    def __init__(self, raw: bytes | msgspec.Raw, member: str | None = None) -> None:
        """``raw`` is valid JSON: the object itself, or (``member`` ``"attributes"`` or
        ``"tags"``) a JSON object holding it under that key. The loader guarantees both are
        free of duplicate keys and floats."""
        if member not in (None, "attributes", "tags"):
            raise ValueError(f"unknown member {member!r}")
        self._raw = raw
        self._member = member

    @classmethod
    def from_mapping(cls, value: Mapping[str, JSON]) -> FrozenObject:
        """Freeze a mapping of JSON values."""
        return cls(_encode(dict(value)))

    def _value(self) -> dict[str, JSON]:
        hit = _cache[(id(self) >> 4) & _MASK]
        if hit is not None and hit[0] is self:
            return hit[1]
        return self._miss()

    def _miss(self) -> dict[str, JSON]:
        value = _load(self._raw, self._member)
        _cache[(id(self) >> 4) & _MASK] = (self, value)
        return value

    def thaw(self) -> dict[str, JSON]:
        """A new plain ``dict`` of the content (the caller may change it)."""
        return _load(self._raw, self._member)

    def canonical(self) -> bytes:
        """Canonical JSON encoding of the object."""
        return _encode(self._value())

    # NOTE: the accessors checks call most repeat the cache lookup of _value inline: they
    # run tens of millions of times at 1M resources.
    def __getitem__(self, key: str) -> JSON:
        hit = _cache[(id(self) >> 4) & _MASK]
        return (hit[1] if hit is not None and hit[0] is self else self._miss())[key]

    def get(self, key: str, default: JSON = None) -> JSON:
        """``Mapping.get`` with one lookup."""
        hit = _cache[(id(self) >> 4) & _MASK]
        return (hit[1] if hit is not None and hit[0] is self else self._miss()).get(key, default)

    def __contains__(self, key: object) -> bool:
        hit = _cache[(id(self) >> 4) & _MASK]
        return key in (hit[1] if hit is not None and hit[0] is self else self._miss())

    def __iter__(self) -> Iterator[str]:
        return iter(self._value())

    def __len__(self) -> int:
        return len(self._value())

    def keys(self) -> KeysView[str]:
        """Keys (a view of the decoded object)."""
        return self._value().keys()

    def values(self) -> ValuesView[JSON]:
        """Values (a view of the decoded object)."""
        return self._value().values()

    def items(self) -> ItemsView[str, JSON]:
        """Items (a view of the decoded object)."""
        return self._value().items()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenObject):
            return self is other or self.canonical() == other.canonical()
        if isinstance(other, Mapping):
            return self._value() == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # unhashable, like the dict it stands for

    def __repr__(self) -> str:
        return f"FrozenObject({self._value()!r})"


EMPTY = FrozenObject(b"{}")
"""The empty object, shared by every resource whose tags (or attributes) are ``{}``."""
