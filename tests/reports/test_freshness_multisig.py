"""Validity windows, check_fresh, verify reporting expiry, and multi-party signatures."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from aslcheck.cli import main
from aslcheck.cli.exitcodes import ExitCode
from aslcheck.errors import BadInputError, VerificationError
from aslcheck.reports.attestation import predicate, subjects
from aslcheck.reports.freshness import check_fresh, parse_duration
from aslcheck.reports.model import RunResult
from aslcheck.reports.signing import (
    SigningError,
    add_signatures,
    keyid_of,
    load_public_key,
    load_signer,
    sign_statement,
    signer_from_uri,
    statement,
    verify_envelope,
)
from tests.reports.conftest import BASE_ARGS, DATA, NOW, RunFactory, realistic_snapshot

Keys = Callable[[str], tuple[str, str]]


def _envelope(run: RunResult, keys: list[str], valid_for: timedelta = timedelta(hours=26)) -> bytes:
    return sign_statement(statement(subjects(run), predicate(run, valid_for)), [load_signer(k) for k in keys])


@pytest.mark.parametrize(("text", "seconds"), [("26h", 93600), ("7d", 604800), ("90m", 5400), ("1d12h", 129600),
                                               ("2w", 1209600), ("45s", 45)])
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "0h", "26", "h", "1x", "-1d", "1d 2h", "1.5h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is checked in the CLI test
        parse_duration(text)


def test_predicate_carries_validity(run: RunResult) -> None:
    pred = predicate(run, timedelta(hours=26))
    assert pred["validity"] == {"notBefore": "2026-11-27T02:00:00Z", "notAfter": "2026-11-28T04:00:00Z"}
    with pytest.raises(ValueError, match="positive"):
        predicate(run, timedelta(0))


def test_check_fresh(run: RunResult, keypair: Keys) -> None:
    a_key, a_pub = keypair("a")
    _, other_pub = keypair("other")
    env = _envelope(run, [a_key])
    keys = [load_public_key(a_pub)]
    ok = check_fresh(env, keys, timedelta(hours=26), NOW + timedelta(hours=25))
    assert ok.statement["predicate"]["evaluatedAt"] == run.evaluated_at

    with pytest.raises(VerificationError) as stale:
        check_fresh(env, keys, timedelta(hours=2), NOW + timedelta(hours=3))
    assert stale.value.problems == ["stale evidence: evaluated 3h ago at 2026-11-27T02:00:00Z, maximum age 2h"]

    with pytest.raises(VerificationError) as expired:
        check_fresh(env, keys, timedelta(days=30), NOW + timedelta(hours=27))
    assert expired.value.problems == ["the attestation expired at 2026-11-28T04:00:00Z (1h ago)"]

    with pytest.raises(VerificationError, match="not valid before"):
        check_fresh(env, keys, timedelta(days=1), NOW - timedelta(hours=1))

    # Wrong key AND stale: both reasons are listed, the time claim marked unverified.
    with pytest.raises(VerificationError) as wrong:
        check_fresh(env, [load_public_key(other_pub)], timedelta(hours=1), NOW + timedelta(hours=2))
    assert wrong.value.problems[0].startswith("signature check failed: 0 of the 1")
    stale_claim = wrong.value.problems[1]
    assert stale_claim.startswith("stale evidence") and stale_claim.endswith("(unverified claim)")

    unsigned = json.loads(env)
    unsigned["signatures"] = []
    with pytest.raises(VerificationError, match="no signatures"):
        check_fresh(json.dumps(unsigned).encode(), keys, timedelta(days=1), NOW)
    with pytest.raises(VerificationError, match="not a DSSE envelope"):
        check_fresh(b'{"controls": []}', keys, timedelta(days=1), NOW)

    old = sign_statement(statement(subjects(run), {k: v for k, v in predicate(run).items() if k != "validity"}),
                         [load_signer(a_key)])
    with pytest.raises(VerificationError, match="no validity window"):
        check_fresh(old, keys, timedelta(days=1), NOW)


def test_threshold_zero_never_verifies(run: RunResult, keypair: Keys) -> None:
    a_key, a_pub = keypair("a")
    with pytest.raises(VerificationError, match="at least 1"):
        verify_envelope(_envelope(run, [a_key]), [load_public_key(a_pub)], threshold=0)


def test_verify_reports_expiry(make_run: RunFactory, keypair: Keys, tmp_path: Path, capsys: Any) -> None:
    a_key, a_pub = keypair("a")
    expired = tmp_path / "expired.dsse.json"
    old = make_run(now=datetime(2025, 1, 1, tzinfo=timezone.utc))
    expired.write_bytes(_envelope(old, [a_key]))  # valid 26h from 2025-01-01: long gone
    assert main(["verify", str(expired), "--key", a_pub]) == ExitCode.VERIFY_FAILED
    assert "the attestation expired at 2025-01-02T02:00:00Z" in capsys.readouterr().err


@pytest.fixture
def snapshot_file(tmp_path: Path) -> str:
    path = tmp_path / "snap.json"
    path.write_bytes(realistic_snapshot().canonical_bytes())
    return str(path)


def _check(snapshot: str, out: Path, *extra: str) -> int:
    return main(["check", "--snapshot", snapshot, *BASE_ARGS, "--config", str(DATA / "aslcheck.yaml"),
                 "--out", str(out), "--quiet", "--format", "json", *extra])


def test_cli_valid_for_and_verify_prints_window(snapshot_file: str, keypair: Keys, tmp_path: Path,
                                                capsys: Any) -> None:
    a_key, a_pub = keypair("a")
    out = tmp_path / "r"
    assert _check(snapshot_file, out, "--sign-key", a_key, "--valid-for", "26h") == ExitCode.FAIL
    att = out / "attestation.dsse.json"
    validity = json.loads(base64.b64decode(json.loads(att.read_text())["payload"]))["predicate"]["validity"]
    assert validity["notAfter"] > validity["notBefore"]
    capsys.readouterr()
    assert main(["verify", str(att), "--key", a_pub]) == ExitCode.OK
    assert f"valid {validity['notBefore']} until {validity['notAfter']}" in capsys.readouterr().out
    assert _check(snapshot_file, out, "--sign-key", a_key, "--valid-for", "soon") == ExitCode.BAD_INPUT
    assert "not a duration" in capsys.readouterr().err


def test_multi_party_signing_and_threshold(snapshot_file: str, keypair: Keys, tmp_path: Path, capsys: Any) -> None:
    a_key, a_pub = keypair("a")
    b_key, b_pub = keypair("b")
    c_key, c_pub = keypair("c")
    out = tmp_path / "r"
    assert _check(snapshot_file, out, "--sign-key", a_key, "--sign-key", f"file:{b_key}") == ExitCode.FAIL
    att = str(out / "attestation.dsse.json")
    assert len(json.loads(Path(att).read_text())["signatures"]) == 2

    assert main(["verify", att, "--threshold", "2", "--key", a_pub, "--key", b_pub]) == ExitCode.OK
    assert "signed by 2 trusted key(s)" in capsys.readouterr().out
    # The same trusted key twice is one key: 1 of 2.
    assert main(["verify", att, "--threshold", "2", "--key", a_pub, "--key", a_pub]) == ExitCode.VERIFY_FAILED
    assert "1 of the 1 trusted key(s) signed this payload, 2 required" in capsys.readouterr().err
    # One trusted signer plus an untrusted key: 1 of 2.
    assert main(["verify", att, "--threshold", "2", "--key", a_pub, "--key", c_pub]) == ExitCode.VERIFY_FAILED
    assert "1 of the 2 trusted key(s)" in capsys.readouterr().err
    assert main(["verify", att, "--threshold", "3", "--key", a_pub, "--key", b_pub]) == ExitCode.BAD_INPUT

    # A single-signed attestation never meets threshold 2, whatever keys are trusted.
    single = tmp_path / "s"
    assert _check(snapshot_file, single, "--sign-key", a_key) == ExitCode.FAIL
    assert main(["verify", str(single / "attestation.dsse.json"), "--threshold", "2", "--key", a_pub,
                 "--key", b_pub]) == ExitCode.VERIFY_FAILED
    # The same key twice on the command line is refused before anything runs.
    assert _check(snapshot_file, tmp_path / "d", "--sign-key", a_key, "--sign-key", a_key) == ExitCode.BAD_INPUT
    assert not (tmp_path / "d").exists()
    del c_key


def test_cosign_appends_and_keeps_earlier_signatures(run: RunResult, keypair: Keys) -> None:
    a_key, a_pub = keypair("a")
    b_key, b_pub = keypair("b")
    env = _envelope(run, [a_key])
    both = add_signatures(env, [load_signer(b_key)])
    keys = [load_public_key(a_pub), load_public_key(b_pub)]
    assert len(verify_envelope(both, keys, threshold=2).keyids) == 2
    with pytest.raises(SigningError, match="already carries"):
        add_signatures(both, [load_signer(a_key)])


def test_ecdsa_p256_keys_verify(run: RunResult, tmp_path: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    pub = tmp_path / "ec.pub"
    pub.write_bytes(private.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo))

    class EcSigner:
        keyid = keyid_of(private.public_key())

        def sign(self, data: bytes) -> bytes:
            from cryptography.hazmat.primitives import hashes

            return private.sign(data, ec.ECDSA(hashes.SHA256()))

    env = sign_statement(statement(subjects(run), predicate(run)), [EcSigner()])
    assert verify_envelope(env, [load_public_key(str(pub))]).keyids == (EcSigner.keyid,)
    p384 = tmp_path / "p384.pub"
    p384.write_bytes(ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(BadInputError, match="Ed25519 or ECDSA P-256"):
        load_public_key(str(p384))


def test_unknown_key_scheme(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="unknown key URI scheme 'gcpkms'"):
        signer_from_uri("gcpkms:projects/x/keys/y")
