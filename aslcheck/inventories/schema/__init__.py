"""JSON Schema of the snapshot format and its validator.

The schema is the documented contract. Validating every resource of a million-resource snapshot
through jsonschema costs minutes, so items of the ``resources`` and ``errors`` arrays are checked
by :func:`item_problem`, which enforces the same item rules (required keys, types, the kind
pattern, no unknown keys) in one pass; ``tests/core/test_snapshot.py`` holds both to the same
verdicts. Reading snapshot files (strict JSON, the compact store) is :mod:`.reader`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from aslcheck.errors import BadInputError, Location

_KIND = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
RESOURCE_KEYS = (("kind", "id", "source", "attributes"), ("tags", "account", "region", "host"))
"""(required, optional) keys of a ``resources`` item."""
ERROR_KEYS = (("source", "operation", "code", "message"), ("resource", "kind", "account", "region", "host"))
"""(required, optional) keys of an ``errors`` item."""
ARRAYS = ("resources", "errors")
"""Top-level arrays validated item by item (the rest of the document goes through jsonschema)."""


@cache
def snapshot_schema() -> dict[str, Any]:
    """The snapshot JSON Schema shipped with the package."""
    text = resources.files(__package__).joinpath("snapshot.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def item_problem(item: Any, keys: tuple[tuple[str, ...], tuple[str, ...]]) -> tuple[str, str] | None:
    """First violation of one array item as (dotted sub-path, message); None if valid."""
    required, optional = keys
    if not isinstance(item, dict):
        return "", "expected an object"
    for key in required:
        if key not in item:
            return "", f"{key!r} is a required property"
    for key, value in item.items():
        if key not in required and key not in optional:
            return "", f"unknown key {key!r}"
        if key == "attributes":
            if not isinstance(value, dict):
                return key, "expected an object"
        elif key == "tags":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                return key, "expected an object of strings"
        elif not isinstance(value, str):
            return key, "expected a string"
        elif key == "kind" and not _KIND.match(value):
            return key, f"{value!r} does not match '{_KIND.pattern}'"
        elif key in ("id", "source", "operation", "code") and not value:
            return key, "must not be empty"
    return None


def _fast_items(items: Any, name: str, keys: tuple[tuple[str, ...], tuple[str, ...]]) -> tuple[str, str] | None:
    """First violation in a ``resources``/``errors`` array as (path, message); None if valid."""
    if not isinstance(items, list):
        return name, "expected an array"
    for i, item in enumerate(items):
        problem = item_problem(item, keys)
        if problem:
            sub, message = problem
            return ".".join(p for p in (name, str(i), sub) if p), message
    return None


def head_problem(head: Mapping[str, Any]) -> tuple[str, str] | None:
    """First schema violation of the document outside the ``resources``/``errors`` items.

    Returns (dotted path or ``(document)``, message); the two arrays are replaced by empty ones.
    """
    import jsonschema

    doc = {k: ([] if k in ARRAYS else v) for k, v in head.items()}
    validator = jsonschema.Draft202012Validator(snapshot_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return None
    first = errors[0]
    return ".".join(str(p) for p in first.absolute_path) or "(document)", first.message


def validate_snapshot_document(doc: Mapping[str, Any], origin: str) -> None:
    """Raise :class:`BadInputError` naming the first schema violation of a parsed document."""
    problem = head_problem(doc)
    if problem is None:
        for name, keys in (("resources", RESOURCE_KEYS), ("errors", ERROR_KEYS)):
            problem = _fast_items(doc[name], name, keys)
            if problem:
                break
    if problem:
        path, message = problem
        raise BadInputError(f"not a valid aslcheck snapshot: {message}", Location(origin, None, path))
