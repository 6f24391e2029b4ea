"""Atomic writes: one file (temporary file + rename), or a whole report set (staging folder + swap).

A report set (snapshot, reports, attestation) is only meaningful whole: an attestation next to a
snapshot from another run fails verification. :func:`write_set` therefore writes the new set into
a hidden sibling folder and swaps it with the report folder in one ``renameat2(RENAME_EXCHANGE)``
(Linux), so a full disk, Ctrl-C or a crash leaves either the complete old set or the complete new
one. Where the exchange is unavailable it falls back to two renames; a crash between them leaves no
report folder and the complete old set in the ``.NAME.old-*`` sibling, never a mixed set.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import BinaryIO

from aslcheck.errors import BadInputError, Location

Content = bytes | Callable[[BinaryIO], object]
"""A file's content: its bytes, or a producer that streams them into the open file (large reports)."""
FileWriter = Callable[[str, Content], None]
"""Writes one new file at a path (injectable, so tests can fail mid-set)."""

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class OutputError(BadInputError):
    """The report folder cannot take a report set (a file, read-only, full...); nothing in it changed."""


def write_atomic(path: str, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and a rename."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_new_file(path: str, data: Content) -> None:
    """Create ``path`` (it must not exist), write (or stream) and fsync ``data``; mode 0644."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as fh:
        if isinstance(data, bytes):
            fh.write(data)
        else:
            data(fh)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _nearest_existing(path: str) -> str:
    while not os.path.lexists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def check_output_dir(directory: str) -> None:
    """Raise :class:`OutputError` unless ``directory`` can take a report set; change nothing.

    Run it before collecting, so a typo in ``--out`` costs nothing. It refuses a path that is a
    file or device (``/dev/null``), a mount point or the current folder (the set replaces the
    folder as a whole), and a place where the staging sibling cannot be created (read-only,
    permissions), trying it for real rather than trusting ``access()``.
    """
    where = Location(directory)
    real = os.path.realpath(directory)
    if os.path.lexists(real):
        if not os.path.isdir(real):
            raise OutputError("is not a directory (the report folder must be a directory)", where)
        if os.path.ismount(real):
            raise OutputError("is a mount point; give a folder inside it (the report set replaces "
                              "its folder as a whole)", where)
        cwd = os.path.realpath(os.getcwd())
        if cwd == real or cwd.startswith(real.rstrip(os.sep) + os.sep):
            raise OutputError("is (or contains) the current folder; give a dedicated report folder",
                              where)
        parent = os.path.dirname(real)
    else:
        parent = _nearest_existing(os.path.dirname(real))
        if not os.path.isdir(parent):
            raise OutputError(f"cannot be created: {parent} is not a directory", where)
    try:
        probe = tempfile.mkdtemp(prefix=f".{os.path.basename(real) or 'out'}.probe-", dir=parent)
    except OSError as exc:
        raise OutputError(f"cannot write beside it in {parent}: {exc.strerror}", where) from exc
    os.rmdir(probe)
    if os.path.isdir(real) and not os.access(real, os.W_OK | os.X_OK):
        raise OutputError("is not writable", where)


def _exchange(a: str, b: str) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); ``False`` when the system cannot."""
    func = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if func is None:
        return False
    rc = func(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), b)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _roll_back(stage: str, real: str, moved: list[str]) -> None:
    """Put moved foreign entries back, then drop the staging folder (kept if anything is still in it)."""
    stranded = False
    for entry in moved:
        try:
            os.rename(os.path.join(stage, entry), os.path.join(real, entry))
        except OSError:
            stranded = True
    if not stranded:
        shutil.rmtree(stage, ignore_errors=True)


@contextmanager
def _as_output_error(directory: str, swapped: Callable[[], bool]) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        state = ("the new reports are complete, but the old set could not be removed"
                 if swapped() else f"the previous reports in {directory} are unchanged")
        # NOTE: name the user's folder, not our staging path, and the file that failed.
        what = f" ({os.path.basename(str(exc.filename))})" if exc.filename else ""
        raise OutputError(f"cannot write the reports{what}: {exc.strerror or exc} ({state})",
                          Location(directory)) from exc


def write_set(directory: str, files: Mapping[str, Content], owned: Collection[str] = (),
              writer: FileWriter | None = None) -> dict[str, str]:
    """Replace the report set in ``directory`` by ``files`` (name -> content), all or nothing.

    Entries of the old folder named in ``files`` or ``owned`` (every file a report set can hold)
    belong to the old set and go with it; anything else (inputs, keys) is moved into the new
    folder. Raises :class:`OutputError` on any filesystem error, with the old set untouched.
    Returns name -> path of the files written. ``writer`` defaults to :func:`write_new_file`.
    """
    write = writer or write_new_file
    real = os.path.realpath(directory)
    parent, name = os.path.dirname(real), os.path.basename(real)
    ours = set(files) | set(owned)
    moved: list[str] = []
    stage = ""
    done = False

    with _as_output_error(directory, lambda: done):
        os.makedirs(parent, exist_ok=True)
        stage = tempfile.mkdtemp(prefix=f".{name}.new-", dir=parent)
        try:
            for fname, data in files.items():
                write(os.path.join(stage, fname), data)
            exists = os.path.isdir(real)
            if exists:
                for entry in sorted(os.listdir(real)):
                    if entry in ours or entry.startswith(".tmp-"):
                        continue
                    os.rename(os.path.join(real, entry), os.path.join(stage, entry))
                    moved.append(entry)
            # The new folder keeps the old one's permissions (mkdtemp made it 0700).
            os.chmod(stage, stat.S_IMODE(os.stat(real).st_mode) if exists else 0o755 & ~_umask())
            _fsync_dir(stage)
            if not exists:
                os.rename(stage, real)
                old = None
            elif _exchange(stage, real):
                old = stage
            else:
                old = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
                os.rmdir(old)
                os.rename(real, old)
                try:
                    os.rename(stage, real)
                except BaseException:
                    os.rename(old, real)
                    raise
            done = True
        except BaseException:
            if not done:
                _roll_back(stage, real, moved)
            raise
        _fsync_dir(parent)
        if old is not None:
            # The old folder now holds only the old set (foreign entries were moved out).
            shutil.rmtree(old)
    return {fname: os.path.join(directory, fname) for fname in files}
