"""Seed a small frontier lab into a moto server, with planted violations, for the demo and tests.

This module WRITES (it creates the lab); it is never used by the collector, whose clients are
read-only guarded. It takes a plain boto3 session and the moto endpoint URL. The lab lives in
one account, region us-east-1; ``aslcheck/inventories/aws/demo_config.yaml`` is its config.

moto limitations met while seeding (and how they are handled):

- EBS encryption by default does not encrypt new volumes in moto, so instances get explicitly
  encrypted root volumes (``BlockDeviceMappings``).
- S3 Control prepends ``<account>.`` to the endpoint host, which cannot resolve for 127.0.0.1;
  the account-level public access block call strips it (as the collector does).
- moto answers ``DescribeSnapshots(OwnerIds=[self])`` with its public AMI snapshots too; the lab
  creates no snapshot and relies on the collector filtering by owner.
- moto does not implement ``ec2:GetEbsDefaultKmsKeyId`` (HTTP 500): collect the demo with
  ``skip_operations=["ec2:GetEbsDefaultKmsKeyId"]`` (no check reads that attribute) or the EBS
  region settings carry a collection error.
- moto cannot give the root user an MFA device, so ``aws.iam.human_mfa`` fails on the root user;
  it is listed among the violations.
- moto does not enforce bucket policies, key policies, object lock or trail delivery: the lab is
  configuration only, which is all the checks read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3

REGION = "us-east-1"
WEIGHT_TAG = {"Key": "asl:asset", "Value": "model-weights"}
PROD_BUCKET = "frontier-weights-prod"
SCRATCH_BUCKET = "frontier-weights-scratch"
LOGS_BUCKET = "frontier-trail-logs"
TRAIL_NAME = "frontier-trail"
EGRESS_BUDGET_BYTES_PER_HOUR = 1024**3
"""Must equal ``parameters.egress_budget_bytes_per_hour`` in ``demo_config.yaml``."""
ALARM_PERIOD = 300
_DEMO_PASSWORD = "Demo-only-moto-password-1!"
"""Throwaway console password of the demo users; only ever sent to moto."""


@dataclass(frozen=True)
class Planted:
    """One expected check verdict on one resource of the lab."""

    check_id: str
    """Check that must report it."""
    resource_id: str
    """Resource ID as the collector names it (ARN)."""
    description: str
    """What was planted (or why it complies), for the README and test messages."""

    @property
    def pair(self) -> tuple[str, str]:
        """``(check_id, resource_id)``."""
        return (self.check_id, self.resource_id)


@dataclass(frozen=True)
class DemoLab:
    """What :func:`seed_demo_lab` created and what a scan of it must find."""

    account: str
    """The lab's account ID."""
    region: str
    """The lab's region."""
    weight_buckets: tuple[str, ...]
    """ARNs of the weight buckets (compliant first)."""
    weight_key: str
    """ARN of the customer-managed weight key."""
    vpc_endpoint_id: str
    """The weight VPC's S3 gateway endpoint. It is not an approved weight endpoint: the bucket
    policies do not confine reads to it, and ``demo_config.yaml`` declares none, so
    ``aws.s3.weights_vpce_restricted`` is NOT_APPLICABLE in the demo."""
    violations: tuple[Planted, ...]
    """Planted violations: each must be a FAIL finding."""
    compliant: tuple[Planted, ...]
    """Compliant resources: each must be a PASS finding."""

    def violation_pairs(self) -> frozenset[tuple[str, str]]:
        """Planted violations as ``(check_id, resource_id)`` pairs."""
        return frozenset(p.pair for p in self.violations)

    def compliant_pairs(self) -> frozenset[tuple[str, str]]:
        """Compliant verdicts as ``(check_id, resource_id)`` pairs."""
        return frozenset(p.pair for p in self.compliant)


