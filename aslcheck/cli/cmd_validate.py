"""``aslcheck validate``: check catalog, config, waivers, attestations and snapshots, collecting nothing."""

from __future__ import annotations

import argparse

from aslcheck.cli.common import add_input_args, load_inputs
from aslcheck.inventories import snapshot as snapshot_io
from aslcheck.reports.signing import load_public_key, verify_envelope


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the subcommand."""
    p = sub.add_parser("validate", help="validate inputs without collecting",
                       description="Validate the catalog (and overlays), rule files, the config, "
                                   "waiver/attestation files, and optionally snapshots and signed "
                                   "attestations. Collects nothing, writes nothing.")
    add_input_args(p)
    p.add_argument("--snapshot", action="append", default=[], metavar="FILE")
    p.add_argument("--attestation", action="append", default=[], metavar="FILE",
                   help="signed attestation to verify (needs --key)")
    p.add_argument("--key", action="append", default=[], metavar="PUB")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Raise on the first problem; print a one-line summary otherwise."""
    inputs = load_inputs(args)
    for path in args.snapshot:
        snapshot_io.load(path)
    if args.attestation:
        keys = [load_public_key(k) for k in args.key]
        if not keys:
            from aslcheck.errors import BadInputError
            raise BadInputError("--attestation needs at least one --key")
        for path in args.attestation:
            with open(path, "rb") as fh:
                verify_envelope(fh.read(), keys)
    record = inputs.selection.record()
    picked = f" (selection: {len(record['selected_controls'])} control(s))" if record else ""
    print(f"valid: {len(inputs.catalog.controls)} controls, {len(inputs.registry)} checks, "
          f"profile {inputs.profile}{picked}, {len(inputs.waivers)} waiver(s), "
          f"{len(inputs.attestations)} attestation(s), {len(args.snapshot)} snapshot(s), "
          f"{len(args.attestation)} signed attestation(s)")
    return 0
