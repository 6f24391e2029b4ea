"""Signing through AWS KMS (moto's server on 127.0.0.1): the private key never leaves KMS."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from aslcheck.cli import main
from aslcheck.cli.exitcodes import ExitCode
from aslcheck.errors import BadInputError
from aslcheck.reports.kms_signer import KmsKeyRef, KmsSigner, export_public_key_pem
from aslcheck.reports.signing import SigningError, keyid_of, load_public_key
from tests.reports.conftest import BASE_ARGS, DATA, REPO, realistic_snapshot

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

Keys = Callable[[str], tuple[str, str]]


@dataclass
class Kms:
    url: str
    client: Any
    calls: list[dict[str, Any]] = field(default_factory=list)

    def key(self, spec: str = "ECC_NIST_P256", usage: str = "SIGN_VERIFY") -> str:
        meta = self.client.create_key(KeySpec=spec, KeyUsage=usage, Description="aslcheck test")["KeyMetadata"]
        return f"awskms:{meta['Arn']}"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    srv = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    srv.start()
    host, port = srv.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        srv.stop()


@pytest.fixture
def kms(server: str, monkeypatch: pytest.MonkeyPatch) -> Kms:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_ENDPOINT_URL_KMS", server)):
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    k = Kms(server, boto3.session.Session(region_name="us-east-1").client("kms"))
    _honour_digest(monkeypatch, k.calls)
    return k


def _honour_digest(monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]]) -> None:
    """moto 5.2 ignores MessageType=DIGEST and hashes the digest again (getmoto/moto#10202, open).

    Give its Sign the semantics AWS documents (API_Sign: DIGEST skips hashing), so the test checks
    our signer against real KMS behaviour, not against the emulator's gap.
    """
    from moto.kms.responses import KmsResponse

    original = KmsResponse.sign

    def sign(self: Any) -> str:
        calls.append({k: self._get_param(k) for k in ("KeyId", "MessageType", "SigningAlgorithm")})
        if self._get_param("MessageType") != "DIGEST":
            return str(original(self))
        key = self.kms_backend.describe_key(self._get_param("KeyId"))
        digest = self._get_param("Message")
        assert self._get_param("SigningAlgorithm") == "ECDSA_SHA_256" and len(digest) == 32
        sig = key.private_key.private_key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        return json.dumps({"KeyId": key.arn, "Signature": base64.b64encode(sig).decode(),
                           "SigningAlgorithm": "ECDSA_SHA_256"})

    monkeypatch.setattr(KmsResponse, "sign", sign)


def test_parse_uri() -> None:
    ref = KmsKeyRef.parse("awskms:arn:aws:kms:eu-west-1:111122223333:key/1234abcd")
    assert ref == KmsKeyRef("arn:aws:kms:eu-west-1:111122223333:key/1234abcd", "eu-west-1")
    assert KmsKeyRef.parse("awskms:alias/aslcheck") == KmsKeyRef("alias/aslcheck", None)
    for bad in ("awskms:", "kms:abc", "awskms:arn:aws:s3:::bucket"):
        with pytest.raises(BadInputError):
            KmsKeyRef.parse(bad)


def test_sign_export_and_verify_via_cli(kms: Kms, tmp_path: Path, keypair: Keys, capsys: Any) -> None:
    uri = kms.key()
    pub = tmp_path / "kms.pub"
    assert main(["keygen", "--export-kms", uri, str(pub)]) == ExitCode.OK
    assert pub.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert main(["keygen", "--export-kms", uri, str(pub)]) == ExitCode.BAD_INPUT  # never overwrites

    snap = tmp_path / "snap.json"
    snap.write_bytes(realistic_snapshot().canonical_bytes())
    ed_key, ed_pub = keypair("ed")
    out = tmp_path / "reports"
    code = main(["check", "--snapshot", str(snap), *BASE_ARGS, "--config", str(DATA / "aslcheck.yaml"),
                 "--out", str(out), "--quiet", "--format", "json", "--sign-key", uri, "--sign-key", ed_key])
    assert code == ExitCode.FAIL
    att = out / "attestation.dsse.json"
    env = json.loads(att.read_text())
    assert env["signatures"][0]["keyid"] == keyid_of(load_public_key(str(pub)))
    # Signed by KMS from the digest: Sign was called with DIGEST and ECDSA_SHA_256, never RAW.
    assert {(c["MessageType"], c["SigningAlgorithm"]) for c in kms.calls} == {("DIGEST", "ECDSA_SHA_256")}
    capsys.readouterr()
    assert main(["verify", str(att), "--key", str(pub)]) == ExitCode.OK
    assert main(["verify", str(att), "--threshold", "2", "--key", str(pub), "--key", ed_pub]) == ExitCode.OK
    assert "signed by 2 trusted key(s)" in capsys.readouterr().out
    # A different KMS key does not verify it.
    other = tmp_path / "other.pub"
    other.write_bytes(export_public_key_pem(kms.key()))
    assert main(["verify", str(att), "--key", str(other)]) == ExitCode.VERIFY_FAILED


def test_signature_is_standard_ecdsa_over_the_pae(kms: Kms) -> None:
    signer = KmsSigner.from_uri(kms.key())
    data = b"DSSEv1 " + b"x" * 10_000  # larger than KMS's 4096-byte RAW limit
    sig = signer.sign(data)
    signer.public_key.verify(sig, data, ec.ECDSA(hashes.SHA256()))  # raises if not


def test_emulator_that_ignores_digest_is_caught(server: str, kms: Kms, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.kms.responses import KmsResponse

    uri = kms.key()
    monkeypatch.undo()  # moto's own behaviour: the digest is hashed again
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_ENDPOINT_URL_KMS", server)):
        monkeypatch.setenv(name, value)
    assert KmsResponse.sign.__qualname__ == "KmsResponse.sign"
    with pytest.raises(SigningError, match="does not verify against the key's public key"):
        KmsSigner.from_uri(uri).sign(b"payload")


@pytest.mark.parametrize(("spec", "usage"), [("RSA_2048", "SIGN_VERIFY"), ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
                                             ("ECC_NIST_P384", "SIGN_VERIFY")])
def test_wrong_key_kind_is_refused(kms: Kms, spec: str, usage: str) -> None:
    with pytest.raises(SigningError, match="ECC_NIST_P256 SIGN_VERIFY"):
        KmsSigner.from_uri(kms.key(spec, usage))


def test_missing_key_is_a_clear_error(kms: Kms, capsys: Any) -> None:
    missing = "awskms:arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    with pytest.raises(SigningError, match="GetPublicKey failed .*NotFoundException"):
        KmsSigner.from_uri(missing)
    assert main(["keygen", "--export-kms", missing, "/nonexistent/x.pub"]) == ExitCode.BAD_INPUT


def test_core_imports_without_boto3() -> None:
    code = ("import sys; sys.modules['boto3'] = None; sys.modules['botocore'] = None\n"
            "import aslcheck.reports, aslcheck.reports.signing, aslcheck.reports.kms_signer, "
            "aslcheck.reports.history, aslcheck.reports.diff, aslcheck.reports.freshness, "
            "aslcheck.reports.render, aslcheck.controls.signed_waivers\n"
            "from aslcheck.reports.kms_signer import KmsSigner\n"
            "from aslcheck.errors import MissingExtraError\n"
            "try:\n    KmsSigner.from_uri('awskms:alias/x')\n"
            "except MissingExtraError as e:\n    print('extra:', e)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert "pip install 'aslcheck[kms]'" in proc.stdout
