"""Evaluation scaling: wall time and peak memory of ``aslcheck check --profile asl3``.

For each size it writes (once, cached by size and generator version) an organisation-shaped
snapshot from :mod:`snapgen` plus the matching ``aslcheck.yaml``, runs ``aslcheck check`` in a
fresh interpreter, and reads that child's own peak RSS from ``wait4``. Prints a Markdown table,
the growth exponent between consecutive sizes, each figure as a ratio of its target, and one
JSON line. With ``--baseline DIR`` (another checkout, e.g. ``git worktree add /tmp/before
<commit>``) each size is also run on that code, alternately in the same run, and the table
gains the before/after ratios of time and peak memory.

    PYTHONPATH=. python bench/eval_scale.py --sizes 100000,1000000 --out bench/out/eval [--baseline DIR]

Targets (2-core machine): 100k resources under 10 s; 1M under 120 s and 2 GB.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import snapgen

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {100_000: (10.0, None), 1_000_000: (120.0, 2048)}
"""Size -> (seconds, MB) targets."""
TIMEOUT_S = 1800
"""No single evaluation may run longer than this (the benchmark stays bounded)."""


def prepare(n: int, out: Path) -> tuple[Path, Path, int]:
    """The snapshot and config files of size ``n`` (generated once) and the resource count."""
    out.mkdir(parents=True, exist_ok=True)
    snap = out / f"snapshot-{n}-v{snapgen.GENERATOR_VERSION}.json"
    count_file = snap.with_suffix(".count")
    if not snap.exists() or not count_file.exists():
        tmp = snap.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            count = snapgen.write_snapshot(n, fh)
        tmp.replace(snap)
        count_file.write_text(str(count))
    cfg = out / f"aslcheck-{n}.yaml"
    cfg.write_text(snapgen.config_yaml(n))
    return snap, cfg, int(count_file.read_text())


def run_check(snap: Path, cfg: Path, reports: Path, code: Path = ROOT) -> tuple[float, float, int, str]:
    """(wall s, peak RSS MB, exit code, stderr tail) of one ``aslcheck check`` in a fresh process."""
    cmd = [sys.executable, "-m", "aslcheck", "check", "--snapshot", str(snap), "--config", str(cfg),
           "--profile", "asl3", "--out", str(reports), "--format", "json", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(code) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    err_path = reports.with_suffix(".stderr")
    reports.parent.mkdir(parents=True, exist_ok=True)
    with open(err_path, "wb") as err:
        start = time.perf_counter()
        # NOTE: cwd is the output directory: ``python -m`` puts the working directory first on
        # sys.path, which would shadow ``code`` with the checkout the benchmark runs from.
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=reports.parent)
        deadline = start + TIMEOUT_S
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    tail = err_path.read_text(errors="replace")[-2000:]
    return wall, usage.ru_maxrss / 1024, proc.returncode, tail


def summary(reports: Path) -> dict[str, int]:
    """Control statuses from the JSON report (a sanity check that the run really evaluated)."""
    try:
        doc = json.loads((reports / "results.json").read_text())
    except (OSError, ValueError):
        return {}
    raw = doc.get("summary") if isinstance(doc, dict) else None
    return {str(k): int(v) for k, v in raw.items() if v} if isinstance(raw, dict) else {}


def measure(n: int, out: Path, tree: Path = ROOT, label: str = "") -> dict[str, Any]:
    """One size on the code in ``tree``."""
    snap, cfg, count = prepare(n, out)
    reports = out / f"reports-{n}{label}"
    wall, rss, code, tail = run_check(snap, cfg, reports, tree)
    if code not in (0, 1, 2):
        raise SystemExit(f"aslcheck check failed on {n} ({code}):\n{tail}")
    return {"size": n, "resources": count, "snapshot_mb": round(snap.stat().st_size / 2**20, 1),
            "seconds": round(wall, 2), "peak_rss_mb": round(rss), "exit": code,
            "controls": summary(reports)}


def verdicts(row: dict[str, Any]) -> str:
    """Target verdict of a row (or ``-``)."""
    target = TARGETS.get(row["size"])
    if target is None:
        return "-"
    secs, mb = target
    ok = row["seconds"] <= secs and (mb is None or row["peak_rss_mb"] <= mb)
    want = f"< {secs:g} s" + (f", < {mb} MB" if mb else "")
    return f"{'met' if ok else 'NOT met'} ({want})"


def target_ratios(row: dict[str, Any]) -> str:
    """Each figure over its target (below 1.00 meets it), or ``-``."""
    target = TARGETS.get(row["size"])
    if target is None:
        return "-"
    secs, mb = target
    out = f"time {row['seconds'] / secs:.2f}"
    return out + (f", memory {row['peak_rss_mb'] / mb:.2f}" if mb else "")


def main(argv: list[str] | None = None) -> int:
    """Run the sizes in increasing order; print the table, exponents, ratios and a JSON line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--out", default=str(ROOT / "bench" / "out" / "eval"))
    p.add_argument("--code", default=str(ROOT), help="directory holding the aslcheck package to run "
                   "(another checkout, for before/after comparisons)")
    p.add_argument("--baseline", help="also run this checkout on every size (before/after ratios)")
    args = p.parse_args(argv)
    out = Path(args.out).resolve()
    rows, before = [], []
    for n in sorted(int(x) for x in args.sizes.split(",")):
        if args.baseline:
            before.append(measure(n, out, Path(args.baseline), "-baseline"))
            print(f"  baseline {n:,}: {before[-1]['seconds']} s, {before[-1]['peak_rss_mb']} MB", file=sys.stderr)
        rows.append(measure(n, out, Path(args.code)))
        print(f"  measured {n:,}: {rows[-1]['seconds']} s, {rows[-1]['peak_rss_mb']} MB", file=sys.stderr)
    print("| resources | snapshot (MB) | wall time (s) | peak RSS (MB) | exit | target | ratio to target |")
    print("|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        print(f"| {r['resources']:,} | {r['snapshot_mb']} | {r['seconds']} | {r['peak_rss_mb']} | {r['exit']} "
              f"| {verdicts(r)} | {target_ratios(r)} |")
    ratios = []
    if before:
        print()
        print("| resources | before: wall (s) | before: peak (MB) | after: wall (s) | after: peak (MB) "
              "| time after/before | memory after/before | same control statuses |")
        print("|---:|---:|---:|---:|---:|---:|---:|---|")
        for b, a in zip(before, rows, strict=True):
            t, m = a["seconds"] / b["seconds"], a["peak_rss_mb"] / b["peak_rss_mb"]
            ratios.append({"resources": a["resources"], "time": round(t, 3), "memory": round(m, 3)})
            print(f"| {a['resources']:,} | {b['seconds']} | {b['peak_rss_mb']} | {a['seconds']} | {a['peak_rss_mb']} "
                  f"| {t:.2f} | {m:.2f} | {'yes' if a['controls'] == b['controls'] else 'NO'} |")
    exps = []
    for a, b in itertools.pairwise(rows):
        k = math.log(b["seconds"] / a["seconds"]) / math.log(b["resources"] / a["resources"])
        exps.append({"from": a["resources"], "to": b["resources"], "exponent": round(k, 2)})
        print(f"growth exponent {a['resources']:,} -> {b['resources']:,}: {k:.2f}")
    print(json.dumps({"benchmark": "eval_scale", "rows": rows, "baseline": before, "ratios": ratios,
                      "growth": exps}))
    return 0 if all(verdicts(r).startswith(("met", "-")) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
