"""Checks over checkov's results: one check per ASL control, driven by ``checkov_map.yaml``.

``iac.checkov.<control>`` (e.g. ``iac.checkov.asl3_en_2``) turns each checkov result that the
reviewed map ties to that control into a finding on the Terraform resource, with its file and
lines: PASS/FAIL per the entry's ``evidence`` polarity, NOT_APPLICABLE where a result proves
too little (CKV_AWS_145's pass says nothing about who manages the key), ERROR where the scope
cannot be decided or the result was suppressed in the code.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cache
from importlib import resources
from typing import Any

import yaml

from aslcheck.checks.interface import CheckContext, CheckError, CheckId, Evaluator, Finding, Select, Status
from aslcheck.checks.registry import check
from aslcheck.inventories.snapshot import Resource, Snapshot

FINDING_KIND = "iac.checkov.finding"
"""Kind of a checkov result (produced by the Terraform collector)."""


class Scope(Enum):
    """Which checkov results count for a control."""

    ALL = "all"
    WEIGHTS = "weights"
    WEIGHT_VPC = "weight_vpc"
    TRAIL_BUCKET = "trail_bucket"
    IDENTITY_POLICY = "identity_policy"
    WEIGHT_POLICY = "weight_policy"


class Evidence(Enum):
    """What a checkov result proves."""

    BOTH = "both"
    """PASS is evidence, FAIL a violation."""
    FAIL_ONLY = "fail_only"
    """FAIL is a violation; PASS proves too little."""
    PASS_ONLY = "pass_only"
    """PASS is evidence; FAIL is no violation of the control."""


@dataclass(frozen=True)
class MapEntry:
    """One reviewed checkov check."""

    check_id: str
    """checkov's ID."""
    controls: tuple[str, ...]
    """Controls its results bear on (empty: reviewed and mapped nowhere)."""
    scope: Scope
    """Which results count."""
    evidence: Evidence
    """What a result proves."""
    tests: str
    """What the check really tests."""
    review: str
    """Why this polarity (the review against checkov's source and the traps)."""
    note: str | None = None
    """The trap, shown in findings."""


_FIELDS = {"controls", "scope", "evidence", "tests", "note", "review"}
_REQUIRED = {"controls", "scope", "evidence", "tests", "review"}


@cache
def checkov_map() -> Mapping[str, MapEntry]:
    """The reviewed map, validated (unknown fields or values raise :class:`CheckError`)."""
    text = resources.files("aslcheck.checks.iac").joinpath("checkov_map.yaml").read_text("utf-8")
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or doc.get("version") != 1 or not isinstance(doc.get("checks"), dict):
        raise CheckError("checkov_map.yaml: expected version 1 and a 'checks' mapping")
    out: dict[str, MapEntry] = {}
    for cid, raw in doc["checks"].items():
        if not isinstance(raw, dict) or set(raw) - _FIELDS or not set(raw) >= _REQUIRED:
            raise CheckError(f"checkov_map.yaml: entry {cid!r} has missing or unknown fields")
        try:
            out[str(cid)] = MapEntry(str(cid), tuple(str(c) for c in raw["controls"]),
                                     Scope(raw["scope"]), Evidence(raw["evidence"]),
                                     str(raw["tests"]), str(raw["review"]), raw.get("note"))
        except ValueError as exc:
            raise CheckError(f"checkov_map.yaml: entry {cid!r}: {exc}") from None
    return out


