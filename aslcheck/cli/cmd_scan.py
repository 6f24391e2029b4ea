"""``aslcheck scan``: collect (AWS, hosts), then check; write the snapshot and signed reports."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from aslcheck import __version__
from aslcheck.cli.collectors import PLUGINS
from aslcheck.cli.common import (
    Inputs,
    add_input_args,
    add_output_args,
    check_output,
    evaluate_and_write,
    load_inputs,
    signers_from,
)
from aslcheck.errors import BadInputError
from aslcheck.inventories.interface import CollectionRequest, Collector, ProgressCallback
from aslcheck.inventories.shard import ShardedCollector, ShardSpec, build_manifest, partial_files, stale_partials
from aslcheck.inventories.snapshot import Snapshot, merge
from aslcheck.reports.atomic import write_set


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
    p.add_argument("--shard", type=shard_arg, metavar="I/N",
                   help="collect only shard I of N (0-based, e.g. \"$JOB_COMPLETION_INDEX/8\") of the scan's "
                        "work units and write a partial snapshot to --out, not a result; combine the "
                        "partials with `aslcheck merge` (docs/sharding.md)")
    p.set_defaults(run=run)


def shard_arg(text: str) -> ShardSpec:
    """argparse type for ``--shard i/N``."""
    try:
        return ShardSpec.parse(text)
    except BadInputError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


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
    if args.shard is not None:
        return _run_shard(args, inputs, collectors)
    signers = signers_from(args)
    snap = collect(collectors, inputs, show_progress=not args.quiet and sys.stderr.isatty(),
                   deep=args.deep)
    return evaluate_and_write(inputs, args, signers, snap, snap.canonical_bytes(), "snapshot and reports")


def _run_shard(args: argparse.Namespace, inputs: Inputs, collectors: list[Collector]) -> int:
    """Collect one shard and write its partial (snapshot + manifest); nothing is evaluated or signed.

    NOTE: a shard's PASS would be meaningless (it saw a fraction of the estate), so no result
    exists until `aslcheck merge` has checked that every shard is there exactly once.
    """
    if args.sign_key or args.history:
        raise BadInputError("--shard writes a partial snapshot, not a result: pass --sign-key/--history "
                            "to `aslcheck merge`")
    shard: ShardSpec = args.shard
    sharded = [c for c in collectors if isinstance(c, ShardedCollector)]
    if len(sharded) != len(collectors):  # pragma: no cover - every scan collector is shardable
        raise BadInputError("a chosen collector cannot be sharded")
    snap = collect(collectors, inputs, show_progress=not args.quiet and sys.stderr.isatty())
    raw = snap.canonical_bytes()
    plans = [c.shard_plan() for c in sharded]
    manifest = build_manifest(shard, plans, raw, tool_version=__version__, config_digest=inputs.config_digest,
                              catalog_digest=inputs.catalog_digest)
    paths = write_set(args.out, partial_files(manifest, raw), owned=stale_partials(args.out))
    if not args.quiet:
        print(f"shard {shard}: {len(manifest.units)} of {manifest.universe_size} work units; partial "
              f"snapshot written to {paths[manifest.snapshot_file]} (combine with `aslcheck merge`)")
    return 0