def _strip_account_host_prefix(request: Any, **_: Any) -> None:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(request.url)
    label, _, rest = parts.netloc.partition(".")
    if label.isdigit() and len(label) == 12 and rest:
        request.url = urlunsplit(parts._replace(netloc=rest))


class _Clients:
    def __init__(self, session: boto3.session.Session, endpoint_url: str | None) -> None:
        self._session = session
        self._url = endpoint_url
        self._cache: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._cache:
            client = self._session.client(service, region_name=REGION,  # type: ignore[call-overload]
                                          endpoint_url=self._url)
            if service == "s3control" and self._url:
                client.meta.events.register("before-sign.s3-control", _strip_account_host_prefix)
            self._cache[service] = client
        return self._cache[service]


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _deny_insecure(bucket: str) -> dict[str, Any]:
    arn = f"arn:aws:s3:::{bucket}"
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def _deny_root_user(account: str, action: str, resource: str) -> dict[str, Any]:
    # The lab is one (management) account, so no SCP can fence off its root user; the weight
    # resources refuse it themselves instead.
    return {"Sid": "RootUserCannotRead", "Effect": "Deny", "Principal": "*", "Action": action,
            "Resource": resource,
            "Condition": {"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{account}:root"}}}


def _deny_other_encryption(bucket: str, key: str) -> list[dict[str, Any]]:
    # A default key binds only uploads that name no encryption: refuse every other choice.
    objects = f"arn:aws:s3:::{bucket}/*"
    return [{"Sid": "DenyUploadsNotUnderTheWeightKey", "Effect": "Deny", "Principal": "*",
             "Action": "s3:PutObject", "Resource": objects, "Condition": {"StringNotEquals": {
                 "s3:x-amz-server-side-encryption-aws-kms-key-id": key}}},
            {"Sid": "DenySseC", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": objects, "Condition": {"Null": {
                 "s3:x-amz-server-side-encryption-customer-algorithm": "false"}}}]


def _weight_bucket_policy(account: str, bucket: str, key: str) -> str:
    return _doc(_deny_insecure(bucket),
                _deny_root_user(account, "s3:GetObject", f"arn:aws:s3:::{bucket}/*"),
                *_deny_other_encryption(bucket, key))


_PAB_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
           "RestrictPublicBuckets": True}


