"""Pure conversions of the AWS collector (no server)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from aslcheck.inventories.aws.context import error_code
from aslcheck.inventories.aws.iam_account import parse_report, root_keys_present
from aslcheck.inventories.aws.normalise import (
    UnexpectedShape,
    as_int,
    optional_policy,
    policy_document,
    rfc3339,
    tag_list,
)
from aslcheck.inventories.aws.s3 import public_access_block
from aslcheck.inventories.aws.sso import duration_seconds


@pytest.mark.parametrize(
    "raw",
    [
        '{"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Principal": "*"}}',
        "%7B%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C"
        "%22Resource%22%3A%22%2A%22%2C%22Principal%22%3A%22%2A%22%7D%7D",
        {"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"], "Principal": "*"}]},
    ],
)
def test_policy_documents_are_normalised(raw: object) -> None:
    doc = policy_document(raw)
    assert doc["Statement"] == [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"], "Principal": "*"}]


def test_policy_keeps_principal_and_condition_shapes() -> None:
    doc = policy_document({"Statement": {"Effect": "Deny", "NotAction": "kms:*", "NotResource": "arn:x",
                                         "NotPrincipal": {"AWS": "arn:aws:iam::1:root"},
                                         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}})
    (stmt,) = doc["Statement"]
    assert stmt["NotAction"] == ["kms:*"] and stmt["NotResource"] == ["arn:x"]
    assert stmt["NotPrincipal"] == {"AWS": "arn:aws:iam::1:root"}
    assert stmt["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("raw", ["not json", "[1]", '{"Statement": 3}', '{"Statement": [{"Condition": 1.5}]}'])
def test_bad_policy_documents_are_unexpected_shapes(raw: str) -> None:
    with pytest.raises(UnexpectedShape):
        policy_document(raw)


def test_optional_policy() -> None:
    assert optional_policy(None) is None and optional_policy("  ") is None
    assert optional_policy('{"Statement": []}') == {"Statement": []}


def test_times_are_rfc3339_utc() -> None:
    assert rfc3339(datetime(2024, 5, 1, 12, 0, 1, 999, tzinfo=timezone(timedelta(hours=2)))) == "2024-05-01T10:00:01Z"
    assert rfc3339(datetime(2024, 5, 1, 12, 0, 1)) == "2024-05-01T12:00:01Z"
    assert rfc3339("2024-05-01T12:00:01.5Z") == "2024-05-01T12:00:01Z"
    with pytest.raises(UnexpectedShape):
        rfc3339(17)


def test_numbers_and_tags() -> None:
    assert as_int(1.5e9) == 1_500_000_000 and as_int(2.9) == 2 and as_int("7") == 7
    with pytest.raises(UnexpectedShape):
        as_int(True)
    assert tag_list([{"TagKey": "a", "TagValue": "b"}], "TagKey", "TagValue") == {"a": "b"}
    assert tag_list(None) == {}


def test_missing_public_access_block_flags_count_as_off() -> None:
    assert public_access_block({"BlockPublicAcls": True}) == {
        "block_public_acls": True, "ignore_public_acls": False, "block_public_policy": False,
        "restrict_public_buckets": False}


def test_iso_durations() -> None:
    assert duration_seconds("PT8H") == 28800
    assert duration_seconds("PT1H30M") == 5400
    assert duration_seconds("P1DT1S") == 86401
    for bad in ("PT", "8H", "PT1.5H"):
        with pytest.raises(ValueError, match="duration"):
            duration_seconds(bad)


def test_credential_report_rows() -> None:
    header = ("user,arn,user_creation_time,password_enabled,mfa_active,access_key_1_active,"
              "access_key_1_last_rotated,access_key_1_last_used_date,access_key_2_active,"
              "access_key_2_last_rotated,access_key_2_last_used_date\n")
    root = "<root_account>,arn:aws:iam::1:root,t,not_supported,true,false,N/A,N/A,true,2024-01-01,N/A\n"
    rows = parse_report((header + root + "alice,arn:aws:iam::1:user/alice,t,true,false,true,x,y,false,N/A,N/A\n")
                        .encode())
    assert rows[1]["user"] == "alice" and rows[1]["password_enabled"] == "true"
    assert root_keys_present(rows) is True
    assert root_keys_present(rows[1:]) is None
    with pytest.raises(ValueError, match="root"):
        root_keys_present([rows[0], rows[0]])


def test_error_codes() -> None:
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetBucketPolicy")
    html = ClientError({"Error": {"Code": "500", "Message": "<html>"},
                        "ResponseMetadata": {"HTTPStatusCode": 500}}, "GetEbsDefaultKmsKeyId")
    assert error_code(denied) == "AccessDenied"
    assert error_code(html) == "HTTP500"
    assert error_code(ReadTimeoutError(endpoint_url="http://x")) == "ReadTimeout"
