"""CloudWatch Logs: log groups of one region with retention, KMS key and tags."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from aslcheck.inventories.aws.context import LISTED, TAGS, Feeds, Outcome, Target, Task
from aslcheck.inventories.snapshot import Resource

LOG_GROUP = "aws.logs.log_group"
SCOPE = "regional"

OPERATIONS: Mapping[str, frozenset[str]] = {
    LOG_GROUP: frozenset({"logs:DescribeLogGroups", "logs:ListTagsForResource"}),
}
KINDS = frozenset(OPERATIONS)
FEEDS: Feeds = {
    "logs:DescribeLogGroups": {LOG_GROUP: frozenset({LISTED})},
    "logs:ListTagsForResource": {LOG_GROUP: frozenset({TAGS})},
}


def _group(item: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    arn = item.get("logGroupArn") or str(item["arn"]).removesuffix(":*")
    retention = item.get("retentionInDays")
    return str(arn), {
        "name": str(item["logGroupName"]),
        # No retention policy means the events never expire.
        "retention_days": int(retention) if retention is not None else None,
        "kms_key_id": item.get("kmsKeyId"),
    }


def _tags(target: Target, arn: str, attrs: dict[str, Any]) -> Outcome:
    rd = target.reader(OPERATIONS[LOG_GROUP])
    tags: dict[str, str] | None = None
    op = "logs:ListTagsForResource"
    answer = rd.call(op, LOG_GROUP, arn, resourceArn=arn)
    if isinstance(answer, dict):
        got = rd.parse(op, LOG_GROUP, arn, lambda: {
            str(k): str(v) for k, v in (answer.get("tags") or {}).items()})
        tags = got.value if got else None
    resource = Resource(kind=LOG_GROUP, id=arn, source="aws", attributes=attrs, tags=tags,
                        account=target.account, region=target.region)
    return Outcome(resources=[resource], errors=rd.errors)


def _list(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[LOG_GROUP])
    op = "logs:DescribeLogGroups"
    items = rd.paginate(op, "logGroups", LOG_GROUP)
    if not isinstance(items, list):
        return Outcome(errors=rd.errors, incomplete={LOG_GROUP})
    got = rd.parse(op, LOG_GROUP, None, lambda: [_group(i) for i in items])
    if got is None:
        return Outcome(errors=rd.errors, incomplete={LOG_GROUP})
    followups = [Task(target.label(f"logs:{attrs['name']}"),
                      partial(_tags, target, arn, attrs),
                      frozenset({LOG_GROUP}))
                 for arn, attrs in got.value]
    return Outcome(errors=rd.errors, followups=followups)


def plan(target: Target, kinds: frozenset[str]) -> list[Task]:
    """Tasks for the log groups of one account/region."""
    if LOG_GROUP not in kinds:
        return []
    return [Task(target.label("logs:DescribeLogGroups"), lambda: _list(target),
                 frozenset({LOG_GROUP}))]
