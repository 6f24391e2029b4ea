"""S3: buckets (account-wide listing, then tags, then deep reads where a check needs them) and the
account public access block. How the deep set is chosen: :mod:`aslcheck.inventories.aws.s3_scope`."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from aslcheck.inventories.aws.context import (
    LISTED,
    TAGS,
    Feeds,
    NotConfigured,
    Outcome,
    Target,
    Task,
    settle,
)
from aslcheck.inventories.aws.normalise import policy_document, tag_list
from aslcheck.inventories.aws.s3_scope import TAG_OPERATION, BucketScan
from aslcheck.inventories.snapshot import Resource

BUCKET = "aws.s3.bucket"
ACCOUNT_SETTINGS = "aws.s3.account_settings"
SCOPE = "global"

OPERATIONS: Mapping[str, frozenset[str]] = {
    BUCKET: frozenset(
        {
            "s3:ListBuckets",
            "s3:GetBucketLocation",
            "s3:GetBucketTagging",
            "s3:GetBucketEncryption",
            "s3:GetPublicAccessBlock",
            "s3:GetBucketPolicy",
            "s3:GetBucketPolicyStatus",
            "s3:GetBucketOwnershipControls",
            "s3:GetBucketAcl",
            "s3:GetBucketVersioning",
            "s3:GetObjectLockConfiguration",
            "s3:GetBucketLogging",
            "s3:GetBucketReplication",
            TAG_OPERATION,
        }
    ),
    ACCOUNT_SETTINGS: frozenset({"s3control:GetPublicAccessBlock"}),
}
KINDS = frozenset(OPERATIONS)

FEEDS: Feeds = {
    "s3:ListBuckets": {BUCKET: frozenset({LISTED}),
                       # cloudtrail.with_bucket_accounts: a trail's log bucket, when collected
                       "aws.cloudtrail.trail": frozenset({"s3_bucket_account"})},
    "s3:GetBucketLocation": {BUCKET: frozenset({"region"})},
    "s3:GetBucketTagging": {BUCKET: frozenset({TAGS})},
    TAG_OPERATION: {BUCKET: frozenset({TAGS})},
    "s3:GetBucketEncryption": {BUCKET: frozenset({"encryption"})},
    "s3:GetPublicAccessBlock": {BUCKET: frozenset({"public_access_block"})},
    "s3:GetBucketPolicy": {BUCKET: frozenset({"policy"})},
    "s3:GetBucketPolicyStatus": {BUCKET: frozenset({"policy_status_public"})},
    "s3:GetBucketOwnershipControls": {BUCKET: frozenset({"ownership"})},
    "s3:GetBucketAcl": {BUCKET: frozenset({"acl_grants", "owner_id"})},
    "s3:GetBucketVersioning": {BUCKET: frozenset({"versioning", "mfa_delete"})},
    "s3:GetObjectLockConfiguration": {BUCKET: frozenset({"object_lock"})},
    "s3:GetBucketLogging": {BUCKET: frozenset({"logging"})},
    "s3:GetBucketReplication": {BUCKET: frozenset({"replication"})},
    "s3control:GetPublicAccessBlock": {ACCOUNT_SETTINGS: frozenset({"public_access_block"})},
}

SSE_S3_DEFAULT: Mapping[str, Any] = {
    "algorithm": "AES256",
    "kms_key_id": None,
    "bucket_key_enabled": False,
    "explicit": False,
}
"""``encryption`` when a bucket has no configuration: S3 applies SSE-S3 (since January 2023)."""

_PAB_FIELDS = (
    ("block_public_acls", "BlockPublicAcls"),
    ("ignore_public_acls", "IgnorePublicAcls"),
    ("block_public_policy", "BlockPublicPolicy"),
    ("restrict_public_buckets", "RestrictPublicBuckets"),
)


def public_access_block(config: Mapping[str, Any]) -> dict[str, bool]:
    """The four flags; a flag AWS leaves out is off (the direction that can only fail a check)."""
    return {ours: config.get(theirs) is True for ours, theirs in _PAB_FIELDS}


def _location(answer: Mapping[str, Any]) -> str:
    constraint = answer.get("LocationConstraint")
    if constraint in (None, ""):
        return "us-east-1"
    if constraint == "EU":
        return "eu-west-1"
    return str(constraint)


def _encryption(answer: Mapping[str, Any]) -> dict[str, Any]:
    rule = answer["ServerSideEncryptionConfiguration"]["Rules"][0]
    default = rule["ApplyServerSideEncryptionByDefault"]
    return {
        "algorithm": str(default["SSEAlgorithm"]),
        "kms_key_id": default.get("KMSMasterKeyID"),
        "bucket_key_enabled": rule.get("BucketKeyEnabled") is True,
        "explicit": True,
        "blocked_encryption_types": [str(t) for t in (rule.get("BlockedEncryptionTypes") or {})
                                     .get("EncryptionType") or ()],
    }


def _grants(answer: Mapping[str, Any]) -> list[dict[str, str]]:
    out = []
    for grant in answer["Grants"]:
        grantee = grant["Grantee"]
        kind = str(grantee["Type"])
        ident = grantee.get("ID") or grantee.get("URI") or grantee.get("EmailAddress")
        if ident is None:
            raise KeyError("grantee has no ID, URI or EmailAddress")
        out.append({"grantee_type": kind, "grantee": str(ident),
                    "permission": str(grant["Permission"])})
    return out


def _object_lock(answer: Mapping[str, Any]) -> dict[str, Any]:
    config = answer["ObjectLockConfiguration"]
    retention = config.get("Rule", {}).get("DefaultRetention", {})
    return {
        "enabled": config.get("ObjectLockEnabled") == "Enabled",
        "mode": retention.get("Mode"),
        "days": retention.get("Days"),
        "years": retention.get("Years"),
    }


def _logging(answer: Mapping[str, Any]) -> dict[str, str] | None:
    enabled = answer.get("LoggingEnabled")
    if not enabled:
        return None
    return {"target_bucket": str(enabled["TargetBucket"]),
            "target_prefix": str(enabled.get("TargetPrefix", ""))}


def _replication(answer: Mapping[str, Any]) -> dict[str, Any]:
    """Where the bucket copies its objects: every rule's destination, enabled or not.

    NOTE: a disabled rule may have replicated objects before it was disabled, so its
    destination is counted as a copy too.
    """
    config = answer["ReplicationConfiguration"]
    destinations = []
    for rule in config["Rules"]:
        dest = rule["Destination"]
        destinations.append({"bucket": str(dest["Bucket"]), "account": dest.get("Account"),
                             "status": str(rule["Status"])})
    return {"role": config.get("Role"),
            "destinations": sorted(destinations, key=lambda d: (d["bucket"], d["status"]))}


_READ: Any = object()


def _bucket(target: Target, name: str, listed_region: str | None,
            known_tags: dict[str, str] | None = _READ) -> Outcome:
    """Every per-bucket read; ``known_tags`` (tags already read, ``None`` if that failed)
    saves ``GetBucketTagging``."""
    arn = f"arn:{target.partition}:s3:::{name}"
    rd = target.reader(OPERATIONS[BUCKET], error_region=listed_region or "global")
    attrs: dict[str, Any] = {"name": name}
    region = listed_region
    if region is None:
        op = "s3:GetBucketLocation"
        loc = rd.call(op, BUCKET, arn, Bucket=name)
        if isinstance(loc, dict):
            got = rd.parse(op, BUCKET, arn, lambda: _location(loc))
            region = got.value if got else None
    if region is not None:
        attrs["region"] = region
        rd.error_region = region

    def get(op: str, expected: tuple[str, ...] = ()) -> dict[str, Any] | NotConfigured | None:
        # NOTE: without a known region the home-region client is used; botocore follows S3's
        # region redirect, and a failure is recorded like any other.
        return rd.call(op, BUCKET, arn, region=region, expected=expected, Bucket=name)

    tags: dict[str, str] | None = None
    answer = get("s3:GetBucketTagging", ("NoSuchTagSet",)) if known_tags is _READ else None
    if known_tags is not _READ:
        tags = known_tags
    elif isinstance(answer, NotConfigured):
        tags = {}
    elif answer is not None:
        got_tags = rd.parse("s3:GetBucketTagging", BUCKET, arn,
                            lambda: tag_list(answer["TagSet"]))
        tags = got_tags.value if got_tags else None

    settle(rd, attrs, "encryption", "s3:GetBucketEncryption", BUCKET, arn,
           get("s3:GetBucketEncryption", ("ServerSideEncryptionConfigurationNotFoundError",)),
           _encryption, lambda _: dict(SSE_S3_DEFAULT))
    settle(rd, attrs, "public_access_block", "s3:GetPublicAccessBlock", BUCKET, arn,
           get("s3:GetPublicAccessBlock", ("NoSuchPublicAccessBlockConfiguration",)),
           lambda a: public_access_block(a["PublicAccessBlockConfiguration"]), lambda _: None)
    settle(rd, attrs, "policy", "s3:GetBucketPolicy", BUCKET, arn,
           get("s3:GetBucketPolicy", ("NoSuchBucketPolicy",)),
           lambda a: policy_document(a["Policy"]), lambda _: None)
    settle(rd, attrs, "policy_status_public", "s3:GetBucketPolicyStatus", BUCKET, arn,
           get("s3:GetBucketPolicyStatus", ("NoSuchBucketPolicy",)),
           lambda a: a["PolicyStatus"]["IsPublic"] is True, lambda _: None)
    settle(rd, attrs, "ownership", "s3:GetBucketOwnershipControls", BUCKET, arn,
           get("s3:GetBucketOwnershipControls", ("OwnershipControlsNotFoundError",)),
           lambda a: str(a["OwnershipControls"]["Rules"][0]["ObjectOwnership"]), lambda _: None)
    acl = get("s3:GetBucketAcl")
    settle(rd, attrs, "acl_grants", "s3:GetBucketAcl", BUCKET, arn, acl, _grants)
    settle(rd, attrs, "owner_id", "s3:GetBucketAcl", BUCKET, arn, acl,
           lambda a: str(a["Owner"]["ID"]))
    versioning = get("s3:GetBucketVersioning")
    settle(rd, attrs, "versioning", "s3:GetBucketVersioning", BUCKET, arn, versioning,
           lambda a: a.get("Status"))
    settle(rd, attrs, "mfa_delete", "s3:GetBucketVersioning", BUCKET, arn, versioning,
           lambda a: a.get("MFADelete"))
    settle(rd, attrs, "object_lock", "s3:GetObjectLockConfiguration", BUCKET, arn,
           get("s3:GetObjectLockConfiguration", ("ObjectLockConfigurationNotFoundError",)),
           _object_lock, lambda _: None)
    settle(rd, attrs, "logging", "s3:GetBucketLogging", BUCKET, arn,
           get("s3:GetBucketLogging"), _logging)
    settle(rd, attrs, "replication", "s3:GetBucketReplication", BUCKET, arn,
           get("s3:GetBucketReplication", ("ReplicationConfigurationNotFoundError",)),
           _replication, lambda _: None)
    resource = Resource(kind=BUCKET, id=arn, source="aws", attributes=attrs, tags=tags,
                        account=target.account, region=region)
    return Outcome(resources=[resource], errors=rd.errors)


def _locate(target: Target, scan: BucketScan, name: str) -> Outcome:
    """Where a bucket lives (the listing did not say): ``GetBucketLocation``."""
    arn = f"arn:{target.partition}:s3:::{name}"
    rd = target.reader(OPERATIONS[BUCKET], error_region="global")
    op = "s3:GetBucketLocation"
    loc = rd.call(op, BUCKET, arn, Bucket=name)
    region = None
    if isinstance(loc, dict):
        answer = loc
        got = rd.parse(op, BUCKET, arn, lambda: _location(answer))
        region = got.value if got else None
    with scan.lock:
        scan.regions[name] = region
    return Outcome(errors=rd.errors)


def _list_buckets(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[BUCKET], error_region="global")
    op = "s3:ListBuckets"
    listed = rd.paginate(op, "Buckets", BUCKET)
    if not isinstance(listed, list):
        return Outcome(errors=rd.errors, incomplete={BUCKET})
    got = rd.parse(op, BUCKET, None,
                   lambda: [(str(b["Name"]), b.get("BucketRegion")) for b in listed])
    if got is None:
        return Outcome(errors=rd.errors, incomplete={BUCKET})
    scope = target.options.get("scope")
    if target.options.get("deep") or scope is None:
        followups = [
            Task(target.label(f"s3:{name}", "global"),
                 partial(_bucket, target, name, region),
                 frozenset({BUCKET}))
            for name, region in got.value
        ]
        return Outcome(errors=rd.errors, followups=followups)
    scan = BucketScan(target, scope, _bucket)
    for name, region in got.value:
        scan.regions[name] = None if region is None else str(region)
    out = scan.start(partial(_locate, target))
    out.errors[:0] = rd.errors
    return out


def _account_settings(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[ACCOUNT_SETTINGS], error_region="global")
    ident = f"arn:{target.partition}:s3::{target.account}:account"
    attrs: dict[str, Any] = {}
    op = "s3control:GetPublicAccessBlock"
    settle(rd, attrs, "public_access_block", op, ACCOUNT_SETTINGS, ident,
           rd.call(op, ACCOUNT_SETTINGS, ident, expected=("NoSuchPublicAccessBlockConfiguration",),
                   AccountId=target.account),
           lambda a: public_access_block(a["PublicAccessBlockConfiguration"]), lambda _: None)
    resource = Resource(kind=ACCOUNT_SETTINGS, id=ident, source="aws", attributes=attrs,
                        tags={}, account=target.account, region="global")
    return Outcome(resources=[resource], errors=rd.errors)


def plan(target: Target, kinds: frozenset[str]) -> list[Task]:
    """Tasks for the requested S3 kinds of one account."""
    tasks = []
    if BUCKET in kinds:
        tasks.append(Task(target.label("s3:ListBuckets", "global"),
                          lambda: _list_buckets(target), frozenset({BUCKET})))
    if ACCOUNT_SETTINGS in kinds:
        tasks.append(Task(target.label("s3control:GetPublicAccessBlock", "global"),
                          lambda: _account_settings(target), frozenset({ACCOUNT_SETTINGS})))
    return tasks

