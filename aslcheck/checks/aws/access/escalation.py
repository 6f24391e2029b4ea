"""Escalations that end at the target: principals that can give themselves a read (issue 10, class 2).

1. Rewrite the resource policy: ``s3:PutBucketPolicy`` / ``s3:DeleteBucketPolicy`` (the bucket
   owner's root user always can, whatever the bucket policy says: only SCPs stop it), ACL
   grants while ACLs are or can be enabled, ``kms:PutKeyPolicy``, ``kms:ReplicateKey`` of a
   multi-Region key. The read is then evaluated against the policy the holder would write
   (allowing itself), with SCPs, RCPs, its own Denies and boundary still in force.
2. Rewrite its own permissions: ``iam:Put*Policy`` / ``iam:Attach*Policy`` on itself or its
   groups, ``iam:CreatePolicyVersion`` of a policy attached to it, ``iam:AddUserToGroup``. Its
   identity side becomes "allow everything"; its Denies and boundary stay unless it can also
   lift the boundary, and a read blocked only by its own Denies is conditional (they might be
   removable).
3. Rewrite someone else it can become: the same actions on a user or role it reaches.
4. Create a principal: ``iam:CreateUser`` with credentials and a policy (or ``iam:CreateRole``).
5. ``sts:GetFederationToken``: the federated-user session keeps the user's permissions under
   another ARN, which resource-policy Denies naming the user do not match.

Each yields an :class:`~.routes.Entry` whose steps name the route.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator

from aslcheck.checks.aws.access.actions import (
    IAM_BOUNDARY_REMOVALS,
    IAM_CREATE_ROLE,
    IAM_CREATE_USER,
    IAM_GROUP_REWRITES,
    IAM_JOIN_GROUP,
    IAM_POLICY_REWRITE,
    IAM_POLICY_ROLLBACK,
    IAM_ROLE_REWRITES,
    IAM_USER_CREDENTIALS,
    IAM_USER_REWRITES,
    KMS_POLICY_REWRITES,
    KMS_REPLICATE,
    S3_ACL_WRITES,
    S3_OWNERSHIP_WRITE,
    S3_POLICY_REWRITES,
    STS_FEDERATION,
)
from aslcheck.checks.aws.access.directory import Identity
from aslcheck.checks.aws.access.model import (
    NO,
    AccessPath,
    Level,
    Principal,
    PrincipalKind,
    ReadTarget,
    Service,
    Verdict,
    all_of,
    any_of,
    maybe,
)
from aslcheck.checks.aws.access.policy import Policy
from aslcheck.checks.aws.access.routes import ALLOW_ALL, Entry, Toolkit, deny_only, label
from aslcheck.checks.aws.access.targets import granting_policy, with_statement

REWRITES = (*IAM_USER_REWRITES, *IAM_ROLE_REWRITES, *IAM_GROUP_REWRITES, IAM_JOIN_GROUP,
            IAM_POLICY_REWRITE, IAM_POLICY_ROLLBACK)
"""Actions that change some identity's permissions."""

Reach = Callable[[Principal, tuple[str, ...]], AccessPath | None]
"""``reach(x, targets)``: x's path to one of the target principals (through the graph), if any."""


def _steps(*parts: tuple[Verdict, str]) -> Verdict:
    """Conjunction of (verdict, what it allows) with one readable step per part."""
    out = all_of(v for v, _ in parts)
    if out.level is Level.NO:
        return NO
    return dataclasses.replace(out, steps=tuple(label(v, what) for v, what in parts))


