"""Decide whether one principal can make one request, following AWS's documented logic.

Sources (IAM User Guide unless noted): "Policy evaluation logic", "How AWS enforcement code
logic evaluates requests to allow or deny access", "Policy evaluation for requests within a
single account", "Cross-account policy evaluation logic", "Permissions boundaries for IAM
entities", and the KMS Developer Guide pages "Key policies in AWS KMS" and "Grants in AWS KMS".

1. An explicit Deny in any applicable policy (identity, boundary, resource, SCP, RCP) wins.
   A Deny whose condition cannot be decided does not remove access: the access stays, flagged
   conditional with that condition.
2. SCPs (caller's account) and RCPs (resource's account): every level of the account's path
   must allow; the management account and service-linked roles are exempt.
3. Same account, S3: identity policy (within its boundary) OR the bucket policy suffices.
   Same account, KMS/STS: the key or trust policy must allow, either naming the caller
   directly or naming the account root, in which case the identity policy must also allow.
   Cross account: identity side (within its boundary) AND resource side must both allow.
4. Boundaries ("Permissions boundaries for IAM entities", section "Resource-based policies"):
   an implicit deny in a boundary limits grants a resource policy makes to a *role ARN*
   (and, per "Update a role trust policy", a trust policy naming a user) but not grants to a
   *user ARN*, a *role session ARN*, or a wildcard principal narrowed by ``aws:PrincipalArn``.
5. KMS grants allow the grantee like a policy would.
6. Requests with no resource policy at all (:attr:`Service.IAM`: IAM, STS federation, EC2
   launches, SSM, Lambda code) are allowed by the caller's own account's identity policies only.

Where AWS's answer depends on something offline data cannot tell, the verdict is MAYBE with
the reason: a Deny naming one assumed-role *session* denies only that session (the caller
chooses the session name); a NotPrincipal Deny listing a principal without its account ARN
"may deny the whole account or not depending on the service" (issue 13).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator

from aslcheck.checks.aws.access.conditions import Tri, evaluate_conditions, substitute
from aslcheck.checks.aws.access.context import RequestContext
from aslcheck.checks.aws.access.directory import AttachedPolicy, Directory, Identity
from aslcheck.checks.aws.access.matching import arn_partition
from aslcheck.checks.aws.access.model import (
    NO,
    Grant,
    Level,
    Principal,
    PrincipalKind,
    Request,
    Service,
    Verdict,
    all_of,
    any_of,
    better,
    maybe,
    yes,
)
from aslcheck.checks.aws.access.policy import (
    Effect,
    MatchKind,
    NotPrincipalMatch,
    Statement,
    match_principal,
    not_principal_match,
    sessions_named,
)

_IAM_CALLERS = (PrincipalKind.USER, PrincipalKind.ROLE, PrincipalKind.ROOT, PrincipalKind.FEDERATED_USER)
_VARIABLE = re.compile(r"\$\{[^}]*\}")


def _resource_tri(st: Statement, req: Request, ctx: RequestContext, certain: bool) -> tuple[Tri, str | None]:
    """Whether the statement's Resource/NotResource applies, resolving policy variables."""
    if not st.uses_variables():
        return (Tri.TRUE if st.resource_applies(req.resource, req.is_prefix, certain=certain)
                else Tri.FALSE), None
    unresolved = False

    def resolve(pats: tuple[str, ...] | None) -> tuple[str, ...] | None:
        nonlocal unresolved
        if pats is None:
            return None
        out = []
        for pat in pats:
            sub = substitute(pat, ctx) if "${" in pat else pat
            if sub is None:
                unresolved = True
                sub = _VARIABLE.sub("*", pat)
            out.append(sub)
        return tuple(out)

    tmp = dataclasses.replace(st, resources=resolve(st.resources), not_resources=resolve(st.not_resources))
    if not tmp.resource_applies(req.resource, req.is_prefix, certain=certain):
        return Tri.FALSE, None
    if unresolved:
        return Tri.UNKNOWN, "resource uses a policy variable that cannot be resolved offline"
    return Tri.TRUE, None


