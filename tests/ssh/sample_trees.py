"""Turn a sample directory tree (``samples/sudoers/<case>/etc/...``) into the records the probe dumps.

Every file under the tree becomes a file record at its absolute host path (``/etc/sudoers``),
every directory a listing record, and the names in ``missing`` a "No such file" read, which
is what ``cat``/``find`` print for a file that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from aslcheck.inventories.ssh.probe import FileRecord, RecordKind

SAMPLES = Path(__file__).parent / "samples"


def _type(path: Path) -> str:
    if path.is_symlink():
        return "l"
    return "d" if path.is_dir() else "f"


def tree_records(root: Path, missing: Iterable[str] = ()) -> list[FileRecord]:
    """Records for every file and directory under ``root``, plus "No such file" reads for ``missing``."""
    out: list[FileRecord] = []
    for path in sorted(root.rglob("*")):
        name = "/" + str(path.relative_to(root))
        if path.is_dir():
            listing = b"".join(f"{_type(p)}{_type(p.resolve())} {p.name}".encode() + b"\0"
                               for p in sorted(path.iterdir()))
            out.append(FileRecord(name, listing, 0, kind=RecordKind.DIR))
        else:
            out.append(FileRecord(name, path.read_bytes(), 0))
    for name in missing:
        out.append(FileRecord(name, b"", 1, f"cat: {name}: No such file or directory"))
    return out


def record(records: Iterable[FileRecord], name: str) -> FileRecord:
    """The record named ``name``, or a "No such file" read when the tree has none."""
    found = next((r for r in records if r.name == name and r.kind is RecordKind.FILE), None)
    return found or FileRecord(name, b"", 1, f"cat: {name}: No such file or directory")
