"""Policy documents parsed into statements, indexed by action service prefix, and matched.

Parsing never raises: a statement whose shape cannot be understood keeps a ``problems`` note
and evaluates to MAYBE (so it is reported as conditional, never dropped). Matching follows the
IAM JSON reference pages "IAM JSON policy elements: Action / NotAction / Resource /
NotResource / Principal / NotPrincipal". Where a match is uncertain the direction is chosen so
that access is over-approximated: Allow statements match optimistically, Deny statements only
when they certainly apply (a wrong PASS is the worst outcome for this tool).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from aslcheck.checks.aws.access.conditions import ConditionClause
from aslcheck.checks.aws.access.matching import (
    covers_prefix,
    glob_match,
    has_wildcard,
    may_match_prefix,
)
from aslcheck.checks.aws.access.model import Principal, PrincipalKind

_ACCOUNT_ID = re.compile(r"^\d{12}$")


class Effect(Enum):
    """Statement effect."""

    ALLOW = "Allow"
    """Grants."""
    DENY = "Deny"
    """Denies; wins over every allow."""


@dataclass(frozen=True)
class PrincipalSpec:
    """A ``Principal`` or ``NotPrincipal`` element."""

    wildcard: bool = False
    """``"*"`` or ``{"AWS": "*"}``: everyone, including anonymous callers."""
    aws: tuple[str, ...] = ()
    """AWS principal values (account IDs normalised to ``arn:aws:iam::ID:root``)."""
    services: tuple[str, ...] = ()
    """Service principals."""
    federated: tuple[str, ...] = ()
    """Identity providers."""
    canonical: tuple[str, ...] = ()
    """S3 canonical user IDs (cannot be tied to IAM principals offline)."""


class MatchKind(Enum):
    """How a resource-policy principal element names the caller."""

    NONE = "none"
    """Does not name it."""
    DIRECT = "direct"
    """Names its own ARN (a user, role, root user, service or provider)."""
    SESSION = "session"
    """Names an assumed-role session ARN of the role (granted to the session directly)."""
    WILDCARD = "wildcard"
    """Names everyone (``*``), or everyone but a NotPrincipal list."""
    ACCOUNT = "account"
    """Names the caller's account root: delegation to that account's IAM policies."""


@dataclass(frozen=True)
class Statement:
    """One parsed statement."""

    effect: Effect
    """Allow or Deny."""
    ref: str
    """``statement 'Sid'`` or ``statement #N``."""
    actions: tuple[str, ...] | None
    """Lower-cased ``Action`` patterns (``None`` when NotAction is used)."""
    not_actions: tuple[str, ...] | None
    """Lower-cased ``NotAction`` patterns."""
    resources: tuple[str, ...] | None
    """``Resource`` patterns (``None``: absent, i.e. the resource the policy is attached to)."""
    not_resources: tuple[str, ...] | None
    """``NotResource`` patterns."""
    principal: PrincipalSpec | None
    """``Principal`` (resource policies only)."""
    not_principal: PrincipalSpec | None
    """``NotPrincipal``."""
    conditions: tuple[ConditionClause, ...]
    """``Condition`` clauses."""
    problems: tuple[str, ...] = ()
    """Why the statement could not be fully understood (evaluates to MAYBE)."""
    _variables: bool = field(default=False, init=False, compare=False, repr=False)
    _services: frozenset[str] | None = field(default=None, init=False, compare=False, repr=False)

    def action_matches(self, action: str) -> bool:
        """Whether it applies to the lower-cased ``action``."""
        if self.actions is not None:
            return any(glob_match(action, p) for p in self.actions)
        if self.not_actions is not None:
            return not any(glob_match(action, p) for p in self.not_actions)
        return True  # shape problem; the statement is MAYBE anyway

    def services(self) -> frozenset[str] | None:
        """Service prefixes its Action names (``None``: could match any service)."""
        return self._services

    def _compute_services(self) -> frozenset[str] | None:
        if self.actions is None:
            return None
        out: set[str] = set()
        for p in self.actions:
            svc, sep, _ = p.partition(":")
            if not sep or has_wildcard(svc):
                return None
            out.add(svc)
        return frozenset(out)

    def resource_applies(self, resource: str, is_prefix: bool, *, certain: bool) -> bool:
        """Whether it applies to the resource (set); ``certain`` asks for all of a prefix set."""
        def one(pattern: str) -> bool:
            if not is_prefix:
                return glob_match(resource, pattern)
            return covers_prefix(resource, pattern) if certain else may_match_prefix(resource, pattern)

        def some(pattern: str) -> bool:
            if not is_prefix:
                return glob_match(resource, pattern)
            return may_match_prefix(resource, pattern) if certain else covers_prefix(resource, pattern)

        if self.resources is not None:
            return any(one(p) for p in self.resources)
        if self.not_resources is not None:
            # NotResource: applies to whatever is not excluded. For a Deny to certainly apply,
            # no object may be excluded; for an Allow to possibly apply, not all of them may be.
            return not any(some(p) for p in self.not_resources)
        return True

    def uses_variables(self) -> bool:
        """Whether Resource/NotResource patterns contain policy variables."""
        return self._variables

    def __post_init__(self) -> None:
        pats = (self.resources or ()) + (self.not_resources or ())
        object.__setattr__(self, "_variables", any("${" in p for p in pats))
        object.__setattr__(self, "_services", self._compute_services())


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _strings(value: Any, what: str, problems: list[str]) -> tuple[str, ...]:
    out = []
    for v in _as_list(value):
        if isinstance(v, str):
            out.append(v)
        else:
            problems.append(f"{what} value {v!r} is not a string")
    return tuple(out)


