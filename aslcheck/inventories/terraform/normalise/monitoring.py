"""CloudTrail trails, log groups, metric alarms and GuardDuty detectors from code."""

from __future__ import annotations

import math
from typing import Any

from aslcheck.inventories.snapshot import Resource
from aslcheck.inventories.terraform.declared import UNKNOWN, Block, Body
from aslcheck.inventories.terraform.normalise.base import (
    Attrs,
    Context,
    bool_arg,
    int_arg,
    str_list,
    str_or_unknown,
)

TRAIL = "aws.cloudtrail.trail"
LOG_GROUP = "aws.logs.log_group"
ALARM = "aws.cloudwatch.alarm"
GUARDDUTY = "aws.guardduty.region"

_FIELD_OPS = (("equals", "Equals"), ("not_equals", "NotEquals"), ("starts_with", "StartsWith"),
              ("not_starts_with", "NotStartsWith"), ("ends_with", "EndsWith"),
              ("not_ends_with", "NotEndsWith"))
_MANAGEMENT_ONLY = [{"ReadWriteType": "All", "IncludeManagementEvents": True,
                     "DataResources": [], "ExcludeManagementEventSources": []}]
"""What GetEventSelectors reports for a trail created without selectors."""


def _classic(sel: Body) -> Any:
    resources = sel.blocks("data_resource")
    if resources is UNKNOWN:
        return UNKNOWN
    return {
        "ReadWriteType": str_or_unknown(sel.get("read_write_type", "All")),
        "IncludeManagementEvents": bool_arg(sel, "include_management_events", True),
        "DataResources": [{"Type": str_or_unknown(r.get("type", UNKNOWN)),
                           "Values": str_list(r.get("values", UNKNOWN))} for r in resources],
        "ExcludeManagementEventSources": str_list(sel.get("exclude_management_event_sources")),
    }


def _advanced(sel: Body) -> Any:
    fields = sel.blocks("field_selector")
    if fields is UNKNOWN:
        return UNKNOWN
    out_fields = []
    for f in fields:
        item: dict[str, Any] = {"Field": str_or_unknown(f.get("field", UNKNOWN))}
        for arg, key in _FIELD_OPS:
            if f.has(arg):
                item[key] = str_list(f.get(arg))
        out_fields.append(item)
    out: dict[str, Any] = {"FieldSelectors": out_fields}
    if sel.has("name"):
        out["Name"] = str_or_unknown(sel.get("name"))
    return out


def _trail(ctx: Context, block: Block) -> Resource:
    body = block.body
    attrs = Attrs()
    attrs.set("name", str_or_unknown(body.get("name", UNKNOWN)), "trail name not determined")
    attrs.set("home_region", block.provider.region or UNKNOWN, "provider region not literal")
    attrs.set("is_multi_region", bool_arg(body, "is_multi_region_trail", False))
    attrs.set("is_organization", bool_arg(body, "is_organization_trail", False))
    attrs.set("is_logging", bool_arg(body, "enable_logging", True))
    attrs.set("log_file_validation", bool_arg(body, "enable_log_file_validation", False))
    attrs.set("kms_key_id", str_or_unknown(body.get("kms_key_id")), "trail KMS key not determined")
    bucket = str_or_unknown(body.get("s3_bucket_name", UNKNOWN))
    attrs.set("s3_bucket", bucket, "trail bucket not determined")
    declared = [b for b in ctx.declared.managed("aws_s3_bucket") if b.body.get("bucket") == bucket]
    if declared and declared[0].provider.account is not None:
        attrs.set("s3_bucket_account", declared[0].provider.account)
    classic = body.blocks("event_selector")
    advanced = body.blocks("advanced_event_selector")
    if classic is UNKNOWN or advanced is UNKNOWN:
        attrs.unknown("event_selectors", "generated event selector blocks")
        attrs.unknown("advanced_event_selectors", "generated event selector blocks")
    elif advanced:
        attrs.set("event_selectors", None)
        attrs.set("advanced_event_selectors", [_advanced(a) for a in advanced],
                  "an advanced event selector is not determined")
    else:
        attrs.set("event_selectors", [_classic(c) for c in classic] if classic
                  else list(_MANAGEMENT_ONLY), "an event selector is not determined")
        attrs.set("advanced_event_selectors", None)
    attrs.set("cloud_watch_logs_group_arn", str_or_unknown(body.get("cloud_watch_logs_group_arn")))
    return ctx.resource(TRAIL, block, attrs)


