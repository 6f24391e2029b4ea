"""Moved to :mod:`aslcheck.gate`: the gate spans collection and evaluation, so it sits above both.

Kept so that code importing the old path keeps working; new code imports :mod:`aslcheck.gate`.
"""

from aslcheck.gate import FAMILIES, Drift, DriftKind, GateControl, GateResult, GateVerdict, run_gate

__all__ = ["FAMILIES", "Drift", "DriftKind", "GateControl", "GateResult", "GateVerdict",
           "run_gate"]
