"""Frozen models of the control catalog, waivers and manual attestations."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, NewType

ControlId = NewType("ControlId", str)
"""Stable control identifier, e.g. ``ASL3-WA-1``."""


class Severity(Enum):
    """How much a violated control matters, by the control's role (rubric: docs/formats.md).

    - CRITICAL: stands directly between an attacker and the weights (weight access, two-party
      authorization, weight encryption and keys, egress limits on weights).
    - HIGH: a failure opens a likely path to the weights or blinds detection (identity, host
      hardening, segmentation, logging, change integrity).
    - MEDIUM: procedures and assurance whose failure weakens the programme indirectly.
    - LOW: governance and awareness.
    """

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """3 for CRITICAL down to 0 for LOW: ``a.rank >= b.rank`` means a is at least as severe."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.CRITICAL: 3, Severity.HIGH: 2, Severity.MEDIUM: 1, Severity.LOW: 0}

DEFAULT_SEVERITY = Severity.MEDIUM
"""Severity of a control whose catalog file declares none (the built-in catalog declares all)."""


class Verification(Enum):
    """How a control is verified."""

    AUTOMATED = "automated"
    """Checks alone decide it."""
    PARTIAL = "partial"
    """Checks decide the technical part; a person attests the rest."""
    MANUAL = "manual"
    """Only a human attestation can satisfy it."""


@dataclass(frozen=True)
class RspSource:
    """A citation of the RSP (or an Anthropic publication)."""

    version: str
    """RSP version (``2.2``) or publication key (``PLAN-2024-10``)."""
    section: str
    """Section or item."""


@dataclass(frozen=True)
class Control:
    """One control of the catalog."""

    id: ControlId
    title: str
    level: str
    """``ASL-2`` or ``ASL-3``."""
    domain: str
    """Two-letter domain code (WA, TP, EN, ...)."""
    statement: str
    """What must be true."""
    rsp: tuple[RspSource, ...]
    nist: tuple[str, ...]
    verification: Verification
    checks: tuple[str, ...]
    """IDs of the checks that verify it."""
    rand: str | None = None
    evidence: str | None = None
    """What a person must attest (manual and partial controls)."""
    remediation: str | None = None
    optional: bool = False
    """Reported, never gating."""
    origin: str = ""
    """``file:line`` where it was declared."""
    parameters: Mapping[str, int] = field(default_factory=dict)
    """Per-control parameter tightenings from overlays."""
    severity: Severity = DEFAULT_SEVERITY
    """How much a violation matters (overlays may raise it, never lower it)."""

    def to_json(self) -> dict[str, Any]:
        """JSON form (also what the catalog digest covers)."""
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "level": self.level,
            "domain": self.domain,
            "statement": self.statement,
            "sources": {
                "rsp": [{"version": s.version, "section": s.section} for s in self.rsp],
                "nist": list(self.nist),
            },
            "verification": self.verification.value,
            "checks": list(self.checks),
            "optional": self.optional,
            "severity": self.severity.value,
        }
        if self.rand is not None:
            out["sources"]["rand"] = self.rand
        for name in ("evidence", "remediation"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.parameters:
            out["parameters"] = dict(self.parameters)
        return out


@dataclass(frozen=True)
class Profile:
    """A named selection of controls by level."""

    name: str
    title: str
    levels: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    """The merged catalog: built-in plus user files and overlays."""

    controls: Mapping[ControlId, Control]
    profiles: Mapping[str, Profile]
    files: tuple[str, ...]
    """Files it was built from, in order."""
    parameters: Mapping[str, int] = field(default_factory=dict)
    """Catalog-wide parameter tightenings from overlays."""

    def profile(self, name: str) -> Profile:
        """A profile by name (``KeyError`` when unknown; the CLI reports it)."""
        return self.profiles[name]

    def select(self, profile: str) -> tuple[Control, ...]:
        """Controls of a profile, in ID order."""
        levels = set(self.profile(profile).levels)
        return tuple(c for c in self if c.level in levels)

    def __iter__(self) -> Iterator[Control]:
        return iter(sorted(self.controls.values(), key=lambda c: _id_key(c.id)))

    def to_json(self) -> dict[str, Any]:
        """Canonical content, for the catalog digest."""
        return {
            "profiles": {
                p.name: {"title": p.title, "levels": list(p.levels)}
                for p in sorted(self.profiles.values(), key=lambda p: p.name)
            },
            "controls": [c.to_json() for c in self],
            "parameters": dict(self.parameters),
        }


def _id_key(cid: str) -> tuple[Any, ...]:
    parts = cid.split("-")
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


@dataclass(frozen=True)
class Waiver:
    """An accepted, time-limited exception."""

    control: ControlId
    justification: str
    approver: str
    ticket: str
    expires: datetime
    resource: str | None = None
    """When set, only findings on this resource are waived."""
    origin: str = ""
    approvers: tuple[str, ...] = ()
    """Distinct approvers whose signatures verified (filled by signed-waiver loading)."""
    rejected: str | None = None
    """Why this waiver waives nothing although unexpired (e.g. missing approver signatures);
    set by :mod:`aslcheck.controls.signed_waivers`. Rejected waivers stay visible in reports."""

    def active(self, now: datetime) -> bool:
        """An expired or rejected waiver waives nothing."""
        return self.rejected is None and now < self.expires


@dataclass(frozen=True)
class ManualAttestation:
    """A person's recorded statement that a manual (part of a) control holds."""

    control: ControlId
    attested_by: str
    date: datetime
    evidence: str
    """Link to the evidence (document, ticket, export)."""
    expires: datetime
    origin: str = ""

    def valid(self, now: datetime) -> bool:
        """Recorded in the past and not expired."""
        return self.date <= now < self.expires
