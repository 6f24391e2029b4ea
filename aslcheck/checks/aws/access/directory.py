"""The principals, policies and organisation structure of a snapshot, indexed for evaluation.

Reads the IAM and Organizations kinds of the AWS attribute model. Data that was not collected
is never defaulted: it becomes a *gap* note on the principal (identity side undecidable) or on
the directory (e.g. an SCP whose document is missing, which can only remove access and is
therefore ignored with a note).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aslcheck.checks.aws.access.matching import arn_account, arn_partition
from aslcheck.checks.aws.access.model import Principal, PrincipalKind
from aslcheck.checks.aws.access.policy import Effect, Policy, parse_policy, root_arn
from aslcheck.inventories.snapshot import Resource, Snapshot

USER = "aws.iam.user"
GROUP = "aws.iam.group"
ROLE = "aws.iam.role"
POLICY = "aws.iam.policy"
IAM_ACCOUNT = "aws.iam.account"
ORG_POLICY = "aws.organizations.policy"
ORG_ACCOUNT = "aws.organizations.account"
IAM_KINDS = (USER, GROUP, ROLE, POLICY, IAM_ACCOUNT)
"""Kinds whose presence shows an account's IAM was read (completely or not)."""
ENTITY_KINDS = (USER, GROUP, ROLE, POLICY)
"""Kinds that must be listed completely for an account's principals to be known."""

_MISSING: Any = object()


@dataclass(frozen=True)
class AttachedPolicy:
    """A policy as attached to something, with the label reports show."""

    label: str
    """``inline policy 'x' of arn:...``, a managed policy ARN, ``... (via group G)``."""
    policy: Policy
    """The parsed document (shared between attachments of the same managed policy)."""


@dataclass(frozen=True)
class Identity:
    """The identity side of a user or role."""

    policies: tuple[AttachedPolicy, ...]
    """Inline, managed and group policies."""
    gaps: tuple[str, ...]
    """Policies that should apply but were not collected (identity side then undecidable)."""
    boundary: AttachedPolicy | None
    """Permissions boundary, when set and collected."""
    boundary_gap: str | None
    """Why the boundary is unknown, when it is (it is then assumed not to limit)."""


@dataclass(frozen=True)
class RoleTrust:
    """Who a role trusts."""

    policy: Policy | None
    """Parsed trust policy; ``None`` when it was not collected."""
    label: str
    """``trust policy of arn:...``."""


@dataclass(frozen=True)
class OrgAccount:
    """An account's place in the organisation."""

    account_id: str
    """12-digit ID."""
    path: tuple[str, ...]
    """Root and OU IDs from the root down, then the account ID itself."""
    org_id: str | None
    """Organisation ID."""
    management: str | None
    """Management account ID, read from the account ARN
    (``arn:aws:organizations::MANAGEMENT:account/o-.../ID``)."""


def _attr(res: Resource, name: str) -> Any:
    return res.attributes.get(name, _MISSING)


