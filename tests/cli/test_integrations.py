"""action.yml, .pre-commit-hooks.yaml and the Containerfile: valid, and every flag they pass is a real CLI flag.

No container engine or GitHub runner exists here, so the action's shell steps run in a real bash
with a stand-in ``aslcheck`` that parses the arguments with the real parser, and the Containerfile
is checked statically (docs/integrations.md says so).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from aslcheck.cli import build_parser
from tests.cli.conftest import REPO

ACTION = yaml.safe_load((REPO / "action.yml").read_text())
HOOKS = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
SHIM = """#!{python}
import json, os, sys
sys.path.insert(0, {repo!r})
from aslcheck.cli import build_parser
try:
    args = build_parser().parse_args(sys.argv[1:])
except Exception as exc:  # the CLI's own usage error
    print(exc, file=sys.stderr)
    sys.exit(3)
out = {{k: v for k, v in vars(args).items() if k != "run"}}
json.dump({{"argv": sys.argv[1:], "parsed": out}}, open(os.environ["SHIM_OUT"], "w"), default=str)
sys.exit(int(os.environ.get("SHIM_EXIT", "0")))
"""


def _step(name_part: str) -> dict[str, Any]:
    step: dict[str, Any] = next(s for s in ACTION["runs"]["steps"] if name_part in s.get("name", ""))
    return step


def test_action_metadata_is_valid() -> None:
    schema = json.loads((REPO / "tests/data/integrations/github-action.schema.json").read_text())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in Draft7Validator(schema).iter_errors(ACTION)]
    assert errors == []
    assert ACTION["runs"]["using"] == "composite"
    assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif@") for s in ACTION["runs"]["steps"])


def test_inputs_reach_the_shell_only_through_the_environment() -> None:
    run_step = _step("aslcheck ${{ inputs.command }}")
    env = run_step["env"]
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), f"expression inside a script: {step.get('name')}"
    used = {m for s in ACTION["runs"]["steps"] for v in s.get("env", {}).values()
            for m in re.findall(r"\$\{\{ inputs\.([a-z-]+) \}\}", str(v))}
    used |= {m for s in ACTION["runs"]["steps"] for v in (s.get("with") or {}).values()
             for m in re.findall(r"inputs\.([a-z-]+)", str(v))}
    used |= {m for s in ACTION["runs"]["steps"] for m in re.findall(r"inputs\.([a-z-]+)", str(s.get("if", "")))}
    assert used == set(ACTION["inputs"]), set(ACTION["inputs"]) ^ used
    for name, value in env.items():
        assert name in run_step["run"], f"{name} is set but unused"
        assert value.startswith("${{ inputs.")


@pytest.fixture
def shim(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    path = bin_dir / "aslcheck"
    path.write_text(SHIM.format(python=sys.executable, repo=str(REPO)))
    path.chmod(0o755)
    return bin_dir


def _run_action(shim: Path, tmp_path: Path, exit_code: int = 0, **inputs: str) -> tuple[int, dict[str, Any], str]:
    step = _step("aslcheck ${{ inputs.command }}")
    env = dict.fromkeys(step["env"], "")
    for name, spec in ACTION["inputs"].items():
        key = "INPUT_" + name.upper().replace("-", "_")
        if key in env:
            env[key] = str(spec.get("default", ""))
    env.update({("INPUT_" + k.upper()): v for k, v in inputs.items()})
    output = tmp_path / "github_output"
    output.write_text("")
    env.update(PATH=f"{shim}{os.pathsep}{os.environ['PATH']}", GITHUB_OUTPUT=str(output),
               SHIM_OUT=str(tmp_path / "shim.json"), SHIM_EXIT=str(exit_code))
    proc = subprocess.run(["bash", "-c", step["run"]], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    parsed = json.loads((tmp_path / "shim.json").read_text()) if (tmp_path / "shim.json").exists() else {}
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    assert proc.returncode != 0 or outputs.get("exit-code") == str(exit_code), proc.stderr
    return proc.returncode, parsed, proc.stdout + proc.stderr


def test_gate_inputs_become_real_gate_flags(shim: Path, tmp_path: Path) -> None:
    code, got, _ = _run_action(shim, tmp_path, exit_code=1, command="gate", iac="infra/",
                               controls="ASL3-WA-*,ASL2-WA-1", severity="high", skip_checks="host.*",
                               sign_key="awskms:arn:aws:kms:us-east-1:1:key/k",
                               formats="sarif junit csv", extra_args="--threshold 1")
    assert code == 0  # the step records the exit code; the last step fails the job
    p = got["parsed"]
    assert p["command"] == "gate" and p["iac"] == "infra/" and p["controls"] == ["ASL3-WA-*,ASL2-WA-1"]
    assert p["severity"] == "high" and p["skip_checks"] == ["host.*"] and p["format"] == ["sarif", "junit", "csv"]
    assert p["out"] == "reports/aslcheck" and p["profile"] == "asl3" and p["config"] == "aslcheck.yaml"
    assert p["sign_key"] == ["awskms:arn:aws:kms:us-east-1:1:key/k"] and p["manual"] == "gate"


def test_attestation_scan_and_check_inputs(shim: Path, tmp_path: Path) -> None:
    _, got, _ = _run_action(shim, tmp_path, command="gate", attestation="nightly/attestation.dsse.json",
                            keys="keys/scan.pub\nkeys/backup.pub\n", max_age="26h", formats="json")
    assert got["parsed"]["key"] == ["keys/scan.pub", "keys/backup.pub"] and got["parsed"]["attestation"]
    _, got, _ = _run_action(shim, tmp_path, command="scan", extra_args="--aws --region us-east-1 --region eu-west-1",
                            manual="report", catalog="overlay.yaml\nmore.yaml")
    assert got["parsed"]["aws"] is True and got["parsed"]["region"] == ["us-east-1", "eu-west-1"]
    assert got["parsed"]["catalog"] == ["overlay.yaml", "more.yaml"] and got["parsed"]["manual"] == "report"
    _, got, _ = _run_action(shim, tmp_path, command="check", snapshot="snap.json", domains="WA,TP", checks="aws.s3.*")
    assert got["parsed"]["snapshot"] == "snap.json" and got["parsed"]["domains"] == ["WA,TP"]


def test_every_flag_the_action_can_emit_exists(shim: Path) -> None:
    script = _step("aslcheck ${{ inputs.command }}")["run"]
    flags = set(re.findall(r"(--[a-z][a-z-]+)", script))
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for command, extra in (("gate", set()), ("scan", {"--iac", "--attestation", "--max-age", "--key"}),
                           ("check", {"--iac", "--attestation", "--max-age", "--key"})):
        options = {o for a in sub.choices[command]._actions for o in a.option_strings}
        assert flags - extra - {"--snapshot"} <= options | {"--snapshot"}, (command, flags - options)
    gate_options = {o for a in sub.choices["gate"]._actions for o in a.option_strings}
    assert flags <= gate_options, flags - gate_options


def test_bad_command_and_the_exit_policy_step(shim: Path, tmp_path: Path) -> None:
    code, _, out = _run_action(shim, tmp_path, command="rm -rf /")
    assert code == 3 and "command must be gate, scan or check" in out
    final = _step("Fail the job")["run"]

    def final_code(code: str, fail_on: str) -> int:
        env = {"PATH": os.environ["PATH"], "CODE": code, "FAIL_ON_INCONCLUSIVE": fail_on}
        return subprocess.run(["bash", "-c", final], env=env, capture_output=True, timeout=30, check=False).returncode

    assert final_code("0", "true") == 0
    assert final_code("1", "false") == 1  # a FAIL always fails the job
    assert final_code("2", "true") == 2   # fail closed by default
    assert final_code("2", "false") == 0
    assert final_code("3", "false") == 3
    assert final_code("", "true") == 70   # aslcheck did not run: never a green job


# -- pre-commit ---------------------------------------------------------------------------------------


def test_pre_commit_hooks_manifest() -> None:
    assert isinstance(HOOKS, list) and {h["id"] for h in HOOKS} == {"aslcheck-gate", "aslcheck-validate"}
    scripts = (REPO / "setup.cfg").read_text()
    for hook in HOOKS:
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        assert set(hook) <= {"id", "name", "entry", "language", "files", "exclude", "types", "types_or",
                             "exclude_types", "additional_dependencies", "args", "always_run", "fail_fast",
                             "pass_filenames", "description", "language_version", "log_file",
                             "minimum_pre_commit_version", "require_serial", "stages", "verbose", "alias"}
        entry = shlex.split(hook["entry"])
        assert re.search(rf"^\s*{entry[0]} = ", scripts, re.M), f"{entry[0]} is not a console script"
        build_parser().parse_args(entry[1:] + list(hook["args"]))  # raises on an unknown flag
        re.compile(hook["files"])
    gate = next(h for h in HOOKS if h["id"] == "aslcheck-gate")
    assert all(re.search(gate["files"], f) for f in ("infra/main.tf", "prod.tfvars", "x.tf.json"))
    assert not re.search(gate["files"], "README.md")
    validate = next(h for h in HOOKS if h["id"] == "aslcheck-validate")
    assert all(re.search(validate["files"], f) for f in ("aslcheck.yaml", "sec/waivers.yaml", "my-catalog.yaml"))
    assert not re.search(validate["files"], "infra/main.tf")
    deps = gate["additional_dependencies"]
    assert deps == [line.strip() for line in scripts.splitlines() if line.strip().startswith("bc-python-hcl2")]


# -- Containerfile --------------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    text = (REPO / "Containerfile").read_text()
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for raw in joined.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def test_containerfile_recipe() -> None:
    steps = _instructions()
    froms = [v for k, v in steps if k == "FROM"]
    assert len(froms) == 1 and re.fullmatch(r"python:3\.(1[0-9])-slim", froms[0]), froms
    assert int(froms[0].split(".")[1].split("-")[0]) >= 10  # setup.cfg python_requires >= 3.10
    users = [i for i, (k, _) in enumerate(steps) if k == "USER"]
    assert users, "no USER: the image would run as root"
    user = steps[users[-1]][1].split(":")[0]
    assert user not in ("root", "0")
    entry = next(i for i, (k, _) in enumerate(steps) if k == "ENTRYPOINT")
    assert users[-1] < entry and json.loads(steps[entry][1]) == ["aslcheck"]
    assert all(k != "RUN" for k, _ in steps[users[-1]:]), "nothing may run as root after USER"
    runs = " ".join(v for k, v in steps if k == "RUN")
    assert "python -m venv /opt/checkov" in runs
    assert "/opt/checkov/bin/pip install -r /tmp/requirements-checkov.txt" in runs
    assert "python -m venv /opt/aslcheck" in runs and "-c /tmp/constraints.txt" in runs
    assert "--uid 10001" in runs and steps[users[-1]][1].startswith("10001")
    assert not re.search(r"\b(curl|wget|sudo)\b", runs)
    envs = " ".join(v for k, v in steps if k == "ENV")
    assert "ASLCHECK_CHECKOV=/opt/checkov/bin/checkov" in envs and "PATH=/opt/aslcheck/bin:$PATH" in envs
    extras = re.search(r'"/src\[([a-z,]+)\]"', runs)
    assert extras
    setup = (REPO / "setup.cfg").read_text()
    for extra in extras.group(1).split(","):
        assert re.search(rf"^{extra} =", setup, re.M), extra
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    assert ignore[1] == "*" or "*" in ignore
    for k, v in steps:
        if k == "COPY":
            *sources, _dest = v.split()
            for src in sources:
                assert (REPO / src).exists(), src
                top = src.split("/")[0]
                assert f"!{top}" in ignore or f"!{top}/" in ignore, f"{src} is excluded from the build context"
    assert "!.venv" not in ignore and "!.git" not in ignore


def test_integration_docs() -> None:
    doc = (REPO / "docs" / "integrations.md").read_text()
    assert "no Docker" in doc or "no container engine" in doc
    for needle in ("action.yml", ".pre-commit-hooks.yaml", "Containerfile", "aslcheck completion"):
        assert needle in doc
