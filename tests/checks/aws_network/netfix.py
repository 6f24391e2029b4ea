"""Shared by the network tests (hand-made, live on moto, and through the gate): the config,
resource builders in the AWS attribute model, and running one check the way the engine does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.interface import CheckContext, Finding, Select, Status
from aslcheck.controls.config import PARAM_SPECS, Config, Scope
from aslcheck.inventories.snapshot import CollectionError, CollectorRun, Resource, Snapshot

ACCT = "111111111111"
REGION = "us-east-1"
WEIGHTS = {"asl:asset": "model-weights"}
BUDGET = 3_600_000_000
"""Egress budget in bytes per hour (1 MB/s)."""
KEY_ID = "11111111-2222-3333-4444-555555555555"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCT}:key/{KEY_ID}"
REGISTRY = default_registry()
ENDED = "2026-11-27T12:00:00Z"

SG_EGRESS = "aws.vpc.weights_sg_egress_restricted"
ROUTES = "aws.vpc.weights_no_igw_route"
ISOLATED = "aws.vpc.weights_isolated"
ENDPOINTS = "aws.vpc.endpoint_policy_org_restricted"
ALARMS = "aws.cloudwatch.egress_alarms"
CMK = "aws.s3.weights_cmk_encryption"
NETWORK_CHECKS = (SG_EGRESS, ROUTES, ISOLATED, ENDPOINTS, ALARMS)


def config(budget: int | None = BUDGET) -> Config:
    """Weights are tagged ``asl:asset: model-weights``; the budget is :data:`BUDGET`."""
    params: dict[str, Any] = {n: s.default for n, s in PARAM_SPECS.items()}
    params["egress_budget_bytes_per_hour"] = budget
    return Config(scope=Scope(weight_tags=WEIGHTS, aws=True), parameters=params)


def kinds_of(*checks: str) -> frozenset[str]:
    """Every kind the checks read."""
    return frozenset(k for c in checks for k in REGISTRY.get(c).kinds)


def run(check_id: str, snapshot: Snapshot, cfg: Config | None = None) -> dict[str, Finding]:
    """Findings of one check by resource ID, selected as the engine selects."""
    cfg = cfg or config()
    spec = REGISTRY.get(check_id)
    chosen = []
    for kind in sorted(spec.subjects):
        for r in snapshot.of_kind(kind):
            if spec.select is Select.ALL or cfg.scope.holds_weights(r.tags, r.id):
                chosen.append(r)
    found = list(spec.evaluate(CheckContext(snapshot=snapshot, config=cfg,
                                            resources=tuple(chosen))))
    out = {f.resource or "<check>": f for f in found}
    assert len(out) == len(found), "one finding per resource"
    return out


def statuses(findings: Mapping[str, Finding]) -> dict[str, Status]:
    """Status by resource ID."""
    return {k: f.status for k, f in findings.items()}


def snap(*resources: Resource, errors: Iterable[CollectionError] = (),
         kinds: Iterable[str] | None = None) -> Snapshot:
    """A snapshot listing ``kinds`` (default: the kinds present) completely."""
    listed = set(kinds) if kinds is not None else {r.kind for r in resources}
    run_ = CollectorRun("aws", "test", (f"{ACCT}/{REGION}",), tuple(sorted(listed)),
                        "2026-11-27T11:59:00Z", ENDED)
    return Snapshot(resources=tuple(resources), errors=tuple(errors), runs=(run_,))


def arn(kind: str, ident: str) -> str:
    """An EC2 ARN in the test account."""
    return f"arn:aws:ec2:{REGION}:{ACCT}:{kind}/{ident}"


def res(kind: str, ident: str, attrs: Mapping[str, Any], *, weights: bool = False,
        account: str | None = ACCT) -> Resource:
    """A resource (tags: the weight tag or none)."""
    return Resource(kind=kind, id=ident, source="aws", attributes=dict(attrs),
                    tags=dict(WEIGHTS) if weights else {}, account=account, region=REGION)


def vpc(vid: str, *, weights: bool = True, **over: Any) -> Resource:
    """A VPC, isolated and flow-logged unless overridden."""
    attrs: dict[str, Any] = {
        "vpc_id": vid, "cidr": "10.0.0.0/16", "is_default": False,
        "flow_logs": [{"id": "fl", "status": "ACTIVE", "traffic_type": "ALL", "destination": "x"}],
        "internet_gateways": [], "egress_only_internet_gateways": [], "nat_gateways": [],
        "peering_connections": [], "transit_gateway_attachments": [], "vpn_gateways": []}
    attrs.update(over)
    return res("aws.ec2.vpc", arn("vpc", vid), attrs, weights=weights)


def rule(protocol: str = "-1", cidrs: Iterable[str] = (), from_port: int | None = None,
         to_port: int | None = None, ipv6: Iterable[str] = (),
         prefix_lists: Iterable[str] = ()) -> dict[str, Any]:
    """One security-group rule in the model's shape."""
    return {"protocol": protocol, "from_port": from_port, "to_port": to_port,
            "cidrs": list(cidrs), "ipv6_cidrs": list(ipv6), "prefix_lists": list(prefix_lists),
            "groups": []}


