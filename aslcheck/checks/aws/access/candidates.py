"""Which principals of a directory could possibly make a request, so the others are not evaluated.

The direct-reader search used to evaluate every principal against every weight resource
(resources x principals). In a large organisation almost every principal answers NO, and it
does so for a structural reason the index below captures: per :meth:`Engine._evaluate`, a
principal that has an identity entry can only get an allow from

1. an identity-side Allow statement for the action whose Resource may name the resource (its
   literal head, the text before the first wildcard, must agree with the resource), or an
   identity side that is not fully known (gaps, unreadable policies, unreadable statements,
   policy variables, ``NotResource`` / no ``Resource``), which evaluates to MAYBE;
2. a resource-policy Allow statement whose Principal names it (its ARN, one of its sessions,
   its account root, a wildcard pattern matching it) or names everyone (``*``, NotPrincipal,
   an unreadable statement or policy);
3. a KMS grant to it, to its account root or to one of its sessions.

Without any of these, the allow side is NO and so is the verdict. The index returns a
*superset* of the principals with any of these, in directory order, so the analysis produces
exactly what evaluating everyone produced. Principals without an identity entry (account root
users) are always candidates.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

from aslcheck.checks.aws.access.directory import Directory
from aslcheck.checks.aws.access.matching import glob_match, has_wildcard
from aslcheck.checks.aws.access.model import PrincipalKind, Request
from aslcheck.checks.aws.access.policy import Effect, Statement


def _head(pattern: str) -> str:
    cut = len(pattern)
    for ch in "*?":
        i = pattern.find(ch)
        if 0 <= i < cut:
            cut = i
    return pattern[:cut]


class _Statements:
    """Every identity-side Allow statement of the directory, grouped by the service its Action names.

    NOTE: built once; each per-action index then scans only the statements of that action's
    service (and those whose Action could name any service), not every policy of every principal.
    """

    def __init__(self, d: Directory) -> None:
        self.always: set[str] = set()
        self.by_service: dict[str, list[tuple[str, Statement]]] = {}
        self.anywhere: list[tuple[str, Statement]] = []
        for pid, ident in d.identities.items():
            if ident.gaps or any(att.policy.problems for att in ident.policies):
                self.always.add(pid)
                continue
            for att in ident.policies:
                for st in att.policy.statements:
                    if st.effect is not Effect.ALLOW:
                        continue
                    svcs = st.services()
                    if svcs is None:
                        self.anywhere.append((pid, st))
                    else:
                        for svc in svcs:
                            self.by_service.setdefault(svc, []).append((pid, st))


class _IdentitySide:
    """For one action: who holds an identity Allow, indexed by the literal head of its Resource."""

    def __init__(self, stmts: _Statements, action: str) -> None:
        self.always: set[str] = set(stmts.always)
        heads: dict[str, list[str]] = {}
        svc = action.partition(":")[0]
        for pid, st in (*stmts.by_service.get(svc, ()), *stmts.anywhere):
            if not st.action_matches(action):
                continue
            if st.problems or st.uses_variables() or st.resources is None:
                self.always.add(pid)
                continue
            for pattern in st.resources:
                heads.setdefault(_head(pattern), []).append(pid)
        self.heads = heads
        self.sorted_heads = sorted(heads)

    def candidates(self, resource: str, is_prefix: bool) -> set[str]:
        """Principals whose identity side may allow the action on ``resource``."""
        out = set(self.always)
        heads = self.heads
        for k in range(len(resource) + 1):
            hit = heads.get(resource[:k])
            if hit:
                out.update(hit)
        if is_prefix:
            # A pattern longer than the prefix may still name some object under it.
            i = bisect_left(self.sorted_heads, resource)
            while i < len(self.sorted_heads) and self.sorted_heads[i].startswith(resource):
                out.update(heads[self.sorted_heads[i]])
                i += 1
        return out


class ReaderIndex:
    """Candidate principals of a request (a superset of those that can make it), in directory order."""

    def __init__(self, d: Directory) -> None:
        self.d = d
        self._order = {pid: i for i, pid in enumerate(d.principals)}
        self._no_identity = [pid for pid in d.principals if pid not in d.identities]
        self._by_account: dict[str, list[str]] = {}
        self._roles: list[str] = []
        self._roles_by_name: dict[tuple[str, str], list[str]] = {}
        for pid, p in d.principals.items():
            if p.account is not None:
                self._by_account.setdefault(p.account, []).append(pid)
            if p.kind is PrincipalKind.ROLE:
                self._roles.append(pid)
                if p.account is not None and p.name is not None:
                    self._roles_by_name.setdefault((p.account, p.name), []).append(pid)
        self._identity: dict[str, _IdentitySide] = {}
        self._statements: _Statements | None = None

    def candidates(self, req: Request) -> list[str] | None:
        """Principal IDs to evaluate, in directory order; ``None`` means every principal."""
        action = req.action.lower()
        side = self._identity.get(action)
        if side is None:
            if self._statements is None:
                self._statements = _Statements(self.d)
            side = self._identity[action] = _IdentitySide(self._statements, action)
        out = side.candidates(req.resource, req.is_prefix)
        out.update(self._no_identity)
        if req.policy is not None:
            named = self._resource_side(req, action)
            if named is None:
                return None
            out |= named
        for g in req.grants:
            out.update(self._named(g.grantee, grant=True))
        return sorted(out, key=self._order.__getitem__)

    def _resource_side(self, req: Request, action: str) -> set[str] | None:
        """Principals a resource-policy Allow may name; ``None`` when it may name anyone."""
        assert req.policy is not None
        if req.policy.problems:
            return None
        out: set[str] = set()
        for st in req.policy.relevant(action):
            if st.effect is not Effect.ALLOW:
                continue
            spec = st.principal
            if st.problems or spec is None or spec.wildcard:
                return None
            for value in spec.aws:
                out.update(self._named(value, grant=False))
                if has_wildcard(value):
                    out.update(pid for pid in self.d.principals if glob_match(pid, value))
        return out

    def _named(self, value: str, *, grant: bool) -> Iterable[str]:
        """Principals ``value`` may stand for: itself, its account's principals, a role's sessions."""
        if value in self.d.principals:
            yield value
        if value.startswith("arn:") and value.endswith(":root"):
            for account, pids in self._by_account.items():
                if value.endswith(f":iam::{account}:root"):
                    yield from pids
        if ":sts:" not in value:
            return
        parts = value.split(":", 5)
        if len(parts) == 6 and parts[2] == "sts":
            res = parts[5].split("/")
            if len(res) >= 2 and res[0] == "assumed-role":
                yield from self._roles_by_name.get((parts[4], res[1]), ())
        if grant:
            # NOTE: the engine matches a grant to a session by substring; cover every role it could match.
            for pid in self._roles:
                p = self.d.principals[pid]
                if p.account and p.name and f":sts::{p.account}:assumed-role/{p.name}/" in value:
                    yield pid
