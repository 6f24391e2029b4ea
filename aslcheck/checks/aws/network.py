"""Network checks around weights: flow logs, security-group egress, routes, isolation,
VPC endpoint policies and outbound-traffic alarms.

VPCs holding weights are selected by the checks (not the engine), through the shared
:mod:`aslcheck.checks.aws.scope`: VPCs tagged as weights, VPCs of weight-tagged instances, and
VPCs with an approved VPC endpoint. A VPC whose membership hinges on tags that were not
collected, a weight instance whose VPC was not collected, or a group, interface, subnet or
endpoint whose VPC is not in the snapshot gets an ERROR finding, never a silent skip.

The judgements live beside: :mod:`~aslcheck.checks.aws.egress` (rule sets against the public
address space), :mod:`~aslcheck.checks.aws.routing` (exits), :mod:`~aslcheck.checks.aws.perimeter`
(endpoint policies), :mod:`~aslcheck.checks.aws.alarms` (alarms that can fire).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aslcheck.checks.aws.alarms import METRICS, alarm_enforces, watches
from aslcheck.checks.aws.basics import MISSING, Accounts, as_list
from aslcheck.checks.aws.egress import EgressVerdict, judge
from aslcheck.checks.aws.perimeter import judge_endpoint_policy
from aslcheck.checks.aws.routing import PrefixLists, judge_routes, security_groups
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
NETWORK_INTERFACE = "aws.ec2.network_interface"
PREFIX_LIST = "aws.ec2.prefix_list"
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
    known: set[str] = field(default_factory=set)
    """IDs of every VPC in the snapshot."""

    def status_of(self, vpc_id: Any) -> tuple[bool | None, str]:
        """Whether the VPC ``vpc_id`` holds weights (``None``: cannot tell)."""
        if not isinstance(vpc_id, str):
            return None, "its VPC was not collected"
        if vpc_id in self.held:
            return True, "; ".join(self.why.get(vpc_id, []))
        if vpc_id in self.undecided:
            return None, self.undecided[vpc_id][1]
        if vpc_id not in self.known:
            # NOTE: a VPC shared into this account, or one the listing missed: it may hold weights.
            return None, f"its VPC {vpc_id} is not in the snapshot"
        return False, ""


def weight_vpcs(ctx: CheckContext) -> WeightVpcs:
    """Select the VPCs that hold weights (:func:`aslcheck.checks.aws.scope.weight_vpcs`)."""
    sel = scope_vpcs(ctx.snapshot, ctx.config)
    out = WeightVpcs(known={vpc_id_of(v) for v in ctx.snapshot.of_kind(VPC)})
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


_PATHS_OUT = ("internet_gateways", "egress_only_internet_gateways", "nat_gateways",
              "peering_connections", "transit_gateway_attachments", "vpn_gateways")


@check(ISOLATED, kinds=SCOPE_KINDS, primary_kinds=(VPC,), select=Select.ALL, version=2)
def isolated(ctx: CheckContext) -> Iterator[Finding]:
    """Weight VPCs have no internet, egress-only, NAT or VPN gateway, peering or transit gateway
    attachment."""
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
                              "no internet, egress-only, NAT or VPN gateway, peering or transit "
                              "gateway attachment", ev)


# -- security groups --------------------------------------------------------------------------

_NO_GROUPS = frozenset({"nat_gateway", "transit_gateway", "gateway_load_balancer_endpoint",
                        "vpc_endpoint_gateway"})
"""Interface types security groups do not apply to."""


def _listed(ctx: CheckContext, kind: str, res: Resource) -> bool:
    """Whether ``kind`` was listed completely where ``res`` lives (no error on the kind there)."""
    if kind not in ctx.snapshot.kinds_collected():
        return False
    return not any(e.kind == kind and e.account in (None, res.account)
                   and e.region in (None, res.region) for e in ctx.snapshot.errors)


def _group_rules(groups: Sequence[Any], index: Mapping[tuple[str | None, str], Resource],
                 region: str | None) -> list[Any]:
    """The union of the egress rules of ``groups``; an unknown group is an unreadable rule
    (judged as nothing and as everything)."""
    rules: list[Any] = []
    for gid in groups:
        sg = index.get((region, str(gid)))
        egress = sg.attributes.get("egress", MISSING) if sg is not None else MISSING
        if sg is None:
            rules.append(f"<group {gid} is not in the snapshot>")
        elif not isinstance(egress, list):
            rules.append(f"<egress rules of {gid} not collected>")
        else:
            rules.extend(egress)
    return rules


def _egress_finding(ctx: CheckContext, res: Resource, verdict: EgressVerdict,
                    ev: dict[str, Any], what: str) -> Finding:
    ev = {**ev, "verdict": verdict.reason, "undetermined": list(verdict.undetermined)}
    if verdict.open is True:
        return ctx.finding(SG_EGRESS, res, Status.FAIL, f"{what} {verdict.reason}", ev)
    if verdict.open is None:
        return ctx.finding(SG_EGRESS, res, Status.ERROR, f"{what} {verdict.reason}", ev)
    return ctx.finding(SG_EGRESS, res, Status.PASS,
                       f"{what}: no set of rules opens all ports to the internet", ev)


@check(SG_EGRESS, kinds=(*SCOPE_KINDS, SECURITY_GROUP, NETWORK_INTERFACE, PREFIX_LIST),
       primary_kinds=(SECURITY_GROUP, NETWORK_INTERFACE), select=Select.ALL, version=2)
def sg_egress_restricted(ctx: CheckContext) -> Iterator[Finding]:
    """No security group in a weight VPC, and no union of the groups of a network interface in
    one, allows egress to the whole internet on all ports (:mod:`aslcheck.checks.aws.egress`).

    Without a complete interface listing, groups of a weight VPC that together (not alone) may
    open the internet make that VPC an ERROR: an interface could use them together.
    """
    scope = weight_vpcs(ctx)
    yield from _scope_errors(ctx, SG_EGRESS, scope, on_vpcs=False)
    lists = PrefixLists(ctx.snapshot)
    index = security_groups(ctx.snapshot)
    alone: dict[str, list[tuple[Resource, bool | None]]] = {}
    for sg, err in _children(ctx, SG_EGRESS, SECURITY_GROUP, scope):
        if err is not None:
            yield err
            continue
        egress = sg.attributes.get("egress", MISSING)
        if egress is MISSING:
            alone.setdefault(str(sg.attributes.get("vpc_id")), []).append((sg, None))
            yield ctx.finding(SG_EGRESS, sg, Status.ERROR, "egress rules not collected",
                              {"egress": "<not collected>"})
            continue
        verdict = judge(as_list(egress), lists.lookup(sg.region))
        alone.setdefault(str(sg.attributes.get("vpc_id")), []).append((sg, verdict.open))
        yield _egress_finding(ctx, sg, verdict, {"egress": egress}, "the group")
    cache: dict[tuple[str | None, tuple[str, ...]], EgressVerdict] = {}
    for eni, err in _children(ctx, SG_EGRESS, NETWORK_INTERFACE, scope):
        if err is not None:
            yield err
            continue
        groups = eni.attributes.get("security_groups", MISSING)
        ev: dict[str, Any] = {"security_groups": groups}
        if not isinstance(groups, list):
            yield ctx.finding(SG_EGRESS, eni, Status.ERROR, "security groups not collected", ev)
            continue
        if not groups:
            kind = eni.attributes.get("interface_type")
            if kind in _NO_GROUPS:
                yield ctx.finding(SG_EGRESS, eni, Status.NOT_APPLICABLE,
                                  f"security groups do not apply to a {kind} interface", ev)
            else:
                yield ctx.finding(SG_EGRESS, eni, Status.ERROR,
                                  f"no security group recorded on a {kind} interface", ev)
            continue
        key = (eni.region, tuple(sorted(map(str, groups))))
        if key not in cache:
            cache[key] = judge(_group_rules(key[1], index, eni.region), lists.lookup(eni.region))
        yield _egress_finding(ctx, eni, cache[key], ev, "its groups together")
    for vid, vpc in sorted(scope.held.items()):
        members = alone.get(vid, [])
        if _listed(ctx, NETWORK_INTERFACE, vpc) or len(members) < 2 \
                or any(v is not False for _, v in members):
            continue
        rules = [r for sg, _ in members for r in as_list(sg.attributes.get("egress"))]
        together = judge(rules, lists.lookup(vpc.region))
        if together.open is not False:
            names = sorted(str(sg.attributes.get("group_id")) for sg, _ in members)
            yield ctx.finding(SG_EGRESS, vpc, Status.ERROR,
                              "network interfaces were not listed completely, and the groups of "
                              f"this weight VPC together {together.reason}: an interface using "
                              "them together cannot be ruled out",
                              {"security_groups": names, "verdict": together.reason})


# -- routes -------------------------------------------------------------------------------------


@check(NO_IGW_ROUTE, kinds=(*SCOPE_KINDS, SUBNET, PREFIX_LIST), primary_kinds=(SUBNET,),
       select=Select.ALL, version=2)
def no_igw_route(ctx: CheckContext) -> Iterator[Finding]:
    """No subnet of a weight VPC has a route out of the VPC (:mod:`aslcheck.checks.aws.routing`).

    NOTE: stricter than "no 0.0.0.0/0 -> igw": any route to an internet gateway (IPv4 or
    egress-only IPv6) makes the subnet public for that range, and public destinations through
    a transit or VPN gateway or a peering leave for networks this scan cannot see.
    """
    scope = weight_vpcs(ctx)
    yield from _scope_errors(ctx, NO_IGW_ROUTE, scope, on_vpcs=False)
    lists = PrefixLists(ctx.snapshot)
    for subnet, err in _children(ctx, NO_IGW_ROUTE, SUBNET, scope):
        if err is not None:
            yield err
            continue
        routes = subnet.attributes.get("routes", MISSING)
        if routes is MISSING:
            yield ctx.finding(NO_IGW_ROUTE, subnet, Status.ERROR, "routes not collected",
                              {"routes": "<not collected>"})
            continue
        exits, unknown = judge_routes(as_list(routes), lists.lookup(subnet.region))
        ev = {"routes": routes, "exits": exits, "undecided": unknown}
        if exits:
            yield ctx.finding(NO_IGW_ROUTE, subnet, Status.FAIL,
                              f"routes out of the VPC: {', '.join(exits)}", ev)
        elif unknown:
            yield ctx.finding(NO_IGW_ROUTE, subnet, Status.ERROR,
                              f"cannot judge routes: {'; '.join(unknown)}", ev)
        else:
            yield ctx.finding(NO_IGW_ROUTE, subnet, Status.PASS,
                              "no route to an internet gateway or out of the VPC", ev)


# -- endpoint policies ------------------------------------------------------------------------


@check(ENDPOINT_POLICY, kinds=(*SCOPE_KINDS, BUCKET), primary_kinds=(VPC_ENDPOINT,),
       select=Select.ALL, version=2)
def endpoint_policy_org_restricted(ctx: CheckContext) -> Iterator[Finding]:
    """Every VPC endpoint in a weight VPC has a policy confining it to the organisation's
    resources (:mod:`aslcheck.checks.aws.perimeter`): a perimeter ``Deny`` unless
    aws:ResourceOrgID/aws:ResourceAccount is ours, or every Allow limited by such a condition
    or to collected buckets. Limits on the caller alone are no perimeter.
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
        verdict = judge_endpoint_policy(doc, ep.attributes.get("service_name"), accounts,
                                        ep.account, buckets)
        status = {True: Status.PASS, False: Status.FAIL, None: Status.ERROR}[verdict.confined]
        yield ctx.finding(ENDPOINT_POLICY, ep, status, verdict.reason, ev)


