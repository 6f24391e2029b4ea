"""Organisation-shaped snapshots for the evaluation benchmark (deterministic for a size and seed).

The attribute shapes are those the AWS and SSH collectors write (taken from a collection of the
test lab on moto and from the host-check fixtures). The mix follows a large organisation: many
buckets, roles, instances, volumes and hosts, but few weight buckets (``max(2, n/5000)``) and
weight keys (``max(2, n/50000)``); about 1% of roles can read weights, a handful of legacy
roles read everything, and the other roles hold ordinary policies on non-weight buckets. About
a fifth of the resources are host facts (the kinds the host checks read), and a fifth of the
hosts serve weights (weight path and weight volume facts).

``write_snapshot(n, path)`` streams the document to disk so 1M resources fit in memory easily.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import IO, Any

GENERATOR_VERSION = 3
"""Bumped whenever the mix changes (cached snapshot files carry it in their name)."""
REGION = "us-east-1"
WEIGHT_TAG = {"asl:asset": "model-weights"}
ENDED = "2026-11-27T00:10:00Z"
HOST_KINDS = ("host.accounts", "host.auditd", "host.edr", "host.egress", "host.exec_control",
              "host.firewall", "host.sshd", "host.sudoers", "host.updates", "host.weight_path", "host.weight_volume")
_NOW = 1_795_740_600  # ENDED as epoch seconds
_DAY = 86400
Res = dict[str, Any]


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Statement": list(statements), "Version": "2012-10-17"}


def _allow(actions: list[str], resources: list[str], **extra: Any) -> dict[str, Any]:
    return {"Action": actions, "Effect": "Allow", "Resource": resources, **extra}


def account_ids(n: int) -> list[str]:
    """Accounts of the organisation: one per 20,000 resources (the first holds the weights)."""
    return [str(100000000000 + i) for i in range(max(1, n // 20000))]


def counts(n: int) -> dict[str, int]:
    """How many of each kind a snapshot of about ``n`` resources holds."""
    frac = {"bucket": 0.16, "role": 0.12, "policy": 0.02, "user": 0.01, "instance": 0.14,
            "volume": 0.14, "snapshot": 0.04, "sg": 0.04, "subnet": 0.02, "vpc": 0.004,
            "endpoint": 0.002, "key": 0.01, "log_group": 0.02, "alarm": 0.005}
    out = {k: max(1, round(n * f)) for k, f in frac.items()}
    out["group"] = max(1, n // 1000)
    out["weight_bucket"] = max(2, n // 5000)
    out["weight_key"] = max(2, n // 50000)
    # the rest (about 20%) are host facts: 8 kinds per host plus 2 on each weight server
    rest = n - sum(out.values()) - 8 * len(account_ids(n))
    out["host"] = max(2, round(rest / 8.4))
    return out


class _Gen:
    """Builds every resource of one snapshot."""

    def __init__(self, n: int, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.c = counts(n)
        self.accounts = account_ids(n)
        self.wa = self.accounts[0]
        self.weight_keys = [f"arn:aws:kms:{REGION}:{self.wa}:key/wk-{i:04d}" for i in range(self.c["weight_key"])]
        self.weight_buckets = [f"weights-{i:05d}" for i in range(self.c["weight_bucket"])]
        self.data_buckets = [f"data-{i:07d}" for i in range(self.c["bucket"])]
        self.policies: dict[str, list[str]] = {a: [] for a in self.accounts}
        self.log_bucket = f"logs-{self.wa}"

    def acct(self, i: int) -> str:
        return self.accounts[i % len(self.accounts)]

    def base(self, kind: str, ident: str, account: str, attrs: dict[str, Any], *, region: str = REGION,
             tags: dict[str, str] | None = None) -> Res:
        out: Res = {"account": account, "attributes": attrs, "id": ident, "kind": kind,
                    "region": region, "source": "aws"}
        if tags is not None:
            out["tags"] = tags
        return out

    # -- storage ----------------------------------------------------------------------------

    def buckets(self) -> Iterator[Res]:
        pab = dict.fromkeys(("block_public_acls", "block_public_policy", "ignore_public_acls",
                             "restrict_public_buckets"), True)
        for k, name in enumerate(self.weight_buckets):
            arn = f"arn:aws:s3:::{name}"
            yield self.base("aws.s3.bucket", arn, self.wa, {
                "acl_grants": [], "encryption": {"algorithm": "aws:kms", "bucket_key_enabled": True, "explicit": True,
                                                 "kms_key_id": self.weight_keys[k % len(self.weight_keys)]},
                "logging": {"target_bucket": self.log_bucket, "target_prefix": f"s3/{name}/"},
                "mfa_delete": None, "name": name, "object_lock": None, "owner_id": "c0ffee",
                "ownership": "BucketOwnerEnforced", "policy": _doc({
                    "Action": ["s3:*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}, "Effect": "Deny",
                    "Principal": "*", "Resource": [arn, f"{arn}/*"], "Sid": "DenyInsecure"}),
                "policy_status_public": False, "public_access_block": pab, "region": REGION,
                "replication": None, "versioning": "Enabled"}, tags=dict(WEIGHT_TAG))
        for i, name in enumerate(self.data_buckets):
            r = self.rnd.random()
            arn = f"arn:aws:s3:::{name}"
            policy = None if r < 0.7 else _doc({
                "Action": ["s3:GetObject"], "Effect": "Allow", "Resource": [f"{arn}/*"],
                "Principal": {"AWS": f"arn:aws:iam::{self.acct(i + 1)}:root"}})
            enc = ({"algorithm": "AES256", "bucket_key_enabled": False, "explicit": False, "kms_key_id": None}
                   if r < 0.5 else {"algorithm": "aws:kms", "bucket_key_enabled": True, "explicit": True,
                                    "kms_key_id": f"arn:aws:kms:{REGION}:{self.acct(i)}:key/k-{i % self.c['key']:06d}"})
            yield self.base("aws.s3.bucket", arn, self.acct(i), {
                "acl_grants": [{"grantee": "c0ffee", "grantee_type": "CanonicalUser", "permission": "FULL_CONTROL"}],
                "encryption": enc, "logging": None, "mfa_delete": None, "name": name, "object_lock": None,
                "owner_id": "c0ffee", "ownership": "BucketOwnerEnforced" if r < 0.9 else None, "policy": policy,
                "policy_status_public": False if policy else None,
                "public_access_block": pab if r < 0.95 else None, "region": REGION, "replication": None,
                "versioning": "Enabled" if r < 0.6 else None}, tags={"team": f"t{i % 40}"})
        yield self.base("aws.s3.bucket", f"arn:aws:s3:::{self.log_bucket}", self.wa, {
            "acl_grants": [], "encryption": {"algorithm": "aws:kms", "bucket_key_enabled": True, "explicit": True,
                                             "kms_key_id": self.weight_keys[0]},
            "logging": None, "mfa_delete": None, "name": self.log_bucket,
            "object_lock": {"mode": "COMPLIANCE", "days": 400, "years": None}, "owner_id": "c0ffee",
            "ownership": "BucketOwnerEnforced", "policy": None, "policy_status_public": None,
            "public_access_block": pab, "region": REGION, "replication": None, "versioning": "Enabled"},
            tags={"purpose": "audit"})

    def keys(self) -> Iterator[Res]:
        serving = f"arn:aws:iam::{self.wa}:role/serving-000000"
        for i, arn in enumerate(self.weight_keys):
            yield self._key(arn, self.wa, dict(WEIGHT_TAG), [{
                "constraints": None, "grant_id": f"g{i}", "grantee_principal": serving, "operations": ["Decrypt"],
                "retiring_principal": None}])
        for i in range(self.c["key"]):
            acct = self.acct(i)
            yield self._key(f"arn:aws:kms:{REGION}:{acct}:key/k-{i:06d}", acct, {"team": f"t{i % 40}"}, [])

    def _key(self, arn: str, acct: str, tags: dict[str, str], grants: list[dict[str, Any]]) -> Res:
        return self.base("aws.kms.key", arn, acct, {
            "aliases": [f"alias/{arn.rsplit('/', 1)[1]}"], "custom_key_store_id": None, "grants": grants,
            "key_id": arn.rsplit("/", 1)[1], "key_manager": "CUSTOMER", "key_spec": "SYMMETRIC_DEFAULT",
            "key_state": "Enabled", "key_usage": "ENCRYPT_DECRYPT", "multi_region": False, "origin": "AWS_KMS",
            "policy": _doc({"Action": ["kms:*"], "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
                            "Resource": ["*"], "Sid": "Enable IAM User Permissions"}),
            "rotation_enabled": self.rnd.random() > 0.05}, tags=tags)

    # -- IAM --------------------------------------------------------------------------------

    def managed(self) -> Iterator[Res]:
        for i in range(self.c["policy"]):
            acct = self.acct(i)
            arn = f"arn:aws:iam::{acct}:policy/p-{i:06d}"
            self.policies[acct].append(arn)
            b = self.rnd.choice(self.data_buckets)
            doc = _doc(_allow(["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                              [f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*"]),
                       _allow(["ec2:Describe*", "cloudwatch:PutMetricData"], ["*"]))
            yield self.base("aws.iam.policy", arn, acct, {
                "attachment_count": 2, "aws_managed": False, "default_version": "v1", "document": doc,
                "name": f"p-{i:06d}", "path": "/"}, region="global")

    def _role(self, acct: str, name: str, trust: dict[str, Any], inline: dict[str, Any],
              attached: list[str]) -> Res:
        return self.base("aws.iam.role", f"arn:aws:iam::{acct}:role/{name}", acct, {
            "attached_policies": attached, "created": "2026-01-05T10:00:00Z", "inline_policies": inline,
            "instance_profiles": [], "max_session_duration": 3600, "name": name, "path": "/",
            "permissions_boundary": None, "trust_policy": trust}, region="global", tags={})

    def roles(self) -> Iterator[Res]:
        wa = self.wa
        ec2 = _doc({"Action": ["sts:AssumeRole"], "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}})
        yield self._role(wa, "broker", _doc({"Action": ["sts:AssumeRole"], "Effect": "Allow",
                                              "Principal": {"AWS": f"arn:aws:iam::{wa}:role/access-broker"}}),
                         {"read-weights": _doc(_allow(["s3:GetObject"], ["arn:aws:s3:::weights-*/*"]),
                                               _allow(["kms:Decrypt"], self.weight_keys))}, [])
        yield self._role(wa, "access-broker", ec2, {}, [])
        readers = max(1, self.c["role"] // 100)
        legacy = max(1, self.c["role"] // 5000)
        for i in range(self.c["role"]):
            if i < readers:
                b = self.weight_buckets[i % len(self.weight_buckets)]
                inline = {"read-weights": _doc(_allow(["s3:GetObject"], [f"arn:aws:s3:::{b}/*"]),
                                               _allow(["kms:Decrypt"], [self.weight_keys[i % len(self.weight_keys)]]))}
                yield self._role(wa, f"serving-{i:06d}", ec2, inline, [])
                continue
            acct = self.acct(i)
            if i < readers + legacy:
                # NOTE: legacy wildcard readers exist in real organisations; they fail the roster check.
                yield self._role(acct, f"legacy-etl-{i:06d}", ec2,
                                 {"all-s3": _doc(_allow(["s3:Get*", "s3:List*"], ["*"]))}, [])
                continue
            r = self.rnd.random()
            if r < 0.7:
                trust = ec2
            elif r < 0.9:
                trust = _doc({"Action": ["sts:AssumeRole"], "Effect": "Allow",
                              "Principal": {"Service": "lambda.amazonaws.com"}})
            else:
                trust = _doc({"Action": ["sts:AssumeRole"], "Effect": "Allow",
                              "Principal": {"AWS": f"arn:aws:iam::{acct}:root"}})
            b = self.rnd.choice(self.data_buckets)
            inline = {"app": _doc(_allow(["s3:GetObject", "s3:PutObject"], [f"arn:aws:s3:::{b}/*"]),
                                  _allow(["logs:CreateLogStream", "logs:PutLogEvents"], ["*"]))}
            pool = self.policies[acct]
            yield self._role(acct, f"app-{i:06d}", trust, inline,
                             self.rnd.sample(pool, k=min(2, len(pool))))

    def users_groups(self) -> Iterator[Res]:
        groups: dict[str, list[str]] = {a: [] for a in self.accounts}
        for g in range(self.c["group"]):
            acct = self.acct(g)
            arn = f"arn:aws:iam::{acct}:group/g-{g:05d}"
            groups[acct].append(arn)
            pool = self.policies[acct]
            yield self.base("aws.iam.group", arn, acct, {
                "attached_policies": self.rnd.sample(pool, k=min(1, len(pool))),
                "inline_policies": {"read-logs": _doc(_allow(["logs:Get*"], ["*"]))}, "name": f"g-{g:05d}",
                "path": "/"}, region="global", tags={})
        for u in range(self.c["user"]):
            acct = self.acct(u)
            inline = {}
            if self.rnd.random() < 0.1:
                inline = {"assume-apps": _doc(_allow(["sts:AssumeRole"], [f"arn:aws:iam::{acct}:role/app-*"]))}
            age = self.rnd.randrange(1, 200)
            created = f"2026-{1 + (age % 9):02d}-{1 + (age % 27):02d}T09:00:00Z"
            mine = groups[acct] or [f"arn:aws:iam::{acct}:group/none"]
            yield self.base("aws.iam.user", f"arn:aws:iam::{acct}:user/u-{u:06d}", acct, {
                "access_keys": [{"created": created, "id": f"AKIA{u:016d}", "last_used": None, "status": "Active"}],
                "attached_policies": [], "created": "2025-06-01T09:00:00Z", "groups": [self.rnd.choice(mine)]
                if groups[acct] else [], "inline_policies": inline,
                "mfa_devices": [{"serial": f"arn:aws:iam::{acct}:mfa/u-{u:06d}", "virtual": False}]
                if self.rnd.random() > 0.03 else [],
                "name": f"u-{u:06d}", "password_enabled": True, "path": "/", "permissions_boundary": None},
                region="global", tags={"team": f"t{u % 40}"})

    # -- compute and network ----------------------------------------------------------------

    def network(self) -> Iterator[Res]:
        c = self.c
        for v in range(c["vpc"]):
            acct = self.acct(v)
            weights = v == 0
            yield self.base("aws.ec2.vpc", f"arn:aws:ec2:{REGION}:{acct}:vpc/vpc-{v:06x}", acct, {
                "cidr": f"10.{v % 250}.0.0/16", "flow_logs": [{"id": f"fl-{v}", "status": "ACTIVE",
                                                               "traffic_type": "ALL"}] if weights else [],
                "internet_gateways": [] if weights else [f"igw-{v:06x}"], "is_default": False,
                "nat_gateways": [], "peering_connections": [], "transit_gateway_attachments": [],
                "vpc_id": f"vpc-{v:06x}"}, tags=dict(WEIGHT_TAG) if weights else {})
        for s in range(c["subnet"]):
            v = s % c["vpc"]
            acct = self.acct(v)
            routes = [{"destination": f"10.{v % 250}.0.0/16", "state": "active", "target": "local"}]
            if v != 0:
                routes.append({"destination": "0.0.0.0/0", "state": "active", "target": f"igw-{v:06x}"})
            yield self.base("aws.ec2.subnet", f"arn:aws:ec2:{REGION}:{acct}:subnet/subnet-{s:06x}", acct, {
                "cidr": f"10.{v % 250}.{s % 250}.0/24", "map_public_ip_on_launch": False,
                "route_table_id": f"rtb-{v:06x}", "routes": routes, "subnet_id": f"subnet-{s:06x}",
                "vpc_id": f"vpc-{v:06x}"}, tags={})
        for g in range(c["sg"]):
            v = g % c["vpc"]
            acct = self.acct(v)
            yield self.base("aws.ec2.security_group", f"arn:aws:ec2:{REGION}:{acct}:security-group/sg-{g:06x}",
                            acct, {"egress": [{"cidrs": ["0.0.0.0/0"], "from_port": None, "groups": [],
                                               "ipv6_cidrs": [], "prefix_lists": [], "protocol": "-1",
                                               "to_port": None}],
                                   "group_id": f"sg-{g:06x}",
                                   "ingress": [{"cidrs": ["10.0.0.0/8"], "from_port": 443, "groups": [],
                                                "ipv6_cidrs": [], "prefix_lists": [], "protocol": "tcp",
                                                "to_port": 443}],
                                   "name": f"sg-{g}", "vpc_id": f"vpc-{v:06x}"}, tags={})
        for e in range(c["endpoint"]):
            v = e % c["vpc"]
            acct = self.acct(v)
            yield self.base("aws.ec2.vpc_endpoint", f"arn:aws:ec2:{REGION}:{acct}:vpc-endpoint/vpce-{e:06x}", acct, {
                "endpoint_id": f"vpce-{e:06x}", "policy": _doc({
                    "Action": ["s3:*"], "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-bench"}},
                    "Effect": "Allow", "Principal": "*", "Resource": ["*"]}),
                "service_name": f"com.amazonaws.{REGION}.s3", "state": "available", "type": "Gateway",
                "vpc_id": f"vpc-{v:06x}"}, tags={})

    def compute(self) -> Iterator[Res]:
        c = self.c
        weight_instances = max(2, c["instance"] // 1000)
        for i in range(c["instance"]):
            v = 0 if i < weight_instances else i % c["vpc"]
            acct = self.acct(v)
            yield self.base("aws.ec2.instance", f"arn:aws:ec2:{REGION}:{acct}:instance/i-{i:08x}", acct, {
                "instance_id": f"i-{i:08x}", "instance_profile": None, "metadata_options": {
                    "http_endpoint": "enabled", "http_put_response_hop_limit": 1,
                    "http_tokens": "required" if self.rnd.random() > 0.02 else "optional"},
                "public_ip": None, "security_groups": [f"sg-{i % c['sg']:06x}"], "state": "running",
                "subnet_id": f"subnet-{i % c['subnet']:06x}", "vpc_id": f"vpc-{v:06x}"},
                tags=dict(WEIGHT_TAG) if i < weight_instances else {"team": f"t{i % 40}"})
        for i in range(c["volume"]):
            acct = self.acct(i % c["vpc"])
            yield self.base("aws.ec2.volume", f"arn:aws:ec2:{REGION}:{acct}:volume/vol-{i:08x}", acct, {
                "attached_to": [f"i-{i % c['instance']:08x}"], "encrypted": self.rnd.random() > 0.01,
                "kms_key_id": None, "state": "in-use", "volume_id": f"vol-{i:08x}"}, tags={})
        for i in range(c["snapshot"]):
            acct = self.acct(i)
            yield self.base("aws.ec2.snapshot", f"arn:aws:ec2:{REGION}::snapshot/snap-{i:08x}", acct, {
                "encrypted": True, "kms_key_id": None, "public": False, "shared_with": [],
                "snapshot_id": f"snap-{i:08x}", "volume_id": f"vol-{i % c['volume']:08x}"}, tags={})

    # -- logging and account-level ---------------------------------------------------------

    def logging(self) -> Iterator[Res]:
        for i in range(self.c["log_group"]):
            acct = self.acct(i)
            name = f"/app/{i:06d}"
            yield self.base("aws.logs.log_group", f"arn:aws:logs:{REGION}:{acct}:log-group:{name}", acct, {
                "kms_key_id": None, "name": name, "retention_days": 400 if i % 3 else 30}, tags={})
        for i in range(self.c["alarm"]):
            acct = self.acct(i)
            yield self.base("aws.cloudwatch.alarm", f"arn:aws:cloudwatch:{REGION}:{acct}:alarm:egress-{i}", acct, {
                "actions_enabled": True, "alarm_actions": [f"arn:aws:sns:{REGION}:{acct}:security"],
                "comparison": "GreaterThanThreshold", "dimensions": {"AutoScalingGroupName": f"asg-{i}"},
                "evaluation_periods": 1, "metric": "NetworkOut", "metric_math": False, "name": f"egress-{i}",
                "namespace": "AWS/EC2", "period": 3600, "statistic": "Sum", "threshold": 1500000000,
                "threshold_text": "1500000000.0"})
        for acct in self.accounts:
            selectors = [{"FieldSelectors": [
                {"Equals": ["Data"], "Field": "eventCategory"},
                {"Equals": ["AWS::S3::Object"], "Field": "resources.type"},
                {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::weights-"]}], "Name": "weights"}]
            yield self.base("aws.cloudtrail.trail", f"arn:aws:cloudtrail:{REGION}:{acct}:trail/org-trail", acct, {
                "advanced_event_selectors": selectors if acct == self.wa else None, "event_selectors": None,
                "home_region": REGION, "include_global_service_events": True, "is_logging": True,
                "is_multi_region": True, "is_organization": acct == self.wa, "kms_key_id": self.weight_keys[0],
                "log_file_validation": True, "name": "org-trail", "s3_bucket": self.log_bucket,
                "s3_bucket_account": self.wa}, tags={"owner": "security"})

    def account_level(self) -> Iterator[Res]:
        org = "o-bench"
        mgmt = self.wa
        for acct in self.accounts:
            yield self.base("aws.ec2.region_settings", f"arn:aws:ec2:{REGION}:{acct}:settings", acct,
                            {"ebs_encryption_by_default": True}, tags={})
            yield self.base("aws.guardduty.region", f"arn:aws:guardduty:{REGION}:{acct}:region", acct,
                            {"detectors": [{"id": f"d-{acct}", "status": "ENABLED"}]}, tags={})
            yield self.base("aws.iam.account", f"arn:aws:iam::{acct}:account", acct, {
                "account_mfa_enabled": True, "credential_report": [{
                    "access_key_1_active": "false", "access_key_1_last_rotated": "N/A",
                    "access_key_1_last_used_date": "N/A", "access_key_2_active": "false",
                    "access_key_2_last_rotated": "N/A", "access_key_2_last_used_date": "N/A",
                    "arn": f"arn:aws:iam::{acct}:root", "mfa_active": "true", "password_enabled": "not_supported",
                    "user": "<root_account>"}], "root_access_keys_present": False,
                "summary": {"AccountAccessKeysPresent": 0, "AccountMFAEnabled": 1}}, region="global", tags={})
            yield self.base("aws.s3.account_settings", f"arn:aws:s3::{acct}:account", acct, {
                "public_access_block": dict.fromkeys(("block_public_acls", "block_public_policy",
                                                      "ignore_public_acls", "restrict_public_buckets"), True)},
                region="global", tags={})
            yield self.base("aws.organizations.account", f"arn:aws:organizations::{mgmt}:account/{org}/{acct}", mgmt, {
                "account_id": acct, "name": f"acct-{acct}", "organization_id": org,
                "parent_path": ["r-root"] if acct == mgmt else ["r-root", "ou-workloads"], "status": "ACTIVE"},
                region="global")
        yield self.base("aws.organizations.policy", f"arn:aws:organizations::{mgmt}:policy/{org}/scp/p-full", mgmt, {
            "aws_managed": True, "document": _doc(_allow(["*"], ["*"])), "name": "FullAWSAccess",
            "policy_id": "p-full", "targets": ["r-root", "ou-workloads", *self.accounts],
            "type": "SERVICE_CONTROL_POLICY"}, region="global")
        yield self.base("aws.organizations.policy", f"arn:aws:organizations::{mgmt}:policy/{org}/scp/p-leave", mgmt, {
            "aws_managed": False, "document": _doc({"Action": ["organizations:LeaveOrganization"], "Effect": "Deny",
                                                    "Resource": ["*"]}),
            "name": "deny-leave", "policy_id": "p-leave", "targets": ["r-root"],
            "type": "SERVICE_CONTROL_POLICY"}, region="global")

    # -- hosts ------------------------------------------------------------------------------

    def hosts(self) -> Iterator[Res]:
        sshd_hard = {"allowagentforwarding": "no", "allowstreamlocalforwarding": "no", "allowtcpforwarding": "no",
                     "authenticationmethods": "any", "banner": "/etc/issue.net", "disableforwarding": "no",
                     "kbdinteractiveauthentication": "no", "passwordauthentication": "no",
                     "permitrootlogin": "no", "permittunnel": "no", "pubkeyacceptedalgorithms":
                         "sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com",
                     "pubkeyauthentication": "yes", "pubkeyauthoptions": "touch-required", "x11forwarding": "no",
                     "hostbasedauthentication": "no", "gssapiauthentication": "no"}
        users = [{"gid": 0, "home": "/root", "name": "root", "shell": "/bin/bash", "uid": 0},
                 {"gid": 900, "home": "/srv", "name": "svc-serve", "shell": "/usr/sbin/nologin", "uid": 900},
                 {"gid": 1000, "home": "/home/ops", "name": "ops", "shell": "/bin/bash", "uid": 1000}]
        groups = [{"gid": 0, "members": [], "name": "root"}, {"gid": 900, "members": [], "name": "weights"},
                  {"gid": 1000, "members": [], "name": "ops"}, {"gid": 27, "members": ["ops"], "name": "sudo"}]

        def chain(family: str, hook: str, policy: str) -> dict[str, Any]:
            return {"chain": hook, "family": family, "hook": hook, "policy": policy, "rules": [
                {"conditional": True, "limit_bytes_per_second": None, "verdict": "accept",
                 "match": {"input": "narrow", "output": "narrow"}}],
                "source": "nft", "table": "filter"}

        weight_servers = max(1, self.c["host"] // 5)
        for i in range(self.c["host"]):
            h = f"host-{i:06d}"
            r = self.rnd.random()

            def fact(kind: str, attrs: dict[str, Any], ident: str | None = None, h: str = h) -> Res:
                return {"attributes": attrs, "host": h, "id": ident or h, "kind": kind, "source": "ssh"}

            yield fact("host.sshd", {"config_file": "/etc/ssh/sshd_config", "files_read": ["/etc/ssh/sshd_config"],
                                     "match_values": {k: [] for k in sshd_hard}, "match_blocks": [],
                                     "settings": {**sshd_hard, "passwordauthentication": "yes" if r < 0.05 else "no"},
                                     "source": "sshd -T"})
            yield fact("host.accounts", {"groups": groups, "users": users})
            yield fact("host.sudoers", {"aliases": {"cmnd": {}, "host": {}, "runas": {}, "user": {}}, "defaults": [],
                                        "files_read": ["/etc/sudoers"], "nsswitch_sources": ["files"], "rules": [],
                                        "sudo_conf": {"plugins": [], "policy": "sudoers_policy",
                                                      "sudoers_file": "/etc/sudoers"}})
            yield fact("host.auditd", {"daemon_pid": 412, "enabled": 1, "installed": True, "watches": [
                {"key": "weights", "match": "tree", "path": "/srv/weights", "perms": "r"}]})
            yield fact("host.firewall", {"chains": [chain("inet", "input", "drop"), chain("inet", "output",
                                                                                        "accept")],
                                         "tools": {"ip6tables": "absent", "iptables": "absent", "nft": "read"}})
            yield fact("host.egress", {"default_routes": [{"dev": "eth0", "family": "ip", "gateway": "10.0.0.1"}],
                                       "egress_interfaces": ["eth0"], "qdiscs": [
                                           {"dev": "eth0", "kind": "tbf", "rate_bytes_per_second": 125000}]})
            yield fact("host.exec_control", {"fapolicyd": "active" if r < 0.8 else "inactive", "ima_appraise": None,
                                             "noexec_mounts": ["/dev/shm"], "selinux": "absent",
                                             "world_writable_mounts": {"/dev/shm": True}})
            yield fact("host.updates", {"auto_updates": {"enabled": True, "mechanism": "unattended-upgrades"},
                                        "host_time_epoch": _NOW, "index_epoch": _NOW - _DAY, "manager": "apt",
                                        "pending_security": [] if r > 0.1 else [
                                            {"candidate": "3.0.13-0ubuntu3.5", "issued_epoch": None,
                                             "package": "openssl"}],
                                        "pending_total": 0 if r > 0.1 else 1})
            yield fact("host.edr", {"declared_units": ["falcon-sensor.service"],
                                    "states": {"falcon-sensor.service": "active" if r > 0.02 else "inactive"}})
            if i < weight_servers:
                path = "/srv/weights"
                yield fact("host.weight_path", {
                    "acl": [{"default": False, "perms": "rwx", "qualifier": None, "tag": "user"}],
                    "acl_extended_files": [], "acl_extended_truncated": False, "acl_named": {"groups": [], "users": []},
                    "declared_by": ["weights_servers"], "exists": True, "group": "weights", "group_gid": 900,
                    "mode": "0750", "other_readable": [], "other_readable_truncated": False, "owner": "root",
                    "owner_uid": 0, "owners": [{"group": "weights", "user": "svc-serve"}], "owners_truncated": False,
                    "path": path, "type": "directory", "real_path": path, "link_targets": [],
                    "links_truncated": False}, f"{h}:{path}")
                yield fact("host.weight_volume", {
                    "crypt_status": None, "crypt_status_note": None, "device_chain": [
                        {"fstype": "ext4", "name": "data", "type": "crypt"},
                        {"fstype": "crypto_LUKS", "name": "nvme0n1p2", "type": "part"}],
                    "encrypted": True, "mount": {"fstype": "ext4", "options": "rw,nodev", "source": "/dev/mapper/data",
                                                 "target": "/srv"}, "path": path,
                    "volumes": [{"dev": "254:1", "device_chain": [
                        {"fstype": "ext4", "name": "data", "type": "crypt"},
                        {"fstype": "crypto_LUKS", "name": "nvme0n1p2", "type": "part"}],
                        "encrypted": True, "fstype": "ext4", "mounts": ["/srv"], "note": None,
                        "source": "/dev/mapper/data"}]}, f"{h}:{path}")


def resources(n: int, seed: int = 7) -> Iterator[Res]:
    """Every resource of the snapshot of size ``n`` (unsorted)."""
    g = _Gen(n, seed)
    for part in (g.buckets, g.keys, g.managed, g.roles, g.users_groups, g.network, g.compute, g.logging,
                 g.account_level, g.hosts):
        yield from part()


def config_yaml(n: int) -> str:
    """The aslcheck.yaml matching the snapshot of size ``n``."""
    wa = account_ids(n)[0]
    return f"""version: 1
