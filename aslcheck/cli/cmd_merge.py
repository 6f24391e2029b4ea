"""``aslcheck merge``: combine the partials of a sharded scan, then check and write reports like ``scan``."""

from __future__ import annotations

import argparse
import sys

from aslcheck.cli.common import (
    add_input_args,
    add_output_args,
    check_output,
    evaluate_and_write,
    load_inputs,
    signers_from,
)
from aslcheck.inventories.shard_merge import find_manifests, load_partial, merge_partials

SUMMARY_FILE = "shards.json"
"""Report-set file listing the partials merged and every completeness problem found."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the subcommand."""
    p = sub.add_parser(
        "merge", help="merge the partials of a sharded scan, then check",
        description="Verify the partial snapshots written by `aslcheck scan --shard I/N` (each must hash to "
                    "the digest its manifest names), merge them, evaluate the profile and write the "
                    "snapshot, reports and signed attestation as `scan` does. A missing or duplicated "
                    "shard, or partials of another universe, config or catalog, leave every kind they "
                    "concern not listed completely: no check reading it can PASS.")
    p.add_argument("partials", nargs="+", metavar="DIR_OR_FILE",
                   help="a shard's --out folder (searched recursively), a partial-<sha256>.json or its manifest")
    add_input_args(p)
    add_output_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Validate, verify and merge the partials, evaluate, write."""
    inputs = load_inputs(args)
    check_output(args)
    signers = signers_from(args)
    found, absent = find_manifests(args.partials)
    for path in absent:
        print(f"aslcheck: merge: {path} does not exist (no partial from it)", file=sys.stderr)
    partials = [load_partial(path) for path in found]
    merged = merge_partials(partials, config_digest=inputs.config_digest, catalog_digest=inputs.catalog_digest)
    for problem in merged.problems:
        print(f"aslcheck: merge: {problem.code}: {problem.message}", file=sys.stderr)
    return evaluate_and_write(inputs, args, signers, merged.snapshot, merged.snapshot.canonical_bytes(),
                              f"merged {len(partials)} partial(s); snapshot and reports",
                              extra={SUMMARY_FILE: merged.summary()})
