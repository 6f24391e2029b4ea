"""Lambda functions of one region and the role each runs as (who changes a function's code acts
as its role: an escalation path the effective-access analysis follows)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aslcheck.inventories.aws.context import LISTED, Feeds, Outcome, Target, Task
from aslcheck.inventories.snapshot import Resource

FUNCTION = "aws.lambda.function"
SCOPE = "regional"

OPERATIONS: Mapping[str, frozenset[str]] = {
    FUNCTION: frozenset({"lambda:ListFunctions"}),
}
KINDS = frozenset(OPERATIONS)
FEEDS: Feeds = {"lambda:ListFunctions": {FUNCTION: frozenset({LISTED})}}


def _function(item: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    return str(item["FunctionArn"]), {
        "function_name": str(item["FunctionName"]),
        "role": str(item["Role"]),
        "runtime": item.get("Runtime"),
        "package_type": item.get("PackageType"),
    }


def _list(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[FUNCTION])
    op = "lambda:ListFunctions"
    items = rd.paginate(op, "Functions", FUNCTION)
    if not isinstance(items, list):
        return Outcome(errors=rd.errors, incomplete={FUNCTION})
    got = rd.parse(op, FUNCTION, None, lambda: [_function(i) for i in items])
    if got is None:
        return Outcome(errors=rd.errors, incomplete={FUNCTION})
    # Function tags are not read (a call per function; no check scopes functions by tag).
    resources = [Resource(kind=FUNCTION, id=arn, source="aws", attributes=attrs, tags=None,
                          account=target.account, region=target.region)
                 for arn, attrs in got.value]
    return Outcome(resources=resources, errors=rd.errors)


def plan(target: Target, kinds: frozenset[str]) -> list[Task]:
    """Tasks for the Lambda functions of one account/region."""
    if FUNCTION not in kinds:
        return []
    return [Task(target.label("lambda:ListFunctions"), lambda: _list(target),
                 frozenset({FUNCTION}))]
