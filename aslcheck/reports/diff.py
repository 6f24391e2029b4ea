"""Compare two runs: regressions, improvements, status and evidence changes, per control.

A *regression* is a control that is newly FAIL, INCONCLUSIVE or NOT_ATTESTED, or moved to a
worse one of those (INCONCLUSIVE -> FAIL), including a control that did not exist before and
is in one of those states. An *improvement* is a control that left those states for PASS,
WAIVED or NOT_APPLICABLE. Every other status move is a *status change*; a control whose status
stayed the same but whose findings (status, reason, evidence) or collection errors changed has
*changed evidence*; clock readings (``as_of``, a host's time, collection times) are not
evidence (:func:`untimed`), so a nightly diff of unchanged infrastructure says "no changes".
Controls present in only one run are *added* or *removed*.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from aslcheck.errors import BadInputError, Location, VerificationError, assert_never
from aslcheck.inventories.snapshot import canonical_json
from aslcheck.reports.model import ControlStatus
from aslcheck.reports.signing import PublicKey, is_envelope, unverified_statement, verify_envelope

BAD = (ControlStatus.NOT_ATTESTED, ControlStatus.INCONCLUSIVE, ControlStatus.FAIL)
"""Statuses that gate, in increasing severity."""
_MAX_DETAILS = 20
_DATETIME = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
"""A date-time (with a time of day): when something was observed, not what was observed."""
_TIME_KEY = re.compile(r"(?:^|_)(?:epoch|time|timestamp|as_of|at)$")
"""Evidence keys whose numbers are clock readings (``host_time_epoch``, ``collected_at``)."""
TIME_MASK = "<time>"


class ChangeKind(Enum):
    """How a control changed between two runs."""

    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    STATUS_CHANGED = "status_changed"
    EVIDENCE_CHANGED = "evidence_changed"
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True)
class LoadedRun:
    """The results of one run and where they came from."""

    path: str
    results: Mapping[str, Any]
    """The results JSON (``results.json`` or ``predicate.results`` of an attestation)."""
    signed_by: tuple[str, ...] | None
    """Key IDs that verified it; ``None`` when it was not verified."""

    @property
    def label(self) -> str:
        """``path (profile, time)``."""
        return f"{self.path} ({self.results.get('profile')}, {self.results.get('evaluated_at')})"


def load_run(path: str, keys: Sequence[PublicKey] = (), threshold: int = 1) -> LoadedRun:
    """Read an attestation or a ``results.json``; with ``keys``, only a verified attestation is accepted."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise BadInputError(f"cannot read: {exc.strerror}", Location(path)) from exc
    if is_envelope(data):
        if keys:
            verified = verify_envelope(data, keys, threshold)
            stmt, signed = verified.statement, verified.keyids
        else:
            try:
                stmt, signed = unverified_statement(data), None
            except VerificationError as exc:
                raise BadInputError(f"not an aslcheck attestation: {exc}", Location(path)) from exc
        results = stmt["predicate"].get("results")
    else:
        if keys:
            raise VerificationError([f"{path} is not a signed attestation; it cannot be verified "
                                     "(pass attestation.dsse.json, or omit --key)"])
        try:
            results = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadInputError(f"neither an attestation nor results JSON: {exc}", Location(path)) from exc
        signed = None
    if not isinstance(results, dict) or not isinstance(results.get("controls"), list):
        raise BadInputError("no control results found (expected results.json or an attestation)", Location(path))
    return LoadedRun(os.fspath(path), results, signed)


@dataclass(frozen=True)
class ControlChange:
    """One control's change."""

    control: str
    title: str
    kind: ChangeKind
    old: ControlStatus | None
    """Status in the old run (``None``: absent)."""
    new: ControlStatus | None
    """Status in the new run (``None``: absent)."""
    reason: str
    """The new run's reason (the old one's for a removed control)."""
    details: tuple[str, ...] = ()
    """Finding-level changes."""


@dataclass(frozen=True)
class RunDiff:
    """Every change between two runs, in control order."""

    old: LoadedRun
    new: LoadedRun
    changes: tuple[ControlChange, ...]

    def of(self, kind: ChangeKind) -> tuple[ControlChange, ...]:
        """The changes of one kind."""
        return tuple(c for c in self.changes if c.kind is kind)

    @property
    def regressions(self) -> tuple[ControlChange, ...]:
        """Controls newly failing, inconclusive or not attested."""
        return self.of(ChangeKind.REGRESSION)

    def to_json(self) -> dict[str, Any]:
        """Machine-readable form."""
        return {
            "old": {"path": self.old.path, "evaluated_at": self.old.results.get("evaluated_at"),
                    "verified": self.old.signed_by is not None},
            "new": {"path": self.new.path, "evaluated_at": self.new.results.get("evaluated_at"),
                    "verified": self.new.signed_by is not None},
            "changes": [{"control": c.control, "title": c.title, "kind": c.kind.value,
                         "old": c.old.value if c.old else None, "new": c.new.value if c.new else None,
                         "reason": c.reason, "details": list(c.details)} for c in self.changes],
        }


def _status(value: Any, where: str) -> ControlStatus:
    try:
        return ControlStatus(value)
    except ValueError:
        raise BadInputError(f"unknown control status {value!r}", Location(where)) from None


