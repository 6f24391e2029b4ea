"""diff: regressions, improvements, evidence changes; --fail-on-regression; signatures when --key is given."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aslcheck.cli import main
from aslcheck.cli.exitcodes import ExitCode
from aslcheck.reports.attestation import write_reports
from aslcheck.reports.diff import ChangeKind, classify, diff_runs, load_run
from aslcheck.reports.model import ControlStatus as S
from aslcheck.reports.render.json_ import JsonRenderer
from aslcheck.reports.signing import load_signer
from tests.reports.conftest import RunFactory, realistic_snapshot

Keys = Callable[[str], tuple[str, str]]


@pytest.fixture
def scans(make_run: RunFactory, keypair: Keys, tmp_path: Path) -> dict[str, str]:
    """Two signed scans; the second has one planted regression (a public EBS snapshot)."""
    key, pub = keypair("nightly")
    out: dict[str, str] = {"pub": pub}
    for name, regress in (("old", False), ("new", True)):
        written = write_reports(make_run(snap=realistic_snapshot(regress)), str(tmp_path / name), [JsonRenderer()],
                                [load_signer(key)])
        out[name] = written.files["attestation"]
        out[f"{name}.json"] = written.files["json"]
    return out


def test_planted_regression_fails_and_is_named(scans: dict[str, str], capsys: Any) -> None:
    assert main(["diff", scans["old"], scans["new"], "--fail-on-regression"]) == ExitCode.FAIL
    out = capsys.readouterr().out
    assert "Regressions (1):" in out
    assert "R3-NW-1 No public snapshots: pass -> fail" in out
    assert "rpt.ec2.no_public_snapshots on arn:aws:ec2:us-east-1:111122223333:snapshot/snap-1: pass -> fail" in out
    assert "not verified" in out
    # Without the flag the diff is informational.
    assert main(["diff", scans["old"], scans["new"]]) == ExitCode.OK
    # The other direction is an improvement, not a regression.
    assert main(["diff", scans["new"], scans["old"], "--fail-on-regression"]) == ExitCode.OK
    assert "Improvements (1):" in capsys.readouterr().out


def test_verified_diff_and_tampering(scans: dict[str, str], keypair: Keys, tmp_path: Path, capsys: Any) -> None:
    assert main(["diff", scans["old"], scans["new"], "--key", scans["pub"], "--fail-on-regression"]) == ExitCode.FAIL
    assert "verified (1 key(s))" in capsys.readouterr().out
    _, other = keypair("other")
    assert main(["diff", scans["old"], scans["new"], "--key", other]) == ExitCode.VERIFY_FAILED
    # Hide the regression by editing the payload: the signature no longer verifies.
    env = json.loads(Path(scans["new"]).read_text())
    stmt = json.loads(base64.b64decode(env["payload"]))
    for c in stmt["predicate"]["results"]["controls"]:
        if c["id"] == "R3-NW-1":
            c["status"] = "pass"
    env["payload"] = base64.b64encode(json.dumps(stmt).encode()).decode()
    forged = tmp_path / "forged.dsse.json"
    forged.write_text(json.dumps(env))
    assert main(["diff", scans["old"], str(forged), "--key", scans["pub"]]) == ExitCode.VERIFY_FAILED
    assert "signature check failed" in capsys.readouterr().err


def test_results_json_inputs(scans: dict[str, str], capsys: Any) -> None:
    assert main(["diff", scans["old.json"], scans["new.json"], "--fail-on-regression", "--json"]) == ExitCode.FAIL
    doc = json.loads(capsys.readouterr().out)
    regressions = [c for c in doc["changes"] if c["kind"] == "regression"]
    assert [(c["control"], c["old"], c["new"]) for c in regressions] == [("R3-NW-1", "pass", "fail")]
    # results.json carries no signature: with --key it is refused, never trusted.
    assert main(["diff", scans["old.json"], scans["new.json"], "--key", scans["pub"]]) == ExitCode.VERIFY_FAILED
    assert "not a signed attestation" in capsys.readouterr().err


def test_bad_input(tmp_path: Path, scans: dict[str, str]) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"hello": 1}')
    assert main(["diff", str(junk), scans["new"]]) == ExitCode.BAD_INPUT
    assert main(["diff", str(tmp_path / "missing.json"), scans["new"]]) == ExitCode.BAD_INPUT


@pytest.mark.parametrize(("old", "new", "kind"), [
    (S.PASS, S.FAIL, ChangeKind.REGRESSION),
    (S.PASS, S.INCONCLUSIVE, ChangeKind.REGRESSION),
    (S.WAIVED, S.NOT_ATTESTED, ChangeKind.REGRESSION),
    (S.INCONCLUSIVE, S.FAIL, ChangeKind.REGRESSION),
    (S.NOT_ATTESTED, S.INCONCLUSIVE, ChangeKind.REGRESSION),
    (S.FAIL, S.INCONCLUSIVE, ChangeKind.STATUS_CHANGED),
    (S.FAIL, S.PASS, ChangeKind.IMPROVEMENT),
    (S.INCONCLUSIVE, S.WAIVED, ChangeKind.IMPROVEMENT),
    (S.PASS, S.WAIVED, ChangeKind.STATUS_CHANGED),
    (S.PASS, S.NOT_APPLICABLE, ChangeKind.STATUS_CHANGED),
    (None, S.FAIL, ChangeKind.REGRESSION),
    (None, S.PASS, ChangeKind.ADDED),
    (S.FAIL, None, ChangeKind.REMOVED),
    (S.FAIL, S.FAIL, None),
])
def test_classify(old: S | None, new: S | None, kind: ChangeKind | None) -> None:
    assert classify(old, new) is kind


def test_changed_evidence_with_same_status(make_run: RunFactory, tmp_path: Path) -> None:
    from tests.reports.conftest import bucket, snapshot_of

    def results(algorithm: str) -> str:
        run = make_run(snap=snapshot_of(bucket("w", encryption={"algorithm": algorithm, "key_manager": "CUSTOMER"})))
        path = tmp_path / f"{algorithm}.json"
        path.write_bytes(JsonRenderer().render(run))
        return str(path)

    d = diff_runs(load_run(results("AES256")), load_run(results("aws:s3")))
    changed = {c.control: c for c in d.of(ChangeKind.EVIDENCE_CHANGED)}
    assert "R2-EN-1" in changed and not d.regressions
    assert any('evidence encryption.algorithm: AES256 -> aws:s3' in line for line in changed["R2-EN-1"].details)


# -- Clock readings are not evidence -----------------------------------------------------------------
def _with_finding(results: dict[str, Any], evidence: dict[str, Any], reason: str,
                  error_message: str | None = None) -> dict[str, Any]:
    doc = json.loads(json.dumps(results))
    check = doc["controls"][0]["checks"][0]
    check["findings"][0]["evidence"] = evidence
    check["findings"][0]["reason"] = reason
    if error_message is not None:
        check["collection_errors"] = [{"source": "aws", "operation": "iam:GetUser", "code": "Throttling",
                                       "message": error_message, "resource": "arn:aws:iam::1:user/x"}]
    return doc


@pytest.mark.parametrize(("old", "new"), [
    # as_of of the key-age check: the collection time moves every night.
    (({"active_key_age_days": {"AKIA1": 10}, "as_of": "2026-11-27T02:00:00+00:00"}, "1 active key(s)"),
     ({"active_key_age_days": {"AKIA1": 10}, "as_of": "2026-11-28T02:00:03.123+00:00"}, "1 active key(s)")),
    # a host's clock, read as an epoch number
    (({"host_time_epoch": 1795750000, "manager": "apt"}, "up to date"),
     ({"host_time_epoch": 1795836400, "manager": "apt"}, "up to date")),
    # date-times inside reasons and collection error messages
    (({"x": 1}, "last checked 2026-11-27T02:00:00Z", "Rate exceeded at 2026-11-27 02:00:01"),
     ({"x": 1}, "last checked 2026-11-28T02:00:00Z", "Rate exceeded at 2026-11-28 02:00:09")),
])
def test_timestamp_only_changes_are_not_changed_evidence(scans: dict[str, str], tmp_path: Path, capsys: Any,
                                                         old: tuple[Any, ...], new: tuple[Any, ...]) -> None:
    base = load_run(scans["old.json"]).results
    paths = []
    for name, spec in (("a", old), ("b", new)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(_with_finding(dict(base), *spec)))
        paths.append(str(path))
    result = diff_runs(load_run(paths[0]), load_run(paths[1]))
    assert result.changes == ()
    assert main(["diff", *paths]) == ExitCode.OK
    assert "no changes" in capsys.readouterr().out


def test_real_changes_next_to_timestamps_are_still_reported(scans: dict[str, str], tmp_path: Path) -> None:
    base = load_run(scans["old.json"]).results
    cases = [
        ({"age_days": 10, "as_of": "2026-11-27T02:00:00Z"}, {"age_days": 95, "as_of": "2026-11-28T02:00:00Z"},
         "evidence age_days: 10 -> 95"),
        ({"expires": "2026-12-01"}, {"expires": "2027-12-01"}, "evidence expires"),  # a date is evidence
        ({"versioning": "Enabled", "collected_at": 1}, {"versioning": "Suspended", "collected_at": 2},
         "evidence versioning"),
    ]
    for i, (ea, eb, needle) in enumerate(cases):
        a, b = tmp_path / f"a{i}.json", tmp_path / f"b{i}.json"
        a.write_text(json.dumps(_with_finding(dict(base), ea, "r")))
        b.write_text(json.dumps(_with_finding(dict(base), eb, "r")))
        changes = diff_runs(load_run(str(a)), load_run(str(b))).changes
        assert len(changes) == 1 and changes[0].kind is ChangeKind.EVIDENCE_CHANGED
        assert any(needle in d for d in changes[0].details), changes[0].details
        assert not any("collected_at" in d or "as_of" in d for d in changes[0].details)