# -- outbound-traffic alarms ----------------------------------------------------------------

_SILENT = ("stopping", "stopped", "shutting-down", "terminated")
"""Instance states that send no traffic; any other (or unknown) state must be watched."""


def _now(ctx: CheckContext) -> datetime | None:
    """When the evidence was collected (the latest collector run's end)."""
    ends = [r.ended for r in ctx.snapshot.runs if isinstance(r.ended, str)]
    try:
        return max(datetime.fromisoformat(e.replace("Z", "+00:00")) for e in ends) if ends else None
    except ValueError:
        return None


def _monitored(inst: Resource) -> bool | None:
    """Whether an instance has detailed monitoring (so it counts in regional aggregates)."""
    if "monitoring" not in inst.attributes:
        return None
    return bool(inst.attributes["monitoring"] == "enabled")


_AlarmKey = tuple[str | None, str | None, str, str]


def _alarm_index(alarms: Sequence[Resource]) -> dict[_AlarmKey, list[Resource]]:
    """Alarms by (account, region, dimension name, value); ``("", "")`` for dimensionless ones.

    NOTE: a weight VPC can have thousands of instances and an account thousands of alarms;
    matching each source against every alarm is quadratic.
    """
    out: dict[_AlarmKey, list[Resource]] = {}
    for a in alarms:
        dims = a.attributes.get("dimensions")
        if isinstance(dims, dict) and len(dims) <= 1:
            name, value = next(iter(dims.items())) if dims else ("", "")
            out.setdefault((a.account, a.region, str(name), str(value)), []).append(a)
    return out


