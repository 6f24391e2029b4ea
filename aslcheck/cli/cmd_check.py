"""``aslcheck check``: evaluate a profile against an existing snapshot file."""

from __future__ import annotations

import argparse
import gc
import sys

from aslcheck.cli.common import (
    add_input_args,
    add_output_args,
    check_output,
    evaluate_inputs,
    exit_code,
    load_inputs,
    print_summary,
    signers_from,
    write,
)
from aslcheck.inventories import snapshot as snapshot_io
from aslcheck.inventories.snapshot import sha256_hex


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
    signers = signers_from(args)
    result = evaluate_inputs(inputs, snap, {"snapshot": sha256_hex(raw), "catalog": inputs.catalog_digest,
                                            "config": inputs.config_digest})
    # NOTE: a short-lived process: what evaluation built lives until exit and holds no
    # cycles, so it leaves the cyclic GC's view; otherwise each full collection while the
    # reports are written walks every finding again (BENCHMARKS.md section 1, point 3).
    gc.freeze()
    written = write(result, args, signers, raw)
    if not args.quiet:
        print_summary(result, sys.stdout)
        print(f"reports written to {written.directory}/")
    return int(exit_code(result, args.manual))
