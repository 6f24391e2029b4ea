"""Pure conversions from AWS API shapes to the attribute model (policies, tags, times, ARNs)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

JSON = Any

_LIST_FIELDS = ("Action", "NotAction", "Resource", "NotResource")


class UnexpectedShape(ValueError):
    """An AWS response did not have the shape the API documents."""


def policy_document(raw: JSON) -> dict[str, JSON]:
    """Parse and normalise a policy document (a JSON string, URL-encoded JSON, or a dict).

    ``Statement`` becomes a list and ``Action``/``NotAction``/``Resource``/``NotResource`` lists;
    ``Principal``/``NotPrincipal``/``Condition`` are kept as AWS gives them.
    """
    doc = raw
    if isinstance(doc, str):
        text = doc.strip()
        if not text.startswith("{"):
            # IAM returns documents URL-encoded when botocore has not decoded them already.
            text = unquote(text)
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UnexpectedShape(f"policy document is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise UnexpectedShape("policy document is not a JSON object")
    out = dict(doc)
    statements = out.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        raise UnexpectedShape("policy Statement is neither an object nor a list")
    normalised = []
    for stmt in statements:
        if not isinstance(stmt, dict):
            raise UnexpectedShape("policy statement is not an object")
        item = dict(stmt)
        for name in _LIST_FIELDS:
            if name in item and isinstance(item[name], str):
                item[name] = [item[name]]
        normalised.append(item)
    out["Statement"] = normalised
    _refuse_floats(out)
    return out


def _refuse_floats(value: JSON) -> None:
    # NOTE: snapshots refuse floats; a numeric condition value in a policy must not crash the
    # whole collection, so it becomes an unexpected shape of that one document.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            raise UnexpectedShape(f"float {item!r} in policy document")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def optional_policy(raw: JSON) -> dict[str, JSON] | None:
    """``None`` for an absent/empty document, else :func:`policy_document`."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return policy_document(raw)


def tag_list(items: Iterable[Mapping[str, JSON]] | None, key: str = "Key",
             value: str = "Value") -> dict[str, str]:
    """``[{"Key": k, "Value": v}, ...]`` (or other key names) as a dict."""
    out: dict[str, str] = {}
    for item in items or ():
        out[str(item[key])] = str(item.get(value, ""))
    return out


def rfc3339(value: JSON) -> str:
    """A botocore timestamp (datetime) or ISO string as RFC 3339 UTC with second precision."""
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    elif isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise UnexpectedShape(f"not a timestamp: {value!r}") from exc
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
    else:
        raise UnexpectedShape(f"not a timestamp: {value!r}")
    return stamp.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def optional_time(value: JSON) -> str | None:
    """:func:`rfc3339` or ``None``."""
    return None if value in (None, "") else rfc3339(value)


def as_int(value: JSON) -> int:
    """An integer attribute from an API number (floats rounded down: snapshots hold no floats)."""
    if isinstance(value, bool):
        raise UnexpectedShape(f"not a number: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value // 1)
    if isinstance(value, str):
        return int(value)
    raise UnexpectedShape(f"not a number: {value!r}")


def as_bool(value: JSON) -> bool:
    """A boolean attribute; refuses anything that is not a real boolean."""
    if not isinstance(value, bool):
        raise UnexpectedShape(f"not a boolean: {value!r}")
    return value