def _principal(raw: Any, problems: list[str]) -> PrincipalSpec:
    if raw == "*":
        return PrincipalSpec(wildcard=True)
    if not isinstance(raw, dict):
        problems.append(f"principal {raw!r} is neither '*' nor an object")
        return PrincipalSpec(wildcard=True)
    wildcard = False
    aws: list[str] = []
    services: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical: tuple[str, ...] = ()
    for key, val in raw.items():
        vals = _strings(val, f"principal {key}", problems)
        if key == "AWS":
            for v in vals:
                if v == "*":
                    wildcard = True
                elif _ACCOUNT_ID.match(v):
                    aws.append(f"arn:aws:iam::{v}:root")
                else:
                    aws.append(v)
        elif key == "Service":
            services = vals
        elif key == "Federated":
            federated = vals
        elif key == "CanonicalUser":
            canonical = vals
        else:
            problems.append(f"unknown principal type {key!r}")
            wildcard = True
    return PrincipalSpec(wildcard, tuple(aws), services, federated, canonical)


def _conditions(raw: Any, problems: list[str]) -> tuple[ConditionClause, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        problems.append("Condition is not an object")
        return ()
    out = []
    for op, block in raw.items():
        if not isinstance(block, dict):
            problems.append(f"condition {op!r} is not an object")
            continue
        for key, vals in block.items():
            texts = []
            for v in _as_list(vals):
                if isinstance(v, bool):
                    texts.append("true" if v else "false")
                elif isinstance(v, (str, int)):
                    texts.append(str(v))
                else:
                    problems.append(f"condition {op} {key} has a non-scalar value")
            out.append(ConditionClause(str(op), str(key), tuple(texts)))
    return tuple(out)


def parse_statement(raw: Any, index: int) -> Statement:
    """Parse one statement; shape problems are recorded, never raised."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        return Statement(Effect.ALLOW, f"statement #{index}", None, None, None, None, None, None, (),
                         ("statement is not an object",))
    sid = raw.get("Sid")
    ref = f"statement {sid!r}" if isinstance(sid, str) and sid else f"statement #{index}"
    eff_raw = raw.get("Effect")
    if eff_raw == "Deny":
        effect = Effect.DENY
    else:
        effect = Effect.ALLOW
        if eff_raw != "Allow":
            problems.append(f"unknown Effect {eff_raw!r}")
    actions = not_actions = None
    if "Action" in raw:
        actions = tuple(a.lower() for a in _strings(raw["Action"], "Action", problems))
    elif "NotAction" in raw:
        not_actions = tuple(a.lower() for a in _strings(raw["NotAction"], "NotAction", problems))
    else:
        problems.append("neither Action nor NotAction")
    resources = _strings(raw["Resource"], "Resource", problems) if "Resource" in raw else None
    not_resources = _strings(raw["NotResource"], "NotResource", problems) if "NotResource" in raw else None
    principal = _principal(raw["Principal"], problems) if "Principal" in raw else None
    not_principal = _principal(raw["NotPrincipal"], problems) if "NotPrincipal" in raw else None
    return Statement(effect, ref, actions, not_actions, resources, not_resources, principal,
                     not_principal, _conditions(raw.get("Condition"), problems), tuple(problems))


@dataclass(frozen=True)
class Policy:
    """A parsed policy document with a per-action statement index."""

    statements: tuple[Statement, ...]
    """Its statements in order."""
    problems: tuple[str, ...] = ()
    """Document-level shape problems (evaluated as an undecidable statement)."""
    _by_service: dict[str, tuple[Statement, ...]] = field(default_factory=dict, compare=False, repr=False)
    _anywhere: tuple[Statement, ...] = field(default=(), compare=False, repr=False)
    _cache: dict[str, tuple[Statement, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        by_service: dict[str, list[Statement]] = {}
        anywhere: list[Statement] = []
        for st in self.statements:
            svcs = st.services()
            if svcs is None:
                anywhere.append(st)
            else:
                for s in svcs:
                    by_service.setdefault(s, []).append(st)
        self._by_service.update({k: tuple(v) for k, v in by_service.items()})
        object.__setattr__(self, "_anywhere", tuple(anywhere))

    def relevant(self, action: str) -> tuple[Statement, ...]:
        """Statements whose Action/NotAction matches the lower-cased ``action`` (cached)."""
        hit = self._cache.get(action)
        if hit is not None:
            return hit
        svc = action.partition(":")[0]
        wanted = {id(st) for st in self._by_service.get(svc, ()) + self._anywhere}
        # NOTE: keep document order so reported steps are stable.
        found = tuple(st for st in self.statements if id(st) in wanted and st.action_matches(action))
        self._cache[action] = found
        return found


def parse_policy(doc: Any) -> Policy:
    """Parse a (normalised or raw) policy document."""
    if not isinstance(doc, dict):  # NOTE: snapshot JSON is plain dicts; dict checks are much faster than Mapping
        return Policy((), ("policy document is not a JSON object",))
    raw = doc.get("Statement")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        return Policy((), ("policy has no Statement list",))
    return Policy(tuple(parse_statement(s, i) for i, s in enumerate(raw)))


def root_arn(account: str, partition: str = "aws") -> str:
    """ARN of an account's root principal."""
    return f"arn:{partition}:iam::{account}:root"


def _session_of(value: str, p: Principal) -> bool:
    """Whether ``value`` is an assumed-role session ARN of role ``p``."""
    if p.kind is not PrincipalKind.ROLE or p.account is None or p.name is None:
        return False
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[2] != "sts" or parts[4] != p.account:
        return False
    res = parts[5].split("/")
    return len(res) >= 2 and res[0] == "assumed-role" and res[1] == p.name


def _is_root_of(value: str, account: str | None) -> bool:
    return account is not None and value.endswith(f":iam::{account}:root") and value.startswith("arn:")


def match_principal(spec: PrincipalSpec, p: Principal, *, certain: bool) -> MatchKind:
    """How ``spec`` (a Principal element) names ``p``.

    Principal values cannot contain partial wildcards; if one does anyway, an Allow treats it
    as a glob (over-approximating access) and a Deny ignores it (``certain``).
    """
    if spec.wildcard:
        return MatchKind.WILDCARD
    if p.kind is PrincipalKind.SERVICE:
        return MatchKind.DIRECT if p.id in spec.services else MatchKind.NONE
    if p.kind is PrincipalKind.FEDERATED:
        return MatchKind.DIRECT if p.id in spec.federated else MatchKind.NONE
    if p.kind is PrincipalKind.CANONICAL:
        return MatchKind.DIRECT if p.id in spec.canonical else MatchKind.NONE
    best = MatchKind.NONE
    for v in spec.aws:
        if v == p.id:
            return MatchKind.DIRECT
        if _session_of(v, p):
            best = MatchKind.SESSION
        elif _is_root_of(v, p.account) and p.kind is not PrincipalKind.ANONYMOUS:
            if best is MatchKind.NONE:
                best = MatchKind.ACCOUNT
        elif not certain and has_wildcard(v) and glob_match(p.id, v):
            best = MatchKind.DIRECT if best is MatchKind.NONE else best
    return best


def sessions_named(spec: PrincipalSpec, p: Principal) -> tuple[str, ...]:
    """The assumed-role session ARNs of role ``p`` that ``spec`` names."""
    return tuple(v for v in spec.aws if _session_of(v, p))


class NotPrincipalMatch(Enum):
    """Whether a NotPrincipal statement applies to a principal."""

    APPLIES = "applies"
    """The principal is not excluded: the statement applies to it."""
    EXEMPT = "exempt"
    """The principal is excluded (listed as AWS documents it must be)."""
    AMBIGUOUS = "ambiguous"
    """Listed without its account ARN: per "AWS JSON policy elements: NotPrincipal", a Deny
    may then cover the whole account or not, depending on the service."""


def not_principal_match(spec: PrincipalSpec, p: Principal) -> NotPrincipalMatch:
    """Whether a NotPrincipal list excludes ``p`` (so a NotPrincipal statement skips it).

    Per "AWS JSON policy elements: NotPrincipal", a not-denied principal must be listed together
    with its account ARN; listed without it, whether a Deny still covers it depends on the
    service (AMBIGUOUS, never a certain answer). Per "Permissions boundaries for IAM entities", a
    NotPrincipal Deny always denies a principal that has a permissions boundary. A role counts
    as listed by its role ARN or any of its assumed-role session ARNs (the caller picks the
    session name, so access remains).
    """
    if spec.wildcard:
        return NotPrincipalMatch.EXEMPT
    if p.kind is PrincipalKind.SERVICE:
        return NotPrincipalMatch.EXEMPT if p.id in spec.services else NotPrincipalMatch.APPLIES
    if p.kind is PrincipalKind.FEDERATED:
        return NotPrincipalMatch.EXEMPT if p.id in spec.federated else NotPrincipalMatch.APPLIES
    if p.kind is PrincipalKind.CANONICAL:
        return NotPrincipalMatch.EXEMPT if p.id in spec.canonical else NotPrincipalMatch.APPLIES
    if p.kind is PrincipalKind.ANONYMOUS or p.has_boundary:
        return NotPrincipalMatch.APPLIES
    listed_self = any(v == p.id or _session_of(v, p) for v in spec.aws)
    listed_account = any(_is_root_of(v, p.account) for v in spec.aws)
    if p.kind in (PrincipalKind.ROOT, PrincipalKind.EXTERNAL_ACCOUNT):
        return NotPrincipalMatch.EXEMPT if listed_account else NotPrincipalMatch.APPLIES
    if listed_self:
        return NotPrincipalMatch.EXEMPT if listed_account else NotPrincipalMatch.AMBIGUOUS
    return NotPrincipalMatch.APPLIES


def exempt_from_not_principal(spec: PrincipalSpec, p: Principal) -> bool:
    """Whether a NotPrincipal list certainly excludes ``p`` (see :func:`not_principal_match`)."""
    return not_principal_match(spec, p) is NotPrincipalMatch.EXEMPT
