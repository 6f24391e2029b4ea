"""DSSE/in-toto signing, key handling and tamper detection."""

from __future__ import annotations

import base64
import json
import os
import stat
from typing import Any

import pytest

from aslcheck.errors import BadInputError, VerificationError
from aslcheck.reports.signing import (
    check_subjects,
    generate_keypair,
    load_public_key,
    load_signer,
    pae,
    sign_statement,
    statement,
    verify_envelope,
)


@pytest.fixture
def keys(tmp_path: Any) -> tuple[str, str]:
    prefix = str(tmp_path / "k")
    generate_keypair(prefix + ".key", prefix + ".pub", None)
    return prefix + ".key", prefix + ".pub"


def test_pae_matches_spec() -> None:
    # Example from the DSSE protocol document.
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world")


def test_private_key_is_0600_and_never_overwritten(keys: tuple[str, str]) -> None:
    assert stat.S_IMODE(os.stat(keys[0]).st_mode) == 0o600
    with pytest.raises(BadInputError, match="overwrite"):
        generate_keypair(keys[0], keys[1] + "2", None)


def test_world_readable_private_key_is_refused(keys: tuple[str, str]) -> None:
    os.chmod(keys[0], 0o644)
    with pytest.raises(BadInputError, match="chmod 600"):
        load_signer(keys[0])


def test_passphrase(tmp_path: Any) -> None:
    prefix = str(tmp_path / "p")
    generate_keypair(prefix + ".key", prefix + ".pub", b"s3cret")
    with pytest.raises(BadInputError, match="passphrase"):
        load_signer(prefix + ".key", lambda: b"wrong")
    assert load_signer(prefix + ".key", lambda: b"s3cret").keyid


def test_sign_verify_and_tamper(keys: tuple[str, str], tmp_path: Any) -> None:
    signer = load_signer(keys[0])
    pub = load_public_key(keys[1])
    env = sign_statement(statement({"snapshot.json": "ab" * 32}, {"x": 1}), [signer])
    v = verify_envelope(env, [pub])
    assert v.statement["predicate"] == {"x": 1}
    doc = json.loads(env)
    payload = bytearray(base64.b64decode(doc["payload"]))
    payload[-3] ^= 1
    doc["payload"] = base64.b64encode(bytes(payload)).decode()
    with pytest.raises(VerificationError, match="signature check failed"):
        verify_envelope(json.dumps(doc).encode(), [pub])
    other = str(tmp_path / "o")
    generate_keypair(other + ".key", other + ".pub", None)
    with pytest.raises(VerificationError, match="0 of the 1"):
        verify_envelope(env, [load_public_key(other + ".pub")])


def test_threshold_counts_distinct_keys(keys: tuple[str, str], tmp_path: Any) -> None:
    b = str(tmp_path / "b")
    generate_keypair(b + ".key", b + ".pub", None)
    a_pub, b_pub = load_public_key(keys[1]), load_public_key(b + ".pub")
    one = sign_statement(statement({}, {}), [load_signer(keys[0])])
    two = sign_statement(statement({}, {}), [load_signer(keys[0]), load_signer(b + ".key")])
    dup = sign_statement(statement({}, {}), [load_signer(keys[0]), load_signer(keys[0])])
    assert len(verify_envelope(two, [a_pub, b_pub], threshold=2).keyids) == 2
    for env in (one, dup):
        with pytest.raises(VerificationError):
            verify_envelope(env, [a_pub, b_pub], threshold=2)


def test_subject_mismatch_names_the_file() -> None:
    stmt = statement({"snapshot.json": "00" * 32}, {})
    with pytest.raises(VerificationError, match="snapshot.json digest differs"):
        check_subjects(stmt, {"snapshot.json": b"{}"})
