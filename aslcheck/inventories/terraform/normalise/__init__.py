"""Declared Terraform resources -> snapshot resources in the shared AWS attribute model.

One visible table: :data:`NORMALISERS` (what runs) and :data:`TYPE_KINDS` (which Terraform
types feed which kind). A declared type of a modelled kind that no normaliser reads
(:data:`UNMODELLED`) becomes a collection error on that kind, so checks reading the kind go
INCONCLUSIVE instead of passing on a partial picture.
"""

from __future__ import annotations

from collections.abc import Mapping

from aslcheck.inventories.snapshot import Resource
from aslcheck.inventories.terraform.declared import Declared
from aslcheck.inventories.terraform.normalise import (
    compute,
    iam,
    interfaces,
    kms,
    monitoring,
    network,
    s3,
)
from aslcheck.inventories.terraform.normalise.base import SOURCE, Context, Normaliser

NORMALISERS: tuple[Normaliser, ...] = (
    s3.buckets, s3.account_settings, kms.keys, iam.iam, monitoring.trails,
    monitoring.log_groups, monitoring.alarms, monitoring.guardduty, network.vpcs,
    network.subnets, network.security_groups, network.endpoints, compute.instances,
    compute.volumes, compute.region_settings, interfaces.default_groups, interfaces.interfaces,
    interfaces.prefix_lists,
)
"""Every normaliser, in the order they run (order does not matter: each is pure)."""

_FEEDS: Mapping[str, tuple[str, ...]] = {
    s3.BUCKET: ("aws_s3_bucket", "aws_s3_bucket_server_side_encryption_configuration",
                "aws_s3_bucket_versioning", "aws_s3_bucket_public_access_block",
                "aws_s3_bucket_policy", "aws_s3_bucket_ownership_controls", "aws_s3_bucket_acl",
                "aws_s3_bucket_object_lock_configuration", "aws_s3_bucket_logging",
                "aws_s3_bucket_replication_configuration"),
    s3.ACCOUNT_SETTINGS: ("aws_s3_account_public_access_block",),
    kms.KEY: ("aws_kms_key", "aws_kms_alias", "aws_kms_key_policy", "aws_kms_grant"),
    iam.ROLE: ("aws_iam_role", "aws_iam_role_policy", "aws_iam_role_policy_attachment",
               "aws_iam_instance_profile", "aws_iam_policy_attachment"),
    iam.USER: ("aws_iam_user", "aws_iam_user_policy", "aws_iam_user_policy_attachment",
               "aws_iam_user_group_membership", "aws_iam_group_membership",
               "aws_iam_access_key", "aws_iam_user_login_profile"),
    iam.GROUP: ("aws_iam_group", "aws_iam_group_policy", "aws_iam_group_policy_attachment"),
    iam.POLICY: ("aws_iam_policy",),
    monitoring.TRAIL: ("aws_cloudtrail",),
    monitoring.LOG_GROUP: ("aws_cloudwatch_log_group",),
    monitoring.ALARM: ("aws_cloudwatch_metric_alarm",),
    monitoring.GUARDDUTY: ("aws_guardduty_detector",),
    network.VPC: ("aws_vpc", "aws_flow_log", "aws_internet_gateway",
                  "aws_internet_gateway_attachment", "aws_nat_gateway",
                  "aws_vpc_peering_connection", "aws_ec2_transit_gateway_vpc_attachment",
                  "aws_egress_only_internet_gateway", "aws_vpn_gateway",
                  "aws_vpn_gateway_attachment"),
    network.SUBNET: ("aws_subnet", "aws_route_table", "aws_route", "aws_route_table_association",
                     "aws_main_route_table_association", "aws_default_route_table",
                     "aws_vpn_gateway_route_propagation"),
    interfaces.NETWORK_INTERFACE: ("aws_network_interface", "aws_network_interface_sg_attachment",
                                   "aws_network_interface_attachment"),
    interfaces.PREFIX_LIST: ("aws_ec2_managed_prefix_list", "aws_ec2_managed_prefix_list_entry"),
    network.SECURITY_GROUP: ("aws_security_group", "aws_default_security_group",
                             "aws_security_group_rule",
                             "aws_vpc_security_group_egress_rule",
                             "aws_vpc_security_group_ingress_rule"),
    network.VPC_ENDPOINT: ("aws_vpc_endpoint",),
    compute.INSTANCE: ("aws_instance", "aws_eip", "aws_eip_association"),
    compute.VOLUME: ("aws_ebs_volume", "aws_volume_attachment"),
    compute.REGION_SETTINGS: ("aws_ebs_encryption_by_default", "aws_ebs_default_kms_key"),
}

UNMODELLED: Mapping[str, str] = {
    "aws_ebs_snapshot": "aws.ec2.snapshot",
    "aws_ebs_snapshot_copy": "aws.ec2.snapshot",
    "aws_snapshot_create_volume_permission": "aws.ec2.snapshot",
    "aws_launch_template": "aws.ec2.instance",
    "aws_launch_configuration": "aws.ec2.instance",
    "aws_autoscaling_group": "aws.ec2.instance",
    "aws_spot_instance_request": "aws.ec2.instance",
    "aws_kms_external_key": "aws.kms.key",
    "aws_kms_replica_key": "aws.kms.key",
    "aws_kms_replica_external_key": "aws.kms.key",
    "aws_s3_bucket_acl_v2": "aws.s3.bucket",
    "aws_s3_directory_bucket": "aws.s3.bucket",
    "aws_organizations_policy": "aws.organizations.policy",
    "aws_organizations_policy_attachment": "aws.organizations.policy",
    "aws_ssoadmin_permission_set": "aws.sso.permission_set",
    "aws_ssoadmin_account_assignment": "aws.sso.permission_set",
    "aws_ssoadmin_permission_set_inline_policy": "aws.sso.permission_set",
    "aws_ssoadmin_managed_policy_attachment": "aws.sso.permission_set",
    "aws_iam_service_linked_role": "aws.iam.role",
    "aws_default_vpc": "aws.ec2.vpc",
    "aws_default_subnet": "aws.ec2.subnet",
}
"""Declared types that change a modelled kind but that no normaliser reads (yet)."""

TYPE_KINDS: Mapping[str, str] = {t: k for k, ts in _FEEDS.items() for t in ts} | dict(UNMODELLED)
"""Terraform type -> the snapshot kind it feeds."""

KINDS: frozenset[str] = frozenset(_FEEDS)
"""Kinds the normalisers produce."""


def normalise(declared: Declared) -> list[Resource]:
    """Run every normaliser over ``declared``."""
    ctx = Context(declared)
    out: list[Resource] = []
    for fn in NORMALISERS:
        out.extend(fn(ctx))
    return out


__all__ = ["KINDS", "NORMALISERS", "SOURCE", "TYPE_KINDS", "UNMODELLED", "normalise"]
