"""AWS Organizations: SCPs/RCPs with their targets, accounts with their OU path, member listing.

Only reachable from the management account or a delegated administrator. A standalone account
answers ``AWSOrganizationsNotInUseException``: that is data (no organisation, so no SCP/RCP and
no member accounts), and the kinds count as listed completely. ``AccessDenied*`` (a member
account) is missing evidence and is recorded as a collection error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from aslcheck.inventories.aws.context import (
    LISTED,
    Feeds,
    NotConfigured,
    Outcome,
    Reader,
    Target,
    Task,
)
from aslcheck.inventories.aws.normalise import policy_document
from aslcheck.inventories.snapshot import Resource

POLICY = "aws.organizations.policy"
ACCOUNT = "aws.organizations.account"
SCOPE = "global"
POLICY_TYPES = ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")
NOT_IN_USE = "AWSOrganizationsNotInUseException"

OPERATIONS: Mapping[str, frozenset[str]] = {
    POLICY: frozenset({"organizations:ListPolicies", "organizations:DescribePolicy",
                       "organizations:ListTargetsForPolicy"}),
    ACCOUNT: frozenset({"organizations:DescribeOrganization", "organizations:ListRoots",
                        "organizations:ListOrganizationalUnitsForParent",
                        "organizations:ListAccountsForParent"}),
}
KINDS = frozenset(OPERATIONS)
FEEDS: Feeds = {
    "organizations:ListPolicies": {POLICY: frozenset({LISTED})},
    "organizations:DescribePolicy": {POLICY: frozenset({"document", "aws_managed"})},
    "organizations:ListTargetsForPolicy": {POLICY: frozenset({"targets"})},
    **{op: {ACCOUNT: frozenset({LISTED})} for op in OPERATIONS[ACCOUNT]},
}
LIST_ACCOUNTS = "organizations:ListAccounts"
"""The one operation the organisation-wide scan uses to find member accounts."""


def _policy_rows(listed: list[Any]) -> list[tuple[str, str, str]]:
    return [(str(p["Arn"]), str(p["Id"]), str(p["Name"])) for p in listed]


def _root_id(root: Mapping[str, Any]) -> str:
    return str(root["Id"])


def _account_entry(account: Mapping[str, Any], path: list[str], org_id: str
                   ) -> tuple[str, dict[str, Any]]:
    return str(account["Arn"]), {
        "account_id": str(account["Id"]),
        "name": str(account.get("Name", "")),
        "status": str(account.get("State") or account.get("Status") or ""),
        "parent_path": list(path),
        "organization_id": org_id,
    }


def _policy(target: Target, arn: str, policy_id: str, kind: str, name: str) -> Outcome:
    rd = target.reader(OPERATIONS[POLICY], error_region="global")
    attrs: dict[str, Any] = {"type": kind, "name": name, "policy_id": policy_id}
    op = "organizations:DescribePolicy"
    answer = rd.call(op, POLICY, arn, PolicyId=policy_id)
    if isinstance(answer, dict):
        got = rd.parse(op, POLICY, arn, lambda: (
            policy_document(answer["Policy"]["Content"]),
            answer["Policy"]["PolicySummary"].get("AwsManaged") is True))
        if got is not None:
            attrs["document"], attrs["aws_managed"] = got.value
    op = "organizations:ListTargetsForPolicy"
    targets = rd.paginate(op, "Targets", POLICY, arn, PolicyId=policy_id)
    if isinstance(targets, list):
        got_t = rd.parse(op, POLICY, arn, lambda: sorted(str(t["TargetId"]) for t in targets))
        if got_t is not None:
            attrs["targets"] = got_t.value
    resource = Resource(kind=POLICY, id=arn, source="aws", attributes=attrs, tags=None,
                        account=target.account, region="global")
    return Outcome(resources=[resource], errors=rd.errors)


def _policies(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[POLICY], error_region="global")
    out = Outcome()
    op = "organizations:ListPolicies"
    for policy_type in POLICY_TYPES:
        listed = rd.paginate(op, "Policies", POLICY, expected=(NOT_IN_USE,), Filter=policy_type)
        if isinstance(listed, NotConfigured):
            # NOTE: a standalone account is in no organisation: no SCP or RCP applies to it.
            # That is an answer, not missing evidence.
            break
        if not isinstance(listed, list):
            out.incomplete.add(POLICY)
            continue
        got = rd.parse(op, POLICY, None, _policy_rows, listed)
        if got is None:
            out.incomplete.add(POLICY)
            continue
        for arn, policy_id, name in got.value:
            out.followups.append(Task(
                target.label(f"organizations:{policy_id}", "global"),
                partial(_policy, target, arn, policy_id, policy_type, name),
                frozenset({POLICY})))
    out.errors = rd.errors
    return out


def _walk(rd: Reader, root: str) -> list[tuple[Mapping[str, Any], list[str]]] | None:
    """Every account under ``root`` with its parent path, breadth first."""
    found: list[tuple[Mapping[str, Any], list[str]]] = []
    queue: list[list[str]] = [[root]]
    while queue:
        path = queue.pop(0)
        parent = path[-1]
        accounts = rd.paginate("organizations:ListAccountsForParent", "Accounts", ACCOUNT,
                               ParentId=parent)
        units = rd.paginate("organizations:ListOrganizationalUnitsForParent",
                            "OrganizationalUnits", ACCOUNT, ParentId=parent)
        if not isinstance(accounts, list) or not isinstance(units, list):
            return None
        found.extend((a, path) for a in accounts)
        queue.extend(path + [str(u["Id"])] for u in units)
    return found


def _accounts(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[ACCOUNT], error_region="global")
    failed = Outcome(incomplete={ACCOUNT})
    org = rd.call("organizations:DescribeOrganization", ACCOUNT, expected=(NOT_IN_USE,))
    if isinstance(org, NotConfigured):
        return Outcome(errors=rd.errors)  # standalone account: no organisation accounts exist
    roots = rd.paginate("organizations:ListRoots", "Roots", ACCOUNT) if org else None
    if not isinstance(org, dict) or not isinstance(roots, list):
        failed.errors = rd.errors
        return failed
    org_id = rd.parse("organizations:DescribeOrganization", ACCOUNT, None,
                      lambda: str(org["Organization"]["Id"]))
    out = Outcome()
    for root in roots:
        walked = rd.parse("organizations:ListRoots", ACCOUNT, None, _root_id, root)
        found = _walk(rd, str(walked.value)) if walked and org_id else None
        if found is None or org_id is None:
            out.incomplete.add(ACCOUNT)
            continue
        for account, path in found:
            got = rd.parse("organizations:ListAccountsForParent", ACCOUNT, None, _account_entry,
                           account, path, org_id.value)
            if got is None:
                out.incomplete.add(ACCOUNT)
                continue
            arn, attrs = got.value
            out.resources.append(Resource(kind=ACCOUNT, id=arn, source="aws", attributes=attrs,
                                          tags=None, account=target.account, region="global"))
    out.errors = rd.errors
    return out


def member_accounts(rd: Reader, kinds: Iterable[str]) -> list[str] | None:
    """IDs of the organisation's active accounts (``None`` when the listing failed).

    A failure is recorded once per kind in ``kinds``: nothing of them can be collected.
    """
    wanted = sorted(kinds)
    listed = rd.paginate(LIST_ACCOUNTS, "Accounts", wanted, None)
    if not isinstance(listed, list):
        return None
    got = rd.parse(LIST_ACCOUNTS, wanted, None, lambda: sorted(
        str(a["Id"]) for a in listed if (a.get("State") or a.get("Status")) == "ACTIVE"))
    return got.value if got else None


def plan(target: Target, kinds: frozenset[str]) -> list[Task]:
    """Tasks for the requested Organizations kinds (management or delegated admin account)."""
    tasks = []
    if POLICY in kinds:
        tasks.append(Task(target.label("organizations:policies", "global"),
                          lambda: _policies(target), frozenset({POLICY})))
    if ACCOUNT in kinds:
        tasks.append(Task(target.label("organizations:accounts", "global"),
                          lambda: _accounts(target), frozenset({ACCOUNT})))
    return tasks
