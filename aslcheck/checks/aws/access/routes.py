"""The building blocks of reader paths: edges between principals, direct entries, and the toolkit
that asks the engine the questions they consist of.

An :class:`Edge` says how a candidate *becomes* a node (assumes it, obtains its credentials,
passes it to a service and launches that service, runs commands on its instance...). It holds
its requirements as alternatives of conjunctions of requests; its verdict is the disjunction of
the conjunctions, further conditioned by ``extra`` (what the snapshot cannot tell). An
:class:`Entry` is a principal that reaches the target itself, directly or by an escalation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aslcheck.checks.aws.access.candidates import ReaderIndex
from aslcheck.checks.aws.access.directory import AttachedPolicy, Directory, Identity
from aslcheck.checks.aws.access.engine import Engine
from aslcheck.checks.aws.access.matching import arn_partition
from aslcheck.checks.aws.access.model import (
    Level,
    Principal,
    PrincipalKind,
    Request,
    Service,
    Verdict,
    all_of,
    any_of,
    maybe,
)
from aslcheck.checks.aws.access.policy import Effect, Policy, parse_policy


@dataclass(frozen=True)
class Edge:
    """How a candidate becomes a node."""

    label: str
    """Verb phrase for reports (``assumes``, ``obtains credentials of``)."""
    needs: tuple[tuple[Request, ...], ...]
    """Alternatives, each a conjunction of requests the candidate must be allowed to make."""
    extra: tuple[str, ...] = ()
    """Undecidable conditions: the edge is at most MAYBE, with these reasons."""


@dataclass(frozen=True)
class Entry:
    """A principal that reaches the target itself (directly or by an escalation)."""

    principal: Principal
    """Who."""
    verdict: Verdict
    """Whether, and why (steps name the route)."""
    action: str
    """What it finally does on the target."""
    via: tuple[str, ...] = ()
    """Principals it passes through on its own route (an escalation that reaches a role first)."""


ALLOW_ALL = AttachedPolicy("a policy it writes for itself (Allow * on *)", parse_policy(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
"""What a principal that can rewrite an identity's policies gives it."""


def deny_only(policies: Iterable[AttachedPolicy]) -> tuple[AttachedPolicy, ...]:
    """The Deny statements of ``policies`` (what a rewrite that only adds policies leaves in force)."""
    out = []
    for att in policies:
        denies = tuple(st for st in att.policy.statements if st.effect is Effect.DENY)
        if denies:
            out.append(AttachedPolicy(att.label, Policy(denies)))
    return tuple(out)


class Toolkit:
    """The engine, the directory and the candidate index, with helpers to ask control-plane questions."""

    def __init__(self, directory: Directory, engine: Engine, index: ReaderIndex) -> None:
        self.d = directory
        self.engine = engine
        self.index = index
        self._holders: dict[tuple[str, str, bool, str | None], tuple[Principal, ...]] = {}

    # -- requests -----------------------------------------------------------------------------

    def iam(self, action: str, resource: str, account: str | None, *, prefix: bool = False,
            context: Mapping[str, tuple[str, ...]] | None = None, variant: str = "") -> Request:
        """A request that only identity policies of ``account`` can allow (no resource policy)."""
        return Request(action=action, resource=resource, is_prefix=prefix, service=Service.IAM,
                       resource_id=resource, resource_account=account, policy=None,
                       context=context, variant=variant)

    def launch(self, action: str, account: str | None, partition: str = "aws") -> Request:
        """``action`` on any resource of its service in ``account`` (launches touch many resources)."""
        service = action.split(":", 1)[0]
        return self.iam(action, f"arn:{partition}:{service}:", account, prefix=True)

    # -- who might -----------------------------------------------------------------------------

    def holders(self, action: str, resource: str, account: str | None, *, prefix: bool = False
                ) -> tuple[Principal, ...]:
        """Principals of ``account`` that might be allowed ``action`` on ``resource`` (a superset).

        Principals without an identity entry (root users) are always included; everyone is
        confirmed by the engine afterwards.
        """
        key = (action.lower(), resource, prefix, account)
        hit = self._holders.get(key)
        if hit is None:
            req = self.iam(action, resource, account, prefix=prefix)
            pids = self.index.candidates(req)
            pool = self.d.principals.values() if pids is None else (self.d.principals[p] for p in pids)
            hit = tuple(p for p in pool if account is None or p.account == account)
            self._holders[key] = hit
        return hit

    def any_holder(self, actions: Iterable[str], account: str | None) -> tuple[Principal, ...]:
        """Principals of ``account`` holding any of ``actions`` on anything, in directory order."""
        seen: dict[str, Principal] = {}
        for action in actions:
            for p in self.holders(action, "", account, prefix=True):
                seen.setdefault(p.id, p)
        return tuple(seen.values())

    # -- verdicts ------------------------------------------------------------------------------

    def can(self, p: Principal, req: Request, *, identity: Identity | None = None, tag: str = "") -> Verdict:
        """The engine's verdict."""
        return self.engine.decide(p, req, identity=identity, tag=tag)

    def can_any(self, p: Principal, reqs: Iterable[Request]) -> Verdict:
        """Whether ``p`` may make at least one of ``reqs``."""
        return any_of(self.can(p, r) for r in reqs)

    def edge(self, p: Principal, edge: Edge) -> Verdict:
        """Whether ``p`` can take ``edge``."""
        best = any_of(all_of(self.can(p, r) for r in conj) for conj in edge.needs)
        if best.level is Level.NO or not edge.extra:
            return best
        return maybe(best.steps, (*best.conditions, *edge.extra))

    def partition(self, p: Principal) -> str:
        """The partition of a principal's ARNs."""
        return arn_partition(p.id) if p.id.startswith("arn:") else "aws"

    def is_iam(self, p: Principal) -> bool:
        """Users and roles (principals whose identity policies can be rewritten)."""
        return p.kind in (PrincipalKind.USER, PrincipalKind.ROLE) and p.id in self.d.identities


def label(v: Verdict, what: str) -> str:
    """``what`` with the statements that allow it."""
    why = "; ".join(v.steps)
    return f"{what} ({why})" if why else what
