"""CloudTrail: trails homed in one region, with status, event selectors and tags.

``DescribeTrails(includeShadowTrails=False)`` lists the trails whose home region is the region
asked, so each trail is read once, in its home region. ``s3_bucket_account`` is filled in by the
collector after every account is listed (see :func:`with_bucket_accounts`); it stays absent when
the log bucket was not collected (its account is then unknown, not "none").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import partial
from typing import Any

from aslcheck.inventories.aws.context import LISTED, TAGS, Feeds, Outcome, Target, Task
from aslcheck.inventories.aws.normalise import tag_list
from aslcheck.inventories.snapshot import Resource

TRAIL = "aws.cloudtrail.trail"
SCOPE = "regional"

OPERATIONS: Mapping[str, frozenset[str]] = {
    TRAIL: frozenset({"cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus",
                      "cloudtrail:GetEventSelectors", "cloudtrail:ListTags"}),
}
KINDS = frozenset(OPERATIONS)
FEEDS: Feeds = {
    "cloudtrail:DescribeTrails": {TRAIL: frozenset({LISTED})},
    "cloudtrail:GetTrailStatus": {TRAIL: frozenset({"is_logging"})},
    "cloudtrail:GetEventSelectors": {TRAIL: frozenset({"event_selectors",
                                                       "advanced_event_selectors"})},
    "cloudtrail:ListTags": {TRAIL: frozenset({TAGS})},
}
_TAG_BATCH = 20  # ListTags accepts at most 20 trail ARNs per call


def _base(trail: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    return str(trail["TrailARN"]), {
        "name": str(trail["Name"]),
        "home_region": str(trail["HomeRegion"]),
        "is_multi_region": trail.get("IsMultiRegionTrail") is True,
        "is_organization": trail.get("IsOrganizationTrail") is True,
        "log_file_validation": trail.get("LogFileValidationEnabled") is True,
        "kms_key_id": trail.get("KmsKeyId"),
        "s3_bucket": str(trail["S3BucketName"]),
        "include_global_service_events": trail.get("IncludeGlobalServiceEvents") is True,
    }


def _selectors(answer: Mapping[str, Any]) -> tuple[Any, Any]:
    classic = answer.get("EventSelectors")
    advanced = answer.get("AdvancedEventSelectors")
    # NOTE: a JSON round trip drops botocore's response types and proves JSON-ability.
    return (json.loads(json.dumps(classic)) if classic else None,
            json.loads(json.dumps(advanced)) if advanced else None)


def _tag_index(listed: list[Any]) -> dict[str, dict[str, str]]:
    return {str(item["ResourceId"]): tag_list(item.get("TagsList")) for item in listed}


def _trail(target: Target, arn: str, attrs: dict[str, Any],
           tags: dict[str, str] | None) -> Outcome:
    rd = target.reader(OPERATIONS[TRAIL])
    status = rd.call("cloudtrail:GetTrailStatus", TRAIL, arn, Name=arn)
    if isinstance(status, dict):
        got = rd.parse("cloudtrail:GetTrailStatus", TRAIL, arn, lambda: status["IsLogging"])
        if got is not None and isinstance(got.value, bool):
            attrs["is_logging"] = got.value
        elif got is not None:
            rd.fail("cloudtrail:GetTrailStatus", TRAIL, arn, "UnexpectedResponse",
                    "IsLogging is not a boolean")
    sel = rd.call("cloudtrail:GetEventSelectors", TRAIL, arn, TrailName=arn)
    if isinstance(sel, dict):
        got_s = rd.parse("cloudtrail:GetEventSelectors", TRAIL, arn, lambda: _selectors(sel))
        if got_s is not None:
            attrs["event_selectors"], attrs["advanced_event_selectors"] = got_s.value
    resource = Resource(kind=TRAIL, id=arn, source="aws", attributes=attrs, tags=tags,
                        account=target.account, region=target.region)
    return Outcome(resources=[resource], errors=rd.errors)


def _list(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[TRAIL])
    answer = rd.call("cloudtrail:DescribeTrails", TRAIL, includeShadowTrails=False)
    if not isinstance(answer, dict):
        return Outcome(errors=rd.errors, incomplete={TRAIL})
    got = rd.parse("cloudtrail:DescribeTrails", TRAIL, None,
                   lambda: [_base(t) for t in answer["trailList"]])
    if got is None:
        return Outcome(errors=rd.errors, incomplete={TRAIL})
    trails = got.value
    tags: dict[str, dict[str, str]] = {}
    untagged: set[str] = set()
    for start in range(0, len(trails), _TAG_BATCH):
        batch = [arn for arn, _ in trails[start:start + _TAG_BATCH]]
        mark = len(rd.errors)
        listed = rd.paginate("cloudtrail:ListTags", "ResourceTagList", TRAIL, ResourceIdList=batch)
        parsed = rd.parse("cloudtrail:ListTags", TRAIL, None, _tag_index, listed) \
            if isinstance(listed, list) else None
        if parsed is not None:
            tags.update(parsed.value)
        else:
            # Tags stay None on these trails; name each one in the error.
            rd.spread(mark, batch)
            untagged.update(batch)
    followups = [
        Task(target.label(f"cloudtrail:{attrs['name']}"),
             partial(_trail, target, arn, attrs, None if arn in untagged else tags.get(arn, {})),
             frozenset({TRAIL}))
        for arn, attrs in trails
    ]
    return Outcome(errors=rd.errors, followups=followups)


def plan(target: Target, kinds: frozenset[str]) -> list[Task]:
    """Tasks for the trails homed in one account/region."""
    if TRAIL not in kinds:
        return []
    return [Task(target.label("cloudtrail:DescribeTrails"), lambda: _list(target),
                 frozenset({TRAIL}))]


def with_bucket_accounts(resources: Iterable[Resource]) -> list[Resource]:
    """Fill ``s3_bucket_account`` of trails whose log bucket was collected (else it stays absent)."""
    items = list(resources)
    owners = {str(r.attributes.get("name")): r.account for r in items if r.kind == "aws.s3.bucket"}
    out = []
    for res in items:
        bucket = res.attributes.get("s3_bucket") if res.kind == TRAIL else None
        owner = owners.get(str(bucket)) if bucket is not None else None
        out.append(replace(res, attributes={**res.attributes, "s3_bucket_account": owner})
                   if owner else res)
    return out
