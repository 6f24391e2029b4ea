"""IAM account-level facts: the account summary and the credential report."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Mapping
from typing import Any

from aslcheck.inventories.aws.context import Feeds, NotConfigured, Outcome, Reader, Target
from aslcheck.inventories.aws.normalise import as_int
from aslcheck.inventories.snapshot import Resource

ACCOUNT = "aws.iam.account"
OPERATIONS = frozenset(
    {"iam:GetAccountSummary", "iam:GenerateCredentialReport", "iam:GetCredentialReport"}
)
_REPORT = frozenset({"credential_report", "root_access_keys_present"})
FEEDS: Feeds = {
    # The summary's AccountAccessKeysPresent stands in for a report without a root row.
    "iam:GetAccountSummary": {ACCOUNT: frozenset({"summary", "account_mfa_enabled",
                                                  "root_access_keys_present"})},
    "iam:GenerateCredentialReport": {ACCOUNT: _REPORT},
    "iam:GetCredentialReport": {ACCOUNT: _REPORT},
}

REPORT_FIELDS = (
    "user",
    "arn",
    "password_enabled",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
)
"""Credential-report columns kept in ``credential_report`` rows (strings as in the report)."""

ROOT_ROW = "<root_account>"
_PENDING = ("ReportInProgress", "ReportNotPresent", "ReportExpired")


def _summary(answer: Mapping[str, Any]) -> dict[str, int]:
    return {str(k): as_int(v) for k, v in answer["SummaryMap"].items()}


def parse_report(content: bytes | str) -> list[dict[str, str]]:
    """The kept columns of every credential-report row."""
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        raise ValueError("credential report has no rows")
    return [{name: str(row[name]) for name in REPORT_FIELDS} for row in rows]


def _report_rows(answer: Mapping[str, Any]) -> list[dict[str, str]]:
    return parse_report(answer["Content"])


def root_keys_present(rows: list[dict[str, str]]) -> bool | None:
    """Whether the root user has an active access key (``None``: the report has no root row)."""
    root = [r for r in rows if r["user"] == ROOT_ROW]
    if len(root) > 1:
        raise ValueError("credential report has several root rows")
    if not root:
        return None
    return "true" in (root[0]["access_key_1_active"], root[0]["access_key_2_active"])


def fetch_report(rd: Reader, ident: str, wait_seconds: float,
                 sleep: Callable[[float], None] = time.sleep) -> list[dict[str, str]] | None:
    """Generate (if needed) and read the credential report; ``None`` if it failed or timed out."""
    if rd.skipped("iam:GenerateCredentialReport") or rd.skipped("iam:GetCredentialReport"):
        return None
    generated = rd.call("iam:GenerateCredentialReport", ACCOUNT, ident)
    if generated is None:
        return None
    deadline = time.monotonic() + wait_seconds
    delay = 0.2
    while True:
        answer = rd.call("iam:GetCredentialReport", ACCOUNT, ident, expected=_PENDING)
        if answer is None:
            return None
        if isinstance(answer, dict):
            got = rd.parse("iam:GetCredentialReport", ACCOUNT, ident, _report_rows, answer)
            return got.value if got else None
        if time.monotonic() + delay > deadline:
            rd.fail("iam:GetCredentialReport", ACCOUNT, ident, "CredentialReportTimeout",
                    f"credential report not ready after {wait_seconds:g}s ({answer.code})")
            return None
        sleep(delay)
        delay = min(delay * 2, 5.0)


def collect(target: Target) -> Outcome:
    """The ``aws.iam.account`` resource of one account."""
    rd = target.reader(OPERATIONS, error_region="global")
    ident = f"arn:{target.partition}:iam::{target.account}:root"
    attrs: dict[str, Any] = {}
    answer = rd.call("iam:GetAccountSummary", ACCOUNT, ident)
    if isinstance(answer, dict):
        got = rd.parse("iam:GetAccountSummary", ACCOUNT, ident, lambda: _summary(answer))
        if got is not None:
            attrs["summary"] = got.value
            attrs["account_mfa_enabled"] = got.value.get("AccountMFAEnabled") == 1
    elif isinstance(answer, NotConfigured):  # pragma: no cover - no expected codes declared
        raise AssertionError(answer.code)
    wait = float(target.options.get("credential_report_wait_seconds", 60))
    rows = fetch_report(rd, ident, wait)
    if rows is None:
        return _done(target, ident, attrs, rd)
    attrs["credential_report"] = rows
    root = rd.parse("iam:GetCredentialReport", ACCOUNT, ident, root_keys_present, rows)
    if root is None:
        return _done(target, ident, attrs, rd)
    if root.value is not None:
        attrs["root_access_keys_present"] = root.value
    elif "summary" in attrs and "AccountAccessKeysPresent" in attrs["summary"]:
        # No root row (moto omits it): the account summary states the same fact.
        attrs["root_access_keys_present"] = attrs["summary"]["AccountAccessKeysPresent"] == 1
    else:
        rd.fail("iam:GetCredentialReport", ACCOUNT, ident, "UnexpectedResponse",
                "credential report has no <root_account> row")
    return _done(target, ident, attrs, rd)


def _done(target: Target, ident: str, attrs: dict[str, Any], rd: Reader) -> Outcome:
    resource = Resource(kind=ACCOUNT, id=ident, source="aws", attributes=attrs, tags={},
                        account=target.account, region="global")
    return Outcome(resources=[resource], errors=rd.errors)
