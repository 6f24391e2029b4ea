"""Static questions about one resource policy: whom does it admit, and is a wildcard narrowed?

Unlike the evaluator, which asks who *can* act today, these read the policy alone: a trust
policy naming the account root admits anyone that account's administrators later permit, even
if nobody holds ``sts:AssumeRole`` yet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aslcheck.checks.aws.access.conditions import ConditionClause
from aslcheck.checks.aws.access.matching import has_wildcard
from aslcheck.checks.aws.access.policy import Effect, Policy, Statement

IDENTITY_KEYS = frozenset({
    "aws:principalarn", "aws:principalaccount", "aws:principalorgid", "aws:principalorgpaths",
    "kms:calleraccount", "aws:userid", "aws:username", "aws:sourceaccount", "aws:sourcearn",
    "aws:sourceorgid", "aws:principalservicename",
})
"""Condition keys that narrow *who* the caller is (not how or from where it calls)."""
_POSITIVE = frozenset({"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"})
_NEGATED = frozenset({"stringnotequals", "stringnotlike", "arnnotequals", "arnnotlike"})


def _base(operator: str) -> tuple[str, str, bool]:
    """(set prefix, base operator, IfExists) of an operator, lower-cased."""
    prefix, _, base = operator.lower().rpartition(":")
    if_exists = base.endswith("ifexists")
    return prefix, base[: -len("ifexists")] if if_exists else base, if_exists


def is_restricting(clause: ConditionClause, keys: frozenset[str] = IDENTITY_KEYS) -> bool:
    """Whether the clause only admits callers whose identity key equals one of its values.

    ``...IfExists`` and ``ForAllValues`` clauses are true when the key is absent (anonymous
    callers), and a bare ``*`` value admits everyone, so neither restricts.
    """
    prefix, base, if_exists = _base(clause.operator)
    return (base in _POSITIVE and not if_exists and prefix in ("", "foranyvalue")
            and clause.key.lower() in keys and bool(clause.values)
            and all(v.strip("*?") for v in clause.values))


def pins_principal(st: Statement, allowed: Callable[[str], bool]) -> bool:
    """Whether a positive ``aws:PrincipalArn`` clause limits the statement to allowed ARNs."""
    for c in st.conditions:
        if (c.key.lower() == "aws:principalarn" and is_restricting(c)
                and all(not has_wildcard(v) and allowed(v) for v in c.values)):
            return True
    return False


def denies_all_but(policy: Policy, action: str, allowed: Callable[[str], bool]) -> bool:
    """Whether a Deny refuses ``action`` to every caller whose ARN is not allowed.

    Recognises the documented replacement of NotPrincipal: ``Principal: *`` with a single
    negated ``aws:PrincipalArn`` clause listing only allowed ARNs.
    """
    for st in policy.statements:
        if st.effect is not Effect.DENY or st.problems or not st.action_matches(action):
            continue
        if st.principal is None or not st.principal.wildcard or len(st.conditions) != 1:
            continue
        c = st.conditions[0]
        prefix, base, _ = _base(c.operator)
        if (c.key.lower() == "aws:principalarn" and base in _NEGATED and not prefix and c.values
                and all(not has_wildcard(v) and allowed(v) for v in c.values)):
            return True
    return False


@dataclass(frozen=True)
class Admission:
    """Who a resource policy admits for some actions."""

    admitted: tuple[str, ...]
    """Principal entries admitted and allowed (or narrowed to allowed ones)."""
    offending: tuple[str, ...]
    """Entries admitted beyond what is allowed, each with its statement."""


def admissions(policy: Policy, actions: Sequence[str], allowed: Callable[[str], bool]) -> Admission:
    """Principal entries of Allow statements granting any of ``actions``, split by ``allowed``."""
    admitted: list[str] = []
    offending: list[str] = []
    guarded = any(denies_all_but(policy, a.lower(), allowed) for a in actions)
    for st in policy.statements:
        if st.effect is not Effect.ALLOW:
            continue
        if st.problems:
            offending.append(f"unreadable {st.ref}: {'; '.join(st.problems)}")
            continue
        if not any(st.action_matches(a.lower()) for a in actions):
            continue
        entries: list[str] = []
        if st.not_principal is not None or st.principal is None:
            entries.append("NotPrincipal (everyone except the listed)" if st.not_principal else "<no Principal>")
        else:
            spec = st.principal
            entries.extend(["*"] if spec.wildcard else [])
            entries.extend(spec.aws + spec.services + spec.federated + spec.canonical)
        narrowed = guarded or pins_principal(st, allowed)
        for e in entries:
            if allowed(e) or narrowed:
                admitted.append(f"{e} ({st.ref})")
            else:
                offending.append(f"{e} ({st.ref})")
    return Admission(tuple(admitted), tuple(offending))


def wildcard_statements(policy: Policy) -> tuple[tuple[Statement, bool], ...]:
    """Allow statements open to everyone (``*`` or NotPrincipal), with whether a condition
    narrows the caller's identity."""
    out = []
    for st in policy.statements:
        if st.effect is not Effect.ALLOW:
            continue
        open_to_all = st.not_principal is not None or (st.principal is not None and st.principal.wildcard)
        if open_to_all or st.problems:
            out.append((st, not st.problems and any(is_restricting(c) for c in st.conditions)))
    return tuple(out)


