"""The read-only guard: every AWS operation the collector may send, and the hook that enforces it.

:data:`READ_OPERATIONS` maps each allowed ``"<botocore service>:<Operation>"`` to the IAM action
that authorises it; its keys are the allowlist. :func:`install_guard` registers a botocore
``before-call`` handler on a client, so any operation outside the allowlist raises
:class:`ReadOnlyViolation` after the request is built and *before* it is sent.

Every entry is a ``List*``/``Get*``/``Describe*`` call except two, kept on purpose:

- ``iam:GenerateCredentialReport`` asks IAM to (re)build the account credential report that
  ``GetCredentialReport`` then reads. AWS classifies the action as *Read*; it changes no
  configuration, and without it there is no credential report to read.
- ``sts:AssumeRole`` obtains read-only credentials in member accounts during an organisation scan.

``docs/aws-scanner-policy.json`` grants exactly the IAM actions listed here (a test checks both
directions).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from aslcheck.inventories.interface import InventoryError

READ_OPERATIONS: Mapping[str, str] = MappingProxyType(
    {
        # STS: identity of the scanning principal, member-account credentials.
        "sts:GetCallerIdentity": "sts:GetCallerIdentity",
        "sts:AssumeRole": "sts:AssumeRole",
        # EC2 region discovery.
        "ec2:DescribeRegions": "ec2:DescribeRegions",
        # S3 (bucket operations are named differently in IAM than in the API).
        "s3:ListBuckets": "s3:ListAllMyBuckets",
        "s3:GetBucketLocation": "s3:GetBucketLocation",
        "s3:GetBucketTagging": "s3:GetBucketTagging",
        "s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
        "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketPolicy": "s3:GetBucketPolicy",
        "s3:GetBucketPolicyStatus": "s3:GetBucketPolicyStatus",
        "s3:GetBucketOwnershipControls": "s3:GetBucketOwnershipControls",
        "s3:GetBucketAcl": "s3:GetBucketAcl",
        "s3:GetBucketVersioning": "s3:GetBucketVersioning",
        "s3:GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
        "s3:GetBucketLogging": "s3:GetBucketLogging",
        "s3:GetBucketReplication": "s3:GetReplicationConfiguration",
        "s3control:GetPublicAccessBlock": "s3:GetAccountPublicAccessBlock",
        # KMS.
        "kms:ListKeys": "kms:ListKeys",
        "kms:ListAliases": "kms:ListAliases",
        "kms:DescribeKey": "kms:DescribeKey",
        "kms:GetKeyRotationStatus": "kms:GetKeyRotationStatus",
        "kms:GetKeyPolicy": "kms:GetKeyPolicy",
        "kms:ListGrants": "kms:ListGrants",
        "kms:ListResourceTags": "kms:ListResourceTags",
        # IAM.
        "iam:GetAccountAuthorizationDetails": "iam:GetAccountAuthorizationDetails",
        "iam:ListRoles": "iam:ListRoles",
        "iam:ListPolicies": "iam:ListPolicies",
        "iam:GetPolicyVersion": "iam:GetPolicyVersion",
        "iam:ListMFADevices": "iam:ListMFADevices",
        "iam:ListAccessKeys": "iam:ListAccessKeys",
        "iam:GetAccessKeyLastUsed": "iam:GetAccessKeyLastUsed",
        "iam:GetLoginProfile": "iam:GetLoginProfile",
        "iam:GetAccountSummary": "iam:GetAccountSummary",
        "iam:GenerateCredentialReport": "iam:GenerateCredentialReport",
        "iam:GetCredentialReport": "iam:GetCredentialReport",
        # Organizations.
        "organizations:DescribeOrganization": "organizations:DescribeOrganization",
        "organizations:ListAccounts": "organizations:ListAccounts",
        "organizations:ListRoots": "organizations:ListRoots",
        "organizations:ListOrganizationalUnitsForParent": (
            "organizations:ListOrganizationalUnitsForParent"
        ),
        "organizations:ListAccountsForParent": "organizations:ListAccountsForParent",
        "organizations:ListPolicies": "organizations:ListPolicies",
        "organizations:DescribePolicy": "organizations:DescribePolicy",
        "organizations:ListTargetsForPolicy": "organizations:ListTargetsForPolicy",
        # IAM Identity Center (the API is "sso-admin", the IAM prefix is "sso").
        "sso-admin:ListInstances": "sso:ListInstances",
        "sso-admin:ListPermissionSets": "sso:ListPermissionSets",
        "sso-admin:DescribePermissionSet": "sso:DescribePermissionSet",
        "sso-admin:GetInlinePolicyForPermissionSet": "sso:GetInlinePolicyForPermissionSet",
        "sso-admin:ListManagedPoliciesInPermissionSet": "sso:ListManagedPoliciesInPermissionSet",
        "sso-admin:ListCustomerManagedPolicyReferencesInPermissionSet": (
            "sso:ListCustomerManagedPolicyReferencesInPermissionSet"
        ),
        "sso-admin:ListAccountsForProvisionedPermissionSet": (
            "sso:ListAccountsForProvisionedPermissionSet"
        ),
        "sso-admin:ListAccountAssignments": "sso:ListAccountAssignments",
        # CloudTrail, CloudWatch Logs, CloudWatch.
        "cloudtrail:DescribeTrails": "cloudtrail:DescribeTrails",
        "cloudtrail:GetTrailStatus": "cloudtrail:GetTrailStatus",
        "cloudtrail:GetEventSelectors": "cloudtrail:GetEventSelectors",
        "cloudtrail:ListTags": "cloudtrail:ListTags",
        "logs:DescribeLogGroups": "logs:DescribeLogGroups",
        "logs:ListTagsForResource": "logs:ListTagsForResource",
        "cloudwatch:DescribeAlarms": "cloudwatch:DescribeAlarms",
        # EC2 / VPC.
        "ec2:DescribeVpcs": "ec2:DescribeVpcs",
        "ec2:DescribeFlowLogs": "ec2:DescribeFlowLogs",
        "ec2:DescribeInternetGateways": "ec2:DescribeInternetGateways",
        "ec2:DescribeNatGateways": "ec2:DescribeNatGateways",
        "ec2:DescribeVpcPeeringConnections": "ec2:DescribeVpcPeeringConnections",
        "ec2:DescribeTransitGatewayAttachments": "ec2:DescribeTransitGatewayAttachments",
        "ec2:DescribeSubnets": "ec2:DescribeSubnets",
        "ec2:DescribeRouteTables": "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups": "ec2:DescribeSecurityGroups",
        "ec2:DescribeVpcEndpoints": "ec2:DescribeVpcEndpoints",
        "ec2:DescribeEgressOnlyInternetGateways": "ec2:DescribeEgressOnlyInternetGateways",
        "ec2:DescribeVpnGateways": "ec2:DescribeVpnGateways",
        "ec2:DescribeNetworkInterfaces": "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeManagedPrefixLists": "ec2:DescribeManagedPrefixLists",
        "ec2:GetManagedPrefixListEntries": "ec2:GetManagedPrefixListEntries",
        "ec2:DescribeInstances": "ec2:DescribeInstances",
        "ec2:DescribeVolumes": "ec2:DescribeVolumes",
        "ec2:DescribeSnapshots": "ec2:DescribeSnapshots",
        "ec2:DescribeSnapshotAttribute": "ec2:DescribeSnapshotAttribute",
        "ec2:DescribeImages": "ec2:DescribeImages",
        "ec2:DescribeImageAttribute": "ec2:DescribeImageAttribute",
        "ec2:GetEbsEncryptionByDefault": "ec2:GetEbsEncryptionByDefault",
        "ec2:GetEbsDefaultKmsKeyId": "ec2:GetEbsDefaultKmsKeyId",
        # Resource Groups Tagging API: weight-tagged resources in regions outside the scan.
        "resourcegroupstaggingapi:GetResources": "tag:GetResources",
        # GuardDuty.
        "guardduty:ListDetectors": "guardduty:ListDetectors",
        "guardduty:GetDetector": "guardduty:GetDetector",
        # Lambda (which role each function runs as).
        "lambda:ListFunctions": "lambda:ListFunctions",
    }
)
"""Allowed operation (``<botocore service name>:<API operation>``) -> IAM action it needs."""

ALLOWED_OPERATIONS: frozenset[str] = frozenset(READ_OPERATIONS)
"""The allowlist the guard enforces."""

NON_READ_EXCEPTIONS: frozenset[str] = frozenset(
    {"iam:GenerateCredentialReport", "sts:AssumeRole"}
)
"""Allowlisted operations whose names do not start with List/Get/Describe (see module doc)."""


class ReadOnlyViolation(InventoryError):
    """The collector tried to send an operation outside the read-only allowlist (a bug)."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        super().__init__(
            f"refusing to send {operation}: not in the AWS collector's read-only allowlist"
        )


def operation_name(service: str, operation: str) -> str:
    """The allowlist key of a botocore service name and API operation name."""
    return f"{service}:{operation}"


def _guard(model: Any, **_: Any) -> None:
    """botocore ``before-call`` handler: refuse anything not on the allowlist."""
    name = operation_name(model.service_model.service_name, model.name)
    if name not in ALLOWED_OPERATIONS:
        raise ReadOnlyViolation(name)


def install_guard(client: Any) -> None:
    """Register the read-only guard on one botocore client (idempotent)."""
    # NOTE: before-call fires after the request is serialised and before it is signed or sent,
    # for direct calls and paginators alike; raising there means nothing leaves the process.
    client.meta.events.register("before-call", _guard, unique_id="aslcheck-readonly-guard")
