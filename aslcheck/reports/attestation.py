"""Build, sign and write the attestation and the rendered reports of a run."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from aslcheck.reports.atomic import write_atomic, write_atomic_with
from aslcheck.reports.interface import Renderer
from aslcheck.reports.model import RunResult
from aslcheck.reports.signing import Signer, sign_statement, statement

ATTESTATION_FILE = "attestation.dsse.json"
SNAPSHOT_FILE = "snapshot.json"
DEFAULT_VALIDITY = timedelta(days=7)
"""How long an attestation is valid after evaluation unless ``--valid-for`` says otherwise."""
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class HistoryLink:
    """Where a signed attestation sits in a history chain (see :mod:`aslcheck.reports.history`)."""

    sequence: int
    """1-based position of its entry in the index."""
    previous: str
    """Digest of the previous index entry (64 zeros for the first)."""


def parse_time(value: str) -> datetime:
    """Parse an RFC 3339 UTC time as written in predicates (``2026-11-27T02:00:00Z``)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"time {value!r} has no time zone")
    return parsed.astimezone(timezone.utc)


def predicate(run: RunResult, valid_for: timedelta = DEFAULT_VALIDITY,
              history: HistoryLink | None = None) -> dict[str, Any]:
    """The predicate of our own type: tool, profile, time, validity window, the full results.

    ``validity`` bounds how long a consumer (``gate --attestation``) may rely on this evidence;
    ``history`` (when given) binds the attestation to its place in a history chain, under the
    signature, so rewriting the chain needs the signing key.
    """
    if valid_for <= timedelta(0):
        raise ValueError("the validity period must be positive")
    start = parse_time(run.evaluated_at)
    out: dict[str, Any] = {
        "tool": {"name": "aslcheck", "version": run.tool_version},
        "profile": run.profile,
        "evaluatedAt": run.evaluated_at,
        "validity": {
            "notBefore": start.strftime(TIME_FORMAT),
            "notAfter": (start + valid_for).strftime(TIME_FORMAT),
        },
        "results": run.to_json(),
    }
    if history is not None:
        out["history"] = {"sequence": history.sequence, "previous": history.previous}
    return out


def subjects(run: RunResult) -> dict[str, str]:
    """Subject digests: snapshot, catalog and config."""
    return {
        SNAPSHOT_FILE: run.snapshot_digest,
        "catalog": run.catalog_digest,
        "config": run.config_digest,
    }


@dataclass(frozen=True)
class Written:
    """What :func:`write_reports` produced."""

    directory: str
    files: Mapping[str, str]
    """Format (or ``attestation``/``snapshot``) -> path."""
    envelope: bytes | None = None
    """The exact attestation bytes written (``None`` when unsigned)."""


def write_reports(
    run: RunResult,
    directory: str,
    renderers: Sequence[Renderer],
    signers: Sequence[Signer],
    snapshot_bytes: bytes | None = None,
    *,
    valid_for: timedelta = DEFAULT_VALIDITY,
    history: HistoryLink | None = None,
) -> Written:
    """Render everything in memory first (except streaming renderers), then write each file
    atomically.

    The snapshot (when given) is written next to the attestation so ``verify --snapshot`` can
    re-check it later; the attestation is written last, so its presence means the set is whole.
    """
    # NOTE: the JSON report of a 1M-resource run is 300-550 MB; it is streamed to its file.
    rendered = {r.name: (r.filename, r.render(run)) for r in renderers if not r.streams}
    streamed = [r for r in renderers if r.streams]
    envelope = (sign_statement(statement(subjects(run), predicate(run, valid_for, history)), signers)
                if signers else None)
    out: dict[str, str] = {}
    if snapshot_bytes is not None:
        path = os.path.join(directory, SNAPSHOT_FILE)
        write_atomic(path, snapshot_bytes)
        out["snapshot"] = path
    for name, (filename, data) in rendered.items():
        path = os.path.join(directory, filename)
        write_atomic(path, data)
        out[name] = path
    for r in streamed:
        path = os.path.join(directory, r.filename)
        write_atomic_with(path, functools.partial(r.write, run))
        out[r.name] = path
    if envelope is not None:
        path = os.path.join(directory, ATTESTATION_FILE)
        write_atomic(path, envelope)
        out["attestation"] = path
    return Written(directory, out, envelope)
