"""CloudWatch metric alarms of one region (evidence for egress alarms)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aslcheck.inventories.aws.context import LISTED, Feeds, Outcome, Target, Task
from aslcheck.inventories.aws.normalise import as_int, optional_time, tag_list
from aslcheck.inventories.snapshot import Resource

ALARM = "aws.cloudwatch.alarm"
SCOPE = "regional"

OPERATIONS: Mapping[str, frozenset[str]] = {
    ALARM: frozenset({"cloudwatch:DescribeAlarms"}),
}
KINDS = frozenset(OPERATIONS)
FEEDS: Feeds = {"cloudwatch:DescribeAlarms": {ALARM: frozenset({LISTED})}}


def _alarm(item: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    threshold = item.get("Threshold")
    return str(item["AlarmArn"]), {
        "name": str(item["AlarmName"]),
        "namespace": item.get("Namespace"),
        "metric": item.get("MetricName"),
        "metric_math": bool(item.get("Metrics")),
        "dimensions": tag_list(item.get("Dimensions"), "Name", "Value"),
        "statistic": item.get("Statistic") or item.get("ExtendedStatistic"),
        "period": as_int(item["Period"]) if item.get("Period") is not None else None,
        # The API threshold is a float; snapshots hold no floats. ``threshold`` is rounded
        # down as the model says, ``threshold_text`` keeps the exact value for strict checks.
        "threshold": as_int(threshold) if threshold is not None else None,
        "threshold_text": repr(threshold) if threshold is not None else None,
        "comparison": item.get("ComparisonOperator"),
        "evaluation_periods": as_int(item.get("EvaluationPeriods", 0)),
        # Absent means "all of the evaluation periods" (the API's default).
        "datapoints_to_alarm": (as_int(item["DatapointsToAlarm"])
                                if item.get("DatapointsToAlarm") is not None else None),
        "unit": item.get("Unit"),
        "treat_missing_data": item.get("TreatMissingData") or "missing",
        "evaluation_criteria": item.get("EvaluationCriteria") is not None,
        "state": item.get("StateValue"),
        "state_updated": optional_time(item.get("StateUpdatedTimestamp")),
        "evaluation_state": item.get("EvaluationState"),
        "actions_enabled": item.get("ActionsEnabled") is True,
        "alarm_actions": [str(a) for a in item.get("AlarmActions") or ()],
    }


def _list(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[ALARM])
    op = "cloudwatch:DescribeAlarms"
    items = rd.paginate(op, "MetricAlarms", ALARM, AlarmTypes=["MetricAlarm"])
    if not isinstance(items, list):
        return Outcome(errors=rd.errors, incomplete={ALARM})
    got = rd.parse(op, ALARM, None, lambda: [_alarm(i) for i in items])
    if got is None:
        return Outcome(errors=rd.errors, incomplete={ALARM})
    # Alarm tags are not read (a call per alarm; no check scopes alarms by tag): tags=None.
    resources = [Resource(kind=ALARM, id=arn, source="aws", attributes=attrs, tags=None,
                          account=target.account, region=target.region)
                 for arn, attrs in got.value]
    return Outcome(resources=resources, errors=rd.errors)


def plan(target: Target, kinds: frozenset[str]) -> list[Task]:
    """Tasks for the metric alarms of one account/region."""
    if ALARM not in kinds:
        return []
    return [Task(target.label("cloudwatch:DescribeAlarms"), lambda: _list(target),
                 frozenset({ALARM}))]
