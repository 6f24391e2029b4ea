"""IAM Identity Center: permission sets, their policies and account assignments.

Identity Center lives in one region of the management (or delegated admin) account; the
collector asks every scanned region and records what it finds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial
from typing import Any

from aslcheck.inventories.aws.context import LISTED, Feeds, Outcome, Reader, Target, Task
from aslcheck.inventories.aws.normalise import optional_policy
from aslcheck.inventories.snapshot import Resource

PERMISSION_SET = "aws.sso.permission_set"
SCOPE = "regional"

OPERATIONS: Mapping[str, frozenset[str]] = {
    PERMISSION_SET: frozenset(
        {
            "sso-admin:ListInstances",
            "sso-admin:ListPermissionSets",
            "sso-admin:DescribePermissionSet",
            "sso-admin:GetInlinePolicyForPermissionSet",
            "sso-admin:ListManagedPoliciesInPermissionSet",
            "sso-admin:ListCustomerManagedPolicyReferencesInPermissionSet",
            "sso-admin:ListAccountsForProvisionedPermissionSet",
            "sso-admin:ListAccountAssignments",
        }
    ),
}
KINDS = frozenset(OPERATIONS)
FEEDS: Feeds = {
    "sso-admin:ListInstances": {PERMISSION_SET: frozenset({LISTED})},
    "sso-admin:ListPermissionSets": {PERMISSION_SET: frozenset({LISTED})},
    "sso-admin:DescribePermissionSet": {PERMISSION_SET: frozenset({"name",
                                                                  "session_duration_seconds"})},
    "sso-admin:GetInlinePolicyForPermissionSet": {PERMISSION_SET: frozenset({"inline_policy"})},
    "sso-admin:ListManagedPoliciesInPermissionSet": {
        PERMISSION_SET: frozenset({"managed_policies"})},
    "sso-admin:ListCustomerManagedPolicyReferencesInPermissionSet": {
        PERMISSION_SET: frozenset({"customer_managed_policies"})},
    "sso-admin:ListAccountsForProvisionedPermissionSet": {
        PERMISSION_SET: frozenset({"assignments"})},
    "sso-admin:ListAccountAssignments": {PERMISSION_SET: frozenset({"assignments"})},
}

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)


def duration_seconds(text: str) -> int:
    """Seconds of an ISO 8601 duration such as ``PT8H`` or ``PT1H30M``."""
    match = _DURATION.match(text)
    if not match or text in ("P", "PT"):
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    parts = {k: int(v) for k, v in match.groupdict(default="0").items()}
    return ((parts["d"] * 24 + parts["h"]) * 60 + parts["m"]) * 60 + parts["s"]


def _assignment_rows(items: list[Any]) -> list[dict[str, str]]:
    return [{"account_id": str(a["AccountId"]), "principal_type": str(a["PrincipalType"]),
             "principal_id": str(a["PrincipalId"])} for a in items]


def _assignments(rd: Reader, instance: str, arn: str) -> list[dict[str, str]] | None:
    op = "sso-admin:ListAccountsForProvisionedPermissionSet"
    accounts = rd.paginate(op, "AccountIds", PERMISSION_SET, arn, InstanceArn=instance,
                           PermissionSetArn=arn)
    if not isinstance(accounts, list):
        return None
    out: list[dict[str, str]] = []
    op = "sso-admin:ListAccountAssignments"
    for account in accounts:
        items = rd.paginate(op, "AccountAssignments", PERMISSION_SET, arn, InstanceArn=instance,
                            PermissionSetArn=arn, AccountId=str(account))
        if not isinstance(items, list):
            return None
        got = rd.parse(op, PERMISSION_SET, arn, _assignment_rows, items)
        if got is None:
            return None
        out.extend(got.value)
    return sorted(out, key=lambda a: (a["account_id"], a["principal_type"], a["principal_id"]))


def _permission_set(target: Target, instance: str, arn: str) -> Outcome:
    rd = target.reader(OPERATIONS[PERMISSION_SET])
    attrs: dict[str, Any] = {"instance_arn": instance}
    ident = {"InstanceArn": instance, "PermissionSetArn": arn}
    op = "sso-admin:DescribePermissionSet"
    answer = rd.call(op, PERMISSION_SET, arn, **ident)
    if isinstance(answer, dict):
        got = rd.parse(op, PERMISSION_SET, arn, lambda: (
            str(answer["PermissionSet"]["Name"]),
            # AWS applies one hour when a permission set names no duration.
            duration_seconds(str(answer["PermissionSet"].get("SessionDuration") or "PT1H"))))
        if got is not None:
            attrs["name"], attrs["session_duration_seconds"] = got.value
    op = "sso-admin:GetInlinePolicyForPermissionSet"
    inline = rd.call(op, PERMISSION_SET, arn, **ident)
    if isinstance(inline, dict):
        got_i = rd.parse(op, PERMISSION_SET, arn,
                         lambda: optional_policy(inline.get("InlinePolicy")))
        if got_i is not None:
            attrs["inline_policy"] = got_i.value
    op = "sso-admin:ListManagedPoliciesInPermissionSet"
    managed = rd.paginate(op, "AttachedManagedPolicies", PERMISSION_SET, arn, **ident)
    if isinstance(managed, list):
        got_m = rd.parse(op, PERMISSION_SET, arn, lambda: sorted(str(p["Arn"]) for p in managed))
        if got_m is not None:
            attrs["managed_policies"] = got_m.value
    op = "sso-admin:ListCustomerManagedPolicyReferencesInPermissionSet"
    refs = rd.paginate(op, "CustomerManagedPolicyReferences", PERMISSION_SET, arn, **ident)
    if isinstance(refs, list):
        got_c = rd.parse(op, PERMISSION_SET, arn, lambda: sorted(
            f"{r.get('Path') or '/'}{r['Name']}" for r in refs))
        if got_c is not None:
            attrs["customer_managed_policies"] = got_c.value
    assignments = _assignments(rd, instance, arn)
    if assignments is not None:
        attrs["assignments"] = assignments
    resource = Resource(kind=PERMISSION_SET, id=arn, source="aws", attributes=attrs, tags=None,
                        account=target.account, region=target.region)
    return Outcome(resources=[resource], errors=rd.errors)


def _list(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[PERMISSION_SET])
    out = Outcome()
    instances = rd.paginate("sso-admin:ListInstances", "Instances", PERMISSION_SET)
    if not isinstance(instances, list):
        return Outcome(errors=rd.errors, incomplete={PERMISSION_SET})
    for instance in instances:
        inst = str(instance.get("InstanceArn"))
        sets = rd.paginate("sso-admin:ListPermissionSets", "PermissionSets", PERMISSION_SET,
                           InstanceArn=inst)
        if not isinstance(sets, list):
            out.incomplete.add(PERMISSION_SET)
            continue
        out.followups.extend(
            Task(target.label(f"sso:{arn}"),
                 partial(_permission_set, target, inst, str(arn)),
                 frozenset({PERMISSION_SET}))
            for arn in sets)
    out.errors = rd.errors
    return out


def plan(target: Target, kinds: frozenset[str]) -> list[Task]:
    """Tasks for the Identity Center permission sets visible in one region."""
    if PERMISSION_SET not in kinds:
        return []
    return [Task(target.label("sso-admin:ListInstances"), lambda: _list(target),
                 frozenset({PERMISSION_SET}))]
