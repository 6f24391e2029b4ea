"""Network checks around weights: flow logs, security-group egress, routes, isolation,
VPC endpoint policies and outbound-traffic alarms.

VPCs holding weights are selected by the checks (not the engine), through the shared
:mod:`aslcheck.checks.aws.scope`: VPCs tagged as weights, VPCs of weight-tagged instances, and
VPCs with an approved VPC endpoint. A VPC whose membership hinges on tags that were not
collected, or a weight instance whose VPC was not collected, gets an ERROR finding, never a
silent skip.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from aslcheck.checks.aws.basics import (
    MISSING,
    Accounts,
    as_list,
    conditions,
    has_wildcard,
    is_everyone,
    is_positive_match,
    statements,
    stmt_label,
)
from aslcheck.checks.aws.scope import weight_vpcs as scope_vpcs
from aslcheck.checks.interface import CheckContext, CheckId, Finding, Select, Status
from aslcheck.checks.registry import check
from aslcheck.inventories.snapshot import Resource

VPC = "aws.ec2.vpc"
SUBNET = "aws.ec2.subnet"
SECURITY_GROUP = "aws.ec2.security_group"
VPC_ENDPOINT = "aws.ec2.vpc_endpoint"
INSTANCE = "aws.ec2.instance"
ALARM = "aws.cloudwatch.alarm"
BUCKET = "aws.s3.bucket"
SCOPE_KINDS = (VPC, INSTANCE, VPC_ENDPOINT)
"""Kinds read to decide which VPCs hold weights."""

FLOW_LOGS = CheckId("aws.vpc.weights_flow_logs")
SG_EGRESS = CheckId("aws.vpc.weights_sg_egress_restricted")
NO_IGW_ROUTE = CheckId("aws.vpc.weights_no_igw_route")
ISOLATED = CheckId("aws.vpc.weights_isolated")
ENDPOINT_POLICY = CheckId("aws.vpc.endpoint_policy_org_restricted")
EGRESS_ALARMS = CheckId("aws.cloudwatch.egress_alarms")


def vpc_id_of(res: Resource) -> str:
    """The ``vpc-...`` ID of a VPC resource."""
    value = res.attributes.get("vpc_id")
    return value if isinstance(value, str) else res.id.rsplit("/", 1)[-1]


@dataclass
class WeightVpcs:
    """Which VPCs hold weights, which cannot be decided, and why."""

    held: dict[str, Resource] = field(default_factory=dict)
    """VPC ID -> VPC resource holding weights."""
    why: dict[str, list[str]] = field(default_factory=dict)
    """VPC ID -> reasons it holds weights."""
    undecided: dict[str, tuple[Resource, str]] = field(default_factory=dict)
    """VPC ID -> (VPC resource, why membership cannot be decided)."""
    orphans: list[tuple[Resource, str]] = field(default_factory=list)
    """Weight resources whose VPC is not known or not collected."""

    def status_of(self, vpc_id: Any) -> tuple[bool | None, str]:
        """Whether the VPC ``vpc_id`` holds weights (``None``: cannot tell)."""
        if not isinstance(vpc_id, str):
            return None, "its VPC was not collected"
        if vpc_id in self.held:
            return True, "; ".join(self.why.get(vpc_id, []))
        if vpc_id in self.undecided:
            return None, self.undecided[vpc_id][1]
        return False, ""


def weight_vpcs(ctx: CheckContext) -> WeightVpcs:
    """Select the VPCs that hold weights (:func:`aslcheck.checks.aws.scope.weight_vpcs`)."""
    sel = scope_vpcs(ctx.snapshot, ctx.config)
    out = WeightVpcs()
    reasons = sel.reasons or {}
    for vpc in sel.resources:
        out.held[vpc_id_of(vpc)] = vpc
        out.why[vpc_id_of(vpc)] = list(reasons.get(vpc.id, ()))
    for vpc in sel.undecided:
        out.undecided[vpc_id_of(vpc)] = (vpc, "cannot tell whether it holds weights: tags of the "
                                         "VPC or of an instance in it were not collected")
    by_id = {r.id: r for kind in (INSTANCE, VPC_ENDPOINT) for r in ctx.snapshot.of_kind(kind)}
    for ref in sel.unresolved:
        owner = by_id.get(ref.referrer)
        if owner is not None:
            out.orphans.append((owner, ref.reason))
    return out


def _scope_errors(ctx: CheckContext, cid: CheckId, scope: WeightVpcs,
                  on_vpcs: bool) -> Iterator[Finding]:
    """ERROR findings for undecidable VPCs (when the check is about VPCs) and orphans."""
    if on_vpcs:
        for vid in sorted(scope.undecided):
            res, why = scope.undecided[vid]
            yield ctx.finding(cid, res, Status.ERROR, why, {"vpc_id": vid})
    for res, why in scope.orphans:
        yield ctx.finding(cid, res, Status.ERROR, why, {"resource": res.id})


def _children(ctx: CheckContext, cid: CheckId, kind: str,
              scope: WeightVpcs) -> Iterator[tuple[Resource, Finding | None]]:
    """Resources of ``kind`` in weight VPCs; an ERROR finding where membership is undecidable."""
    for res in ctx.snapshot.of_kind(kind):
        vid = res.attributes.get("vpc_id", MISSING)
        held, why = scope.status_of(vid if vid is not MISSING else None)
        if vid is None:
            continue  # collected: not in any VPC
        if held is None:
            yield res, ctx.finding(cid, res, Status.ERROR,
                                   f"cannot tell whether it is in a weight VPC: {why}",
                                   {"vpc_id": "<not collected>" if vid is MISSING else vid})
        elif held:
            yield res, None


# -- flow logs, isolation -----------------------------------------------------------------


@check(FLOW_LOGS, kinds=SCOPE_KINDS, primary_kinds=(VPC,), select=Select.ALL)
def flow_logs(ctx: CheckContext) -> Iterator[Finding]:
    """Every weight VPC has an active flow log capturing ALL traffic."""
    scope = weight_vpcs(ctx)
    yield from _scope_errors(ctx, FLOW_LOGS, scope, on_vpcs=True)
    for vid, vpc in sorted(scope.held.items()):
        logs = vpc.attributes.get("flow_logs", MISSING)
        if logs is MISSING:
            yield ctx.finding(FLOW_LOGS, vpc, Status.ERROR, "flow logs not collected",
                              {"flow_logs": "<not collected>"})
            continue
        ev = {"flow_logs": logs, "holds_weights_because": scope.why[vid]}
        good = [f for f in as_list(logs) if isinstance(f, Mapping)
                and f.get("status") == "ACTIVE" and f.get("traffic_type") == "ALL"]
        if good:
            yield ctx.finding(FLOW_LOGS, vpc, Status.PASS,
                              f"active flow log {good[0].get('id')} captures all traffic", ev)
        else:
            yield ctx.finding(FLOW_LOGS, vpc, Status.FAIL,
                              "no active flow log captures ALL traffic of this weight VPC", ev)


_PATHS_OUT = ("internet_gateways", "nat_gateways", "peering_connections",
              "transit_gateway_attachments")


@check(ISOLATED, kinds=SCOPE_KINDS, primary_kinds=(VPC,), select=Select.ALL)
def isolated(ctx: CheckContext) -> Iterator[Finding]:
    """Weight VPCs have no internet or NAT gateway, peering or transit gateway attachment."""
    scope = weight_vpcs(ctx)
    yield from _scope_errors(ctx, ISOLATED, scope, on_vpcs=True)
    for _, vpc in sorted(scope.held.items()):
        ev = {n: vpc.attributes.get(n, "<not collected>") for n in _PATHS_OUT}
        present = [f"{n}: {', '.join(map(str, v))}" for n, v in ev.items() if isinstance(v, list) and v]
        gone = [n for n in _PATHS_OUT if n not in vpc.attributes]
        if present:
            yield ctx.finding(ISOLATED, vpc, Status.FAIL,
                              f"weight VPC has paths out: {'; '.join(present)}", ev)
        elif gone:
            yield ctx.finding(ISOLATED, vpc, Status.ERROR, f"{', '.join(gone)} not collected", ev)
        else:
            yield ctx.finding(ISOLATED, vpc, Status.PASS,
                              "no internet/NAT gateway, peering or transit gateway attachment", ev)


# -- security groups, routes ------------------------------------------------------------------

_OPEN = ("0.0.0.0/0", "::/0")
_FULL_RANGE = ((None, None), (0, 65535), (-1, -1))


def _open_all_ports(rule: Mapping[str, Any]) -> bool:
    cidrs = as_list(rule.get("cidrs")) + as_list(rule.get("ipv6_cidrs"))
    if not any(c in _OPEN for c in cidrs):
        return False
    proto = str(rule.get("protocol"))
    ports = (rule.get("from_port"), rule.get("to_port"))
    return proto in ("-1", "all") or (proto in ("tcp", "udp", "6", "17") and ports in _FULL_RANGE)


@check(SG_EGRESS, kinds=(*SCOPE_KINDS, SECURITY_GROUP), primary_kinds=(SECURITY_GROUP,),
       select=Select.ALL)
def sg_egress_restricted(ctx: CheckContext) -> Iterator[Finding]:
    """No security group in a weight VPC allows egress to 0.0.0.0/0 (or ::/0) on all ports."""
    scope = weight_vpcs(ctx)
    yield from _scope_errors(ctx, SG_EGRESS, scope, on_vpcs=False)
    for sg, err in _children(ctx, SG_EGRESS, SECURITY_GROUP, scope):
        if err is not None:
            yield err
            continue
        egress = sg.attributes.get("egress", MISSING)
        if egress is MISSING:
            yield ctx.finding(SG_EGRESS, sg, Status.ERROR, "egress rules not collected",
                              {"egress": "<not collected>"})
            continue
        bad = [r for r in as_list(egress) if isinstance(r, Mapping) and _open_all_ports(r)]
        ev = {"egress": egress, "open_rules": bad}
        if bad:
            yield ctx.finding(SG_EGRESS, sg, Status.FAIL,
                              "allows egress to the whole internet on all ports", ev)
        else:
            yield ctx.finding(SG_EGRESS, sg, Status.PASS,
                              "no egress rule opens all ports to the internet", ev)


@check(NO_IGW_ROUTE, kinds=(*SCOPE_KINDS, SUBNET), primary_kinds=(SUBNET,), select=Select.ALL)
def no_igw_route(ctx: CheckContext) -> Iterator[Finding]:
    """No subnet of a weight VPC routes anything to an internet gateway.

    NOTE: stricter than "no 0.0.0.0/0 -> igw": any route to an internet gateway makes the
    subnet public for that range.
    """
    scope = weight_vpcs(ctx)
    yield from _scope_errors(ctx, NO_IGW_ROUTE, scope, on_vpcs=False)
    for subnet, err in _children(ctx, NO_IGW_ROUTE, SUBNET, scope):
        if err is not None:
            yield err
            continue
        routes = subnet.attributes.get("routes", MISSING)
        if routes is MISSING:
            yield ctx.finding(NO_IGW_ROUTE, subnet, Status.ERROR, "routes not collected",
                              {"routes": "<not collected>"})
            continue
        bad = [r for r in as_list(routes) if isinstance(r, Mapping)
               and str(r.get("target", "")).startswith("igw-")]
        ev = {"routes": routes}
        if bad:
            desc = ", ".join(f"{r.get('destination')} -> {r.get('target')}" for r in bad)
            yield ctx.finding(NO_IGW_ROUTE, subnet, Status.FAIL,
                              f"routes to an internet gateway: {desc}", ev)
        else:
            yield ctx.finding(NO_IGW_ROUTE, subnet, Status.PASS,
                              "no route to an internet gateway", ev)


# -- endpoint policies ------------------------------------------------------------------------

_ORG_KEYS = ("aws:principalorgid", "aws:resourceorgid", "aws:principalorgpaths",
             "aws:resourceorgpaths")
_ACCOUNT_KEYS = ("aws:principalaccount", "aws:resourceaccount")


def _org_limited(stmt: Mapping[str, Any], accounts: Accounts, own: str | None) -> bool | None:
    """Whether a statement's conditions confine it to this organisation (``None``: unknown)."""
    verdicts: list[bool | None] = []
    for c in conditions(stmt):
        if not is_positive_match(c) or not c.values or any(has_wildcard(v.split("/", 1)[0]) for v in c.values):
            continue
        if c.key in _ORG_KEYS:
            found = [accounts.org_id_known(v.split("/", 1)[0]) for v in c.values]
        elif c.key in _ACCOUNT_KEYS:
            found = [accounts.member(v, own) for v in c.values]
        else:
            continue
        verdicts.append(False if False in found else None if None in found else True)
    if True in verdicts:
        return True
    return None if None in verdicts else False


