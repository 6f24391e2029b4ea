"""Report sets are atomic as a set, and an unusable --out is refused (exit 3) before anything is collected.

Failures are injected mid-write three ways: a writer that raises ENOSPC after k files, a real full
tmpfs (when we may mount one), and SIGINT delivered to a real ``aslcheck check`` subprocess.
After each, ``--out`` must hold the complete old set (it verifies against its own snapshot) and
no staging folder may be left behind.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aslcheck.cli import main
from aslcheck.cli.exitcodes import ExitCode
from aslcheck.reports import atomic
from aslcheck.reports.atomic import OutputError, check_output_dir, write_set
from tests.reports.conftest import BASE_ARGS, DATA, bucket, realistic_snapshot, snapshot_of

REPO = Path(__file__).resolve().parents[2]
CONFIG = ["--config", str(DATA / "aslcheck.yaml")]
SET = {"attestation.dsse.json", "results.json", "summary.md", "junit.xml", "snapshot.json"}


@pytest.fixture
def lab(tmp_path: Path, keypair: Any) -> dict[str, str]:
    key, pub = keypair("k")
    old = tmp_path / "old.json"
    old.write_bytes(realistic_snapshot().canonical_bytes())
    new = tmp_path / "new.json"
    new.write_bytes(realistic_snapshot(regress=True).canonical_bytes())
    return {"key": key, "pub": pub, "old": str(old), "new": str(new), "out": str(tmp_path / "reports")}


def check(lab: dict[str, str], which: str, *extra: str, out: str | None = None) -> int:
    return main(["check", "--snapshot", lab[which], *BASE_ARGS, *CONFIG, "--out", out or lab["out"],
                 "--sign-key", lab["key"], "--quiet", *extra])


def assert_whole_old_set(lab: dict[str, str], out: str | None = None) -> None:
    """``out`` holds exactly the first run's set, and it verifies against its own snapshot."""
    directory = Path(out or lab["out"])
    assert {p.name for p in directory.iterdir()} >= SET
    assert (directory / "snapshot.json").read_bytes() == Path(lab["old"]).read_bytes()
    assert main(["verify", str(directory / "attestation.dsse.json"), "--key", lab["pub"],
                 "--snapshot", str(directory / "snapshot.json")]) == ExitCode.OK
    results = json.loads((directory / "results.json").read_text())
    statement = json.loads(_payload(directory / "attestation.dsse.json"))
    assert statement["predicate"]["results"]["evaluated_at"] == results["evaluated_at"]
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    assert results["digests"]["snapshot"] == subjects["snapshot.json"]
    leftovers = [p.name for p in directory.parent.iterdir() if p.name.startswith(f".{directory.name}.")]
    assert not leftovers, leftovers


def _payload(path: Path) -> str:
    import base64

    return base64.b64decode(json.loads(path.read_text())["payload"]).decode()


# -- ENOSPC from an injected writer, after each possible number of files ---------------------------
@pytest.mark.parametrize("after", range(5))
def test_enospc_mid_set_keeps_the_old_set(lab: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                          capsys: Any, after: int) -> None:
    assert check(lab, "old") == ExitCode.FAIL
    written: list[str] = []
    real = atomic.write_new_file

    def full_disk(path: str, data: bytes) -> None:
        if len(written) == after:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        real(path, data)
        written.append(path)

    monkeypatch.setattr(atomic, "write_new_file", full_disk)
    capsys.readouterr()
    assert check(lab, "new") == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert "No space left on device" in err and "unchanged" in err and "Traceback" not in err
    assert f"{lab['out']}: cannot write the reports" in err and ".new-" not in err
    monkeypatch.undo()
    assert_whole_old_set(lab)


def test_failing_exchange_and_fallback_swap(lab: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert check(lab, "old") == ExitCode.FAIL
    # Without renameat2 (other kernels, some filesystems) the two-rename fallback still swaps.
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    assert check(lab, "new") == ExitCode.FAIL
    assert Path(lab["out"], "snapshot.json").read_bytes() == Path(lab["new"]).read_bytes()
    # A failure in the swap itself leaves the old set.
    assert check(lab, "old") == ExitCode.FAIL

    def broken(a: str, b: str) -> bool:
        raise OSError(errno.EIO, os.strerror(errno.EIO), b)

    monkeypatch.setattr(atomic, "_exchange", broken)
    assert check(lab, "new") == ExitCode.BAD_INPUT
    monkeypatch.undo()
    assert_whole_old_set(lab)


def test_stale_files_go_and_foreign_files_stay(lab: dict[str, str], tmp_path: Path) -> None:
    assert check(lab, "old", "--format", "json", "--format", "html") == ExitCode.FAIL
    out = Path(lab["out"])
    (out / "notes.txt").write_text("mine")
    (out / "inputs").mkdir()
    (out / "inputs" / "aslcheck.yaml").write_text("version: 1\n")
    # An unsigned run: the old attestation must not stay beside the new snapshot, nor the old HTML.
    assert main(["check", "--snapshot", lab["new"], *BASE_ARGS, *CONFIG, "--out", lab["out"], "--quiet",
                 "--format", "json"]) == ExitCode.FAIL
    names = {p.name for p in out.iterdir()}
    assert names == {"results.json", "snapshot.json", "notes.txt", "inputs"}
    assert (out / "notes.txt").read_text() == "mine" and (out / "inputs" / "aslcheck.yaml").exists()
    assert (out / "snapshot.json").read_bytes() == Path(lab["new"]).read_bytes()


def test_write_set_rolls_back_foreign_entries(tmp_path: Path) -> None:
    out = tmp_path / "r"
    write_set(str(out), {"results.json": b"old"}, {"results.json"})
    (out / "keep.key").write_text("k")

    def fail_late(path: str, data: bytes) -> None:
        if path.endswith("b.json"):
            raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT), path)
        atomic.write_new_file(path, data)

    with pytest.raises(OutputError, match="quota"):
        write_set(str(out), {"results.json": b"new", "b.json": b"x"}, {"results.json"}, fail_late)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    assert (out / "results.json").read_bytes() == b"old" and (out / "keep.key").read_text() == "k"


