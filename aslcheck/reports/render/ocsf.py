"""OCSF 1.5.0 Compliance Finding events (class_uid 2003), the format Prowler and Security Hub speak.

``results.ocsf.json`` is a JSON array with one event per line. Two kinds of event, told apart by
``finding_info.types``:

- ``aslcheck/control``: one per control, its verdict (``compliance.status_id``), reason and the
  checks that decided it. Always present, so an INCONCLUSIVE or NOT_ATTESTED control with no
  resource-level finding still reaches the SIEM.
- ``aslcheck/finding``: one per check finding on a resource (or check-level), with the resource,
  the check as ``compliance.requirements`` and the observed evidence in ``evidences[].data``;
  failing ones also repeat the control's statement and remediation (passing ones stay lean: at
  400k resources every repeated byte is hundreds of MB).

Status mapping (``compliance.status_id``; OCSF has no "inconclusive", but "Warning" is defined as
"did not yield a result due to missing information"): PASS -> 1 Pass, FAIL -> 3 Fail,
INCONCLUSIVE and ERROR -> 2 Warning, NOT_ATTESTED and NOT_APPLICABLE -> 99 Other (``status``
names them). A WAIVED control keeps the status it would have had (a waiver is not a pass) and the
event's ``status_id`` is 3 Suppressed. ``compliance.status_code`` always holds aslcheck's own status.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

from aslcheck.checks.interface import Finding, Status
from aslcheck.controls.model import Severity
from aslcheck.errors import assert_never
from aslcheck.reports.attestation import parse_time
from aslcheck.reports.interface import Renderer
from aslcheck.reports.model import CheckOutcome, ControlResult, ControlStatus, RunResult

OCSF_VERSION = "1.5.0"
CLASS_UID = 2003
CATEGORY_UID = 2
ACTIVITY_CREATE = 1
TYPE_UID = CLASS_UID * 100 + ACTIVITY_CREATE

_SEVERITY = {Severity.CRITICAL: (5, "Critical"), Severity.HIGH: (4, "High"), Severity.MEDIUM: (3, "Medium"),
             Severity.LOW: (2, "Low")}


def control_compliance(status: ControlStatus) -> tuple[int, str]:
    """``(compliance.status_id, compliance.status)`` of a control status (WAIVED: see the module doc)."""
    if status is ControlStatus.PASS:
        return 1, "Pass"
    if status is ControlStatus.FAIL:
        return 3, "Fail"
    if status is ControlStatus.INCONCLUSIVE:
        return 2, "Warning"
    if status is ControlStatus.NOT_ATTESTED:
        return 99, "Not Attested"
    if status is ControlStatus.NOT_APPLICABLE:
        return 99, "Not Applicable"
    if status is ControlStatus.WAIVED:
        return 2, "Warning"  # only when the underlying status is unknown; see _control_event
    assert_never(status)


def finding_compliance(status: Status) -> tuple[int, str]:
    """``(compliance.status_id, compliance.status)`` of a finding status."""
    if status is Status.PASS:
        return 1, "Pass"
    if status is Status.FAIL:
        return 3, "Fail"
    if status is Status.ERROR:
        return 2, "Warning"
    if status is Status.NOT_APPLICABLE:
        return 99, "Not Applicable"
    assert_never(status)


def _uid(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


class _Event:
    """What every event of one run shares."""

    def __init__(self, run: RunResult) -> None:
        self.run = run
        self.time = int(parse_time(run.evaluated_at).timestamp() * 1000)
        self.metadata = {"version": OCSF_VERSION, "log_name": "aslcheck",
                         "product": {"name": "aslcheck", "vendor_name": "aslcheck", "version": run.tool_version}}
        self.standards = [f"aslcheck:{run.profile}"]

    def base(self, r: ControlResult, uid: str, kind: str, title: str, suppressed: bool,
             compliance: dict[str, Any], message: str, *, full: bool) -> dict[str, Any]:
        """The common attributes; ``full`` adds the control's statement, remediation and the run's
        selection (control events, and finding events that fail; passing findings stay lean)."""
        sev_id, sev = _SEVERITY[r.control.severity]
        event: dict[str, Any] = {
            "activity_id": ACTIVITY_CREATE, "activity_name": "Create",
            "category_uid": CATEGORY_UID, "category_name": "Findings",
            "class_uid": CLASS_UID, "class_name": "Compliance Finding",
            "type_uid": TYPE_UID, "type_name": "Compliance Finding: Create",
            "time": self.time, "severity_id": sev_id, "severity": sev,
            "status_id": 3 if suppressed else 1, "status": "Suppressed" if suppressed else "New",
            "message": message, "metadata": self.metadata,
            "finding_info": {"uid": uid, "title": title, "types": [kind], "created_time": self.time},
            "compliance": {"control": r.control.id, "standards": self.standards, "category": r.control.domain,
                           **compliance},
            "unmapped": {"aslcheck": {"level": r.control.level, "verification": r.control.verification.value,
                                      "optional": r.control.optional, "control_status": r.status.value}},
        }
        if full:
            event["unmapped"]["aslcheck"]["snapshot_digest"] = self.run.snapshot_digest
            event["finding_info"]["desc"] = r.control.statement
            if r.control.remediation:
                event["remediation"] = {"desc": r.control.remediation}
        if self.run.selection is not None:
            event["unmapped"]["aslcheck"]["filtered"] = True
            if full:
                event["unmapped"]["aslcheck"]["selection"] = dict(self.run.selection)
        return event


def _control_event(ev: _Event, r: ControlResult) -> dict[str, Any]:
    shown = r.underlying if r.status is ControlStatus.WAIVED and r.underlying is not None else r.status
    status_id, status = control_compliance(shown)
    compliance = {"requirements": list(r.control.checks) or ["(human attestation)"], "status_id": status_id,
                  "status": status, "status_code": r.status.value, "status_detail": r.reason}
    return ev.base(r, _uid(ev.run.evaluated_at, r.control.id), "aslcheck/control",
                   f"{r.control.id} {r.control.title}", r.status is ControlStatus.WAIVED, compliance,
                   f"{r.control.id}: {r.status.value.upper()}: {r.reason}", full=True)


def _finding_event(ev: _Event, r: ControlResult, o: CheckOutcome, f: Finding, waived: bool) -> dict[str, Any]:
    status_id, status = finding_compliance(f.status)
    compliance = {"requirements": [o.check], "status_id": status_id, "status": status,
                  "status_code": f.status.value, "status_detail": f.reason}
    event = ev.base(r, _uid(ev.run.evaluated_at, r.control.id, o.check, f.resource or ""), "aslcheck/finding",
                    f"{r.control.id} {o.check} on {f.resource or 'the check'}", waived, compliance,
                    f"{o.check} on {f.resource or 'the check'}: {f.status.value.upper()}", full=f.status is Status.FAIL)
    if f.resource:
        resource: dict[str, Any] = {"uid": f.resource, "name": f.resource}
        if f.kind:
            resource["type"] = f.kind
        if f.location:
            resource["data"] = {"location": dict(f.location)}
        event["resources"] = [resource]
    if f.evidence:
        event["evidences"] = [{"name": o.check, "data": dict(f.evidence)}]
    return event


def events(run: RunResult) -> Iterator[dict[str, Any]]:
    """Every event of ``run``: each control's, then its findings'."""
    ev = _Event(run)
    for r in run.results:
        yield _control_event(ev, r)
        whole = any(w.resource is None for w in r.waivers)
        by_resource = {w.resource for w in r.waivers if w.resource is not None}
        for o in r.checks:
            for f in o.findings:
                waived = f.status in (Status.FAIL, Status.ERROR) and (whole or f.resource in by_resource)
                yield _finding_event(ev, r, o, f, waived)


def _line(event: Mapping[str, Any]) -> str:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class OcsfRenderer(Renderer):
    """``results.ocsf.json``: a JSON array of OCSF Compliance Finding events, one per line."""

    name = "ocsf"
    filename = "results.ocsf.json"

    def render(self, run: RunResult) -> bytes:
        """The array, ``[`` and ``]`` on their own lines, so it also reads as one event per line."""
        return ("[\n" + ",\n".join(_line(e) for e in events(run)) + "\n]\n").encode("utf-8")
