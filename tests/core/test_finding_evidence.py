"""Findings keep evidence encoded and shared (memory at 1M resources), without changing what it says."""

from __future__ import annotations

from aslcheck.checks.interface import CheckId, Finding, Status
from aslcheck.inventories.compact import FrozenObject

CID = CheckId("aws.s3.example")


def _finding(evidence: object) -> Finding:
    return Finding(check=CID, status=Status.PASS, reason="r", evidence=evidence)  # type: ignore[arg-type]


def test_equal_evidence_is_one_shared_read_only_object() -> None:
    a, b = _finding({"encrypted": True}), _finding({"encrypted": True})
    assert isinstance(a.evidence, FrozenObject) and a.evidence is b.evidence
    assert dict(a.evidence) == {"encrypted": True}
    assert a.to_json()["evidence"] == {"encrypted": True}


def test_different_evidence_is_never_confused() -> None:
    # 1 and true differ in JSON (and in the digest of a report): they are not interned together.
    values = [{"n": 1}, {"n": True}, {"n": "1"}, {"n": [1]}, {"n": None}, {}, {"m": 1}]
    found = [dict(_finding(v).evidence) for v in values]
    assert found == values
    assert _finding({"n": 1}).evidence is not _finding({"n": True}).evidence


def test_mutating_the_given_dict_later_does_not_change_the_finding() -> None:
    given = {"paths": ["arn:aws:iam::1:role/a"]}
    f = _finding(given)
    given["paths"].append("arn:aws:iam::1:role/b")
    assert f.evidence["paths"] == ["arn:aws:iam::1:role/a"]


def test_evidence_that_is_not_json_is_kept_as_given() -> None:
    marker = object()
    f = _finding({"x": marker})
    assert f.evidence["x"] is marker
