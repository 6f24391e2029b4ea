"""IAM users, groups, roles and managed policies from one GetAccountAuthorizationDetails sweep.

Bulk reads: one ``GetAccountAuthorizationDetails`` pass (filtered to the requested entity
types), one ``ListRoles`` pass for session durations, one ``ListPolicies(Scope=AWS,
OnlyAttached)`` pass for the AWS-managed policies in use. Per-entity reads happen only where
no bulk API exists: a user's MFA devices, access keys (and their last use) and login profile,
and the default version of each attached AWS-managed policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from aslcheck.inventories.aws import iam_account
from aslcheck.inventories.aws.context import (
    LISTED,
    Feeds,
    NotConfigured,
    Outcome,
    Reader,
    Target,
    Task,
)
from aslcheck.inventories.aws.normalise import optional_time, policy_document, rfc3339, tag_list
from aslcheck.inventories.snapshot import Resource

USER = "aws.iam.user"
GROUP = "aws.iam.group"
ROLE = "aws.iam.role"
POLICY = "aws.iam.policy"
ACCOUNT = iam_account.ACCOUNT
SCOPE = "global"

_GAAD = "iam:GetAccountAuthorizationDetails"
OPERATIONS: Mapping[str, frozenset[str]] = {
    USER: frozenset({_GAAD, "iam:ListMFADevices", "iam:ListAccessKeys",
                     "iam:GetAccessKeyLastUsed", "iam:GetLoginProfile"}),
    GROUP: frozenset({_GAAD}),
    ROLE: frozenset({_GAAD, "iam:ListRoles"}),
    POLICY: frozenset({_GAAD, "iam:ListPolicies", "iam:GetPolicyVersion"}),
    ACCOUNT: iam_account.OPERATIONS,
}
KINDS = frozenset(OPERATIONS)
FEEDS: Feeds = {
    _GAAD: {kind: frozenset({LISTED}) for kind in (USER, GROUP, ROLE, POLICY)},
    "iam:ListRoles": {ROLE: frozenset({"max_session_duration"})},
    "iam:ListPolicies": {POLICY: frozenset({LISTED})},   # the AWS-managed policies in use
    "iam:GetPolicyVersion": {POLICY: frozenset({"document"})},
    "iam:ListMFADevices": {USER: frozenset({"mfa_devices"})},
    "iam:ListAccessKeys": {USER: frozenset({"access_keys"})},
    "iam:GetAccessKeyLastUsed": {USER: frozenset({"access_keys"})},
    "iam:GetLoginProfile": {USER: frozenset({"password_enabled"})},
    **iam_account.FEEDS,
}
_ENTITY_KINDS = frozenset({USER, GROUP, ROLE, POLICY})

_FILTERS: Mapping[str, tuple[str, ...]] = {
    # Users need the group list to turn group names into ARNs.
    USER: ("User", "Group"),
    GROUP: ("Group",),
    ROLE: ("Role",),
    POLICY: ("LocalManagedPolicy",),
}


def _inline(items: list[Any] | None) -> dict[str, Any]:
    return {str(p["PolicyName"]): policy_document(p["PolicyDocument"]) for p in items or ()}


def _attached(items: list[Any] | None) -> list[str]:
    return sorted(str(p["PolicyArn"]) for p in items or ())


def _boundary(detail: Mapping[str, Any]) -> str | None:
    boundary = detail.get("PermissionsBoundary")
    return str(boundary["PermissionsBoundaryArn"]) if boundary else None


def _group(detail: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": str(detail["GroupName"]),
        "path": str(detail["Path"]),
        "inline_policies": _inline(detail.get("GroupPolicyList")),
        "attached_policies": _attached(detail.get("AttachedManagedPolicies")),
    }


def _user_base(detail: Mapping[str, Any], group_arns: Mapping[str, str]) -> dict[str, Any]:
    return {
        "name": str(detail["UserName"]),
        "path": str(detail["Path"]),
        "groups": sorted(group_arns[str(g)] for g in detail.get("GroupList") or ()),
        "inline_policies": _inline(detail.get("UserPolicyList")),
        "attached_policies": _attached(detail.get("AttachedManagedPolicies")),
        "permissions_boundary": _boundary(detail),
        "created": rfc3339(detail["CreateDate"]),
    }


def _user_entry(detail: Mapping[str, Any], group_arns: Mapping[str, str]
                ) -> tuple[str, dict[str, Any], dict[str, str]]:
    return str(detail["Arn"]), _user_base(detail, group_arns), tag_list(detail.get("Tags"))


def _role(detail: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": str(detail["RoleName"]),
        "path": str(detail["Path"]),
        "trust_policy": policy_document(detail["AssumeRolePolicyDocument"]),
        "inline_policies": _inline(detail.get("RolePolicyList")),
        "attached_policies": _attached(detail.get("AttachedManagedPolicies")),
        "permissions_boundary": _boundary(detail),
        "instance_profiles": sorted(str(p["Arn"]) for p in detail.get("InstanceProfileList") or ()),
        "created": rfc3339(detail["CreateDate"]),
    }


def _local_policy(detail: Mapping[str, Any]) -> dict[str, Any]:
    default = str(detail["DefaultVersionId"])
    versions = [v for v in detail["PolicyVersionList"] if v.get("VersionId") == default]
    return {
        # moto leaves PolicyName out; the ARN ends with it (arn:...:policy{path}{name}).
        "name": str(detail.get("PolicyName") or str(detail["Arn"]).rpartition("/")[2]),
        "path": str(detail["Path"]),
        "aws_managed": False,
        "default_version": default,
        "document": policy_document(versions[0]["Document"]),
        "attachment_count": int(detail.get("AttachmentCount", 0)),
    }


def _user_details(target: Target, arn: str, name: str, attrs: dict[str, Any],
                  tags: dict[str, str] | None) -> Outcome:
    rd = target.reader(OPERATIONS[USER], error_region="global")
    devices = rd.paginate("iam:ListMFADevices", "MFADevices", USER, arn, UserName=name)
    if isinstance(devices, list):
        got = rd.parse("iam:ListMFADevices", USER, arn, lambda: [
            # Virtual (app) MFA serials are ARNs with ":mfa/"; hardware tokens have bare serials,
            # FIDO keys ":u2f/" ARNs.
            {"serial": str(d["SerialNumber"]), "virtual": ":mfa/" in str(d["SerialNumber"])}
            for d in devices])
        if got is not None:
            attrs["mfa_devices"] = got.value
    keys = rd.paginate("iam:ListAccessKeys", "AccessKeyMetadata", USER, arn, UserName=name)
    if isinstance(keys, list):
        collected = [_access_key(rd, arn, key) for key in keys]
        # One unreadable key makes the whole list unknown: a partial list could hide an old key.
        if all(info is not None for info in collected):
            attrs["access_keys"] = sorted((i for i in collected if i is not None),
                                          key=lambda k: str(k["id"]))
    login = rd.call("iam:GetLoginProfile", USER, arn, expected=("NoSuchEntity",), UserName=name)
    if login is not None:
        attrs["password_enabled"] = not isinstance(login, NotConfigured)
    resource = Resource(kind=USER, id=arn, source="aws", attributes=attrs, tags=tags,
                        account=target.account, region="global")
    return Outcome(resources=[resource], errors=rd.errors)


def _access_key(rd: Reader, arn: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
    op = "iam:GetAccessKeyLastUsed"
    base = rd.parse("iam:ListAccessKeys", USER, arn, lambda: {
        "id": str(key["AccessKeyId"]), "status": str(key["Status"]),
        "created": rfc3339(key["CreateDate"])})
    if base is None:
        return None
    used = rd.call(op, USER, arn, AccessKeyId=base.value["id"])
    if not isinstance(used, dict):
        return None
    last = rd.parse(op, USER, arn,
                    lambda: optional_time(used["AccessKeyLastUsed"].get("LastUsedDate")))
    if last is None:
        return None
    return {**base.value, "last_used": last.value}


def _sweep(target: Target, kinds: frozenset[str]) -> Outcome:
    wanted = kinds & _ENTITY_KINDS
    rd = target.reader(frozenset().union(*(OPERATIONS[k] for k in wanted)),
                       error_region="global")
    filters = sorted({f for k in wanted for f in _FILTERS[k]})
    pages = rd.pages(_GAAD, sorted(wanted), Filter=filters)
    if pages is None:
        return Outcome(errors=rd.errors, incomplete=set(wanted))
    out = Outcome()

    def items(key: str) -> list[Any]:
        return [item for page in pages for item in page.get(key) or ()]

    groups = items("GroupDetailList")
    group_arns = {str(g.get("GroupName")): str(g.get("Arn")) for g in groups}
    if GROUP in wanted:
        for detail in groups:
            _emit(rd, out, GROUP, detail, lambda d: (_group(d), {}))
    if USER in wanted:
        for detail in items("UserDetailList"):
            got = rd.parse(_GAAD, USER, str(detail.get("Arn")), _user_entry, detail, group_arns)
            if got is None:
                out.incomplete.add(USER)
                continue
            arn, attrs, tags = got.value
            out.followups.append(Task(
                target.label(f"iam:user/{attrs['name']}", "global"),
                partial(_user_details, target, arn, str(attrs["name"]), attrs, tags),
                frozenset({USER})))
    if ROLE in wanted:
        roles = items("RoleDetailList")
        mark = len(rd.errors)
        durations = _role_durations(rd)
        if durations is None:
            # max_session_duration stays absent on every role: name each one in the error.
            rd.spread(mark, (str(d.get("Arn")) for d in roles))
            durations = {}
        for detail in roles:
            _emit(rd, out, ROLE, detail, lambda d: (
                {**_role(d), **durations.get(str(d["Arn"]), {})}, tag_list(d.get("Tags"))))
    if POLICY in wanted:
        for detail in items("Policies"):
            _emit(rd, out, POLICY, detail, lambda d: (_local_policy(d), None),
                  arn_key="Arn")
        out.followups.extend(_aws_managed(rd, target, out))
    out.errors = rd.errors
    return out


def _emit(rd: Reader, out: Outcome, kind: str, detail: Mapping[str, Any],
          build: Any, arn_key: str = "Arn") -> None:
    """Append the resource built from one GAAD entry; a malformed entry is an error."""
    arn = str(detail.get(arn_key))
    got = rd.parse(_GAAD, kind, arn, lambda: build(detail))
    if got is None:
        out.incomplete.add(kind)
        return
    attrs, tags = got.value
    out.resources.append(Resource(kind=kind, id=arn, source="aws", attributes=attrs,
                                  tags=tags, account=rd.account, region="global"))


def _role_durations(rd: Reader) -> dict[str, dict[str, int]] | None:
    """``max_session_duration`` by role ARN (``ListRoles``; GAAD does not return it)."""
    op = "iam:ListRoles"
    roles = rd.paginate(op, "Roles", ROLE)
    if not isinstance(roles, list):
        return None
    got = rd.parse(op, ROLE, None, lambda: {
        str(r["Arn"]): {"max_session_duration": int(r["MaxSessionDuration"])} for r in roles})
    return got.value if got is not None else None


def _aws_managed(rd: Reader, target: Target, out: Outcome) -> list[Task]:
    op = "iam:ListPolicies"
    listed = rd.paginate(op, "Policies", POLICY, Scope="AWS", OnlyAttached=True)
    if not isinstance(listed, list):
        out.incomplete.add(POLICY)
        return []
    got = rd.parse(op, POLICY, None, lambda: [
        (str(p["Arn"]), str(p["PolicyName"]), str(p["Path"]), str(p["DefaultVersionId"]))
        for p in listed])
    if got is None:
        out.incomplete.add(POLICY)
        return []
    return [Task(target.label(f"iam:{entry[0]}", "global"),
                 partial(_aws_policy, target, *entry), frozenset({POLICY}))
            for entry in got.value]


def _aws_policy(target: Target, arn: str, name: str, path: str, version: str) -> Outcome:
    rd = target.reader(OPERATIONS[POLICY], error_region="global")
    attrs: dict[str, Any] = {"name": name, "path": path, "aws_managed": True,
                             "default_version": version}
    op = "iam:GetPolicyVersion"
    answer = rd.call(op, POLICY, arn, PolicyArn=arn, VersionId=version)
    if isinstance(answer, dict):
        got = rd.parse(op, POLICY, arn,
                       lambda: policy_document(answer["PolicyVersion"]["Document"]))
        if got is not None:
            attrs["document"] = got.value
    # An AWS-managed policy has one ARN and content for every account: it belongs to none
    # (account None), so an organisation-wide scan keeps a single copy. It has no tags.
    resource = Resource(kind=POLICY, id=arn, source="aws", attributes=attrs, tags={},
                        account=None, region="global")
    return Outcome(resources=[resource], errors=rd.errors)


def plan(target: Target, kinds: frozenset[str]) -> list[Task]:
    """Tasks for the requested IAM kinds of one account."""
    tasks = []
    wanted = kinds & _ENTITY_KINDS
    if wanted:
        tasks.append(Task(target.label("iam:GetAccountAuthorizationDetails", "global"),
                          lambda: _sweep(target, wanted), wanted))
    if ACCOUNT in kinds:
        tasks.append(Task(target.label("iam:account", "global"),
                          lambda: iam_account.collect(target), frozenset({ACCOUNT})))
    return tasks