class Engine:
    """Evaluates requests for principals of one :class:`Directory`, memoising per pair."""

    def __init__(self, directory: Directory) -> None:
        self.d = directory
        self._memo: dict[tuple[str, str, tuple[str, str, bool, str]], Verdict] = {}
        self._grant_index: dict[tuple[str, str, bool, str], dict[str, list[Grant]]] = {}

    def decide(self, p: Principal, req: Request, *, identity: Identity | None = None,
               tag: str = "") -> Verdict:
        """Whether ``p`` can make ``req`` (YES / MAYBE with conditions / NO), with the reasons.

        ``identity`` replaces the principal's identity side (an escalation's rewritten
        policies); ``tag`` names that replacement in the memo.
        """
        key = (p.id, tag, req.key)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        ctx = RequestContext(self.d, p, req, secure_transport=True)
        v = self._evaluate(p, req, ctx, identity)
        if v.level is not Level.YES and ctx.asked_transport:
            # The caller picks TLS or not; access exists if either choice gets through.
            v = better(v, self._evaluate(p, req, RequestContext(self.d, p, req, secure_transport=False),
                                         identity))
        self._memo[key] = v
        return v

    # -- statements ---------------------------------------------------------------------------

    def _stmt(self, st: Statement, label: str, p: Principal, req: Request, ctx: RequestContext,
              *, resource_policy: bool) -> tuple[Verdict, MatchKind]:
        deny = st.effect is Effect.DENY
        where = f"{label} {st.ref}"
        if st.problems:
            return maybe([where], [f"{where} could not be read: {'; '.join(st.problems)}"]), MatchKind.WILDCARD
        kind = MatchKind.DIRECT
        unsure: list[str] = []
        if resource_policy:
            if st.principal is not None:
                kind = match_principal(st.principal, p, certain=deny)
                if deny and kind is MatchKind.SESSION:
                    # NOTE(issue 13): a Deny naming a session denies that session only; the
                    # role's other sessions (any name its caller picks) are not denied.
                    names = ", ".join(sessions_named(st.principal, p))
                    unsure.append(f"{where} names only session {names}: denied only if that session "
                                  "name is used")
            elif st.not_principal is not None:
                npm = not_principal_match(st.not_principal, p)
                kind = MatchKind.NONE if npm is NotPrincipalMatch.EXEMPT else MatchKind.WILDCARD
                if deny and npm is NotPrincipalMatch.AMBIGUOUS:
                    unsure.append(f"{where} lists {p.id} in NotPrincipal without its account ARN: whether "
                                  "the Deny covers it depends on the service")
            else:
                kind = MatchKind.WILDCARD
            if kind is MatchKind.NONE:
                return NO, kind
        res, note = _resource_tri(st, req, ctx, certain=deny)
        if res is Tri.FALSE:
            return NO, kind
        t, undecided = evaluate_conditions(st.conditions, ctx) if st.conditions else (Tri.TRUE, ())
        if t is Tri.FALSE:
            return NO, kind
        conds = [f"{u} [{where}]" for u in undecided] + ([f"{note} [{where}]"] if note else []) + unsure
        if conds:
            return maybe([where], conds), kind
        return yes(where), kind

    def _each(self, policies: Iterable[AttachedPolicy], effect: Effect, p: Principal, req: Request,
              ctx: RequestContext, *, resource_policy: bool = False) -> Iterator[tuple[Verdict, MatchKind]]:
        action = req.action.lower()
        for att in policies:
            for st in att.policy.relevant(action):
                if st.effect is effect:
                    v, kind = self._stmt(st, att.label, p, req, ctx, resource_policy=resource_policy)
                    if v.level is not Level.NO:
                        yield v, kind
            if att.policy.problems and effect is Effect.ALLOW:
                yield maybe([att.label], [f"{att.label} could not be read: {'; '.join(att.policy.problems)}"]), \
                    MatchKind.WILDCARD

    # -- sides ----------------------------------------------------------------------------

    def _resource_policies(self, req: Request) -> list[AttachedPolicy]:
        return [AttachedPolicy(req.policy_label, req.policy)] if req.policy is not None else []

    def _org_levels(self, p: Principal, req: Request, scp: bool) -> tuple[tuple[str, ...] | None, str | None]:
        if p.service_linked:
            return None, None
        if scp:
            if p.kind not in _IAM_CALLERS:
                return None, None
            return self.d.org_levels(p.account, self.d.scps)
        if p.kind is PrincipalKind.SERVICE:
            return None, None
        return self.d.org_levels(req.resource_account, self.d.rcps)

    def _org_allow(self, levels: tuple[str, ...], scp: bool, p: Principal, req: Request,
                   ctx: RequestContext) -> Verdict:
        table = self.d.scps if scp else self.d.rcps
        parts: list[Verdict] = []
        for level in levels:
            attached = table.get(level)
            if not attached:
                continue  # nothing attached at this level (impossible while the type is enabled)
            v = any_of(v for v, _ in self._each(attached, Effect.ALLOW, p, req, ctx, resource_policy=not scp))
            if v.level is Level.NO:
                return NO
            parts.append(Verdict(v.level, (), v.conditions))
        return all_of(parts)

    def _identity(self, p: Principal, req: Request, ctx: RequestContext,
                  ident: Identity | None) -> tuple[Verdict, Verdict]:
        """(identity allow, boundary allow) for the caller."""
        if ident is None:
            if p.kind is PrincipalKind.ROOT:
                return yes(f"root user of account {p.account}"), yes()
            if p.kind in (PrincipalKind.EXTERNAL, PrincipalKind.EXTERNAL_ACCOUNT) and \
                    p.account in self.d.incomplete_accounts:
                why = self.d.incomplete_accounts[p.account]
                return maybe([f"{p.id} (not in the snapshot)"],
                             [f"{p.id} is not in the snapshot: IAM of account {p.account} {why}"]), yes()
            if p.kind is PrincipalKind.EXTERNAL and p.account in self.d.collected_accounts:
                return maybe([f"{p.id} (not in the snapshot)"],
                             [f"{p.id} is named by a policy but was not collected"]), yes()
            if p.kind is PrincipalKind.ANONYMOUS:
                return yes("anyone outside the collected accounts"), yes()
            if p.kind is PrincipalKind.CANONICAL:
                return maybe([f"canonical user {p.id}"],
                             [f"canonical user {p.id} cannot be tied to an account or IAM principal offline"]), yes()
            if p.kind in (PrincipalKind.SERVICE, PrincipalKind.FEDERATED):
                return yes(), yes()
            return yes(f"identity policies of account {p.account} were not collected; that account decides"), yes()
        allow = any_of(v for v, _ in self._each(ident.policies, Effect.ALLOW, p, req, ctx))
        if allow.level is Level.NO and ident.gaps:
            allow = maybe(["identity policies not collected"], ident.gaps)
        if ident.boundary is None:
            boundary = yes(f"({ident.boundary_gap}: assumed not to limit)") if ident.boundary_gap else yes()
        else:
            boundary = any_of(v for v, _ in self._each([ident.boundary], Effect.ALLOW, p, req, ctx))
        return allow, boundary

    def _denies(self, p: Principal, req: Request, ctx: RequestContext,
                org: list[tuple[tuple[str, ...], bool]], ident: Identity | None) -> Iterator[Verdict]:
        if ident is not None:
            yield from (v for v, _ in self._each(ident.policies, Effect.DENY, p, req, ctx))
            if ident.boundary is not None:
                yield from (v for v, _ in self._each([ident.boundary], Effect.DENY, p, req, ctx))
        yield from (v for v, _ in self._each(self._resource_policies(req), Effect.DENY, p, req, ctx,
                                             resource_policy=True))
        for levels, scp in org:
            table = self.d.scps if scp else self.d.rcps
            for level in levels:
                yield from (v for v, _ in self._each(table.get(level, ()), Effect.DENY, p, req, ctx,
                                                     resource_policy=not scp))

    def _grants(self, p: Principal, req: Request) -> Verdict:
        if not req.grants:
            return NO
        index = self._grant_index.get(req.key)
        if index is None:
            op = req.action.split(":", 1)[-1].lower()
            index = {}
            for g in req.grants:
                if op in (o.lower() for o in g.operations):
                    index.setdefault(g.grantee, []).append(g)
            self._grant_index[req.key] = index
        names = [p.id]
        if p.kind in (PrincipalKind.USER, PrincipalKind.ROLE) and p.account:
            # NOTE: a grant to an account root covers identities of that account.
            names.append(f"arn:{arn_partition(p.id)}:iam::{p.account}:root")
        found = [g for n in names for g in index.get(n, ())]
        if p.kind is PrincipalKind.ROLE and p.account and p.name:
            session = f":sts::{p.account}:assumed-role/{p.name}/"
            found += [g for grantee, gs in index.items() if session in grantee for g in gs]
        verdicts = []
        for g in found:
            step = f"KMS grant {g.grant_id} to {g.grantee}"
            verdicts.append(maybe([step], [f"{step} has encryption-context constraints"]) if g.constrained
                            else yes(step))
        return any_of(verdicts)

    # -- the decision ---------------------------------------------------------------------

    def _evaluate(self, p: Principal, req: Request, ctx: RequestContext,
                  override: Identity | None = None) -> Verdict:
        # NOTE: allows are computed first: most principals have none, and without an allow the
        # answer is NO whatever the denies say, so denies and org policies are skipped for them.
        ident = override if override is not None else self.d.identities.get(p.id)
        identity, boundary = self._identity(p, req, ctx, ident)
        id_eff = all_of([identity, boundary])
        free: list[Verdict] = []
        bounded: list[Verdict] = []
        account: list[Verdict] = []
        for v, kind in self._each(self._resource_policies(req), Effect.ALLOW, p, req, ctx, resource_policy=True):
            # NOTE: "Permissions boundaries for IAM entities", section "Resource-based policies":
            # a grant to a user ARN or a role *session* ARN is not limited by an implicit deny in
            # the boundary, a grant to a role ARN is; "Update a role trust policy" adds that a
            # user named in a trust policy still needs its boundary to allow sts:AssumeRole.
            if kind is MatchKind.ACCOUNT:
                account.append(v)
            elif kind is MatchKind.DIRECT and (p.kind is PrincipalKind.ROLE or (
                    p.kind is PrincipalKind.USER and req.service is Service.STS)):
                bounded.append(v)
            else:
                free.append(v)
        direct = any_of([any_of(free), all_of([any_of(bounded), boundary])])
        delegated = any_of(account)
        same = p.account is not None and p.account == req.resource_account
        if req.service is Service.IAM:
            allow = id_eff if same else NO
        elif req.service is Service.S3:
            allow = any_of([id_eff, direct]) if same else all_of([any_of([direct, delegated]), id_eff])
        elif same:
            allow = any_of([direct, all_of([delegated, id_eff]), self._grants(p, req)])
        else:
            allow = any_of([all_of([any_of([direct, delegated]), id_eff]), self._grants(p, req)])
        if allow.level is Level.NO:
            return NO
        org: list[tuple[tuple[str, ...], bool]] = []
        notes: list[str] = []
        for scp in (True, False):
            levels, note = self._org_levels(p, req, scp)
            if levels is not None:
                org.append((levels, scp))
            if note:
                notes.append(f"{'SCPs' if scp else 'RCPs'} not applied: {note}")
        parts = [allow]
        for v in self._denies(p, req, ctx, org, ident):
            if v.level is Level.YES:
                return NO
            parts.append(Verdict(Level.MAYBE, (), tuple(f"denied if {c}" for c in v.conditions)))
        for levels, scp in org:
            parts.append(self._org_allow(levels, scp, p, req, ctx))
        result = all_of(parts)
        if result.level is not Level.NO and notes:
            result = dataclasses.replace(result, steps=result.steps + tuple(notes))
        if result.level is not Level.NO and p.kind is PrincipalKind.ROOT and not p.service_linked:
            unknown = self.d.scps_unknown(p.account)
            if unknown is not None:
                result = maybe(result.steps, (*result.conditions,
                                              f"no SCP fences the root user of {p.account} ({unknown})"))
        return result
