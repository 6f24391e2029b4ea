"""SARIF 2.1.0: one rule per control, one result per failing or erroring finding.

Findings on Terraform resources carry ``location`` (file, start and end line), which becomes
a physical location so code scanning annotates the pull request on the right lines; other
findings (live resources, hosts) get a logical location naming the resource. FAIL is level
``error``, ERROR (evidence missing: never a pass) is level ``warning``. Findings covered by an
active waiver are kept and marked suppressed, never dropped.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from aslcheck import __version__
from aslcheck.checks.interface import Finding, Status
from aslcheck.reports.interface import Renderer
from aslcheck.reports.model import CheckOutcome, ControlResult, RunResult

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Status.FAIL: "error", Status.ERROR: "warning"}


def artifact_uri(path: str) -> str:
    """A SARIF artifact URI: relative paths stay relative (resolved against the checkout)."""
    clean = path.replace("\\", "/")
    if clean.startswith("/"):
        return "file://" + quote(clean)
    return quote(posixpath.normpath(clean).removeprefix("./"))


def _rule(result: ControlResult) -> dict[str, Any]:
    c = result.control
    rule: dict[str, Any] = {
        "id": str(c.id),
        "name": str(c.id).replace("-", ""),
        "shortDescription": {"text": c.title},
        "fullDescription": {"text": c.statement},
        "properties": {"tags": [c.level, c.domain, "asl"], "verification": c.verification.value},
    }
    if c.remediation:
        rule["help"] = {"text": c.remediation}
    return rule


def _region(loc: Mapping[str, Any]) -> dict[str, int] | None:
    start, end = loc.get("start_line"), loc.get("end_line")
    if not isinstance(start, int) or start < 1:
        return None
    region = {"startLine": start}
    if isinstance(end, int) and end >= start:
        region["endLine"] = end
    return region


def _location(f: Finding) -> dict[str, Any]:
    loc = f.location
    if loc is not None and isinstance(loc.get("file"), str) and loc["file"]:
        physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(str(loc["file"]))}}
        region = _region(loc)
        if region is not None:
            physical["region"] = region
        out: dict[str, Any] = {"physicalLocation": physical}
        if isinstance(loc.get("address"), str):
            out["logicalLocations"] = [{"fullyQualifiedName": loc["address"], "kind": "resource"}]
        return out
    name = f.resource or f.check
    return {"logicalLocations": [{"fullyQualifiedName": name,
                                  "kind": "resource" if f.resource else "module"}]}


def _waiver(result: ControlResult, resource: str | None) -> str | None:
    for w in result.waivers:
        if w.resource is None or w.resource == resource:
            return f"{w.ticket}: {w.justification} (approved by {w.approver})"
    return None


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _result(index: int, result: ControlResult, outcome: CheckOutcome, f: Finding) -> dict[str, Any]:
    c = result.control
    out: dict[str, Any] = {
        "ruleId": str(c.id),
        "ruleIndex": index,
        "level": _LEVEL[f.status],
        "message": {"text": f"{c.id} ({c.title}): {outcome.check} {f.status.value} on "
                            f"{f.resource or 'the check'}: {f.reason}"},
        "locations": [_location(f)],
        "partialFingerprints": {"aslcheck/v1": _fingerprint(
            str(c.id), outcome.check, f.resource or "", f.status.value)},
        "properties": {"check": outcome.check, "status": f.status.value,
                       "control_status": result.status.value,
                       "evidence": json.loads(json.dumps(dict(f.evidence), default=str))},
    }
    if f.resource:
        out["properties"]["resource"] = f.resource
    waived = _waiver(result, f.resource)
    if waived is not None:
        out["suppressions"] = [{"kind": "external", "status": "accepted", "justification": waived}]
    return out


def _check_level(index: int, result: ControlResult, outcome: CheckOutcome) -> dict[str, Any]:
    """A result for a check that errored without any finding (e.g. no evidence at all)."""
    c = result.control
    return {
        "ruleId": str(c.id), "ruleIndex": index, "level": "warning",
        "message": {"text": f"{c.id} ({c.title}): {outcome.check}: {outcome.note}"},
        "locations": [{"logicalLocations": [{"fullyQualifiedName": outcome.check,
                                             "kind": "module"}]}],
        "partialFingerprints": {"aslcheck/v1": _fingerprint(str(c.id), outcome.check, "", "error")},
        "properties": {"check": outcome.check, "status": "error",
                       "control_status": result.status.value},
    }


class SarifRenderer(Renderer):
    """SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps)."""

    name = "sarif"
    filename = "results.sarif"

    def render(self, run: RunResult) -> bytes:
        """SARIF bytes (UTF-8 JSON)."""
        rules = [_rule(r) for r in run.results]
        results: list[dict[str, Any]] = []
        for index, r in enumerate(run.results):
            for o in r.checks:
                if o.status == "not_applicable":
                    continue
                shown = [f for f in o.findings if f.status in _LEVEL]
                results.extend(_result(index, r, o, f) for f in shown)
                if o.status == "error" and not o.findings and o.note:
                    results.append(_check_level(index, r, o))
        doc = {
            "$schema": SCHEMA_URI,
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {"name": "aslcheck", "version": __version__,
                                    "semanticVersion": __version__, "rules": rules}},
                "invocations": [{"executionSuccessful": True,
                                 "endTimeUtc": run.evaluated_at}],
                "columnKind": "unicodeCodePoints",
                "results": results,
                "properties": {
                    "profile": run.profile,
                    "summary": {s.value: n for s, n in run.tally().items()},
                    "digests": {"snapshot": run.snapshot_digest, "catalog": run.catalog_digest,
                                "config": run.config_digest},
                },
            }],
        }
        # NOTE: compact, as results.json: indent forces json's pure-Python encoder (15 s for the
        # 12k results of a 1,000-bucket gate, against about 1 s).
        return json.dumps(doc, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode() + b"\n"
