"""JUnit XML: one test case per control, for CI dashboards."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from aslcheck.errors import assert_never
from aslcheck.reports.interface import Renderer
from aslcheck.reports.model import ControlStatus, RunResult


class JunitRenderer(Renderer):
    """FAIL is a failure, INCONCLUSIVE and NOT_ATTESTED are errors, WAIVED and n/a are skipped."""

    name = "junit"
    filename = "junit.xml"

    def render(self, run: RunResult) -> bytes:
        """JUnit XML bytes."""
        tally = run.tally()
        suite = ET.Element("testsuite", {
            "name": f"aslcheck.{run.profile}",
            "tests": str(len(run.results)),
            "failures": str(tally[ControlStatus.FAIL]),
            "errors": str(tally[ControlStatus.INCONCLUSIVE] + tally[ControlStatus.NOT_ATTESTED]),
            "skipped": str(tally[ControlStatus.WAIVED] + tally[ControlStatus.NOT_APPLICABLE]),
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
            elif status in (ControlStatus.INCONCLUSIVE, ControlStatus.NOT_ATTESTED):
                ET.SubElement(case, "error", {"type": status.value, "message": r.reason[:500]}).text = r.reason
            elif status in (ControlStatus.WAIVED, ControlStatus.NOT_APPLICABLE):
                ET.SubElement(case, "skipped", {"message": f"{status.value}: {r.reason[:480]}"})
            else:
                assert_never(status)
        ET.indent(suite)
        data: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
        return data + b"\n"
