"""The one result model every renderer and the attestation read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from aslcheck.checks.interface import Finding
from aslcheck.controls.model import Control, ManualAttestation, Waiver
from aslcheck.inventories.snapshot import CollectionError


class ControlStatus(Enum):
    """Outcome of a control.

    - PASS: every check found evidence and it all satisfies the control (and, for manual or
      partial controls, a valid human attestation is recorded).
    - FAIL: at least one check found a violation that no active waiver covers.
    - INCONCLUSIVE: no violation found, but evidence is missing: a check errored, a collection
      error touched an in-scope resource or kind, or nothing was in scope. Never a pass.
    - NOT_ATTESTED: the automated part (if any) passed, but no valid human attestation exists.
    - WAIVED: the control would not pass, and an active waiver covers what is wrong.
    - NOT_APPLICABLE: the config declares the control's whole evidence family out of scope
      (e.g. no hosts); never the result of missing data.
    """

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_ATTESTED = "not_attested"
    WAIVED = "waived"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class Counts:
    """Per-control tallies over in-scope resources."""

    in_scope: int = 0
    """Distinct resources the control's checks looked at."""
    evaluated: int = 0
    """Findings that reached PASS or FAIL."""
    passed: int = 0
    failed: int = 0
    errored: int = 0
    """ERROR findings plus touching collection errors."""
    waived: int = 0
    """Findings covered by an active waiver."""

    def to_json(self) -> dict[str, int]:
        """JSON form."""
        return {
            "in_scope": self.in_scope,
            "evaluated": self.evaluated,
            "passed": self.passed,
            "failed": self.failed,
            "errored": self.errored,
            "waived": self.waived,
        }


@dataclass(frozen=True)
class CheckOutcome:
    """One check's findings, as seen by one control."""

    check: str
    version: int
    findings: tuple[Finding, ...]
    errors: tuple[CollectionError, ...]
    """Collection errors that touch this check's scope."""
    note: str | None = None
    """Check-level reason (e.g. "no in-scope resource", "hosts not in scope")."""
    status: str = ""
    """Check-level summary status (pass/fail/error/not_applicable)."""

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {
            "check": self.check,
            "version": self.version,
            "status": self.status,
            "findings": [f.to_json() for f in self.findings],
            "collection_errors": [e.to_json() for e in self.errors],
        }
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class ControlResult:
    """A control's outcome with everything that decided it."""

    control: Control
    status: ControlStatus
    reason: str
    checks: tuple[CheckOutcome, ...]
    counts: Counts
    waivers: tuple[Waiver, ...] = ()
    """Active waivers applied."""
    expired_waivers: tuple[Waiver, ...] = ()
    """Waivers that matched but had expired (they waived nothing)."""
    attestation: ManualAttestation | None = None
    """The valid human attestation used, if any."""
    underlying: ControlStatus | None = None
    """For WAIVED: what the status would have been without waivers."""

    @property
    def gating(self) -> bool:
        """Whether this result may affect the exit status."""
        return not self.control.optional

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        c = self.control
        out: dict[str, Any] = {
            "id": c.id,
            "title": c.title,
            "level": c.level,
            "domain": c.domain,
            "verification": c.verification.value,
            "optional": c.optional,
            "severity": c.severity.value,
            "status": self.status.value,
            "reason": self.reason,
            "counts": self.counts.to_json(),
            "checks": [o.to_json() for o in self.checks],
            "waivers": [_waiver_json(w, True) for w in self.waivers]
            + [_waiver_json(w, False) for w in self.expired_waivers],
        }
        if self.underlying is not None:
            out["underlying_status"] = self.underlying.value
        if self.attestation is not None:
            a = self.attestation
            out["attestation"] = {
                "attested_by": a.attested_by,
                "date": _iso(a.date),
                "evidence": a.evidence,
                "expires": _iso(a.expires),
            }
        return out


def _iso(value: Any) -> str:
    return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _waiver_json(w: Waiver, active: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "control": w.control,
        "justification": w.justification,
        "approver": w.approver,
        "ticket": w.ticket,
        "expires": _iso(w.expires),
        "active": active,
    }
    if w.resource is not None:
        out["resource"] = w.resource
    if w.approvers:
        out["approvers"] = list(w.approvers)
    if w.rejected is not None:
        out["rejected"] = w.rejected
    return out


@dataclass(frozen=True)
class RunResult:
    """Everything one evaluation produced, plus the digests an attestation binds."""

    profile: str
    results: tuple[ControlResult, ...]
    evaluated_at: str
    """RFC 3339 UTC time of evaluation."""
    tool_version: str
    snapshot_digest: str
    catalog_digest: str
    config_digest: str
    check_versions: Mapping[str, int] = field(default_factory=dict)
    collection_errors: tuple[CollectionError, ...] = ()
    """Every collection error in the snapshot (touching or not), for the record."""
    sources: tuple[str, ...] = ()
    """Collectors that produced the snapshot."""
    selection: Mapping[str, Any] | None = None
    """What ``--controls/--domains/--severity/--checks/--skip-checks`` narrowed (None: the whole
    profile); see :mod:`aslcheck.checks.selection`. Written only when set."""

    def tally(self) -> dict[ControlStatus, int]:
        """Number of controls per status."""
        out = dict.fromkeys(ControlStatus, 0)
        for r in self.results:
            out[r.status] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        """The JSON report (also the attestation predicate's ``results``)."""
        return {
            "profile": self.profile,
            "evaluated_at": self.evaluated_at,
            "tool_version": self.tool_version,
            "digests": {
                "snapshot": self.snapshot_digest,
                "catalog": self.catalog_digest,
                "config": self.config_digest,
            },
            "sources": list(self.sources),
            "summary": {s.value: n for s, n in self.tally().items()},
            "check_versions": dict(sorted(self.check_versions.items())),
            "controls": [r.to_json() for r in self.results],
            "collection_errors": [e.to_json() for e in self.collection_errors],
        } | ({"selection": dict(self.selection)} if self.selection is not None else {})
