"""The network and upload-encryption attacks through the real gate (real checkov, the shared
checks on normalised code): the same verdicts as on the live collector (tests/aws)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from aslcheck.checks.interface import Finding, Status
from aslcheck.checks.registry import Registry
from aslcheck.controls.config import Config
from aslcheck.controls.model import Catalog
from aslcheck.inventories.terraform.gate import GateResult, GateVerdict, run_gate
from tests.terraform.conftest import CachingRunner

pytestmark = pytest.mark.checkov

PROVIDER = '''
provider "aws" {
  region              = "us-east-1"
  allowed_account_ids = ["111122223333"]
}
locals {
  weights = { "asl:asset" = "model-weights" }
}
data "aws_ec2_managed_prefix_list" "s3" {
  name = "com.amazonaws.us-east-1.s3"
}
'''

EGRESS = '''
# vpc "open_default": no aws_default_security_group, so AWS's default group keeps all egress.
resource "aws_vpc" "open_default" {
  cidr_block = "10.60.0.0/16"
  tags       = local.weights
}
resource "aws_subnet" "open_default" {
  vpc_id     = aws_vpc.open_default.id
  cidr_block = "10.60.1.0/24"
}
resource "aws_instance" "no_groups_open" {
  ami           = "ami-0abcdef1234567890"
  instance_type = "t3.micro"
  subnet_id     = aws_subnet.open_default.id
}

# vpc "w": the default group is managed (no rules); variants below.
resource "aws_vpc" "w" {
  cidr_block = "10.61.0.0/16"
  tags       = local.weights
}
resource "aws_default_security_group" "w" {
  vpc_id = aws_vpc.w.id
}
resource "aws_subnet" "w" {
  vpc_id     = aws_vpc.w.id
  cidr_block = "10.61.1.0/24"
}
resource "aws_security_group" "low" {
  vpc_id = aws_vpc.w.id
  egress {
    protocol    = "tcp"
    from_port   = 0
    to_port     = 65535
    cidr_blocks = ["0.0.0.0/1"]
  }
}
resource "aws_security_group" "high" {
  vpc_id = aws_vpc.w.id
  egress {
    protocol    = "tcp"
    from_port   = 0
    to_port     = 65535
    cidr_blocks = ["128.0.0.0/1"]
  }
}
resource "aws_security_group" "quarters" {
  vpc_id = aws_vpc.w.id
}
resource "aws_vpc_security_group_egress_rule" "q1" {
  security_group_id = aws_security_group.quarters.id
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/2"
}
resource "aws_vpc_security_group_egress_rule" "q2" {
  security_group_id = aws_security_group.quarters.id
  ip_protocol       = "-1"
  cidr_ipv4         = "64.0.0.0/2"
}
resource "aws_vpc_security_group_egress_rule" "q3" {
  security_group_id = aws_security_group.quarters.id
  ip_protocol       = "-1"
  cidr_ipv4         = "128.0.0.0/1"
}
resource "aws_ec2_managed_prefix_list" "halves" {
  name           = "halves"
  address_family = "IPv4"
  max_entries    = 2
  entry {
    cidr = "0.0.0.0/1"
  }
  entry {
    cidr = "128.0.0.0/1"
  }
}
resource "aws_security_group" "by_list" {
  vpc_id = aws_vpc.w.id
  egress {
    protocol        = "-1"
    from_port       = 0
    to_port         = 0
    prefix_list_ids = [aws_ec2_managed_prefix_list.halves.id]
  }
}
resource "aws_security_group" "unknown_list_all" {
  vpc_id = aws_vpc.w.id
  egress {
    protocol        = "-1"
    from_port       = 0
    to_port         = 0
    prefix_list_ids = [data.aws_ec2_managed_prefix_list.s3.id]
  }
}
resource "aws_security_group" "unknown_list_https" {
  vpc_id = aws_vpc.w.id
  egress {
    protocol        = "tcp"
    from_port       = 443
    to_port         = 443
    prefix_list_ids = [data.aws_ec2_managed_prefix_list.s3.id]
  }
}
resource "aws_security_group" "v6" {
  vpc_id = aws_vpc.w.id
  egress {
    protocol         = "udp"
    from_port        = 1
    to_port          = 65535
    ipv6_cidr_blocks = ["::/0"]
  }
}
resource "aws_security_group" "private" {
  vpc_id = aws_vpc.w.id
  egress {
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
  }
}
resource "aws_instance" "both_halves" {
  ami                    = "ami-0abcdef1234567890"
  instance_type          = "t3.micro"
  subnet_id              = aws_subnet.w.id
  vpc_security_group_ids = [aws_security_group.low.id, aws_security_group.high.id]
}
resource "aws_instance" "no_groups_managed_default" {
  ami           = "ami-0abcdef1234567890"
  instance_type = "t3.micro"
  subnet_id     = aws_subnet.w.id
}
resource "aws_instance" "low_plus_attachment" {
  ami                    = "ami-0abcdef1234567890"
  instance_type          = "t3.micro"
  subnet_id              = aws_subnet.w.id
  vpc_security_group_ids = [aws_security_group.low.id]
}
resource "aws_network_interface_sg_attachment" "high" {
  security_group_id    = aws_security_group.high.id
  network_interface_id = aws_instance.low_plus_attachment.primary_network_interface_id
}
resource "aws_network_interface" "split" {
  subnet_id       = aws_subnet.w.id
  security_groups = [aws_security_group.low.id, aws_security_group.high.id]
}
resource "aws_network_interface" "private" {
  subnet_id       = aws_subnet.w.id
  security_groups = [aws_security_group.private.id, aws_security_group.low.id]
}
'''

ROUTES = '''
resource "aws_vpc" "r" {
  cidr_block = "10.62.0.0/16"
  tags       = local.weights
}
resource "aws_default_security_group" "r" {
  vpc_id = aws_vpc.r.id
}
resource "aws_internet_gateway" "gw" {
  vpc_id = aws_vpc.r.id
}
resource "aws_egress_only_internet_gateway" "v6" {
  vpc_id = aws_vpc.r.id
}
resource "aws_vpn_gateway" "vgw" {
  vpc_id = aws_vpc.r.id
}
resource "aws_ec2_transit_gateway" "tgw" {}
resource "aws_ec2_transit_gateway_vpc_attachment" "r" {
  vpc_id             = aws_vpc.r.id
  transit_gateway_id = aws_ec2_transit_gateway.tgw.id
  subnet_ids         = [aws_subnet.tgw_default.id]
}
resource "aws_nat_gateway" "nat" {
  subnet_id = aws_subnet.nat.id
}
%(subnets)s

resource "aws_vpc" "sealed" {
  cidr_block = "10.63.0.0/16"
  tags       = local.weights
}
resource "aws_default_security_group" "sealed" {
  vpc_id = aws_vpc.sealed.id
}
resource "aws_vpc" "vpn_attached" {
  cidr_block = "10.64.0.0/16"
  tags       = local.weights
}
resource "aws_default_security_group" "vpn_attached" {
  vpc_id = aws_vpc.vpn_attached.id
}
resource "aws_vpn_gateway" "detached" {}
resource "aws_vpn_gateway_attachment" "late" {
  vpc_id         = aws_vpc.vpn_attached.id
  vpn_gateway_id = aws_vpn_gateway.detached.id
}
resource "aws_vpc_endpoint" "caller_org_only" {
  vpc_id       = aws_vpc.sealed.id
  service_name = "com.amazonaws.us-east-1.s3"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect = "Allow", Principal = "*", Action = "*", Resource = "*"
      Condition = { StringEquals = { "aws:PrincipalOrgID" = "o-lab" } }
    }]
  })
}
resource "aws_vpc_endpoint" "resource_account" {
  vpc_id       = aws_vpc.sealed.id
  service_name = "com.amazonaws.us-east-1.s3"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect = "Allow", Principal = "*", Action = "*", Resource = "*"
      Condition = { StringEquals = { "aws:ResourceAccount" = "111122223333" } }
    }]
  })
}
'''

# (subnet name, route arguments or None for a VPN-propagating table, expected status)
ROUTE_VARIANTS: list[tuple[str, str | None, Status]] = [
    ("igw_by_address", 'cidr_block = "0.0.0.0/0"\n    gateway_id = aws_internet_gateway.gw.id', Status.FAIL),
    ("igw_public_slice", 'cidr_block = "52.0.0.0/8"\n    gateway_id = aws_internet_gateway.gw.id', Status.FAIL),
    ("egress_only_v6", 'ipv6_cidr_block = "::/0"\n    egress_only_gateway_id = '
                       "aws_egress_only_internet_gateway.v6.id", Status.FAIL),
    ("tgw_default", 'cidr_block = "0.0.0.0/0"\n    transit_gateway_id = aws_ec2_transit_gateway.tgw.id',
     Status.FAIL),
    ("vgw_public", 'cidr_block = "0.0.0.0/0"\n    gateway_id = aws_vpn_gateway.vgw.id', Status.FAIL),
    ("vgw_private", 'cidr_block = "192.168.0.0/16"\n    gateway_id = aws_vpn_gateway.vgw.id', Status.PASS),
    ("tgw_private", 'cidr_block = "10.0.0.0/8"\n    transit_gateway_id = aws_ec2_transit_gateway.tgw.id',
     Status.PASS),
    ("nat", 'cidr_block = "0.0.0.0/0"\n    nat_gateway_id = aws_nat_gateway.nat.id', Status.PASS),
    ("vgw_propagated", None, Status.ERROR),
]


def _subnets() -> str:
    out = []
    for i, (name, args, _) in enumerate(ROUTE_VARIANTS):
        table = (f'  route {{\n    {args}\n  }}' if args is not None
                 else "  propagating_vgws = [aws_vpn_gateway.vgw.id]")
        out.append(f'''
resource "aws_subnet" "{name}" {{
  vpc_id     = aws_vpc.r.id
  cidr_block = "10.62.{i + 1}.0/24"
}}
resource "aws_route_table" "{name}" {{
  vpc_id = aws_vpc.r.id
{table}
}}
resource "aws_route_table_association" "{name}" {{
  subnet_id      = aws_subnet.{name}.id
  route_table_id = aws_route_table.{name}.id
}}''')
    return "\n".join(out)


def _findings(result: GateResult, check: str) -> Mapping[str, Finding]:
    found: dict[str, Finding] = {}
    for control in result.run.results:
        for outcome in control.checks:
            if outcome.check == check:
                found.update({f.resource or "<check>": f for f in outcome.findings})
    return found


def _statuses(result: GateResult, check: str) -> dict[str, Status]:
    return {k: f.status for k, f in _findings(result, check).items()}


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog, registry: Registry,
          config: Config, checkov: CachingRunner) -> GateResult:
    root: Path = tmp_path_factory.mktemp("network-gate")
    (root / "main.tf").write_text(PROVIDER + EGRESS + ROUTES % {"subnets": _subnets()}
                                  + "\n" + _alarms() + "\n" + _storage())
    return run_gate(str(root), None, "asl3", config, catalog=catalog, registry=registry,
                    runner=checkov)


def test_gate_fails_the_planted_network(gated: GateResult) -> None:
    assert gated.verdict is GateVerdict.FAIL


def test_egress_unions_default_groups_and_prefix_lists(gated: GateResult) -> None:
    got = _statuses(gated, "aws.vpc.weights_sg_egress_restricted")
    expected = {
        "aws_vpc.open_default.default_security_group_id": Status.FAIL,
        "aws_instance.no_groups_open.primary_network_interface_id": Status.FAIL,
        "aws_default_security_group.w": Status.PASS,
        "aws_security_group.low": Status.PASS, "aws_security_group.high": Status.PASS,
        "aws_security_group.quarters": Status.FAIL, "aws_security_group.by_list": Status.FAIL,
        "aws_security_group.unknown_list_all": Status.ERROR,
        "aws_security_group.unknown_list_https": Status.PASS,
        "aws_security_group.v6": Status.FAIL, "aws_security_group.private": Status.PASS,
        "aws_instance.both_halves.primary_network_interface_id": Status.FAIL,
        "aws_instance.no_groups_managed_default.primary_network_interface_id": Status.PASS,
        "aws_instance.low_plus_attachment.primary_network_interface_id": Status.FAIL,
        "aws_network_interface.split": Status.FAIL, "aws_network_interface.private": Status.PASS,
    }
    assert {k: got.get(k) for k in expected} == expected


def test_routes_and_isolation(gated: GateResult) -> None:
    got = _statuses(gated, "aws.vpc.weights_no_igw_route")
    for name, _, expected in ROUTE_VARIANTS:
        assert got.get(f"aws_subnet.{name}") is expected, name
    iso = _statuses(gated, "aws.vpc.weights_isolated")
    assert iso["aws_vpc.r"] is Status.FAIL
    assert iso["aws_vpc.vpn_attached"] is Status.FAIL
    assert iso["aws_vpc.sealed"] is Status.PASS
    assert "egress_only_internet_gateways" in _findings(gated, "aws.vpc.weights_isolated")[
        "aws_vpc.r"].reason


def test_endpoint_perimeters(gated: GateResult) -> None:
    got = _statuses(gated, "aws.vpc.endpoint_policy_org_restricted")
    assert got["aws_vpc_endpoint.caller_org_only"] is Status.FAIL
    assert got["aws_vpc_endpoint.resource_account"] is Status.PASS


# (name, alarm arguments, detailed monitoring, expected) -- one weight VPC and instance each.
ALARM_VARIANTS: list[tuple[str, str, bool, Status]] = [
    ("good", "", False, Status.PASS),
    ("custom_namespace", 'namespace = "Lab/Network"', False, Status.FAIL),
    ("unit_bits", 'unit = "Bits"', False, Status.FAIL),
    ("three_of_three", "evaluation_periods = 3\n  datapoints_to_alarm = 3", False, Status.FAIL),
    ("daily", "period = 86400\n  threshold = 240000000000", False, Status.FAIL),
    ("p99", 'extended_statistic = "p99"', False, Status.FAIL),
    ("aggregate_basic", "aggregate = true", False, Status.FAIL),
    ("aggregate_detailed", "aggregate = true", True, Status.PASS),
    ("periods_unknown", "evaluation_periods = var.periods", False, Status.ERROR),
]
_ALARM_DEFAULTS = {"namespace": '"AWS/EC2"', "metric_name": '"NetworkOut"', "statistic": '"Sum"',
                   "period": "300", "threshold": "833333333", "evaluation_periods": "1",
                   "comparison_operator": '"GreaterThanThreshold"'}


def _alarms() -> str:
    out = ['variable "periods" {\n  type = number\n}']
    for i, (name, args, detailed, _) in enumerate(ALARM_VARIANTS):
        given = dict(line.strip().split(" = ", 1) for line in args.split("\n") if line.strip())
        aggregate = given.pop("aggregate", None) == "true"
        if "extended_statistic" in given:
            fields = {k: v for k, v in _ALARM_DEFAULTS.items() if k != "statistic"}
        else:
            fields = dict(_ALARM_DEFAULTS)
        fields.update(given)
        body = "\n".join(f"  {k} = {v}" for k, v in fields.items())
        dims = "" if aggregate else f"\n  dimensions = {{\n    InstanceId = aws_instance.a_{name}.id\n  }}"
        out.append(f'''
resource "aws_vpc" "a_{name}" {{
  cidr_block = "10.{70 + i}.0.0/16"
  tags       = local.weights
}}
resource "aws_default_security_group" "a_{name}" {{
  vpc_id = aws_vpc.a_{name}.id
}}
resource "aws_subnet" "a_{name}" {{
  vpc_id     = aws_vpc.a_{name}.id
  cidr_block = "10.{70 + i}.1.0/24"
}}
resource "aws_instance" "a_{name}" {{
  ami           = "ami-0abcdef1234567890"
  instance_type = "t3.micro"
  subnet_id     = aws_subnet.a_{name}.id
  monitoring    = {"true" if detailed else "false"}
}}
resource "aws_cloudwatch_metric_alarm" "a_{name}" {{
  alarm_name    = "egress-{name}"
  alarm_actions = ["arn:aws:sns:us-east-1:111122223333:security"]
{body}{dims}
}}''')
    return "\n".join(out)


SSE = '"s3:x-amz-server-side-encryption"'
SSE_KEY = '"s3:x-amz-server-side-encryption-aws-kms-key-id"'
SSE_C = '"s3:x-amz-server-side-encryption-customer-algorithm"'


def _deny(condition: str) -> str:
    """A jsonencode() statement refusing PutObject on every object of bucket ``lab-{b}``."""
    return ('{ Effect = "Deny", Principal = "*", Action = "s3:PutObject", '
            'Resource = "arn:aws:s3:::lab-{b}/*", Condition = { ' + condition + " } }")


NO_AES = _deny("StringEquals = { " + SSE + ' = "AES256" }')
WRONG_KEY = _deny("StringNotEquals = { " + SSE_KEY + " = aws_kms_key.weights.arn }")
KMS_WRONG_KEY = _deny("StringEquals = { " + SSE + ' = ["aws:kms", "aws:kms:dsse"] }, '
                      "StringNotEquals = { " + SSE_KEY + " = aws_kms_key.weights.arn }")
NO_SSE_C = _deny("Null = { " + SSE_C + ' = "false" }')
KEY_WILDCARD = _deny("StringNotLike = { " + SSE_KEY + ' = "arn:aws:kms:*:111122223333:key/*" }')
# (name, policy statements, blocked SSE-C, expected)
BUCKET_VARIANTS: list[tuple[str, list[str] | None, bool, Status]] = [
    ("no-policy", None, False, Status.FAIL),
    ("aes-only", [NO_AES, NO_SSE_C], False, Status.FAIL),
    ("refuses-other-keys", [WRONG_KEY, NO_SSE_C], False, Status.PASS),
    ("header-friendly-blocked", [NO_AES, KMS_WRONG_KEY], True, Status.PASS),
    ("header-friendly-open", [NO_AES, KMS_WRONG_KEY], False, Status.FAIL),
    ("key-wildcard", [KEY_WILDCARD, NO_SSE_C], False, Status.ERROR),
]


def _storage() -> str:
    out = ['resource "aws_kms_key" "weights" {\n  enable_key_rotation = true\n}']
    for name, statements, blocked, _ in BUCKET_VARIANTS:
        ident = name.replace("-", "_")
        block = '\n    blocked_encryption_types = ["SSE-C"]' if blocked else ""
        out.append(f'''
resource "aws_s3_bucket" "{ident}" {{
  bucket = "lab-{name}"
  tags   = local.weights
}}
resource "aws_s3_bucket_server_side_encryption_configuration" "{ident}" {{
  bucket = aws_s3_bucket.{ident}.id
  rule {{
    apply_server_side_encryption_by_default {{
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.weights.arn
    }}{block}
  }}
}}''')
        if statements is not None:
            body = ", ".join(st.replace("{b}", name) for st in statements)
            out.append(f'''
resource "aws_s3_bucket_policy" "{ident}" {{
  bucket = aws_s3_bucket.{ident}.id
  policy = jsonencode({{ Version = "2012-10-17", Statement = [{body}] }})
}}''')
    return "\n".join(out)




def test_alarms_that_cannot_fire(gated: GateResult) -> None:
    got = _findings(gated, "aws.cloudwatch.egress_alarms")
    verdicts = {name: got[f"aws_vpc.a_{name}"].status for name, *_ in ALARM_VARIANTS}
    assert verdicts == {name: expected for name, _, _, expected in ALARM_VARIANTS}, {
        name: got[f"aws_vpc.a_{name}"].reason for name, *_ in ALARM_VARIANTS}


def test_cmk_buckets_must_refuse_other_encryption(gated: GateResult) -> None:
    got = _findings(gated, "aws.s3.weights_cmk_encryption")
    verdicts = {name: got[f"aws_s3_bucket.{name.replace('-', '_')}"].status
                for name, *_ in BUCKET_VARIANTS}
    assert verdicts == {name: expected for name, _, _, expected in BUCKET_VARIANTS}, {
        name: got[f"aws_s3_bucket.{name.replace('-', '_')}"].reason for name, *_ in BUCKET_VARIANTS}