def sg(gid: str, vid: str, egress: list[dict[str, Any]] | None) -> Resource:
    """A security group (``egress=None``: not collected)."""
    attrs: dict[str, Any] = {"group_id": gid, "vpc_id": vid, "name": gid, "ingress": []}
    if egress is not None:
        attrs["egress"] = egress
    return res("aws.ec2.security_group", arn("security-group", gid), attrs)


def eni(eid: str, vid: str, groups: list[str] | None, kind: str = "interface") -> Resource:
    """A network interface (``groups=None``: not collected)."""
    attrs: dict[str, Any] = {"eni_id": eid, "vpc_id": vid, "subnet_id": "subnet-1",
                             "interface_type": kind, "status": "in-use", "instance_id": None,
                             "requester_managed": False, "description": None}
    if groups is not None:
        attrs["security_groups"] = groups
    return res("aws.ec2.network_interface", arn("network-interface", eid), attrs)


def prefix_list(pid: str, entries: list[str] | None) -> Resource:
    """A managed prefix list (``entries=None``: not collected)."""
    attrs: dict[str, Any] = {"prefix_list_id": pid, "name": pid, "address_family": "IPv4",
                             "owner_id": ACCT, "state": "create-complete"}
    if entries is not None:
        attrs["entries"] = entries
    return res("aws.ec2.prefix_list", arn("prefix-list", pid), attrs)


def subnet(sid: str, vid: str, routes: list[dict[str, Any]]) -> Resource:
    """A subnet with its effective routes (plus the local route)."""
    local = {"destination": "10.0.0.0/16", "target": "local", "target_type": "local",
             "state": "active"}
    return res("aws.ec2.subnet", arn("subnet", sid),
               {"subnet_id": sid, "vpc_id": vid, "map_public_ip_on_launch": False,
                "routes": [local, *routes]})


def route(dest: str, target: str, kind: str | None = None, state: str = "active") -> dict[str, Any]:
    """A route (``kind=None``: an older snapshot without target types)."""
    out: dict[str, Any] = {"destination": dest, "target": target, "state": state}
    if kind is not None:
        out["target_type"] = kind
    return out


def instance(iid: str, vid: str, monitoring: str | None = "enabled") -> Resource:
    """A running instance."""
    attrs: dict[str, Any] = {"instance_id": iid, "vpc_id": vid, "state": "running"}
    if monitoring is not None:
        attrs["monitoring"] = monitoring
    return res("aws.ec2.instance", arn("instance", iid), attrs)


def alarm(name: str, dims: dict[str, str], **over: Any) -> Resource:
    """A compliant egress alarm on an instance unless overridden (period 300 s)."""
    attrs: dict[str, Any] = {
        "name": name, "namespace": "AWS/EC2", "metric": "NetworkOut", "dimensions": dims,
        "statistic": "Sum", "period": 300, "threshold": BUDGET * 300 // 3600,
        "comparison": "GreaterThanThreshold", "evaluation_periods": 1,
        "datapoints_to_alarm": None, "unit": None, "treat_missing_data": "missing",
        "state": "OK", "state_updated": "2026-11-27T11:00:00Z", "evaluation_state": None,
        "actions_enabled": True, "alarm_actions": [f"arn:aws:sns:{REGION}:{ACCT}:security"]}
    attrs.update(over)
    return res("aws.cloudwatch.alarm", f"arn:aws:cloudwatch:{REGION}:{ACCT}:alarm:{name}", attrs)


# -- live collection from moto (tests/aws) ----------------------------------------------------

LIVE_ACCOUNT = "123456789012"
"""moto's account."""


def collect_live(endpoint: str, checks: Iterable[str], settings: Any = None) -> Snapshot:
    """Collect what ``checks`` read from moto at ``endpoint`` (one region, fast retries)."""
    from aslcheck.inventories.aws import AwsCollector, build_session_factory
    from aslcheck.inventories.aws.session import ClientSettings
    from aslcheck.inventories.interface import CollectionRequest

    factory = build_session_factory(region=REGION, access_key_id="testing",
                                    secret_access_key="testing")
    collector = AwsCollector(factory, endpoint_url=endpoint, regions=[REGION], max_workers=4,
                             settings=settings or ClientSettings(max_attempts=1, connect_timeout=2.0,
                                                                 read_timeout=10.0),
                             skip_operations={"ec2:GetEbsDefaultKmsKeyId"})
    return collector.collect(CollectionRequest(kinds=kinds_of(*checks), config=config()))


def live_arn(kind: str, ident: str) -> str:
    """An EC2 ARN in moto's account."""
    return f"arn:aws:ec2:{REGION}:{LIVE_ACCOUNT}:{kind}/{ident}"