def trails(ctx: Context) -> list[Resource]:
    """``aws_cloudtrail`` -> ``aws.cloudtrail.trail``."""
    return [_trail(ctx, b) for b in ctx.declared.managed("aws_cloudtrail") if b.expanded]


def log_groups(ctx: Context) -> list[Resource]:
    """``aws_cloudwatch_log_group`` -> ``aws.logs.log_group`` (retention 0 = never expire)."""
    out = []
    for block in ctx.declared.managed("aws_cloudwatch_log_group"):
        if not block.expanded:
            continue
        attrs = Attrs()
        attrs.set("name", str_or_unknown(block.body.get("name", UNKNOWN)), "name not determined")
        days = int_arg(block.body, "retention_in_days", 0)
        attrs.set("retention_days", None if days == 0 else days, "retention not determined")
        attrs.set("kms_key_id", str_or_unknown(block.body.get("kms_key_id")),
                  "KMS key not determined")
        out.append(ctx.resource(LOG_GROUP, block, attrs))
    return out


def _threshold(attrs: Attrs, body: Body) -> None:
    value = body.get("threshold", UNKNOWN)
    if isinstance(value, float) and math.isfinite(value):
        # NOTE: snapshots hold no floats: rounded down, and the exact value as text (as live).
        attrs.set("threshold", int(value // 1))
        attrs.set("threshold_text", repr(value))
        return
    attrs.set("threshold", int_arg(body, "threshold", None), "threshold not determined")


def alarms(ctx: Context) -> list[Resource]:
    """``aws_cloudwatch_metric_alarm`` -> ``aws.cloudwatch.alarm``.

    ``state`` is null: the alarm is not deployed yet, so there is no state to observe.
    """
    out = []
    for block in ctx.declared.managed("aws_cloudwatch_metric_alarm"):
        if not block.expanded:
            continue
        b = block.body
        attrs = Attrs()
        for name, arg in (("name", "alarm_name"), ("namespace", "namespace"),
                          ("metric", "metric_name"), ("comparison", "comparison_operator")):
            attrs.set(name, str_or_unknown(b.get(arg, UNKNOWN)), f"{arg} not determined")
        stat = b.get("statistic") if b.has("statistic") else b.get("extended_statistic", UNKNOWN)
        attrs.set("statistic", str_or_unknown(stat), "statistic not determined")
        queries = b.blocks("metric_query")
        attrs.set("metric_math", UNKNOWN if queries is UNKNOWN else bool(queries),
                  "generated metric_query blocks")
        dims = b.get("dimensions", {})
        attrs.set("dimensions", dims if isinstance(dims, dict) else UNKNOWN,
                  "dimensions not determined")
        attrs.set("period", int_arg(b, "period", None), "period not determined")
        _threshold(attrs, b)
        attrs.set("evaluation_periods", int_arg(b, "evaluation_periods", None)
                  if b.has("evaluation_periods") else UNKNOWN, "evaluation_periods not determined")
        attrs.set("datapoints_to_alarm", int_arg(b, "datapoints_to_alarm", None),
                  "datapoints_to_alarm not determined")
        attrs.set("unit", str_or_unknown(b.get("unit")), "unit not determined")
        attrs.set("treat_missing_data", str_or_unknown(b.get("treat_missing_data", "missing")),
                  "treat_missing_data not determined")
        attrs.set("evaluation_criteria", False)
        attrs.set("state", None)
        attrs.set("actions_enabled", bool_arg(b, "actions_enabled", True))
        attrs.set("alarm_actions", str_list(b.get("alarm_actions")), "alarm actions not determined")
        out.append(ctx.resource(ALARM, block, attrs))
    return out


def guardduty(ctx: Context) -> list[Resource]:
    """``aws_guardduty_detector`` -> ``aws.guardduty.region`` (one per detector block)."""
    out = []
    for block in ctx.declared.managed("aws_guardduty_detector"):
        if not block.expanded:
            continue
        enabled = bool_arg(block.body, "enable", True)
        attrs = Attrs()
        attrs.set("detectors", UNKNOWN if enabled is UNKNOWN else [
            {"id": block.address, "status": "ENABLED" if enabled else "DISABLED"}],
            "detector status not determined")
        out.append(ctx.resource(GUARDDUTY, block, attrs))
    return out
