"""``aslcheck scan``: collect (AWS, hosts), then check; write the snapshot and signed reports."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from aslcheck.cli.collectors import PLUGINS
from aslcheck.cli.common import (
    Inputs,
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
from aslcheck.errors import BadInputError
from aslcheck.inventories.interface import CollectionRequest, Collector, ProgressCallback
from aslcheck.inventories.snapshot import Snapshot, merge, sha256_hex


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the subcommand."""
    p = sub.add_parser("scan", help="collect, then check",
                       description="Collect an inventory with the chosen collectors, evaluate the "
                                   "profile, write the snapshot, reports and signed attestation.")
    add_input_args(p)
    add_output_args(p)
    p.add_argument("--deep", action="store_true",
                   help="read every resource deeply (default: resources no check of the profile "
                        "can judge, e.g. buckets that cannot hold weights, are only listed with "
                        "their tags, and the snapshot says so)")
    for plugin in PLUGINS:
        plugin.add_args(p)
    p.set_defaults(run=run)


def required_kinds(inputs: Inputs) -> frozenset[str]:
    """Kinds the checks that will run read (profile and filters): collectors fetch nothing else."""
    return inputs.selection.kinds()


@contextmanager
def progress_bar(enabled: bool) -> Iterator[ProgressCallback]:
    """A rich progress bar fed by collector callbacks (a no-op when disabled)."""
    if not enabled:
        yield lambda task, done, total: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        tasks: dict[str, int] = {}

        def update(task: str, done: int, total: int) -> None:
            if task not in tasks:
                tasks[task] = int(bar.add_task(task, total=total))
            bar.update(tasks[task], completed=done, total=total)  # type: ignore[arg-type]

        yield update


def collect(collectors: list[Collector], inputs: Inputs, show_progress: bool,
            deep: bool = False) -> Snapshot:
    """Run every collector and merge their snapshots."""
    kinds = required_kinds(inputs)
    with progress_bar(show_progress) as progress:
        # A collector none of whose kinds a selected check reads is not run at all.
        snaps = [c.collect(CollectionRequest(
            kinds=kinds & c.kinds(), config=inputs.config, progress=progress, deep=deep))
            for c in collectors
            if kinds & c.kinds()]
    return merge(snaps)


def run(args: argparse.Namespace) -> int:
    """Validate, collect, evaluate, write."""
    inputs = load_inputs(args)
    check_output(args)
    collectors = [c for p in PLUGINS if (c := p.build(args, inputs.config)) is not None]
    if not collectors:
        raise BadInputError("nothing to scan: pass --aws and/or --inventory FILE")
    signers = signers_from(args)
    snap = collect(collectors, inputs, show_progress=not args.quiet and sys.stderr.isatty(),
                   deep=args.deep)
    raw = snap.canonical_bytes()
    result = evaluate_inputs(inputs, snap, {"snapshot": sha256_hex(raw), "catalog": inputs.catalog_digest,
                                            "config": inputs.config_digest})
    gc.freeze()  # short-lived process: see cmd_check
    written = write(result, args, signers, raw)
    if not args.quiet:
        print_summary(result, sys.stdout)
        print(f"snapshot and reports written to {written.directory}/")
    return int(exit_code(result, args.manual))
