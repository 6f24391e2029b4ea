"""The request context of one (principal, request) pair: which condition keys are known offline.

Keys about the caller's identity, its organisation, the resource's account and tags are known
from the snapshot. Keys about the request itself (source VPC endpoint, IP, MFA, calling
service, encryption context, external ID, time, ...) are not, and answer UNKNOWN. The one
request key the caller chooses freely and the evaluator enumerates is ``aws:SecureTransport``.
"""

from __future__ import annotations

from collections.abc import Mapping

from aslcheck.checks.aws.access.conditions import ContextValue, Excluded, Missing
from aslcheck.checks.aws.access.directory import Directory
from aslcheck.checks.aws.access.model import Principal, PrincipalKind, Request

_IAM = (PrincipalKind.USER, PrincipalKind.ROLE, PrincipalKind.ROOT, PrincipalKind.FEDERATED_USER)
_TYPE = {PrincipalKind.USER: "User", PrincipalKind.ROLE: "AssumedRole", PrincipalKind.ROOT: "Account",
         PrincipalKind.FEDERATED_USER: "FederatedUser"}


def _tag(tags: Mapping[str, str] | None, name: str) -> ContextValue:
    if tags is None:
        return Missing.UNKNOWN
    low = name.lower()
    for k, v in tags.items():
        if k.lower() == low:
            return (v,)
    return Missing.ABSENT


class RequestContext:
    """Implements :class:`~aslcheck.checks.aws.access.conditions.Context` for one evaluation."""

    def __init__(self, directory: Directory, principal: Principal, request: Request,
                 secure_transport: bool) -> None:
        self.directory = directory
        self.principal = principal
        self.request = request
        self.secure_transport = secure_transport
        self.asked_transport = False
        """Set when a condition consulted ``aws:SecureTransport`` (the engine then also tries
        the other value, since the caller picks it)."""

    def lookup(self, key: str) -> ContextValue:
        """Value(s) of a lower-cased condition key."""
        p = self.principal
        extra = self.request.context
        if extra is not None and key in extra:
            return extra[key]
        if key == "aws:securetransport":
            self.asked_transport = True
            return ("true" if self.secure_transport else "false",)
        if key.startswith("aws:principaltag/"):
            # NOTE: federated-user sessions carry the tags their caller passes: unknown.
            if p.kind in (PrincipalKind.USER, PrincipalKind.ROLE):
                return _tag(p.tags, key.split("/", 1)[1])
            return Missing.ABSENT if p.kind in (PrincipalKind.ROOT, PrincipalKind.SERVICE) else Missing.UNKNOWN
        if key.startswith("aws:resourcetag/"):
            return _tag(self.request.resource_tags, key.split("/", 1)[1])
        handler = _KEYS.get(key)
        return handler(self) if handler else Missing.UNKNOWN

    # -- identity keys --------------------------------------------------------------------

    def principal_arn(self) -> ContextValue:
        """``aws:PrincipalArn`` (a role session carries the role ARN)."""
        p = self.principal
        if p.kind in (*_IAM, PrincipalKind.EXTERNAL):
            return (p.id,)
        if p.kind is PrincipalKind.ANONYMOUS:
            return Excluded(self.directory.collected_accounts, arn=True)
        if p.kind is PrincipalKind.SERVICE:
            return Missing.ABSENT
        return Missing.UNKNOWN

    def principal_account(self) -> ContextValue:
        """``aws:PrincipalAccount`` / ``kms:CallerAccount``."""
        p = self.principal
        if p.kind is PrincipalKind.ANONYMOUS:
            return Excluded(self.directory.collected_accounts, arn=False)
        if p.kind is PrincipalKind.SERVICE:
            return Missing.ABSENT
        if p.account and p.kind is not PrincipalKind.FEDERATED:
            return (p.account,)
        return Missing.UNKNOWN

    def principal_org(self) -> ContextValue:
        """``aws:PrincipalOrgID``."""
        p = self.principal
        d = self.directory
        if p.kind is PrincipalKind.SERVICE:
            return Missing.ABSENT
        if p.kind is PrincipalKind.ANONYMOUS:
            return Excluded(d.fully_collected_orgs, arn=False) if d.fully_collected_orgs else Missing.UNKNOWN
        if p.account is None or p.kind is PrincipalKind.FEDERATED:
            return Missing.UNKNOWN
        org = d.org_id(p.account)
        if org:
            return (org,)
        if d.org_listed and p.account not in d.org_accounts:
            # A complete member listing without this account: it is in another organisation or none.
            known = frozenset(a.org_id for a in d.org_accounts.values() if a.org_id)
            return Excluded(known, arn=False)
        return Missing.UNKNOWN

    def principal_org_paths(self) -> ContextValue:
        """``aws:PrincipalOrgPaths``."""
        p = self.principal
        if p.kind is PrincipalKind.SERVICE:
            return Missing.ABSENT
        path = self.directory.org_path(p.account) if p.account else None
        return (path,) if path else Missing.UNKNOWN

    def principal_type(self) -> ContextValue:
        """``aws:PrincipalType``."""
        name = _TYPE.get(self.principal.kind)
        return (name,) if name else Missing.UNKNOWN

    def username(self) -> ContextValue:
        """``aws:username`` (users only)."""
        p = self.principal
        if p.kind is PrincipalKind.USER:
            return (p.name,) if p.name else Missing.UNKNOWN
        absent = (PrincipalKind.ROLE, PrincipalKind.ROOT, PrincipalKind.FEDERATED_USER)
        return Missing.ABSENT if p.kind in absent else Missing.UNKNOWN

    def is_service(self) -> ContextValue:
        """``aws:PrincipalIsAWSService``."""
        p = self.principal
        if p.kind is PrincipalKind.SERVICE:
            return ("true",)
        return ("false",) if p.kind in _IAM else Missing.UNKNOWN

    def service_name(self) -> ContextValue:
        """``aws:PrincipalServiceName``."""
        p = self.principal
        if p.kind is PrincipalKind.SERVICE:
            return (p.id,)
        return Missing.ABSENT if p.kind in _IAM else Missing.UNKNOWN

    def source_of_service(self) -> ContextValue:
        """``aws:SourceAccount``/``aws:SourceArn``: only on service-to-service requests."""
        return Missing.ABSENT if self.principal.kind in _IAM else Missing.UNKNOWN

    # -- resource keys --------------------------------------------------------------------

    def resource_account(self) -> ContextValue:
        """``aws:ResourceAccount``."""
        acct = self.request.resource_account
        return (acct,) if acct else Missing.UNKNOWN

    def resource_org(self) -> ContextValue:
        """``aws:ResourceOrgID``."""
        acct = self.request.resource_account
        org = self.directory.org_id(acct) if acct else None
        return (org,) if org else Missing.UNKNOWN


_KEYS = {
    "aws:principalarn": RequestContext.principal_arn,
    "aws:principalaccount": RequestContext.principal_account,
    "kms:calleraccount": RequestContext.principal_account,
    "aws:principalorgid": RequestContext.principal_org,
    "aws:principalorgpaths": RequestContext.principal_org_paths,
    "aws:principaltype": RequestContext.principal_type,
    "aws:username": RequestContext.username,
    "aws:principalisawsservice": RequestContext.is_service,
    "aws:principalservicename": RequestContext.service_name,
    "aws:sourceaccount": RequestContext.source_of_service,
    "aws:sourcearn": RequestContext.source_of_service,
    "aws:resourceaccount": RequestContext.resource_account,
    "s3:resourceaccount": RequestContext.resource_account,
    "aws:resourceorgid": RequestContext.resource_org,
}
