"""End-to-end CLI on the small test catalog: exit codes, reports, verify, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aslcheck.cli import main
from aslcheck.cli.exitcodes import ExitCode
from tests.core.conftest import DATA, bucket, snap

BASE = ["--no-default-catalog", "--catalog", str(DATA / "catalog.yaml"), "--rules", str(DATA / "rules.yaml"),
        "--config", str(DATA / "aslcheck.yaml")]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    prefix = tmp_path / "key"
    assert main(["keygen", str(prefix)]) == 0
    good = tmp_path / "good.json"
    good.write_bytes(snap(bucket("a")).canonical_bytes())
    bad = tmp_path / "bad.json"
    bad.write_bytes(snap(bucket("a"), bucket("b", versioning="Suspended")).canonical_bytes())
    return {"key": f"{prefix}.key", "pub": f"{prefix}.pub", "good": str(good), "bad": str(bad),
            "out": str(tmp_path / "reports")}


def check(env: dict[str, str], snapshot: str, *extra: str) -> int:
    return main(["check", "--snapshot", snapshot, *BASE, "--out", env["out"], "--sign-key", env["key"],
                 "--quiet", *extra])


def test_exit_codes(env: dict[str, str]) -> None:
    assert check(env, env["bad"]) == ExitCode.FAIL
    # Manual T3-PR-1 is not attested: INCOMPLETE, unless manual controls are report-only.
    assert check(env, env["good"]) == ExitCode.INCOMPLETE
    assert check(env, env["good"], "--profile", "asl2") == ExitCode.OK


def test_manual_report_only_still_gates_on_inconclusive(env: dict[str, str], tmp_path: Path) -> None:
    from aslcheck.inventories.snapshot import Resource

    # Only the human part is missing (manual T3-PR-1, partial T3-LM-1): report-only mode exits 0.
    assert check(env, env["good"], "--manual", "report") == ExitCode.OK
    # Missing evidence still gates, whatever the manual mode.
    blind = Resource(kind="aws.s3.bucket", id="arn:aws:s3:::a", source="aws", attributes={},
                     tags={"asl:asset": "model-weights"})
    missing = tmp_path / "m.json"
    missing.write_bytes(snap(blind).canonical_bytes())
    assert check(env, str(missing), "--manual", "report") == ExitCode.INCOMPLETE


def test_reports_written_and_verify(env: dict[str, str], capsys: Any) -> None:
    check(env, env["bad"])
    out = Path(env["out"])
    assert {p.name for p in out.iterdir()} == {
        "attestation.dsse.json", "results.json", "summary.md", "junit.xml", "snapshot.json"}
    results = json.loads((out / "results.json").read_text())
    assert results["summary"]["fail"] >= 1
    att = str(out / "attestation.dsse.json")
    assert main(["verify", att, "--key", env["pub"], "--snapshot", str(out / "snapshot.json"),
                 "--config", str(DATA / "aslcheck.yaml")]) == ExitCode.OK
    # Change one byte of the snapshot: verify names the digest mismatch.
    assert main(["verify", att, "--key", env["pub"], "--snapshot", env["good"]]) == ExitCode.VERIFY_FAILED
    assert "snapshot.json digest differs" in capsys.readouterr().err
    # Change one byte of the payload.
    doc = json.loads(Path(att).read_text())
    doc["payload"] = doc["payload"][:40] + ("A" if doc["payload"][40] != "A" else "B") + doc["payload"][41:]
    tampered = out / "tampered.json"
    tampered.write_text(json.dumps(doc))
    assert main(["verify", str(tampered), "--key", env["pub"]]) == ExitCode.VERIFY_FAILED
    assert "signature check failed" in capsys.readouterr().err


@pytest.mark.parametrize(("edit", "needle"), [
    (lambda t: t.replace("    domain: WA\n", "    domain: WA\n    colour: red\n"), "unknown key 'colour'"),
    (lambda t: t.replace("id: T2-WA-1", "id: T2-EN-1"), "duplicate control ID"),
    (lambda t: t.replace("[test.s3.kms]", "[test.s3.missing]"), "does not exist"),
])
def test_bad_catalog_writes_nothing(env: dict[str, str], tmp_path: Path, capsys: Any, edit: Any,
                                    needle: str) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(edit((DATA / "catalog.yaml").read_text()))
    args = ["check", "--snapshot", env["good"], "--no-default-catalog", "--catalog", str(broken),
            "--rules", str(DATA / "rules.yaml"), "--config", str(DATA / "aslcheck.yaml"),
            "--out", env["out"], "--sign-key", env["key"]]
    assert main(args) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert needle in err and f"{broken}:" in err and "Traceback" not in err
    assert not os.path.exists(env["out"])


def test_usage_errors_are_bad_input(capsys: Any) -> None:
    assert main(["check"]) == ExitCode.BAD_INPUT
    assert main(["nonsense"]) == ExitCode.BAD_INPUT
    assert main(["--help"]) == 0
    capsys.readouterr()


def test_console_script_runs() -> None:
    proc = subprocess.run([sys.executable, "-m", "aslcheck", "--version"], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0 and "aslcheck" in proc.stdout


# -- No config, no PASS (issue 10 class 10) ----------------------------------------------------------
NO_CONFIG = ["--no-default-catalog", "--catalog", str(DATA / "catalog.yaml"), "--rules", str(DATA / "rules.yaml")]


def _statuses(out: Path) -> dict[str, str]:
    return {c["id"]: c["status"] for c in json.loads((out / "results.json").read_text())["controls"]}


def test_no_config_is_never_a_pass(env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./aslcheck.yaml here
    out = tmp_path / "nocfg"
    for manual in ("gate", "report"):
        code = main(["check", "--snapshot", env["good"], *NO_CONFIG, "--out", str(out), "--quiet",
                     "--manual", manual])
        assert code == ExitCode.INCOMPLETE, manual
    results = json.loads((out / "results.json").read_text())
    statuses = _statuses(out)
    assert "pass" not in statuses.values() and "not_applicable" not in statuses.values()
    automated = [c for c in results["controls"] if c["verification"] != "manual"]
    assert automated and all(c["status"] == "inconclusive" for c in automated)
    assert all("nothing in scope" in c["reason"] for c in automated)


@pytest.mark.parametrize(("text", "needle"), [
    ("", "the file is empty"),
    ("version: 1\n", "'weights' is a required property"),
    ("version: 1\nweights: {}\n", "should be non-empty"),
    ("version: 1\nweights:\n  aws: {}\n", "weights.aws"),
])
def test_config_declaring_nothing_is_bad_input(env: dict[str, str], tmp_path: Path, capsys: Any,
                                               text: str, needle: str) -> None:
    cfg = tmp_path / "aslcheck.yaml"
    cfg.write_text(text)
    out = tmp_path / "out"
    assert main(["check", "--snapshot", env["good"], *NO_CONFIG, "--config", str(cfg),
                 "--out", str(out), "--quiet"]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert str(cfg) in err and "Traceback" not in err
    assert not out.exists()


def test_config_found_in_cwd(env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: Any) -> None:
    explicit = tmp_path / "explicit"
    assert check(env, env["bad"], "--out", str(explicit)) == ExitCode.FAIL
    work = tmp_path / "work"
    work.mkdir()
    (work / "aslcheck.yaml").write_bytes((DATA / "aslcheck.yaml").read_bytes())
    monkeypatch.chdir(work)
    found = tmp_path / "found"
    assert main(["check", "--snapshot", env["bad"], *NO_CONFIG, "--out", str(found)]) == ExitCode.FAIL
    assert "using ./aslcheck.yaml" in capsys.readouterr().err
    assert _statuses(found) == _statuses(explicit)
    # --config still wins over ./aslcheck.yaml.
    (work / "aslcheck.yaml").write_text("version: 1\nweights: {}\n")
    assert main(["check", "--snapshot", env["bad"], *BASE, "--out", str(found), "--quiet"]) == ExitCode.FAIL


def test_engine_without_any_family_in_scope_is_inconclusive(catalog: Any, registry: Any) -> None:
    from aslcheck.checks.engine import Options, evaluate
    from aslcheck.controls.config import Config

    snapshot = snap(bucket("a"))
    for options in (None, Options(families=frozenset())):
        run = evaluate(catalog, "asl3", registry, snapshot, Config(), options=options)
        statuses = {r.status.value for r in run.results}
        assert statuses <= {"inconclusive", "not_attested"} and "inconclusive" in statuses


# -- A reader that closes the pipe (`| head`) ----------------------------------------------------------
def _closed_pipe_run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI with stdout on a pipe whose read end is already closed: every write is EPIPE."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "aslcheck", *args], stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=120, cwd=cwd, check=False)
    finally:
        os.close(write)


@pytest.mark.parametrize(("which", "expected"), [("bad", ExitCode.FAIL), ("good", ExitCode.INCOMPLETE)])
def test_broken_pipe_keeps_the_real_exit_code(env: dict[str, str], which: str, expected: int) -> None:
    repo = Path(__file__).resolve().parents[2]
    proc = _closed_pipe_run(["check", "--snapshot", env[which], *BASE, "--out", env["out"]], repo)
    assert proc.returncode == expected, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    results = str(Path(env["out"]) / "results.json")
    # diff prints with plain print(): before, that was a traceback and exit 70.
    proc = _closed_pipe_run(["diff", results, results], repo)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr


def test_broken_pipe_on_listing_commands(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    for args in (["controls", "list"], ["--help"], ["controls", "show", "ASL3-EN-1"]):
        proc = _closed_pipe_run(args, repo)
        assert proc.returncode == 0, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, (args, proc.stderr)


def test_keygen_creates_its_folder(tmp_path: Path, capsys: Any) -> None:
    prefix = tmp_path / "home" / ".aslcheck" / "audit"
    assert main(["keygen", str(prefix)]) == ExitCode.OK
    assert (prefix.parent / "audit.key").exists() and (prefix.parent / "audit.pub").exists()
    assert prefix.parent.stat().st_mode & 0o777 == 0o700
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["keygen", str(blocker / "sub" / "k")]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert "cannot create the key folder" in err and "Traceback" not in err