class Directory:
    """Everything the engine needs about who exists and what is attached to whom."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.principals: dict[str, Principal] = {}
        """Users, roles and root users of collected accounts, by ARN."""
        self.identities: dict[str, Identity] = {}
        """Identity side of each user and role."""
        self.trusts: dict[str, RoleTrust] = {}
        """Trust policy of each role."""
        self.roles_by_name: dict[tuple[str, str], str] = {}
        """(account, role name) -> role ARN (assumed-role ARNs carry only the name)."""
        self.by_account: dict[str, list[str]] = {}
        """Users and roles per account."""
        self.notes: list[str] = []
        """Directory-level data gaps that can only remove access (reported as caveats)."""
        self.groups_of: dict[str, tuple[str, ...]] = {}
        """Group ARNs of each user."""
        self.group_policies: dict[str, tuple[AttachedPolicy, ...]] = {}
        """Policies of each group (labelled as seen through membership)."""
        self.managed_of: dict[str, tuple[str, ...]] = {}
        """Managed policy ARNs attached to each user or role (directly or through its groups)."""
        self.boundary_of: dict[str, str] = {}
        """Permissions boundary ARN of each user or role that has one."""
        self.profile_roles: dict[str, tuple[str, ...]] = {}
        """Instance-profile ARN -> roles in it."""
        self._externals: dict[str, Principal] = {}
        self._parsed: dict[str, Policy] = {}
        managed = self._managed(snapshot)
        self._managed_docs = managed
        groups = {g.id: g for g in snapshot.of_kind(GROUP)}
        self.all_groups: dict[str, tuple[AttachedPolicy, ...]] = {}
        """Every collected group's policies (as a member would get them)."""
        for gid, gres in groups.items():
            gpols: list[AttachedPolicy] = []
            self._collect(gres, gid, managed, f" (via group {gid})", gpols, [])
            self.all_groups[gid] = tuple(gpols)
        accounts = self._accounts(snapshot)
        self.collected_accounts: frozenset[str] = frozenset(a for a, why in accounts.items() if why is None)
        """Accounts whose IAM principals are all in the snapshot (listed completely)."""
        self.incomplete_accounts: dict[str, str] = {a: why for a, why in accounts.items() if why is not None}
        """Accounts whose IAM was read or expected but not listed completely, with why: their
        principals cannot be told apart, so a policy naming them is undecidable (issue 10, class 3)."""
        partitions: dict[str, str] = {}
        for kind in IAM_KINDS:
            for res in snapshot.of_kind(kind):
                if res.account:
                    partitions.setdefault(res.account, arn_partition(res.id))
        for acct in sorted(self.collected_accounts):
            part = partitions.get(acct, "aws")
            arn = root_arn(acct, part)
            self.principals[arn] = Principal(arn, PrincipalKind.ROOT, acct)
        for res in snapshot.of_kind(USER):
            self._add_user(res, managed, groups)
        for res in snapshot.of_kind(ROLE):
            self._add_role(res, managed)
        self._org(snapshot)

    @staticmethod
    def _accounts(snapshot: Snapshot) -> dict[str, str | None]:
        """Every account whose IAM was read or expected -> ``None`` if listed completely, else why not.

        Expected: an account with IAM resources, or one an AWS collector run targeted. Complete:
        no listing error for its IAM entity kinds and, for AWS runs, users and roles among the
        kinds the run listed completely. NOTE: Terraform code declares only the principals it
        manages; the gate adds its own listing error when the roster admits an account root.
        """
        seen: dict[str, bool] = {}
        for kind in IAM_KINDS:
            for res in snapshot.of_kind(kind):
                if res.account and not res.id.startswith("arn:aws:iam::aws:"):
                    seen[res.account] = seen.get(res.account, False) or res.source == "aws"
        for run in snapshot.runs:
            if run.name == "aws":
                for target in run.targets:
                    acct = target.split("/", 1)[0]
                    if acct.isdigit():
                        seen[acct] = True
        listed = snapshot.kinds_collected()
        aws_listed = USER in listed and ROLE in listed
        broken: dict[str | None, str] = {}
        for e in snapshot.errors:
            if e.resource is None and (e.kind in ENTITY_KINDS or (e.kind is None and e.source == "aws")):
                broken.setdefault(e.account, f"was not listed completely ({e.operation}: {e.code})")
        out: dict[str, str | None] = {}
        for acct, from_aws in seen.items():
            why = broken.get(acct) or broken.get(None)
            if why is None and from_aws and not aws_listed:
                why = "was not listed (users and roles are not among the kinds collected)"
            out[acct] = why
        return out

    # -- IAM -------------------------------------------------------------------------------

    def _managed(self, snapshot: Snapshot) -> dict[str, Policy | None]:
        out: dict[str, Policy | None] = {}
        for res in snapshot.of_kind(POLICY):
            doc = _attr(res, "document")
            out[res.id] = None if doc is _MISSING or doc is None else self._parse(doc)
        return out

    def _parse(self, doc: Any) -> Policy:
        """``parse_policy(doc)``, shared between identical documents.

        NOTE: most trust policies of an organisation are the same few documents (``ec2``,
        ``lambda``, the account root); parsing each once saves a third of the directory build.
        Parsed policies are immutable, so sharing them is invisible. The key is ``repr``, which
        tells apart every JSON value type (``True``/``1``, ``"1"``/``1``, lists/tuples).
        """
        key = repr(doc)
        hit = self._parsed.get(key)
        if hit is None:
            hit = self._parsed[key] = parse_policy(doc)
        return hit

    def _collect(self, res: Resource, owner: str, managed: Mapping[str, Policy | None],
                 suffix: str, policies: list[AttachedPolicy], gaps: list[str],
                 arns: list[str] | None = None) -> None:
        inline = _attr(res, "inline_policies")
        if not isinstance(inline, Mapping):
            gaps.append(f"inline policies of {owner} not collected")
        else:
            for name, doc in sorted(inline.items()):
                policies.append(AttachedPolicy(f"inline policy {name!r} of {owner}{suffix}",
                                               self._parse(doc)))
        attached = _attr(res, "attached_policies")
        if not isinstance(attached, list):
            gaps.append(f"attached policies of {owner} not collected")
            return
        if arns is not None:
            arns.extend(str(a) for a in attached)
        for arn in attached:
            pol = managed.get(arn)
            if pol is None:
                gaps.append(f"managed policy {arn} (attached to {owner}) not collected")
            else:
                policies.append(AttachedPolicy(f"{arn}{suffix}", pol))

    def _boundary(self, res: Resource, managed: Mapping[str, Policy | None]
                  ) -> tuple[AttachedPolicy | None, str | None, bool]:
        raw = _attr(res, "permissions_boundary")
        if raw is _MISSING:
            return None, f"permissions boundary of {res.id} not collected", False
        if raw is None:
            return None, None, False
        pol = managed.get(str(raw))
        if pol is None:
            return None, f"permissions boundary {raw} of {res.id} not collected", True
        return AttachedPolicy(f"permissions boundary {raw}", pol), None, True

    def _add_user(self, res: Resource, managed: Mapping[str, Policy | None],
                  groups: Mapping[str, Resource]) -> None:
        policies: list[AttachedPolicy] = []
        gaps: list[str] = []
        arns: list[str] = []
        self._collect(res, res.id, managed, "", policies, gaps, arns)
        member_of = _attr(res, "groups")
        if not isinstance(member_of, list):
            gaps.append(f"group membership of {res.id} not collected")
        else:
            self.groups_of[res.id] = tuple(str(g) for g in member_of)
            for g in member_of:
                group = groups.get(g)
                if group is None:
                    gaps.append(f"group {g} of {res.id} not collected")
                else:
                    mark = len(policies)
                    self._collect(group, g, managed, f" (via group {g})", policies, gaps, arns)
                    self.group_policies.setdefault(str(g), tuple(policies[mark:]))
        self.managed_of[res.id] = tuple(dict.fromkeys(arns))
        boundary, bgap, has_b = self._boundary(res, managed)
        if has_b:
            self.boundary_of[res.id] = str(res.attributes["permissions_boundary"])
        name = _attr(res, "name")
        account = res.account or arn_account(res.id)
        self.principals[res.id] = Principal(
            res.id, PrincipalKind.USER, account, name if isinstance(name, str) else None,
            res.tags, has_boundary=has_b)
        self.identities[res.id] = Identity(tuple(policies), tuple(gaps), boundary, bgap)
        if account:
            self.by_account.setdefault(account, []).append(res.id)

    def _add_role(self, res: Resource, managed: Mapping[str, Policy | None]) -> None:
        policies: list[AttachedPolicy] = []
        gaps: list[str] = []
        arns: list[str] = []
        self._collect(res, res.id, managed, "", policies, gaps, arns)
        self.managed_of[res.id] = tuple(dict.fromkeys(arns))
        boundary, bgap, has_b = self._boundary(res, managed)
        if has_b:
            self.boundary_of[res.id] = str(res.attributes["permissions_boundary"])
        profiles = _attr(res, "instance_profiles")
        if isinstance(profiles, list):
            for prof in profiles:
                self.profile_roles[str(prof)] = (*self.profile_roles.get(str(prof), ()), res.id)
        doc = _attr(res, "trust_policy")
        trust = None if doc is _MISSING or doc is None else self._parse(doc)
        self.trusts[res.id] = RoleTrust(trust, f"trust policy of {res.id}")
        # NOTE: a trust policy allowing sts:TagSession lets callers set session tags, which
        # override principal tags; aws:PrincipalTag of such a role is then undecidable.
        taggable = trust is None or any(
            st.effect is Effect.ALLOW for st in trust.relevant("sts:tagsession"))
        name = _attr(res, "name")
        name = name if isinstance(name, str) else res.id.rsplit("/", 1)[-1]
        path = _attr(res, "path")
        linked = (isinstance(path, str) and path.startswith("/aws-service-role/")) or \
            ":role/aws-service-role/" in res.id
        account = res.account or arn_account(res.id)
        self.principals[res.id] = Principal(
            res.id, PrincipalKind.ROLE, account, name, None if taggable else res.tags,
            has_boundary=has_b, service_linked=linked)
        self.identities[res.id] = Identity(tuple(policies), tuple(gaps), boundary, bgap)
        if account:
            self.roles_by_name[(account, name)] = res.id
            self.by_account.setdefault(account, []).append(res.id)

    # -- principals not in the snapshot ------------------------------------------------------

    def principal(self, value: str) -> Principal | None:
        """The principal an AWS principal value names (``None`` for unique IDs and garbage)."""
        known = self.principals.get(value)
        if known is not None:
            return known
        if not value.startswith("arn:"):
            return None  # a unique ID (AIDA.../AROA...): a deleted principal, usable by no one
        acct = arn_account(value)
        parts = value.split(":", 5)
        if acct and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
            name = parts[5].split("/")[1] if "/" in parts[5] else ""
            role = self.roles_by_name.get((acct, name))
            if role is not None:
                return self.principals[role]
        if acct and value.endswith(f":iam::{acct}:root"):
            return self._external(value, PrincipalKind.EXTERNAL_ACCOUNT, acct)
        return self._external(value, PrincipalKind.EXTERNAL, acct)

    def _external(self, ident: str, kind: PrincipalKind, account: str | None) -> Principal:
        hit = self._externals.get(ident)
        if hit is None:
            hit = Principal(ident, kind, account)
            self._externals[ident] = hit
        return hit

    def group_members_policies(self, group: str) -> tuple[AttachedPolicy, ...] | None:
        """Policies a member of ``group`` gets from it (``None``: the group was not collected)."""
        return self.group_policies.get(group)

    def managed_policy(self, arn: str) -> Policy | None:
        """A collected managed policy document."""
        return self._managed_docs.get(arn)

    def federation_session(self, user: str) -> Principal:
        """The federated-user session a user gets from ``sts:GetFederationToken``.

        It has the user's permissions (its identity policies, including groups, and boundary:
        evaluate it with the user's identity) but the principal ARN
        ``arn:PART:sts::ACCT:federated-user/NAME``; the caller picks the name, the user's own
        name stands for it.
        """
        base = self.principals[user]
        ident = f"arn:{arn_partition(user)}:sts::{base.account}:federated-user/{base.name or 'session'}"
        hit = self._externals.get(ident)
        if hit is None:
            hit = Principal(ident, PrincipalKind.FEDERATED_USER, base.account, base.name, None,
                            has_boundary=base.has_boundary)
            self._externals[ident] = hit
        return hit

    def canonical(self, canonical_id: str) -> Principal:
        """An S3 canonical user."""
        return self._external(canonical_id, PrincipalKind.CANONICAL, None)

    def anonymous(self) -> Principal:
        """Anyone outside the collected accounts, including unauthenticated callers."""
        return self._external("*", PrincipalKind.ANONYMOUS, None)

    def service(self, name: str) -> Principal:
        """An AWS service principal."""
        return self._external(name, PrincipalKind.SERVICE, None)

    def federated(self, name: str) -> Principal:
        """A SAML/OIDC provider."""
        return self._external(name, PrincipalKind.FEDERATED, arn_account(name))

    # -- Organizations ------------------------------------------------------------------------

    def _org(self, snapshot: Snapshot) -> None:
        self.org_accounts: dict[str, OrgAccount] = {}
        """Accounts listed by Organizations."""
        self.scps: dict[str, list[AttachedPolicy]] = {}
        """SCPs by target ID (root, OU or account)."""
        self.rcps: dict[str, list[AttachedPolicy]] = {}
        """RCPs by target ID."""
        for res in snapshot.of_kind(ORG_ACCOUNT):
            acct = _attr(res, "account_id")
            path = _attr(res, "parent_path")
            if not isinstance(acct, str) or not isinstance(path, list):
                self.notes.append(f"organisation placement of {res.id} not collected")
                continue
            org = _attr(res, "organization_id")
            self.org_accounts[acct] = OrgAccount(
                acct, (*[str(p) for p in path], acct), org if isinstance(org, str) else None,
                arn_account(res.id))
        for res in snapshot.of_kind(ORG_POLICY):
            kind = _attr(res, "type")
            table = self.scps if kind == "SERVICE_CONTROL_POLICY" else \
                self.rcps if kind == "RESOURCE_CONTROL_POLICY" else None
            if table is None:
                continue
            doc = _attr(res, "document")
            targets = _attr(res, "targets")
            if doc is _MISSING or doc is None or not isinstance(targets, list):
                # NOTE: SCPs/RCPs only ever remove access; ignoring an unreadable one
                # over-approximates who can read, the safe direction.
                self.notes.append(f"{kind} {res.id} not fully collected: ignored")
                continue
            att = AttachedPolicy(f"{'SCP' if table is self.scps else 'RCP'} {res.id}",
                                 parse_policy(doc))
            for t in targets:
                table.setdefault(str(t), []).append(att)
        self.scp_complete: bool = ORG_POLICY in snapshot.kinds_collected() and not any(
            e.kind in (ORG_POLICY, None) and e.source == "aws" for e in snapshot.errors)
        """Whether SCPs and RCPs were listed completely (a standalone account lists none)."""
        listed = ORG_ACCOUNT in snapshot.kinds_collected() and not any(
            e.kind in (ORG_ACCOUNT, None) for e in snapshot.errors)
        self.org_listed: bool = listed and bool(self.org_accounts)
        """Whether the organisation's accounts were listed completely (non-members decidable)."""
        orgs: dict[str, set[str]] = {}
        for oa in self.org_accounts.values():
            if oa.org_id:
                orgs.setdefault(oa.org_id, set()).add(oa.account_id)
        self.fully_collected_orgs: frozenset[str] = frozenset(
            o for o, members in orgs.items() if listed and members <= self.collected_accounts)
        """Organisations whose every member account's IAM is in the snapshot."""

    def org_levels(self, account: str | None, table: Mapping[str, list[AttachedPolicy]]
                   ) -> tuple[tuple[str, ...] | None, str | None]:
        """The org path whose policies of ``table`` apply to ``account``, or why none do."""
        if not table or account is None:
            return None, None
        oa = self.org_accounts.get(account)
        if oa is None:
            return None, f"account {account} not in the organisation data: its org policies were not applied"
        if oa.management == account:
            # Per "Service control policies (SCPs)" (AWS Organizations User Guide): SCPs and RCPs
            # do not affect the management account.
            return None, None
        return oa.path, None

    def scps_unknown(self, account: str | None) -> str | None:
        """Why the SCPs that apply to ``account`` are unknown, or ``None`` when they are known.

        NOTE: the root user has no identity policies; only SCPs limit it in its own account.
        Where they were not collected, whatever the root user can do is undecided (a Terraform
        plan, or a scan without Organizations data), not certain.
        """
        if not self.scp_complete:
            return "service control policies were not collected"
        if self.scps and (account is None or account not in self.org_accounts) and not self.org_listed:
            return f"account {account} is not in the organisation data"
        return None

    def org_id(self, account: str) -> str | None:
        """Organisation of an account, when listed."""
        oa = self.org_accounts.get(account)
        return oa.org_id if oa else None

    def org_path(self, account: str) -> str | None:
        """``aws:PrincipalOrgPaths`` value of an account (``o-x/r-y/ou-z/``), when listed."""
        oa = self.org_accounts.get(account)
        if oa is None or oa.org_id is None:
            return None
        return "/".join((oa.org_id, *oa.path[:-1])) + "/"
