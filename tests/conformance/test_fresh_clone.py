"""The suite is self-contained: nothing outside the repository is read, and a fresh clone passes.

`.ci/run` runs the whole `make test` in a fresh clone of HEAD; this test keeps a cheap version of
that promise in every run: the tests that need vendored data pass from a clone in a temporary
folder, with nothing beside it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"""(\.\./shared|/\s*["']shared["']|/work/|(?:ROOT|REPO)\.parent\b)""")
"""Ways a test reached outside the checkout before (../shared/schemas, ROOT.parent / "shared")."""
PARENTS = re.compile(r"__file__\)\.resolve\(\)\.parents\[(\d+)\]")
"""``Path(__file__).resolve().parents[N]``: outside the checkout when N climbs above the repo root."""


def test_no_test_reads_outside_the_repository() -> None:
    offenders = []
    for path in sorted((REPO / "tests").rglob("*.py")):
        if path == Path(__file__).resolve():
            continue
        top = len(path.relative_to(REPO).parts) - 1  # parents[top] is the repo root
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if OUTSIDE.search(line) or any(int(n) > top for n in PARENTS.findall(line)):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "tests must read only files inside the repository:\n" + "\n".join(offenders)


def test_vendored_data_is_tracked() -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "-C", str(REPO), "ls-files", "tests/data", "tests/schemas.py"],
                             capture_output=True, text=True, check=True).stdout.split()
    for name in ("tests/schemas.py", "tests/data/asl-control-ids.txt", "tests/data/schemas/README.md",
                 "tests/data/schemas/sarif-schema-2.1.0.json",
                 "tests/data/schemas/oscal-1.0.6-assessment-results-schema.json",
                 "tests/data/schemas/oscal-1.2.3-complete-schema.json"):
        assert name in tracked, f"{name} is not committed: a fresh clone would not have it"


def test_schema_tests_pass_in_a_fresh_clone(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)], check=True,
                   timeout=300)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", "--detach", head], check=True)
    targets = ["tests/conformance/test_registry_catalog.py", "tests/reports/test_oscal.py",
               "tests/reports/test_junit.py", "tests/terraform/test_checkov_checks.py"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", *targets],
                          cwd=clone, env=env, capture_output=True, text=True, timeout=600, check=False)
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    assert "skipped" not in proc.stdout.splitlines()[-1], tail
    assert str(clone) in proc.stdout or "passed" in proc.stdout
