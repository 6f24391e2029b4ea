"""Three-valued evaluation of IAM ``Condition`` blocks against what is known offline.

Semantics follow the IAM JSON reference page "IAM JSON policy elements: Condition operators":
a key absent from the request context makes a positive operator false and a negated one
(``StringNotEquals``, ``ArnNotLike``, ...) true; ``...IfExists`` is true on an absent key; ``Null``
tests presence; ``ForAnyValue`` is false and ``ForAllValues`` true on an absent key. Condition
keys are case-insensitive, values of ``String*``/``Arn*`` operators case-sensitive.

A key the snapshot cannot tell (``aws:SourceVpce``, ``aws:MultiFactorAuthPresent``,
``kms:ViaService``, ...) evaluates to UNKNOWN: the caller turns that into a *conditional* path,
never into a deny and never into silence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Protocol

from aslcheck.checks.aws.access.matching import arn_account, arn_like, glob_match, has_wildcard


class Tri(Enum):
    """Three-valued truth."""

    FALSE = 0
    """Decided false."""
    UNKNOWN = 1
    """Not decidable from the snapshot."""
    TRUE = 2
    """Decided true."""


class Missing(Enum):
    """A context key without a concrete value."""

    ABSENT = "absent"
    """Known to be absent from the request context."""
    UNKNOWN = "unknown"
    """Its value (or presence) cannot be known offline."""


@dataclass(frozen=True)
class Excluded:
    """A present but unknown value that is known *not* to be one of ``values``.

    Models the anonymous principal, "anyone outside the collected accounts": its
    ``aws:PrincipalArn`` is in none of those accounts, its ``aws:PrincipalAccount`` is none of
    them, its ``aws:PrincipalOrgID`` none of the fully-collected organisations.
    """

    values: frozenset[str]
    """Excluded values (accounts for ARN keys, otherwise the plain values)."""
    arn: bool
    """Compare the account field of ARN patterns rather than whole values."""


ContextValue = tuple[str, ...] | Missing | Excluded
"""What a context lookup returns."""


class Context(Protocol):
    """The request context as far as it is known."""

    def lookup(self, key: str) -> ContextValue:
        """Value(s) of a lower-cased condition key."""


@dataclass(frozen=True)
class ConditionClause:
    """One ``operator: {key: values}`` entry of a statement's ``Condition``."""

    operator: str
    """Operator as written (``ForAnyValue:StringLikeIfExists``)."""
    key: str
    """Condition key as written."""
    values: tuple[str, ...]
    """Values as strings (JSON booleans become ``true``/``false``)."""

    def describe(self) -> str:
        """Human form used in reports."""
        shown = self.values[0] if len(self.values) == 1 else list(self.values)
        return f"{self.operator} {self.key} {shown}"


_Matcher = Callable[[str, str], bool]

_POSITIVE: dict[str, _Matcher] = {
    "stringequals": lambda x, v: x == v,
    "stringequalsignorecase": lambda x, v: x.lower() == v.lower(),
    "stringlike": glob_match,
    "arnequals": arn_like,
    "arnlike": arn_like,
    "bool": lambda x, v: x.lower() == v.lower(),
}
_NEGATED: dict[str, str] = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
}
# Operators whose values this evaluator does not compare (numbers, dates, IPs, binary). Only
# an absent key decides them; the negated ones are true on an absent key.
_OPAQUE_POSITIVE = frozenset({
    "numericequals", "numericlessthan", "numericlessthanequals", "numericgreaterthan",
    "numericgreaterthanequals", "dateequals", "datelessthan", "datelessthanequals",
    "dategreaterthan", "dategreaterthanequals", "ipaddress", "binaryequals",
})
_OPAQUE_NEGATED = frozenset({"numericnotequals", "datenotequals", "notipaddress"})


@dataclass(frozen=True)
class _Op:
    base: str
    set_op: str  # "", "forany", "forall"
    if_exists: bool


@lru_cache(maxsize=1024)
def _parse_op(operator: str) -> _Op:
    text = operator.strip()
    set_op = ""
    low = text.lower()
    if low.startswith("foranyvalue:"):
        set_op, text = "forany", text[len("ForAnyValue:"):]
    elif low.startswith("forallvalues:"):
        set_op, text = "forall", text[len("ForAllValues:"):]
    base = text.lower()
    if_exists = base.endswith("ifexists")
    if if_exists:
        base = base[: -len("ifexists")]
    return _Op(base, set_op, if_exists)


