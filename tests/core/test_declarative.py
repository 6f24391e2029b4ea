"""The operator table, three-valued combinators, and load-time validation of rule files."""

from __future__ import annotations

from typing import Any

import pytest

from aslcheck.checks.declarative import AllOf, AnyOf, Leaf, Not, load_rule_file, parse_rule
from aslcheck.checks.interface import Status
from aslcheck.controls.yamlio import load_yaml
from aslcheck.errors import BadInputError

P: dict[str, int | None] = {"max_session_seconds": 3600, "egress_budget_bytes_per_hour": None}


def ev(rule: Any, attrs: dict[str, Any]) -> Status:
    return rule.evaluate(attrs, P, {}).status


@pytest.mark.parametrize(("op", "observed", "value", "expected"), [
    ("equals", "Enabled", "Enabled", Status.PASS),
    ("equals", 1, True, Status.FAIL),          # no coercion
    ("equals", "1", 1, Status.FAIL),
    ("in", "aws:kms", ["aws:kms", "x"], Status.PASS),
    ("contains", ["a", "b"], "b", Status.PASS),
    ("regex", "vpce-123", "vpce-[0-9]+", Status.PASS),
    ("regex", 5, "x", Status.ERROR),           # wrong type is undecidable, not a pass
    ("le", 3600, {"param": "max_session_seconds"}, Status.PASS),
    ("le", 7200, {"param": "max_session_seconds"}, Status.FAIL),
    ("le", 1, {"param": "egress_budget_bytes_per_hour"}, Status.ERROR),  # parameter not set
    ("gt", "10", 5, Status.ERROR),
])
def test_operators(op: str, observed: Any, value: Any, expected: Status) -> None:
    assert ev(Leaf("a", op, value), {"a": observed}) is expected


def test_missing_and_null() -> None:
    assert ev(Leaf("a.b", "equals", 1), {"a": {}}) is Status.ERROR
    assert ev(Leaf("a", "exists"), {"a": None}) is Status.FAIL
    assert ev(Leaf("a", "exists"), {}) is Status.ERROR
    assert ev(Leaf("a", "equals", None), {"a": None}) is Status.PASS


def test_combinators_are_three_valued() -> None:
    t, f, e = Leaf("t", "equals", 1), Leaf("f", "equals", 1), Leaf("missing", "equals", 1)
    attrs = {"t": 1, "f": 2}
    assert ev(AllOf((t, e)), attrs) is Status.ERROR
    assert ev(AllOf((f, e)), attrs) is Status.FAIL
    assert ev(AnyOf((t, e)), attrs) is Status.PASS
    assert ev(AnyOf((f, e)), attrs) is Status.ERROR
    assert ev(Not(e), attrs) is Status.ERROR
    assert ev(Not(f), attrs) is Status.PASS
    assert ev(parse_rule({"not": {"any": [{"attr": "f", "op": "equals", "value": 1}]}}), attrs) is Status.PASS


@pytest.mark.parametrize(("text", "message"), [
    ("checks:\n  - id: a.b\n    kinds: [x.y]\n    rule: {all: []}\n", "should be non-empty"),
    ("checks:\n  - id: a.b\n    kinds: [x.y]\n    rule: {attr: a, op: approx, value: 1}\n", "rule file"),
    ("checks:\n  - id: a.b\n    kinds: [x.y]\n    colour: red\n    rule: {attr: a, op: exists}\n",
     "unknown key 'colour'"),
    ("checks:\n  - id: a.b\n    kinds: [x.y]\n    rule: {attr: a, op: le, value: {param: nope}}\n",
     "rule file"),
])
def test_bad_rule_files_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(BadInputError) as info:
        load_rule_file(load_yaml("rules.yaml", text))
    assert message in str(info.value)
    assert info.value.location is not None
    assert info.value.location.file == "rules.yaml"
    assert info.value.location.line is not None and info.value.location.line >= 2