def _in_scope(ctx: CheckContext, scope: Scope, res: Resource) -> tuple[bool | None, str]:
    """Whether a result counts for a control (None: cannot tell, with why).

    Reads only the finding: the collector records the facts scoping needs (subject tags, the
    subject's VPC and its tags, whether a trail delivers to a bucket), so these checks read no
    ``aws.*`` kind and stay out of live-only evaluations (the ``iac`` family is not in scope).
    """
    a = res.attributes
    if scope is Scope.ALL:
        return True, ""
    if scope is Scope.IDENTITY_POLICY:
        named = a.get("declares_principals")
        if isinstance(named, bool):
            return not named, ""
        return None, "cannot tell whether the document is an identity or a resource policy"
    if scope is Scope.WEIGHTS:
        subject = a.get("subject")
        ident = str(subject.get("id")) if isinstance(subject, Mapping) else str(a.get("resource"))
        holds = ctx.config.scope.holds_weights(res.tags, ident)
        return holds, "its tags could not be determined" if holds is None else ""
    if scope is Scope.WEIGHT_POLICY:
        users = a.get("policy_of")
        if not isinstance(users, list):
            return None, "the document is not determined, so whose policy it is cannot be told"
        held = [ctx.config.scope.holds_weights(
            u.get("tags") if isinstance(u.get("tags"), Mapping) else None, str(u.get("id")))
            for u in users if isinstance(u, Mapping)]
        if any(h is True for h in held):
            return True, ""
        if any(h is None for h in held):
            return None, "the tags of a resource using the document could not be determined"
        return False, ""
    if scope is Scope.WEIGHT_VPC:
        vpc = a.get("vpc")
        if not isinstance(vpc, Mapping):
            return None, "its VPC is not determined"
        tags = vpc.get("tags")
        holds = ctx.config.scope.holds_weights(tags if isinstance(tags, Mapping) else None,
                                               str(vpc.get("id")))
        return holds, "the VPC or its tags are not declared in the code" if holds is None else ""
    flag = a.get("trail_bucket")
    if isinstance(flag, bool):
        return flag, ""
    return None, "the bucket name or a trail's bucket is not determined"


def _verdict(entry: MapEntry, res: Resource) -> tuple[Status, str]:
    result = res.attributes.get("result")
    name = f"{entry.check_id} ({res.attributes.get('check_name', '')})"
    untrusted = res.attributes.get("untrusted")
    if untrusted:
        return Status.ERROR, f"{name} {result}, but checkov did not see the code Terraform " \
                             f"will apply: {untrusted}"
    if result == "skipped":
        why = res.attributes.get("suppress_comment") or "no reason given"
        return Status.ERROR, (f"{name} was suppressed in the code ({why}); ASL controls are "
                              "waived only through an aslcheck waiver")
    if result == "passed":
        if entry.evidence is Evidence.FAIL_ONLY:
            return Status.NOT_APPLICABLE, f"{name} passed, which proves too little: {entry.note or entry.tests}"
        return Status.PASS, f"{name} passed"
    if result == "failed":
        if entry.evidence is Evidence.PASS_ONLY:
            return Status.NOT_APPLICABLE, f"{name} failed, which is no violation: {entry.note or entry.tests}"
        return Status.FAIL, f"{name} failed"
    return Status.ERROR, f"{name}: unrecognised result {result!r}"


_GROUPED: list[tuple[weakref.ref[Snapshot], dict[str, list[tuple[MapEntry, Resource]]]]] = []
"""The last snapshot's findings grouped by control (a memo of a pure function of it)."""


def _by_control(snapshot: Snapshot) -> dict[str, list[tuple[MapEntry, Resource]]]:
    """Mapped checkov findings per control, computed once per snapshot.

    NOTE: the 25 iac.checkov.* checks each read every finding; at 1,000 buckets (16k findings)
    regrouping them per check cost about a second (issue 12 item 4). The memo holds the
    snapshot weakly, so it never keeps an evaluated inventory alive.
    """
    if _GROUPED and _GROUPED[0][0]() is snapshot:
        return _GROUPED[0][1]
    table = checkov_map()
    grouped: dict[str, list[tuple[MapEntry, Resource]]] = {}
    for res in snapshot.of_kind(FINDING_KIND):
        entry = table.get(str(res.attributes.get("check_id")))
        if entry is not None:
            for control in entry.controls:
                grouped.setdefault(control, []).append((entry, res))
    _GROUPED[:] = [(weakref.ref(snapshot), grouped)]
    return grouped


