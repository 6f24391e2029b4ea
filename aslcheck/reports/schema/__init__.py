"""JSON Schemas (draft 2020-12) of ``results.json`` and of the attestation predicate, shipped in the package."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

NAMES = ("results", "predicate")
"""Schema names: ``results.schema.json`` and ``predicate.schema.json`` beside this module."""


@cache
def schema(name: str) -> dict[str, Any]:
    """The parsed schema ``name`` (``results`` or ``predicate``)."""
    if name not in NAMES:
        raise KeyError(f"no schema {name!r}; known: {', '.join(NAMES)}")
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validator(name: str) -> Draft202012Validator:
    """A validator of ``name``; the predicate's ``$ref`` to the results schema resolves offline."""
    registry: Registry[Any] = Registry().with_resources(
        (schema(n)["$id"], Resource.from_contents(schema(n))) for n in NAMES)
    return Draft202012Validator(schema(name), registry=registry)


def problems(name: str, document: Any) -> list[str]:
    """Every way ``document`` violates schema ``name``, each with its JSON path (empty: valid)."""
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                  for e in validator(name).iter_errors(document))


__all__ = ["NAMES", "problems", "schema", "validator"]
