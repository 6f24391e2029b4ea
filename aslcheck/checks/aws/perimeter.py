"""Whether a VPC endpoint policy is a data perimeter: traffic through it reaches only the
organisation's resources.

The threat an endpoint policy answers for weights is exfiltration: a principal inside the weight
VPC (ours, possibly compromised) copying weights to a bucket the attacker owns. So only
*resource-side* limits count: ``aws:ResourceOrgID`` / ``aws:ResourceOrgPaths`` /
``aws:ResourceAccount`` naming this organisation, or Resource ARNs naming collected buckets.
A limit on who calls (``aws:PrincipalOrgID``, ``aws:PrincipalAccount``, a named principal)
still lets that caller write to every bucket in the world: it is no perimeter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aslcheck.checks.aws.basics import (
    Accounts,
    as_list,
    conditions,
    has_wildcard,
    is_everyone,
    is_positive_match,
    statements,
    stmt_label,
)

_ORG_KEYS = ("aws:resourceorgid", "aws:resourceorgpaths")
_ACCOUNT_KEYS = ("aws:resourceaccount",)
_NEGATIVE = ("StringNotEquals", "StringNotLike")


def _service(service_name: Any) -> str | None:
    """``s3`` from ``com.amazonaws.us-east-1.s3`` (None when unrecognised)."""
    if not isinstance(service_name, str) or not service_name.startswith("com.amazonaws."):
        return None
    return service_name.rsplit(".", 1)[-1] or None


def _members(cond_values: Sequence[str], key: str, accounts: Accounts,
             own: str | None) -> bool | None:
    """Whether every value names this organisation (``None``: membership unknown)."""
    if not cond_values or any(has_wildcard(v.split("/", 1)[0]) for v in cond_values):
        return False
    if key in _ORG_KEYS:
        found = [accounts.org_id_known(v.split("/", 1)[0]) for v in cond_values]
    else:
        found = [accounts.member(v, own) for v in cond_values]
    return False if False in found else None if None in found else True


def _resource_limited(stmt: Mapping[str, Any], accounts: Accounts, own: str | None) -> bool | None:
    """Whether an Allow's conditions confine it to the organisation's resources."""
    verdicts: list[bool | None] = []
    for c in conditions(stmt):
        if c.key not in _ORG_KEYS + _ACCOUNT_KEYS or not is_positive_match(c):
            continue
        verdicts.append(_members(c.values, c.key, accounts, own))
    if True in verdicts:
        return True
    return None if None in verdicts else False


def _our_buckets_only(stmt: Mapping[str, Any], buckets: set[str]) -> bool:
    res = as_list(stmt.get("Resource"))
    if not res or "NotResource" in stmt:
        return False
    for pattern in map(str, res):
        if not pattern.startswith("arn:aws:s3:::"):
            return False
        name = pattern[len("arn:aws:s3:::"):].split("/", 1)[0]
        if has_wildcard(name) or name not in buckets:
            return False
    return True


def _covers_service(stmt: Mapping[str, Any], service: str | None) -> bool:
    acts = [str(a).lower() for a in as_list(stmt.get("Action"))]
    return "*" in acts or (service is not None and f"{service}:*" in acts)


def _perimeter_deny(stmt: Mapping[str, Any], service: str | None, accounts: Accounts,
                    own: str | None) -> bool | None:
    """A ``Deny`` of every action on ``*`` to everyone unless the resource is in this
    organisation (one negated condition on a resource-side key, nothing else)."""
    conds = conditions(stmt)
    if not (stmt.get("Effect") == "Deny" and "NotPrincipal" not in stmt
            and is_everyone(stmt.get("Principal")) and _covers_service(stmt, service)
            and "*" in as_list(stmt.get("Resource")) and "NotResource" not in stmt
            and len(conds) == 1 and conds[0].key in _ORG_KEYS + _ACCOUNT_KEYS
            and conds[0].operator in _NEGATIVE and not conds[0].set_prefix):
        return False
    return _members(conds[0].values, conds[0].key, accounts, own)


@dataclass(frozen=True)
class PerimeterVerdict:
    """Whether an endpoint policy confines traffic to the organisation's resources."""

    confined: bool | None
    """True: it does; False: it does not; None: organisation membership decides it."""
    reason: str
    """Why."""


def judge_endpoint_policy(doc: Mapping[str, Any], service_name: Any, accounts: Accounts,
                          own: str | None, buckets: set[str]) -> PerimeterVerdict:
    """Judge a parsed endpoint policy document."""
    service = _service(service_name)
    stmts = statements(doc)
    perimeter = [_perimeter_deny(s, service, accounts, own) for s in stmts]
    if True in perimeter:
        return PerimeterVerdict(True, "a perimeter deny confines the endpoint to the "
                                      "organisation's resources")
    open_, unknown = [], []
    for i, s in enumerate(stmts):
        if s.get("Effect") != "Allow" or _our_buckets_only(s, buckets):
            continue
        limited = _resource_limited(s, accounts, own)
        if limited is False:
            open_.append(stmt_label(s, i))
        elif limited is None:
            unknown.append(stmt_label(s, i))
    if open_:
        return PerimeterVerdict(False, "allows resources outside the organisation (a limit on "
                                       f"the caller is no perimeter): {', '.join(open_)}")
    if unknown or None in perimeter:
        return PerimeterVerdict(None, "resource limits name an organisation or accounts whose "
                                      "membership was not collected")
    return PerimeterVerdict(True, "every Allow is limited to the organisation's resources or "
                                  "its collected buckets")
