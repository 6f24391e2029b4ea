"""``aslcheck history``: show controls over time, or verify a history directory's chain."""

from __future__ import annotations

import argparse
import sys

from aslcheck.cli.exitcodes import ExitCode
from aslcheck.errors import BadInputError
from aslcheck.reports.history import Run, load_runs, verify_history
from aslcheck.reports.render.markdown import shorten
from aslcheck.reports.signing import load_public_key

LETTER = {"pass": "P", "fail": "F", "inconclusive": "I", "not_attested": "A", "waived": "W",
          "not_applicable": "-"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the subcommand."""
    p = sub.add_parser(
        "history", help="controls over time, or verify a history directory",
        description="'aslcheck history DIR' shows each control over the stored runs (oldest first); "
                    "'aslcheck history verify DIR --key PUB' checks the hash chain, every attestation's "
                    "digest and signature and the signed chain links.",
        epilog="Letters: P pass, F fail, I inconclusive, A not attested, W waived, - n/a, . absent.")
    p.add_argument("words", nargs="+", metavar="[verify] DIR")
    p.add_argument("--control", metavar="ID", help="one control: every run with its status and reason")
    p.add_argument("--last", type=int, default=30, metavar="N", help="runs shown (default 30)")
    p.add_argument("--key", action="append", default=[], metavar="PUB",
                   help="trusted public key (repeatable); verify requires it, display verifies with it")
    p.add_argument("--threshold", type=int, default=1, help="distinct trusted keys required (default 1)")
    p.add_argument("--expect-head", metavar="DIGEST",
                   help="verify: this entry digest (recorded earlier) must still be in the chain")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch to verify or display."""
    words = list(args.words)
    verify = words[0] == "verify" and len(words) == 2
    if verify:
        words = words[1:]
    if len(words) != 1:
        raise BadInputError("usage: aslcheck history DIR [--control ID] | aslcheck history verify DIR --key PUB")
    keys = [load_public_key(k) for k in args.key]
    if verify:
        if not keys:
            raise BadInputError("history verify needs at least one --key")
        report = verify_history(words[0], keys, args.threshold, args.expect_head)
        print(f"OK: {len(report.entries)} entr(ies) verified: chain, file digests, signatures "
              f"and signed links intact")
        print(f"  head {report.head}  (pin it: --expect-head {report.head})")
        if report.entries:
            print(f"  oldest {report.entries[0].evaluated_at}, newest {report.entries[-1].evaluated_at}")
        return int(ExitCode.OK)
    runs, verified = load_runs(words[0], keys, args.threshold)
    if not runs:
        print(f"no runs in {words[0]}")
        return int(ExitCode.OK)
    runs = runs[-args.last:] if args.last > 0 else runs
    note = "verified" if verified else "NOT verified (pass --key to verify)"
    print(f"{len(runs)} run(s), {runs[0].evaluated_at} .. {runs[-1].evaluated_at}, {note}")
    if args.control:
        _one(runs, args.control)
    else:
        _all(runs)
    return int(ExitCode.OK)


def _one(runs: list[Run], control: str) -> None:
    if not any(control in r.controls for r in runs):
        raise BadInputError(f"control {control!r} appears in none of these runs")
    for r in runs:
        point = r.controls.get(control)
        status = point.status if point else "absent"
        reason = point.reason if point else ""
        reason = shorten(" ".join(reason.split()), 110)
        print(f"  #{r.sequence:<5} {r.evaluated_at}  {status:<14} {reason}")


def _all(runs: list[Run]) -> None:
    ids = sorted({cid for r in runs for cid in r.controls})
    width = max((len(i) for i in ids), default=8)
    for cid in ids:
        line = "".join(LETTER.get(r.controls[cid].status, "?") if cid in r.controls else "." for r in runs)
        first, last = _status(runs[0], cid), _status(runs[-1], cid)
        change = f"  {first} -> {last}" if first != last else f"  {last}"
        sys.stdout.write(f"  {cid:<{width}}  {line}{change}\n")


def _status(run: Run, cid: str) -> str:
    point = run.controls.get(cid)
    return point.status if point else "absent"
