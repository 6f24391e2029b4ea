"""aws.s3.weights_cmk_encryption on the real moto server: a weight bucket with a customer-managed
default key passes only when its policy refuses uploads naming other encryption."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from awsfake import RecordingProxy
from awsseed import WEIGHT_TAG, client, moto_api

from aslcheck.checks.interface import Status
from tests.checks.aws_network.netfix import CMK, collect_live, run

SSE = "s3:x-amz-server-side-encryption"
KEY = "s3:x-amz-server-side-encryption-aws-kms-key-id"
SSE_C = "s3:x-amz-server-side-encryption-customer-algorithm"


def _deny(bucket: str, condition: dict[str, Any], **over: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*", "Condition": condition, **over}


def _policies(key: str) -> dict[str, tuple[list[Any] | None, Status]]:
    no_sse_c = {"Null": {SSE_C: "false"}}
    return {
        "no-policy": (None, Status.FAIL),
        "aes256-only": ([lambda b: _deny(b, {"StringEquals": {SSE: "AES256"}})], Status.FAIL),
        "not-kms-only": ([lambda b: _deny(b, {"StringNotEquals": {SSE: "aws:kms"}})], Status.FAIL),
        "key-deny-outside-endpoint": ([lambda b: _deny(b, {"StringNotEquals": {
            KEY: key, "aws:SourceVpce": "vpce-0123"}}), lambda b: _deny(b, no_sse_c)], Status.FAIL),
        "header-friendly-sse-c-open": ([
            lambda b: _deny(b, {"StringEquals": {SSE: "AES256"}}),
            lambda b: _deny(b, {"StringEquals": {SSE: ["aws:kms", "aws:kms:dsse"]},
                                "StringNotEquals": {KEY: key}})], Status.FAIL),
        "refuses-everything-else": ([lambda b: _deny(b, {"StringNotEquals": {KEY: key}}),
                                     lambda b: _deny(b, no_sse_c)], Status.PASS),
        "header-friendly-and-sse-c-denied": ([
            lambda b: _deny(b, {"StringEquals": {SSE: "AES256"}}),
            lambda b: _deny(b, {"StringEquals": {SSE: ["aws:kms", "aws:kms:dsse"]},
                                "StringNotEquals": {KEY: key}}),
            lambda b: _deny(b, no_sse_c)], Status.PASS),
    }


@dataclass(frozen=True)
class Lab:
    url: str
    expected: dict[str, Status]


def _seed(url: str) -> Lab:
    kms, s3 = client(url, "kms"), client(url, "s3")
    key = kms.create_key(Description="weights")["KeyMetadata"]["Arn"]
    expected = {}
    for name, (builders, status) in _policies(key).items():
        bucket = f"weights-{name}"
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [WEIGHT_TAG]})
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
        if builders is not None:
            s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
                "Version": "2012-10-17", "Statement": [b(bucket) for b in builders]}))
        expected[f"arn:aws:s3:::{bucket}"] = status
    return Lab(url, expected)


@pytest.fixture(scope="module")
def lab(moto_server: Any) -> Iterator[Lab]:
    host, port = moto_server.get_host_and_port()
    url = f"http://{host}:{port}"
    moto_api(url, "reset")
    yield _seed(url)
    moto_api(url, "reset")


def test_default_key_passes_only_with_uploads_refused(lab: Lab) -> None:
    snapshot = collect_live(lab.url, [CMK])
    assert not snapshot.errors, [e.to_json() for e in snapshot.errors]
    got = run(CMK, snapshot)
    assert {k: f.status for k, f in got.items()} == lab.expected, {k: f.reason for k, f in got.items()}


def test_denied_bucket_policy_read_is_an_error(lab: Lab, moto_server: Any) -> None:
    host, port = moto_server.get_host_and_port()
    proxy = RecordingProxy(host, port).start()
    try:
        proxy.fault("s3:GetBucketPolicy", 403, "AccessDenied")
        snapshot = collect_live(proxy.url, [CMK])
    finally:
        proxy.stop()
    got = run(CMK, snapshot)
    # Without the policy no bucket can be judged, including the one that refuses everything.
    assert {f.status for f in got.values()} == {Status.ERROR}
    assert "bucket policy not collected" in got["arn:aws:s3:::weights-refuses-everything-else"].reason
