"""In-toto Statement v1 in a DSSE envelope, signed with Ed25519.

The statement is serialised once (canonical JSON); the signature covers the DSSE PAE of those
exact bytes, and verification decodes the payload it verified, never a re-serialisation.
Spec: https://github.com/secure-systems-lab/dsse/blob/master/protocol.md
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from aslcheck.errors import AslcheckError, BadInputError, Location, VerificationError
from aslcheck.inventories.snapshot import canonical_json

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://aslcheck.dev/attestation/control-results/v1"


class SigningError(AslcheckError):
    """A key could not be created, loaded or used."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


class Signer(Protocol):
    """Signs DSSE PAE bytes."""

    @property
    def keyid(self) -> str:
        """Hint naming the key (unauthenticated)."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Signature over ``data``."""
        ...


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def keyid_of(key: Ed25519PublicKey) -> str:
    """Key ID: SHA-256 of the raw public key, hex."""
    return hashlib.sha256(_raw_public(key)).hexdigest()


@dataclass(frozen=True)
class Ed25519Signer:
    """Signer backed by an Ed25519 private key held in memory."""

    key: Ed25519PrivateKey
    keyid: str

    def sign(self, data: bytes) -> bytes:
        """Ed25519 signature."""
        return self.key.sign(data)


PassphraseCallback = Callable[[], bytes | None]
"""Supplies the private key passphrase when the key is encrypted (injected by the CLI)."""


def load_signer(path: str, passphrase: PassphraseCallback = lambda: None) -> Ed25519Signer:
    """Load an Ed25519 private key file; refuse one that group or others can read."""
    if path.startswith("file:"):
        path = path[len("file:"):]
    try:
        st = os.stat(path)
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise BadInputError(f"cannot read private key: {exc.strerror}", Location(path)) from exc
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BadInputError(
            f"private key is accessible by group/others (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"run: chmod 600 {path}", Location(path))
    try:
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except TypeError:  # encrypted: ask for the passphrase only when needed
            key = serialization.load_pem_private_key(data, password=passphrase())
    except (ValueError, TypeError) as exc:
        raise BadInputError(f"not a usable private key (or wrong passphrase): {exc}",
                            Location(path)) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise BadInputError("expected an Ed25519 private key", Location(path))
    return Ed25519Signer(key, keyid_of(key.public_key()))


def load_public_key(path: str) -> Ed25519PublicKey:
    """Load an Ed25519 public key (PEM)."""
    try:
        with open(path, "rb") as fh:
            key = serialization.load_pem_public_key(fh.read())
    except OSError as exc:
        raise BadInputError(f"cannot read public key: {exc.strerror}", Location(path)) from exc
    except ValueError as exc:
        raise BadInputError(f"not a PEM public key: {exc}", Location(path)) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise BadInputError("expected an Ed25519 public key", Location(path))
    return key


def generate_keypair(private_path: str, public_path: str, passphrase: bytes | None) -> str:
    """Create a key pair; the private key file is created 0600 and never overwritten."""
    key = Ed25519PrivateKey.generate()
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase
        else serialization.NoEncryption())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for p in (private_path, public_path):
        if os.path.exists(p):
            raise BadInputError("refusing to overwrite an existing key file", Location(p))
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise BadInputError(f"cannot create key file: {exc.strerror}", Location(private_path)) from exc
    with os.fdopen(fd, "wb") as fh:
        fh.write(private)
    with open(public_path, "wb") as fh:
        fh.write(public)
    return keyid_of(key.public_key())


