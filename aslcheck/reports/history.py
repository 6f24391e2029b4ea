"""Signed history of scans: each attestation kept in a directory with a hash-chained index.

Layout of a history directory::

    index.jsonl                      one canonical-JSON entry per line, oldest first
    attestations/000001-20261127T020000Z.dsse.json
    .lock                            serialises concurrent appends

Each entry records its sequence number, the attestation file and its SHA-256, the profile,
evaluation time and status summary, and ``previous``: the SHA-256 of the previous entry's line
bytes (64 zeros for the first). The attestation itself is signed with ``predicate.history =
{sequence, previous}``, so the chain is bound under the signature: editing, deleting or
reordering an entry (or an attestation) breaks a digest that cannot be recomputed without the
signing key. Removing the newest entries together with their files cannot be seen from inside
the directory; pin a head digest you recorded earlier with ``--expect-head``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from aslcheck.errors import BadInputError, Location, VerificationError
from aslcheck.inventories.snapshot import canonical_json
from aslcheck.reports.atomic import write_atomic
from aslcheck.reports.attestation import HistoryLink
from aslcheck.reports.signing import PublicKey, unverified_statement, verify_envelope

INDEX_FILE = "index.jsonl"
ATTESTATION_DIR = "attestations"
LOCK_FILE = ".lock"
GENESIS = "0" * 64
"""``previous`` of the first entry."""
_FIELDS = ("sequence", "file", "sha256", "evaluatedAt", "profile", "summary", "previous")


@dataclass(frozen=True)
class Entry:
    """One index line."""

    sequence: int
    """1-based position in the index."""
    file: str
    """Attestation path relative to the history directory (POSIX separators)."""
    sha256: str
    """SHA-256 of the attestation file's bytes."""
    evaluated_at: str
    """``predicate.evaluatedAt`` of the attestation."""
    profile: str
    """Profile evaluated."""
    summary: Mapping[str, int]
    """Controls per status, copied from the attestation."""
    previous: str
    """Digest of the previous entry's line."""
    digest: str = ""
    """SHA-256 of this entry's exact line bytes (not stored in the line)."""

    def to_json(self) -> dict[str, Any]:
        """The line's content."""
        return {"sequence": self.sequence, "file": self.file, "sha256": self.sha256,
                "evaluatedAt": self.evaluated_at, "profile": self.profile,
                "summary": dict(self.summary), "previous": self.previous}


def _entry(raw: bytes) -> Entry:
    data = json.loads(raw)
    if not isinstance(data, dict) or set(data) != set(_FIELDS):
        raise ValueError(f"expected exactly the fields {', '.join(_FIELDS)}")
    if not isinstance(data["sequence"], int) or not isinstance(data["summary"], dict):
        raise ValueError("sequence must be an integer and summary an object")
    if not all(isinstance(data[k], str) for k in ("file", "sha256", "evaluatedAt", "profile", "previous")):
        raise ValueError("file, sha256, evaluatedAt, profile and previous must be strings")
    return Entry(data["sequence"], data["file"], data["sha256"], data["evaluatedAt"], data["profile"],
                 data["summary"], data["previous"], hashlib.sha256(raw).hexdigest())


@dataclass(frozen=True)
class _Line:
    number: int
    raw: bytes
    entry: Entry | None
    error: str | None


def _read_lines(directory: str) -> list[_Line]:
    path = os.path.join(directory, INDEX_FILE)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise BadInputError(f"cannot read history index: {exc.strerror}", Location(path)) from exc
    chunks = data.split(b"\n")
    terminated = len(chunks) - 1
    if chunks[-1] == b"":
        chunks.pop()
    out: list[_Line] = []
    for number, raw in enumerate(chunks, start=1):
        if number > terminated:
            # NOTE: every line we write ends with a newline; a bare tail is a torn write.
            out.append(_Line(number, raw, None, "line is not terminated (interrupted write?)"))
            continue
        try:
            out.append(_Line(number, raw, _entry(raw), None))
        except (ValueError, UnicodeDecodeError) as exc:
            out.append(_Line(number, raw, None, str(exc)))
    return out


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _safe_path(directory: str, rel: str) -> str | None:
    """The attestation path, or ``None`` when ``rel`` points outside ``attestations/``."""
    parts = rel.split("/")
    if len(parts) != 2 or parts[0] != ATTESTATION_DIR or parts[1] in ("", ".", "..") or "\\" in rel:
        return None
    return os.path.join(directory, ATTESTATION_DIR, parts[1])


