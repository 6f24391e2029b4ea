"""Escalation paths and hidden principals on a real moto server, through the real collector (issue 10).

A lab seeded over HTTP holds the shapes the evaluator must follow from collected data:
instance profiles (a human with SSM or Instance Connect on the serving instance, or with
``iam:PassRole`` plus ``ec2:RunInstances``), Lambda functions (a human who can change the broker
function's code acts as the broker principal), a federation token that sidesteps a Deny naming
its user, and a trust policy naming an account that was not scanned. Each is asserted on the
finding's evidence (the route is reported). The lab is seeded once for the module; tests only
read it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from awsseed import ACCOUNT, FAKE_KEY, FAST, REGION, WEIGHT_TAG, client, lambda_zip, moto_api

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.interface import CheckContext, Finding, Status
from aslcheck.controls.config import PARAM_SPECS, Access, Config, Scope
from aslcheck.inventories.aws import AwsCollector, build_session_factory
from aslcheck.inventories.interface import CollectionRequest
from aslcheck.inventories.snapshot import Snapshot

REGISTRY = default_registry()
ACCESS = ("aws.iam.no_standing_human_weight_access", "aws.iam.weights_effective_access_within_roster",
          "aws.iam.weight_reader_role_trust")
KINDS = frozenset(k for c in ACCESS for k in REGISTRY.get(c).kinds)
PARTNER = "999988887777"
WEIGHTS, FEDERATED = "live-weights", "live-weights-fed"


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(actions: str | list[str], resources: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def _trust(principal: dict[str, Any]) -> str:
    return _doc({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})


def seed(endpoint: str) -> dict[str, str]:
    """The access lab; returns the identifiers the tests assert on."""
    s3, iam, ec2 = client(endpoint, "s3"), client(endpoint, "iam"), client(endpoint, "ec2")
    for name in (WEIGHTS, FEDERATED):
        s3.create_bucket(Bucket=name)
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [WEIGHT_TAG]})
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={
            "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    s3.put_bucket_policy(Bucket=FEDERATED, Policy=_doc({
        "Sid": "NotFed", "Effect": "Deny", "Principal": {"AWS": _arn("user", "fed")}, "Action": "s3:*",
        "Resource": f"arn:aws:s3:::{FEDERATED}/*"}))
    read = _doc(_allow("s3:GetObject*", [f"arn:aws:s3:::{WEIGHTS}/*", f"arn:aws:s3:::{FEDERATED}/*"]))
    iam.create_role(RoleName="serving", AssumeRolePolicyDocument=_trust({"Service": "ec2.amazonaws.com"}))
    iam.put_role_policy(RoleName="serving", PolicyName="read", PolicyDocument=read)
    iam.create_instance_profile(InstanceProfileName="serving")
    iam.add_role_to_instance_profile(InstanceProfileName="serving", RoleName="serving")
    iam.create_role(RoleName="broker-fn", AssumeRolePolicyDocument=_trust({"Service": "lambda.amazonaws.com"}))
    iam.put_role_policy(RoleName="broker-fn", PolicyName="issue", PolicyDocument=_doc(
        _allow("sts:AssumeRole", _arn("role", "weights-broker"))))
    iam.create_role(RoleName="weights-broker", AssumeRolePolicyDocument=_trust({"AWS": _arn("role", "broker-fn")}))
    iam.put_role_policy(RoleName="weights-broker", PolicyName="read", PolicyDocument=read)
    iam.create_role(RoleName="partner-reader", AssumeRolePolicyDocument=_trust({"AWS": f"arn:aws:iam::{PARTNER}:root"}))
    iam.put_role_policy(RoleName="partner-reader", PolicyName="read", PolicyDocument=_doc(
        _allow("s3:GetObject", f"arn:aws:s3:::{FEDERATED}/*")))
    fn = client(endpoint, "lambda").create_function(
        FunctionName="broker", Runtime="python3.12", Role=_arn("role", "broker-fn"), Handler="index.handler",
        Code={"ZipFile": lambda_zip()})["FunctionArn"]
    image = ec2.register_image(Name="access-lab", RootDeviceName="/dev/xvda", BlockDeviceMappings=[
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}])["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                 IamInstanceProfile={"Name": "serving"})["Instances"][0]["InstanceId"]
    inst_arn = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance}"
    humans = {
        "ssm-op": _allow("ssm:StartSession", inst_arn),
        "cmd-op": _allow("ssm:SendCommand", f"arn:aws:ec2:*:{ACCOUNT}:instance/*"),
        "ssh-op": _allow("ec2-instance-connect:SendSSHPublicKey", inst_arn),
        "launcher": _allow(["iam:PassRole", "ec2:RunInstances"]),
        "codeop": _allow("lambda:UpdateFunctionCode", fn),
        "fed": _allow(["s3:GetObject*", "sts:GetFederationToken"]),
        "harmless": _allow("ec2:Describe*"),
    }
    for name, statement in humans.items():
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=_doc(statement))
    return {"function": fn, "instance": inst_arn}


@pytest.fixture(scope="module")
def access_lab(moto_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    host, port = moto_server.get_host_and_port()
    url = f"http://{host}:{port}"
    tmp = tmp_path_factory.mktemp("access")
    with pytest.MonkeyPatch.context() as mp:
        # As conftest's isolation: no real AWS configuration or credentials.
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            mp.delenv(name, raising=False)
        for name, value in (("AWS_ACCESS_KEY_ID", FAKE_KEY), ("AWS_SECRET_ACCESS_KEY", FAKE_KEY),
                            ("AWS_DEFAULT_REGION", REGION), ("AWS_CONFIG_FILE", str(tmp / "config")),
                            ("AWS_SHARED_CREDENTIALS_FILE", str(tmp / "credentials")),
                            ("AWS_EC2_METADATA_DISABLED", "true"), ("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")):
            mp.setenv(name, value)
        moto_api(url, "reset")
        ids = seed(url)
        yield url, ids
        moto_api(url, "reset")


def config(roster: tuple[str, ...]) -> Config:
    values = {n: s.default for n, s in PARAM_SPECS.items()}
    values["max_session_seconds"] = 3600
    return Config(scope=Scope(weight_tags={"asl:asset": "model-weights"}, aws=True),
                  access=Access(roster=roster, broker_roles=(_arn("role", "weights-broker"),),
                                broker_principals=(_arn("role", "broker-fn"),),
                                human_patterns=(f"arn:aws:iam::{ACCOUNT}:user/*",)),
                  parameters=values)


ROSTER = (_arn("role", "serving"), _arn("role", "weights-broker"), _arn("role", "broker-fn"),
          f"arn:aws:iam::{ACCOUNT}:root")


def _findings(snapshot: Snapshot, check: str, cfg: Config) -> list[Finding]:
    return list(REGISTRY.get(check).evaluate(CheckContext(snapshot=snapshot, config=cfg, resources=())))


@pytest.fixture(scope="module")
def live(access_lab: tuple[str, dict[str, str]], aws_collector_module: Callable[..., AwsCollector]) -> Snapshot:
    url, _ = access_lab
    return aws_collector_module(url).collect(CollectionRequest(kinds=KINDS, config=config(ROSTER)))


@pytest.fixture(scope="module")
def aws_collector_module() -> Callable[..., AwsCollector]:
    def make(endpoint: str, **kwargs: Any) -> AwsCollector:
        factory = build_session_factory(region="us-east-1", access_key_id=FAKE_KEY, secret_access_key=FAKE_KEY)
        return AwsCollector(factory, endpoint_url=endpoint, regions=["us-east-1"], settings=FAST, max_workers=4,
                            **kwargs)

    return make


def _offending(f: Finding) -> dict[str, dict[str, Any]]:
    return {p["principal"]: p for p in f.evidence["offending"]}


def test_collector_reads_the_compute_the_paths_run_through(live: Snapshot, access_lab: tuple[str, dict[str, str]]
                                                           ) -> None:
    _, ids = access_lab
    assert not live.errors, live.errors
    (fn,) = live.of_kind("aws.lambda.function")
    assert fn.id == ids["function"] and fn.attributes["role"] == _arn("role", "broker-fn")
    (inst,) = live.of_kind("aws.ec2.instance")
    assert inst.attributes["instance_profile"].endswith(":instance-profile/serving")
    serving = next(r for r in live.of_kind("aws.iam.role") if r.id == _arn("role", "serving"))
    assert serving.attributes["instance_profiles"] == [inst.attributes["instance_profile"]]


@pytest.mark.parametrize(("user", "route"), [
    ("ssm-op", "ssm:StartSession"),
    ("cmd-op", "ssm:SendCommand"),
    ("ssh-op", "ec2-instance-connect:SendSSHPublicKey"),
    ("launcher", "iam:PassRole + ec2:RunInstances"),
])
def test_people_who_can_act_as_the_serving_role_are_standing_readers(live: Snapshot, user: str, route: str) -> None:
    (f,) = [f for f in _findings(live, ACCESS[0], config(ROSTER)) if f.resource == f"arn:aws:s3:::{WEIGHTS}"]
    assert f.status is Status.FAIL
    path = _offending(f)[_arn("user", user)]
    assert not path["conditional"] and path["via"] == [_arn("role", "serving")]
    assert route in " ".join(path["steps"])
    assert _arn("user", "harmless") not in _offending(f)


def test_who_can_change_the_broker_functions_code_acts_as_the_broker(live: Snapshot) -> None:
    (f,) = [f for f in _findings(live, ACCESS[0], config(ROSTER)) if f.resource == f"arn:aws:s3:::{WEIGHTS}"]
    path = _offending(f)[_arn("user", "codeop")]
    assert "lambda:UpdateFunctionCode" in " ".join(path["steps"])
    assert _arn("role", "broker-fn") in path["via"]


def test_federation_token_and_unscanned_account_read_past_the_roster(live: Snapshot) -> None:
    (f,) = [f for f in _findings(live, ACCESS[1], config(ROSTER)) if f.resource == f"arn:aws:s3:::{FEDERATED}"]
    assert f.status is Status.FAIL
    off = _offending(f)
    fed = off[_arn("user", "fed")]
    assert "sts:GetFederationToken" in " ".join(fed["steps"]) and not fed["conditional"]
    partner = off[f"arn:aws:iam::{PARTNER}:root"]
    assert partner["principal_kind"] == "external_account" and partner["via"] == [_arn("role", "partner-reader")]


def test_every_reader_role_faces_the_two_party_check(live: Snapshot) -> None:
    got = {f.resource: f.status for f in _findings(live, ACCESS[2], config(ROSTER)) if f.kind == "aws.iam.role"}
    assert got[_arn("role", "partner-reader")] is Status.FAIL  # trusts another account's root
    assert got[_arn("role", "serving")] is Status.PASS  # EC2: its entry points are followed
    assert got[_arn("role", "weights-broker")] is Status.PASS  # trusts the broker principal only

