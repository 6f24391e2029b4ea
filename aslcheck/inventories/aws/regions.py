"""Regions outside ``aws.regions``: are weights there? Asked cheaply, never assumed "no".

When the scan is limited to chosen regions, each other enabled region of each account gets one
paginated ``tag:GetResources`` call filtered on the weight tags and on the modelled regional
resource types. Each weight-tagged resource found becomes a collection error naming it (so every
check reading its kind is INCONCLUSIVE, with the ARN and region in the reason); a failed call
becomes an error on every regional kind asked (those kinds are then not listed completely).
Untagged resources are invisible to the tag API, so a weight ARN pattern or ``allowed_storage``
pattern that can match a region outside the scan is reported the same way, without a call.
S3 buckets are listed account-wide, whatever the regions, and need none of this.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from functools import partial

from aslcheck.controls.config import Scope
from aslcheck.inventories.aws.context import Outcome, Target, Task, errors_for
from aslcheck.inventories.snapshot import CollectionError

OPERATION = "resourcegroupstaggingapi:GetResources"
"""The one read this module sends (IAM action ``tag:GetResources``)."""
OPERATIONS = frozenset({OPERATION})
CODE = "WeightsOutsideScannedRegions"
"""Error code of a weight resource (or pattern) in a region the scan does not cover."""

RESOURCE_TYPES: Mapping[str, str] = {
    "aws.kms.key": "kms:key",
    "aws.ec2.instance": "ec2:instance",
    "aws.ec2.volume": "ec2:volume",
    "aws.ec2.snapshot": "ec2:snapshot",
    "aws.ec2.image": "ec2:image",
    "aws.ec2.vpc": "ec2:vpc",
    "aws.ec2.subnet": "ec2:subnet",
    "aws.ec2.security_group": "ec2:security-group",
    "aws.ec2.vpc_endpoint": "ec2:vpc-endpoint",
    "aws.cloudtrail.trail": "cloudtrail:trail",
    "aws.logs.log_group": "logs:log-group",
}
"""Regional kinds the tag API can find, with its resource-type filter (``service:type``)."""
_KIND_OF_TYPE = {v: k for k, v in RESOURCE_TYPES.items()}


def kind_of_arn(arn: str) -> str | None:
    """The snapshot kind of a regional resource ARN, when it is one the collector models."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return None
    service, resource = parts[2], parts[5]
    rtype = resource.split("/", 1)[0].split(":", 1)[0]
    return _KIND_OF_TYPE.get(f"{service}:{rtype}")


def pattern_reach(patterns: Iterable[str], kinds: Iterable[str],
                  regions: Sequence[str]) -> list[tuple[str, str, str]]:
    """``(pattern, kind, region)`` for each pattern that can match a resource of ``kinds`` in
    one of ``regions`` (the patterns are globs over ARNs)."""
    wanted = set(kinds)
    out: list[tuple[str, str, str]] = []
    for pattern in patterns:
        parts = pattern.split(":", 5)
        if len(parts) != 6:
            continue
        service, region_glob, resource = parts[2], parts[3], parts[5]
        rtype = resource.split("/", 1)[0].split(":", 1)[0]
        for kind, filt in RESOURCE_TYPES.items():
            fservice, ftype = filt.split(":", 1)
            if kind not in wanted or not fnmatchcase(fservice, service) \
                    or not (fnmatchcase(ftype, rtype) or "*" in rtype):
                continue
            out.extend((pattern, kind, r) for r in regions if fnmatchcase(r, region_glob))
    return out


def _probe(target: Target, kinds: frozenset[str], tags: Mapping[str, str]) -> Outcome:
    rd = target.reader(OPERATIONS)
    wanted = sorted(k for k in kinds if k in RESOURCE_TYPES)
    listed = rd.paginate(OPERATION, "ResourceTagMappingList", wanted,
                         TagFilters=[{"Key": k, "Values": [v]} for k, v in sorted(tags.items())],
                         ResourceTypeFilters=sorted(RESOURCE_TYPES[k] for k in wanted))
    why = f"cannot tell whether region {target.region}, outside aws.regions, holds " \
          "weight-tagged resources"
    if rd.skipped(OPERATION):
        # NOTE: opting out of the probe must not make other regions silently out of scope.
        return Outcome(errors=errors_for(OPERATION, wanted, None, "Skipped",
                                         f"{why}: {OPERATION} is in skip_operations",
                                         account=target.account, region=target.region))
    if not isinstance(listed, list):
        return Outcome(errors=[dataclasses.replace(e, message=f"{why}: {e.message}")
                               for e in rd.errors])
    found = rd.parse(OPERATION, wanted, None,
                     lambda: sorted(str(item["ResourceARN"]) for item in listed))
    if found is None:
        return Outcome(errors=rd.errors)
    errors = list(rd.errors)
    for arn in found.value:
        kind = kind_of_arn(arn)
        if kind is None or kind not in kinds:
            continue
        errors.extend(errors_for(OPERATION, kind, arn, CODE,
                                 f"{arn} is tagged as holding weights in {target.region}, a region "
                                 "aws.regions does not include: it was not scanned",
                                 account=target.account, region=target.region))
    return Outcome(errors=errors)


def plan(target_for: Callable[[str], Target], account: str, kinds: frozenset[str], scope: Scope,
         outside: Sequence[str]) -> tuple[list[Task], list[CollectionError]]:
    """Probe tasks for the enabled regions ``outside`` the scan, and pattern errors (no call)."""
    regional = frozenset(k for k in kinds if k in RESOURCE_TYPES)
    if not regional or not outside:
        return [], []
    errors: list[CollectionError] = []
    for pattern, kind, region in pattern_reach(
            (*scope.weight_arn_patterns, *scope.allowed_storage), regional, outside):
        errors.extend(errors_for(
            OPERATION, kind, None, CODE,
            f"weight storage pattern {pattern!r} can match {kind} resources in {region}, a region "
            "aws.regions does not include (untagged resources cannot be found without scanning it)",
            account=account, region=region))
    tasks = []
    if scope.weight_tags:
        for region in outside:
            target = target_for(region)
            tasks.append(Task(target.label("tag:GetResources"),
                              partial(_probe, target, regional, dict(scope.weight_tags)), regional))
    return tasks, errors