class Escalations:
    """Direct escalation entries of a target (see the module docstring)."""

    def __init__(self, tk: Toolkit) -> None:
        self.tk = tk
        self._rewriters: tuple[Principal, ...] | None = None

    def entries(self, target: ReadTarget, reach: Reach) -> Iterator[Entry]:
        """Every escalation entry of ``target``."""
        yield from self._resource_rewrites(target)
        yield from self._identity_rewrites(target, reach)
        yield from self._new_principals(target)
        yield from self._federation(target)

    # -- reading -----------------------------------------------------------------------------

    def _read(self, p: Principal, target: ReadTarget, *, identity: Identity | None = None, tag: str = "",
              policy: Policy | None = None, variant: str = "") -> tuple[Verdict, str]:
        """Best read verdict of ``p`` (optionally with a rewritten identity or resource policy).

        ``variant`` (non-empty) replaces the resource policy by ``policy`` (``None``: deleted).
        """
        best: tuple[Verdict, str] = (NO, target.reads[0].action)
        for base in target.reads:
            req = dataclasses.replace(base, policy=policy, variant=variant) if variant else base
            v = self.tk.can(p, req, identity=identity, tag=tag)
            if v.level.value > best[0].level.value:
                best = (v, req.action)
                if v.level is Level.YES:
                    break
        return best

    # -- 1. resource policy ----------------------------------------------------------------

    def _resource_rewrites(self, target: ReadTarget) -> Iterator[Entry]:
        tk = self.tk
        ctl = target.control
        acct = target.resource_account
        if ctl.service is Service.S3:
            actions = S3_POLICY_REWRITES
            res = [ctl.resource, ctl.resource + "/*"]
            grant_actions = "s3:*"
        else:
            actions = KMS_POLICY_REWRITES + ((KMS_REPLICATE,) if target.multi_region is not False else ())
            res = ["*"]
            grant_actions = "kms:*"
        cands: dict[str, Principal] = {}
        for a in (*actions, *(S3_ACL_WRITES if ctl.service is Service.S3 else ())):
            probe = dataclasses.replace(ctl, action=a)
            pids = tk.index.candidates(probe)
            pool = tk.d.principals.values() if pids is None else (tk.d.principals[p] for p in pids)
            for p in pool:
                # Only the resource owner's account can change its policy or ACLs.
                if p.account == acct and p.kind in (PrincipalKind.USER, PrincipalKind.ROLE, PrincipalKind.ROOT):
                    cands.setdefault(p.id, p)
        for p in cands.values():
            for a in actions:
                perm = tk.can(p, dataclasses.replace(ctl, action=a))
                if p.kind is PrincipalKind.ROOT and ctl.service is Service.S3:
                    # "the root principal in a bucket owner's account can perform GetBucketPolicy,
                    # PutBucketPolicy and DeleteBucketPolicy ... even if their bucket policy
                    # explicitly denies" it (S3 API Reference, PutBucketPolicy): only SCPs apply.
                    perm = any_of([perm, tk.can(p, dataclasses.replace(
                        ctl, action=a, policy=None, variant="root-override"))])
                if perm.level is Level.NO:
                    continue
                if a == "s3:DeleteBucketPolicy":
                    read, how = self._read(p, target, policy=None, variant="policy-deleted")
                    then = "the bucket without a policy"
                else:
                    new = granting_policy(p, grant_actions, res)
                    read, how = self._read(p, target, policy=new, variant=f"rewritten-by:{p.id}")
                    then = "the policy it writes"
                v = _steps((perm, f"{a} on {target.resource_id}"), (read, f"then {how} under {then}"))
                if a == KMS_REPLICATE and target.multi_region is None and v.level is not Level.NO:
                    v = maybe(v.steps, (*v.conditions, f"{target.resource_id} is multi-Region (not collected)"))
                if v.level is not Level.NO:
                    yield Entry(p, v, how)
            if ctl.service is Service.S3:
                yield from self._acl(p, target)

    def _acl(self, p: Principal, target: ReadTarget) -> Iterator[Entry]:
        tk = self.tk
        ctl = target.control
        if target.acl_enabled:
            enable = Verdict(Level.YES, ("ACLs are enabled",))
        else:
            enable = tk.can(p, dataclasses.replace(ctl, action=S3_OWNERSHIP_WRITE))
        if enable.level is Level.NO:
            return
        obj = tk.can(p, dataclasses.replace(target.reads[0], action="s3:PutObjectAcl"))
        bkt = tk.can(p, dataclasses.replace(ctl, action="s3:PutBucketAcl"))
        if bkt.level is not Level.NO:
            bkt = maybe(bkt.steps, (*bkt.conditions, "bucket ACL grants give listing, not object reads, "
                                    "unless objects inherit them"))
        grant = any_of([obj, bkt])
        if grant.level is Level.NO:
            return
        extra = granting_policy(p, "s3:GetObject*", [ctl.resource + "/*"])
        read, how = self._read(p, target, policy=with_statement(ctl.policy, extra), variant=f"acl-by:{p.id}")
        v = _steps((enable, f"{S3_OWNERSHIP_WRITE} (enable ACLs)"), (grant, "an ACL grant to itself"),
                   (read, f"then {how} (bucket-policy Denies still apply)"))
        if v.level is not Level.NO:
            yield Entry(p, v, how)

    # -- 2./3. identity policies ---------------------------------------------------------

    def _rewriters_all(self) -> tuple[Principal, ...]:
        if self._rewriters is None:
            out: dict[str, Principal] = {}
            for a in REWRITES:
                for p in self.tk.holders(a, "", None, prefix=True):
                    if self.tk.is_iam(p):
                        out.setdefault(p.id, p)
            self._rewriters = tuple(out.values())
        return self._rewriters

    def rewrite(self, w: Principal, x: Principal) -> Verdict:
        """Whether ``w`` can change ``x``'s permissions (same account only)."""
        tk = self.tk
        d = tk.d
        if w.account != x.account:
            return NO
        acct = x.account
        direct = IAM_USER_REWRITES if x.kind is PrincipalKind.USER else IAM_ROLE_REWRITES
        reqs = [tk.iam(a, x.id, acct) for a in direct]
        for g in d.groups_of.get(x.id, ()):
            reqs += [tk.iam(a, g, acct) for a in IAM_GROUP_REWRITES]
        managed = [m for m in d.managed_of.get(x.id, ()) if not m.startswith("arn:aws:iam::aws:")]
        reqs += [tk.iam(IAM_POLICY_REWRITE, m, acct) for m in managed]
        best = tk.can_any(w, reqs)
        if best.level is not Level.YES:
            back = tk.can_any(w, [tk.iam(IAM_POLICY_ROLLBACK, m, acct) for m in managed])
            if back.level is not Level.NO:
                best = any_of([best, maybe(back.steps, (*back.conditions,
                                                        "an older version of an attached policy grants the read"))])
        return best

    def _boundary_lift(self, w: Principal, x: Principal) -> Verdict:
        tk = self.tk
        b = tk.d.boundary_of.get(x.id)
        if b is None:
            return NO
        reqs = [tk.iam(a, x.id, x.account) for a in IAM_BOUNDARY_REMOVALS
                if (":user/" in x.id) == ("User" in a)]
        if not b.startswith("arn:aws:iam::aws:"):
            reqs.append(tk.iam(IAM_POLICY_REWRITE, b, x.account))
        return tk.can_any(w, reqs)

    def _rewritten_read(self, w: Principal, x: Principal, target: ReadTarget) -> tuple[Verdict, str]:
        """``x``'s read once ``w`` rewrote its identity (boundary lifted if ``w`` can)."""
        ident = self.tk.d.identities[x.id]
        kept = deny_only(ident.policies)
        rewritten = Identity((ALLOW_ALL, *kept), (), ident.boundary, ident.boundary_gap)
        read, how = self._read(x, target, identity=rewritten, tag="rewritten")
        if read.level is not Level.YES and ident.boundary is not None:
            lift = self._boundary_lift(w, x)
            if lift.level is not Level.NO:
                free = Identity((ALLOW_ALL, *kept), (), None, None)
                r2, how2 = self._read(x, target, identity=free, tag="rewritten-unbounded")
                cand = _steps((lift, "lifts the permissions boundary"), (r2, how2))
                if cand.level.value > read.level.value:
                    read, how = cand, how2
        if read.level is Level.NO and kept:
            free = Identity((ALLOW_ALL,), (), ident.boundary, ident.boundary_gap)
            r3, how3 = self._read(x, target, identity=free, tag="rewritten-nodeny")
            if r3.level is not Level.NO:
                labels = ", ".join(a.label for a in kept)
                read = maybe(r3.steps, (*r3.conditions, f"the identity Denies of {x.id} ({labels}) can be removed"))
                how = how3
        return read, how

    def _identity_rewrites(self, target: ReadTarget, reach: Reach) -> Iterator[Entry]:
        pending: list[Principal] = []
        for w in self._rewriters_all():
            own = self.rewrite(w, w)
            if own.level is not Level.NO:
                read, how = self._rewritten_read(w, w, target)
                v = _steps((own, "rewrites its own permissions"), (read, f"then {how}"))
                if v.level is not Level.NO:
                    yield Entry(w, v, how)
            if own.level is not Level.YES:
                pending.append(w)
            yield from self._join_groups(w, target)
        for w in pending:
            yield from self._rewrite_other(w, target, reach)

    def _join_groups(self, w: Principal, target: ReadTarget) -> Iterator[Entry]:
        if w.kind is not PrincipalKind.USER:
            return
        tk = self.tk
        ident = tk.d.identities[w.id]
        for g, pols in tk.d.all_groups.items():
            if g in tk.d.groups_of.get(w.id, ()) or g.split(":")[4:5] != [w.account]:
                continue
            join = tk.can(w, tk.iam(IAM_JOIN_GROUP, g, w.account))
            if join.level is Level.NO:
                continue
            joined = Identity((*ident.policies, *pols), ident.gaps, ident.boundary, ident.boundary_gap)
            read, how = self._read(w, target, identity=joined, tag=f"joined:{g}")
            v = _steps((join, f"{IAM_JOIN_GROUP} {g}"), (read, f"then {how} with the group's policies"))
            if v.level is not Level.NO:
                yield Entry(w, v, how)

    def _rewrite_other(self, w: Principal, target: ReadTarget, reach: Reach) -> Iterator[Entry]:
        tk = self.tk
        found: dict[str, tuple[Verdict, Verdict, str]] = {}
        for pid in tk.d.by_account.get(w.account or "", ()):
            if pid == w.id:
                continue
            x = tk.d.principals[pid]
            perm = self.rewrite(w, x)
            if perm.level is Level.NO:
                continue
            read, how = self._rewritten_read(w, x, target)
            if read.level is not Level.NO:
                found[pid] = (perm, read, how)
        if not found:
            return
        path = reach(w, tuple(found))
        if path is None:
            return
        end = path.resource
        perm, read, how = found[end]
        hop = maybe(path.steps, path.conditions) if path.conditional else Verdict(Level.YES, path.steps)
        v = _steps((perm, f"changes the permissions of {end}"), (hop, f"becomes {end}"), (read, f"then {how}"))
        if v.level is not Level.NO:
            yield Entry(w, v, how, via=(*path.via, end) if not path.via or path.via[-1] != end else path.via)

    # -- 4. new principals -----------------------------------------------------------------

    def _new_principals(self, target: ReadTarget) -> Iterator[Entry]:
        tk = self.tk
        for acct in sorted(tk.d.collected_accounts):
            part = "aws"
            # NOTE: the creator picks the name, so each permission is asked for *some* name
            # (a prefix request over the account's users or roles), never for one we invented.
            users = f"arn:{part}:iam::{acct}:user/"
            roles = f"arn:{part}:iam::{acct}:role/"
            new_user = users + "new-escalation-user"
            new_role = roles + "new-escalation-role"
            cands = {p.id: p for p in tk.any_holder((IAM_CREATE_USER, IAM_CREATE_ROLE), acct)}
            if not cands:
                continue
            user = Principal(new_user, PrincipalKind.USER, acct, "new-escalation-user", None)
            role = Principal(new_role, PrincipalKind.ROLE, acct, "new-escalation-role", None)
            fresh = Identity((ALLOW_ALL,), (), None, None)
            u_read, u_how = self._read(user, target, identity=fresh, tag="new-user")
            r_read, r_how = self._read(role, target, identity=fresh, tag="new-role")
            if u_read.level is Level.NO and r_read.level is Level.NO:
                continue
            for c in cands.values():
                make_user = _steps(
                    (tk.can(c, tk.iam(IAM_CREATE_USER, users, acct, prefix=True)), IAM_CREATE_USER),
                    (tk.can_any(c, [tk.iam(a, users, acct, prefix=True) for a in IAM_USER_CREDENTIALS[:2]]),
                     "credentials for it"),
                    (tk.can_any(c, [tk.iam(a, users, acct, prefix=True) for a in IAM_USER_REWRITES]),
                     "a policy for it"),
                    (u_read, f"then, as the new user, {u_how}"))
                if make_user.level is not Level.NO:
                    yield Entry(c, make_user, u_how, via=(new_user,))
                if c.kind is PrincipalKind.ROOT:
                    continue  # the root user cannot assume roles
                make_role = _steps(
                    (tk.can(c, tk.iam(IAM_CREATE_ROLE, roles, acct, prefix=True)),
                     f"{IAM_CREATE_ROLE} trusting itself"),
                    (tk.can_any(c, [tk.iam(a, roles, acct, prefix=True) for a in IAM_ROLE_REWRITES]),
                     "a policy for it"),
                    (r_read, f"then, as the new role, {r_how}"))
                if make_role.level is not Level.NO:
                    yield Entry(c, make_role, r_how, via=(new_role,))

    # -- 5. federation -----------------------------------------------------------------------

    def _federation(self, target: ReadTarget) -> Iterator[Entry]:
        tk = self.tk
        for u in tk.holders(STS_FEDERATION, "", None, prefix=True):
            if u.kind is not PrincipalKind.USER or u.id not in tk.d.identities:
                continue
            fed = tk.d.federation_session(u.id)
            perm = tk.can(u, tk.iam(STS_FEDERATION, fed.id, u.account))
            if perm.level is Level.NO:
                continue
            read, how = self._read(fed, target, identity=tk.d.identities[u.id], tag="federation")
            v = _steps((perm, f"{STS_FEDERATION} (session {fed.id})"), (read, f"then, as {fed.id}, {how}"))
            if v.level is not Level.NO:
                yield Entry(u, v, how, via=(fed.id,))


def merge(entries: Iterable[Entry]) -> dict[str, Entry]:
    """The best entry per principal (YES over MAYBE; the first on ties)."""
    out: dict[str, Entry] = {}
    for e in entries:
        prior = out.get(e.principal.id)
        if prior is None or e.verdict.level.value > prior.verdict.level.value:
            out[e.principal.id] = e
    return out
