"""``aslcheck diff OLD NEW``: regressions, improvements and evidence changes between two runs."""

from __future__ import annotations

import argparse
import json
import sys

from aslcheck.cli.exitcodes import ExitCode
from aslcheck.reports.diff import ChangeKind, RunDiff, describe, diff_runs, load_run
from aslcheck.reports.signing import load_public_key

SECTIONS = (
    (ChangeKind.REGRESSION, "Regressions"),
    (ChangeKind.IMPROVEMENT, "Improvements"),
    (ChangeKind.STATUS_CHANGED, "Other status changes"),
    (ChangeKind.EVIDENCE_CHANGED, "Changed evidence"),
    (ChangeKind.ADDED, "Added controls"),
    (ChangeKind.REMOVED, "Removed controls"),
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the subcommand."""
    p = sub.add_parser(
        "diff", help="compare two runs",
        description="Compare two attestations (or results.json files): controls newly FAIL, INCONCLUSIVE "
                    "or NOT_ATTESTED (regressions), improvements, other status changes and changed evidence.")
    p.add_argument("old", metavar="OLD")
    p.add_argument("new", metavar="NEW")
    p.add_argument("--key", action="append", default=[], metavar="PUB",
                   help="verify both attestations with these trusted keys (repeatable); "
                        "results.json files are then refused")
    p.add_argument("--threshold", type=int, default=1, help="distinct trusted keys required (default 1)")
    p.add_argument("--fail-on-regression", action="store_true", help="exit 1 when there is a regression")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load (and verify), compare, print, return the exit code."""
    keys = [load_public_key(k) for k in args.key]
    result = diff_runs(load_run(args.old, keys, args.threshold), load_run(args.new, keys, args.threshold))
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        _print(result)
    if args.fail_on_regression and result.regressions:
        return int(ExitCode.FAIL)
    return int(ExitCode.OK)


def _print(result: RunDiff) -> None:
    for label, run in (("old", result.old), ("new", result.new)):
        how = f"verified ({len(run.signed_by)} key(s))" if run.signed_by is not None else "not verified"
        print(f"{label}: {run.label}, {how}")
    if result.old.results.get("profile") != result.new.results.get("profile"):
        print("note: the two runs evaluated different profiles")
    if not result.changes:
        print("no changes")
        return
    for kind, title in SECTIONS:
        changes = result.of(kind)
        if not changes:
            continue
        print(f"\n{title} ({len(changes)}):")
        for c in changes:
            print(f"  {describe(c)}")
            if kind is ChangeKind.REGRESSION and c.reason:
                print(f"      {c.reason}")
            for d in c.details:
                print(f"      {d}")
