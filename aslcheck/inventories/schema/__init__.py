"""JSON Schema of the snapshot format and its validator."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from aslcheck.errors import BadInputError, Location


@cache
def snapshot_schema() -> dict[str, Any]:
    """The snapshot JSON Schema shipped with the package."""
    text = resources.files(__package__).joinpath("snapshot.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validate_snapshot_document(doc: Mapping[str, Any], origin: str) -> None:
    """Raise :class:`BadInputError` naming the first schema violation of a snapshot document."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(snapshot_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        path = ".".join(str(p) for p in first.absolute_path) or "(document)"
        raise BadInputError(
            f"not a valid aslcheck snapshot: {first.message}", Location(origin, None, path)
        )