def _our_buckets_only(stmt: Mapping[str, Any], buckets: set[str]) -> bool:
    res = as_list(stmt.get("Resource"))
    if not res or "NotResource" in stmt:
        return False
    for pattern in map(str, res):
        if not pattern.startswith("arn:aws:s3:::"):
            return False
        name = pattern[len("arn:aws:s3:::"):].split("/", 1)[0]
        if has_wildcard(name) or name not in buckets:
            return False
    return True


def _perimeter_deny(stmt: Mapping[str, Any], accounts: Accounts) -> bool | None:
    """A ``Deny * on *`` unless the principal or resource is in this organisation."""
    conds = conditions(stmt)
    if not (stmt.get("Effect") == "Deny" and is_everyone(stmt.get("Principal"))
            and "*" in as_list(stmt.get("Action")) and "*" in as_list(stmt.get("Resource"))
            and len(conds) == 1 and conds[0].key in ("aws:principalorgid", "aws:resourceorgid")
            and conds[0].operator == "StringNotEquals" and not conds[0].set_prefix):
        return False
    found = [accounts.org_id_known(v) for v in conds[0].values]
    return False if False in found or not found else None if None in found else True


@check(ENDPOINT_POLICY, kinds=(*SCOPE_KINDS, BUCKET), primary_kinds=(VPC_ENDPOINT,),
       select=Select.ALL)
