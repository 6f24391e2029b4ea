"""Who can become whom, as a graph, and the analysis that walks it backwards from a weight resource.

Who can read X = who reaches X directly (any read action, or an escalation that ends there:
:mod:`.escalation`), plus whoever can become such a principal, transitively. Becoming is
assuming a role (trust policies), and the other edges of :mod:`.edges`: passing a role to a
service and launching it, running commands on its instance, changing its function's code,
rewriting its trust policy, obtaining a user's credentials. The walk starts at the direct
readers and follows edges backwards, breadth first, with a visited set (cycle-safe) and a depth
bound (a cut-off is reported as a gap, never silently dropped). Each principal keeps one path:
an unconditional one when it exists (first pass over decided edges only), else the shortest
conditional one.

Cost: direct readers are one evaluation per *candidate* principal (:mod:`.candidates` indexes
who could possibly make a request); an edge is evaluated only for a candidate not yet reached,
and candidates come from indexes of who holds each action, so the walk is not quadratic in roles.
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from aslcheck.checks.aws.access.actions import S3_REPLICATION_READ
from aslcheck.checks.aws.access.candidates import ReaderIndex
from aslcheck.checks.aws.access.directory import Directory
from aslcheck.checks.aws.access.edges import REPLICATION_SERVICES, Compute, role_edges, service_entries, user_edges
from aslcheck.checks.aws.access.engine import Engine
from aslcheck.checks.aws.access.escalation import Escalations, merge
from aslcheck.checks.aws.access.holders import AssumeHolders
from aslcheck.checks.aws.access.matching import has_wildcard
from aslcheck.checks.aws.access.model import (
    AccessPath,
    AccessResult,
    Level,
    Principal,
    PrincipalKind,
    ReadTarget,
    Request,
    Service,
    Verdict,
)
from aslcheck.checks.aws.access.policy import Effect
from aslcheck.checks.aws.access.routes import Edge, Entry, Toolkit
from aslcheck.checks.aws.access.targets import single
from aslcheck.inventories.snapshot import Snapshot

ASSUME = "sts:AssumeRole"
ASSUME_SAML = "sts:AssumeRoleWithSAML"
ASSUME_WEB = "sts:AssumeRoleWithWebIdentity"
DEFAULT_MAX_DEPTH = 16
"""Longest chain followed; deeper chains are reported as a gap."""
_EXPANDED = (PrincipalKind.ROLE, PrincipalKind.USER)


@dataclass(frozen=True)
class _Hop:
    verdict: Verdict
    next: str | None
    depth: int
    how: str = "assumes"
    action: str = ""
    detour: tuple[str, ...] = ()


class AccessAnalyzer:
    """Effective access over one snapshot. Pure: reads nothing but the snapshot."""

    def __init__(self, snapshot: Snapshot, *, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.directory = Directory(snapshot)
        self.engine = Engine(self.directory)
        self.max_depth = max_depth
        self._snapshot = snapshot
        self._role_tags = {r.id: r.tags for r in snapshot.of_kind("aws.iam.role")}
        self._holders: AssumeHolders | None = None
        self._tk: Toolkit | None = None
        self._compute: Compute | None = None
        self._escalations: Escalations | None = None
        self._replication_roles: frozenset[str] | None = None
        self._cands: dict[str, tuple[tuple[Principal, Edge], ...]] = {}
        self._cand_gaps: dict[str, tuple[str, ...]] = {}
        self._trust_reqs: dict[tuple[str, str], Request] = {}
        self._direct: dict[tuple[object, ...], dict[str, Entry]] = {}
        self._direct_gaps: dict[tuple[object, ...], tuple[str, ...]] = {}
        self._results: dict[tuple[object, ...], AccessResult] = {}
        self._known: dict[str, Principal] = {}

    @property
    def toolkit(self) -> Toolkit:
        """The engine, directory and candidate index, shared by edges and escalations."""
        if self._tk is None:
            self._tk = Toolkit(self.directory, self.engine, ReaderIndex(self.directory))
        return self._tk

    # -- public ---------------------------------------------------------------------------

    def analyse(self, target: ReadTarget | Request, avoid: Iterable[str] = ()) -> AccessResult:
        """Every principal that can read ``target``, with one path each.

        ``avoid``: glob patterns of role ARNs not to pass through (e.g. the broker roles, to
        ask "who can read *without* the broker"). Such roles still appear as readers.
        """
        if isinstance(target, Request):
            target = single(target)
        avoid_t = tuple(sorted(set(avoid)))
        key = (target.key, avoid_t)
        hit = self._results.get(key)
        if hit is not None:
            return hit

        def avoided(pid: str) -> bool:
            return any(fnmatchcase(pid, pat) for pat in avoid_t)

        gaps: dict[str, None] = dict.fromkeys(target.gaps)
        direct = self._direct_readers(target, avoid_t, avoided, gaps)
        sure = self._search(direct, avoided, True, gaps)
        every = self._search(direct, avoided, False, gaps)
        paths = tuple(self._path(pid, sure if pid in sure else every, target.display)
                      for pid in sorted(every) if self._reported(pid))
        result = AccessResult(target, paths, tuple(gaps))
        self._results[key] = result
        return result

    def reachers(self, roles: Iterable[str], avoid: Callable[[str], bool] = lambda _: False
                 ) -> tuple[tuple[AccessPath, ...], tuple[str, ...]]:
        """Who can become one of ``roles`` (the roles themselves excluded), and the gaps.

        The paths' action is ``sts:AssumeRole`` and their resource the role reached.
        """
        targets = [r for r in roles if r in self.directory.principals]
        direct = {r: Entry(self.directory.principals[r], Verdict(Level.YES, ("target",)), ASSUME)
                  for r in targets}
        gaps: dict[str, None] = {}
        sure = self._search(direct, avoid, True, gaps)
        every = self._search(direct, avoid, False, gaps)
        paths = []
        for pid in sorted(set(every) - set(targets)):
            if not self._reported(pid):
                continue
            found = sure if pid in sure else every
            end = pid
            while found[end].next is not None:
                end = str(found[end].next)
            paths.append(self._path(pid, found, end, final="is the target"))
        return tuple(paths), tuple(gaps)

    def assumers(self, role: str) -> tuple[tuple[Principal, Verdict], ...]:
        """Principals that can become ``role`` in one hop, with the verdict (NO omitted)."""
        out = []
        for cand, edge in self._candidates(role, {}):
            v = self.toolkit.edge(cand, edge)
            if v.level is not Level.NO:
                out.append((cand, v))
        return tuple(out)

    # -- direct readers ---------------------------------------------------------------------

    def _direct_readers(self, target: ReadTarget, avoid_t: tuple[str, ...], avoided: Callable[[str], bool],
                        gaps: dict[str, None]) -> dict[str, Entry]:
        key = (target.key, avoid_t)
        hit = self._direct.get(key)
        if hit is not None:
            gaps.update(dict.fromkeys(self._direct_gaps.get(key, ())))
            return hit
        d = self.directory
        tk = self.toolkit
        notes: dict[str, None] = {}
        acct = target.resource_account
        if acct is not None and acct not in d.collected_accounts:
            why = d.incomplete_accounts.get(acct, "was not collected")
            notes[f"IAM of {target.resource_id}'s own account {acct} {why}: who may read it through identity "
                  "policies is unknown"] = None
        extra: dict[str, Principal] = {}
        anon = d.anonymous()
        extra[anon.id] = anon
        for req in target.reads:
            self._policy_principals(req, extra, notes)
        out: list[Entry] = []
        certain: set[str] = set()
        for p in extra.values():
            self._known.setdefault(p.id, p)
        for req in target.reads:
            wanted = tk.index.candidates(req)
            inside = d.principals.values() if wanted is None else [d.principals[pid] for pid in wanted]
            # NOTE: no API returns bytes for GetObjectVersionForReplication; only S3 replication
            # (or Batch Operations) acting as a role uses it, so only such roles read through it.
            only = self._replicators() if req.action == S3_REPLICATION_READ else None
            for p in [*inside, *extra.values()]:
                # NOTE: a principal that reads for certain through one action needs no other.
                if p.id in certain or (only is not None and p.id not in only):
                    continue
                verdict = self.engine.decide(p, req)
                if verdict.level is not Level.NO:
                    out.append(Entry(p, verdict, req.action))
                    if verdict.level is Level.YES:
                        certain.add(p.id)
        # NOTE: the same principal may read through several actions; merge keeps the best.
        best = merge(out)
        reach = self._reach_for(avoided)
        for e in self._escalator().entries(target, reach):
            self._known.setdefault(e.principal.id, e.principal)
            prior = best.get(e.principal.id)
            if prior is None or e.verdict.level.value > prior.verdict.level.value:
                best[e.principal.id] = e
        self._direct[key] = best
        self._direct_gaps[key] = tuple(notes)
        gaps.update(notes)
        return best

    def _policy_principals(self, req: Request, extra: dict[str, Principal], notes: dict[str, None]) -> None:
        """Principals a resource policy or grant names that are not IAM principals of the snapshot."""
        d = self.directory
        if req.policy is not None:
            for st in req.policy.relevant(req.action.lower()):
                if st.effect is not Effect.ALLOW or st.principal is None:
                    continue
                for v in st.principal.aws:
                    p = d.principal(v)
                    if p is not None and p.id not in d.principals:
                        extra[p.id] = p
                        self._incomplete_note(p, f"{req.policy_label} {st.ref}", notes)
                for s in st.principal.services:
                    extra[s] = d.service(s)
                for f in st.principal.federated:
                    extra[f] = d.federated(f)
                for c in st.principal.canonical:
                    extra[c] = d.canonical(c)
        for g in req.grants:
            gp = d.principal(g.grantee) if g.grantee.startswith("arn:") else d.service(g.grantee)
            if gp is not None and gp.id not in d.principals:
                extra[gp.id] = gp
                self._incomplete_note(gp, f"KMS grant {g.grant_id}", notes)

    def _incomplete_note(self, p: Principal, where: str, notes: dict[str, None]) -> None:
        """A delegation to an account whose principals are unknown is a gap (never rosterable)."""
        why = self.directory.incomplete_accounts.get(p.account or "")
        if why is not None and p.kind is PrincipalKind.EXTERNAL_ACCOUNT:
            notes[f"{where} admits account {p.account}, whose IAM {why}: its principals cannot be "
                  "evaluated"] = None

    def _replicators(self) -> frozenset[str]:
        if self._replication_roles is None:
            self._replication_roles = frozenset(
                r for r, p in self.directory.principals.items() if p.kind is PrincipalKind.ROLE
                and any(e.service in REPLICATION_SERVICES for e in service_entries(self.toolkit, r)))
        return self._replication_roles

    def _escalator(self) -> Escalations:
        if self._escalations is None:
            self._escalations = Escalations(self.toolkit)
        return self._escalations

    def _reach_for(self, avoided: Callable[[str], bool]) -> Callable[[Principal, tuple[str, ...]], AccessPath | None]:
        def reach(who: Principal, targets: tuple[str, ...]) -> AccessPath | None:
            paths, _ = self.reachers(targets, avoided)
            return next((p for p in paths if p.principal == who.id), None)
        return reach

    def _reported(self, pid: str) -> bool:
        """Whether a node is a principal to report (federation sessions and new users are routes)."""
        p = self._principal(pid)
        return p.kind is not PrincipalKind.FEDERATED_USER

    # -- edges ------------------------------------------------------------------------------

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

    def _candidates(self, node: str, gaps: dict[str, None]) -> tuple[tuple[Principal, Edge], ...]:
        """Who might become ``node`` (to be confirmed by evaluating the edge)."""
        hit = self._cands.get(node)
        if hit is not None:
            gaps.update(dict.fromkeys(self._cand_gaps.get(node, ())))
            return hit
        d = self.directory
        notes: dict[str, None] = {}
        out: dict[tuple[str, str], tuple[Principal, Edge]] = {}

        def add(p: Principal, edge: Edge) -> None:
            if p.id != node:
                out.setdefault((p.id, edge.label), (p, edge))
                self._known.setdefault(p.id, p)

        me = d.principals.get(node)
        if me is not None and me.kind is PrincipalKind.ROLE:
            self._trust_candidates(node, add, notes)
            if d.trusts[node].policy is not None:
                if self._compute is None:
                    self._compute = Compute(self._snapshot, self.toolkit)
                for p, edge in role_edges(self.toolkit, self._compute, me, self._trust_request(node, ASSUME)):
                    add(p, edge)
        elif me is not None and me.kind is PrincipalKind.USER:
            for p, edge in user_edges(self.toolkit, me):
                add(p, edge)
        result = tuple(out.values())
        self._cands[node] = result
        self._cand_gaps[node] = tuple(notes)
        gaps.update(notes)
        return result

    def _trust_candidates(self, role: str, add: Callable[[Principal, Edge], None], notes: dict[str, None]) -> None:
        d = self.directory
        trust = d.trusts.get(role)
        if trust is None or trust.policy is None:
            notes[f"trust policy of {role} not collected: who can assume it is unknown"] = None
            return
        if self._holders is None:
            self._holders = AssumeHolders(d)
        holders = self._holders
        edges = {a: Edge("assumes", ((self._trust_request(role, a),),)) for a in (ASSUME, ASSUME_SAML, ASSUME_WEB)}

        def assumer(p: Principal, action: str) -> None:
            if p.kind is not PrincipalKind.ROOT:  # the root user cannot assume roles
                add(p, edges[action])

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
                    assumer(d.principals[pid], ASSUME)
                assumer(d.anonymous(), ASSUME)
            if spec is None:
                continue
            if ASSUME in acts:
                for v in spec.aws:
                    p = d.principal(v)
                    if p is None:
                        continue
                    if p.kind is PrincipalKind.ROOT and p.account:
                        for pid in holders.of_account(d, p.account, role):
                            assumer(d.principals[pid], ASSUME)
                    else:
                        assumer(p, ASSUME)
                        self._incomplete_note(p, f"{trust.label} {st.ref}", notes)
            for f in spec.federated:
                act = ASSUME_SAML if "saml-provider/" in f else ASSUME_WEB
                if act in acts:
                    assumer(d.federated(f), act)
            # NOTE: service principals (ec2.amazonaws.com) are entry points; edges.role_edges
            # follows who can make the service act as the role.

    # -- the walk ---------------------------------------------------------------------------

    def _search(self, direct: Mapping[str, Entry], avoided: Callable[[str], bool],
                sure_only: bool, gaps: dict[str, None]) -> dict[str, _Hop]:
        found: dict[str, _Hop] = {}
        queue: deque[str] = deque()
        for pid, entry in direct.items():
            if sure_only and entry.verdict.level is not Level.YES:
                continue
            found[pid] = _Hop(entry.verdict, None, 0, action=entry.action, detour=entry.via)
            if entry.principal.kind in _EXPANDED and not avoided(pid):
                queue.append(pid)
        tk = self.toolkit
        while queue:
            rid = queue.popleft()
            depth = found[rid].depth
            cands = self._candidates(rid, gaps)
            if depth >= self.max_depth:
                if any(c.id not in found for c, _ in cands):
                    gaps.setdefault(f"chains longer than {self.max_depth} hops were not followed "
                                    f"(beyond {rid})")
                continue
            for cand, edge in cands:
                if cand.id in found:
                    continue
                e = tk.edge(cand, edge)
                if e.level is Level.NO or (sure_only and e.level is not Level.YES):
                    continue
                found[cand.id] = _Hop(e, rid, depth + 1, how=edge.label)
                if cand.kind in _EXPANDED and not avoided(cand.id):
                    queue.append(cand.id)
        return found

    def _path(self, pid: str, found: Mapping[str, _Hop], resource: str, final: str = "") -> AccessPath:
        steps: list[str] = []
        conds: list[str] = []
        conditional = False
        via: list[str] = []
        cur = pid
        action = ASSUME
        while True:
            hop = found[cur]
            why = "; ".join(hop.verdict.steps) or "allowed"
            if hop.next is None:
                action = hop.action or ASSUME
                what = final or f"{action} on {resource}"
                steps.append(f"{cur}: {what} ({why})")
                via.extend(hop.detour)
            else:
                steps.append(f"{cur} {hop.how} {hop.next} ({why})")
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
