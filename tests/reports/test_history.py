"""History of signed scans: append, verify, and detect edited, deleted, reordered or re-chained entries."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aslcheck.cli import main
from aslcheck.cli.exitcodes import ExitCode
from aslcheck.errors import VerificationError
from aslcheck.inventories.snapshot import canonical_json
from aslcheck.reports.history import GENESIS, INDEX_FILE, verify_history
from aslcheck.reports.signing import generate_keypair, load_public_key
from tests.reports.conftest import BASE_ARGS, DATA, realistic_snapshot

Keys = Callable[[str], tuple[str, str]]


@dataclass
class Hist:
    dir: Path
    key: str
    pub: str
    out: Path
    snapshots: dict[str, str]

    def check(self, which: str, *extra: str) -> int:
        return main(["check", "--snapshot", self.snapshots[which], *BASE_ARGS, "--config", str(DATA / "aslcheck.yaml"),
                     "--out", str(self.out), "--quiet", "--sign-key", self.key, "--history", str(self.dir), *extra])

    def verify(self, *extra: str) -> int:
        return main(["history", "verify", str(self.dir), "--key", self.pub, *extra])

    @property
    def index(self) -> Path:
        return self.dir / INDEX_FILE

    def lines(self) -> list[bytes]:
        return self.index.read_bytes().splitlines()

    def write_lines(self, lines: list[bytes]) -> None:
        self.index.write_bytes(b"".join(ln + b"\n" for ln in lines))

    def problems(self) -> list[str]:
        with pytest.raises(VerificationError) as exc:
            verify_history(str(self.dir), [load_public_key(self.pub)])
        return exc.value.problems


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Hist:
    """Three nightly runs (good, good, planted regression), built once per module."""
    base = tmp_path_factory.mktemp("hist")
    prefix = str(base / "nightly")
    generate_keypair(prefix + ".key", prefix + ".pub", None)
    snaps = {}
    for name, regress in (("good", False), ("bad", True)):
        path = base / f"{name}.json"
        path.write_bytes(realistic_snapshot(regress).canonical_bytes())
        snaps[name] = str(path)
    h = Hist(base / "history", prefix + ".key", prefix + ".pub", base / "reports", snaps)
    for which in ("good", "good", "bad"):
        assert h.check(which) == ExitCode.FAIL
    return h


@pytest.fixture
def hist(template: Hist, tmp_path: Path) -> Hist:
    """A private copy of the template history."""
    shutil.copytree(template.dir, tmp_path / "history")
    return Hist(tmp_path / "history", template.key, template.pub, tmp_path / "reports", template.snapshots)


def test_three_runs_verify(hist: Hist, capsys: Any) -> None:
    report = verify_history(str(hist.dir), [load_public_key(hist.pub)])
    assert [e.sequence for e in report.entries] == [1, 2, 3]
    assert report.entries[0].previous == GENESIS
    assert report.entries[1].previous == hashlib.sha256(hist.lines()[0]).hexdigest()
    assert report.head == hashlib.sha256(hist.lines()[2]).hexdigest()
    assert hist.verify() == ExitCode.OK
    out = capsys.readouterr().out
    assert "OK: 3 entr(ies) verified" in out and report.head in out
    assert sorted(p.name for p in (hist.dir / "attestations").iterdir())[0].startswith("000001-")


def test_stored_attestation_is_the_written_one(template: Hist) -> None:
    stored = template.dir / json.loads(template.lines()[2])["file"]
    assert stored.read_bytes() == (template.out / "attestation.dsse.json").read_bytes()


def test_edited_entry_is_detected(hist: Hist, capsys: Any) -> None:
    lines = hist.lines()
    entry = json.loads(lines[1])
    entry["summary"]["fail"] = 0
    entry["summary"]["pass"] += 5
    hist.write_lines([lines[0], canonical_json(entry), lines[2]])
    problems = hist.problems()
    assert "entry 2: field 'summary' differs from the signed attestation (entry edited)" in problems
    assert any(p.startswith("entry 3: previous-entry digest does not match line 2") for p in problems)
    assert hist.verify() == ExitCode.VERIFY_FAILED
    assert "entry 2: field 'summary' differs" in capsys.readouterr().err


def test_edited_last_entry_is_detected(hist: Hist) -> None:
    lines = hist.lines()
    entry = json.loads(lines[2])
    entry["evaluatedAt"] = "2020-01-01T00:00:00Z"
    hist.write_lines([*lines[:2], canonical_json(entry)])
    assert hist.problems() == ["entry 3: field 'evaluatedAt' differs from the signed attestation (entry edited)"]


def test_deleted_entry_is_detected(hist: Hist) -> None:
    lines = hist.lines()
    hist.write_lines([lines[0], lines[2]])
    problems = hist.problems()
    assert "entry 2: says sequence 3 (entries deleted or reordered)" in problems
    assert any(p.endswith("is not in the index (entry deleted?)") and "000002-" in p for p in problems)


def test_reordered_entries_are_detected(hist: Hist) -> None:
    lines = hist.lines()
    hist.write_lines([lines[0], lines[2], lines[1]])
    problems = hist.problems()
    assert "entry 2: says sequence 3 (entries deleted or reordered)" in problems
    assert "entry 3: says sequence 2 (entries deleted or reordered)" in problems


def test_rechained_history_is_detected(hist: Hist) -> None:
    """Delete entry 2 and its file and recompute the unkeyed chain: the signed links still disagree."""
    lines = hist.lines()
    first, third = json.loads(lines[0]), json.loads(lines[2])
    (hist.dir / json.loads(lines[1])["file"]).unlink()
    third["sequence"] = 2
    third["previous"] = hashlib.sha256(lines[0]).hexdigest()
    hist.write_lines([canonical_json(first), canonical_json(third)])
    problems = hist.problems()
    assert len(problems) == 1 and problems[0].startswith("entry 2: the signed history link")


def test_edited_or_swapped_attestation_is_detected(hist: Hist) -> None:
    files = [hist.dir / json.loads(ln)["file"] for ln in hist.lines()]
    shutil.copy(files[2], files[1])
    assert hist.problems() == [f"entry 2: attestations/{files[1].name} does not match its recorded sha256 "
                               "(attestation edited or replaced)"]


def test_tail_truncation_needs_a_pinned_head(hist: Hist) -> None:
    lines = hist.lines()
    head = hashlib.sha256(lines[2]).hexdigest()
    # Dropping only the last line leaves its attestation behind: an orphan.
    hist.write_lines(lines[:2])
    assert hist.problems() == [f"attestations/{json.loads(lines[2])['file'].split('/')[1]} is not in the index "
                               "(entry deleted?)"]
    # Dropping line and file cannot be seen from inside the directory, only against a recorded head.
    (hist.dir / json.loads(lines[2])["file"]).unlink()
    assert hist.verify() == ExitCode.OK
    assert hist.verify("--expect-head", head) == ExitCode.VERIFY_FAILED
    assert hist.verify("--expect-head", hashlib.sha256(lines[0]).hexdigest()) == ExitCode.OK


def test_wrong_key_is_refused(hist: Hist, keypair: Keys) -> None:
    _, other = keypair("other")
    assert main(["history", "verify", str(hist.dir), "--key", other]) == ExitCode.VERIFY_FAILED


def test_damaged_index_refuses_to_append(hist: Hist, capsys: Any) -> None:
    hist.write_lines([*hist.lines()[:2], b"{not json"])
    capsys.readouterr()
    assert hist.check("good") == ExitCode.BAD_INPUT
    assert "history index is damaged at line 3" in capsys.readouterr().err


def test_history_needs_a_signing_key(hist: Hist, tmp_path: Path, capsys: Any) -> None:
    code = main(["check", "--snapshot", hist.snapshots["good"], *BASE_ARGS, "--out", str(tmp_path / "x"), "--quiet",
                 "--history", str(tmp_path / "h2")])
    assert code == ExitCode.BAD_INPUT
    assert "--history stores signed attestations" in capsys.readouterr().err


def test_history_text(hist: Hist, capsys: Any) -> None:
    capsys.readouterr()
    assert main(["history", str(hist.dir)]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "3 run(s)" in out and "NOT verified" in out
    assert "R3-NW-1  PPF  pass -> fail" in out
    assert "R2-WA-1  FFF  fail" in out
    assert main(["history", str(hist.dir), "--control", "R3-NW-1", "--key", hist.pub]) == ExitCode.OK
    out = capsys.readouterr().out
    assert ", verified" in out
    rows = [ln for ln in out.splitlines() if ln.startswith("  #")]
    assert [r.split()[2] for r in rows] == ["pass", "pass", "fail"]
    assert "rpt.ec2.no_public_snapshots" in rows[2]


def test_html_report_shows_history(hist: Hist) -> None:
    assert hist.check("good", "--format", "html") == ExitCode.FAIL
    html = (hist.out / "report.html").read_text()
    strip = html.split('id="control-R3-NW-1"', 1)[1].split("</svg>", 1)[0]
    assert strip.count("<rect") == 4  # three stored runs plus this one
    assert strip.count(": PASS</title>") == 3 and strip.count(": FAIL</title>") == 1
    assert len(hist.lines()) == 4


def test_torn_last_line_is_detected(hist: Hist, capsys: Any) -> None:
    data = hist.index.read_bytes()
    hist.index.write_bytes(data[:-1])  # the final newline is lost: an interrupted append
    assert any("entry 3: not a valid index line (line is not terminated" in p for p in hist.problems())
    capsys.readouterr()
    assert hist.check("good") == ExitCode.BAD_INPUT
    assert "damaged at line 3" in capsys.readouterr().err


def test_history_of_a_missing_or_foreign_dir_is_bad_input(tmp_path: Path, capsys: Any, keypair: Keys) -> None:
    _, pub = keypair("h")
    missing = tmp_path / "no-such-history"
    foreign = tmp_path / "just-a-folder"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("x")
    for args in (["history", str(missing)], ["history", str(missing), "--control", "R3-NW-1"],
                 ["history", "verify", str(missing), "--key", pub], ["history", str(foreign)],
                 ["history", str(foreign), "--key", pub]):
        assert main(args) == ExitCode.BAD_INPUT, args
        err = capsys.readouterr().err
        assert args[-1] in err or str(missing) in err or str(foreign) in err
        assert "Traceback" not in err
    assert not missing.exists()