def endpoint_policy_org_restricted(ctx: CheckContext) -> Iterator[Finding]:
    """Every VPC endpoint in a weight VPC has a policy confining it to the organisation.

    Accepted: a perimeter ``Deny`` (StringNotEquals aws:PrincipalOrgID/aws:ResourceOrgID), or
    every Allow limited by an organisation/account condition or to collected buckets.
    """
    scope = weight_vpcs(ctx)
    accounts = Accounts.from_snapshot(ctx.snapshot)
    buckets = {str(b.attributes.get("name")) for b in ctx.snapshot.of_kind(BUCKET)}
    yield from _scope_errors(ctx, ENDPOINT_POLICY, scope, on_vpcs=False)
    for ep, err in _children(ctx, ENDPOINT_POLICY, VPC_ENDPOINT, scope):
        if err is not None:
            yield err
            continue
        doc = ep.attributes.get("policy", MISSING)
        if doc is MISSING:
            yield ctx.finding(ENDPOINT_POLICY, ep, Status.ERROR, "endpoint policy not collected",
                              {"policy": "<not collected>"})
            continue
        ev = {"policy": doc}
        if doc is not None and not isinstance(doc, Mapping):
            yield ctx.finding(ENDPOINT_POLICY, ep, Status.ERROR,
                              "endpoint policy is not a parsed policy document", ev)
            continue
        if doc is None:
            yield ctx.finding(ENDPOINT_POLICY, ep, Status.FAIL,
                              "no endpoint policy: the default allows any principal and resource",
                              ev)
            continue
        stmts = statements(doc)
        perimeter = [_perimeter_deny(s, accounts) for s in stmts]
        if True in perimeter:
            yield ctx.finding(ENDPOINT_POLICY, ep, Status.PASS,
                              "a perimeter deny confines the endpoint to the organisation", ev)
            continue
        open_, unknown = [], []
        for i, s in enumerate(stmts):
            if s.get("Effect") != "Allow" or _our_buckets_only(s, buckets):
                continue
            limited = _org_limited(s, accounts, ep.account)
            if limited is False:
                open_.append(stmt_label(s, i))
            elif limited is None:
                unknown.append(stmt_label(s, i))
        if open_:
            yield ctx.finding(ENDPOINT_POLICY, ep, Status.FAIL,
                              f"not limited to the organisation: {', '.join(open_)}", ev)
        elif unknown or None in perimeter:
            yield ctx.finding(ENDPOINT_POLICY, ep, Status.ERROR,
                              "organisation limits name an organisation or accounts whose "
                              "membership was not collected", ev)
        else:
            yield ctx.finding(ENDPOINT_POLICY, ep, Status.PASS,
                              "every Allow is limited to the organisation or its buckets", ev)


