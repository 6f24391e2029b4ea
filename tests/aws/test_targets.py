"""Targets: write refusal, unreachable endpoints, region discovery, organisation-wide scans.

Each test starts from a freshly reset moto (``moto_endpoint``/``aws_proxy``).
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import boto3
import pytest
from awsfake import RecordingProxy, SilentServer
from awsseed import ACCOUNT, FAKE_KEY, client

from aslcheck.controls.config import Config
from aslcheck.inventories.aws import (
    ALL_KINDS,
    AwsCollector,
    ClientSettings,
    ReadOnlyViolation,
    build_session_factory,
)
from aslcheck.inventories.interface import CollectionRequest, InventoryError
from aslcheck.inventories.snapshot import Snapshot

ROLE = "OrganizationAccountAccessRole"


def _collect(collector: AwsCollector, kinds: set[str], *, deep: bool = False) -> Snapshot:
    return collector.collect(CollectionRequest(kinds=frozenset(kinds), config=Config(), deep=deep))


def test_write_call_raises_before_sending(aws_proxy: RecordingProxy,
                                          aws_collector: Callable[..., AwsCollector]) -> None:
    pool = aws_collector(aws_proxy.url).client_pool()
    s3 = pool.client("s3", "us-east-1")
    with pytest.raises(ReadOnlyViolation, match="s3:CreateBucket"):
        s3.create_bucket(Bucket="should-not-exist")
    with pytest.raises(ReadOnlyViolation, match="iam:ListUsers"):
        # A read that is not on the allowlist is refused too, also through a paginator.
        list(pool.client("iam", "us-east-1").get_paginator("list_users").paginate())
    assert aws_proxy.records == []
    assert s3.list_buckets()["Buckets"] == []
    assert aws_proxy.operations() == ["s3:ListBuckets"]


def test_silent_endpoint_times_out_into_errors_for_every_kind() -> None:
    settings = ClientSettings(max_attempts=0, connect_timeout=1.0, read_timeout=0.3)
    factory = build_session_factory(region="us-east-1", access_key_id=FAKE_KEY, secret_access_key=FAKE_KEY)
    with SilentServer() as silent:
        snap = _collect(AwsCollector(factory, endpoint_url=silent.url, settings=settings), set(ALL_KINDS))
    assert snap.resources == ()
    assert snap.runs[0].kinds == ()
    assert {e.kind for e in snap.errors} == ALL_KINDS
    assert {(e.operation, e.code) for e in snap.errors} == {("sts:GetCallerIdentity", "ReadTimeout")}


def test_refused_connection_is_an_error(moto_endpoint: str) -> None:
    with socket.socket() as sock:  # a port nothing listens on any more
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    factory = build_session_factory(region="us-east-1", access_key_id=FAKE_KEY, secret_access_key=FAKE_KEY)
    settings = ClientSettings(max_attempts=0, connect_timeout=0.5, read_timeout=0.5)
    snap = _collect(AwsCollector(factory, endpoint_url=url, settings=settings), {"aws.kms.key"})
    (err,) = snap.errors
    assert (err.code, err.kind) == ("EndpointConnectionError", "aws.kms.key")


def test_regions_default_to_the_enabled_ones(aws_proxy: RecordingProxy,
                                             aws_collector: Callable[..., AwsCollector]) -> None:
    snap = _collect(aws_collector(aws_proxy.url, regions=None), {"aws.guardduty.region"})
    enabled = {r["RegionName"] for r in client(aws_proxy.url, "ec2").describe_regions()["Regions"]
               if r.get("OptInStatus") != "not-opted-in"}
    assert aws_proxy.operations().count("ec2:DescribeRegions") == 2  # the collector's and ours
    assert {r.region for r in snap.of_kind("aws.guardduty.region")} == enabled
    assert set(snap.runs[0].targets) == {f"{ACCOUNT}/{r}" for r in enabled}
    assert snap.errors == ()


def test_region_discovery_failure_spares_global_kinds(aws_proxy: RecordingProxy,
                                                      aws_collector: Callable[..., AwsCollector]) -> None:
    aws_proxy.fault("ec2:DescribeRegions", 403, "UnauthorizedOperation")
    snap = _collect(aws_collector(aws_proxy.url, regions=None), {"aws.kms.key", "aws.s3.account_settings"})
    (err,) = snap.errors
    assert (err.operation, err.kind, err.resource) == ("ec2:DescribeRegions", "aws.kms.key", None)
    assert snap.runs[0].kinds == ("aws.s3.account_settings",)
    assert snap.of_kind("aws.s3.account_settings")


def test_no_requested_kind_sends_nothing(aws_proxy: RecordingProxy,
                                         aws_collector: Callable[..., AwsCollector]) -> None:
    snap = _collect(aws_collector(aws_proxy.url), {"host.weight_path"})
    assert aws_proxy.records == []
    assert snap.resources == () and snap.runs[0].kinds == ()


def test_skipped_operation_leaves_attribute_absent_without_error(
        aws_proxy: RecordingProxy, moto_endpoint: str, aws_collector: Callable[..., AwsCollector]) -> None:
    client(moto_endpoint, "s3").create_bucket(Bucket="some-bucket")
    # deep: with Config() no bucket can hold weights, and a shallow one is never read in detail
    snap = _collect(aws_collector(aws_proxy.url, skip_operations={"s3:GetBucketPolicyStatus"}), {"aws.s3.bucket"},
                    deep=True)
    (bucket,) = snap.of_kind("aws.s3.bucket")
    assert "policy_status_public" not in bucket.attributes and "policy" in bucket.attributes
    assert snap.errors == ()
    assert "s3:GetBucketPolicyStatus" not in aws_proxy.operations()


def test_a_crashing_task_becomes_errors(aws_proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch,
                                        aws_collector: Callable[..., AwsCollector]) -> None:
    from aslcheck.inventories.aws import guardduty

    def boom(target: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(guardduty, "_collect", boom)
    snap = _collect(aws_collector(aws_proxy.url), {"aws.guardduty.region", "aws.s3.account_settings"})
    (err,) = snap.errors
    assert (err.code, err.kind, err.account, err.region) == ("CollectorFailure", "aws.guardduty.region",
                                                             ACCOUNT, "us-east-1")
    assert snap.runs[0].kinds == ("aws.s3.account_settings",)


def test_organisation_scan_needs_a_role() -> None:
    with pytest.raises(InventoryError, match="assume-role"):
        AwsCollector(build_session_factory(), organization=True)


def _member_session(endpoint: str, member: str) -> boto3.session.Session:
    sts = client(endpoint, "sts")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{member}:role/{ROLE}", RoleSessionName="seed")["Credentials"]
    return boto3.session.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                                 aws_session_token=creds["SessionToken"], region_name="us-east-1")


def _organisation(endpoint: str) -> str:
    org = client(endpoint, "organizations")
    org.create_organization(FeatureSet="ALL")
    member = str(org.create_account(AccountName="research", Email="r@example.com")["CreateAccountStatus"]["AccountId"])
    client(endpoint, "s3").create_bucket(Bucket="management-bucket")
    client(endpoint, "s3", sess=_member_session(endpoint, member)).create_bucket(Bucket="member-bucket")
    return member


def test_organisation_scan_enters_every_member(aws_proxy: RecordingProxy, moto_endpoint: str,
                                               aws_collector: Callable[..., AwsCollector]) -> None:
    member = _organisation(moto_endpoint)
    snap = _collect(aws_collector(aws_proxy.url, organization=True, assume_role=ROLE),
                    {"aws.s3.bucket", "aws.organizations.account", "aws.kms.key"})
    assert snap.errors == ()
    assert {(r.id, r.account) for r in snap.of_kind("aws.s3.bucket")} == {
        ("arn:aws:s3:::management-bucket", ACCOUNT), ("arn:aws:s3:::member-bucket", member)}
    # Organizations is read once, from the management account.
    assert {r.account for r in snap.of_kind("aws.organizations.account")} == {ACCOUNT}
    assert {r.attributes["account_id"] for r in snap.of_kind("aws.organizations.account")} == {ACCOUNT, member}
    assert set(snap.runs[0].targets) == {f"{ACCOUNT}/us-east-1", f"{member}/us-east-1"}
    assert set(snap.runs[0].kinds) == {"aws.s3.bucket", "aws.organizations.account", "aws.kms.key"}
    ops = aws_proxy.operations()
    assert ops.count("sts:AssumeRole") == 1 and ops.count("organizations:ListAccounts") == 1


def test_member_that_cannot_be_entered_is_an_error_per_kind(aws_proxy: RecordingProxy, moto_endpoint: str,
                                                            aws_collector: Callable[..., AwsCollector]) -> None:
    member = _organisation(moto_endpoint)
    aws_proxy.fault("sts:AssumeRole", 403, "AccessDenied")
    snap = _collect(aws_collector(aws_proxy.url, organization=True, assume_role=ROLE),
                    {"aws.s3.bucket", "aws.kms.key"})
    assert {(e.operation, e.code, e.account, e.kind) for e in snap.errors} == {
        ("sts:AssumeRole", "AccessDenied", member, "aws.s3.bucket"),
        ("sts:AssumeRole", "AccessDenied", member, "aws.kms.key")}
    assert [r.id for r in snap.of_kind("aws.s3.bucket")] == ["arn:aws:s3:::management-bucket"]
    assert snap.runs[0].kinds == ()  # neither kind was listed in every account


def test_organisation_listing_denied(aws_proxy: RecordingProxy, moto_endpoint: str,
                                     aws_collector: Callable[..., AwsCollector]) -> None:
    _organisation(moto_endpoint)
    aws_proxy.fault("organizations:ListAccounts", 400, "AccessDeniedException")
    snap = _collect(aws_collector(aws_proxy.url, organization=True, assume_role=ROLE), {"aws.s3.bucket"})
    (err,) = snap.errors
    assert (err.operation, err.code, err.kind, err.account) == (
        "organizations:ListAccounts", "AccessDeniedException", "aws.s3.bucket", ACCOUNT)
    assert snap.resources == () and snap.runs[0].kinds == ()
