"""Which AWS resources hold weights, shared by every AWS check (see the bottom of the AWS model).

- weight storage (:mod:`aslcheck.checks.aws.weight_scope`): buckets, keys, instances,
  volumes, snapshots and AMIs that hold weights by tag, ARN pattern or ``allowed_storage``,
  and their copies (replica buckets, volumes, snapshots and AMIs of weight instances,
  multi-Region key siblings) and the keys that encrypt them;
- weight buckets and weight keys: the buckets and keys of that closure;
- weight VPCs: VPCs tagged as weights, VPCs of weight-tagged instances, VPCs of the approved
  weight VPC endpoints.

Each selector returns a :class:`ScopeSelection`: the resources decidably in scope, the ones
whose scope cannot be decided (tags or a link not collected), and references that could not
be resolved (a key, replica or VPC named but not collected). Checks turn the last two into
ERROR findings.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from aslcheck.checks.aws.weight_scope import (
    S3_DEFAULT_KEY_ALIAS,
    UnresolvedRef,
    WeightScope,
    compute,
    is_aws_managed_alias,
    qualify_key_ref,
)
from aslcheck.controls.config import Config, Scope
from aslcheck.inventories.snapshot import Resource, Snapshot

BUCKET = "aws.s3.bucket"
KEY = "aws.kms.key"
VPC = "aws.ec2.vpc"
INSTANCE = "aws.ec2.instance"
ENDPOINT = "aws.ec2.vpc_endpoint"

__all__ = ["S3_DEFAULT_KEY_ALIAS", "ScopeSelection", "UnresolvedRef", "is_aws_managed_alias",
           "is_human", "matches_any", "qualify_key_ref", "resolve_kms_key", "weight_buckets",
           "weight_keys", "weight_storage", "weight_vpcs"]


@dataclass(frozen=True)
class ScopeSelection:
    """The outcome of a scope selector."""

    resources: tuple[Resource, ...] = ()
    """Decidably in scope."""
    undecided: tuple[Resource, ...] = ()
    """Scope not decidable (tags or a link not collected); never silently out of scope."""
    unresolved: tuple[UnresolvedRef, ...] = ()
    """References from in-scope (or undecided) resources to things not in the snapshot."""
    reasons: Mapping[str, tuple[str, ...]] | None = None
    """Why each resource is in scope, by ID."""


def matches_any(value: str, patterns: Iterable[str]) -> bool:
    """Whether ``value`` matches one of the glob ``patterns`` (exact ARNs match themselves)."""
    return any(fnmatchcase(value, p) for p in patterns)


_MEMO: dict[str, tuple[weakref.ref[Snapshot], Scope, object]] = {}


def _memoised(name: str, snapshot: Snapshot, config: Config,
              compute_fn: Callable[[Snapshot, Config], object]) -> object:
    """``compute_fn(snapshot, config)``, computed once per (snapshot, scope) pair.

    NOTE: the selectors are pure in the snapshot and the config's *scope*, and a dozen checks
    of one run ask the same question over every bucket, key, VPC and instance; the engine
    evaluates controls with per-control parameters (different configs, one scope). One entry
    per selector, keyed by identity (snapshots are unhashable); the weak reference makes a
    recycled ``id`` miss, and the entry holds the scope itself, so its identity cannot be
    recycled while the entry lives.
    """
    hit = _MEMO.get(name)
    if hit is not None and hit[0]() is snapshot and hit[1] is config.scope:
        return hit[2]
    value = compute_fn(snapshot, config)
    _MEMO[name] = (weakref.ref(snapshot), config.scope, value)
    return value


def weight_storage(snapshot: Snapshot, config: Config) -> WeightScope:
    """The weight-storage closure (:func:`aslcheck.checks.aws.weight_scope.compute`), memoised."""
    got = _memoised("storage", snapshot, config, compute)
    assert isinstance(got, WeightScope)
    return got


def _select(snapshot: Snapshot, config: Config, kind: str) -> ScopeSelection:
    scope = weight_storage(snapshot, config)
    res = snapshot.of_kind(kind)
    held = [r for r in res if r.key() in scope.held]
    return ScopeSelection(
        tuple(sorted(held, key=lambda r: r.id)),
        tuple(sorted((r for r in res if r.key() in scope.undecided), key=lambda r: r.id)),
        tuple(r for r in scope.unresolved if r.kind == kind),
        {r.id: scope.held[r.key()] for r in held})


def weight_buckets(snapshot: Snapshot, config: Config) -> ScopeSelection:
    """Buckets holding weights: by tag, ARN pattern or allowed storage, and their replicas."""
    got = _memoised("buckets", snapshot, config, lambda s, c: _select(s, c, BUCKET))
    assert isinstance(got, ScopeSelection)
    return got


def resolve_kms_key(snapshot: Snapshot, ref: str, *, account: str | None,
                    region: str | None) -> Resource | None:
    """The collected key ``ref`` names: key ARN, key ID, ``alias/NAME`` or alias ARN.

    Key IDs and alias names are resolved in ``account``/``region`` (the referring resource's),
    alias ARNs in the account and region they carry.
    """
    keys = snapshot.of_kind(KEY)
    if ref.startswith("arn:") and ":key/" in ref:
        return next((k for k in keys if k.id == ref), None)
    alias: str | None = None
    if ref.startswith("arn:") and ":alias/" in ref:
        parts = ref.split(":", 5)
        if len(parts) == 6:
            region, account, alias = parts[3], parts[4], parts[5]
    elif ref.startswith("alias/"):
        alias = ref
    for key in keys:
        if key.account != account or key.region != region:
            continue
        if alias is None and key.attributes.get("key_id") == ref:
            return key
        aliases = key.attributes.get("aliases")
        if alias is not None and isinstance(aliases, list) and alias in aliases:
            return key
    return None


def weight_keys(snapshot: Snapshot, config: Config) -> ScopeSelection:
    """KMS keys protecting weights: weight-tagged keys, the keys weight buckets, volumes and
    snapshots use, and multi-Region siblings of any of them."""
    got = _memoised("keys", snapshot, config, lambda s, c: _select(s, c, KEY))
    assert isinstance(got, ScopeSelection)
    return got


def weight_vpcs(snapshot: Snapshot, config: Config) -> ScopeSelection:
    """VPCs holding weights: tagged, hosting weight instances, or hosting approved endpoints."""
    got = _memoised("vpcs", snapshot, config, _weight_vpcs)
    assert isinstance(got, ScopeSelection)
    return got


def _weight_vpcs(snapshot: Snapshot, config: Config) -> ScopeSelection:
    vpcs: dict[tuple[str | None, str | None, str], Resource] = {}
    for vpc in snapshot.of_kind(VPC):
        vid = vpc.attributes.get("vpc_id")
        vpcs[(vpc.account, vpc.region, vid if isinstance(vid, str) else vpc.id.rsplit("/", 1)[-1])] = vpc
    held: dict[str, Resource] = {}
    why: dict[str, list[str]] = {}
    undecided: dict[str, Resource] = {}
    unresolved: list[UnresolvedRef] = []

    def mark(owner: Resource, vpc_id: object, reason: str, sure: bool) -> None:
        if not isinstance(vpc_id, str):
            unresolved.append(UnresolvedRef(owner.id, "<vpc_id>", f"{reason}: its VPC was not collected"))
            return
        vpc = vpcs.get((owner.account, owner.region, vpc_id))
        if vpc is None:
            unresolved.append(UnresolvedRef(owner.id, vpc_id, f"{reason}: VPC not in the snapshot"))
        elif sure:
            held[vpc.id] = vpc
            why.setdefault(vpc.id, []).append(reason)
        else:
            undecided[vpc.id] = vpc

    for vpc in vpcs.values():
        holds = config.scope.holds_weights(vpc.tags, vpc.id)
        if holds:
            held[vpc.id] = vpc
            why.setdefault(vpc.id, []).append("tagged or named as holding weights")
        elif holds is None:
            undecided[vpc.id] = vpc
    for inst in snapshot.of_kind(INSTANCE):
        holds = config.scope.holds_weights(inst.tags, inst.id)
        if holds is not False:
            mark(inst, inst.attributes.get("vpc_id"), f"weight instance {inst.id}", bool(holds))
    approved = set(config.scope.approved_vpc_endpoints)
    for ep in snapshot.of_kind(ENDPOINT):
        if ep.attributes.get("endpoint_id") in approved:
            mark(ep, ep.attributes.get("vpc_id"), f"approved weight endpoint {ep.attributes['endpoint_id']}", True)
    for vid in held:
        undecided.pop(vid, None)
    return ScopeSelection(tuple(held[k] for k in sorted(held)), tuple(undecided[k] for k in sorted(undecided)),
                          tuple(unresolved), {k: tuple(v) for k, v in why.items()})


def is_human(principal: str, config: Config) -> bool:
    """Whether a principal ARN stands for people (or may include them).

    People: IAM users (always), the account root user and whole accounts (``...:root``),
    anyone (``*``), SAML providers and federated-user sessions, IAM Identity Center
    permission-set roles (``/aws-reserved/sso.amazonaws.com/``, ``AWSReservedSSO_*``
    sessions), and whatever matches ``access.human_patterns``.
    """
    if principal == "*" or matches_any(principal, config.access.human_patterns):
        return True
    parts = principal.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return False
    service, resource = parts[2], parts[5]
    if service == "iam":
        return (resource.startswith(("user/", "saml-provider/")) or resource == "root"
                or resource.startswith("role/aws-reserved/sso.amazonaws.com/"))
    if service == "sts":
        return resource.startswith(("federated-user/", "assumed-role/AWSReservedSSO_"))
    return False