def _source_verdict(index: Mapping[_AlarmKey, list[Resource]], vpc: Resource, dim: str,
                    ident: str, monitored: bool | None, budget: int,
                    now: datetime | None) -> tuple[bool | None, list[str]]:
    notes: list[str] = []
    verdicts: list[bool | None] = []
    candidates = index.get((vpc.account, vpc.region, dim, ident), []) + \
        (index.get((vpc.account, vpc.region, "", ""), []) if dim == "InstanceId" else [])
    for alarm in candidates:
        hit = watches(alarm, vpc, dim, ident, monitored)
        if hit is False:
            if monitored is False and watches(alarm, vpc, dim, ident, True):
                notes.append(f"{alarm.id}: a regional aggregate, which leaves out instances "
                             "without detailed monitoring")
            continue
        ok, why = alarm_enforces(alarm, budget, now)
        if hit is None:
            ok = None if ok is not False else False
            why = f"{why} (a regional aggregate: detailed monitoring of the instance not collected)"
        verdicts.append(ok)
        notes.append(why)
    if True in verdicts:
        return True, notes
    return (None if None in verdicts else False), notes


def _explain(labels: list[str], notes: Mapping[str, list[str]]) -> str:
    """``source (why; why)`` for each source, the alarm notes shortened to the first two."""
    return "; ".join(f"{label} ({'; '.join(notes.get(label, [])[:2])})" if notes.get(label)
                     else label for label in labels)


