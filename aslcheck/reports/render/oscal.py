"""OSCAL assessment-results (JSON): each control a finding, each check outcome an observation.

The document uses only constructs that exist, with the same shape, in OSCAL 1.0.6 and 1.1.x, and
declares ``oscal-version`` 1.1.2 by default (both schemas type it as a plain string, so the 1.0.6
JSON schema accepts it; pass ``oscal_version`` to change it). Mapping:

- the run is one ``result`` (start = end = evaluation time), reviewing the profile's controls;
- a control is a ``finding`` whose target is the control's statement (``statement-id``
  ``<control>_smt``): PASS -> ``satisfied``/``pass``; FAIL -> ``not-satisfied``/``fail``; every other
  status -> ``not-satisfied``/``other`` with the real status in the ``aslcheck-status`` prop
  (INCONCLUSIVE, NOT_ATTESTED, WAIVED and NOT_APPLICABLE are never reported as satisfied);
- a check outcome is an ``observation`` (method TEST, collected = evaluation time) whose
  ``relevant-evidence`` lists each finding with its evidence as canonical JSON in ``remarks``;
- each resource is an ``inventory-item`` (``asset-id`` = resource ID), referenced as a subject.

UUIDs are version-5 UUIDs of the run's digests and the item's IDs, so the same run renders the
same bytes, and the order follows the catalog (observations by check ID).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from typing import Any

from aslcheck.checks.interface import Finding
from aslcheck.errors import assert_never
from aslcheck.inventories.snapshot import canonical_json
from aslcheck.reports.interface import Renderer
from aslcheck.reports.model import CheckOutcome, ControlResult, ControlStatus, RunResult

NS = "https://aslcheck.dev/ns/oscal"
"""Namespace of our own ``props``."""
_UUID_NS = uuid.UUID("5b0f6f0e-5a1c-5d5e-9a53-61736c636865")
_TOKEN = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")
OSCAL_VERSION = "1.1.2"


def _prop(name: str, value: str) -> dict[str, str]:
    return {"name": name, "ns": NS, "value": value or "-"}


def token(text: str) -> str:
    """An OSCAL token (letters, digits, ``._-``, starting with a letter or ``_``)."""
    if _TOKEN.match(text):
        return text
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", text)
    return cleaned if re.match(r"^[A-Za-z_]", cleaned) else "_" + cleaned


def _text(value: str, fallback: str) -> str:
    """OSCAL strings may not start or end with whitespace, nor be empty."""
    value = " ".join(value.split())
    return value or fallback


def finding_state(status: ControlStatus) -> tuple[str, str]:
    """``(state, reason)`` of a finding target for a control status."""
    if status is ControlStatus.PASS:
        return "satisfied", "pass"
    if status is ControlStatus.FAIL:
        return "not-satisfied", "fail"
    if status in (ControlStatus.INCONCLUSIVE, ControlStatus.NOT_ATTESTED, ControlStatus.WAIVED,
                  ControlStatus.NOT_APPLICABLE):
        # NOTE: never "satisfied" without positive evidence; the real status is in a prop.
        return "not-satisfied", "other"
    assert_never(status)


class OscalRenderer(Renderer):
    """OSCAL assessment-results JSON."""

    name = "oscal"
    filename = "assessment-results.json"

    def __init__(self, oscal_version: str = OSCAL_VERSION) -> None:
        self.oscal_version = oscal_version

    def render(self, run: RunResult) -> bytes:
        """Pretty JSON; same run, same bytes."""
        doc = _Builder(run, self.oscal_version).document()
        return json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"


class _Builder:
    def __init__(self, run: RunResult, oscal_version: str) -> None:
        self.run = run
        self.oscal_version = oscal_version
        self.seed = "|".join((run.snapshot_digest, run.catalog_digest, run.config_digest, run.profile,
                              run.evaluated_at))

    def uuid(self, *parts: str) -> str:
        return str(uuid.uuid5(_UUID_NS, "|".join((self.seed, *parts))))

    def document(self) -> dict[str, Any]:
        run = self.run
        plan = self.uuid("plan")
        return {"assessment-results": {
            "uuid": self.uuid("assessment-results"),
            "metadata": {
                "title": f"aslcheck assessment results: profile {run.profile}",
                "last-modified": run.evaluated_at,
                "version": run.tool_version,
                "oscal-version": self.oscal_version,
                "props": [_prop("tool", "aslcheck"), _prop("profile", run.profile)],
            },
            "import-ap": {"href": f"#{plan}",
                          "remarks": "aslcheck evaluates a catalog profile; the plan is described in back-matter."},
            "results": [self.result()],
            "back-matter": {"resources": [{
                "uuid": plan,
                "title": f"aslcheck profile {run.profile}",
                "description": "The catalog, profile and configuration this assessment evaluated.",
                "props": [_prop("catalog-sha256", run.catalog_digest),
                          _prop("config-sha256", run.config_digest),
                          _prop("snapshot-sha256", run.snapshot_digest)],
            }]},
        }}

    def result(self) -> dict[str, Any]:
        run = self.run
        tally = run.tally()
        outcomes = self.outcomes()
        out: dict[str, Any] = {
            "uuid": self.uuid("result"),
            "title": f"aslcheck {run.profile} evaluation at {run.evaluated_at}",
            "description": _text(
                "; ".join(f"{s.value}: {n}" for s, n in tally.items() if n), "no controls evaluated"),
            "start": run.evaluated_at,
            "end": run.evaluated_at,
            "props": [_prop("snapshot-sha256", run.snapshot_digest),
                      _prop("catalog-sha256", run.catalog_digest),
                      _prop("config-sha256", run.config_digest),
                      _prop("tool-version", run.tool_version)]
                     + [_prop("source", s) for s in run.sources],
            "reviewed-controls": {"control-selections": [
                {"include-controls": [{"control-id": token(r.control.id)} for r in run.results]}
                if run.results else {"include-all": {}}]},
        }
        items = self.inventory(outcomes)
        if items:
            out["local-definitions"] = {"inventory-items": items}
        if outcomes:
            out["observations"] = [self.observation(o) for o in outcomes]
        if run.results:
            out["findings"] = [self.finding(r) for r in run.results]
        return out

    def outcomes(self) -> list[CheckOutcome]:
        seen: dict[str, CheckOutcome] = {}
        for r in self.run.results:
            for o in r.checks:
                seen.setdefault(o.check, o)
        return [seen[k] for k in sorted(seen)]

    def inventory(self, outcomes: Iterable[CheckOutcome]) -> list[dict[str, Any]]:
        resources: dict[str, Finding] = {}
        for o in outcomes:
            for f in o.findings:
                if f.resource:
                    resources.setdefault(f.resource, f)
        return [{
            "uuid": self.uuid("resource", rid),
            "description": _text(rid, "resource"),
            "props": [{"name": "asset-id", "value": _text(rid, "-")}]
                     + [_prop(n, v) for n, v in (("kind", f.kind), ("source", f.source)) if v],
        } for rid, f in sorted(resources.items())]

    def observation(self, o: CheckOutcome) -> dict[str, Any]:
        counts = {s: sum(1 for f in o.findings if f.status.value == s) for s in ("pass", "fail", "error")}
        desc = (f"Check {o.check} v{o.version}: {o.status or 'unknown'}; {len(o.findings)} finding(s) "
                f"({counts['pass']} pass, {counts['fail']} fail, {counts['error']} error), "
                f"{len(o.errors)} collection error(s).") + (f" {o.note}." if o.note else "")
        evidence: list[dict[str, Any]] = []
        for f in o.findings:
            item: dict[str, Any] = {
                "description": _text(f"{f.status.value}: {f.resource or 'check-level'}: {f.reason}", f.status.value),
                "props": [_prop("finding-status", f.status.value)]
                         + ([_prop("resource", f.resource)] if f.resource else []),
            }
            if f.evidence:
                item["remarks"] = canonical_json(dict(f.evidence)).decode("utf-8")
            evidence.append(item)
        for e in o.errors:
            where = e.resource or e.host or "/".join(x for x in (e.account, e.region) if x) or e.source
            evidence.append({
                "description": _text(f"collection error: {e.operation} on {where}: {e.code}: {e.message}",
                                     "collection error"),
                "props": [_prop("finding-status", "error"), _prop("collector", e.source)],
            })
        out: dict[str, Any] = {
            "uuid": self.uuid("observation", o.check),
            "title": o.check,
            "description": _text(desc, o.check),
            "props": [_prop("check-id", o.check), _prop("check-version", str(o.version)),
                      _prop("check-status", o.status or "unknown")],
            "methods": ["TEST"],
            "collected": self.run.evaluated_at,
        }
        subjects = sorted({f.resource for f in o.findings if f.resource})
        if subjects:
            out["subjects"] = [{"subject-uuid": self.uuid("resource", rid), "type": "inventory-item",
                                "title": _text(rid, "resource")} for rid in subjects]
        if evidence:
            out["relevant-evidence"] = evidence
        return out

    def finding(self, r: ControlResult) -> dict[str, Any]:
        c = r.control
        state, reason = finding_state(r.status)
        props = [_prop("aslcheck-status", r.status.value), _prop("level", c.level), _prop("domain", c.domain),
                 _prop("verification", c.verification.value), _prop("optional", str(c.optional).lower())]
        props += [_prop("rsp", f"{s.version} {s.section}") for s in c.rsp]
        props += [_prop("nist-800-53", n) for n in c.nist]
        if r.underlying is not None:
            props.append(_prop("status-without-waivers", r.underlying.value))
        if token(c.id) != c.id:
            props.append(_prop("control-id", c.id))
        target: dict[str, Any] = {
            "type": "statement-id",
            "target-id": token(f"{c.id}_smt"),
            "title": _text(c.statement, c.title),
            "status": {"state": state, "reason": reason},
        }
        if state == "not-satisfied" and reason == "other":
            target["status"]["remarks"] = f"aslcheck status: {r.status.value}"
        out: dict[str, Any] = {
            "uuid": self.uuid("finding", c.id),
            "title": _text(f"{c.id} {c.title}", c.id),
            "description": _text(r.reason, f"{c.id}: {r.status.value}"),
            "props": props,
            "target": target,
        }
        related = sorted({o.check for o in r.checks})
        if related:
            out["related-observations"] = [{"observation-uuid": self.uuid("observation", k)} for k in related]
        if c.remediation:
            out["remarks"] = _text(f"Remediation: {c.remediation}", "-")
        return out
