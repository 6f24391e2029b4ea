"""Policy documents from code: ``aws_iam_policy_document`` data sources, JSON strings, jsonencode.

The result is normalised exactly like a live policy (``Statement`` a list, ``Action`` etc.
lists) by the AWS collector's own :func:`policy_document`, so the shared checks cannot tell
a declared policy from a collected one. Anything not determined before apply makes the whole
document UNKNOWN: a partly known policy could hide the statement that matters.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aslcheck.inventories.aws.normalise import UnexpectedShape, policy_document
from aslcheck.inventories.terraform.declared import UNKNOWN, Block, Body, is_unknown


def _one_or_list(values: list[Any]) -> Any:
    # NOTE: the provider renders single-element lists as plain strings, as AWS echoes them.
    return values[0] if len(values) == 1 else values


def _principals(blocks: list[Body]) -> Any:
    out: dict[str, Any] = {}
    for p in blocks:
        ptype, ids = p.get("type"), p.get("identifiers")
        if not isinstance(ptype, str) or not isinstance(ids, list):
            return UNKNOWN
        if ptype == "*":
            return "*"
        out.setdefault(ptype, []).extend(ids)
    return {k: _one_or_list(v) for k, v in out.items()}


def _statement(s: Body) -> dict[str, Any] | Any:
    stmt: dict[str, Any] = {}
    sid = s.get("sid")
    if sid is not None:
        stmt["Sid"] = sid
    stmt["Effect"] = s.get("effect", "Allow")
    for arg, key in (("actions", "Action"), ("not_actions", "NotAction"),
                     ("resources", "Resource"), ("not_resources", "NotResource")):
        value = s.get(arg)
        if value is not None:
            stmt[key] = value
    for block, key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
        found = s.blocks(block)
        if found is UNKNOWN:
            return UNKNOWN
        if found:
            stmt[key] = _principals(found)
    conds = s.blocks("condition")
    if conds is UNKNOWN:
        return UNKNOWN
    if conds:
        cond: dict[str, dict[str, Any]] = {}
        for c in conds:
            test, var, values = c.get("test"), c.get("variable"), c.get("values")
            if not isinstance(test, str) or not isinstance(var, str) or not isinstance(values, list):
                return UNKNOWN
            cond.setdefault(test, {})[var] = _one_or_list(values)
        stmt["Condition"] = cond
    return stmt


def document_from_data(block: Block) -> Any:
    """The JSON document an ``aws_iam_policy_document`` data source renders (as a dict)."""
    body = block.body
    rendered = body.get("json")
    if isinstance(rendered, str):  # a plan records the rendered document
        return normalised(rendered)
    if body.has("source_policy_documents") or body.has("override_policy_documents") \
            or body.has("source_json") or body.has("override_json"):
        # NOTE: merging documents by Sid is not modelled; unknown is safer than half a policy.
        return UNKNOWN
    statements = body.blocks("statement")
    if statements is UNKNOWN:
        return UNKNOWN
    doc: dict[str, Any] = {"Version": body.get("version", "2012-10-17"),
                           "Statement": [_statement(s) for s in statements]}
    policy_id = body.get("policy_id")
    if policy_id is not None:
        doc["Id"] = policy_id
    return UNKNOWN if is_unknown(doc) else doc


def normalised(raw: Any) -> dict[str, Any] | Any | None:
    """A declared policy (dict or JSON string) normalised like a live one.

    Returns None for "no policy" (null or empty string) and UNKNOWN when the value is
    unknown or is not a well-formed policy document.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if is_unknown(raw):
        return UNKNOWN
    doc = raw
    if isinstance(raw, str):
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError:
            return UNKNOWN
    if not isinstance(doc, Mapping):
        return UNKNOWN
    try:
        return policy_document(dict(doc))
    except UnexpectedShape:
        return UNKNOWN
