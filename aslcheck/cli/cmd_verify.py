"""``aslcheck verify``: check an attestation's signatures, payload type and subject digests."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

from aslcheck.cli.common import selection_text
from aslcheck.cli.exitcodes import ExitCode
from aslcheck.controls.loader import load_catalog, load_config
from aslcheck.errors import BadInputError, Location, VerificationError
from aslcheck.reports.attestation import SNAPSHOT_FILE
from aslcheck.reports.freshness import validity_problems
from aslcheck.reports.signing import check_subjects, load_public_key, verify_envelope


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the subcommand."""
    p = sub.add_parser("verify", help="verify a signed attestation",
                       description="Verify the DSSE signature(s), the payload type and the "
                                   "subject digests of an attestation.")
    p.add_argument("attestation", metavar="ATTESTATION")
    p.add_argument("--key", action="append", required=True, metavar="PUB",
                   help="trusted public key, Ed25519 or ECDSA P-256 (e.g. exported from AWS KMS); repeatable")
    p.add_argument("--threshold", type=int, default=1,
                   help="distinct trusted keys that must have signed (default 1)")
    p.add_argument("--snapshot", metavar="FILE", help="check the snapshot file against its subject digest")
    p.add_argument("--config", metavar="FILE", help="check aslcheck.yaml against its subject digest")
    p.add_argument("--catalog", action="append", default=None, metavar="FILE",
                   help="recompute the catalog digest (built-in plus these files) and compare")
    p.set_defaults(run=run)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise BadInputError(f"cannot read: {exc.strerror}", Location(path)) from exc


def run(args: argparse.Namespace) -> int:
    """Verify; print each check that passed, or each mismatch."""
    if args.threshold < 1 or args.threshold > len(args.key):
        raise BadInputError(f"--threshold must be between 1 and the number of --key ({len(args.key)})")
    data = _read(args.attestation)
    keys = [load_public_key(k) for k in args.key]
    try:
        verified = verify_envelope(data, keys, args.threshold)
        problems: list[str] = []
        if args.snapshot:
            try:
                check_subjects(verified.statement, {SNAPSHOT_FILE: _read(args.snapshot)})
            except VerificationError as exc:
                problems += exc.problems
        declared = {s["name"]: s["digest"]["sha256"] for s in verified.statement["subject"]}
        if args.config:
            _, digest = load_config(args.config)
            if declared.get("config") != digest:
                problems.append(f"config digest differs: attested sha256:{declared.get('config')}, "
                                f"{args.config} gives sha256:{digest}")
        if args.catalog is not None:
            _, digest = load_catalog(args.catalog)
            if declared.get("catalog") != digest:
                problems.append(f"catalog digest differs: attested sha256:{declared.get('catalog')}, "
                                f"recomputed sha256:{digest}")
        validity = verified.statement["predicate"].get("validity")
        if validity is not None:
            # NOTE: an expired attestation is a verification failure (exit 4), not a warning.
            problems += validity_problems(verified.statement, datetime.now(timezone.utc))
        if problems:
            raise VerificationError(problems)
    except VerificationError as exc:
        print("verification FAILED:", file=sys.stderr)
        for p in exc.problems:
            print(f"  - {p}", file=sys.stderr)
        return int(ExitCode.VERIFY_FAILED)
    pred = verified.statement["predicate"]
    summary = pred["results"]["summary"]
    print(f"OK: signed by {len(verified.keyids)} trusted key(s) "
          f"({', '.join(k[:16] for k in verified.keyids)}), payload type and subjects verified")
    for s in verified.statement["subject"]:
        print(f"  subject {s['name']}: sha256:{s['digest']['sha256']}")
    if validity is None:
        print("  no validity window (attestation made before validity windows existed)")
    else:
        print(f"  valid {validity['notBefore']} until {validity['notAfter']}")
    print(f"  profile {pred['profile']} evaluated {pred['evaluatedAt']} by aslcheck "
          f"{pred['tool']['version']}: " + ", ".join(f"{k} {v}" for k, v in summary.items() if v))
    selection = pred["results"].get("selection")
    if selection is not None:
        print(f"  FILTERED RUN, not a full-profile result: {selection_text(selection)}")
    return int(ExitCode.OK)
