"""Waivers signed by approvers, and the policy that decides whether a waiver may waive anything.

A waiver file is either plain YAML (``waivers.schema.json``) or a DSSE envelope whose payload is
that YAML, byte for byte, with payload type :data:`PAYLOAD_TYPE` and one signature per approver
(``aslcheck waiver sign FILE --key alice.key``; a second approver runs the same command on the
envelope to add a signature). ``aslcheck.yaml`` lists the approvers' public keys::

    approvers:
      keys: [keys/alice.pub, keys/bob.pub, keys/carol.pub]
      threshold: 2            # distinct approver signatures a signed waiver needs (default 2)
      require_signed: false   # true: ASL-2 waivers must be signed too

Policy (fail closed; a waiver that fails it waives nothing and stays in the report as rejected,
with the reason):

- a waiver of an ASL-3 control needs signatures of ``max(2, threshold)`` distinct approvers whose
  keys the config lists; unsigned, it waives nothing;
- a waiver of an ASL-2 control may be unsigned unless ``require_signed`` is true, in which case
  it needs ``threshold`` approver signatures;
- a signed waiver none of whose signatures verifies against a listed key waives nothing, at any
  level (it was altered after signing, or signed by someone who is not an approver).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

from aslcheck.controls.config import Approvers, Config
from aslcheck.controls.loader import parse_waiver_document
from aslcheck.controls.model import Catalog, Control, ManualAttestation, Waiver
from aslcheck.controls.yamlio import load_yaml
from aslcheck.errors import BadInputError, Location, VerificationError
from aslcheck.reports.signing import (
    PublicKey,
    Signer,
    SigningError,
    add_signatures,
    is_envelope,
    keyid_of,
    load_public_key,
    sign_dsse,
    signed_by,
)

PAYLOAD_TYPE = "application/vnd.aslcheck.waivers+yaml"
"""DSSE payload type of a signed waiver file."""
MIN_ASL3_APPROVERS = 2
"""Two-party control: an ASL-3 waiver always needs at least two distinct approvers."""


@dataclass(frozen=True)
class Approver:
    """An approver's public key from the config."""

    name: str
    """File stem of the key (``alice`` for ``keys/alice.pub``)."""
    keyid: str
    key: PublicKey


def load_approvers(policy: Approvers) -> tuple[Approver, ...]:
    """Load the configured approver keys; the same key listed twice is an error (it is one person)."""
    out: list[Approver] = []
    for path in policy.keys:
        key = load_public_key(path)
        kid = keyid_of(key)
        if any(a.keyid == kid for a in out):
            raise BadInputError("approver key listed twice (the same key counts once)", Location(path))
        out.append(Approver(os.path.splitext(os.path.basename(path))[0], kid, key))
    return tuple(out)


def required_signatures(control: Control, policy: Approvers) -> int:
    """Distinct approver signatures a waiver of ``control`` needs (0: may be unsigned)."""
    if control.level != "ASL-2":  # ASL-3, and any level we do not know, is two-party
        return max(MIN_ASL3_APPROVERS, policy.threshold)
    return policy.threshold if policy.require_signed else 0


@dataclass(frozen=True)
class _Source:
    signed: bool
    approvers: tuple[str, ...]
    signatures: int


def apply_policy(waiver: Waiver, control: Control, policy: Approvers, source: _Source) -> Waiver:
    """The waiver with ``approvers`` filled, or ``rejected`` set when the policy refuses it."""
    need = required_signatures(control, policy)
    listed = len(policy.keys)
    short = f" (aslcheck.yaml lists {listed} approver key(s))" if listed < need else ""
    if not source.signed:
        if need == 0:
            return waiver
        rule = ("approvers.require_signed is set" if control.level == "ASL-2"
                else f"{control.level} controls are two-party")
        return replace(waiver, rejected=(
            f"unsigned; {rule}: it needs signatures of {need} distinct approvers listed in "
            f"aslcheck.yaml approvers.keys{short}"))
    have = len(source.approvers)
    if have == 0:
        return replace(waiver, rejected=(
            f"none of its {source.signatures} signature(s) verifies against an approver key in "
            "aslcheck.yaml (altered after signing, or signed by someone not listed)"))
    if have < max(need, 1):
        return replace(waiver, approvers=source.approvers, rejected=(
            f"signed by {have} of the {need} distinct approvers required "
            f"({', '.join(source.approvers)}){short}"))
    return replace(waiver, approvers=source.approvers)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise BadInputError(f"cannot read file: {exc.strerror}", Location(path)) from exc


def load_waivers(paths: Sequence[str], catalog: Catalog, config: Config
                 ) -> tuple[list[Waiver], list[ManualAttestation]]:
    """Read plain or signed waiver files and apply the approver policy to every waiver."""
    approvers = load_approvers(config.approvers)
    waivers: list[Waiver] = []
    attestations: list[ManualAttestation] = []
    for path in paths:
        data = _read(path)
        if is_envelope(data):
            try:
                got = signed_by(data, [a.key for a in approvers])
            except VerificationError as exc:
                raise BadInputError(f"malformed signed waiver file: {exc}", Location(path)) from exc
            if got.payload_type != PAYLOAD_TYPE:
                raise BadInputError(f"signed file has payload type {got.payload_type!r}, "
                                    f"expected {PAYLOAD_TYPE!r}", Location(path))
            try:
                text = got.payload.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadInputError("signed waiver payload is not UTF-8", Location(path)) from exc
            doc = load_yaml(f"{path} (signed payload)", text)
            source = _Source(True, tuple(a.name for a in approvers if a.keyid in got.keyids), got.signatures)
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadInputError("not UTF-8 text", Location(path)) from exc
            doc = load_yaml(path, text)
            source = _Source(False, (), 0)
        found, atts = parse_waiver_document(doc, catalog)
        waivers += [apply_policy(w, catalog.controls[w.control], config.approvers, source) for w in found]
        attestations += atts
    return waivers, attestations


def sign_waivers(data: bytes, signers: Sequence[Signer]) -> bytes:
    """Sign a waiver file (new envelope over its exact bytes) or add signatures to an envelope."""
    if is_envelope(data):
        try:
            got = signed_by(data, [])
        except VerificationError as exc:
            raise SigningError(f"malformed envelope: {exc}") from exc
        if got.payload_type != PAYLOAD_TYPE:
            raise SigningError(f"not a waiver envelope (payload type {got.payload_type!r})")
        return add_signatures(data, signers)
    return sign_dsse(data, PAYLOAD_TYPE, signers)
