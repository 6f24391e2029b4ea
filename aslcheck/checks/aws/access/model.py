"""Value types of the effective-access evaluator: verdicts, principals, requests and paths.

A :class:`Verdict` is three-valued: YES (decided true), MAYBE (true only if some condition the
evaluator cannot decide offline holds) and NO (decided false). The combinators keep the reason
(``steps``) and the undecided conditions so a reported path says *why* and *under what*.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aslcheck.checks.aws.access.policy import Policy


class Level(Enum):
    """How sure a verdict is."""

    NO = 0
    """Decided: does not hold."""
    MAYBE = 1
    """Holds only if undecidable conditions hold (reported as conditional)."""
    YES = 2
    """Decided: holds."""


@dataclass(frozen=True)
class Verdict:
    """A three-valued answer with the reasons for it."""

    level: Level
    """YES, MAYBE or NO."""
    steps: tuple[str, ...] = ()
    """Why it holds: the statements, grants and delegations involved."""
    conditions: tuple[str, ...] = ()
    """The undecided conditions a MAYBE depends on."""


NO = Verdict(Level.NO)
"""The decided negative verdict."""


def yes(*steps: str) -> Verdict:
    """A decided positive verdict."""
    return Verdict(Level.YES, tuple(steps))


def maybe(steps: Iterable[str], conditions: Iterable[str]) -> Verdict:
    """A verdict that holds only under ``conditions``."""
    return Verdict(Level.MAYBE, tuple(steps), _dedup(conditions))


def _dedup(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def any_of(verdicts: Iterable[Verdict]) -> Verdict:
    """Disjunction: the first YES, else the first MAYBE, else NO."""
    first_maybe: Verdict | None = None
    for v in verdicts:
        if v.level is Level.YES:
            return v
        if v.level is Level.MAYBE and first_maybe is None:
            first_maybe = v
    return first_maybe if first_maybe is not None else NO


def all_of(verdicts: Iterable[Verdict]) -> Verdict:
    """Conjunction: NO if any is NO, else MAYBE if any is MAYBE; steps and conditions merged."""
    steps: list[str] = []
    conds: list[str] = []
    level = Level.YES
    for v in verdicts:
        if v.level is Level.NO:
            return NO
        if v.level is Level.MAYBE:
            level = Level.MAYBE
        steps.extend(v.steps)
        conds.extend(v.conditions)
    return Verdict(level, _dedup(steps), _dedup(conds) if level is Level.MAYBE else ())


def better(a: Verdict, b: Verdict) -> Verdict:
    """The stronger of two verdicts (YES over MAYBE over NO; ``a`` on ties)."""
    return b if b.level.value > a.level.value else a


class PrincipalKind(Enum):
    """What kind of caller a principal is."""

    USER = "user"
    """An IAM user of a collected account."""
    ROLE = "role"
    """An IAM role of a collected account (its sessions act as it)."""
    ROOT = "root"
    """The root user of a collected account."""
    EXTERNAL = "external"
    """A named principal that is not in the snapshot (another account, or not collected)."""
    EXTERNAL_ACCOUNT = "external_account"
    """Any principal of an account whose IAM was not collected (``arn:...:iam::ACCT:root``)."""
    ANONYMOUS = "anonymous"
    """Anyone outside the collected accounts, including unauthenticated callers (``*``)."""
    SERVICE = "service"
    """An AWS service principal (``ec2.amazonaws.com``)."""
    FEDERATED = "federated"
    """A SAML or OIDC identity provider; its users assume roles through it."""
    FEDERATED_USER = "federated_user"
    """A federated-user session (``sts:GetFederationToken``) of an IAM user: the user's
    permissions under its own ARN (``arn:aws:sts::ACCT:federated-user/NAME``)."""
    CANONICAL = "canonical"
    """An S3 canonical user ID, which cannot be tied to an account or IAM principal offline."""


@dataclass(frozen=True)
class Principal:
    """A caller the evaluator reasons about. Policies attached to it live in the directory."""

    id: str
    """ARN (roles: the role ARN, which its sessions' ``aws:PrincipalArn`` carries), ``*``, or
    the service/provider name."""
    kind: PrincipalKind
    """What it is."""
    account: str | None
    """Its account, when known."""
    name: str | None = None
    """User or role name (``aws:username``; the assumed-role ARN uses the role name)."""
    tags: Mapping[str, str] | None = None
    """Principal tags; ``None`` when unknown (not collected, or overridable by session tags)."""
    has_boundary: bool = False
    """Whether a permissions boundary is attached (changes NotPrincipal Deny semantics)."""
    service_linked: bool = False
    """A service-linked role (SCPs do not apply to it)."""


class Service(Enum):
    """Which authorisation model the resource side follows."""

    S3 = "s3"
    """Resource policy optional: same-account identity policies suffice."""
    KMS = "kms"
    """The key policy must allow, directly or by delegating to the account (root)."""
    STS = "sts"
    """The role trust policy must allow, directly or by delegating to the account (root)."""
    IAM = "iam"
    """No resource policy exists: only the caller's own account can allow (IAM, STS federation,
    EC2 launches, SSM, Lambda code), through identity policies."""


@dataclass(frozen=True)
class Grant:
    """A KMS grant, as collected."""

    grant_id: str
    """Grant ID."""
    grantee: str
    """Grantee principal (ARN or service name)."""
    operations: tuple[str, ...]
    """Allowed operations (``Decrypt``)."""
    constrained: bool
    """Whether it carries encryption-context constraints (undecidable offline)."""


@dataclass(frozen=True)
class Request:
    """One action on one resource (or on every object under a bucket prefix)."""

    action: str
    """Canonical action name (``s3:GetObject``)."""
    resource: str
    """Resource ARN; with ``is_prefix`` the common prefix of the resource set."""
    is_prefix: bool
    """Whether ``resource`` stands for every ARN starting with it."""
    service: Service
    """Authorisation model of the resource side."""
    resource_id: str
    """The inventory resource this request is about (bucket, key or role ARN)."""
    resource_account: str | None
    """Account owning the resource."""
    policy: Policy | None
    """Resource policy (bucket policy, key policy, trust policy); ``None``: there is none."""
    policy_label: str = ""
    """Human name of the resource policy."""
    resource_tags: Mapping[str, str] | None = None
    """Resource tags (``aws:ResourceTag``); ``None`` when unknown."""
    grants: tuple[Grant, ...] = ()
    """KMS grants on the key."""
    gaps: tuple[str, ...] = ()
    """Known data gaps about the resource that could add readers (reported, never ignored)."""
    context: Mapping[str, tuple[str, ...]] | None = None
    """Request-specific condition keys, lower-cased (``iam:PassedToService``)."""
    variant: str = ""
    """Tells apart requests on the same resource with a different policy (an attacker's rewrite)."""

    @property
    def key(self) -> tuple[str, str, bool, str]:
        """Memo key (action, resource, prefix flag, variant)."""
        return (self.action.lower(), self.resource, self.is_prefix, self.variant)

    @property
    def display_resource(self) -> str:
        """The resource as shown in reports (``arn:aws:s3:::b/*`` for object sets)."""
        return self.resource + "*" if self.is_prefix else self.resource


@dataclass(frozen=True)
class ReadTarget:
    """Reading one weight resource: every read action on it, and what its control plane allows.

    A principal reads it when any of ``reads`` is allowed, or when it can change the resource
    policy so that one is (the control-plane template ``control`` carries the resource's own
    policy and account for those questions).
    """

    resource_id: str
    """The inventory resource (bucket or key ARN)."""
    display: str
    """How reports name what is read (``arn:aws:s3:::b/*`` or the key ARN)."""
    reads: tuple[Request, ...]
    """One request per read action (see :mod:`.actions`)."""
    control: Request
    """Control-plane request template on the resource itself (bucket or key ARN); its action is
    replaced per question (``s3:PutBucketPolicy``)."""
    gaps: tuple[str, ...] = ()
    """Known data gaps that could add readers."""
    acl_enabled: bool | None = None
    """Buckets: whether ACLs are in effect (``None``: ownership not collected)."""
    multi_region: bool | None = False
    """Keys: whether the key is multi-Region (replicas share its material); ``None``: unknown."""

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        """Memo key."""
        return (self.resource_id, tuple(r.action for r in self.reads))

    @property
    def actions(self) -> tuple[str, ...]:
        """The read actions."""
        return tuple(r.action for r in self.reads)

    @property
    def resource_account(self) -> str | None:
        """Account owning the resource."""
        return self.control.resource_account


@dataclass(frozen=True)
class AccessPath:
    """How one principal can perform one action on one resource."""

    principal: str
    """Who holds the credentials at the start of the path."""
    principal_kind: PrincipalKind
    """What kind of principal that is."""
    action: str
    """The action reached (``s3:GetObject``, ``kms:Decrypt``)."""
    resource: str
    """The resource (``arn:aws:s3:::b/*`` or the key ARN)."""
    via: tuple[str, ...] = ()
    """Roles assumed in order, the last one performing the action (empty: direct)."""
    steps: tuple[str, ...] = ()
    """Each hop with the policies that allow it."""
    conditional: bool = False
    """Whether the path depends on conditions the evaluator could not decide."""
    conditions: tuple[str, ...] = ()
    """Those conditions."""

    def to_json(self) -> dict[str, Any]:
        """JSON form for finding evidence."""
        return {
            "principal": self.principal,
            "principal_kind": self.principal_kind.value,
            "action": self.action,
            "resource": self.resource,
            "via": list(self.via),
            "steps": list(self.steps),
            "conditional": self.conditional,
            "conditions": list(self.conditions),
        }


@dataclass(frozen=True)
class AccessResult:
    """Every principal that can perform a request, with one best path each."""

    target: ReadTarget
    """What was asked."""
    paths: tuple[AccessPath, ...]
    """One path per principal: unconditional if one exists, else the shortest conditional."""
    gaps: tuple[str, ...] = field(default=())
    """Missing data that could add principals (trust policies not collected, depth cut off)."""
