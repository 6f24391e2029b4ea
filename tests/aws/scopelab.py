"""Helpers for the adversarial scope tests: seed attacks into moto, collect, evaluate one check."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from awsseed import ACCOUNT, REGION, WEIGHT_TAG, client, doc

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.engine import Options, evaluate
from aslcheck.controls.config import Config, Scope
from aslcheck.controls.loader import load_catalog
from aslcheck.inventories.aws import AwsCollector
from aslcheck.inventories.interface import CollectionRequest
from aslcheck.inventories.snapshot import Snapshot
from aslcheck.reports.model import CheckOutcome, ControlStatus, RunResult

REGISTRY = default_registry()
CATALOG, _ = load_catalog(checks=REGISTRY)
KINDS = frozenset(k for c in CATALOG.select("asl3") for cid in c.checks for k in REGISTRY.get(cid).kinds)
NOT_IN_MOTO = "ec2:GetEbsDefaultKmsKeyId"
TAGS = {WEIGHT_TAG["Key"]: WEIGHT_TAG["Value"]}
STRANGER = "210987654321"


def cfg(*, allowed: Iterable[str] = ("arn:aws:s3:::weights-*",), patterns: Iterable[str] = ()) -> Config:
    """The tests' organisation: weight tags, allowed storage, no approved endpoints."""
    return Config(scope=Scope(weight_tags=dict(TAGS), allowed_storage=tuple(allowed),
                              weight_arn_patterns=tuple(patterns), aws=True))


def collect(make: Callable[..., AwsCollector], endpoint: str, config: Config,
            regions: Iterable[str] = (REGION,), **kwargs: Any) -> Snapshot:
    """A collection of every kind the ASL-3 catalog reads."""
    skip = {NOT_IN_MOTO, *kwargs.pop("skip_operations", ())}
    collector = make(endpoint, regions=list(regions), skip_operations=skip, **kwargs)
    return collector.collect(CollectionRequest(kinds=KINDS & collector.kinds(), config=config))


def run(snapshot: Snapshot, config: Config) -> RunResult:
    """The ASL-3 profile on ``snapshot``."""
    return evaluate(CATALOG, "asl3", REGISTRY, snapshot, config, options=Options())


def outcome(result: RunResult, check: str) -> CheckOutcome:
    """The outcome of one check in a run."""
    return next(o for r in result.results for o in r.checks if o.check == check)


def verdicts(result: RunResult, check: str) -> dict[str, str]:
    """``{resource: status}`` of one check's findings."""
    return {str(f.resource): f.status.value for f in outcome(result, check).findings}


def control(result: RunResult, control_id: str) -> ControlStatus:
    """The status of one control."""
    return next(r.status for r in result.results if r.control.id == control_id)


def weight_bucket(endpoint: str, name: str, *, tagged: bool = True, region: str = REGION) -> None:
    """A compliant-looking weight bucket (versioned, PAB on, TLS-only policy)."""
    s3 = client(endpoint, "s3", region)
    kwargs: dict[str, Any] = {} if region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **kwargs)
    if tagged:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [WEIGHT_TAG]})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})
    s3.put_bucket_policy(Bucket=name, Policy=doc({
        "Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))


def public_policy(name: str) -> str:
    """A bucket policy letting anyone read every object."""
    return doc({"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{name}/*"})


def replicate(endpoint: str, source: str, dest: str, *, status: str = "Enabled") -> None:
    """Replicate ``source`` into ``dest`` (both versioned, as S3 requires)."""
    s3 = client(endpoint, "s3")
    for name in (source, dest):
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(Bucket=source, ReplicationConfiguration={
        "Role": f"arn:aws:iam::{ACCOUNT}:role/replication",
        "Rules": [{"ID": "all", "Priority": 1, "Status": status, "Filter": {"Prefix": ""},
                   "DeleteMarkerReplication": {"Status": "Disabled"},
                   "Destination": {"Bucket": f"arn:aws:s3:::{dest}"}}]})


def weight_host(endpoint: str, *, tagged: bool = True, kms_key: str | None = None,
                region: str = REGION) -> tuple[str, str]:
    """A weight instance with one extra EBS volume attached: ``(instance_id, volume_id)``."""
    ec2 = client(endpoint, "ec2", region)
    image = ec2.register_image(Name="base", RootDeviceName="/dev/xvda", BlockDeviceMappings=[
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}])["ImageId"]
    tags = [{"ResourceType": "instance", "Tags": [WEIGHT_TAG]}] if tagged else []
    iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                            TagSpecifications=tags)["Instances"][0]["InstanceId"]
    extra: dict[str, Any] = {"KmsKeyId": kms_key} if kms_key else {}
    vid = ec2.create_volume(Size=8, AvailabilityZone=f"{region}a", Encrypted=True, **extra)["VolumeId"]
    ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    return iid, vid
