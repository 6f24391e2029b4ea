"""Checks: pure functions of a snapshot and the config, and the fail-closed engine."""

from aslcheck.checks.interface import (
    CheckContext,
    CheckError,
    CheckId,
    CheckSpec,
    Finding,
    Select,
    Status,
)
from aslcheck.checks.registry import Registry, check

__all__ = [
    "CheckContext",
    "CheckError",
    "CheckId",
    "CheckSpec",
    "Finding",
    "Registry",
    "Select",
    "Status",
    "check",
]