def statement(subjects: Mapping[str, str], predicate: Mapping[str, Any]) -> dict[str, Any]:
    """An in-toto Statement v1 with ``name -> sha256`` subjects."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": n, "digest": {"sha256": d}} for n, d in sorted(subjects.items())],
        "predicateType": PREDICATE_TYPE,
        "predicate": dict(predicate),
    }


def sign_statement(stmt: Mapping[str, Any], signers: Sequence[Signer]) -> bytes:
    """DSSE envelope bytes over the canonical statement, one signature per signer."""
    if not signers:
        raise SigningError("at least one signer is required")
    payload = canonical_json(stmt)
    signed = pae(PAYLOAD_TYPE, payload)
    envelope = {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [
            {"keyid": s.keyid, "sig": base64.b64encode(s.sign(signed)).decode("ascii")}
            for s in signers
        ],
    }
    return json.dumps(envelope, indent=2, sort_keys=True).encode("utf-8") + b"\n"


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not a string")
    # DSSE: verifiers accept standard or URL-safe base64.
    padded = value + "=" * (-len(value) % 4)
    if "-" in value or "_" in value:
        return base64.urlsafe_b64decode(padded)
    return base64.b64decode(padded, validate=True)


@dataclass(frozen=True)
class Verified:
    """A verified envelope."""

    statement: dict[str, Any]
    """The statement decoded from the verified payload bytes."""
    keyids: tuple[str, ...]
    """Key IDs of the distinct trusted keys whose signatures verified."""


def verify_envelope(data: bytes, keys: Sequence[Ed25519PublicKey], threshold: int = 1) -> Verified:
    """Verify a DSSE envelope: payload type, at least ``threshold`` distinct trusted keys.

    Raises :class:`VerificationError` listing every problem found.
    """
    try:
        env = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VerificationError([f"attestation is not valid JSON: {exc}"]) from exc
    if not isinstance(env, dict):
        raise VerificationError(["attestation is not a DSSE envelope (expected a JSON object)"])
    problems: list[str] = []
    if env.get("payloadType") != PAYLOAD_TYPE:
        problems.append(f"payload type is {env.get('payloadType')!r}, expected {PAYLOAD_TYPE!r}")
    try:
        payload = _b64(env.get("payload"))
    except (ValueError, binascii.Error):
        raise VerificationError(problems + ["payload is not base64"]) from None
    sigs = env.get("signatures")
    if not isinstance(sigs, list) or not sigs:
        raise VerificationError(problems + ["envelope carries no signatures"])
    signed = pae(str(env.get("payloadType")), payload)
    good: set[str] = set()
    for key in keys:
        kid = keyid_of(key)
        for sig in sigs:
            try:
                key.verify(_b64(sig.get("sig") if isinstance(sig, dict) else None), signed)
            except (InvalidSignature, ValueError, binascii.Error):
                continue
            good.add(kid)
            break
    if len(good) < threshold:
        problems.append(
            f"signature check failed: {len(good)} of the {len(keys)} trusted key(s) signed "
            f"this payload, {threshold} required (payload or signature altered, or wrong key)")
    if problems:
        raise VerificationError(problems)
    try:
        stmt = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VerificationError([f"signed payload is not JSON: {exc}"]) from exc
    if not isinstance(stmt, dict) or stmt.get("_type") != STATEMENT_TYPE:
        raise VerificationError(["signed payload is not an in-toto Statement v1"])
    if stmt.get("predicateType") != PREDICATE_TYPE:
        raise VerificationError([f"unexpected predicate type {stmt.get('predicateType')!r}"])
    return Verified(stmt, tuple(sorted(good)))


def check_subjects(stmt: Mapping[str, Any], actual: Mapping[str, bytes]) -> None:
    """Compare subject digests with the given artefacts' bytes; raise naming each mismatch."""
    declared = {s.get("name"): s.get("digest", {}).get("sha256") for s in stmt.get("subject", [])}
    problems = []
    for name, data in sorted(actual.items()):
        got = hashlib.sha256(data).hexdigest()
        want = declared.get(name)
        if want is None:
            problems.append(f"the attestation has no subject named {name!r}")
        elif want != got:
            problems.append(f"{name} digest differs: attested sha256:{want}, file has sha256:{got}")
    if problems:
        raise VerificationError(problems)
