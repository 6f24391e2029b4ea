"""Freshness of signed evidence: validity windows, maximum age, and durations like ``26h``.

``check_fresh`` is what ``gate --attestation FILE --max-age 26h`` relies on: it accepts an
attestation only when it is signed by enough trusted keys, inside its own validity window, and
evaluated no longer ago than the caller tolerates. Every reason for refusal is listed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from aslcheck.errors import VerificationError
from aslcheck.reports.attestation import parse_time
from aslcheck.reports.signing import PublicKey, Verified, unverified_statement, verify_envelope

CLOCK_SKEW = timedelta(minutes=5)
"""Tolerated difference between the signer's clock and ours, for "not yet valid" only."""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+)([smhdw])")


def parse_duration(text: str) -> timedelta:
    """Parse ``90m``, ``26h``, ``7d``, ``2w`` or combinations such as ``1d12h``; must be positive."""
    value = text.strip().lower()
    pos, seconds = 0, 0
    for m in _DURATION.finditer(value):
        if m.start() != pos:
            break
        seconds += int(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not value or pos != len(value):
        raise ValueError(f"not a duration: {text!r} (expected e.g. 26h, 7d, 90m, 1d12h)")
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Short human form (``1d 2h``, ``45m``)."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    return " ".join(p for p in parts if p) or f"{seconds}s"


def _time(pred: Mapping[str, Any], *path: str) -> datetime | None:
    node: Any = pred
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    if not isinstance(node, str):
        return None
    try:
        return parse_time(node)
    except ValueError:
        return None


def validity_problems(stmt: Mapping[str, Any], now: datetime) -> list[str]:
    """Why the statement's validity window excludes ``now`` (empty when it is valid)."""
    pred = stmt.get("predicate", {})
    if not isinstance(pred, Mapping) or "validity" not in pred:
        return ["the attestation carries no validity window (signed by an older aslcheck?)"]
    not_before = _time(pred, "validity", "notBefore")
    not_after = _time(pred, "validity", "notAfter")
    if not_before is None or not_after is None:
        return ["the attestation's validity window is malformed"]
    if now + CLOCK_SKEW < not_before:
        return [f"the attestation is not valid before {not_before:%Y-%m-%dT%H:%M:%SZ} "
                f"(in {format_duration(not_before - now)})"]
    if now >= not_after:
        return [f"the attestation expired at {not_after:%Y-%m-%dT%H:%M:%SZ} "
                f"({format_duration(now - not_after)} ago)"]
    return []


def age_problems(stmt: Mapping[str, Any], now: datetime, max_age: timedelta) -> list[str]:
    """Why the evaluation time is too old (or in the future); empty when fresh enough."""
    pred = stmt.get("predicate", {})
    evaluated = _time(pred, "evaluatedAt") if isinstance(pred, Mapping) else None
    if evaluated is None:
        return ["the attestation has no usable evaluation time"]
    if evaluated > now + CLOCK_SKEW:
        return [f"the attestation claims it was evaluated in the future ({evaluated:%Y-%m-%dT%H:%M:%SZ})"]
    age = now - evaluated
    if age > max_age:
        return [f"stale evidence: evaluated {format_duration(age)} ago at {evaluated:%Y-%m-%dT%H:%M:%SZ}, "
                f"maximum age {format_duration(max_age)}"]
    return []


def check_fresh(envelope_bytes: bytes, keys: Sequence[PublicKey], max_age: timedelta, now: datetime,
                threshold: int = 1) -> Verified:
    """Accept only signed, valid, fresh evidence; else raise :class:`VerificationError` listing why.

    Checks, in order: the DSSE signatures (``threshold`` distinct trusted keys), the payload and
    predicate type, the validity window, and the age of the evaluation. When the signature fails,
    the (unauthenticated) times are still examined so the message says everything that is wrong.
    """
    try:
        verified = verify_envelope(envelope_bytes, keys, threshold)
    except VerificationError as exc:
        problems = list(exc.problems)
        try:
            claimed = unverified_statement(envelope_bytes)
        except VerificationError:
            raise VerificationError(problems) from exc
        problems += [f"{p} (unverified claim)" for p in
                     validity_problems(claimed, now) + age_problems(claimed, now, max_age)]
        raise VerificationError(problems) from exc
    problems = validity_problems(verified.statement, now) + age_problems(verified.statement, now, max_age)
    if problems:
        raise VerificationError(problems)
    return verified
