"""The canonical action sets of weight access: what reads weights, and what grants the right to.

One place for every check that asks "can X read the weights?" or "does this Deny cover every
read?" (issue 10, class 1). Sources: the Service Authorization Reference pages "Actions,
resources, and condition keys for Amazon S3 / AWS KMS / IAM / AWS STS".

Reads are the actions that yield object bytes or key material. Escalations are the actions
that let their holder give itself a read (or become someone who has one); the evaluator
follows them as reader paths (class 2). Names are in canonical case; matching is
case-insensitive.
"""

from __future__ import annotations

S3_OBJECT_READS: tuple[str, ...] = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:GetObjectTorrent",
    "s3:GetObjectVersionTorrent",
)
"""Calls that return an object's bytes to the caller (``GetObject`` also covers S3 Select and
ranged reads). A TLS or VPC-endpoint Deny protects the weights only if it covers all of these.
``s3:GetObjectAttributes`` is not a read: it returns checksums, sizes and parts, no bytes."""

S3_REPLICATION_READ = "s3:GetObjectVersionForReplication"
"""Lets S3 copy object bytes to a replication destination; the replication role holds it and
whoever can point replication at a bucket of their own (``s3:PutReplicationConfiguration`` with
``iam:PassRole`` of that role) reads through it."""

S3_READS: tuple[str, ...] = (*S3_OBJECT_READS, S3_REPLICATION_READ)
"""Every action that yields the objects of a weight bucket."""

KMS_READS: tuple[str, ...] = (
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:CreateGrant",
)
"""Every action that yields key material of a weight key or the right to it (issue 10 lists
``ReEncrypt*`` and ``GenerateDataKey*`` whole; ``ReEncryptTo`` and the ``WithoutPlaintext``
forms are kept although they return no plaintext, so a holder is reported, never missed).
``kms:CreateGrant`` lets the holder grant itself ``Decrypt``."""

S3_POLICY_REWRITES: tuple[str, ...] = ("s3:PutBucketPolicy", "s3:DeleteBucketPolicy")
"""Rewriting the bucket policy: the holder can allow itself (or drop the Deny that stops it).
Only principals of the bucket owner's account can call them; the owner's root user always can,
whatever the bucket policy says (only SCPs and VPC endpoint policies stop it)."""

S3_ACL_WRITES: tuple[str, ...] = ("s3:PutObjectAcl", "s3:PutBucketAcl")
"""ACL grants, effective while ACLs are enabled (object ownership not ``BucketOwnerEnforced``)."""

S3_OWNERSHIP_WRITE = "s3:PutBucketOwnershipControls"
"""Re-enables ACLs on a ``BucketOwnerEnforced`` bucket."""

S3_REPLICATION_SETUP = "s3:PutReplicationConfiguration"
"""Points replication of the weight bucket at any destination."""

KMS_POLICY_REWRITES: tuple[str, ...] = ("kms:PutKeyPolicy",)
"""Rewriting the key policy (same account only)."""

KMS_REPLICATE = "kms:ReplicateKey"
"""A multi-Region key's replica shares its key material and takes a policy of the caller's choice."""

IAM_USER_REWRITES: tuple[str, ...] = ("iam:PutUserPolicy", "iam:AttachUserPolicy")
"""Change a user's own permissions (resource: the user)."""
IAM_ROLE_REWRITES: tuple[str, ...] = ("iam:PutRolePolicy", "iam:AttachRolePolicy")
"""Change a role's permissions (resource: the role)."""
IAM_GROUP_REWRITES: tuple[str, ...] = ("iam:PutGroupPolicy", "iam:AttachGroupPolicy")
"""Change the permissions of a group's members (resource: the group)."""
IAM_JOIN_GROUP = "iam:AddUserToGroup"
"""Join any group the pattern names, with its permissions (resource: the group)."""
IAM_POLICY_REWRITE = "iam:CreatePolicyVersion"
"""Replace a customer-managed policy's document (resource: the policy)."""
IAM_POLICY_ROLLBACK = "iam:SetDefaultPolicyVersion"
"""Switch a managed policy to an older version (not collected: undecidable)."""
IAM_BOUNDARY_REMOVALS: tuple[str, ...] = (
    "iam:DeleteUserPermissionsBoundary", "iam:PutUserPermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary",
)
"""Lift or replace a permissions boundary (resource: the user or role)."""
IAM_TRUST_REWRITE = "iam:UpdateAssumeRolePolicy"
"""Make a role trust its holder (resource: the role)."""
IAM_USER_CREDENTIALS: tuple[str, ...] = (
    "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
)
"""Obtain credentials of another user (resource: that user)."""
IAM_CREATE_USER = "iam:CreateUser"
"""With credentials and a policy for it: a new principal with chosen permissions."""
IAM_CREATE_ROLE = "iam:CreateRole"
"""With a policy for it: a new role trusting its creator."""
IAM_PASS_ROLE = "iam:PassRole"
"""Hand a role to a service that then acts as it."""

STS_FEDERATION = "sts:GetFederationToken"
"""A federated-user session with the user's permissions but its own principal ARN, which
resource-policy statements naming the user do not match."""

SSM_SHELLS: tuple[str, ...] = (
    "ssm:StartSession", "ssm:SendCommand", "ec2-instance-connect:SendSSHPublicKey",
)
"""Run commands on an instance, and so use its instance-profile role."""

LAMBDA_CODE: tuple[str, ...] = ("lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration")
"""Run code of one's choice as an existing function's role (configuration: layers, handler)."""

ECS_EXEC: tuple[str, ...] = ("ecs:ExecuteCommand",)
"""Run commands in a running task, as its task role."""


def all_read_actions() -> tuple[str, ...]:
    """Every read action of buckets and keys."""
    return (*S3_READS, *KMS_READS)
