"""Build, sign and write the attestation and the rendered reports of a run."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from aslcheck.reports.atomic import Content, FileWriter, write_set
from aslcheck.reports.interface import Renderer
from aslcheck.reports.model import RunResult
from aslcheck.reports.signing import Signer, sign_statement, statement

ATTESTATION_FILE = "attestation.dsse.json"
SNAPSHOT_FILE = "snapshot.json"
DRIFT_FILE = "drift.json"
"""Declared-versus-live drift written by ``gate --snapshot``."""
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


def set_files() -> frozenset[str]:
    """Every file name a report set can hold: stale ones from an older run never survive a new set."""
    from aslcheck.reports.render import RENDERERS  # NOTE: lazy; renderers import this module's users

    return frozenset({SNAPSHOT_FILE, ATTESTATION_FILE, DRIFT_FILE} | {r.filename for r in RENDERERS.values()})


def write_reports(
    run: RunResult,
    directory: str,
    renderers: Sequence[Renderer],
    signers: Sequence[Signer],
    snapshot_bytes: bytes | None = None,
    *,
    valid_for: timedelta = DEFAULT_VALIDITY,
    history: HistoryLink | None = None,
    extra: Mapping[str, bytes] | None = None,
    writer: FileWriter | None = None,
) -> Written:
    """Render and sign everything, stage the set beside ``directory``, then swap it in at once.

    Streaming renderers (``Renderer.streams``) write straight into the staged file.

    The set is the snapshot (when given, so ``verify --snapshot`` can re-check it later), every
    rendering, the ``extra`` files (e.g. the gate's ``drift.json``) and the signed attestation.
    A failure at any point (full disk, Ctrl-C) leaves the previous set in ``directory`` whole
    (:func:`aslcheck.reports.atomic.write_set`); files of an older set that this run does not
    produce are removed with it, so an old attestation never sits beside a new snapshot.
    """
    files: dict[str, Content] = {}
    if snapshot_bytes is not None:
        files[SNAPSHOT_FILE] = snapshot_bytes
    names: dict[str, str] = {}
    for r in renderers:
        # NOTE: the JSON report of a 1M-resource run is 300-550 MB; it is streamed to its file.
        files[r.filename] = functools.partial(r.write, run) if r.streams else r.render(run)
        names[r.name] = r.filename
    for fname, data in (extra or {}).items():
        files[fname] = data
        names[fname.rsplit(".", 1)[0]] = fname
    envelope = (sign_statement(statement(subjects(run), predicate(run, valid_for, history)), signers)
                if signers else None)
    if envelope is not None:
        files[ATTESTATION_FILE] = envelope
    paths = write_set(directory, files, set_files(), writer)
    out: dict[str, str] = {}
    if snapshot_bytes is not None:
        out["snapshot"] = paths[SNAPSHOT_FILE]
    out.update({name: paths[fname] for name, fname in names.items()})
    if envelope is not None:
        out["attestation"] = paths[ATTESTATION_FILE]
    return Written(directory, out, envelope)
