"""Where ``aslcheck check`` spends time and memory: the same steps in-process, phase by phase.

Runs what ``aslcheck check --format json`` runs (load the inputs, load the snapshot, evaluate,
freeze the heap out of the cyclic GC as the CLI does, write the reports) and prints, per phase,
the seconds, the resident memory after it and the peak so far, then each phase's share of the
total time and of the peak. One what-if switch measures a change outside the library:

- ``--no-gc``: disable the cyclic garbage collector for the whole run (a short-lived CLI).

    PYTHONPATH=. python bench/eval_phases.py bench/out/eval/snapshot-1000000-v2.json \\
        bench/out/eval/aslcheck-1000000.yaml [--no-gc]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import tempfile
import time

from aslcheck.checks.engine import evaluate
from aslcheck.cli import common
from aslcheck.inventories import snapshot as snapshot_io
from aslcheck.inventories.snapshot import sha256_hex


def _rss_mb() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 // 2**20


def main(argv: list[str] | None = None) -> int:
    """Run the phases and print one Markdown table and a JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("snapshot")
    ap.add_argument("config")
    ap.add_argument("--no-gc", action="store_true")
    args = ap.parse_args(argv)
    if args.no_gc:
        gc.disable()
    out = tempfile.mkdtemp(prefix="aslcheck-phases-")
    ns = argparse.Namespace(catalog=[], no_default_catalog=False, rules=[], config=args.config, waivers=[],
                            profile="asl3", out=out, format=["json"], sign_key=[], valid_for="7d", history=None,
                            passphrase_env=None, manual="gate", quiet=True)
    rows = []
    start_rss = _rss_mb()
    start = last = time.perf_counter()

    def mark(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        rows.append({"phase": name, "seconds": round(now - last, 2), "rss_mb": _rss_mb(),
                     "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024})
        last = now

    inputs = common.load_inputs(ns)
    mark("catalog, config, registry")
    snap, raw = snapshot_io.load(args.snapshot)
    mark("load snapshot")
    result = evaluate(inputs.catalog, inputs.profile, inputs.registry, snap, inputs.config,
                      waivers=inputs.waivers, attestations=inputs.attestations,
                      digests={"snapshot": sha256_hex(raw), "catalog": inputs.catalog_digest,
                               "config": inputs.config_digest})
    mark("evaluate asl3")
    gc.freeze()  # as cmd_check does
    common.write(result, ns, [], raw)
    mark("write reports")
    total = time.perf_counter() - start
    flags = "--no-gc" if args.no_gc else ""
    print(f"| phase | seconds | RSS after (MB) | peak so far (MB) |   ({len(snap.resources):,} resources"
          f"{', ' + flags if flags else ''})")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['phase']} | {r['seconds']} | {r['rss_mb']} | {r['peak_mb']} |")
    print(f"| total | {total:.2f} | | |")
    peak = max(r["peak_mb"] for r in rows)
    for r, before in zip(rows, [start_rss, *[r["rss_mb"] for r in rows]], strict=False):
        print(f"{r['phase']}: {r['seconds'] / total:.2f} of the time, +{r['rss_mb'] - before} MB "
              f"({(r['rss_mb'] - before) / peak:.2f} of the peak)")
    print(json.dumps({"benchmark": "eval_phases", "resources": len(snap.resources), "flags": flags,
                      "rows": rows, "total_s": round(total, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
