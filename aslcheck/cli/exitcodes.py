"""Documented, distinct exit codes (README "Exit codes")."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What the process exit status means."""

    OK = 0
    """Every gating control passed (or was waived / not applicable)."""
    FAIL = 1
    """At least one gating control FAILed."""
    INCOMPLETE = 2
    """No FAIL, but something is INCONCLUSIVE or NOT_ATTESTED: evidence is missing."""
    BAD_INPUT = 3
    """Bad input or usage: nothing was evaluated and no report was written."""
    VERIFY_FAILED = 4
    """A signature, payload type or digest did not verify."""
    INTERNAL = 70
    """A bug in aslcheck (EX_SOFTWARE); please report it with the traceback."""