def _evaluate(ctx: CheckContext, control: str, cid: CheckId) -> Iterator[Finding]:
    for entry, res in _by_control(ctx.snapshot).get(control, ()):
        ev: dict[str, Any] = {"checkov_check": entry.check_id, "tests": entry.tests,
                              "result": res.attributes.get("result"),
                              "terraform_resource": res.attributes.get("resource")}
        if entry.note:
            ev["note"] = entry.note
        status, reason = _verdict(entry, res)
        in_scope, why = _in_scope(ctx, entry.scope, res)
        if in_scope is False:
            continue
        # NOTE: a result that proves nothing by its polarity needs no scope decision.
        if in_scope is None and status is not Status.NOT_APPLICABLE:
            yield ctx.finding(cid, res, Status.ERROR,
                              f"cannot tell whether {entry.check_id} on "
                              f"{res.attributes.get('resource')} is in scope ({entry.scope.value}): "
                              f"{why}", ev)
            continue
        yield ctx.finding(cid, res, status, reason, ev)


def control_check_id(control: str) -> CheckId:
    """``ASL3-EN-2`` -> ``iac.checkov.asl3_en_2``."""
    return CheckId("iac.checkov." + control.lower().replace("-", "_"))


def _control_check(control: str) -> Evaluator:
    cid = control_check_id(control)

    def run(ctx: CheckContext) -> Iterator[Finding]:
        return _evaluate(ctx, control, cid)

    run.__name__ = run.__qualname__ = cid.rsplit(".", 1)[-1]
    run.__doc__ = f"checkov results the reviewed map ties to {control}."
    return check(cid, kinds=(FINDING_KIND,), select=Select.ALL)(run)


CONTROLS: tuple[str, ...] = (
    "ASL2-WA-1", "ASL2-WA-2", "ASL3-WA-1", "ASL3-WA-2", "ASL2-EN-1", "ASL3-EN-1", "ASL3-EN-2",
    "ASL2-EN-2", "ASL2-ID-1", "ASL2-ID-3", "ASL2-LM-1", "ASL3-LM-1", "ASL3-LM-2", "ASL3-LM-3",
    "ASL3-LM-5", "ASL2-NW-1", "ASL3-NW-1", "ASL3-NW-2", "ASL3-NW-3", "ASL3-EP-2", "ASL3-EP-3",
    "ASL2-SC-3", "ASL3-SC-2", "ASL3-SC-3", "ASL3-TP-2",
)
"""Controls with a checkov check (a test keeps this equal to the map's controls)."""

asl2_wa_1 = _control_check("ASL2-WA-1")
asl2_wa_2 = _control_check("ASL2-WA-2")
asl3_wa_1 = _control_check("ASL3-WA-1")
asl3_wa_2 = _control_check("ASL3-WA-2")
asl2_en_1 = _control_check("ASL2-EN-1")
asl3_en_1 = _control_check("ASL3-EN-1")
asl3_en_2 = _control_check("ASL3-EN-2")
asl2_en_2 = _control_check("ASL2-EN-2")
asl2_id_1 = _control_check("ASL2-ID-1")
asl2_id_3 = _control_check("ASL2-ID-3")
asl2_lm_1 = _control_check("ASL2-LM-1")
asl3_lm_1 = _control_check("ASL3-LM-1")
asl3_lm_2 = _control_check("ASL3-LM-2")
asl3_lm_3 = _control_check("ASL3-LM-3")
asl3_lm_5 = _control_check("ASL3-LM-5")
asl2_nw_1 = _control_check("ASL2-NW-1")
asl3_nw_1 = _control_check("ASL3-NW-1")
asl3_nw_2 = _control_check("ASL3-NW-2")
asl3_nw_3 = _control_check("ASL3-NW-3")
asl3_ep_2 = _control_check("ASL3-EP-2")
asl3_ep_3 = _control_check("ASL3-EP-3")
asl2_sc_3 = _control_check("ASL2-SC-3")
asl3_sc_2 = _control_check("ASL3-SC-2")
asl3_sc_3 = _control_check("ASL3-SC-3")
asl3_tp_2 = _control_check("ASL3-TP-2")
