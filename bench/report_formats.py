"""Report formats at scale: render time and size of every format for a generated run, and the HTML page's
load time in headless Chromium.

    PYTHONPATH=. .venv/bin/python bench/report_formats.py --size 400000 --out bench/out/formats

The snapshot is generated once per size by :mod:`snapgen` (cached in ``--out``) and evaluated
through the public API (``aslcheck.evaluate``). Prints a Markdown table and one JSON line. The
HTML page's size is bounded by its budget (docs/reports.md); the other formats grow with the run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import snapgen

import aslcheck
from aslcheck.reports.render import RENDERERS

CHROMIUM_TIMEOUT_S = 300
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def prepare(n: int, out: Path) -> tuple[Path, Path]:
    """Snapshot and config files of size ``n`` (generated once)."""
    out.mkdir(parents=True, exist_ok=True)
    snap = out / f"snapshot-{n}-v{snapgen.GENERATOR_VERSION}.json"
    if not snap.exists():
        tmp = snap.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            snapgen.write_snapshot(n, fh)
        tmp.replace(snap)
    cfg = out / f"aslcheck-{n}.yaml"
    cfg.write_text(snapgen.config_yaml(n))
    return snap, cfg


def chromium_load(page: Path) -> float | None:
    """Wall seconds for headless Chromium to load the page and run its script (None without Chromium)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if binary is None:
        return None
    with tempfile.TemporaryDirectory(prefix="aslcheck-bench-chromium-") as profile:
        start = time.perf_counter()
        proc = subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                              capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_S, check=False)
        wall = time.perf_counter() - start
    if proc.returncode != 0 or 'data-js="ready"' not in proc.stdout:
        raise RuntimeError(f"Chromium did not render the page: {proc.stderr[-500:]}")
    return wall


def main() -> int:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--out", default="bench/out/formats")
    ap.add_argument("--formats", default=",".join(sorted(RENDERERS)))
    args = ap.parse_args()
    out = Path(args.out)
    snap, cfg = prepare(args.size, out)
    start = time.perf_counter()
    result = aslcheck.evaluate(snap, cfg, profile="asl3")
    evaluated = time.perf_counter() - start
    findings = sum(len(o.findings) for r in result.results for o in r.checks)
    rows = []
    for fmt in args.formats.split(","):
        t0 = time.perf_counter()
        data = aslcheck.render(result, fmt)
        rows.append({"format": fmt, "seconds": round(time.perf_counter() - t0, 2), "bytes": len(data)})
        if fmt == "html":
            page = out / f"report-{args.size}.html"
            page.write_bytes(data)
            load = chromium_load(page)
            rows[-1]["chromium_load_s"] = None if load is None else round(load, 2)
        del data
    print(f"| format | render s | size MB | Chromium load s |   ({args.size:,} resources, {findings:,} findings, "
          f"evaluated in {evaluated:.1f} s)")
    print("|---|---:|---:|---:|")
    for r in rows:
        load = r.get("chromium_load_s")
        print(f"| {r['format']} | {r['seconds']} | {r['bytes'] / 1e6:.1f} | {'' if load is None else load} |")
    print(json.dumps({"benchmark": "report_formats", "resources": args.size, "findings": findings,
                      "evaluate_s": round(evaluated, 2), "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