# -- A real full disk: a small tmpfs -------------------------------------------------------------
@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs mounted under tmp_path (needs root and mount rights), always unmounted."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0755", "tmpfs", str(mnt)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_real_enospc_keeps_the_old_set(lab: dict[str, str], tmpfs: Path, tmp_path: Path, capsys: Any) -> None:
    out = str(tmpfs / "reports")
    assert check(lab, "old", out=out) == ExitCode.FAIL
    # A snapshot that cannot fit beside the old set: the staging copy hits ENOSPC.
    filler = [bucket(f"weights-{i:04d}", attrs_pad="x" * 600) for i in range(900)]
    big = tmp_path / "big.json"
    big.write_bytes(snapshot_of(*filler).canonical_bytes())
    lab = dict(lab, new=str(big))
    capsys.readouterr()
    assert check(lab, "new", out=out) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    assert_whole_old_set(lab, out)


def test_read_only_out_is_refused_before_collection(lab: dict[str, str], tmpfs: Path, capsys: Any) -> None:
    out = tmpfs / "reports"
    assert check(lab, "old", out=str(out)) == ExitCode.FAIL
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    try:
        capsys.readouterr()
        assert check(lab, "new", out=str(out)) == ExitCode.BAD_INPUT
        err = capsys.readouterr().err
        assert str(out) in err and "Read-only file system" in err and "Traceback" not in err
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(tmpfs)], check=True)
    assert_whole_old_set(lab, str(out))


# -- Odd --out values: exit 3 with the path and the reason, before anything is collected ----------
def test_odd_out_is_bad_input_before_collection(lab: dict[str, str], tmp_path: Path, capsys: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    cases = [(str(a_file), "is not a directory"), ("/dev/null", "is not a directory"),
             (str(a_file / "sub"), "is not a directory"), (str(tmp_path), "current folder")]
    monkeypatch.chdir(tmp_path)
    if os.path.ismount("/proc"):
        cases.append(("/proc", "mount point"))
    for out, reason in cases:
        # scan against an unreachable endpoint: were anything collected, it would report
        # INCONCLUSIVE (exit 2) after retries; refusing --out first makes it exit 3 at once.
        code = main(["scan", *BASE_ARGS, *CONFIG, "--aws", "--endpoint-url", "http://127.0.0.1:9",
                     "--region", "us-east-1", "--out", out, "--quiet"])
        err = capsys.readouterr().err
        assert code == ExitCode.BAD_INPUT, (out, err)
        assert out in err and reason in err and "Traceback" not in err, err
    assert a_file.read_text() == "x"
    with pytest.raises(OutputError):
        check_output_dir("/dev/null")


def test_unwritable_out_as_non_root(lab: dict[str, str], tmp_path: Path, capsys: Any) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes through mode 0555 (the tmpfs test covers read-only for root)")
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        assert check(lab, "old", out=str(parent / "reports")) == ExitCode.BAD_INPUT
        assert "cannot write beside it" in capsys.readouterr().err
    finally:
        parent.chmod(0o755)


# -- SIGINT delivered to a real aslcheck process mid-write ---------------------------------------
INTERRUPT = textwrap.dedent("""
    import os, signal, sys
    from aslcheck.reports import atomic
    from aslcheck.cli import main
    real, count = atomic.write_new_file, []
    def interrupting(path, data):
        real(path, data)
        count.append(path)
        if len(count) == int(os.environ["AFTER"]):
            os.kill(os.getpid(), signal.SIGINT)
    atomic.write_new_file = interrupting
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.parametrize("after", [1, 3, 5])
def test_sigint_mid_write_keeps_the_old_set(lab: dict[str, str], after: int) -> None:
    assert check(lab, "old") == ExitCode.FAIL
    args = ["check", "--snapshot", lab["new"], *BASE_ARGS, *CONFIG, "--out", lab["out"],
            "--sign-key", lab["key"], "--quiet"]
    proc = subprocess.run([sys.executable, "-c", INTERRUPT, *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO, env={**os.environ, "AFTER": str(after)}, check=False)
    assert proc.returncode == 130, proc.stderr
    assert "interrupted" in proc.stderr and "Traceback" not in proc.stderr
    assert_whole_old_set(lab)


def test_a_complete_new_set_replaces_the_old(lab: dict[str, str]) -> None:
    assert check(lab, "old") == ExitCode.FAIL
    assert check(lab, "new") == ExitCode.FAIL
    out = Path(lab["out"])
    assert (out / "snapshot.json").read_bytes() == Path(lab["new"]).read_bytes()
    assert main(["verify", str(out / "attestation.dsse.json"), "--key", lab["pub"],
                 "--snapshot", str(out / "snapshot.json")]) == ExitCode.OK

