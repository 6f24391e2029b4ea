"""Seed a moto server (over HTTP, as an ordinary AWS client would) with a small frontier lab."""

from __future__ import annotations

import io
import json
import urllib.request
import zipfile
from dataclasses import dataclass
from typing import Any

import boto3

from aslcheck.inventories.aws.session import ClientSettings, strip_account_host_prefix

FAKE_KEY = "testing"
"""Access key and secret for moto (it accepts anything)."""
FAST = ClientSettings(max_attempts=1, connect_timeout=2.0, read_timeout=10.0)
"""Client settings for tests: one retry, so retried faults stay quick."""
ACCOUNT = "123456789012"
REGION = "us-east-1"
WEIGHT_TAG = {"Key": "asl:asset", "Value": "model-weights"}


@dataclass(frozen=True)
class Lab:
    """Identifiers of what :func:`seed_lab` created."""

    weight_key_arn: str
    weight_key_id: str
    asym_key_arn: str
    grant_id: str
    weights_bucket: str
    trail_bucket: str
    plain_bucket: str
    trail_arn: str
    vpc_id: str
    subnet_id: str
    igw_id: str
    sg_id: str
    endpoint_id: str
    instance_id: str
    volume_id: str
    snapshot_id: str
    detector_id: str
    log_group: str
    mfa_serial: str
    access_key_id: str
    scp_id: str
    root_id: str
    permission_set_arn: str
    function_arn: str


@dataclass(frozen=True)
class SeededLab:
    """A moto server holding the lab of :func:`seed_lab` (shared by one test module)."""

    endpoint: str
    """moto's endpoint URL."""
    lab: Lab
    """Identifiers of the seeded resources."""


def session(access_key: str = FAKE_KEY, secret: str = FAKE_KEY) -> boto3.session.Session:
    """A session with fake credentials (moto accepts anything)."""
    return boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret, region_name=REGION)


def client(endpoint: str, service: str, region: str = REGION, sess: boto3.session.Session | None = None) -> Any:
    """A plain (unguarded) seeding client."""
    made = (sess or session()).client(service, endpoint_url=endpoint, region_name=region)  # type: ignore[call-overload]
    if service == "s3control":
        made.meta.events.register("before-sign.s3-control", strip_account_host_prefix)
    return made


def doc(*statements: dict[str, Any]) -> str:
    """A policy document with these statements."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def lambda_zip(source: str = "def handler(event, context):\n    return None\n") -> bytes:
    """A deployment package holding ``index.py`` (moto stores it; nothing runs)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.py", source)
    return buf.getvalue()


