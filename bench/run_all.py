"""Run every benchmark, one at a time, and collect the tables each prints.

    python bench/run_all.py --quick   # small sizes, a few minutes (``make bench``)
    python bench/run_all.py --full    # every size in BENCHMARKS.md (``make bench-full``), about an hour

Each benchmark runs as its own process (so one cannot disturb the next and peak memory is per
benchmark), strictly one after the other: the machine has two cores and a heavy benchmark next
to another would measure the contention. Every table is printed as it completes, and the whole
set, headed by the machine description and the exact commands, is written to
``bench/out/results-<mode>.md`` with the raw JSON lines in ``bench/out/results-<mode>.json``.
A benchmark that cannot run here (no root for sshd, Prowler not installed, checkov missing) is
reported as skipped with the reason, never with invented figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
OUT = BENCH / "out"
STEP_TIMEOUT_S = 3 * 3600


@dataclass(frozen=True)
class Step:
    """One benchmark invocation."""

    title: str
    args: tuple[str, ...]
    needs: str = ""
    """``root``, ``prowler`` or ``checkov``: skipped (with the reason) when missing."""


QUICK = (
    Step("Evaluation scaling (aslcheck check --profile asl3)",
         ("eval_scale.py", "--sizes", "1000,10000,100000", "--out", "bench/out/eval")),
    Step("Where the time goes at 100k resources", (
        "eval_phases.py", "bench/out/eval/snapshot-100000-v2.json", "bench/out/eval/aslcheck-100000.yaml")),
    Step("Effective-access analysis", ("access_scale.py", "--sizes", "1000", "10000")),
    Step("Effective-access speed-ups change no answer", ("access_equivalence.py", "--snapshots", "200")),
    Step("IaC gate overhead", ("gate_overhead.py", "--runs", "3"), "checkov"),
    Step("Fleet collection over SSH", ("ssh_fleet.py", "--hosts", "10", "--light", "--compare", "10"), "root"),
    Step("Live collection against Prowler", ("prowler_compare.py", "--buckets", "100", "--runs", "1"), "prowler"),
)
FULL = (
    Step("Evaluation scaling (aslcheck check --profile asl3)",
         ("eval_scale.py", "--sizes", "1000,10000,100000,1000000", "--out", "bench/out/eval")),
    Step("Where the time and memory go at 1M resources", (
        "eval_phases.py", "bench/out/eval/snapshot-1000000-v2.json", "bench/out/eval/aslcheck-1000000.yaml")),
    Step("At 1M resources with a compact JSON report and no cyclic GC (changes outside the library)", (
        "eval_phases.py", "bench/out/eval/snapshot-1000000-v2.json", "bench/out/eval/aslcheck-1000000.yaml",
        "--compact-json", "--no-gc")),
    Step("Effective-access analysis", ("access_scale.py", "--sizes", "1000", "10000", "50000")),
    Step("Effective-access speed-ups change no answer", ("access_equivalence.py", "--snapshots", "1000")),
    Step("IaC gate overhead", ("gate_overhead.py", "--runs", "5"), "checkov"),
    Step("Fleet collection over SSH", ("ssh_fleet.py", "--hosts", "10", "50", "--both", "--compare", "10"), "root"),
    Step("Live collection against Prowler", ("prowler_compare.py", "--buckets", "100", "1000", "--runs", "3"),
         "prowler"),
    Step("AWS collector alone (in-process moto, operations counted by a recording proxy)",
         ("aws_scan.py", "--buckets", "1000")),
)


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    if shutil.which("free"):
        mem = subprocess.run(["free", "-g"], capture_output=True, text=True, check=False).stdout.splitlines()[1]
        mem = " ".join(mem.split()[:2]).replace("Mem:", "").strip() + " GB total"
    return {"nproc": str(os.cpu_count()), "memory": mem, "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform(), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "loadavg_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def missing(need: str) -> str | None:
    """Why a step cannot run here, or ``None``."""
    if need == "root" and os.geteuid() != 0:
        return "needs root (the sshd servers run as root)"
    if need == "root" and not (shutil.which("sshd") or Path("/usr/sbin/sshd").exists()):
        return "needs openssh-server (sshd)"
    if need == "prowler" and not (BENCH / ".prowler-venv" / "bin" / "prowler").exists():
        return ("Prowler not installed: python3 -m venv bench/.prowler-venv && "
                "bench/.prowler-venv/bin/pip install prowler")
    if need == "checkov" and not (os.environ.get("ASLCHECK_CHECKOV") or shutil.which("checkov")):
        return "checkov not found (set ASLCHECK_CHECKOV or run make checkov)"
    return None


def run(step: Step) -> tuple[str, dict[str, object] | None, float, int]:
    """(table text, JSON result, seconds, exit code) of one step."""
    cmd = [sys.executable, str(BENCH / step.args[0]), *step.args[1:]]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False,
                              timeout=STEP_TIMEOUT_S)
        out, code, err = proc.stdout, proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as exc:
        out, code, err = str(exc.stdout or ""), -9, f"timed out after {STEP_TIMEOUT_S} s"
    wall = time.perf_counter() - start
    result = None
    table: list[str] = []
    for line in out.splitlines():
        if line.startswith("{") and '"benchmark"' in line:
            result = json.loads(line)
        elif line.strip():
            table.append(line)
    if code not in (0, 1) or not table:
        table.append(f"\n(exit {code}) {err.strip()[-1500:]}")
    return "\n".join(table), result, wall, code


def main(argv: list[str] | None = None) -> int:
    """Run the chosen set and write the collected report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small sizes (default)")
    mode.add_argument("--full", action="store_true", help="every size")
    args = ap.parse_args(argv)
    name = "full" if args.full else "quick"
    steps = FULL if args.full else QUICK
    OUT.mkdir(parents=True, exist_ok=True)
    info = machine()
    head = [f"# aslcheck benchmarks ({name})", "",
            f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']}, Python {info['python']}, "
            f"{info['platform']}; load average at start {info['loadavg_at_start']}; {info['date']}.", ""]
    print("\n".join(head), flush=True)
    sections: list[str] = []
    results: list[dict[str, object]] = []
    worst = 0
    for step in steps:
        command = "PYTHONPATH=. python bench/" + " ".join(step.args)
        why = missing(step.needs)
        if why:
            text, wall, code = f"skipped: {why}", 0.0, 0
        else:
            text, result, wall, code = run(step)
            if result is not None:
                results.append(result)
            worst = max(worst, code if code in (0, 1) else 2)
        section = f"## {step.title}\n\nCommand: `{command}` ({wall:.0f} s, exit {code})\n\n{text}\n"
        print(section, flush=True)
        sections.append(section)
    (OUT / f"results-{name}.md").write_text("\n".join(head) + "\n" + "\n".join(sections))
    (OUT / f"results-{name}.json").write_text(json.dumps({"machine": info, "results": results}, indent=1))
    print(f"written: bench/out/results-{name}.md and .json")
    # NOTE: exit 1 means a target was missed (the tables say which); 2 means a benchmark failed.
    return worst


if __name__ == "__main__":
    sys.exit(main())
