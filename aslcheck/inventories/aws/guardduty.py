"""GuardDuty: the detectors of one region and their status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aslcheck.inventories.aws.context import Feeds, Outcome, Target, Task
from aslcheck.inventories.snapshot import Resource

REGION = "aws.guardduty.region"
SCOPE = "regional"

OPERATIONS: Mapping[str, frozenset[str]] = {
    REGION: frozenset({"guardduty:ListDetectors", "guardduty:GetDetector"}),
}
KINDS = frozenset(OPERATIONS)
FEEDS: Feeds = {   # the per-region resource always exists; a failed read drops its detectors
    "guardduty:ListDetectors": {REGION: frozenset({"detectors"})},
    "guardduty:GetDetector": {REGION: frozenset({"detectors"})},
}


def _status(answer: Mapping[str, Any]) -> str:
    return str(answer["Status"])


def _collect(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[REGION])
    ident = f"arn:{target.partition}:guardduty:{target.region}:{target.account}:region"
    attrs: dict[str, Any] = {}
    ids = rd.paginate("guardduty:ListDetectors", "DetectorIds", REGION, ident)
    if isinstance(ids, list):
        detectors: list[dict[str, str]] | None = []
        for detector in ids:
            op = "guardduty:GetDetector"
            answer = rd.call(op, REGION, ident, DetectorId=str(detector))
            got = rd.parse(op, REGION, ident, _status, answer) if isinstance(answer, dict) else None
            if got is None or detectors is None:
                detectors = None
                continue
            detectors.append({"id": str(detector), "status": got.value})
        if detectors is not None:
            attrs["detectors"] = sorted(detectors, key=lambda d: d["id"])
    # The per-region settings resource always exists; a failed read leaves detectors absent.
    resource = Resource(kind=REGION, id=ident, source="aws", attributes=attrs, tags={},
                        account=target.account, region=target.region)
    return Outcome(resources=[resource], errors=rd.errors)


def plan(target: Target, kinds: frozenset[str]) -> list[Task]:
    """Tasks for GuardDuty in one account/region."""
    if REGION not in kinds:
        return []
    return [Task(target.label("guardduty"), lambda: _collect(target), frozenset({REGION}))]
