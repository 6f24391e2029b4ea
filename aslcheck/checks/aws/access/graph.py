"""Role assumption as a graph, and the analysis that walks it backwards from a resource.

Who can read X = who can read X directly, plus whoever can assume a role that can read X,
transitively. The walk starts at the direct readers and follows trust policies backwards,
breadth first, with a visited set (cycle-safe) and a depth bound (a cut-off is reported as a
gap, never silently dropped). Each principal keeps one path: an unconditional one when it
exists (first pass over decided edges only), else the shortest conditional one.

Cost: direct readers are one evaluation per *candidate* principal (:mod:`.candidates` indexes
who could possibly make the request, by the literal head of identity-policy resources and by
the principals resource policies and grants name); an edge is evaluated only for a
candidate not yet reached, and candidates come from an index of who holds ``sts:AssumeRole``
(exact role ARNs, or wildcard holders per account), so the walk is not quadratic in roles.
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from aslcheck.checks.aws.access.candidates import ReaderIndex
from aslcheck.checks.aws.access.directory import Directory
from aslcheck.checks.aws.access.engine import Engine
from aslcheck.checks.aws.access.matching import has_wildcard
from aslcheck.checks.aws.access.model import (
    AccessPath,
    AccessResult,
    Level,
    Principal,
    PrincipalKind,
    Request,
    Service,
    Verdict,
)
from aslcheck.checks.aws.access.policy import Effect
from aslcheck.inventories.snapshot import Snapshot

ASSUME = "sts:AssumeRole"
ASSUME_SAML = "sts:AssumeRoleWithSAML"
ASSUME_WEB = "sts:AssumeRoleWithWebIdentity"
DEFAULT_MAX_DEPTH = 16
"""Longest role chain followed; deeper chains are reported as a gap."""


@dataclass(frozen=True)
class _Hop:
    verdict: Verdict
    next: str | None
    depth: int


class _Holders:
    """Who has an identity-side Allow for ``sts:AssumeRole``, indexed for candidate lookup.

    Exact role ARNs map straight to their holders; wildcard patterns are grouped per account by
    their literal head (the text before the first wildcard), so a role only meets the holders
    whose head is a prefix of its ARN instead of every wildcard holder of the account.
    """

    def __init__(self, d: Directory) -> None:
        self.exact: dict[str, list[str]] = {}
        self.wild: dict[str, dict[str, list[str]]] = {}
        for pid, ident in d.identities.items():
            p = d.principals[pid]
            stmts = [st for att in ident.policies for st in att.policy.relevant("sts:assumerole")
                     if st.effect is Effect.ALLOW]
            unreadable = bool(ident.gaps) or any(att.policy.problems for att in ident.policies)
            if not stmts and not unreadable:
                continue
            heads = self.wild.setdefault(p.account or "", {})
            if unreadable:
                heads.setdefault("", []).append(pid)
                continue
            for st in stmts:
                if st.resources is None or st.problems or st.uses_variables():
                    heads.setdefault("", []).append(pid)
                    continue
                for r in st.resources:
                    if has_wildcard(r):
                        heads.setdefault(_literal_head(r), []).append(pid)
                    else:
                        self.exact.setdefault(r, []).append(pid)

    def _wild(self, heads: Mapping[str, list[str]], role: str) -> Iterable[str]:
        for head, pids in heads.items():
            if role.startswith(head):
                yield from pids

    def of_account(self, d: Directory, account: str, role: str) -> Iterable[str]:
        """Holders in ``account`` whose patterns may name ``role``."""
        yield from (pid for pid in self.exact.get(role, ()) if d.principals[pid].account == account)
        yield from self._wild(self.wild.get(account, {}), role)

    def everyone(self, role: str) -> Iterable[str]:
        """Holders in any account whose patterns may name ``role``."""
        yield from self.exact.get(role, ())
        for heads in self.wild.values():
            yield from self._wild(heads, role)


def _literal_head(pattern: str) -> str:
    cut = min((i for i in (pattern.find("*"), pattern.find("?")) if i >= 0), default=len(pattern))
    return pattern[:cut]


class AccessAnalyzer:
    """Effective access over one snapshot. Pure: reads nothing but the snapshot."""

    def __init__(self, snapshot: Snapshot, *, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.directory = Directory(snapshot)
        self.engine = Engine(self.directory)
        self.max_depth = max_depth
        self._role_tags = {r.id: r.tags for r in snapshot.of_kind("aws.iam.role")}
        self._holders: _Holders | None = None
        self._readers: ReaderIndex | None = None
        self._cands: dict[str, tuple[tuple[Principal, str], ...]] = {}
        self._trust_gap: dict[str, str] = {}
        self._trust_reqs: dict[tuple[str, str], Request] = {}
        self._direct: dict[tuple[str, str, bool], dict[str, tuple[Principal, Verdict]]] = {}
        self._results: dict[tuple[tuple[str, str, bool], tuple[str, ...]], AccessResult] = {}
        self._known: dict[str, Principal] = {}

    # -- public ---------------------------------------------------------------------------

    def analyse(self, request: Request, avoid: Iterable[str] = ()) -> AccessResult:
        """Every principal that can make ``request``, with one path each.

        ``avoid``: glob patterns of role ARNs not to pass through (e.g. the broker roles, to
        ask "who can read *without* the broker"). Such roles still appear as readers.
        """
        avoid_t = tuple(sorted(set(avoid)))
        key = (request.key, avoid_t)
        hit = self._results.get(key)
        if hit is not None:
            return hit
        direct = self._direct_readers(request)
        gaps: dict[str, None] = dict.fromkeys(request.gaps)

        def avoided(pid: str) -> bool:
            return any(fnmatchcase(pid, pat) for pat in avoid_t)

        sure = self._search(direct, avoided, True, gaps)
        every = self._search(direct, avoided, False, gaps)
        final = f"{request.action} on {request.display_resource}"
        paths = tuple(self._path(pid, sure if pid in sure else every, request.action,
                                 request.display_resource, final)
                      for pid in sorted(every))
        result = AccessResult(request, paths, tuple(gaps))
        self._results[key] = result
        return result

    def reachers(self, roles: Iterable[str]) -> tuple[tuple[AccessPath, ...], tuple[str, ...]]:
        """Who can become one of ``roles`` by assuming roles (the roles themselves excluded).

        Returns the paths (action ``sts:AssumeRole``, resource the role reached) and the gaps.
        """
        targets = [r for r in roles if r in self.directory.trusts]
        direct = {r: (self.directory.principals[r], Verdict(Level.YES, ("target role",))) for r in targets}
        gaps: dict[str, None] = {}
        sure = self._search(direct, lambda _: False, True, gaps)
        every = self._search(direct, lambda _: False, False, gaps)
        paths = []
        for pid in sorted(set(every) - set(targets)):
            found = sure if pid in sure else every
            end = pid
            while found[end].next is not None:
                end = str(found[end].next)
            paths.append(self._path(pid, found, ASSUME, end, "is the target role"))
        return tuple(paths), tuple(gaps)

    def assumers(self, role: str) -> tuple[tuple[Principal, Verdict], ...]:
        """Principals that can assume ``role`` in one hop, with the verdict (NO omitted)."""
        out = []
        for cand, action in self._candidates(role, {}):
            v = self.engine.decide(cand, self._trust_request(role, action))
            if v.level is not Level.NO:
                out.append((cand, v))
        return tuple(out)

    # -- direct readers ---------------------------------------------------------------------

    def _direct_readers(self, req: Request) -> dict[str, tuple[Principal, Verdict]]:
        hit = self._direct.get(req.key)
        if hit is not None:
            return hit
        d = self.directory
        extra: dict[str, Principal] = {}
        anon = d.anonymous()
        extra[anon.id] = anon
        if req.policy is not None:
            for st in req.policy.statements:
                if st.effect is not Effect.ALLOW or st.principal is None:
                    continue
                for v in st.principal.aws:
                    p = d.principal(v)
                    if p is not None and p.id not in d.principals:
                        extra[p.id] = p
                for s in st.principal.services:
                    extra[s] = d.service(s)
                for f in st.principal.federated:
                    extra[f] = d.federated(f)
        for g in req.grants:
            gp = d.principal(g.grantee) if g.grantee.startswith("arn:") else d.service(g.grantee)
            if gp is not None and gp.id not in d.principals:
                extra[gp.id] = gp
        out: dict[str, tuple[Principal, Verdict]] = {}
        for p in extra.values():
            self._known.setdefault(p.id, p)
        if self._readers is None:
            self._readers = ReaderIndex(d)
        # NOTE: only principals that could possibly make the request are evaluated (see
        # candidates.py); the rest would all answer NO. Directory order is kept, so the walk
        # and the reported paths are the same as when everyone was evaluated.
        wanted = self._readers.candidates(req)
        inside = d.principals.values() if wanted is None else [d.principals[pid] for pid in wanted]
        for p in [*inside, *extra.values()]:
            verdict = self.engine.decide(p, req)
            if verdict.level is not Level.NO:
                out[p.id] = (p, verdict)
        self._direct[req.key] = out
        return out

    # -- assumption edges -------------------------------------------------------------------

    def _trust_request(self, role: str, action: str) -> Request:
        key = (role, action)
        hit = self._trust_reqs.get(key)
        if hit is None:
            trust = self.directory.trusts[role]
            hit = Request(action=action, resource=role, is_prefix=False, service=Service.STS,
                          resource_id=role, resource_account=self.directory.principals[role].account,
                          policy=trust.policy, policy_label=trust.label,
                          resource_tags=self._role_tags.get(role))
            self._trust_reqs[key] = hit
        return hit

    def _candidates(self, role: str, gaps: dict[str, None]) -> tuple[tuple[Principal, str], ...]:
        """Who might assume ``role`` (to be confirmed by evaluating the edge)."""
        if role in self._trust_gap:
            gaps.setdefault(self._trust_gap[role])
        hit = self._cands.get(role)
        if hit is not None:
            return hit
        d = self.directory
        trust = d.trusts.get(role)
        if trust is None or trust.policy is None:
            note = f"trust policy of {role} not collected: who can assume it is unknown"
            self._trust_gap[role] = note
            gaps.setdefault(note)
            self._cands[role] = ()
            return ()
        if self._holders is None:
            self._holders = _Holders(d)
        holders = self._holders
        out: dict[tuple[str, str], tuple[Principal, str]] = {}

        def add(p: Principal, action: str) -> None:
            if p.kind is not PrincipalKind.ROOT and p.id != role:  # the root user cannot assume roles
                out.setdefault((p.id, action), (p, action))
                self._known.setdefault(p.id, p)

        for st in trust.policy.statements:
            if st.effect is not Effect.ALLOW:
                continue
            acts = [a for a in (ASSUME, ASSUME_SAML, ASSUME_WEB) if st.problems or st.action_matches(a.lower())]
            if not acts:
                continue
            spec = st.principal
            everyone = st.not_principal is not None or spec is None or spec.wildcard or bool(st.problems)
            if spec is not None and any(has_wildcard(v) for v in spec.aws):
                everyone = True
            if everyone and ASSUME in acts:
                for pid in holders.everyone(role):
                    add(d.principals[pid], ASSUME)
                add(d.anonymous(), ASSUME)
            if spec is None:
                continue
            if ASSUME in acts:
                for v in spec.aws:
                    p = d.principal(v)
                    if p is None:
                        continue
                    if p.kind is PrincipalKind.ROOT and p.account:
                        for pid in holders.of_account(d, p.account, role):
                            add(d.principals[pid], ASSUME)
                    else:
                        add(p, ASSUME)
            for f in spec.federated:
                act = ASSUME_SAML if "saml-provider/" in f else ASSUME_WEB
                if act in acts:
                    add(d.federated(f), act)
            # NOTE: service principals (ec2.amazonaws.com) act *as* the role; they are not
            # reported as separate readers. Who can hand the role to a service (iam:PassRole)
            # is not modelled.
        result = tuple(out.values())
        self._cands[role] = result
        return result

    # -- the walk ---------------------------------------------------------------------------

    def _search(self, direct: Mapping[str, tuple[Principal, Verdict]], avoided: Callable[[str], bool],
                sure_only: bool, gaps: dict[str, None]) -> dict[str, _Hop]:
        found: dict[str, _Hop] = {}
        queue: deque[str] = deque()
        for pid, (p, v) in direct.items():
            if sure_only and v.level is not Level.YES:
                continue
            found[pid] = _Hop(v, None, 0)
            if p.kind is PrincipalKind.ROLE and not avoided(pid):
                queue.append(pid)
        while queue:
            rid = queue.popleft()
            depth = found[rid].depth
            cands = self._candidates(rid, gaps)
            if depth >= self.max_depth:
                if any(c.id not in found for c, _ in cands):
                    gaps.setdefault(f"role chains longer than {self.max_depth} hops were not followed "
                                    f"(beyond {rid})")
                continue
            for cand, action in cands:
                if cand.id in found:
                    continue
                e = self.engine.decide(cand, self._trust_request(rid, action))
                if e.level is Level.NO or (sure_only and e.level is not Level.YES):
                    continue
                found[cand.id] = _Hop(e, rid, depth + 1)
                if cand.kind is PrincipalKind.ROLE and not avoided(cand.id):
                    queue.append(cand.id)
        return found

    def _path(self, pid: str, found: Mapping[str, _Hop], action: str, resource: str, final: str) -> AccessPath:
        steps: list[str] = []
        conds: list[str] = []
        conditional = False
        via: list[str] = []
        cur = pid
        while True:
            hop = found[cur]
            why = "; ".join(hop.verdict.steps) or "allowed"
            if hop.next is None:
                steps.append(f"{cur}: {final} ({why})")
            else:
                steps.append(f"{cur} assumes {hop.next} ({why})")
                via.append(hop.next)
            conds.extend(hop.verdict.conditions)
            conditional = conditional or hop.verdict.level is Level.MAYBE
            if hop.next is None:
                break
            cur = hop.next
        p = self._principal(pid)
        return AccessPath(principal=pid, principal_kind=p.kind, action=action,
                          resource=resource, via=tuple(via), steps=tuple(steps),
                          conditional=conditional, conditions=tuple(dict.fromkeys(conds)))

    def _principal(self, pid: str) -> Principal:
        known = self.directory.principals.get(pid) or self._known.get(pid)
        if known is None:
            raise KeyError(pid)
        return known


_LAST: dict[int, tuple[weakref.ref[Snapshot], AccessAnalyzer]] = {}


def analyzer_for(snapshot: Snapshot) -> AccessAnalyzer:
    """The analyzer of ``snapshot``, shared by the checks of one run.

    NOTE: a one-entry memo keyed by identity (snapshots are unhashable): every IAM check of a
    run evaluates the same snapshot, and rebuilding the directory per check would multiply the
    cost. The weak reference makes a recycled ``id`` miss instead of returning a stale entry.
    """
    entry = _LAST.get(id(snapshot))
    if entry is not None and entry[0]() is snapshot:
        return entry[1]
    analyzer = AccessAnalyzer(snapshot)
    _LAST.clear()
    _LAST[id(snapshot)] = (weakref.ref(snapshot), analyzer)
    return analyzer
