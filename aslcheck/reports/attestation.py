"""Build, sign and write the attestation and the rendered reports of a run."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aslcheck.reports.atomic import write_atomic
from aslcheck.reports.interface import Renderer
from aslcheck.reports.model import RunResult
from aslcheck.reports.signing import Signer, sign_statement, statement

ATTESTATION_FILE = "attestation.dsse.json"
SNAPSHOT_FILE = "snapshot.json"


def predicate(run: RunResult) -> dict[str, Any]:
    """The predicate of our own type: tool, profile, time, the full results."""
    return {
        "tool": {"name": "aslcheck", "version": run.tool_version},
        "profile": run.profile,
        "evaluatedAt": run.evaluated_at,
        "results": run.to_json(),
    }


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


def write_reports(
    run: RunResult,
    directory: str,
    renderers: Sequence[Renderer],
    signers: Sequence[Signer],
    snapshot_bytes: bytes | None = None,
) -> Written:
    """Render everything in memory first, then write each file atomically.

    The snapshot (when given) is written next to the attestation so ``verify --snapshot`` can
    re-check it later; the attestation is written last, so its presence means the set is whole.
    """
    rendered = {r.name: (r.filename, r.render(run)) for r in renderers}
    envelope = sign_statement(statement(subjects(run), predicate(run)), signers) if signers else None
    out: dict[str, str] = {}
    if snapshot_bytes is not None:
        path = os.path.join(directory, SNAPSHOT_FILE)
        write_atomic(path, snapshot_bytes)
        out["snapshot"] = path
    for name, (filename, data) in rendered.items():
        path = os.path.join(directory, filename)
        write_atomic(path, data)
        out[name] = path
    if envelope is not None:
        path = os.path.join(directory, ATTESTATION_FILE)
        write_atomic(path, envelope)
        out["attestation"] = path
    return Written(directory, out)
