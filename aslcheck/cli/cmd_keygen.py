"""``aslcheck keygen``: create an Ed25519 key pair for signing attestations."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from aslcheck.errors import BadInputError, Location
from aslcheck.reports.signing import generate_keypair


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the subcommand."""
    p = sub.add_parser("keygen", help="create a signing key pair (or export a KMS public key)",
                       description="Write PREFIX.key (mode 0600) and PREFIX.pub. With --export-kms, write "
                                   "the public key of an AWS KMS signing key to the file PREFIX names.")
    p.add_argument("prefix", metavar="PREFIX", help="path prefix of the key files (--export-kms: the PEM file)")
    p.add_argument("--export-kms", metavar="awskms:ARN",
                   help="export this KMS key's public key as PEM (for verify --key); creates no key")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--passphrase-env", metavar="VAR", help="encrypt with the passphrase in $VAR")
    g.add_argument("--passphrase", action="store_true", help="prompt for a passphrase")
    p.set_defaults(run=run)


def _make_parent(prefix: str) -> None:
    """Create the key's folder (0700: it will hold a private key), e.g. ``~/.aslcheck/``."""
    parent = os.path.dirname(os.path.abspath(prefix))
    if os.path.isdir(parent):
        return
    try:
        os.makedirs(parent, mode=0o700)
    except OSError as exc:
        raise BadInputError(f"cannot create the key folder {parent}: {exc.strerror}",
                            Location(prefix)) from exc


def run(args: argparse.Namespace) -> int:
    """Generate the pair (or export a KMS public key); print the key ID."""
    if args.export_kms:
        return _export(args.export_kms, args.prefix)
    passphrase: bytes | None = None
    if args.passphrase_env:
        value = os.environ.get(args.passphrase_env)
        if not value:
            raise BadInputError(f"environment variable {args.passphrase_env} is empty or unset")
        passphrase = value.encode()
    elif args.passphrase:
        first = getpass.getpass("passphrase: ")
        if first != getpass.getpass("again: ") or not first:
            raise BadInputError("passphrases are empty or do not match")
        passphrase = first.encode()
    _make_parent(args.prefix)
    keyid = generate_keypair(f"{args.prefix}.key", f"{args.prefix}.pub", passphrase)
    print(f"wrote {args.prefix}.key (0600) and {args.prefix}.pub; key ID {keyid}", file=sys.stdout)
    return 0


def _export(uri: str, path: str) -> int:
    from aslcheck.reports.kms_signer import export_public_key_pem
    from aslcheck.reports.signing import keyid_of, public_key_from_pem

    pem = export_public_key_pem(uri)
    _make_parent(path)
    if os.path.exists(path):
        raise BadInputError(f"refusing to overwrite {path}")
    with open(path, "wb") as fh:
        fh.write(pem)
    print(f"wrote {path}; key ID {keyid_of(public_key_from_pem(pem, path))}", file=sys.stdout)
    return 0