def _buckets(c: _Clients, account: str, weight_key: str) -> None:
    s3 = c("s3")
    for name in (PROD_BUCKET, SCRATCH_BUCKET):
        s3.create_bucket(Bucket=name)
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [WEIGHT_TAG]})
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=_PAB_ON)
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={
            "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
        s3.put_bucket_policy(Bucket=name, Policy=_weight_bucket_policy(account, name, weight_key))
    s3.put_bucket_encryption(Bucket=PROD_BUCKET, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                               "KMSMasterKeyID": weight_key},
        "BucketKeyEnabled": True}]})
    s3.put_bucket_versioning(Bucket=PROD_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    # Planted: the scratch copy keeps S3's default (SSE-S3) encryption and no versioning.

    s3.create_bucket(Bucket=LOGS_BUCKET, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket=LOGS_BUCKET, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 365}}})
    s3.put_public_access_block(Bucket=LOGS_BUCKET, PublicAccessBlockConfiguration=_PAB_ON)
    logs_arn = f"arn:aws:s3:::{LOGS_BUCKET}"
    s3.put_bucket_policy(Bucket=LOGS_BUCKET, Policy=_doc(
        _deny_insecure(LOGS_BUCKET),
        {"Sid": "CloudTrailAcl", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
         "Resource": logs_arn},
        {"Sid": "CloudTrailWrite", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": f"{logs_arn}/AWSLogs/{account}/*"}))
    c("s3control").put_public_access_block(AccountId=account,
                                           PublicAccessBlockConfiguration=_PAB_ON)


def _keys(c: _Clients, account: str) -> tuple[str, str]:
    kms = c("kms")
    weight = kms.create_key(Description="model weights", KeyUsage="ENCRYPT_DECRYPT",
                            Tags=[{"TagKey": "asl:asset", "TagValue": "model-weights"}])
    weight_arn = str(weight["KeyMetadata"]["Arn"])
    kms.put_key_policy(KeyId=weight_arn, PolicyName="default", Policy=_doc(
        {"Sid": "EnableIamPolicies", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
        _deny_root_user(account, "kms:Decrypt", "*")))
    kms.enable_key_rotation(KeyId=weight_arn)
    kms.create_alias(AliasName="alias/model-weights", TargetKeyId=weight["KeyMetadata"]["KeyId"])
    audit = kms.create_key(Description="audit logs", KeyUsage="ENCRYPT_DECRYPT")
    audit_arn = str(audit["KeyMetadata"]["Arn"])
    kms.enable_key_rotation(KeyId=audit_arn)
    return weight_arn, audit_arn


def _trust(principal: dict[str, Any]) -> str:
    return _doc({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})


def _identities(c: _Clients, weight_key: str) -> dict[str, str]:
    iam = c("iam")
    read = _doc(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{PROD_BUCKET}/*"},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": weight_key})
    arns: dict[str, str] = {}
    for name in ("weights-serving", "weights-training"):
        role = iam.create_role(RoleName=name, MaxSessionDuration=3600,
                               AssumeRolePolicyDocument=_trust({"Service": "ec2.amazonaws.com"}))
        arns[name] = str(role["Role"]["Arn"])
        iam.put_role_policy(RoleName=name, PolicyName="read-weights", PolicyDocument=read)
        iam.create_instance_profile(InstanceProfileName=name)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    broker = iam.create_role(RoleName="access-broker", MaxSessionDuration=3600,
                             AssumeRolePolicyDocument=_trust({"Service": "lambda.amazonaws.com"}))
    arns["access-broker"] = str(broker["Role"]["Arn"])
    role = iam.create_role(RoleName="weights-broker", MaxSessionDuration=3600,
                           AssumeRolePolicyDocument=_trust({"AWS": arns["access-broker"]}))
    arns["weights-broker"] = str(role["Role"]["Arn"])
    iam.put_role_policy(RoleName="weights-broker", PolicyName="read-weights",
                        PolicyDocument=read)
    iam.put_role_policy(RoleName="access-broker", PolicyName="issue-sessions", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": arns["weights-broker"]}))

    alice = iam.create_user(UserName="alice")
    arns["alice"] = str(alice["User"]["Arn"])
    iam.create_login_profile(UserName="alice", Password=_DEMO_PASSWORD)
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")
    iam.enable_mfa_device(UserName="alice", SerialNumber=serial["VirtualMFADevice"]["SerialNumber"],
                          AuthenticationCode1="123456", AuthenticationCode2="654321")
    # Planted: a person holds a copy of the serving policy (standing human access to weights).
    iam.put_user_policy(UserName="alice", PolicyName="debug-copy-of-serving", PolicyDocument=read)
    bob = iam.create_user(UserName="bob")
    arns["bob"] = str(bob["User"]["Arn"])
    # Planted: console password without MFA.
    iam.create_login_profile(UserName="bob", Password=_DEMO_PASSWORD)
    c("organizations").create_organization(FeatureSet="ALL")
    return arns


def _trail(c: _Clients, audit_key: str) -> None:
    ct = c("cloudtrail")
    ct.create_trail(Name=TRAIL_NAME, S3BucketName=LOGS_BUCKET, IsMultiRegionTrail=True,
                    EnableLogFileValidation=True, KmsKeyId=audit_key,
                    IncludeGlobalServiceEvents=True)
    # Planted: data events cover the production weight bucket only, not the scratch copy.
    ct.put_event_selectors(TrailName=TRAIL_NAME, EventSelectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object",
                           "Values": [f"arn:aws:s3:::{PROD_BUCKET}/"]}]}])
    ct.start_logging(Name=TRAIL_NAME)
    logs = c("logs")
    logs.create_log_group(logGroupName="/frontier/security-audit", kmsKeyId=audit_key)
    logs.put_retention_policy(logGroupName="/frontier/security-audit", retentionInDays=400)


@dataclass(frozen=True)
class _Network:
    vpc: str
    subnets: tuple[str, ...]
    default_sg: str
    serving_sg: str
    open_sg: str
    endpoint: str
    serving: str
    legacy: str
    volumes: tuple[str, ...]


def _no_egress(ec2: Any, group_id: str) -> None:
    perms = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    if perms["IpPermissionsEgress"]:
        ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=perms["IpPermissionsEgress"])


def _network(c: _Clients, profiles: dict[str, str]) -> _Network:
    ec2 = c("ec2")
    ec2.enable_ebs_encryption_by_default()
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16", TagSpecifications=[{
        "ResourceType": "vpc", "Tags": [WEIGHT_TAG, {"Key": "Name", "Value": "weights"}]}])["Vpc"]
    vpc_id = str(vpc["VpcId"])
    subnets = tuple(str(ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr)["Subnet"]["SubnetId"])
                    for cidr in ("10.20.1.0/24", "10.20.2.0/24"))
    default_sg = str(ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}],
    )["SecurityGroups"][0]["GroupId"])
    _no_egress(ec2, default_sg)
    serving_sg = str(ec2.create_security_group(GroupName="serving", Description="serving",
                                               VpcId=vpc_id)["GroupId"])
    _no_egress(ec2, serving_sg)
    ec2.authorize_security_group_egress(GroupId=serving_sg, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
        "IpRanges": [{"CidrIp": "10.20.0.0/16"}]}])
    # Planted: a debugging group keeps the default "all traffic to 0.0.0.0/0" egress rule.
    open_sg = str(ec2.create_security_group(GroupName="debug-open", Description="debug",
                                            VpcId=vpc_id)["GroupId"])
    main_rt = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
        "RouteTables"][0]["RouteTableId"]
    buckets = [f"arn:aws:s3:::{b}{s}" for b in (PROD_BUCKET, SCRATCH_BUCKET, LOGS_BUCKET)
               for s in ("", "/*")]
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc_id, ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Gateway",
        RouteTableIds=[main_rt], PolicyDocument=_doc({
            "Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": buckets}))
    ec2.create_flow_logs(ResourceIds=[vpc_id], ResourceType="VPC", TrafficType="ALL",
                         LogDestinationType="s3", LogDestination=f"arn:aws:s3:::{LOGS_BUCKET}")
    # A narrow filter first: listing all of moto's ~1,300 public AMIs takes seconds.
    images = ec2.describe_images(Owners=["amazon"], Filters=[
        {"Name": "name", "Values": ["amzn2-ami-hvm-*"]}])["Images"] \
        or ec2.describe_images(Owners=["amazon"])["Images"]
    image = images[0]
    root = image.get("RootDeviceName") or "/dev/xvda"

    def launch(name: str, profile: str, tokens: str) -> str:
        out = ec2.run_instances(
            ImageId=image["ImageId"], InstanceType="t3.micro", MinCount=1, MaxCount=1,
            SubnetId=subnets[0], SecurityGroupIds=[serving_sg],
            IamInstanceProfile={"Name": profile},
            MetadataOptions={"HttpTokens": tokens, "HttpPutResponseHopLimit": 1,
                             "HttpEndpoint": "enabled"},
            BlockDeviceMappings=[{"DeviceName": root, "Ebs": {"VolumeSize": 8, "Encrypted": True}}],
            TagSpecifications=[{"ResourceType": "instance",
                                "Tags": [{"Key": "Name", "Value": name}]}])
        return str(out["Instances"][0]["InstanceId"])

    serving = launch("serving", profiles["weights-serving"], "required")
    # Planted: a legacy training host still accepts IMDSv1.
    legacy = launch("legacy-trainer", profiles["weights-training"], "optional")
    volumes = tuple(str(v["VolumeId"]) for v in ec2.describe_volumes(Filters=[
        {"Name": "attachment.instance-id", "Values": [serving, legacy]}])["Volumes"])
    return _Network(vpc_id, subnets, default_sg, serving_sg, open_sg,
                    str(endpoint["VpcEndpoint"]["VpcEndpointId"]), serving, legacy, volumes)


def _watchers(c: _Clients, instances: tuple[str, ...]) -> None:
    topic = c("sns").create_topic(Name="security-alerts")["TopicArn"]
    threshold = EGRESS_BUDGET_BYTES_PER_HOUR * ALARM_PERIOD // 3600
    for iid in instances:
        c("cloudwatch").put_metric_alarm(
            AlarmName=f"egress-{iid}", Namespace="AWS/EC2", MetricName="NetworkOut",
            Dimensions=[{"Name": "InstanceId", "Value": iid}], Statistic="Sum",
            Period=ALARM_PERIOD, EvaluationPeriods=1, Threshold=float(threshold),
            ComparisonOperator="GreaterThanThreshold", ActionsEnabled=True,
            AlarmActions=[topic])
    c("guardduty").create_detector(Enable=True)


def seed_demo_lab(session: boto3.session.Session, endpoint_url: str | None = None) -> DemoLab:
    """Create the lab through ``session`` (at ``endpoint_url``, a moto server) and describe it."""
    c = _Clients(session, endpoint_url)
    account = str(c("sts").get_caller_identity()["Account"])
    weight_key, audit_key = _keys(c, account)
    _buckets(c, account, weight_key)
    roles = _identities(c, weight_key)
    profiles = {n: n for n in ("weights-serving", "weights-training")}
    _trail(c, audit_key)
    net = _network(c, profiles)
    _watchers(c, (net.serving, net.legacy))
    return _describe(account, weight_key, roles, net)


def _describe(account: str, weight_key: str, roles: dict[str, str], net: _Network) -> DemoLab:
    ec2 = f"arn:aws:ec2:{REGION}:{account}"
    prod, scratch = f"arn:aws:s3:::{PROD_BUCKET}", f"arn:aws:s3:::{SCRATCH_BUCKET}"
    trail = f"arn:aws:cloudtrail:{REGION}:{account}:trail/{TRAIL_NAME}"
    vpc = f"{ec2}:vpc/{net.vpc}"
    sg = f"{ec2}:security-group/"
    inst = f"{ec2}:instance/"
    violations = (
        Planted("aws.s3.weights_cmk_encryption", scratch, "scratch copy uses SSE-S3 (no config)"),
        Planted("aws.s3.weights_versioning", scratch, "scratch copy has no versioning"),
        Planted("aws.cloudtrail.weights_data_events", scratch,
                "trail data events cover the production bucket only"),
        # The access checks report on the weight resources a person can read.
        *(Planted(check, target, f"alice ({roles['alice']}) holds an inline copy of the "
                  "serving policy: standing human access, outside the roster")
          for check in ("aws.iam.no_standing_human_weight_access",
                        "aws.iam.weights_effective_access_within_roster")
          for target in (prod, weight_key)),
        # The lab is a standalone account: no SCP can fence its root user, which can always
        # rewrite a bucket policy that denies it (only the KMS key policy holds it off).
        *(Planted(check, scratch, "the root user can rewrite the bucket policy that denies it "
                  "(s3:PutBucketPolicy) and read the SSE-S3 copy")
          for check in ("aws.iam.no_standing_human_weight_access",
                        "aws.iam.weights_effective_access_within_roster")),
        Planted("aws.iam.human_mfa", roles["bob"], "bob has a console password and no MFA"),
        Planted("aws.iam.human_mfa", f"arn:aws:iam::{account}:root",
                "the root user has no MFA (moto cannot enable root MFA; a real lab must)"),
        Planted("aws.ec2.imdsv2_required", inst + net.legacy, "legacy-trainer accepts IMDSv1"),
        Planted("aws.vpc.weights_sg_egress_restricted", sg + net.open_sg,
                "debug-open allows all egress to 0.0.0.0/0"),
    )
    ok: list[Planted] = []

    def good(check: str, resource: str, why: str) -> None:
        ok.append(Planted(check, resource, why))

    for b in (prod, scratch):
        good("aws.weights.storage_allowlisted", b, "in allowed_storage")
        good("aws.s3.weights_public_access_block", b, "bucket and account block on")
        good("aws.s3.weights_no_public_or_cross_account", b, "no grants outside the account")
        good("aws.s3.weights_deny_insecure_transport", b, "denies aws:SecureTransport=false")
    good("aws.s3.weights_versioning", prod, "versioning enabled")
    good("aws.s3.weights_cmk_encryption", prod,
         "SSE-KMS with the weight key; the policy refuses uploads under any other encryption")
    good("aws.cloudtrail.weights_data_events", prod, "classic data-event selector")
    good("aws.cloudtrail.multi_region_logging", f"arn:aws:iam::{account}:root", "multi-region trail")
    for check in ("aws.cloudtrail.log_file_validation", "aws.cloudtrail.kms_encrypted",
                  "aws.cloudtrail.log_bucket_protected"):
        good(check, trail, "trail hardening")
    good("aws.logs.retention",
         f"arn:aws:logs:{REGION}:{account}:log-group:/frontier/security-audit", "400 days, KMS")
    for check in ("aws.vpc.weights_flow_logs", "aws.vpc.weights_isolated",
                  "aws.cloudwatch.egress_alarms"):
        good(check, vpc, "weight VPC")
    for group in (net.default_sg, net.serving_sg):
        good("aws.vpc.weights_sg_egress_restricted", sg + group, "no open egress")
    for subnet in net.subnets:
        good("aws.vpc.weights_no_igw_route", f"{ec2}:subnet/{subnet}", "private subnet")
    good("aws.vpc.endpoint_policy_org_restricted", f"{ec2}:vpc-endpoint/{net.endpoint}",
         "limited to the lab's buckets")
    good("aws.ec2.ebs_default_encryption", f"{ec2}:settings", "EBS encryption by default")
    for volume in net.volumes:
        good("aws.ec2.volumes_encrypted", f"{ec2}:volume/{volume}", "encrypted root volume")
    good("aws.ec2.imdsv2_required", inst + net.serving, "IMDSv2 required, hop limit 1")
    for iid in (net.serving, net.legacy):
        good("aws.ec2.weights_no_public_ip", inst + iid, "private subnet, no public IP")
    good("aws.guardduty.enabled", f"arn:aws:guardduty:{REGION}:{account}:region", "detector on")
    for check in ("aws.kms.weight_key_customer_managed", "aws.kms.weight_key_rotation",
                  "aws.kms.weight_key_no_wildcard_principal", "aws.kms.weight_key_no_human_grants"):
        good(check, weight_key, "customer-managed, rotating, default key policy, no grants")
    for check in ("aws.iam.broker_role_trust", "aws.iam.broker_max_session"):
        good(check, roles["weights-broker"], "trusts only the broker; 1 h sessions")
    good("aws.iam.human_mfa", roles["alice"], "virtual MFA device")
    for principal in (roles["alice"], roles["bob"], f"arn:aws:iam::{account}:root"):
        good("aws.iam.access_key_age", principal, "no access keys")
    return DemoLab(account=account, region=REGION, weight_buckets=(prod, scratch),
                   weight_key=weight_key, vpc_endpoint_id=net.endpoint, violations=violations,
                   compliant=tuple(ok))