# -- outbound-traffic alarms ----------------------------------------------------------------

_INSTANCE_METRICS = ("NetworkOut", "NetworkBytesOut")
_NAT_METRICS = ("BytesOutToDestination",)
_ALARM_FIELDS = ("metric", "dimensions", "statistic", "period", "threshold", "comparison",
                 "actions_enabled", "alarm_actions")
_SILENT = ("stopping", "stopped", "shutting-down", "terminated")
"""Instance states that send no traffic; any other (or unknown) state must be watched."""


def _exact_threshold(attrs: Mapping[str, Any]) -> Fraction | None:
    """The alarm threshold exactly: ``threshold_text`` (the API's float, as text) when the
    collector kept it, else the rounded-down integer ``threshold``."""
    text = attrs.get("threshold_text")
    if isinstance(text, str):
        try:
            return Fraction(text)
        except (ValueError, ZeroDivisionError):
            return None
    value = attrs.get("threshold")
    return Fraction(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _alarm_ok(alarm: Resource, budget: int) -> tuple[bool | None, str]:
    """Whether an alarm enforces the budget: Sum over its period, threshold within the budget
    scaled to that period, a GreaterThan comparison, and an enabled action."""
    a = alarm.attributes
    gone = [n for n in _ALARM_FIELDS if n not in a]
    if gone:
        return None, f"{alarm.id}: {', '.join(gone)} not collected"
    period, threshold = a["period"], _exact_threshold(a)
    if not (isinstance(period, int) and period > 0) or threshold is None:
        return None, f"{alarm.id}: unrecognised period {period!r} or threshold {a['threshold']!r}"
    if a["statistic"] != "Sum":
        return False, f"{alarm.id}: statistic {a['statistic']} is not Sum"
    if not str(a["comparison"]).startswith("GreaterThan"):
        return False, f"{alarm.id}: comparison {a['comparison']} does not fire on high egress"
    if a["actions_enabled"] is not True or not as_list(a["alarm_actions"]):
        return False, f"{alarm.id}: no enabled alarm action"
    # NOTE: exact arithmetic: threshold/period <= budget/3600 <=> threshold*3600 <= budget*period.
    if threshold * 3600 > budget * period:
        return False, (f"{alarm.id}: threshold {threshold} bytes per {period}s exceeds the budget "
                       f"{budget} bytes per hour")
    return True, f"{alarm.id}: threshold {threshold} bytes per {period}s"


def _watches(alarm: Resource, source: Resource, dim: str, ident: str, metrics: tuple[str, ...],
             aggregate: bool) -> bool:
    if alarm.account != source.account or alarm.region != source.region:
        return False
    if alarm.attributes.get("metric") not in metrics:
        return False
    dims = alarm.attributes.get("dimensions")
    # An EC2 metric without dimensions is the regional aggregate over every instance.
    return dims == {dim: ident} or (aggregate and dims == {}
                                    and alarm.attributes.get("namespace") == "AWS/EC2")


def _source_verdict(alarms: tuple[Resource, ...], source: Resource, dim: str, ident: str,
                    metrics: tuple[str, ...], budget: int) -> tuple[bool | None, list[str]]:
    notes: list[str] = []
    verdicts: list[bool | None] = []
    for alarm in alarms:
        if _watches(alarm, source, dim, ident, metrics, aggregate=dim == "InstanceId"):
            ok, why = _alarm_ok(alarm, budget)
            verdicts.append(ok)
            notes.append(why)
    if True in verdicts:
        return True, notes
    return (None if None in verdicts else False), notes


@check(EGRESS_ALARMS, kinds=(*SCOPE_KINDS, ALARM), primary_kinds=(VPC,),
       params=("egress_budget_bytes_per_hour",), select=Select.ALL)
def egress_alarms(ctx: CheckContext) -> Iterator[Finding]:
    """Every egress source of a weight VPC (running instances, NAT gateways) is watched by an
    alarm with a threshold within the declared egress budget and an enabled action."""
    scope = weight_vpcs(ctx)
    yield from _scope_errors(ctx, EGRESS_ALARMS, scope, on_vpcs=True)
    budget = ctx.config.parameters.get("egress_budget_bytes_per_hour")
    alarms = ctx.snapshot.of_kind(ALARM)
    instances = ctx.snapshot.of_kind(INSTANCE)
    for vid, vpc in sorted(scope.held.items()):
        if budget is None:
            yield ctx.finding(EGRESS_ALARMS, vpc, Status.ERROR,
                              "egress budget not declared (parameters.egress_budget_bytes_per_hour)")
            continue
        nats = vpc.attributes.get("nat_gateways", MISSING)
        if nats is MISSING:
            yield ctx.finding(EGRESS_ALARMS, vpc, Status.ERROR, "NAT gateways not collected",
                              {"nat_gateways": "<not collected>"})
            continue
        sources: list[tuple[str, str, str, tuple[str, ...]]] = [
            (f"instance {i.attributes.get('instance_id')}", "InstanceId",
             str(i.attributes.get("instance_id")), _INSTANCE_METRICS)
            for i in instances if i.attributes.get("vpc_id") == vid
            and i.attributes.get("state") not in _SILENT]
        sources += [(f"NAT gateway {n}", "NatGatewayId", str(n), _NAT_METRICS)
                    for n in as_list(nats)]
        uncovered, notes = [], {}
        unknown = [f"instance {i.id} (VPC not collected)" for i in instances
                   if "vpc_id" not in i.attributes and i.account == vpc.account
                   and i.region == vpc.region]
        for label, dim, ident, metrics in sources:
            ok, why = _source_verdict(alarms, vpc, dim, ident, metrics, budget)
            notes[label] = why or ["no alarm on its outbound bytes"]
            if ok is False:
                uncovered.append(label)
            elif ok is None:
                unknown.append(label)
        ev = {"egress_budget_bytes_per_hour": budget, "sources": notes}
        if not sources:
            yield ctx.finding(EGRESS_ALARMS, vpc, Status.FAIL,
                              "no running instance or NAT gateway to watch: egress of this weight "
                              "VPC is not covered by any alarm", ev)
        elif uncovered:
            yield ctx.finding(EGRESS_ALARMS, vpc, Status.FAIL,
                              f"egress not alarmed within budget for: {', '.join(uncovered)}", ev)
        elif unknown:
            yield ctx.finding(EGRESS_ALARMS, vpc, Status.ERROR,
                              f"alarm data not collected for: {', '.join(unknown)}", ev)
        else:
            yield ctx.finding(EGRESS_ALARMS, vpc, Status.PASS,
                              f"all {len(sources)} egress sources alarmed within the budget", ev)
