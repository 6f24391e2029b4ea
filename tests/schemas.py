"""Vendored JSON Schemas for output validation (tests/data/schemas): a missing one fails, never skips."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema import validators

SCHEMAS = Path(__file__).resolve().parent / "data" / "schemas"
SARIF = "sarif-schema-2.1.0.json"
OSCAL_1_0_6 = "oscal-1.0.6-assessment-results-schema.json"
OSCAL_1_1_2 = "oscal-1.1.2-assessment-results-schema.json"
OSCAL_1_2_3 = "oscal-1.2.3-complete-schema.json"
OSCAL_SCHEMAS = (OSCAL_1_0_6, OSCAL_1_1_2, OSCAL_1_2_3)
"""The OSCAL schemas our assessment results must satisfy (see tests/data/schemas/README.md)."""


def load_schema(name: str) -> dict[str, Any]:
    """A vendored schema; fails the test (not skips it) when the file is missing or broken."""
    path = SCHEMAS / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        pytest.fail(f"vendored schema {path} is missing or unreadable: {exc}")
    if not isinstance(data, dict) or "$schema" not in data:
        pytest.fail(f"{path} is not a JSON Schema")
    return data


def _pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Iterator[jsonschema.ValidationError]:
    """OSCAL patterns use \\p{L} / \\p{N}, which Python's re lacks; use `regex` when present."""
    if not validator.is_type(instance, "string"):
        return
    try:
        import regex  # type: ignore[import-untyped]

        found = regex.search(patrn, instance) is not None
    except ImportError:
        # NOTE: approximation for re: letters = [^\W\d_], numbers = \d (both Unicode-aware).
        translated = patrn.replace(r"\p{L}", r"[^\W\d_]").replace(r"\p{N}", r"\d")
        found = re.search(translated, instance) is not None
    if not found:
        yield jsonschema.ValidationError(f"{instance!r} does not match {patrn!r}")


def _model_root(schema: dict[str, Any], model: str) -> dict[str, Any]:
    """The complete OSCAL schema narrowed to one model's root (its ``oneOf`` branch), for precise errors."""
    branches = [b for b in schema.get("oneOf", ()) if b.get("required") == [model]]
    if len(branches) != 1:
        pytest.fail(f"the complete OSCAL schema has no single root branch for {model!r}")
    narrowed = {k: v for k, v in schema.items() if k != "oneOf"}
    narrowed.update(branches[0])
    return narrowed


def validator(name: str) -> Any:
    """A validator for a vendored schema, with formats checked and OSCAL's Unicode patterns understood.

    The complete OSCAL schema is narrowed to the assessment-results root: unchanged definitions,
    but errors name the offending path instead of "not valid under any of the given schemas".
    """
    schema = load_schema(name)
    if name == OSCAL_1_2_3:
        schema = _model_root(schema, "assessment-results")
    base = validators.validator_for(schema)
    cls = validators.extend(base, {"pattern": _pattern})  # type: ignore[no-untyped-call]
    return cls(schema, format_checker=base.FORMAT_CHECKER)


def schema_errors(checker: Any, doc: Any) -> list[str]:
    """Every validation error, with its JSON path."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in checker.iter_errors(doc)]