@dataclass(frozen=True)
class TrustEntry:
    """One principal entry a trust policy admits for ``sts:AssumeRole*``."""

    entry: str
    """The entry as written (an ARN, ``*``, a service or provider, ``NotPrincipal ...``)."""
    statement: str
    """The statement that admits it."""
    kind: str
    """``aws``, ``service``, ``federated``, ``canonical``, ``everyone`` or ``unreadable``."""
    pins_source: bool = False
    """Services: whether the statement pins ``aws:SourceArn``/``aws:SourceAccount``/``aws:SourceOrgID``."""
    narrowed: bool = False
    """AWS entries: whether a condition or a guarding Deny limits it to allowed ARNs."""


ASSUME_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity")
"""Actions through which a trust policy admits callers."""
SOURCE_KEYS = frozenset({"aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid"})
"""Condition keys that pin which resource a calling service acts for."""


def trust_entries(policy: Policy, allowed: Callable[[str], bool]) -> tuple[TrustEntry, ...]:
    """Every entry the trust policy admits, with how each statement narrows it."""
    out: list[TrustEntry] = []
    guarded = any(denies_all_but(policy, a.lower(), allowed) for a in ASSUME_ACTIONS)
    for st in policy.statements:
        if st.effect is not Effect.ALLOW:
            continue
        if st.problems:
            out.append(TrustEntry(f"unreadable {st.ref}: {'; '.join(st.problems)}", st.ref, "unreadable"))
            continue
        if not any(st.action_matches(a.lower()) for a in ASSUME_ACTIONS):
            continue
        if st.not_principal is not None or st.principal is None:
            what = "NotPrincipal (everyone except the listed)" if st.not_principal else "<no Principal>"
            out.append(TrustEntry(what, st.ref, "everyone", narrowed=guarded))
            continue
        spec = st.principal
        narrowed = guarded or pins_principal(st, allowed)
        pinned = any(is_restricting(c, SOURCE_KEYS) for c in st.conditions)
        if spec.wildcard:
            out.append(TrustEntry("*", st.ref, "everyone", narrowed=narrowed))
        out.extend(TrustEntry(v, st.ref, "aws", narrowed=narrowed) for v in spec.aws)
        out.extend(TrustEntry(v, st.ref, "service", pins_source=pinned) for v in spec.services)
        out.extend(TrustEntry(v, st.ref, "federated", narrowed=narrowed) for v in spec.federated)
        out.extend(TrustEntry(v, st.ref, "canonical") for v in spec.canonical)
    return tuple(out)
