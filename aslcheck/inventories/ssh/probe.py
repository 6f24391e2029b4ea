"""Plan the probe for one host and split its nonce-framed output back into sections (pure)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from aslcheck.inventories.ssh.commands import (
    HOST_PROBES,
    PATH_PROBES,
    UNIT_PROBES,
    Section,
    render,
)


class TruncatedOutput(Exception):
    """The probe output ended before its final marker, or its framing is inconsistent."""


class RecordKind(Enum):
    """What a record inside a section holds."""

    FILE = "file"
    """The output of one command about one item: a file's bytes (``cat``), ``cryptsetup status``."""
    DIR = "dir"
    """A directory listing: NUL-terminated ``<type><target type> <name>`` entries (``find -printf '%y%Y %f\\0'``)."""


@dataclass(frozen=True)
class FileRecord:
    """A file (or sub-item) dumped inside a section."""

    name: str
    """File path or item name as reported by the host."""
    content: bytes
    """Its bytes."""
    rc: int
    """Exit code of the dump (``cat``, ``cryptsetup status``)."""
    stderr: str = ""
    """What the dump wrote to standard error (so a missing file is told apart from a refused read)."""
    kind: RecordKind = RecordKind.FILE
    """File content or directory listing."""

    def missing(self) -> bool:
        """Whether the read failed only because the file does not exist (``cat``/``find`` said so)."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return (self.rc != 0 and bool(lines)
                and all(not line.startswith(("sudo:", "aslcheck:")) and line.endswith("No such file or directory")
                        for line in lines))

    def entries(self) -> list[tuple[str, str]]:
        """Entries of a directory listing as ``(target type, name)``; ``find`` types (``f``, ``d``, ``l``...)."""
        out = []
        for raw in self.content.split(b"\0"):
            if not raw:
                continue
            text = raw.decode("utf-8", "replace")
            kinds, sep, name = text.partition(" ")
            if not sep or len(kinds) != 2:
                raise TruncatedOutput(f"bad directory entry {text!r} in {self.name}")
            out.append((kinds[1], name))
        return out


@dataclass(frozen=True)
class SectionResult:
    """Output of one section."""

    name: str
    """Section name."""
    stdout: bytes
    """Standard output, without embedded file records."""
    stderr: str
    """Standard error (decoded, trailing newlines stripped)."""
    rc: int
    """Exit code."""
    files: tuple[FileRecord, ...] = ()
    """Files dumped by the section, in order."""

    def text(self) -> str:
        """Stdout decoded as UTF-8 (invalid bytes replaced)."""
        return self.stdout.decode("utf-8", "replace")


@dataclass(frozen=True)
class Plan:
    """The sections to run on one host, with the configured item each is about."""

    sections: tuple[Section, ...]
    """Rendered sections, in order."""
    paths: tuple[str, ...]
    """Declared weight paths, by index (``stat_0`` is about ``paths[0]``)."""
    units: tuple[str, ...]
    """Declared EDR units, by index."""


def new_nonce() -> str:
    """A fresh 128-bit nonce for one run."""
    return secrets.token_hex(16)


def plan_probe(kinds: Iterable[str], paths: Iterable[str], units: Iterable[str], sshd_config: str) -> Plan:
    """Select and render the probes that feed ``kinds`` (``host.os`` is always included)."""
    wanted = set(kinds) | {"host.os"}
    path_list = tuple(sorted(set(paths)))
    unit_list = tuple(sorted(set(units)))
    out: list[Section] = []
    for probe in HOST_PROBES:
        if probe.kind in wanted:
            out.append(render(probe, {"sshd_config": sshd_config} if "{sshd_config}" in probe.template else {}))
    for i, path in enumerate(path_list):
        for probe in PATH_PROBES:
            if probe.kind in wanted:
                out.append(render(probe, {"path": path}, f"_{i}", item=path))
    for i, unit in enumerate(unit_list):
        for probe in UNIT_PROBES:
            if probe.kind in wanted:
                out.append(render(probe, {"unit": unit}, f"_{i}", item=unit))
    return Plan(tuple(out), path_list, unit_list)


_TAGS = (b"B", b"R", b"E", b"Z", b"F", b"D", b"FR", b"DONE")


def split_output(output: bytes, nonce: str, expected: Iterable[str]) -> Mapping[str, SectionResult]:
    """Split the framed output of one run into sections.

    Raises :class:`TruncatedOutput` when the final marker is missing, when a section that was
    run is missing, or when the framing is out of order (which a forged marker would cause).
    """
    marker = re.compile(
        rb"\n?" + re.escape(nonce.encode()) + rb" (" + b"|".join(_TAGS) + rb")(?: ([^\n]*))?\n"
    )
    results: dict[str, SectionResult] = {}
    state = "idle"
    name = ""
    pos = 0
    stdout_parts: list[bytes] = []
    files: list[FileRecord] = []
    file_name = ""
    file_kind = RecordKind.FILE
    rc = 0
    done = False
    for match in marker.finditer(output):
        tag, arg = match.group(1), (match.group(2) or b"").decode("ascii", "replace")
        chunk = output[pos:match.start()]
        pos = match.end()
        if done:
            raise TruncatedOutput("output continues after the final marker")
        if tag == b"B" and state == "idle":
            name, state, stdout_parts, files = arg, "out", [], []
        elif tag in (b"F", b"D") and state == "out":
            stdout_parts.append(chunk)
            file_name, state = _unhex(arg), "file"
            file_kind = RecordKind.FILE if tag == b"F" else RecordKind.DIR
        elif tag == b"FR" and state == "file":
            code, _, err = arg.partition(" ")
            files.append(FileRecord(file_name, chunk, _int(code), _unhex(err.strip()).rstrip("\n"), file_kind))
            state = "out"
        elif tag == b"R" and state == "out":
            stdout_parts.append(chunk)
            rc, state = _int(arg), "rc"
        elif tag == b"E" and state == "rc":
            state = "err"
        elif tag == b"Z" and state == "err":
            if name in results:
                raise TruncatedOutput(f"section {name!r} appears twice")
            results[name] = SectionResult(
                name, b"".join(stdout_parts), chunk.decode("utf-8", "replace").rstrip("\n"), rc, tuple(files)
            )
            state = "idle"
        elif tag == b"DONE" and state == "idle":
            done = True
        else:
            raise TruncatedOutput(f"unexpected marker {tag.decode()} in state {state}")
    if not done:
        raise TruncatedOutput("output ended before the final marker")
    missing = [n for n in expected if n not in results]
    if missing:
        raise TruncatedOutput(f"sections missing from the output: {', '.join(missing)}")
    return results


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise TruncatedOutput(f"bad exit code {text!r}") from None


def _unhex(text: str) -> str:
    try:
        return bytes.fromhex(text).decode("utf-8", "replace")
    except ValueError:
        raise TruncatedOutput(f"bad file marker {text!r}") from None
