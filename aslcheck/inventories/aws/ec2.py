"""EC2 compute and storage of one region: instances, EBS volumes, snapshots and AMIs (with
sharing) and the region's EBS encryption defaults."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from aslcheck.inventories.aws.context import LISTED, Feeds, Outcome, Target, Task, settle
from aslcheck.inventories.aws.normalise import as_int, tag_list
from aslcheck.inventories.snapshot import Resource

INSTANCE = "aws.ec2.instance"
VOLUME = "aws.ec2.volume"
SNAPSHOT = "aws.ec2.snapshot"
IMAGE = "aws.ec2.image"
REGION_SETTINGS = "aws.ec2.region_settings"
SCOPE = "regional"

OPERATIONS: Mapping[str, frozenset[str]] = {
    INSTANCE: frozenset({"ec2:DescribeInstances"}),
    VOLUME: frozenset({"ec2:DescribeVolumes"}),
    SNAPSHOT: frozenset({"ec2:DescribeSnapshots", "ec2:DescribeSnapshotAttribute"}),
    IMAGE: frozenset({"ec2:DescribeImages", "ec2:DescribeImageAttribute"}),
    REGION_SETTINGS: frozenset({"ec2:GetEbsEncryptionByDefault", "ec2:GetEbsDefaultKmsKeyId"}),
}
KINDS = frozenset(OPERATIONS)
FEEDS: Feeds = {
    "ec2:DescribeInstances": {INSTANCE: frozenset({LISTED})},
    "ec2:DescribeVolumes": {VOLUME: frozenset({LISTED})},
    "ec2:DescribeSnapshots": {SNAPSHOT: frozenset({LISTED})},
    "ec2:DescribeSnapshotAttribute": {SNAPSHOT: frozenset({"public", "shared_with"})},
    "ec2:DescribeImages": {IMAGE: frozenset({LISTED})},
    # ``public`` is also in the listing; the attribute read adds account and org shares.
    "ec2:DescribeImageAttribute": {IMAGE: frozenset({"public", "shared_with",
                                                     "shared_with_organizations"})},
    "ec2:GetEbsEncryptionByDefault": {REGION_SETTINGS: frozenset({"ebs_encryption_by_default"})},
    "ec2:GetEbsDefaultKmsKeyId": {REGION_SETTINGS: frozenset({"ebs_default_kms_key_id"})},
}


def _arn(target: Target, kind: str, ident: str, account: str | None = None) -> str:
    owner = target.account if account is None else account
    return f"arn:{target.partition}:ec2:{target.region}:{owner}:{kind}/{ident}"


def _instance(target: Target, inst: Mapping[str, Any]) -> Resource:
    meta = inst.get("MetadataOptions") or {}
    profile = inst.get("IamInstanceProfile") or {}
    return Resource(
        kind=INSTANCE,
        id=_arn(target, "instance", str(inst["InstanceId"])),
        source="aws",
        attributes={
            "instance_id": str(inst["InstanceId"]),
            "vpc_id": inst.get("VpcId"),
            "subnet_id": inst.get("SubnetId"),
            "state": str(inst["State"]["Name"]),
            "public_ip": inst.get("PublicIpAddress"),
            "metadata_options": {
                "http_tokens": meta.get("HttpTokens"),
                "http_put_response_hop_limit": (
                    as_int(meta["HttpPutResponseHopLimit"])
                    if meta.get("HttpPutResponseHopLimit") is not None else None),
                "http_endpoint": meta.get("HttpEndpoint"),
            },
            "instance_profile": profile.get("Arn"),
            "security_groups": sorted(str(g["GroupId"]) for g in inst.get("SecurityGroups") or ()),
            "monitoring": (inst.get("Monitoring") or {}).get("State"),
        },
        tags=tag_list(inst.get("Tags")),
        account=target.account,
        region=target.region,
    )


def _instances(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[INSTANCE])
    op = "ec2:DescribeInstances"
    items = rd.paginate(op, "Reservations", INSTANCE)
    got = rd.parse(op, INSTANCE, None, lambda: [
        _instance(target, inst) for res in items for inst in res.get("Instances") or ()]) \
        if isinstance(items, list) else None
    if got is None:
        return Outcome(errors=rd.errors, incomplete={INSTANCE})
    return Outcome(resources=got.value, errors=rd.errors)


def _volumes(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[VOLUME])
    op = "ec2:DescribeVolumes"
    items = rd.paginate(op, "Volumes", VOLUME)
    got = rd.parse(op, VOLUME, None, lambda: [Resource(
        kind=VOLUME, id=_arn(target, "volume", str(v["VolumeId"])), source="aws",
        attributes={"volume_id": str(v["VolumeId"]), "encrypted": v["Encrypted"] is True,
                    "kms_key_id": v.get("KmsKeyId"), "state": v.get("State"),
                    "attached_to": sorted(str(a["InstanceId"]) for a in v.get("Attachments") or ())},
        tags=tag_list(v.get("Tags")), account=target.account, region=target.region)
        for v in items]) if isinstance(items, list) else None
    if got is None:
        return Outcome(errors=rd.errors, incomplete={VOLUME})
    return Outcome(resources=got.value, errors=rd.errors)


def _snapshot(target: Target, arn: str, attrs: dict[str, Any],
              tags: dict[str, str]) -> Outcome:
    rd = target.reader(OPERATIONS[SNAPSHOT])
    op = "ec2:DescribeSnapshotAttribute"
    answer = rd.call(op, SNAPSHOT, arn, Attribute="createVolumePermission",
                     SnapshotId=attrs["snapshot_id"])

    def sharing(a: Mapping[str, Any]) -> tuple[bool, list[str]]:
        perms = a["CreateVolumePermissions"]
        return (any(p.get("Group") == "all" for p in perms),
                sorted(str(p["UserId"]) for p in perms if p.get("UserId")))

    if isinstance(answer, dict):
        got = rd.parse(op, SNAPSHOT, arn, lambda: sharing(answer))
        if got is not None:
            attrs["public"], attrs["shared_with"] = got.value
    resource = Resource(kind=SNAPSHOT, id=arn, source="aws", attributes=attrs, tags=tags,
                        account=target.account, region=target.region)
    return Outcome(resources=[resource], errors=rd.errors)


def _snapshots(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[SNAPSHOT])
    op = "ec2:DescribeSnapshots"
    items = rd.paginate(op, "Snapshots", SNAPSHOT, OwnerIds=["self"])
    # NOTE: snapshot ARNs carry no account; the owner filter is repeated client-side because
    # some implementations (moto) ignore OwnerIds=self and return public AMI snapshots.
    got = rd.parse(op, SNAPSHOT, None, lambda: [
        (f"arn:{target.partition}:ec2:{target.region}::snapshot/{s['SnapshotId']}",
         {"snapshot_id": str(s["SnapshotId"]), "encrypted": s["Encrypted"] is True,
          "kms_key_id": s.get("KmsKeyId"), "volume_id": s.get("VolumeId")},
         tag_list(s.get("Tags")))
        for s in items if str(s.get("OwnerId")) == target.account]) \
        if isinstance(items, list) else None
    if got is None:
        return Outcome(errors=rd.errors, incomplete={SNAPSHOT})
    followups = [Task(target.label(f"ec2:{attrs['snapshot_id']}"),
                      partial(_snapshot, target, arn, attrs, tags),
                      frozenset({SNAPSHOT}))
                 for arn, attrs, tags in got.value]
    return Outcome(errors=rd.errors, followups=followups)


def _image_base(target: Target, img: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]]:
    ident = str(img["ImageId"])
    snapshots = sorted(str(b["Ebs"]["SnapshotId"]) for b in img.get("BlockDeviceMappings") or ()
                       if (b.get("Ebs") or {}).get("SnapshotId"))
    return (f"arn:{target.partition}:ec2:{target.region}::image/{ident}",
            {"image_id": ident, "name": img.get("Name"), "state": img.get("State"),
             "public": img.get("Public") is True, "source_instance_id": img.get("SourceInstanceId"),
             "snapshot_ids": snapshots},
            tag_list(img.get("Tags")))


def _image(target: Target, arn: str, attrs: dict[str, Any], tags: dict[str, str]) -> Outcome:
    rd = target.reader(OPERATIONS[IMAGE])
    op = "ec2:DescribeImageAttribute"
    answer = rd.call(op, IMAGE, arn, Attribute="launchPermission", ImageId=attrs["image_id"])

    def sharing(a: Mapping[str, Any]) -> tuple[bool, list[str], list[str]]:
        perms = a["LaunchPermissions"]
        return (any(p.get("Group") == "all" for p in perms),
                sorted(str(p["UserId"]) for p in perms if p.get("UserId")),
                sorted(str(p.get("OrganizationArn") or p["OrganizationalUnitArn"]) for p in perms
                       if p.get("OrganizationArn") or p.get("OrganizationalUnitArn")))

    if isinstance(answer, dict):
        got = rd.parse(op, IMAGE, arn, lambda: sharing(answer))
        if got is not None:
            public, attrs["shared_with"], attrs["shared_with_organizations"] = got.value
            # Either source saying "public" is enough: the listing flag or a Group=all grant.
            attrs["public"] = bool(attrs["public"]) or public
    resource = Resource(kind=IMAGE, id=arn, source="aws", attributes=attrs, tags=tags,
                        account=target.account, region=target.region)
    return Outcome(resources=[resource], errors=rd.errors)


def _images(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[IMAGE])
    op = "ec2:DescribeImages"
    items = rd.paginate(op, "Images", IMAGE, Owners=["self"])
    # NOTE: repeated client-side, as for snapshots: only images this account owns are its own.
    got = rd.parse(op, IMAGE, None, lambda: [
        _image_base(target, img) for img in items if str(img.get("OwnerId")) == target.account]) \
        if isinstance(items, list) else None
    if got is None:
        return Outcome(errors=rd.errors, incomplete={IMAGE})
    followups = [Task(target.label(f"ec2:{attrs['image_id']}"),
                      partial(_image, target, arn, attrs, tags), frozenset({IMAGE}))
                 for arn, attrs, tags in got.value]
    return Outcome(errors=rd.errors, followups=followups)


def _region_settings(target: Target) -> Outcome:
    rd = target.reader(OPERATIONS[REGION_SETTINGS])
    ident = f"arn:{target.partition}:ec2:{target.region}:{target.account}:settings"
    attrs: dict[str, Any] = {}
    op = "ec2:GetEbsEncryptionByDefault"
    settle(rd, attrs, "ebs_encryption_by_default", op, REGION_SETTINGS, ident,
           rd.call(op, REGION_SETTINGS, ident), lambda a: a["EbsEncryptionByDefault"] is True)
    op = "ec2:GetEbsDefaultKmsKeyId"
    settle(rd, attrs, "ebs_default_kms_key_id", op, REGION_SETTINGS, ident,
           rd.call(op, REGION_SETTINGS, ident), lambda a: a.get("KmsKeyId"))
    resource = Resource(kind=REGION_SETTINGS, id=ident, source="aws", attributes=attrs, tags={},
                        account=target.account, region=target.region)
    return Outcome(resources=[resource], errors=rd.errors)


_TASKS: Mapping[str, Callable[[Target], Outcome]] = {
    INSTANCE: _instances, VOLUME: _volumes, SNAPSHOT: _snapshots, IMAGE: _images,
    REGION_SETTINGS: _region_settings,
}


def plan(target: Target, kinds: frozenset[str]) -> list[Task]:
    """One task per requested EC2 kind in one account/region."""
    return [Task(target.label(kind), partial(fn, target), frozenset({kind}))
            for kind, fn in _TASKS.items() if kind in kinds]
