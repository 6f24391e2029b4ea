"""EC2 checks that need more than an attribute comparison: public IPs in weight VPCs, sharing
of weight snapshots and AMIs, and GuardDuty detectors.

EBS default encryption, volume and snapshot encryption, public snapshots and IMDSv2 are
declarative (``rules/aws_ec2.yaml``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from aslcheck.checks.aws.basics import MISSING, as_list
from aslcheck.checks.aws.network import INSTANCE, SCOPE_KINDS, weight_vpcs
from aslcheck.checks.aws.weight_scope import IMAGE, SNAPSHOT, scope_kinds
from aslcheck.checks.interface import CheckContext, CheckId, Finding, Select, Status
from aslcheck.checks.registry import check

GUARDDUTY_REGION = "aws.guardduty.region"

NO_PUBLIC_IP = CheckId("aws.ec2.weights_no_public_ip")
GUARDDUTY_ENABLED = CheckId("aws.guardduty.enabled")
NOT_SHARED = CheckId("aws.ec2.weights_not_shared")


@check(NO_PUBLIC_IP, kinds=SCOPE_KINDS, primary_kinds=(INSTANCE,), select=Select.ALL)
def weights_no_public_ip(ctx: CheckContext) -> Iterator[Finding]:
    """No instance in a weight VPC (and no weight-tagged instance) has a public IP address."""
    scope = weight_vpcs(ctx)
    for inst in ctx.snapshot.of_kind(INSTANCE):
        tagged = ctx.config.scope.holds_weights(inst.tags, inst.id)
        vid = inst.attributes.get("vpc_id", MISSING)
        held, why = scope.status_of(vid if vid is not MISSING else None)
        if vid is None and not tagged:
            continue
        if held is None and not tagged:
            yield ctx.finding(NO_PUBLIC_IP, inst, Status.ERROR,
                              f"cannot tell whether it is in a weight VPC: {why}",
                              {"vpc_id": "<not collected>" if vid is MISSING else vid})
            continue
        if not (held or tagged):
            continue
        ip = inst.attributes.get("public_ip", MISSING)
        ev = {"vpc_id": vid if vid is not MISSING else "<not collected>",
              "public_ip": "<not collected>" if ip is MISSING else ip}
        if ip is MISSING:
            yield ctx.finding(NO_PUBLIC_IP, inst, Status.ERROR, "public IP not collected", ev)
        elif ip is None:
            yield ctx.finding(NO_PUBLIC_IP, inst, Status.PASS, "no public IP address", ev)
        else:
            yield ctx.finding(NO_PUBLIC_IP, inst, Status.FAIL,
                              f"weight-environment instance has public IP {ip}", ev)


_SHARES = {SNAPSHOT: ("public", "shared_with"),
           IMAGE: ("public", "shared_with", "shared_with_organizations")}


@check(NOT_SHARED, kinds=scope_kinds((SNAPSHOT, IMAGE)), primary_kinds=(SNAPSHOT, IMAGE),
       select=Select.WEIGHTS, allow_empty=True)
def weights_not_shared(ctx: CheckContext) -> Iterator[Finding]:
    """No weight snapshot or AMI (copies of weight hosts and volumes included) is public or
    shared with another account, organisation or OU: whoever it is shared with can copy the
    weights out."""
    for res in ctx.resources:
        names = _SHARES[res.kind]
        ev = {n: res.attributes.get(n, "<not collected>") for n in names}
        gone = [n for n in names if n not in res.attributes]
        if res.attributes.get("public") is True:
            yield ctx.finding(NOT_SHARED, res, Status.FAIL, "holds weights and is public", ev)
            continue
        shares = [str(v) for n in names[1:] for v in as_list(res.attributes.get(n))]
        if shares:
            yield ctx.finding(NOT_SHARED, res, Status.FAIL,
                              f"holds weights and is shared with {', '.join(shares)}", ev)
        elif gone:
            yield ctx.finding(NOT_SHARED, res, Status.ERROR, f"{', '.join(gone)} not collected", ev)
        elif any(not isinstance(res.attributes[n], list) for n in names[1:]) \
                or not isinstance(res.attributes["public"], bool):
            yield ctx.finding(NOT_SHARED, res, Status.ERROR, "sharing permissions unreadable", ev)
        else:
            yield ctx.finding(NOT_SHARED, res, Status.PASS,
                              "holds weights and is shared with nobody", ev)


@check(GUARDDUTY_ENABLED, kinds=(GUARDDUTY_REGION,), select=Select.ALL)
def guardduty_enabled(ctx: CheckContext) -> Iterator[Finding]:
    """Each collected account/region has an ENABLED GuardDuty detector."""
    for res in ctx.resources:
        detectors = res.attributes.get("detectors", MISSING)
        if detectors is MISSING:
            yield ctx.finding(GUARDDUTY_ENABLED, res, Status.ERROR, "detectors not collected",
                              {"detectors": "<not collected>"})
            continue
        ev = {"detectors": detectors}
        enabled = [d for d in as_list(detectors)
                   if isinstance(d, Mapping) and d.get("status") == "ENABLED"]
        if enabled:
            yield ctx.finding(GUARDDUTY_ENABLED, res, Status.PASS,
                              f"detector {enabled[0].get('id')} is enabled", ev)
        elif as_list(detectors):
            yield ctx.finding(GUARDDUTY_ENABLED, res, Status.FAIL, "every detector is disabled", ev)
        else:
            yield ctx.finding(GUARDDUTY_ENABLED, res, Status.FAIL, "no GuardDuty detector", ev)