def substitute(value: str, ctx: Context) -> str | None:
    """Replace ``${key}`` policy variables by known single values (``None``: unknown)."""
    out: list[str] = []
    rest = value
    while "${" in rest:
        head, _, tail = rest.partition("${")
        name, sep, after = tail.partition("}")
        if not sep:
            return None
        out.append(head)
        if name in ("*", "?", "$"):
            return None  # escaped wildcard characters cannot be expressed by our globs
        got = ctx.lookup(name.lower())
        if not isinstance(got, tuple) or len(got) != 1:
            return None
        out.append(got[0])
        rest = after
    out.append(rest)
    return "".join(out)


def _excluded_decides(values: Sequence[str], excl: Excluded) -> bool:
    """Whether every condition value is provably not the excluded-but-unknown value."""
    for v in values:
        acct = arn_account(v) if excl.arn else v
        if acct is None or has_wildcard(acct) or acct not in excl.values:
            return False
    return True


def evaluate_clause(clause: ConditionClause, ctx: Context) -> Tri:
    """Evaluate one clause."""
    op = _parse_op(clause.operator)
    got = ctx.lookup(clause.key.lower())
    if got is Missing.UNKNOWN:
        return Tri.UNKNOWN
    if isinstance(got, Excluded) and (op.base == "null" or op.if_exists or op.set_op):
        # NOTE: "anyone outside" includes unauthenticated callers, for whom the key is absent:
        # presence tests and IfExists/set operators cannot be decided for the whole group.
        return Tri.UNKNOWN
    absent = got is Missing.ABSENT or (isinstance(got, tuple) and not got)
    if op.base == "null":
        want_absent = any(v.lower() == "true" for v in clause.values)
        return Tri.TRUE if absent == want_absent else Tri.FALSE
    negated = op.base in _NEGATED or op.base in _OPAQUE_NEGATED
    if absent:
        if op.if_exists or op.set_op == "forall":
            return Tri.TRUE
        if op.set_op == "forany":
            return Tri.FALSE
        return Tri.TRUE if negated else Tri.FALSE
    if op.base in _OPAQUE_POSITIVE or op.base in _OPAQUE_NEGATED:
        return Tri.UNKNOWN
    base = _NEGATED.get(op.base, op.base)
    matcher = _POSITIVE.get(base)
    if matcher is None:
        return Tri.UNKNOWN  # an operator we do not know is never guessed
    if isinstance(got, Excluded):
        if base == "bool" or not _excluded_decides(clause.values, got):
            return Tri.UNKNOWN
        return Tri.TRUE if negated else Tri.FALSE
    assert isinstance(got, tuple)
    values: list[str] = []
    for raw in clause.values:
        value = substitute(raw, ctx) if "${" in raw else raw
        if value is None:
            return Tri.UNKNOWN
        values.append(value)

    def hit(x: str) -> bool:
        return any(matcher(x, v) for v in values)

    if op.set_op == "forall":
        ok = all((not hit(x)) if negated else hit(x) for x in got)
    elif op.set_op == "forany":
        ok = any((not hit(x)) if negated else hit(x) for x in got)
    elif negated:
        ok = not any(hit(x) for x in got)
    else:
        ok = any(hit(x) for x in got)
    return Tri.TRUE if ok else Tri.FALSE


def evaluate_conditions(clauses: Sequence[ConditionClause], ctx: Context) -> tuple[Tri, tuple[str, ...]]:
    """Conjunction of clauses: FALSE wins, then UNKNOWN (with the undecided clauses listed)."""
    undecided: list[str] = []
    for clause in clauses:
        t = evaluate_clause(clause, ctx)
        if t is Tri.FALSE:
            return Tri.FALSE, ()
        if t is Tri.UNKNOWN:
            undecided.append(clause.describe())
    if undecided:
        return Tri.UNKNOWN, tuple(undecided)
    return Tri.TRUE, ()


def mentions(clauses: Sequence[ConditionClause], key: str) -> bool:
    """Whether any clause tests ``key`` (lower-cased)."""
    return any(c.key.lower() == key for c in clauses)
