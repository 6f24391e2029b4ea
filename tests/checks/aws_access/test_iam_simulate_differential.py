"""Differential test of the access engine against @cloud-copilot/iam-simulate (issue 10).

The npm package ships no test cases, so it is the oracle: ``iamsim/oracle.mjs`` (ours) feeds it
the corpus of ``iamsim_corpus.py`` (ours: AWS documentation examples plus bounded random and
adversarial cases), one simulation per context variant, and our engine decides the same
request from a snapshot. A case the oracle allows in some variant that we answer NO for (a
false deny: it would hide a reader) fails the suite; MAYBE is allowed. The counts are printed
and written to ``tests/.artifacts/iamsim-counts.json``; docs/aws.md records them.

iam-simulate is AGPL: it is installed at test time (``make iam-simulate``, or by this test with
the same pinned lock file) into ``.cache/iam-simulate``, never vendored. Without node and npm
the test skips and says why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from access_builders import snap
from iamsim_case import SimCase
from iamsim_corpus import corpus

from aslcheck.checks.aws.access.directory import Directory
from aslcheck.checks.aws.access.engine import Engine
from aslcheck.checks.aws.access.model import Level, Request, Service, Verdict
from aslcheck.checks.aws.access.policy import parse_policy

ROOT = Path(__file__).resolve().parents[3]
SRC = Path(__file__).resolve().parent / "iamsim"
PREFIX = ROOT / ".cache" / "iam-simulate"
PKG = PREFIX / "node_modules" / "@cloud-copilot" / "iam-simulate"
VERSION = json.loads((SRC / "package.json").read_text())["dependencies"]["@cloud-copilot/iam-simulate"]
RANDOM_CASES = 300
_SERVICES = {"s3": Service.S3, "kms": Service.KMS, "sts": Service.STS}

Oracle = Callable[[list[dict[str, Any]]], dict[str, str]]


@pytest.fixture(scope="module")
def oracle() -> Oracle:
    """Run simulations through the installed iam-simulate; skip only when node/npm are absent."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed: the iam-simulate differential test needs them")
    if not (PKG / "package.json").exists():
        PREFIX.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(SRC / name, PREFIX / name)
        subprocess.run([npm, "ci", "--prefix", str(PREFIX), "--no-audit", "--no-fund", "--loglevel=error"],
                       check=True, timeout=600, capture_output=True)
    installed = json.loads((PKG / "package.json").read_text())["version"]
    assert installed == VERSION, f"installed iam-simulate {installed}, pinned {VERSION}: run 'make iam-simulate'"

    def run(items: list[dict[str, Any]]) -> dict[str, str]:
        proc = subprocess.run([node, str(SRC / "oracle.mjs"), str(PKG)],
                              input="\n".join(json.dumps(i) for i in items), capture_output=True, text=True,
                              timeout=900, check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]
        out = {}
        for line in proc.stdout.splitlines():
            if line.strip():
                row = json.loads(line)
                out[row["id"]] = row["result"] if row["result"] != "error" else f"error: {row.get('error')}"
        assert len(out) == len(items), "the oracle answered fewer cases than it was asked"
        return out

    return run


def ours(case: SimCase) -> Verdict:
    """Our engine's verdict on the case's one request."""
    s = snap(*case.resources())
    d = Directory(s)
    p = d.principals[case.principal_arn]
    if case.service == "s3":
        rid, policy = f"arn:aws:s3:::{case.resource.split(':::', 1)[1].split('/', 1)[0]}", case.resource_policy
    elif case.service == "kms":
        rid, policy = case.resource, case.resource_policy or {"Version": "2012-10-17", "Statement": []}
    else:
        rid, policy = case.resource, case.resource_policy or {"Version": "2012-10-17", "Statement": []}
    res = next(r for r in s.resources if r.id == rid)
    req = Request(action=case.action, resource=case.resource, is_prefix=False, service=_SERVICES[case.service],
                  resource_id=rid, resource_account=case.resource_account,
                  policy=parse_policy(policy) if policy is not None else None,
                  policy_label=f"resource policy of {rid}", resource_tags=res.tags)
    return Engine(d).decide(p, req)


def classify(cases: list[SimCase], oracle: Oracle) -> tuple[Counter[str], list[str]]:
    """Counts per outcome, and the false denies (with details)."""
    items: list[dict[str, Any]] = []
    owner: dict[str, str] = {}
    for case in cases:
        for n, sim in enumerate(case.simulations()):
            sid = f"{case.id}#{n}"
            owner[sid] = case.id
            items.append({"id": sid, "simulation": sim})
    answers = oracle(items)
    by_case: dict[str, list[str]] = {}
    for sid, result in answers.items():
        by_case.setdefault(owner[sid], []).append(result)
    counts: Counter[str] = Counter()
    false_denies: list[str] = []
    for case in cases:
        results = by_case[case.id]
        valid = [r for r in results if not r.startswith("error")]
        if not valid:
            counts["oracle rejected the input"] += 1
            continue
        allowed = "Allowed" in valid
        v = ours(case)
        if v.level is Level.MAYBE:
            counts["maybe"] += 1
        elif v.level is Level.YES:
            counts["agree (allowed)" if allowed else "we allow, oracle denies"] += 1
        elif allowed:
            counts["mismatch (false deny)"] += 1
            false_denies.append(f"{case.id} ({case.source}): oracle Allowed, we say NO")
        else:
            counts["agree (denied)"] += 1
    return counts, false_denies


def test_no_false_deny_against_iam_simulate(oracle: Oracle) -> None:
    cases = corpus(RANDOM_CASES)
    counts, false_denies = classify(cases, oracle)
    summary = {"iam_simulate": VERSION, "cases": len(cases), **dict(sorted(counts.items()))}
    artifacts = ROOT / "tests" / ".artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "iamsim-counts.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("iam-simulate differential:", json.dumps(summary))
    assert not false_denies, "\n".join(false_denies[:20])
    # Not vacuous: the oracle ran most cases and both answers occur.
    assert counts["oracle rejected the input"] < len(cases) // 5, summary
    assert counts["agree (allowed)"] >= 30 and counts["agree (denied)"] >= 30, summary


def test_documented_cases_all_reach_the_oracle(oracle: Oracle) -> None:
    cases = corpus(0)
    counts, false_denies = classify(cases, oracle)
    assert not false_denies, false_denies
    assert counts["oracle rejected the input"] == 0, counts
