"""JUnit: FAIL is a failure, only INCONCLUSIVE is an error; NOT_ATTESTED is skipped with its reason."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from aslcheck.reports.model import ControlStatus, RunResult
from aslcheck.reports.render.junit import JunitRenderer
from tests.reports.conftest import EXPECTED, RunFactory, snapshot_of


def _cases(run: RunResult) -> tuple[ET.Element, dict[str, ET.Element]]:
    suite = ET.fromstring(JunitRenderer().render(run))
    return suite, {c.get("name", "").split()[0]: c for c in suite.iter("testcase")}


def test_counts_follow_statuses(run: RunResult) -> None:
    suite, cases = _cases(run)
    assert suite.get("tests") == str(sum(EXPECTED.values()))
    assert suite.get("failures") == str(EXPECTED["fail"])
    assert suite.get("errors") == str(EXPECTED["inconclusive"])
    assert suite.get("skipped") == str(EXPECTED["not_attested"] + EXPECTED["waived"] + EXPECTED["not_applicable"])
    kinds = {cid: [child.tag for child in case] for cid, case in cases.items()}
    assert sum(k == ["failure"] for k in kinds.values()) == EXPECTED["fail"]
    assert sum(k == ["error"] for k in kinds.values()) == EXPECTED["inconclusive"]
    assert sum(k == [] for k in kinds.values()) == EXPECTED["pass"]


def test_not_attested_is_skipped_with_its_reason(run: RunResult) -> None:
    _, cases = _cases(run)
    for r in run.results:
        case = cases[r.control.id]
        if r.status is ControlStatus.NOT_ATTESTED:
            assert case.find("error") is None and case.find("failure") is None
            skipped = case.find("skipped")
            assert skipped is not None and skipped.get("message", "").startswith("not_attested: ")
            assert skipped.text == r.reason and "attestation" in r.reason
        if r.status is ControlStatus.INCONCLUSIVE:
            error = case.find("error")
            assert error is not None and error.get("type") == "inconclusive" and error.text == r.reason


def test_a_run_with_only_manual_gaps_has_no_errors(make_run: RunFactory) -> None:
    # Nightly CI: everything automated passes (or is n/a); only human attestations are missing.
    run = make_run(profile="asl2")
    statuses = {r.status for r in run.results}
    suite, _ = _cases(run)
    assert suite.get("errors") == str(sum(r.status is ControlStatus.INCONCLUSIVE for r in run.results))
    if ControlStatus.INCONCLUSIVE not in statuses:
        assert suite.get("errors") == "0"
    empty = make_run(snap=snapshot_of(), profile="asl2")
    suite, _ = _cases(empty)
    assert int(suite.get("errors", "0")) == sum(r.status is ControlStatus.INCONCLUSIVE for r in empty.results)