def moto_api(endpoint: str, path: str, payload: dict[str, Any] | None = None) -> Any:
    """POST to moto's control API (``reset``, ``config`` ...) and return the parsed answer."""
    data = json.dumps(payload).encode() if payload is not None else b""
    request = urllib.request.Request(f"{endpoint}/moto-api/{path}", method="POST", data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        body = resp.read()
    return json.loads(body) if body.strip().startswith(b"{") else None


AWS_MANAGED = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
"""AWS-managed policy attached to the serving role when moto loads them."""


def seed_buckets(endpoint: str, count: int, prefix: str = "bulk") -> list[str]:
    """``count`` empty buckets (for the benchmark)."""
    s3 = client(endpoint, "s3")
    names = [f"{prefix}-{i:05d}" for i in range(count)]
    for name in names:
        s3.create_bucket(Bucket=name)
    return names


def seed_lab(endpoint: str, *, aws_managed: bool = False) -> Lab:
    """Create the lab and return its identifiers (``aws_managed``: attach :data:`AWS_MANAGED`)."""
    kms = client(endpoint, "kms")
    key = kms.create_key(Description="weights", Tags=[{"TagKey": "asl:asset", "TagValue": "model-weights"}])
    key_id, key_arn = key["KeyMetadata"]["KeyId"], key["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/weights", TargetKeyId=key_id)
    kms.enable_key_rotation(KeyId=key_id)
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:role/serving",
                             Operations=["Decrypt"])
    asym = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]

    s3 = client(endpoint, "s3")
    weights, trail_bucket, plain = "weights-bucket", "trail-logs", "plain-bucket"
    s3.create_bucket(Bucket=weights)
    s3.put_bucket_tagging(Bucket=weights, Tagging={"TagSet": [WEIGHT_TAG]})
    s3.put_bucket_encryption(Bucket=weights, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
        "BucketKeyEnabled": True}]})
    s3.put_public_access_block(Bucket=weights, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_policy(Bucket=weights, Policy=doc({
        "Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{weights}", f"arn:aws:s3:::{weights}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))
    s3.put_bucket_versioning(Bucket=weights, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_ownership_controls(Bucket=weights, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    s3.create_bucket(Bucket=trail_bucket, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket=trail_bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 400}}})
    s3.put_bucket_acl(Bucket=trail_bucket, ACL="log-delivery-write")
    s3.put_bucket_logging(Bucket=weights, BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": trail_bucket, "TargetPrefix": "s3/"}})
    s3.create_bucket(Bucket=plain)
    client(endpoint, "s3control").put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": False})

    iam = client(endpoint, "iam")
    iam.create_group(GroupName="humans")
    iam.put_group_policy(GroupName="humans", PolicyName="read-logs", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "logs:Get*", "Resource": "*"}))
    stray = iam.create_policy(PolicyName="stray-read", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{weights}/*"}))["Policy"]["Arn"]
    iam.create_user(UserName="alice", Tags=[{"Key": "team", "Value": "research"}])
    iam.add_user_to_group(GroupName="humans", UserName="alice")
    iam.attach_user_policy(UserName="alice", PolicyArn=stray)
    iam.create_login_profile(UserName="alice", Password="Correct-Horse-9")
    access_key = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    mfa = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="alice", SerialNumber=mfa, AuthenticationCode1="123456",
                          AuthenticationCode2="654321")
    iam.create_user(UserName="bob")
    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))["Policy"]["Arn"]
    iam.create_role(RoleName="serving", MaxSessionDuration=7200, PermissionsBoundary=boundary,
                    AssumeRolePolicyDocument=doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                  "Action": "sts:AssumeRole"}),
                    Tags=[{"Key": "tier", "Value": "serving"}])
    iam.put_role_policy(RoleName="serving", PolicyName="read-weights", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["s3:GetObject", "kms:Decrypt"], "Resource": "*"}))
    if aws_managed:
        iam.attach_role_policy(RoleName="serving", PolicyArn=AWS_MANAGED)
    iam.create_instance_profile(InstanceProfileName="serving")
    iam.add_role_to_instance_profile(InstanceProfileName="serving", RoleName="serving")
    iam.create_role(RoleName="broker", AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/serving"},
         "Action": "sts:AssumeRole"}))
    fn_role = iam.create_role(RoleName="broker-fn", AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
         "Action": "sts:AssumeRole"}))["Role"]["Arn"]
    function_arn = client(endpoint, "lambda").create_function(
        FunctionName="broker", Runtime="python3.12", Role=fn_role, Handler="index.handler",
        Code={"ZipFile": lambda_zip()})["FunctionArn"]

    logs = client(endpoint, "logs")
    log_group = "/aslcheck/audit"
    logs.create_log_group(logGroupName=log_group, kmsKeyId=key_arn, tags={"purpose": "audit"})
    logs.put_retention_policy(logGroupName=log_group, retentionInDays=400)

    trail = client(endpoint, "cloudtrail")
    trail_arn = trail.create_trail(Name="org-trail", S3BucketName=trail_bucket, IsMultiRegionTrail=True,
                                   EnableLogFileValidation=True, KmsKeyId=key_arn)["TrailARN"]
    trail.start_logging(Name="org-trail")
    trail.put_event_selectors(TrailName="org-trail", AdvancedEventSelectors=[{"Name": "weights", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        {"Field": "resources.ARN", "StartsWith": [f"arn:aws:s3:::{weights}/"]}]}])
    trail.add_tags(ResourceId=trail_arn, TagsList=[{"Key": "owner", "Value": "security"}])

    client(endpoint, "cloudwatch").put_metric_alarm(
        AlarmName="egress", Namespace="AWS/EC2", MetricName="NetworkOut", Statistic="Sum", Period=3600,
        EvaluationPeriods=1, Threshold=1.5e9, ComparisonOperator="GreaterThanThreshold",
        Dimensions=[{"Name": "AutoScalingGroupName", "Value": "serving"}],
        AlarmActions=[f"arn:aws:sns:{REGION}:{ACCOUNT}:security"])

    ec2 = client(endpoint, "ec2")
    ec2.enable_ebs_encryption_by_default()
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [WEIGHT_TAG]}])["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    ec2.create_flow_logs(ResourceIds=[vpc], ResourceType="VPC", TrafficType="ALL", LogDestinationType="s3",
                         LogDestination=f"arn:aws:s3:::{trail_bucket}")
    sg = ec2.create_security_group(GroupName="weights", Description="weights", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    endpoint_id = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3", PolicyDocument=doc(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-example"}}}))["VpcEndpoint"]["VpcEndpointId"]
    # A registered image works whether or not moto loaded its default AMIs (the lab fixture
    # turns them off: they cost seconds per region and bring 1,300 foreign snapshots).
    image = ec2.register_image(Name="lab", RootDeviceName="/dev/xvda", BlockDeviceMappings=[
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}])["ImageId"]
    instance = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[sg],
        IamInstanceProfile={"Name": "serving"},
        MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"},
        TagSpecifications=[{"ResourceType": "instance", "Tags": [WEIGHT_TAG]}])["Instances"][0]["InstanceId"]
    volume = ec2.create_volume(Size=8, AvailabilityZone=f"{REGION}a", Encrypted=True, KmsKeyId=key_arn)["VolumeId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=instance, Device="/dev/sdf")
    snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    ec2.modify_snapshot_attribute(SnapshotId=snapshot, Attribute="createVolumePermission", OperationType="add",
                                  GroupNames=["all"], UserIds=["210987654321"])

    detector = client(endpoint, "guardduty").create_detector(Enable=True)["DetectorId"]

    org = client(endpoint, "organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    scp = org.create_policy(Name="deny-leave", Type="SERVICE_CONTROL_POLICY", Description="d", Content=doc(
        {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}))["Policy"]["PolicySummary"]
    org.attach_policy(PolicyId=scp["Id"], TargetId=root)

    sso = client(endpoint, "sso-admin")
    instance_arn = sso.list_instances()["Instances"][0]["InstanceArn"]
    ps = sso.create_permission_set(Name="research", InstanceArn=instance_arn, SessionDuration="PT8H")
    ps_arn = ps["PermissionSet"]["PermissionSetArn"]
    sso.put_inline_policy_to_permission_set(InstanceArn=instance_arn, PermissionSetArn=ps_arn, InlinePolicy=doc(
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}))
    sso.attach_managed_policy_to_permission_set(InstanceArn=instance_arn, PermissionSetArn=ps_arn,
                                                ManagedPolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    sso.create_account_assignment(InstanceArn=instance_arn, TargetId=ACCOUNT, TargetType="AWS_ACCOUNT",
                                  PermissionSetArn=ps_arn, PrincipalType="USER", PrincipalId="user-1")
    sso.provision_permission_set(InstanceArn=instance_arn, PermissionSetArn=ps_arn, TargetType="AWS_ACCOUNT",
                                 TargetId=ACCOUNT)

    return Lab(
        weight_key_arn=key_arn, weight_key_id=key_id, asym_key_arn=asym, grant_id=grant["GrantId"],
        weights_bucket=weights, trail_bucket=trail_bucket, plain_bucket=plain, trail_arn=trail_arn,
        vpc_id=vpc, subnet_id=subnet, igw_id=igw, sg_id=sg, endpoint_id=endpoint_id, instance_id=instance,
        volume_id=volume, snapshot_id=snapshot, detector_id=detector, log_group=log_group, mfa_serial=mfa,
        access_key_id=access_key, scp_id=scp["Id"], root_id=root, permission_set_arn=ps_arn,
        function_arn=function_arn,
    )
