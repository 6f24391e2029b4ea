"""Declarative attribute checks: a closed operator table with generic ``all``/``any``/``not``.

Rule files (``rules/*.yaml`` in this package, or a user's) hold a list of checks::

    checks:
      - id: aws.ec2.imdsv2_required
        kinds: [aws.ec2.instance]
        select: all                     # or weights (default)
        rule:
          all:
            - {attr: metadata_options.http_tokens, op: equals, value: required}
            - {attr: metadata_options.http_put_response_hop_limit, op: le, value: 1}

Evaluation is three-valued. A leaf on an attribute that was not collected is ERROR, never a
pass; ``all`` is FAIL if any child fails, else ERROR if any errs; ``any`` is PASS if any child
passes, else ERROR if any errs; ``not`` swaps PASS and FAIL and keeps ERROR. ``exists`` is
the only operator that treats an explicit ``null`` (collected: "not configured") as data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from aslcheck.checks.interface import (
    CheckContext,
    CheckError,
    CheckId,
    CheckSpec,
    Finding,
    Select,
    Status,
)
from aslcheck.controls.config import PARAM_SPECS
from aslcheck.controls.yamlio import Located, load_yaml, validate
from aslcheck.errors import BadInputError

_MISSING = object()


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _cmp(fn: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def op(observed: Any, expected: Any) -> bool:
        if not (_num(observed) and _num(expected)):
            raise TypeError(f"numeric comparison needs numbers, observed {observed!r}")
        return fn(observed, expected)

    return op


def _contains(observed: Any, expected: Any) -> bool:
    if isinstance(observed, (list, str)):
        return expected in observed
    raise TypeError(f"contains needs a list or string, observed {type(observed).__name__}")


def _regex(observed: Any, expected: Any) -> bool:
    if not isinstance(observed, str):
        raise TypeError(f"regex needs a string, observed {type(observed).__name__}")
    return re.fullmatch(expected, observed) is not None


def _equals(observed: Any, expected: Any) -> bool:
    # NOTE: no coercion: "1" is not 1 and True is not 1 (checkov's str() coercion is a trap).
    return type(observed) is type(expected) and observed == expected


def _in(observed: Any, expected: Any) -> bool:
    return any(_equals(observed, e) for e in expected)


OPERATORS: Mapping[str, Callable[[Any, Any], bool]] = {
    "equals": _equals,
    "in": _in,
    "contains": _contains,
    "regex": _regex,
    "gt": _cmp(lambda a, b: a > b),
    "ge": _cmp(lambda a, b: a >= b),
    "lt": _cmp(lambda a, b: a < b),
    "le": _cmp(lambda a, b: a <= b),
}
"""Binary operators; ``exists`` is unary and handled separately."""


def get_path(attributes: Mapping[str, Any], path: str) -> Any:
    """Dotted lookup; returns a sentinel when any step was not collected."""
    cur: Any = attributes
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return _MISSING
        cur = cur[part]
    return cur


@dataclass(frozen=True)
class Verdict:
    """Result of evaluating a rule tree on one resource."""

    status: Status
    """PASS, FAIL or ERROR."""
    reason: str
    """Which leaf decided it."""


class Rule:
    """A node of a rule tree."""

    def evaluate(self, attrs: Mapping[str, Any], params: Mapping[str, int | None],
                 evidence: dict[str, Any]) -> Verdict:
        """Evaluate on ``attrs``, recording every attribute read into ``evidence``."""
        raise NotImplementedError


@dataclass(frozen=True)
class Leaf(Rule):
    """``attr op value``; ``value`` may be ``{param: NAME}``."""

    attr: str
    op: str
    value: Any = None

    def _is_param(self) -> bool:
        return isinstance(self.value, dict) and set(self.value) == {"param"}

    def _expected(self, params: Mapping[str, int | None]) -> Any:
        if self._is_param():
            return params.get(self.value["param"], _MISSING)
        return self.value

    def describe(self) -> str:
        """Human form of the leaf."""
        if self.op == "exists":
            return f"{self.attr} is set"
        return f"{self.attr} {self.op} {self.value!r}"

    def evaluate(self, attrs: Mapping[str, Any], params: Mapping[str, int | None],
                 evidence: dict[str, Any]) -> Verdict:
        observed = get_path(attrs, self.attr)
        if observed is _MISSING:
            evidence[self.attr] = "<not collected>"
            return Verdict(Status.ERROR, f"{self.attr} was not collected")
        evidence[self.attr] = observed
        if self.op == "exists":
            ok = observed is not None
            return Verdict(Status.PASS if ok else Status.FAIL,
                           f"{self.attr} is {'set' if ok else 'not set'}")
        expected = self._expected(params)
        if self._is_param() and (expected is _MISSING or expected is None):
            return Verdict(Status.ERROR, f"parameter {self.value['param']!r} is not set in the config")
        try:
            ok = OPERATORS[self.op](observed, expected)
        except (TypeError, re.error) as exc:
            return Verdict(Status.ERROR, f"{self.attr}: cannot evaluate {self.op}: {exc}")
        verb = "satisfies" if ok else "violates"
        return Verdict(Status.PASS if ok else Status.FAIL,
                       f"{self.attr} = {observed!r} {verb} {self.op} {expected!r}")


@dataclass(frozen=True)
class AllOf(Rule):
    """Every child must pass."""

    children: tuple[Rule, ...]

    def evaluate(self, attrs: Mapping[str, Any], params: Mapping[str, int | None],
                 evidence: dict[str, Any]) -> Verdict:
        verdicts = [c.evaluate(attrs, params, evidence) for c in self.children]
        failed = [v for v in verdicts if v.status is Status.FAIL]
        if failed:
            return Verdict(Status.FAIL, "; ".join(v.reason for v in failed))
        errored = [v for v in verdicts if v.status is Status.ERROR]
        if errored:
            return Verdict(Status.ERROR, "; ".join(v.reason for v in errored))
        return Verdict(Status.PASS, f"all {len(verdicts)} conditions hold")


@dataclass(frozen=True)
class AnyOf(Rule):
    """At least one child must pass."""

    children: tuple[Rule, ...]

    def evaluate(self, attrs: Mapping[str, Any], params: Mapping[str, int | None],
                 evidence: dict[str, Any]) -> Verdict:
        verdicts = [c.evaluate(attrs, params, evidence) for c in self.children]
        passed = [v for v in verdicts if v.status is Status.PASS]
        if passed:
            return Verdict(Status.PASS, passed[0].reason)
        errored = [v for v in verdicts if v.status is Status.ERROR]
        if errored:
            return Verdict(Status.ERROR, "; ".join(v.reason for v in errored))
        return Verdict(Status.FAIL, f"0 of {len(verdicts)} alternatives hold: "
                       + "; ".join(v.reason for v in verdicts))


@dataclass(frozen=True)
class Not(Rule):
    """Negation that keeps ERROR as ERROR."""

    child: Rule

    def evaluate(self, attrs: Mapping[str, Any], params: Mapping[str, int | None],
                 evidence: dict[str, Any]) -> Verdict:
        v = self.child.evaluate(attrs, params, evidence)
        if v.status is Status.PASS:
            return Verdict(Status.FAIL, f"not expected: {v.reason}")
        if v.status is Status.FAIL:
            return Verdict(Status.PASS, f"as required, not: {v.reason}")
        return v


def parse_rule(raw: Any) -> Rule:
    """Build a rule tree from schema-validated data."""
    if "all" in raw:
        return AllOf(tuple(parse_rule(c) for c in raw["all"]))
    if "any" in raw:
        return AnyOf(tuple(parse_rule(c) for c in raw["any"]))
    if "not" in raw:
        return Not(parse_rule(raw["not"]))
    return Leaf(raw["attr"], raw["op"], raw.get("value"))


def _rule_schema() -> dict[str, Any]:
    ops = sorted(OPERATORS)
    leaf = {
        "type": "object",
        "additionalProperties": False,
        "required": ["attr", "op"],
        "properties": {
            "attr": {"type": "string", "pattern": r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$"},
            "op": {"enum": [*ops, "exists"]},
            "value": {
                "anyOf": [
                    {"type": "object", "additionalProperties": False, "required": ["param"],
                     "properties": {"param": {"enum": sorted(PARAM_SPECS)}}},
                    {"not": {"type": "object"}},
                ]
            },
        },
        "if": {"properties": {"op": {"const": "exists"}}},
        "then": {"not": {"required": ["value"]}},
        "else": {"required": ["value"]},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "required": ["checks"],
        "properties": {
            "checks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["id", "kinds", "rule"],
                    "properties": {
                        "id": {"type": "string", "pattern": r"^[a-z0-9_]+(\.[a-z0-9_]+)+$"},
                        "version": {"type": "integer", "minimum": 1},
                        "kinds": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                        "select": {"enum": [s.value for s in Select]},
                        "allow_empty": {"type": "boolean"},
                        "applies_if": {"$ref": "#/$defs/rule"},
                        "rule": {"$ref": "#/$defs/rule"},
                    },
                },
            }
        },
        "$defs": {
            "rule": {
                "oneOf": [
                    leaf,
                    {"type": "object", "additionalProperties": False, "required": ["all"],
                     "properties": {"all": {"type": "array", "minItems": 1,
                                            "items": {"$ref": "#/$defs/rule"}}}},
                    {"type": "object", "additionalProperties": False, "required": ["any"],
                     "properties": {"any": {"type": "array", "minItems": 1,
                                            "items": {"$ref": "#/$defs/rule"}}}},
                    {"type": "object", "additionalProperties": False, "required": ["not"],
                     "properties": {"not": {"$ref": "#/$defs/rule"}}},
                ]
            }
        },
    }


RULES_SCHEMA = _rule_schema()
"""JSON Schema of rule files, generated from the operator table (so the two cannot drift)."""


def _params_used(raw: Any) -> set[str]:
    out: set[str] = set()
    stack = [raw]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if set(item) == {"param"}:
                out.add(item["param"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def _evaluator(check_id: CheckId, rule: Rule, applies: Rule | None) -> Callable[[CheckContext], Iterator[Finding]]:
    def evaluate(ctx: CheckContext) -> Iterator[Finding]:
        params = ctx.config.parameters
        for res in ctx.resources:
            evidence: dict[str, Any] = {}
            if applies is not None:
                gate = applies.evaluate(res.attributes, params, evidence)
                if gate.status is Status.FAIL:
                    yield ctx.finding(check_id, res, Status.NOT_APPLICABLE,
                                      f"does not apply: {gate.reason}", evidence)
                    continue
                if gate.status is Status.ERROR:
                    yield ctx.finding(check_id, res, Status.ERROR, gate.reason, evidence)
                    continue
            verdict = rule.evaluate(res.attributes, params, evidence)
            yield ctx.finding(check_id, res, verdict.status, verdict.reason, evidence)

    return evaluate


def load_rule_file(doc: Located) -> list[CheckSpec]:
    """Validate a rule file and turn each entry into a :class:`CheckSpec`."""
    validate(doc, RULES_SCHEMA, "rule file")
    specs = []
    for i, raw in enumerate(doc.data["checks"]):
        check_id = CheckId(raw["id"])
        rule = parse_rule(raw["rule"])
        applies = parse_rule(raw["applies_if"]) if "applies_if" in raw else None
        loc = doc.where(("checks", i))
        specs.append(CheckSpec(
            id=check_id,
            version=raw.get("version", 1),
            kinds=frozenset(raw["kinds"]),
            evaluate=_evaluator(check_id, rule, applies),
            select=Select(raw.get("select", Select.WEIGHTS.value)),
            params=tuple(sorted(_params_used(raw))),
            allow_empty=raw.get("allow_empty", False),
            origin=f"{loc.file}:{loc.line}",
        ))
    return specs


@cache
def builtin_rule_specs() -> tuple[CheckSpec, ...]:
    """Declarative checks shipped in ``aslcheck/checks/rules/*.yaml``."""
    out: list[CheckSpec] = []
    root = resources.files("aslcheck.checks").joinpath("rules")
    if not root.is_dir():
        return ()
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            name = f"aslcheck/checks/rules/{entry.name}"
            try:
                out.extend(load_rule_file(load_yaml(name, entry.read_text("utf-8"))))
            except BadInputError as exc:  # a shipped rule file is broken: a bug, not user input
                raise CheckError(str(exc)) from exc
    return tuple(out)
