"""aws.s3.weights_cmk_encryption: a CMK default passes only when the bucket refuses every upload
that names other encryption (SSE-S3, SSE-C, the aws/s3 key, another key)."""

from __future__ import annotations

from typing import Any

import pytest

from aslcheck.checks.interface import Status
from tests.checks.aws_network.netfix import ACCT, CMK, KEY_ARN, KEY_ID, REGION, res, run, snap

BUCKET = "weights-a"
OBJECTS = f"arn:aws:s3:::{BUCKET}/*"
SSE = "s3:x-amz-server-side-encryption"
KEY = "s3:x-amz-server-side-encryption-aws-kms-key-id"
SSE_C = "s3:x-amz-server-side-encryption-customer-algorithm"


def deny(condition: dict[str, Any], **over: Any) -> dict[str, Any]:
    stmt = {"Effect": "Deny", "Principal": "*", "Action": ["s3:PutObject"], "Resource": [OBJECTS],
            "Condition": condition}
    stmt.update(over)
    return stmt


WRONG_KEY = deny({"StringNotEquals": {KEY: KEY_ARN}})
NO_SSE_C = deny({"Null": {SSE_C: "false"}})
NO_AES = deny({"StringEquals": {SSE: "AES256"}})
KMS_WRONG_KEY = deny({"StringEquals": {SSE: ["aws:kms", "aws:kms:dsse"]},
                      "StringNotEquals": {KEY: KEY_ARN}})

CASES: list[tuple[str, list[dict[str, Any]] | None, list[str], Status]] = [
    ("no-policy", None, [], Status.FAIL),
    ("only-tls-deny", [deny({"Bool": {"aws:SecureTransport": "false"}}, Action=["s3:*"])], [], Status.FAIL),
    ("aes256-denied-only", [NO_AES, NO_SSE_C], [], Status.FAIL),
    ("not-kms-denied-only", [deny({"StringNotEquals": {SSE: "aws:kms"}})], [], Status.FAIL),
    # A negated key-ID condition is true when the header is absent: it refuses SSE-C too.
    ("key-deny-alone-refuses-sse-c-too", [WRONG_KEY], [], Status.PASS),
    ("key-deny-lets-another-key-through", [deny({"StringNotEquals": {KEY: [KEY_ARN, "arn:aws:kms:"
                                                  f"{REGION}:{ACCT}:key/other"]}}), NO_SSE_C], [], Status.FAIL),
    ("key-deny-lets-an-alias-name-through", [deny({"StringNotEquals": {KEY: [KEY_ARN, "alias/weights"]}}),
                                             NO_SSE_C], [], Status.FAIL),
    ("deny-narrowed-to-outside-the-endpoint", [deny({"StringNotEquals": {KEY: KEY_ARN,
                                                                         "aws:SourceVpce": "vpce-1"}}),
                                               NO_SSE_C], [], Status.FAIL),
    ("deny-for-one-principal", [deny({"StringNotEquals": {KEY: KEY_ARN}},
                                     Principal={"AWS": f"arn:aws:iam::{ACCT}:role/writer"}), NO_SSE_C],
     [], Status.FAIL),
    ("deny-with-not-principal", [{**deny({"StringNotEquals": {KEY: KEY_ARN}}),
                                  "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCT}:role/x"}}, NO_SSE_C],
     [], Status.FAIL),
    ("deny-on-one-prefix", [deny({"StringNotEquals": {KEY: KEY_ARN}},
                                 Resource=[f"arn:aws:s3:::{BUCKET}/models/*"]), NO_SSE_C], [], Status.FAIL),
    ("deny-on-the-wrong-action", [deny({"StringNotEquals": {KEY: KEY_ARN}}, Action=["s3:PutObjectAcl"]),
                                  NO_SSE_C], [], Status.FAIL),
    ("allow-only-with-header", [{"Effect": "Allow", "Principal": "*", "Action": ["s3:PutObject"],
                                 "Resource": [OBJECTS], "Condition": {"StringEquals": {KEY: KEY_ARN}}}],
     [], Status.FAIL),
    ("key-wildcard", [deny({"StringNotLike": {KEY: f"arn:aws:kms:*:{ACCT}:key/*"}}), NO_SSE_C], [],
     Status.ERROR),
    ("key-deny-and-sse-c-deny", [WRONG_KEY, NO_SSE_C], [], Status.PASS),
    ("key-deny-if-exists", [deny({"StringNotEqualsIfExists": {KEY: KEY_ARN}}), NO_SSE_C], [], Status.PASS),
    ("header-friendly-with-blocked-sse-c", [NO_AES, KMS_WRONG_KEY], ["SSE-C"], Status.PASS),
    ("header-friendly-without-sse-c-block", [NO_AES, KMS_WRONG_KEY], [], Status.FAIL),
    ("put-star-action", [deny({"StringNotEquals": {KEY: KEY_ARN}}, Action=["s3:Put*"]), NO_SSE_C], [],
     Status.PASS),
    ("not-action-deny", [{**{k: v for k, v in WRONG_KEY.items() if k != "Action"},
                          "NotAction": ["s3:GetObject"]}, NO_SSE_C], [], Status.PASS),
    ("key-id-form", [deny({"StringNotEquals": {KEY: [KEY_ARN, KEY_ID]}}), NO_SSE_C], [], Status.PASS),
]


def _bucket(statements: list[dict[str, Any]] | None, blocked: list[str]) -> Any:
    doc = None if statements is None else {"Version": "2012-10-17", "Statement": statements}
    return res("aws.s3.bucket", f"arn:aws:s3:::{BUCKET}", {
        "name": BUCKET, "region": REGION, "policy": doc,
        "encryption": {"algorithm": "aws:kms", "kms_key_id": KEY_ARN, "bucket_key_enabled": True,
                       "explicit": True, "blocked_encryption_types": blocked}}, weights=True)


KEY_RES = res("aws.kms.key", KEY_ARN, {"key_id": KEY_ID, "key_manager": "CUSTOMER",
                                        "key_state": "Enabled", "aliases": ["alias/weights"]})


@pytest.mark.parametrize(("name", "statements", "blocked", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_uploads_under_other_encryption_are_refused(name: str, statements: list[dict[str, Any]] | None,
                                                    blocked: list[str], expected: Status) -> None:
    got = run(CMK, snap(_bucket(statements, blocked), KEY_RES))[f"arn:aws:s3:::{BUCKET}"]
    assert got.status is expected, got.reason
    if expected is Status.PASS:
        assert set(got.evidence["uploads"].values()) - {"not refused"} == set(got.evidence["uploads"].values())


def test_the_missing_shape_is_named() -> None:
    got = run(CMK, snap(_bucket([NO_AES, NO_SSE_C], []), KEY_RES))[f"arn:aws:s3:::{BUCKET}"]
    assert "aws:kms without a key ID (the AWS-managed aws/s3 key)" in got.reason
    assert "SSE-S3" not in got.reason.split("not refused:")[1]


def test_policy_not_collected_is_an_error() -> None:
    bucket = _bucket([WRONG_KEY, NO_SSE_C], [])
    attrs = {k: v for k, v in bucket.attributes.items() if k != "policy"}
    blind = res("aws.s3.bucket", bucket.id, attrs, weights=True)
    assert run(CMK, snap(blind, KEY_RES))[bucket.id].status is Status.ERROR
