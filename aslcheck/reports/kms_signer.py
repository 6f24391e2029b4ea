"""Sign DSSE envelopes with an AWS KMS asymmetric key, so the private key never leaves the HSM.

Key URI: ``awskms:KEY`` where KEY is a key ARN, an alias ARN, a key ID or ``alias/NAME`` (the
region comes from the ARN, else from the usual AWS configuration). The key must be an
``ECC_NIST_P256`` ``SIGN_VERIFY`` key: KMS signs with ``ECDSA_SHA_256`` and ``verify`` checks the
signature with the public key exported by ``aslcheck keygen --export-kms``.

NOTE: KMS signs at most 4096 bytes with ``MessageType=RAW``; a DSSE PAE over a full report is far
larger, so we send its SHA-256 with ``MessageType=DIGEST``, which yields the same signature as an
ECDSA-SHA256 signature over the PAE itself (API_Sign, "MessageType"). Every signature is verified
locally against the key's public key before it is used, so a KMS (or emulator) that signs
something else fails here, not at verification time.

boto3 is imported only when a KMS key is actually used (the ``kms`` extra).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from aslcheck.errors import BadInputError, MissingExtraError
from aslcheck.reports.signing import SigningError, keyid_of, public_pem, verify_signature

SCHEME = "awskms"
KEY_SPEC = "ECC_NIST_P256"
"""The only key spec we sign with: ECDSA on P-256, verifiable with ``cryptography`` everywhere."""
SIGNING_ALGORITHM = "ECDSA_SHA_256"


class KmsClient(Protocol):
    """The two KMS operations we call (a boto3 ``kms`` client satisfies it)."""

    def sign(self, *, KeyId: str, Message: bytes, MessageType: str,
             SigningAlgorithm: str) -> Mapping[str, Any]:
        """KMS Sign."""
        ...

    def get_public_key(self, *, KeyId: str) -> Mapping[str, Any]:
        """KMS GetPublicKey."""
        ...


ClientFactory = Callable[[str | None], KmsClient]
"""Builds a KMS client for a region (``None``: the default region of the AWS configuration)."""


@dataclass(frozen=True)
class KmsKeyRef:
    """Which KMS key a URI names."""

    key_id: str
    """Key ARN, alias ARN, key ID or ``alias/NAME``, passed to KMS as ``KeyId``."""
    region: str | None
    """Region taken from the ARN, when the URI holds one."""

    @classmethod
    def parse(cls, uri: str) -> KmsKeyRef:
        """Parse ``awskms:KEY``; raise :class:`BadInputError` on anything else."""
        prefix = SCHEME + ":"
        if not uri.startswith(prefix):
            raise BadInputError(f"not an AWS KMS key URI (expected {prefix}KEY): {uri!r}")
        key = uri[len(prefix):].removeprefix("//")
        if not key:
            raise BadInputError(f"empty key in {uri!r}; expected {prefix}arn:aws:kms:REGION:ACCOUNT:key/ID")
        region = None
        if key.startswith("arn:"):
            parts = key.split(":", 5)
            if len(parts) != 6 or parts[2] != "kms" or not parts[3]:
                raise BadInputError(f"not a KMS key ARN: {key!r}")
            region = parts[3]
        return cls(key, region)


def default_client_factory(region: str | None) -> KmsClient:
    """A boto3 KMS client (honours AWS_PROFILE, AWS_ENDPOINT_URL_KMS and friends)."""
    try:
        import boto3
    except ImportError as exc:
        raise MissingExtraError("kms", "boto3") from exc
    session = boto3.session.Session(region_name=region) if region else boto3.session.Session()
    client: KmsClient = session.client("kms")
    return client


def _aws_error(action: str, key: KmsKeyRef, exc: Exception) -> SigningError:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        err = response.get("Error", {})
        return SigningError(f"KMS {action} failed for {key.key_id}: {err.get('Code')}: {err.get('Message')}")
    return SigningError(f"KMS {action} failed for {key.key_id}: {type(exc).__name__}: {exc}")


def _aws_errors() -> tuple[type[Exception], ...]:
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # an injected non-boto3 client
        return ()
    return (BotoCoreError, ClientError)


def fetch_public_key(key: KmsKeyRef, client: KmsClient) -> ec.EllipticCurvePublicKey:
    """The key's public half, after checking it is a P-256 signing key."""
    try:
        resp = client.get_public_key(KeyId=key.key_id)
    except _aws_errors() as exc:
        raise _aws_error("GetPublicKey", key, exc) from exc
    spec = resp.get("KeySpec") or resp.get("CustomerMasterKeySpec")
    if resp.get("KeyUsage") != "SIGN_VERIFY" or spec != KEY_SPEC:
        raise SigningError(
            f"KMS key {key.key_id} is {spec} / {resp.get('KeyUsage')}; aslcheck signs with an "
            f"{KEY_SPEC} SIGN_VERIFY key ({SIGNING_ALGORITHM})")
    if SIGNING_ALGORITHM not in resp.get("SigningAlgorithms", [SIGNING_ALGORITHM]):
        raise SigningError(f"KMS key {key.key_id} does not offer {SIGNING_ALGORITHM}")
    public = serialization.load_der_public_key(bytes(resp["PublicKey"]))
    if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(public.curve, ec.SECP256R1):
        raise SigningError(f"KMS returned a public key for {key.key_id} that is not ECDSA P-256")
    return public


@dataclass(frozen=True)
class KmsSigner:
    """A :class:`~aslcheck.reports.signing.Signer` whose private key stays in AWS KMS."""

    key: KmsKeyRef
    """The KMS key."""
    client: KmsClient
    """The KMS client calls go through."""
    public_key: ec.EllipticCurvePublicKey
    """Its public key, fetched once; every signature is checked against it."""
    keyid: str
    """Key ID hint: SHA-256 of the DER public key (same as ``verify`` computes from the PEM)."""

    @classmethod
    def from_uri(cls, uri: str, client_factory: ClientFactory = default_client_factory) -> KmsSigner:
        """Resolve ``awskms:KEY``: fetch and check the public key."""
        key = KmsKeyRef.parse(uri)
        client = client_factory(key.region)
        public = fetch_public_key(key, client)
        return cls(key, client, public, keyid_of(public))

    def sign(self, data: bytes) -> bytes:
        """ECDSA-SHA256 signature over ``data`` (DER), made by KMS from its SHA-256 digest."""
        digest = hashlib.sha256(data).digest()
        try:
            resp = self.client.sign(KeyId=self.key.key_id, Message=digest, MessageType="DIGEST",
                                    SigningAlgorithm=SIGNING_ALGORITHM)
        except _aws_errors() as exc:
            raise _aws_error("Sign", self.key, exc) from exc
        signature = bytes(resp["Signature"])
        if not verify_signature(self.public_key, signature, data):
            raise SigningError(
                f"KMS returned a signature for {self.key.key_id} that does not verify against the key's "
                "public key (does the endpoint honour MessageType=DIGEST?); nothing was signed")
        return signature


def export_public_key_pem(uri: str, client_factory: ClientFactory = default_client_factory) -> bytes:
    """PEM of the public key of ``awskms:KEY``, for ``verify --key``."""
    key = KmsKeyRef.parse(uri)
    return public_pem(fetch_public_key(key, client_factory(key.region)))
