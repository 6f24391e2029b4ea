"""``aslcheck check``: evaluate a profile against an existing snapshot file."""

from __future__ import annotations

import argparse

from aslcheck.cli.common import (
    add_input_args,
    add_output_args,
    check_output,
    evaluate_and_write,
    load_inputs,
    signers_from,
)
from aslcheck.inventories import snapshot as snapshot_io


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the subcommand."""
    p = sub.add_parser("check", help="evaluate a snapshot against a profile",
                       description="Evaluate a profile against a snapshot file; write reports.")
    p.add_argument("--snapshot", required=True, metavar="FILE", help="inventory snapshot (JSON)")
    add_input_args(p)
    add_output_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Validate everything, evaluate, write reports, return the exit code."""
    inputs = load_inputs(args)
    check_output(args)
    snap, raw = snapshot_io.load(args.snapshot)
    return evaluate_and_write(inputs, args, signers_from(args), snap, raw, "reports")
