"""Reports: the result model, renderers, and the signed in-toto/DSSE attestation."""

from aslcheck.reports.interface import Renderer, ReportError
from aslcheck.reports.model import CheckOutcome, ControlResult, ControlStatus, Counts, RunResult

__all__ = [
    "CheckOutcome",
    "ControlResult",
    "ControlStatus",
    "Counts",
    "Renderer",
    "ReportError",
    "RunResult",
]
