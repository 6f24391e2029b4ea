"""Gate overhead: ``aslcheck gate`` against bare checkov, as whole processes, in one run.

For each tree (the two examples, and the compliant example plus N generated weight buckets,
each with SSE-KMS, versioning, a public access block and ownership controls:
``tests/terraform/treegen.py``), alternates runs of

(a) bare ``checkov -d DIR`` with exactly the command line, environment and sandbox directory
    the gate uses (:func:`checkov_invocation`), and
(b) ``aslcheck gate --iac DIR --config ... --out TMP --quiet`` as a subprocess (start-up,
    catalog, parse, checkov, normalise, evaluate asl3, render JUnit/SARIF/JSON, write the
    snapshot: what a pipeline pays), and
(c) :func:`run_gate` in-process with the production runner (checkov and all, no CLI),

so machine noise hits all alike, and prints the medians and the ratios to bare checkov.
Target (issue 12 item 4): at 1,000 buckets the gate CLI within 1.3x bare checkov. It also
times the gate's own phases in-process with checkov's report replayed (parse, normalise,
findings, evaluate), to show where the rest goes.

    ASLCHECK_CHECKOV=.venv-checkov/bin/checkov PYTHONPATH=. .venv/bin/python bench/gate_overhead.py
    ... --buckets 1000 --runs 3 --examples   (the default)
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aslcheck import gate as gate_mod
from aslcheck.checks.builtin import default_registry
from aslcheck.controls.loader import load_catalog, load_config
from aslcheck.inventories.terraform import collector as collector_mod
from aslcheck.inventories.terraform.runner import (
    CheckovOutput,
    CheckovTarget,
    Framework,
    SubprocessCheckovRunner,
    checkov_command,
    find_checkov,
    offline_env,
)
from tests.terraform.treegen import write_tree

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ("examples/terraform/compliant", "examples/terraform/violating")
CONFIG = ROOT / "examples/terraform/aslcheck.yaml"
TARGET = 1.3


def bare(executable: str, path: str) -> float:
    """Seconds for bare checkov on ``path``: the gate's command, environment and sandbox."""
    with tempfile.TemporaryDirectory(prefix="bench-checkov-") as sandbox:
        start = time.perf_counter()
        proc = subprocess.run(checkov_command(executable, CheckovTarget(path, Framework.TERRAFORM)),
                              capture_output=True, env=offline_env(home=sandbox), cwd=sandbox,
                              check=False, stdin=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"checkov failed on {path}: {proc.stderr.decode()[-500:]}")
    return elapsed


def gate_cli(path: str, out: str) -> tuple[float, int]:
    """Seconds and exit status of ``aslcheck gate`` on ``path`` as a subprocess."""
    cmd = [sys.executable, "-m", "aslcheck", "gate", "--iac", path, "--config", str(CONFIG),
           "--out", out, "--quiet"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, check=False, stdin=subprocess.DEVNULL,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1, 2):
        raise SystemExit(f"aslcheck gate failed on {path} ({proc.returncode}): "
                         f"{proc.stderr.decode()[-800:]}")
    return elapsed, proc.returncode


def phases(path: str, document: Any) -> dict[str, float]:
    """The gate's own phases in-process, checkov's report replayed (no overlap)."""
    registry = default_registry()
    catalog, _ = load_catalog(checks=registry)
    config, _ = load_config(str(CONFIG))
    times: dict[str, float] = {}
    patched: list[tuple[Any, str, Callable[..., Any]]] = []

    def timed(module: Any, name: str, label: str) -> None:
        fn = getattr(module, name)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                times[label] = times.get(label, 0.0) + time.perf_counter() - start
        patched.append((module, name, fn))
        setattr(module, name, wrapper)

    timed(collector_mod, "load_directory", "parse+evaluate HCL")
    timed(collector_mod, "normalise", "normalise")
    timed(collector_mod, "findings", "checkov findings")
    timed(gate_mod, "evaluate", "evaluate asl3")
    try:
        start = time.perf_counter()
        gate_mod.run_gate(path, None, "asl3", config, catalog=catalog, registry=registry,
                          runner=lambda target: CheckovOutput(document))
        times["total (no checkov)"] = time.perf_counter() - start
    finally:
        for module, name, fn in patched:
            setattr(module, name, fn)
    return {k: round(v, 2) for k, v in times.items()}


