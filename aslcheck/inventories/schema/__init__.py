"""JSON Schema of the snapshot format and its validator.

The schema is the documented contract. Validating every resource of a million-resource snapshot
through jsonschema costs minutes, so the ``resources`` and ``errors`` arrays are checked by
:func:`_fast_items`, which enforces the same item rules (required keys, types, the kind pattern,
no unknown keys) in one pass; ``tests/core/test_snapshot.py`` holds both to the same verdicts.
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
_RESOURCE_REQUIRED = ("kind", "id", "source", "attributes")
_RESOURCE_OPTIONAL = ("tags", "account", "region", "host")
_ERROR_REQUIRED = ("source", "operation", "code", "message")
_ERROR_OPTIONAL = ("resource", "kind", "account", "region", "host")


@cache
def snapshot_schema() -> dict[str, Any]:
    """The snapshot JSON Schema shipped with the package."""
    text = resources.files(__package__).joinpath("snapshot.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _fast_items(items: Any, name: str, required: tuple[str, ...], optional: tuple[str, ...]) -> str | None:
    """First violation in a ``resources``/``errors`` array, as ``path: message``; None if valid."""
    if not isinstance(items, list):
        return f"{name}: expected an array"
    allowed = set(required) | set(optional)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            return f"{name}.{i}: expected an object"
        for key in required:
            if key not in item:
                return f"{name}.{i}: {key!r} is a required property"
        for key, value in item.items():
            if key not in allowed:
                return f"{name}.{i}: unknown key {key!r}"
            if key == "attributes":
                if not isinstance(value, dict):
                    return f"{name}.{i}.attributes: expected an object"
            elif key == "tags":
                if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                    return f"{name}.{i}.tags: expected an object of strings"
            elif not isinstance(value, str):
                return f"{name}.{i}.{key}: expected a string"
            elif key == "kind" and not _KIND.match(value):
                return f"{name}.{i}.kind: {value!r} does not match '{_KIND.pattern}'"
            elif key in ("id", "source", "operation", "code") and not value:
                return f"{name}.{i}.{key}: must not be empty"
    return None


def validate_snapshot_document(doc: Mapping[str, Any], origin: str) -> None:
    """Raise :class:`BadInputError` naming the first schema violation of a snapshot document."""
    import jsonschema

    head = {k: ([] if k in ("resources", "errors") else v) for k, v in doc.items()}
    validator = jsonschema.Draft202012Validator(snapshot_schema())
    errors = sorted(validator.iter_errors(head), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        path = ".".join(str(p) for p in first.absolute_path) or "(document)"
        raise BadInputError(f"not a valid aslcheck snapshot: {first.message}", Location(origin, None, path))
    for name, req, opt in (("resources", _RESOURCE_REQUIRED, _RESOURCE_OPTIONAL),
                           ("errors", _ERROR_REQUIRED, _ERROR_OPTIONAL)):
        problem = _fast_items(doc[name], name, req, opt)
        if problem:
            path, _, message = problem.partition(": ")
            raise BadInputError(f"not a valid aslcheck snapshot: {message}", Location(origin, None, path))
