"""The shipped recipes, read and then executed: the Kubernetes Indexed Job (examples/kubernetes/)
and the GitHub Actions matrix (examples/ci/github-sharded-scan.yml).

Their command lines run as written, as concurrent processes against an organisation on moto,
with only what a cluster or runner would provide substituted: ``$(JOB_COMPLETION_INDEX)`` (the
kubelet's expansion), the mount points, the matrix value, a local Ed25519 key for the KMS key,
and ``--endpoint-url`` (added by a shim ``aslcheck`` on PATH).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from aslcheck.cli.exitcodes import ExitCode
from aslcheck.reports.signing import generate_keypair
from tests.shard.shardlab import (
    REPO,
    Lab,
    aslcheck_argv,
    aslcheck_shim,
    demo_lab,
    results,
    run_all,
    run_one,
    statuses,
)

K8S = REPO / "examples/kubernetes/scan-indexed-job.yaml"
GHA = REPO / "examples/ci/github-sharded-scan.yml"


@dataclass(frozen=True)
class OrgLab:
    lab: Lab
    env: Mapping[str, str]
    """The lab's environment with the shim first on PATH."""
    key: Path
    pub: Path


@pytest.fixture(scope="module")
def org_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrgLab]:
    root = tmp_path_factory.mktemp("recipes")
    with demo_lab(root, organization=True) as lab:
        shim = aslcheck_shim(root / "bin", lab.url)
        env = dict(lab.env, PATH=f"{shim}:{lab.env.get('PATH', '/usr/bin:/bin')}")
        generate_keypair(str(root / "sign.key"), str(root / "sign.pub"), None)
        yield OrgLab(lab, env, root / "sign.key", root / "sign.pub")


# -- Kubernetes --------------------------------------------------------------------------------------


def _k8s() -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all(K8S.read_text(encoding="utf-8")) if d]
    by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    return {"config": by[("ConfigMap", "aslcheck-config")], "pvc": by[("PersistentVolumeClaim", "aslcheck-reports")],
            "scan": by[("Job", "aslcheck-scan")], "merge": by[("Job", "aslcheck-merge")]}


def _container(job: dict[str, Any]) -> dict[str, Any]:
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return dict(container)


def _option(args: Sequence[str], name: str) -> str:
    return args[list(args).index(name) + 1]


def test_k8s_recipe_is_an_indexed_job_with_consistent_shards() -> None:
    k = _k8s()
    spec = k["scan"]["spec"]
    n = spec["completions"]
    assert spec["completionMode"] == "Indexed"
    assert isinstance(n, int) and n >= 2 and 1 <= spec["parallelism"] <= n
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    c = _container(k["scan"])
    assert c["args"][0] == "scan"
    assert _option(c["args"], "--shard") == f"$(JOB_COMPLETION_INDEX)/{n}"
    assert "$(JOB_COMPLETION_INDEX)" in _option(c["args"], "--out")
    (env,) = [e for e in c["env"] if e["name"] == "JOB_COMPLETION_INDEX"]
    assert env["valueFrom"]["fieldRef"]["fieldPath"] == \
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    config = yaml.safe_load(k["config"]["data"]["aslcheck.yaml"])
    assert config["aws"]["regions"], "a sharded scan needs explicit regions"
    m = _container(k["merge"])
    assert m["args"][0] == "merge"
    out_pattern = _option(c["args"], "--out")
    shard_dirs = [a for a in m["args"][1:] if not a.startswith("--") and a.startswith("/reports/shard-")]
    assert shard_dirs == [out_pattern.replace("$(JOB_COMPLETION_INDEX)", str(i)) for i in range(n)]
    claims = {v["persistentVolumeClaim"]["claimName"] for job in (k["scan"], k["merge"])
              for v in job["spec"]["template"]["spec"]["volumes"] if "persistentVolumeClaim" in v}
    assert claims == {k["pvc"]["metadata"]["name"]}
    assert "ReadWriteMany" in k["pvc"]["spec"]["accessModes"]


def _expand(args: Sequence[str], values: Mapping[str, str], mounts: Mapping[str, Path]) -> list[str]:
    """The kubelet's ``$(VAR)`` expansion, and the container's mount points mapped to local folders."""
    out = []
    for arg in args:
        expanded = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: values[m.group(1)], arg)
        for mount, local in mounts.items():
            if expanded == mount or expanded.startswith(mount + "/"):
                expanded = str(local) + expanded[len(mount):]
        out.append(expanded)
    return out


