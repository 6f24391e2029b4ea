"""``aslcheck waiver sign``: approvers sign a waiver file (each adds one DSSE signature)."""

from __future__ import annotations

import argparse
import sys

from aslcheck.cli.common import passphrase_callback
from aslcheck.controls.signed_waivers import sign_waivers
from aslcheck.errors import BadInputError, Location
from aslcheck.reports.atomic import write_atomic
from aslcheck.reports.signing import signer_from_uri


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the subcommand."""
    p = sub.add_parser(
        "waiver", help="sign waiver files",
        description="'aslcheck waiver sign FILE --key K --out OUT' wraps a waiver YAML file in a DSSE "
                    "envelope signed by K; run it again on the envelope (with another approver's key) "
                    "to add a signature. ASL-3 waivers need two approvers listed in aslcheck.yaml.")
    p.add_argument("action", choices=("sign",))
    p.add_argument("file", metavar="FILE", help="waiver YAML, or an already signed envelope")
    p.add_argument("--key", action="append", required=True, metavar="KEY",
                   help="approver's signing key (file or awskms:ARN), repeatable")
    p.add_argument("--passphrase-env", metavar="VAR", help="read the key passphrase from $VAR")
    p.add_argument("--out", metavar="OUT", help="output file (default: FILE for an envelope, FILE.dsse.json)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Sign or co-sign; write atomically."""
    try:
        with open(args.file, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise BadInputError(f"cannot read: {exc.strerror}", Location(args.file)) from exc
    signers = [signer_from_uri(k, passphrase_callback(args.passphrase_env)) for k in args.key]
    out = sign_waivers(data, signers)
    target = args.out or (args.file if data.lstrip().startswith(b"{") else args.file + ".dsse.json")
    write_atomic(target, out)
    print(f"wrote {target} ({', '.join(s.keyid[:16] for s in signers)} signed)", file=sys.stdout)
    return 0