def classify(old: ControlStatus | None, new: ControlStatus | None) -> ChangeKind | None:
    """The kind of a status move (``None``: no status change)."""
    if old is None and new is None:
        return None
    if new is None:
        return ChangeKind.REMOVED
    if old is None:
        return ChangeKind.REGRESSION if new in BAD else ChangeKind.ADDED
    if old is new:
        return None
    if new in BAD and (old not in BAD or BAD.index(new) > BAD.index(old)):
        return ChangeKind.REGRESSION
    if old in BAD and new not in BAD:
        return ChangeKind.IMPROVEMENT
    return ChangeKind.STATUS_CHANGED


def _findings(control: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    out: dict[tuple[str, str], Mapping[str, Any]] = {}
    for check in control.get("checks", []):
        for f in check.get("findings", []):
            out[(check.get("check", ""), f.get("resource") or "-")] = f
        for e in check.get("collection_errors", []):
            where = e.get("resource") or e.get("host") or e.get("source") or "-"
            out[(check.get("check", ""), f"collection error {e.get('operation')} on {where}")] = {
                "status": "error", "reason": f"{e.get('code')}: {e.get('message')}", "evidence": {}}
    return out


def untimed(value: Any, key: str | None = None) -> Any:
    """``value`` with clock readings masked: date-times in strings, numbers under time-named keys.

    Two runs of unchanged infrastructure differ in these (``as_of``, a host's clock), and a diff
    that reported them would bury real changes. Dates without a time of day (an expiry) and
    durations (``*_age_days``) are evidence and are kept.
    """
    if isinstance(value, str):
        return _DATETIME.sub(TIME_MASK, value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return TIME_MASK if key is not None and _TIME_KEY.search(key) else value
    if isinstance(value, Mapping):
        return {k: untimed(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [untimed(v, key) for v in value]
    return value


def _short(value: Any) -> str:
    text = canonical_json(value).decode() if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."


def evidence_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Finding-level differences between two results of the same control."""
    a, b = _findings(old), _findings(new)
    out: list[str] = []
    for key in sorted(set(a) | set(b)):
        check, res = key
        fa, fb = a.get(key), b.get(key)
        if fa is None and fb is not None:
            out.append(f"{check} on {res}: new finding ({fb.get('status')}): {fb.get('reason')}")
        elif fb is None and fa is not None:
            out.append(f"{check} on {res}: finding gone (was {fa.get('status')})")
        elif fa is not None and fb is not None:
            before = len(out)
            if fa.get("status") != fb.get("status"):
                out.append(f"{check} on {res}: {fa.get('status')} -> {fb.get('status')}: {fb.get('reason')}")
            ea, eb = fa.get("evidence", {}) or {}, fb.get("evidence", {}) or {}
            for name in sorted(set(ea) | set(eb)):
                va, vb = ea.get(name, "<absent>"), eb.get(name, "<absent>")
                if untimed(va, name) != untimed(vb, name):
                    out.append(f"{check} on {res}: evidence {name}: {_short(va)} -> {_short(vb)}")
            if len(out) == before and untimed(fa.get("reason")) != untimed(fb.get("reason")):
                out.append(f"{check} on {res}: reason now: {fb.get('reason')}")
    if len(out) > _MAX_DETAILS:
        out = out[:_MAX_DETAILS] + [f"... and {len(out) - _MAX_DETAILS} more"]
    return out


def diff_runs(old: LoadedRun, new: LoadedRun) -> RunDiff:
    """Compare two runs control by control (in the new run's order, then removed controls)."""
    a = {c["id"]: c for c in old.results["controls"]}
    b = {c["id"]: c for c in new.results["controls"]}
    order = [c["id"] for c in new.results["controls"]] + [c["id"] for c in old.results["controls"]
                                                          if c["id"] not in b]
    changes: list[ControlChange] = []
    for cid in order:
        ca, cb = a.get(cid), b.get(cid)
        sa = _status(ca["status"], old.path) if ca else None
        sb = _status(cb["status"], new.path) if cb else None
        kind = classify(sa, sb)
        current = cb or ca
        assert current is not None
        details: tuple[str, ...] = ()
        if ca is not None and cb is not None:
            details = tuple(evidence_changes(ca, cb))
        if kind is None:
            if not details:
                continue
            kind = ChangeKind.EVIDENCE_CHANGED
        changes.append(ControlChange(cid, current.get("title", ""), kind, sa, sb,
                                     current.get("reason", ""), details))
    return RunDiff(old, new, tuple(changes))


def describe(change: ControlChange) -> str:
    """One line: ``ASL3-EN-1 Title: pass -> fail``."""
    kind = change.kind
    old = change.old.value if change.old else "absent"
    new = change.new.value if change.new else "absent"
    if kind in (ChangeKind.REGRESSION, ChangeKind.IMPROVEMENT, ChangeKind.STATUS_CHANGED,
                ChangeKind.ADDED, ChangeKind.REMOVED):
        return f"{change.control} {change.title}: {old} -> {new}"
    if kind is ChangeKind.EVIDENCE_CHANGED:
        return f"{change.control} {change.title}: still {new}, evidence changed"
    assert_never(kind)
