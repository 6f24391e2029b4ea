"""Small helpers shared by the S3, CloudTrail, network and EC2 checks.

IAM wildcard matching, policy-statement access, condition parsing and account membership in
the organisation. Weight scope and KMS key resolution live in :mod:`aslcheck.checks.aws.scope`.
Everything here is a pure function of snapshot data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aslcheck.inventories.snapshot import Resource, Snapshot

ORG_ACCOUNT_KIND = "aws.organizations.account"
KMS_KEY_KIND = "aws.kms.key"
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_ARN_ACCOUNT_RE = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:(\d{12}):")

MISSING: Any = object()
"""Sentinel for an attribute that was not collected (absent, as opposed to an explicit null)."""


def listing_gaps(snapshot: Snapshot, kind: str) -> list[str]:
    """Why "no resource of ``kind``" is not evidence: failed listings, or no complete listing.

    Empty when some collector listed the kind completely and no listing of it failed (an
    error with no resource), i.e. when an empty list really means none exist. Planned code
    (the Terraform gate, no live AWS run) is judged on what it declares, so it has no gaps.
    """
    gaps = [f"{e.operation} failed in {'/'.join(x for x in (e.account, e.region) if x) or 'the scan'}"
            f" ({e.code})" for e in snapshot.errors
            if e.resource is None and e.kind == kind and e.source == "aws"]
    live = any(run.name == "aws" for run in snapshot.runs)
    if not gaps and live and kind not in snapshot.kinds_collected():
        gaps.append(f"{kind} was not listed completely")
    return sorted(set(gaps))


def missing(res: Resource, *names: str) -> list[str]:
    """Which of ``names`` were not collected on ``res``."""
    return [n for n in names if n not in res.attributes]


@lru_cache(maxsize=4096)
def _glob_re(pattern: str, fold: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if fold else 0))


def iam_glob(pattern: str, value: str, *, fold: bool = False) -> bool:
    """IAM wildcard match (``*`` and ``?`` only; no character classes, unlike fnmatch)."""
    return _glob_re(pattern, fold).fullmatch(value) is not None


def glob_covers_all_under(pattern: str, prefix: str) -> bool:
    """Whether ``pattern`` matches every string that starts with ``prefix``.

    Sound, not complete: the pattern must be ``Q*`` where ``Q`` matches some prefix of
    ``prefix``; then ``Q`` absorbs that prefix and ``*`` absorbs everything after it.
    """
    if not pattern.endswith("*"):
        return False
    head = pattern[:-1]
    return any(iam_glob(head, prefix[:i]) for i in range(len(prefix) + 1))


def as_list(value: Any) -> list[Any]:
    """A policy value as a list (``"x"`` -> ``["x"]``, ``None`` -> ``[]``)."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def statements(doc: Any) -> list[Mapping[str, Any]]:
    """The statements of a policy document (tolerating a single statement object)."""
    if not isinstance(doc, Mapping):
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, Mapping)]


def stmt_label(stmt: Mapping[str, Any], index: int) -> str:
    """Human name of a statement: its Sid, or its position."""
    sid = stmt.get("Sid")
    return f"statement {sid!r}" if sid else f"statement #{index}"


@dataclass(frozen=True)
class Cond:
    """One condition clause ``operator: {key: values}``, normalised."""

    operator: str
    """Base operator without set prefix or ``IfExists`` suffix (``StringEquals``, ``Bool``)."""
    key: str
    """Condition key, lower-cased (keys are case-insensitive)."""
    values: tuple[str, ...]
    """Values as strings (``false``, not ``False``)."""
    if_exists: bool
    """``...IfExists``: also true when the key is absent from the request."""
    set_prefix: str
    """``ForAnyValue``, ``ForAllValues`` or empty."""


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def conditions(stmt: Mapping[str, Any]) -> list[Cond]:
    """The condition clauses of a statement."""
    raw = stmt.get("Condition")
    out: list[Cond] = []
    if not isinstance(raw, Mapping):
        return out
    for op, block in raw.items():
        prefix, _, base = str(op).rpartition(":")
        if_exists = base.endswith("IfExists")
        if if_exists:
            base = base[: -len("IfExists")]
        if not isinstance(block, Mapping):
            continue
        for key, values in block.items():
            out.append(Cond(base, str(key).lower(), tuple(_as_text(v) for v in as_list(values)),
                            if_exists, prefix))
    return out


_POSITIVE = frozenset({"StringEquals", "StringLike", "StringEqualsIgnoreCase", "ArnEquals", "ArnLike"})


def is_positive_match(cond: Cond) -> bool:
    """Whether the clause only lets through requests whose key equals one of its values.

    ``IfExists`` and ``ForAllValues`` clauses are also true when the key is absent, so they
    restrict nothing.
    """
    return cond.operator in _POSITIVE and not cond.if_exists and cond.set_prefix in ("", "ForAnyValue")


def has_wildcard(value: str) -> bool:
    """Whether an IAM value contains a wildcard."""
    return "*" in value or "?" in value


def is_everyone(principal: Any) -> bool:
    """``"*"`` or ``{"AWS": "*"}`` (possibly inside a list)."""
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return "*" in as_list(principal.get("AWS"))
    return False


def account_of(value: str) -> str | None:
    """The account of a principal: a bare account ID or the account field of an ARN."""
    if _ACCOUNT_RE.match(value):
        return value
    m = _ARN_ACCOUNT_RE.match(value)
    return m.group(1) if m else None


@dataclass(frozen=True)
class Accounts:
    """Which accounts belong to the organisation, as far as the snapshot tells."""

    members: frozenset[str]
    """Account IDs listed as organisation members."""
    org_ids: frozenset[str]
    """Organisation IDs seen on those accounts."""
    complete: bool
    """Whether the membership was listed completely (kind collected, no error on it)."""

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> Accounts:
        """Read membership from ``aws.organizations.account`` resources, when a collector listed them.

        NOTE: read opportunistically rather than declared, so single-account users whose
        policies name no other account are not made INCONCLUSIVE by a missing organisation;
        where membership matters and is not known completely, the caller yields ERROR.
        """
        members: set[str] = set()
        org_ids: set[str] = set()
        for res in snapshot.of_kind(ORG_ACCOUNT_KIND):
            acct = res.attributes.get("account_id")
            if isinstance(acct, str):
                members.add(acct)
            org = res.attributes.get("organization_id")
            if isinstance(org, str):
                org_ids.add(org)
        complete = ORG_ACCOUNT_KIND in snapshot.kinds_collected() and not any(
            e.kind in (ORG_ACCOUNT_KIND, None) and e.source == "aws" for e in snapshot.errors)
        return cls(frozenset(members), frozenset(org_ids), complete)

    def member(self, account: str, own: str | None) -> bool | None:
        """Whether ``account`` is ``own`` or an organisation member; ``None`` when unknown."""
        if account == own or account in self.members:
            return True
        return False if self.complete else None

    def org_id_known(self, org_id: str) -> bool | None:
        """Whether ``org_id`` is this organisation; ``None`` when the organisation is unknown."""
        if org_id in self.org_ids:
            return True
        return False if self.complete and self.org_ids else None