def test_k8s_recipe_runs_and_its_merge_matches_an_unsharded_scan(org_lab: OrgLab, tmp_path: Path) -> None:
    k = _k8s()
    n = k["scan"]["spec"]["completions"]
    (tmp_path / "config").mkdir()
    (tmp_path / "config/aslcheck.yaml").write_text(k["config"]["data"]["aslcheck.yaml"], encoding="utf-8")
    mounts = {"/config": tmp_path / "config", "/reports": tmp_path / "reports"}
    scan_args = _container(k["scan"])["args"]
    shards = [["aslcheck", *_expand(scan_args, {"JOB_COMPLETION_INDEX": str(i)}, mounts)] for i in range(n)]
    # the same scan unsharded: without --shard I/N, into its own folder
    unsharded = list(scan_args)
    del unsharded[unsharded.index("--shard"):unsharded.index("--shard") + 2]
    unsharded[unsharded.index("--out") + 1] = "/reports/unsharded"
    full = ["aslcheck", *_expand(unsharded, {}, mounts)]
    ran = run_all([*shards, full], org_lab.env, [{"JOB_COMPLETION_INDEX": str(i)} for i in range(n)] + [{}])
    for r in ran[:-1]:
        assert r.code == 0, r.err
    assert ran[-1].code in (0, 1, 2), ran[-1].err
    merge_args = _container(k["merge"])["args"]
    merge = ["aslcheck", *_expand(merge_args, {"ASLCHECK_SIGNING_KEY_ARN": "KEY"}, mounts)]
    merge[merge.index("awskms:KEY")] = str(org_lab.key)
    merged = run_one(merge, org_lab.env)
    assert merged.code == ran[-1].code, merged.err
    out = tmp_path / "reports/merged"
    assert statuses(out) == statuses(tmp_path / "reports/unsharded")
    snap = json.loads((out / "snapshot.json").read_text())
    accounts = {t.split("/")[0] for c in snap["provenance"]["collectors"] for t in c["targets"]}
    assert len(accounts) == 2, accounts  # the management account and the member, each by some shard
    assert not [e for e in snap["errors"] if e["operation"] == "sts:AssumeRole"]
    verified = run_one(aslcheck_argv("verify", str(out / "attestation.dsse.json"), "--key", str(org_lab.pub),
                                     "--snapshot", str(out / "snapshot.json")), org_lab.env)
    assert verified.code == 0, verified.out + verified.err
    # a pod that never wrote its partial: the same merge command, no PASS anywhere
    shutil.rmtree(tmp_path / "reports/shard-1")
    again = run_one(merge, org_lab.env)
    assert again.code not in (ExitCode.OK, ExitCode.BAD_INPUT), again.err
    assert [c["id"] for c in results(out)["controls"] if c["status"] == "pass" and c["checks"]] == []


# -- GitHub Actions ------------------------------------------------------------------------------------


def _gha() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(GHA.read_text(encoding="utf-8"))
    return loaded


def _step(job: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(next(s for s in job["steps"] if s.get("name") == name))


def test_gha_recipe_is_a_matrix_with_consistent_shards() -> None:
    wf = _gha()
    n = int(wf["env"]["SHARDS"])
    scan, merge = wf["jobs"]["scan"], wf["jobs"]["merge"]
    assert scan["strategy"]["matrix"]["shard"] == list(range(n))
    assert scan["strategy"]["fail-fast"] is False
    run = _step(scan, "aslcheck scan (one shard)")
    assert '--shard "${SHARD}/${SHARDS}"' in run["run"]
    assert run["env"]["SHARD"] == "${{ matrix.shard }}"
    upload = next(s for s in scan["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"].rstrip("/") == "partials/shard-${{ matrix.shard }}"
    assert upload["with"]["name"] == "aslcheck-partial-${{ matrix.shard }}"
    assert merge["needs"] == "scan" and merge["if"] == "always()"
    download = next(s for s in merge["steps"] if s.get("uses", "").startswith("actions/download-artifact"))
    assert download["with"]["pattern"] == "aslcheck-partial-*"
    assert "aslcheck merge partials/" in _step(merge, "aslcheck merge")["run"]


def _bash(script: str, cwd: Path, env: Mapping[str, str]) -> list[str]:
    return ["bash", "-ec", f"cd {shlex.quote(str(cwd))}\n{script}"]


def test_gha_recipe_runs_as_a_matrix_and_merges(org_lab: OrgLab, tmp_path: Path) -> None:
    wf = _gha()
    n = int(wf["env"]["SHARDS"])
    scan, merge = wf["jobs"]["scan"], wf["jobs"]["merge"]
    k = _k8s()  # any config with explicit regions; the workflow expects ./aslcheck.yaml in the checkout
    (tmp_path / "aslcheck.yaml").write_text(k["config"]["data"]["aslcheck.yaml"], encoding="utf-8")
    run = _step(scan, "aslcheck scan (one shard)")["run"]
    # each matrix job runs on its own runner: its own checkout folder
    runners = [tmp_path / f"runner-{i}" for i in range(n)]
    for r in runners:
        r.mkdir()
        shutil.copy(tmp_path / "aslcheck.yaml", r / "aslcheck.yaml")
    ran = run_all([_bash(run, r, org_lab.env) for r in runners], org_lab.env,
                  [{"SHARD": str(i), "SHARDS": str(n)} for i in range(n)])
    for r in ran:
        assert r.code == 0, r.err
    # download-artifact with a pattern puts each artifact in partials/<artifact name>/
    merger = tmp_path / "merger"
    for i, r in enumerate(runners):
        shutil.copytree(r / f"partials/shard-{i}", merger / f"partials/aslcheck-partial-{i}")
    shutil.copy(tmp_path / "aslcheck.yaml", merger / "aslcheck.yaml")
    script = _step(merge, "aslcheck merge")["run"].replace('"awskms:${ASLCHECK_SIGNING_KEY_ARN}"',
                                                          shlex.quote(str(org_lab.key)))
    merged = run_one(_bash(script, merger, org_lab.env), org_lab.env)
    assert merged.code in (0, 1, 2), merged.err
    out = merger / "reports/asl-nightly"
    assert (out / "attestation.dsse.json").exists() and (out / "results.sarif").exists()
    assert results(out)["controls"]
    summary = (out / "shards.json").read_text()
    assert '"complete":true' in summary
