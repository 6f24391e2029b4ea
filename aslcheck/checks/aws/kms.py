"""Weight-key checks: customer-managed and enabled, rotation, no open key policy, no human grants.

The weight keys are those of :func:`aslcheck.checks.aws.scope.weight_keys` (weight-tagged keys
plus the keys weight buckets encrypt with), which is why these are Python checks rather than
declarative rules: the declarative selector only sees tags. A key named by a weight bucket but
not collected is an ERROR, except that an ``alias/aws/...`` key is decidably AWS-managed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from aslcheck.checks.aws.access import parse_policy
from aslcheck.checks.aws.access.admits import wildcard_statements
from aslcheck.checks.aws.scope import UnresolvedRef, is_human, weight_keys
from aslcheck.checks.aws.weight_scope import STORAGE_KINDS
from aslcheck.checks.interface import CheckContext, CheckId, Finding, Select, Status
from aslcheck.checks.registry import check
from aslcheck.inventories.snapshot import Resource

KEY = "aws.kms.key"
BUCKET = "aws.s3.bucket"
KINDS = tuple(sorted(STORAGE_KINDS))  # weight_keys reads every weight-storage kind

CUSTOMER_MANAGED = CheckId("aws.kms.weight_key_customer_managed")
ROTATION = CheckId("aws.kms.weight_key_rotation")
NO_WILDCARD = CheckId("aws.kms.weight_key_no_wildcard_principal")
NO_HUMAN_GRANTS = CheckId("aws.kms.weight_key_no_human_grants")

_Judge = Callable[[CheckContext, Resource], Finding]


def _ref_finding(cid: CheckId, ref: UnresolvedRef, status: Status, reason: str) -> Finding:
    ident = ref.qualified or ref.referrer
    return Finding(check=cid, status=status, resource=ident, kind=KEY if ref.qualified else BUCKET,
                   source="aws", reason=reason, evidence={"referrer": ref.referrer, "ref": ref.ref})


def _over_weight_keys(ctx: CheckContext, cid: CheckId, judge: _Judge,
                      on_aws_managed: Status = Status.ERROR) -> Iterator[Finding]:
    scope = weight_keys(ctx.snapshot, ctx.config)
    for res in scope.undecided:
        yield ctx.finding(cid, res, Status.ERROR,
                          "cannot tell whether it protects weights: its tags (or its bucket's) were not collected")
    for ref in scope.unresolved:
        if ref.aws_managed and on_aws_managed is not Status.ERROR:
            yield _ref_finding(cid, ref, on_aws_managed,
                               f"weight bucket {ref.referrer} encrypts with AWS-managed key {ref.ref}")
        else:
            yield _ref_finding(cid, ref, Status.ERROR,
                               f"weight key {ref.ref} of {ref.referrer}: {ref.reason}")
    for res in scope.resources:
        yield judge(ctx, res)


def _missing(res: Resource, *names: str) -> list[str]:
    return [n for n in names if n not in res.attributes]


def _customer_managed(ctx: CheckContext, res: Resource) -> Finding:
    ev = {n: res.attributes.get(n, "<not collected>") for n in ("key_manager", "key_state")}
    if _missing(res, "key_manager", "key_state"):
        return ctx.finding(CUSTOMER_MANAGED, res, Status.ERROR, "key manager or state not collected", ev)
    if res.attributes["key_manager"] != "CUSTOMER":
        return ctx.finding(CUSTOMER_MANAGED, res, Status.FAIL,
                           f"key is managed by {res.attributes['key_manager']}, not the customer", ev)
    if res.attributes["key_state"] != "Enabled":
        return ctx.finding(CUSTOMER_MANAGED, res, Status.FAIL, f"key state is {res.attributes['key_state']}", ev)
    return ctx.finding(CUSTOMER_MANAGED, res, Status.PASS, "customer-managed and enabled", ev)


@check(CUSTOMER_MANAGED, kinds=KINDS, select=Select.ALL, primary_kinds=(KEY,))
def weight_key_customer_managed(ctx: CheckContext) -> Iterator[Finding]:
    """Every weight key is customer-managed and enabled."""
    yield from _over_weight_keys(ctx, CUSTOMER_MANAGED, _customer_managed, on_aws_managed=Status.FAIL)


def _rotation(ctx: CheckContext, res: Resource) -> Finding:
    if "rotation_enabled" not in res.attributes:
        return ctx.finding(ROTATION, res, Status.ERROR, "rotation status not collected")
    value = res.attributes["rotation_enabled"]
    ev = {"rotation_enabled": value, "key_spec": res.attributes.get("key_spec"),
          "origin": res.attributes.get("origin")}
    if value is True:
        return ctx.finding(ROTATION, res, Status.PASS, "automatic rotation is on", ev)
    if value is None:
        return ctx.finding(ROTATION, res, Status.FAIL,
                           "automatic rotation is not supported for this key (asymmetric, HMAC or imported)", ev)
    return ctx.finding(ROTATION, res, Status.FAIL, "automatic rotation is off", ev)


@check(ROTATION, kinds=KINDS, select=Select.ALL, primary_kinds=(KEY,))
def weight_key_rotation(ctx: CheckContext) -> Iterator[Finding]:
    """Every weight key has automatic rotation on."""
    yield from _over_weight_keys(ctx, ROTATION, _rotation)


def _no_wildcard(ctx: CheckContext, res: Resource) -> Finding:
    if res.attributes.get("policy") is None:
        return ctx.finding(NO_WILDCARD, res, Status.ERROR, "key policy not collected")
    policy = parse_policy(res.attributes["policy"])
    if policy.problems:
        return ctx.finding(NO_WILDCARD, res, Status.ERROR, f"key policy unreadable: {'; '.join(policy.problems)}")
    found = wildcard_statements(policy)
    open_ = [st.ref for st, narrowed in found if not narrowed]
    ev: dict[str, Any] = {"wildcard_statements": [
        {"statement": st.ref, "narrowed_by_identity_condition": narrowed,
         "conditions": [c.describe() for c in st.conditions]} for st, narrowed in found]}
    if open_:
        return ctx.finding(NO_WILDCARD, res, Status.FAIL,
                           f"key policy allows any principal without an identity condition in {open_[0]}", ev)
    if found:
        return ctx.finding(NO_WILDCARD, res, Status.PASS,
                           "wildcard principals are narrowed by identity conditions", ev)
    return ctx.finding(NO_WILDCARD, res, Status.PASS, "no wildcard principal in the key policy", ev)


@check(NO_WILDCARD, kinds=KINDS, select=Select.ALL, primary_kinds=(KEY,))
def weight_key_no_wildcard_principal(ctx: CheckContext) -> Iterator[Finding]:
    """No weight-key policy statement allows ``*`` (or NotPrincipal) without identity conditions."""
    yield from _over_weight_keys(ctx, NO_WILDCARD, _no_wildcard)


def _no_human_grants(ctx: CheckContext, res: Resource) -> Finding:
    grants = res.attributes.get("grants")
    if not isinstance(grants, list) or not all(isinstance(g, dict) for g in grants):
        return ctx.finding(NO_HUMAN_GRANTS, res, Status.ERROR, "grants not collected")
    unreadable = [g for g in grants if not isinstance(g.get("grantee_principal"), str)]
    human = [g for g in grants if isinstance(g.get("grantee_principal"), str)
             and is_human(g["grantee_principal"], ctx.config)]
    ev = {"grants": [{"grant_id": g.get("grant_id"), "grantee": g.get("grantee_principal"),
                      "operations": g.get("operations")} for g in grants]}
    if human:
        first = human[0]
        return ctx.finding(NO_HUMAN_GRANTS, res, Status.FAIL,
                           f"grant {first.get('grant_id')} is to human principal {first['grantee_principal']}", ev)
    if unreadable:
        return ctx.finding(NO_HUMAN_GRANTS, res, Status.ERROR, "a grant has no readable grantee", ev)
    return ctx.finding(NO_HUMAN_GRANTS, res, Status.PASS, f"{len(grants)} grant(s), none to a human", ev)


@check(NO_HUMAN_GRANTS, kinds=KINDS, select=Select.ALL, primary_kinds=(KEY,))
def weight_key_no_human_grants(ctx: CheckContext) -> Iterator[Finding]:
    """No grant on a weight key names a human principal."""
    yield from _over_weight_keys(ctx, NO_HUMAN_GRANTS, _no_human_grants)
