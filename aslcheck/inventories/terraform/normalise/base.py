"""Shared machinery of the normalisers: resources in the AWS attribute model, from blocks.

Contract (``/work/briefs/aws-model.md`` and ``docs/terraform.md``): ``source="terraform"``,
``id`` = the Terraform address, ``tags`` from ``tags`` merged with the provider's
``default_tags`` (None when undetermined), ``account``/``region`` from the provider, and an
extra ``location`` attribute ``{file, start_line, end_line, address}`` the engine copies into
findings. An attribute the code does not determine is ABSENT and named with the reason in
``undetermined``; it is never filled with a default that could make a check pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aslcheck.inventories.snapshot import Resource
from aslcheck.inventories.terraform.declared import UNKNOWN, Block, Body, Declared, is_unknown
from aslcheck.inventories.terraform.resolve import merged_tags

SOURCE = "terraform"


@dataclass
class Attrs:
    """Attributes being built for one resource; unknown values go to ``undetermined``."""

    values: dict[str, Any] = field(default_factory=dict)
    """Determined attributes."""
    undetermined: dict[str, str] = field(default_factory=dict)
    """Attribute name -> why the code does not determine it."""

    def set(self, name: str, value: Any, why: str = "") -> None:
        """Record ``value``, or the attribute as undetermined when it is (or holds) UNKNOWN."""
        if is_unknown(value):
            self.undetermined[name] = why or "not known before apply"
        else:
            self.values[name] = value

    def unknown(self, name: str, why: str) -> None:
        """Record ``name`` as undetermined."""
        self.undetermined[name] = why


@dataclass(frozen=True)
class _ArgIndex:
    """The blocks of one type keyed by the identifiers one of their arguments names."""

    by_value: dict[str, list[Block]]
    """Identifier -> blocks whose argument names it, in address order."""
    ambiguous: bool
    """Whether some block's argument is undetermined (it might name any parent)."""


class Context:
    """The declared code plus lookups the normalisers share.

    One context serves one normalisation: the satellite index it builds on first use reads
    each block's argument once, so the normalisers stay linear in the size of the code.
    """

    def __init__(self, declared: Declared) -> None:
        self.declared = declared
        self._indexes: dict[tuple[str, str, bool], _ArgIndex] = {}
        self._order: dict[int, int] = {}

    def tags(self, block: Block) -> dict[str, str] | None:
        """Tags as the resource will carry them (``tags_all``), None when undetermined."""
        if block.body.has("tags_all"):
            return merged_tags({}, block.body.get("tags_all"))
        return merged_tags(block.provider.default_tags, block.body.get("tags", {}))

    def resource(self, kind: str, block: Block, attrs: Attrs,
                 parts: Iterable[Block] = ()) -> Resource:
        """The snapshot resource for ``block`` (``parts``: satellite blocks merged into it)."""
        values = dict(attrs.values)
        values["location"] = block.location()
        merged = sorted({p.address for p in parts})
        if merged:
            values["terraform_parts"] = merged
        if attrs.undetermined:
            values["undetermined"] = dict(sorted(attrs.undetermined.items()))
        return Resource(kind=kind, id=block.address, source=SOURCE, attributes=values,
                        tags=self.tags(block), account=block.provider.account,
                        region=block.provider.region)

    def _index(self, rtype: str, arg: str, required: bool) -> _ArgIndex:
        key = (rtype, arg, required)
        found = self._indexes.get(key)
        if found is not None:
            return found
        by_value: dict[str, list[Block]] = {}
        ambiguous = False
        for block in self.declared.managed(rtype):
            self._order.setdefault(id(block), len(self._order))
            if not required and not block.body.has(arg):
                continue
            value = block.body.get(arg, UNKNOWN)
            if not block.expanded or value is UNKNOWN or not isinstance(value, (str, list)):
                ambiguous = True
                continue
            values = value if isinstance(value, list) else [value]
            if any(v is UNKNOWN or isinstance(v, (dict, list)) for v in values):
                # NOTE: an unknown (or non-identifier) element might name any parent.
                ambiguous = True
                continue
            for v in dict.fromkeys(v for v in values if isinstance(v, str)):
                by_value.setdefault(v, []).append(block)
        index = self._indexes[key] = _ArgIndex(by_value, ambiguous)
        return index

    def satellites(self, types: Iterable[str], arg: str, *targets: Any,
                   required: bool = True) -> tuple[list[Block], bool]:
        """Blocks of ``types`` whose ``arg`` names one of ``targets`` (the parent's identifiers).

        Returns the matching blocks and whether some block's ``arg`` is undetermined, in
        which case it might belong to the parent and the caller must not conclude "none".
        With ``required=False`` a block that does not set ``arg`` at all is simply unrelated.
        """
        wanted = [t for t in dict.fromkeys(targets) if isinstance(t, str)]
        ambiguous = False
        hits: dict[int, Block] = {}
        for rtype in dict.fromkeys(types):
            index = self._index(rtype, arg, required)
            ambiguous = ambiguous or index.ambiguous
            for target in wanted:
                for block in index.by_value.get(target, ()):
                    hits.setdefault(id(block), block)
        found = sorted(hits.values(), key=lambda b: (b.address, self._order[id(b)]))
        return found, ambiguous


def single(ctx: Context, attrs: Attrs, name: str, types: Iterable[str], arg: str,
           *targets: Any) -> tuple[Block | None, bool]:
    """The one satellite block of ``types`` for the parent; ``(None, False)`` when undecidable.

    Records ``name`` as undetermined (and returns ok=False) when a satellite's parent is
    unknown or when several satellites configure the same thing.
    """
    found, ambiguous = ctx.satellites(types, arg, *targets)
    if ambiguous:
        attrs.unknown(name, f"a {'/'.join(types)} block names an undetermined {arg}")
        return None, False
    if len(found) > 1:
        attrs.unknown(name, f"{len(found)} blocks configure it: "
                            f"{', '.join(b.address for b in found)}")
        return None, False
    return (found[0] if found else None), True


def first_block(body: Body, name: str) -> Body | Any | None:
    """The first nested block ``name``; None when absent, UNKNOWN when generated."""
    found = body.blocks(name)
    if found is UNKNOWN:
        return UNKNOWN
    assert isinstance(found, list)
    return found[0] if found else None


def str_or_unknown(value: Any) -> Any:
    """``value`` if it is a string or None, else UNKNOWN."""
    return value if value is None or isinstance(value, str) else UNKNOWN


def bool_arg(body: Body, name: str, default: bool) -> Any:
    """A boolean argument with the provider default; UNKNOWN when not a boolean."""
    value = body.get(name, default)
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    return value if isinstance(value, bool) else UNKNOWN


def int_arg(body: Body, name: str, default: int | None) -> Any:
    """An integer argument with the provider default; UNKNOWN when not an integer."""
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else UNKNOWN


def str_list(value: Any) -> Any:
    """A list of strings (None -> []), UNKNOWN otherwise."""
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return UNKNOWN


Normaliser = Callable[[Context], list[Resource]]
"""Produces the resources of one or more kinds from the declared code."""