@check(EGRESS_ALARMS, kinds=(*SCOPE_KINDS, ALARM), primary_kinds=(VPC,),
       params=("egress_budget_bytes_per_hour",), select=Select.ALL, version=2)
def egress_alarms(ctx: CheckContext) -> Iterator[Finding]:
    """Every egress source of a weight VPC (running instances, NAT gateways) is watched by an
    alarm that can fire within the declared budget (:mod:`aslcheck.checks.aws.alarms`)."""
    scope = weight_vpcs(ctx)
    yield from _scope_errors(ctx, EGRESS_ALARMS, scope, on_vpcs=True)
    budget = ctx.config.parameters.get("egress_budget_bytes_per_hour")
    index = _alarm_index(ctx.snapshot.of_kind(ALARM))
    instances = ctx.snapshot.of_kind(INSTANCE)
    now = _now(ctx)
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
        sources: list[tuple[str, str, str, bool | None]] = [
            (f"instance {i.attributes.get('instance_id')}", "InstanceId",
             str(i.attributes.get("instance_id")), _monitored(i))
            for i in instances if i.attributes.get("vpc_id") == vid
            and i.attributes.get("state") not in _SILENT]
        sources += [(f"NAT gateway {n}", "NatGatewayId", str(n), False) for n in as_list(nats)]
        uncovered, notes = [], {}
        unknown = [f"instance {i.id} (VPC not collected)" for i in instances
                   if "vpc_id" not in i.attributes and i.account == vpc.account
                   and i.region == vpc.region]
        for label, dim, ident, monitored in sources:
            ok, why = _source_verdict(index, vpc, dim, ident, monitored, budget, now)
            notes[label] = why or [f"no alarm on its {METRICS[dim][1]} in {METRICS[dim][0]}"]
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
                              f"egress not alarmed within budget for: {_explain(uncovered, notes)}",
                              ev)
        elif unknown:
            yield ctx.finding(EGRESS_ALARMS, vpc, Status.ERROR,
                              f"cannot tell whether alarms can fire for: {_explain(unknown, notes)}",
                              ev)
        else:
            yield ctx.finding(EGRESS_ALARMS, vpc, Status.PASS,
                              f"all {len(sources)} egress sources alarmed within the budget", ev)
