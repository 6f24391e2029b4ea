"""In-toto Statement v1 in a DSSE envelope, signed with Ed25519 (files) or ECDSA P-256 (AWS KMS).

The statement is serialised once (canonical JSON); the signature covers the DSSE PAE of those
exact bytes, and verification decodes the payload it verified, never a re-serialisation.
Spec: https://github.com/secure-systems-lab/dsse/blob/master/protocol.md
Signers are chosen by key URI (:data:`SIGNER_SCHEMES`): a path or ``file:PATH`` is an Ed25519
key file, ``awskms:KEY`` an AWS KMS asymmetric key (``aslcheck.reports.kms_signer``).
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
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
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


PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey
"""A trusted verification key: Ed25519, or ECDSA on NIST P-256 (what AWS KMS signs with)."""


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def keyid_of(key: PublicKey) -> str:
    """Key ID: SHA-256 of the raw Ed25519 key, or of the DER SubjectPublicKeyInfo of a P-256 key."""
    if isinstance(key, Ed25519PublicKey):
        return hashlib.sha256(_raw_public(key)).hexdigest()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def verify_signature(key: PublicKey, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` over ``data`` verifies (ECDSA: DER signature over SHA-256)."""
    try:
        if isinstance(key, Ed25519PublicKey):
            key.verify(signature, data)
        else:
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


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


def public_key_from_pem(data: bytes, where: str) -> PublicKey:
    """Parse a PEM public key; only Ed25519 and ECDSA P-256 are accepted."""
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise BadInputError(f"not a PEM public key: {exc}", Location(where)) from exc
    return _accepted(key, where)


