"""Typed scope and organisation parameters from the user's ``aslcheck.yaml``.

The file is validated against ``schema/config.schema.json`` by :mod:`aslcheck.controls.loader`;
this module only holds the typed, frozen result and the scope predicates checks use.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Tighten(Enum):
    """How an overlay may change a parameter: only ever towards stricter."""

    LOWER = "lower"
    """Smaller is stricter (a maximum age, a budget)."""
    HIGHER = "higher"
    """Larger is stricter (a minimum retention)."""


@dataclass(frozen=True)
class ParamSpec:
    """Declaration of one organisation parameter."""

    name: str
    """Key under ``parameters:`` in ``aslcheck.yaml``."""
    default: int | None
    """Value when the config is silent (``None``: the check needing it yields ERROR)."""
    tighten: Tighten
    """Direction an overlay may move it."""
    doc: str
    """What it means."""


PARAM_SPECS: Mapping[str, ParamSpec] = {
    p.name: p
    for p in (
        ParamSpec("max_session_seconds", 3600, Tighten.LOWER,
                  "Longest session the weight-access (broker) role may issue."),
        ParamSpec("access_key_max_age_days", 90, Tighten.LOWER,
                  "Oldest active access key a human IAM user may hold."),
        ParamSpec("egress_budget_bytes_per_hour", None, Tighten.LOWER,
                  "Outbound bytes per hour allowed from weight environments before alarm/limit."),
        ParamSpec("patch_window_days", 14, Tighten.LOWER,
                  "Oldest pending security update tolerated on a host."),
        ParamSpec("log_retention_days", 365, Tighten.HIGHER,
                  "Minimum retention of security log groups."),
    )
}


@dataclass(frozen=True)
class HostGroupScope:
    """An inventory host group holding weights."""

    name: str
    """Ansible group name."""
    paths: tuple[str, ...]
    """Absolute paths on those hosts that hold weights."""


@dataclass(frozen=True)
class Scope:
    """What holds model weights, and where."""

    weight_tags: Mapping[str, str] = field(default_factory=dict)
    """A resource carrying all of these tags holds weights (e.g. ``asl:asset: model-weights``)."""
    weight_arn_patterns: tuple[str, ...] = ()
    """Glob patterns of ARNs (or Terraform addresses) of resources that hold weights."""
    allowed_storage: tuple[str, ...] = ()
    """Glob patterns of the declared, approved weight storage; weights anywhere else are strays."""
    approved_vpc_endpoints: tuple[str, ...] = ()
    """VPC endpoint IDs through which weight buckets may be read (empty: not required)."""
    host_groups: tuple[HostGroupScope, ...] = ()
    """Host groups holding weights and their paths."""
    aws: bool = False
    """Whether AWS is in scope (``weights.aws`` or ``aws`` declared)."""
    hosts: bool = False
    """Whether hosts are in scope (``weights.hosts`` declared)."""

    def holds_weights(self, tags: Mapping[str, str] | None, ident: str) -> bool | None:
        """Whether a resource holds weights; ``None`` when its tags are unknown and decide it.

        Declared weight storage (``allowed_storage``) holds weights whether or not it is tagged.
        """
        if any(fnmatch.fnmatchcase(ident, pat)
               for pat in (*self.weight_arn_patterns, *self.allowed_storage)):
            return True
        if not self.weight_tags:
            return False
        if tags is None:
            return None
        return all(tags.get(k) == v for k, v in self.weight_tags.items())

    def is_allowed_storage(self, ident: str) -> bool:
        """Whether ``ident`` is in the declared weight-storage allowlist."""
        return any(fnmatch.fnmatchcase(ident, pat) for pat in self.allowed_storage)


@dataclass(frozen=True)
class Access:
    """Who may touch weights."""

    roster: tuple[str, ...] = ()
    """Glob patterns of principal ARNs allowed to read weights (service roles, broker role)."""
    broker_roles: tuple[str, ...] = ()
    """ARNs of the role(s) issued by the access broker after two-party approval."""
    broker_principals: tuple[str, ...] = ()
    """ARNs of the broker itself: the only principals the broker role may trust."""
    human_patterns: tuple[str, ...] = ()
    """Glob patterns of principal ARNs that are people (IAM users are always people)."""
    host_roster: tuple[str, ...] = ()
    """Local user names allowed in weight-owning groups on hosts."""


@dataclass(frozen=True)
class Approvers:
    """Who may approve waivers by signing them (see :mod:`aslcheck.controls.signed_waivers`)."""

    keys: tuple[str, ...] = ()
    """Public key files of the approvers (paths resolved against the config file)."""
    threshold: int = 2
    """Distinct approver signatures a signed waiver needs; ASL-3 waivers always need at least 2."""
    require_signed: bool = False
    """When true, waivers of ASL-2 controls must be signed too (ASL-3 waivers always must)."""


@dataclass(frozen=True)
class Config:
    """The parsed, validated ``aslcheck.yaml``."""

    scope: Scope = field(default_factory=Scope)
    """What holds weights."""
    access: Access = field(default_factory=Access)
    """Rosters and the broker."""
    parameters: Mapping[str, int | None] = field(
        default_factory=lambda: {n: s.default for n, s in PARAM_SPECS.items()}
    )
    """Organisation parameters, by :data:`PARAM_SPECS` name."""
    host_settings: Mapping[str, Any] = field(default_factory=dict)
    """Host-check settings: ``edr_units``, ``hardware_keys_required``, ``sudo``."""
    aws_settings: Mapping[str, Any] = field(default_factory=dict)
    """AWS collection settings: ``regions``, ``organization_id``, ``assume_role``."""
    waivers_file: str | None = None
    """Path of the waiver file, relative paths resolved against the config file."""
    attestations_file: str | None = None
    """Path of the manual-attestation file."""
    source_file: str | None = None
    """Where this config came from (``None``: built-in empty config)."""
    approvers: Approvers = field(default_factory=Approvers)
    """Waiver approvers' keys and how many must sign."""

    def param(self, name: str) -> int | None:
        """An organisation parameter by name; unknown names are a programming error."""
        if name not in PARAM_SPECS:
            raise KeyError(f"unknown parameter {name!r}")
        return self.parameters.get(name)


def tighten(name: str, current: int | None, stricter: int) -> int:
    """Move parameter ``name`` towards ``stricter`` only: min for limits, max for minimums."""
    if current is None:
        return stricter
    if PARAM_SPECS[name].tighten is Tighten.LOWER:
        return min(current, stricter)
    return max(current, stricter)


def tighten_parameters(base: Mapping[str, int | None], overlay: Mapping[str, int]) -> dict[str, int | None]:
    """``base`` with every ``overlay`` value applied through :func:`tighten`."""
    out = dict(base)
    for name, value in overlay.items():
        out[name] = tighten(name, out.get(name), value)
    return out
