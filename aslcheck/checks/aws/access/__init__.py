"""Offline effective-access analysis over an inventory snapshot (pure Python, no AWS calls).

Answers "which principals can ``s3:GetObject`` the weight objects / ``kms:Decrypt`` with the
weight key, and through which path", following AWS's documented policy evaluation logic:
identity policies (inline, managed, via groups), permission boundaries, resource policies
(bucket, key and trust policies), KMS grants, SCPs and RCPs, explicit deny, wildcards,
NotAction/NotResource/NotPrincipal, cross-account rules and role assumption chains. Conditions
the snapshot cannot decide make a path *conditional*; they never remove access.

Modules: :mod:`.actions` (the canonical read and escalation action sets), :mod:`.matching`
(wildcards), :mod:`.policy` (statements), :mod:`.conditions`, :mod:`.context` (known condition
keys), :mod:`.directory` (snapshot index), :mod:`.engine` (one request), :mod:`.targets`
(bucket/key read targets), :mod:`.routes`, :mod:`.edges` and :mod:`.escalation` (ways to become
a principal or give oneself a read), :mod:`.graph` (the walk).
"""

from aslcheck.checks.aws.access.actions import KMS_READS, S3_OBJECT_READS, S3_READS
from aslcheck.checks.aws.access.graph import AccessAnalyzer, analyzer_for
from aslcheck.checks.aws.access.model import (
    AccessPath,
    AccessResult,
    Level,
    Principal,
    PrincipalKind,
    ReadTarget,
    Request,
    Verdict,
)
from aslcheck.checks.aws.access.policy import Policy, parse_policy
from aslcheck.checks.aws.access.targets import DECRYPT, READ_OBJECT, Unevaluable, bucket_read, key_decrypt

__all__ = [
    "DECRYPT",
    "KMS_READS",
    "READ_OBJECT",
    "S3_OBJECT_READS",
    "S3_READS",
    "AccessAnalyzer",
    "AccessPath",
    "AccessResult",
    "Level",
    "Policy",
    "Principal",
    "PrincipalKind",
    "ReadTarget",
    "Request",
    "Unevaluable",
    "Verdict",
    "analyzer_for",
    "bucket_read",
    "key_decrypt",
    "parse_policy",
]