def _accepted(key: object, where: str) -> PublicKey:
    if isinstance(key, Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise BadInputError("expected an Ed25519 or ECDSA P-256 public key", Location(where))


def _file_signer(uri: str, passphrase: PassphraseCallback) -> Signer:
    return load_signer(uri, passphrase)


def _kms_signer(uri: str, passphrase: PassphraseCallback) -> Signer:
    # Imported here: the core must import without boto3 (the ``kms`` extra).
    from aslcheck.reports.kms_signer import KmsSigner

    return KmsSigner.from_uri(uri)


SIGNER_SCHEMES: Mapping[str, Callable[[str, PassphraseCallback], Signer]] = {
    "file": _file_signer,
    "awskms": _kms_signer,
}
"""Signer factories by key-URI scheme; anything without a known scheme is a key file path."""


def signer_from_uri(uri: str, passphrase: PassphraseCallback = lambda: None) -> Signer:
    """The signer a key URI names: ``PATH`` or ``file:PATH`` (Ed25519), ``awskms:KEY`` (AWS KMS)."""
    scheme = uri.split(":", 1)[0] if ":" in uri else "file"
    factory = SIGNER_SCHEMES.get(scheme)
    if factory is None:
        if not os.path.exists(uri) and scheme.isalnum():
            raise BadInputError(f"unknown key URI scheme {scheme!r} in {uri!r}; "
                                f"known: {', '.join(sorted(SIGNER_SCHEMES))}, or a key file path")
        factory = _file_signer
    return factory(uri, passphrase)


def load_public_key(path: str) -> PublicKey:
    """Load an Ed25519 or ECDSA P-256 public key (PEM)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise BadInputError(f"cannot read public key: {exc.strerror}", Location(path)) from exc
    return public_key_from_pem(data, path)


def public_pem(key: PublicKey) -> bytes:
    """PEM (SubjectPublicKeyInfo) of a public key."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


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
    return sign_dsse(canonical_json(stmt), PAYLOAD_TYPE, signers)


def sign_dsse(payload: bytes, payload_type: str, signers: Sequence[Signer]) -> bytes:
    """DSSE envelope bytes over ``payload`` (kept byte for byte), one signature per signer."""
    if not signers:
        raise SigningError("at least one signer is required")
    signed = pae(payload_type, payload)
    envelope = {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [
            {"keyid": s.keyid, "sig": base64.b64encode(s.sign(signed)).decode("ascii")}
            for s in signers
        ],
    }
    return _dump(envelope)


def _dump(envelope: Mapping[str, Any]) -> bytes:
    return json.dumps(envelope, indent=2, sort_keys=True).encode("utf-8") + b"\n"


def add_signatures(data: bytes, signers: Sequence[Signer]) -> bytes:
    """Co-sign an existing envelope: append one signature per signer over the same PAE.

    The payload is not touched, so earlier signatures stay valid; a signer whose key ID is
    already present is refused (a second signature by the same key adds no assurance).
    """
    if not signers:
        raise SigningError("at least one signer is required")
    env, payload_type, payload = _parse_envelope(data)
    sigs = env.get("signatures")
    present = {s.get("keyid") for s in sigs if isinstance(s, dict)} if isinstance(sigs, list) else set()
    out = list(sigs) if isinstance(sigs, list) else []
    signed = pae(payload_type, payload)
    for s in signers:
        if s.keyid in present:
            raise SigningError(f"the envelope already carries a signature by key {s.keyid[:16]}")
        present.add(s.keyid)
        out.append({"keyid": s.keyid, "sig": base64.b64encode(s.sign(signed)).decode("ascii")})
    return _dump({**env, "signatures": out})


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


@dataclass(frozen=True)
class SignedPayload:
    """The payload of a DSSE envelope and which trusted keys signed it (possibly none)."""

    payload_type: str
    """The envelope's declared payload type."""
    payload: bytes
    """The exact payload bytes the signatures cover."""
    keyids: tuple[str, ...]
    """Key IDs of the distinct trusted keys whose signatures verified (sorted)."""
    signatures: int
    """Number of signatures the envelope carries (trusted or not)."""


def _parse_envelope(data: bytes) -> tuple[dict[str, Any], str, bytes]:
    try:
        env = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VerificationError([f"envelope is not valid JSON: {exc}"]) from exc
    if not isinstance(env, dict) or not isinstance(env.get("payloadType"), str):
        raise VerificationError(["not a DSSE envelope (expected a JSON object with a payloadType)"])
    try:
        payload = _b64(env.get("payload"))
    except (ValueError, binascii.Error):
        raise VerificationError(["payload is not base64"]) from None
    return env, env["payloadType"], payload


def is_envelope(data: bytes) -> bool:
    """Whether ``data`` looks like a DSSE envelope (a JSON object with payloadType and payload)."""
    try:
        env = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(env, dict) and "payloadType" in env and "payload" in env


def signed_by(data: bytes, keys: Sequence[PublicKey]) -> SignedPayload:
    """Decode an envelope and find which of ``keys`` signed its PAE; never checks a threshold.

    Raises :class:`VerificationError` only when the envelope itself is malformed.
    """
    env, payload_type, payload = _parse_envelope(data)
    sigs = env.get("signatures")
    sigs = sigs if isinstance(sigs, list) else []
    signed = pae(payload_type, payload)
    good: set[str] = set()
    for key in keys:
        for sig in sigs:
            try:
                raw = _b64(sig.get("sig") if isinstance(sig, dict) else None)
            except (ValueError, binascii.Error):
                continue
            if verify_signature(key, raw, signed):
                good.add(keyid_of(key))
                break
    return SignedPayload(payload_type, payload, tuple(sorted(good)), len(sigs))


def verify_dsse(data: bytes, keys: Sequence[PublicKey], threshold: int, payload_type: str) -> SignedPayload:
    """Verify a DSSE envelope of ``payload_type`` signed by at least ``threshold`` distinct trusted keys.

    Raises :class:`VerificationError` listing every problem found.
    """
    if threshold < 1:
        # NOTE: a threshold of 0 would accept an envelope no trusted key signed.
        raise VerificationError([f"threshold must be at least 1, got {threshold}"])
    got = signed_by(data, keys)
    problems: list[str] = []
    if got.payload_type != payload_type:
        problems.append(f"payload type is {got.payload_type!r}, expected {payload_type!r}")
    if got.signatures == 0:
        raise VerificationError(problems + ["envelope carries no signatures"])
    distinct = len({keyid_of(k) for k in keys})
    if len(got.keyids) < threshold:
        problems.append(
            f"signature check failed: {len(got.keyids)} of the {distinct} trusted key(s) signed "
            f"this payload, {threshold} required (payload or signature altered, or wrong key)")
    if problems:
        raise VerificationError(problems)
    return got


def verify_envelope(data: bytes, keys: Sequence[PublicKey], threshold: int = 1) -> Verified:
    """Verify a DSSE envelope: payload type, at least ``threshold`` distinct trusted keys.

    Raises :class:`VerificationError` listing every problem found.
    """
    got = verify_dsse(data, keys, threshold, PAYLOAD_TYPE)
    return Verified(_statement(got.payload), got.keyids)


def _statement(payload: bytes) -> dict[str, Any]:
    try:
        stmt = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VerificationError([f"signed payload is not JSON: {exc}"]) from exc
    if not isinstance(stmt, dict) or stmt.get("_type") != STATEMENT_TYPE:
        raise VerificationError(["signed payload is not an in-toto Statement v1"])
    if stmt.get("predicateType") != PREDICATE_TYPE:
        raise VerificationError([f"unexpected predicate type {stmt.get('predicateType')!r}"])
    return stmt


def unverified_statement(data: bytes) -> dict[str, Any]:
    """The statement inside an envelope WITHOUT checking any signature (for display and diagnosis only)."""
    _, payload_type, payload = _parse_envelope(data)
    if payload_type != PAYLOAD_TYPE:
        raise VerificationError([f"payload type is {payload_type!r}, expected {PAYLOAD_TYPE!r}"])
    return _statement(payload)


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
