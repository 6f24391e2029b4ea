"""The one result model every renderer and the attestation read."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar

from aslcheck.checks.interface import Finding
from aslcheck.controls.model import Control, ManualAttestation, Waiver
from aslcheck.inventories.snapshot import CollectionError

_T = TypeVar("_T")


class LazyArray(Generic[_T]):
    """A JSON array whose items are converted only when iterated.

    ``to_json(lazy=True)`` puts these where a report holds many items (controls, findings,
    collection errors), so a streaming writer (``reports/render/json_.py``) can encode one
    item at a time instead of first building a 1M-finding tree of dicts.
    """

    __slots__ = ("_convert", "_items")

    def __init__(self, items: Sequence[_T], convert: Callable[[_T], Any]) -> None:
        self._items = items
        self._convert = convert

    def __iter__(self) -> Iterator[Any]:
        return map(self._convert, self._items)

    def __len__(self) -> int:
        return len(self._items)


def _array(items: Sequence[_T], convert: Callable[[_T], Any], lazy: bool) -> list[Any] | LazyArray[_T]:
    return LazyArray(items, convert) if lazy else [convert(x) for x in items]


def compact_finding(finding: Finding) -> Finding:
    """The finding, with its reason and evidence strings shared with equal ones (interned).

    NOTE: a 1M-resource run keeps ~800k findings for the report. Their reasons are f-strings
    built per finding and their evidence holds values decoded per resource from the compact
    snapshot, yet at 100k resources 78k findings have ~1k distinct reasons and ~2k distinct
    evidence strings (of 146k). Interning them saves ~150 MB at 1M. It is done in place, with
    no new objects (a rebuilt copy cost 17% of evaluation time): each string is replaced by an
    equal one, so no value, type, equality or output changes; only ``is`` could tell.
    """
    object.__setattr__(finding, "reason", _intern(finding.reason))
    _intern_strings(finding.evidence)
    return finding


_intern = sys.intern


def _intern_strings(value: Any) -> None:
    """Replace, in place, the strings inside dicts and lists of ``value`` by interned equal ones."""
    if type(value) is dict:
        for key, item in value.items():  # values change, keys do not: iteration stays valid
            kind = type(item)
            if kind is str:
                value[key] = _intern(item)
            elif kind is dict or kind is list:
                _intern_strings(item)
    elif type(value) is list:
        for i, item in enumerate(value):
            kind = type(item)
            if kind is str:
                value[i] = _intern(item)
            elif kind is dict or kind is list:
                _intern_strings(item)


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

    def to_json(self, *, lazy: bool = False) -> dict[str, Any]:
        """JSON form (``lazy``: long arrays as :class:`LazyArray`)."""
        out: dict[str, Any] = {
            "check": self.check,
            "version": self.version,
            "status": self.status,
            "findings": _array(self.findings, Finding.to_json, lazy),
            "collection_errors": _array(self.errors, CollectionError.to_json, lazy),
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

    def to_json(self, *, lazy: bool = False) -> dict[str, Any]:
        """JSON form (``lazy``: long arrays as :class:`LazyArray`)."""
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
            "checks": _array(self.checks, lambda o: o.to_json(lazy=lazy), lazy),
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

    def to_json(self, *, lazy: bool = False) -> dict[str, Any]:
        """The JSON report (also the attestation predicate's ``results``).

        ``lazy`` returns the same document with its long arrays as :class:`LazyArray` (for
        streaming writers); the default builds plain dicts and lists.
        """
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
            "controls": _array(self.results, lambda r: r.to_json(lazy=lazy), lazy),
            "collection_errors": _array(self.collection_errors, CollectionError.to_json, lazy),
        } | ({"selection": dict(self.selection)} if self.selection is not None else {})