class Recording:
    """The production runner (checkov overlapped with parsing), keeping checkov's last report."""

    def __init__(self, executable: str) -> None:
        self.inner = SubprocessCheckovRunner(executable)
        self.document: Any = None

    def start(self, target: CheckovTarget) -> Any:
        running = self.inner.start(target)
        outer = self

        class Handle:
            def result(self) -> CheckovOutput:
                out = running.result()
                outer.document = out.document
                return out

            def cancel(self) -> None:
                running.cancel()
        return Handle()

    def __call__(self, target: CheckovTarget) -> CheckovOutput:
        return self.start(target).result()  # type: ignore[no-any-return]


def gate_library(path: str, runner: Recording) -> float:
    """Seconds for :func:`run_gate` in-process (checkov subprocess included, no CLI)."""
    registry = default_registry()
    catalog, _ = load_catalog(checks=registry)
    config, _ = load_config(str(CONFIG))
    start = time.perf_counter()
    gate_mod.run_gate(path, None, "asl3", config, catalog=catalog, registry=registry,
                      runner=runner)
    return time.perf_counter() - start


def measure(executable: str, path: str, runs: int, label: str) -> dict[str, Any]:
    """Alternate bare checkov, the gate CLI and the gate library on ``path``; medians, ratios."""
    bare_s: list[float] = []
    cli_s: list[float] = []
    lib_s: list[float] = []
    codes = set()
    runner = Recording(executable)
    with tempfile.TemporaryDirectory(prefix="bench-gate-out-") as out:
        for _ in range(runs):
            bare_s.append(bare(executable, path))
            elapsed, code = gate_cli(path, out)
            cli_s.append(elapsed)
            codes.add(code)
            lib_s.append(gate_library(path, runner))
    b, c, g = (statistics.median(x) for x in (bare_s, cli_s, lib_s))
    return {"tree": label, "runs": runs, "bare_checkov_s": round(b, 2), "gate_cli_s": round(c, 2),
            "ratio_cli": round(c / b, 3), "gate_library_s": round(g, 2),
            "ratio_library": round(g / b, 3), "exit_codes": sorted(codes),
            "bare_all_s": [round(x, 2) for x in bare_s], "cli_all_s": [round(x, 2) for x in cli_s],
            "library_all_s": [round(x, 2) for x in lib_s],
            "phases": phases(path, runner.document)}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table plus one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="alternating runs per tree")
    parser.add_argument("--buckets", type=int, nargs="*", default=[1000],
                        help="generated bucket counts (default 1000)")
    parser.add_argument("--no-examples", action="store_true", help="skip the two example trees")
    args = parser.parse_args(argv)
    exe = find_checkov()
    rows = []
    if not args.no_examples:
        rows += [measure(exe, path, args.runs, path) for path in EXAMPLES]
    with tempfile.TemporaryDirectory(prefix="bench-gate-tree-") as tmp:
        for n in args.buckets:
            tree = write_tree(Path(tmp) / f"buckets-{n}", n)
            rows.append(measure(exe, str(tree), args.runs, f"compliant + {n} buckets"))
    print("| tree | runs | bare checkov (s) | `aslcheck gate` CLI (s) | ratio | run_gate "
          "library (s) | ratio | exit |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['tree']} | {r['runs']} | {r['bare_checkov_s']:.2f} | {r['gate_cli_s']:.2f} "
              f"| **{r['ratio_cli']:.3f}** | {r['gate_library_s']:.2f} | {r['ratio_library']:.3f} "
              f"| {','.join(map(str, r['exit_codes']))} |")
    print()
    print("gate's own phases, checkov's report replayed (s):")
    for r in rows:
        print(f"  {r['tree']}: " + ", ".join(f"{k} {v}" for k, v in r["phases"].items()))
    scaled = [r for r in rows if r["tree"].endswith("buckets")]
    worst = max((r["ratio_cli"] for r in scaled), default=None)
    print(json.dumps({"benchmark": "gate_overhead", "rows": rows, "worst_ratio_generated": worst,
                      "target": TARGET}))
    return 0 if worst is None or worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