class Appender:
    """Appends one attestation to a locked history (use :func:`appender`)."""

    def __init__(self, directory: str, lines: Sequence[_Line]) -> None:
        self.directory = directory
        self.link = HistoryLink(len(lines) + 1, _digest(lines[-1].raw) if lines else GENESIS)
        """What the next attestation must be signed with."""
        self.entry: Entry | None = None
        """The entry appended (after :meth:`append`)."""

    def append(self, envelope: bytes) -> Entry:
        """Store the attestation, then append its index line (fsync'd)."""
        if self.entry is not None:
            raise ValueError("one attestation per appender")
        stmt = unverified_statement(envelope)  # our own bytes, just signed
        pred = stmt["predicate"]
        link = pred.get("history")
        if link != {"sequence": self.link.sequence, "previous": self.link.previous}:
            raise ValueError("the attestation was not signed with this history's link")
        stamp = pred["evaluatedAt"].replace("-", "").replace(":", "")
        rel = f"{ATTESTATION_DIR}/{self.link.sequence:06d}-{stamp}.dsse.json"
        path = _safe_path(self.directory, rel)
        assert path is not None
        if os.path.exists(path):
            raise BadInputError("refusing to overwrite an existing history attestation", Location(path))
        write_atomic(path, envelope)
        entry = Entry(self.link.sequence, rel, _digest(envelope), pred["evaluatedAt"], pred["profile"],
                      dict(pred["results"]["summary"]), self.link.previous)
        line = canonical_json(entry.to_json())
        with open(os.path.join(self.directory, INDEX_FILE), "ab") as fh:
            fh.write(line + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.entry = replace(entry, digest=_digest(line))
        return self.entry


@contextmanager
def appender(directory: str) -> Iterator[Appender]:
    """Lock the history (creating it), check the index is structurally whole, yield an appender."""
    try:
        os.makedirs(os.path.join(directory, ATTESTATION_DIR), exist_ok=True)
        lock = open(os.path.join(directory, LOCK_FILE), "a")  # noqa: SIM115 - held for the block
    except OSError as exc:
        raise BadInputError(f"cannot open history directory: {exc.strerror}", Location(directory)) from exc
    with lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        lines = _read_lines(directory)
        for ln in lines:
            if ln.entry is None or ln.entry.sequence != ln.number:
                raise BadInputError(
                    f"history index is damaged at line {ln.number}; not appending "
                    f"(run: aslcheck history verify {directory} --key PUB)",
                    Location(os.path.join(directory, INDEX_FILE), ln.number))
        yield Appender(directory, lines)


@dataclass(frozen=True)
class HistoryReport:
    """A verified history."""

    directory: str
    entries: tuple[Entry, ...]
    """Every entry, oldest first."""
    head: str
    """Digest of the newest entry (what to pin with ``--expect-head``)."""
    statements: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    """The verified statements, in entry order."""


def verify_history(directory: str, keys: Sequence[PublicKey], threshold: int = 1,
                   expect_head: str | None = None) -> HistoryReport:
    """Check the chain, every file digest, every signature and every signed link.

    Raises :class:`VerificationError` listing every problem (edited, deleted, reordered or
    unindexed entries and files, bad signatures, an expected head that is not in the chain).
    """
    if not os.path.isdir(directory):
        raise BadInputError("no such history directory", Location(directory))
    lines = _read_lines(directory)
    problems: list[str] = []
    if not lines:
        problems.append(f"{directory}/{INDEX_FILE} is missing or empty")
    previous = GENESIS
    referenced: set[str] = set()
    entries: list[Entry] = []
    statements: list[dict[str, Any]] = []
    for ln in lines:
        where = f"entry {ln.number}"
        if ln.entry is None:
            problems.append(f"{where}: not a valid index line ({ln.error})")
            previous = _digest(ln.raw)
            continue
        e = ln.entry
        entries.append(e)
        if e.sequence != ln.number:
            problems.append(f"{where}: says sequence {e.sequence} (entries deleted or reordered)")
        if e.previous != previous:
            problems.append(f"{where}: previous-entry digest does not match line {ln.number - 1} "
                            "(an entry was edited, deleted or reordered)")
        previous = e.digest
        problems += _check_file(directory, e, where, keys, threshold, referenced, statements)
    problems += _orphans(directory, referenced)
    head = previous if lines else GENESIS
    if expect_head is not None and expect_head not in {_digest(ln.raw) for ln in lines}:
        problems.append(f"expected head {expect_head[:16]}… is not in the chain "
                        "(history truncated or rewritten)")
    if problems:
        raise VerificationError(problems)
    return HistoryReport(directory, tuple(entries), head, tuple(statements))


def _check_file(directory: str, e: Entry, where: str, keys: Sequence[PublicKey], threshold: int,
                referenced: set[str], statements: list[dict[str, Any]]) -> list[str]:
    path = _safe_path(directory, e.file)
    if path is None:
        return [f"{where}: file {e.file!r} is not inside {ATTESTATION_DIR}/"]
    if e.file in referenced:
        return [f"{where}: file {e.file} is listed twice"]
    referenced.add(e.file)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return [f"{where}: cannot read {e.file}: {exc.strerror} (attestation deleted?)"]
    if _digest(data) != e.sha256:
        return [f"{where}: {e.file} does not match its recorded sha256 (attestation edited or replaced)"]
    try:
        stmt = verify_envelope(data, keys, threshold).statement
    except VerificationError as exc:
        return [f"{where}: {e.file}: {p}" for p in exc.problems]
    pred = stmt["predicate"]
    problems = []
    if pred.get("history") != {"sequence": e.sequence, "previous": e.previous}:
        problems.append(f"{where}: the signed history link {pred.get('history')} does not match the index "
                        "(entries deleted, reordered or re-chained)")
    signed = {"evaluatedAt": pred.get("evaluatedAt"), "profile": pred.get("profile"),
              "summary": pred.get("results", {}).get("summary")}
    for name, value in signed.items():
        if e.to_json()[name] != value:
            problems.append(f"{where}: field {name!r} differs from the signed attestation (entry edited)")
    statements.append(stmt)
    return problems


def _orphans(directory: str, referenced: set[str]) -> list[str]:
    try:
        names = sorted(os.listdir(os.path.join(directory, ATTESTATION_DIR)))
    except FileNotFoundError:
        return []
    return [f"{ATTESTATION_DIR}/{n} is not in the index (entry deleted?)" for n in names
            if not n.startswith(".") and f"{ATTESTATION_DIR}/{n}" not in referenced]


@dataclass(frozen=True)
class ControlPoint:
    """One control's outcome in one run."""

    status: str
    """Status value (``pass``, ``fail``, ...)."""
    reason: str
    """The run's reason for it."""


@dataclass(frozen=True)
class Run:
    """One stored run, as read from its attestation."""

    sequence: int
    evaluated_at: str
    profile: str
    controls: Mapping[str, ControlPoint]
    """Control ID -> outcome (empty when the attestation could not be read)."""


def _runs_from(statements: Sequence[Mapping[str, Any]], entries: Sequence[Entry]) -> list[Run]:
    out = []
    for e, stmt in zip(entries, statements, strict=True):
        controls = {c["id"]: ControlPoint(c["status"], c.get("reason", ""))
                    for c in stmt.get("predicate", {}).get("results", {}).get("controls", [])}
        out.append(Run(e.sequence, e.evaluated_at, e.profile, controls))
    return out


def load_runs(directory: str, keys: Sequence[PublicKey] = (), threshold: int = 1,
              last: int | None = None) -> tuple[list[Run], bool]:
    """The runs in the history (the ``last`` ones when given) and whether they were verified.

    With ``keys`` the whole history is verified first (raising on any problem); without, the
    index and attestations are read as they are (for display only), skipping unreadable ones.
    """
    if not os.path.isdir(directory):
        raise BadInputError("no such history directory", Location(directory))
    if not os.path.exists(os.path.join(directory, INDEX_FILE)):
        raise BadInputError(f"not a history directory: it has no {INDEX_FILE} "
                            "(scan/check --history DIR creates it)", Location(directory))
    if keys:
        report = verify_history(directory, keys, threshold)
        runs = _runs_from(report.statements, report.entries)
        return (runs[-last:] if last else runs), True
    runs = []
    lines = _read_lines(directory)
    for ln in lines[-last:] if last else lines:
        if ln.entry is None:
            continue
        path = _safe_path(directory, ln.entry.file)
        try:
            if path is None:
                raise OSError
            with open(path, "rb") as fh:
                stmt = unverified_statement(fh.read())
        except (OSError, VerificationError):
            runs.append(Run(ln.entry.sequence, ln.entry.evaluated_at, ln.entry.profile, {}))
            continue
        runs += _runs_from([stmt], [ln.entry])
    return runs, False


def control_series(runs: Sequence[Run]) -> dict[str, list[tuple[str, str]]]:
    """Control ID -> ``[(evaluatedAt, status), ...]`` oldest first (for the HTML chart)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for run in runs:
        for cid, point in run.controls.items():
            out.setdefault(cid, []).append((run.evaluated_at, point.status))
    return out
