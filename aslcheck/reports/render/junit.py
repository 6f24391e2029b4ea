"""JUnit XML: one test case per control, for CI dashboards."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from aslcheck.errors import assert_never
from aslcheck.reports.interface import Renderer
from aslcheck.reports.model import ControlStatus, RunResult


class JunitRenderer(Renderer):
    """FAIL is a failure, INCONCLUSIVE an error; NOT_ATTESTED, WAIVED and n/a are skipped (with why).

    NOT_ATTESTED is skipped, not an error: no machine can check a control that needs a person's
    attestation, and a nightly dashboard must not turn red for it. Whether it gates is the exit
    status's business (``--manual gate|report``), not the dashboard's.
    """

    name = "junit"
    filename = "junit.xml"

    def render(self, run: RunResult) -> bytes:
        """JUnit XML bytes."""
        tally = run.tally()
        suite = ET.Element("testsuite", {
            "name": f"aslcheck.{run.profile}",
            "tests": str(len(run.results)),
            "failures": str(tally[ControlStatus.FAIL]),
            "errors": str(tally[ControlStatus.INCONCLUSIVE]),
            "skipped": str(tally[ControlStatus.NOT_ATTESTED] + tally[ControlStatus.WAIVED]
                           + tally[ControlStatus.NOT_APPLICABLE]),
            "timestamp": run.evaluated_at,
        })
        for r in run.results:
            case = ET.SubElement(suite, "testcase", {
                "classname": f"aslcheck.{r.control.domain}", "name": f"{r.control.id} {r.control.title}"})
            status = r.status
            if status is ControlStatus.PASS:
                pass
            elif status is ControlStatus.FAIL:
                ET.SubElement(case, "failure", {"type": "fail", "message": r.reason[:500]}).text = r.reason
            elif status is ControlStatus.INCONCLUSIVE:
                ET.SubElement(case, "error", {"type": status.value, "message": r.reason[:500]}).text = r.reason
            elif status in (ControlStatus.NOT_ATTESTED, ControlStatus.WAIVED, ControlStatus.NOT_APPLICABLE):
                ET.SubElement(case, "skipped", {"message": f"{status.value}: {r.reason[:480]}"}).text = r.reason
            else:
                assert_never(status)
        ET.indent(suite)
        data: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
        return data + b"\n"