weights:
  aws:
    tags: {{"asl:asset": model-weights}}
    allowed_storage: ["arn:aws:s3:::weights-*"]
  hosts:
    groups:
      weights_servers: {{paths: [/srv/weights]}}
access:
  roster: ["arn:aws:iam::{wa}:role/serving-*", "arn:aws:iam::{wa}:role/broker", "arn:aws:iam::{wa}:root"]
  broker_roles: ["arn:aws:iam::{wa}:role/broker"]
  broker_principals: ["arn:aws:iam::{wa}:role/access-broker"]
  human_patterns: ["arn:aws:iam::*:user/*"]
  host_roster: [svc-serve]
hosts:
  edr_units: [falcon-sensor.service]
  hardware_keys_required: true
parameters:
  egress_budget_bytes_per_hour: 1073741824
  patch_window_days: 14
"""


def write_snapshot(n: int, fh: IO[str], seed: int = 7) -> int:
    """Write the canonical snapshot document of size ``n`` to ``fh``; returns the resource count."""
    items = sorted(resources(n, seed), key=lambda r: (r["source"], r["kind"], r["id"]))
    # The account owns no AMIs: listed, and empty.
    aws_kinds = sorted({r["kind"] for r in items if r["source"] == "aws"} | {"aws.ec2.image"})
    hosts = sorted({r["host"] for r in items if r["source"] == "ssh"})
    accounts = account_ids(n)
    prov = {"collectors": [
        {"ended": ENDED, "kinds": aws_kinds, "name": "aws", "started": "2026-11-27T00:00:00Z", "targets":
         sorted(f"{a}/{REGION}" for a in accounts), "version": "bench"},
        {"ended": ENDED, "kinds": list(HOST_KINDS), "name": "ssh", "started": "2026-11-27T00:00:00Z",
         "targets": hosts, "version": "bench"}]}
    dump = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
    fh.write('{"errors":[],"format":"aslcheck.snapshot","provenance":' + dump(prov) + ',"resources":[')
    for i, r in enumerate(items):
        fh.write(("," if i else "") + dump(r))
    fh.write('],"version":1}')
    return len(items)
