"""Helpers for the sharding tests: the demo lab on a moto server, and the CLI as real processes."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 600
"""Seconds any one CLI process may take (a bound, not an assertion)."""


@dataclass(frozen=True)
class Lab:
    """A seeded demo lab behind a moto server, and an environment that reaches only it."""

    url: str
    env: Mapping[str, str]
    root: Path

    def reset(self) -> None:
        """Empty moto's state (it is per process, shared by every server in it)."""
        _moto_reset(self.url)


@dataclass(frozen=True)
class Ran:
    """One finished CLI process."""

    argv: Sequence[str]
    code: int
    out: str
    err: str


def _moto_reset(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=30).close()


def lab_env(root: Path, region: str) -> dict[str, str]:
    """The process environment with real AWS configuration hidden and fake keys."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("JOB_COMPLETION_INDEX", "SHARD", "SHARDS")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=region,
               AWS_CONFIG_FILE=str(root / "aws-config"), AWS_SHARED_CREDENTIALS_FILE=str(root / "aws-credentials"),
               AWS_EC2_METADATA_DISABLED="true", PYTHONPATH=str(REPO))
    return env


@contextmanager
def demo_lab(root: Path, organization: bool = False) -> Iterator[Lab]:
    """A moto server on 127.0.0.1 seeded with the demo lab (plus a member account if asked); stopped after."""
    pytest.importorskip("moto.server")
    import boto3
    from moto.server import ThreadedMotoServer

    from aslcheck.inventories.aws.demo_lab import REGION, seed_demo_lab

    env = lab_env(root, REGION)
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        _moto_reset(url)
        with pytest.MonkeyPatch.context() as mp:
            for name in [k for k in os.environ if k.startswith("AWS_")]:
                mp.delenv(name)
            for name, value in env.items():
                if name.startswith("AWS_"):
                    mp.setenv(name, value)
            session = boto3.session.Session(region_name=REGION)
            seed_demo_lab(session, url)
            if organization:
                orgs = session.client("organizations", endpoint_url=url)
                # the demo lab is an organisation's management account; add an empty member
                # account, which the org scan enters through sts:AssumeRole
                orgs.create_account(AccountName="member", Email="member@frontier.example")
        yield Lab(url, env, root)
        _moto_reset(url)
    finally:
        server.stop()


def write_demo_inputs(directory: Path, regions: Sequence[str]) -> Path:
    """The demo config (with ``regions``) and its attestations file; returns the config path."""
    from aslcheck.cli.cmd_demo import _attestations_yaml

    directory.mkdir(parents=True, exist_ok=True)
    text = (REPO / "aslcheck/inventories/aws/demo_config.yaml").read_text(encoding="utf-8")
    assert "regions: [us-east-1]" in text
    config = directory / "aslcheck.yaml"
    config.write_text(text.replace("regions: [us-east-1]", f"regions: [{', '.join(regions)}]"), encoding="utf-8")
    (directory / "attestations.yaml").write_text(_attestations_yaml(datetime.now(timezone.utc)), encoding="utf-8")
    return config


def aslcheck_argv(*args: str) -> list[str]:
    """``aslcheck ARGS`` as this interpreter runs it."""
    return [sys.executable, "-m", "aslcheck", *args]


def run_all(commands: Sequence[Sequence[str]], env: Mapping[str, str],
            extra_env: Sequence[Mapping[str, str]] | None = None) -> list[Ran]:
    """Start every command at once (concurrent processes), then wait for each."""
    procs = []
    for i, argv in enumerate(commands):
        penv = dict(env)
        if extra_env is not None:
            penv.update(extra_env[i])
        procs.append((argv, subprocess.Popen(list(argv), env=penv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                             stdin=subprocess.DEVNULL, text=True, cwd=REPO)))
    out = []
    for argv, proc in procs:
        try:
            o, e = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            o, e = proc.communicate()
        out.append(Ran(argv, proc.returncode, o, e))
    return out


def run_one(argv: Sequence[str], env: Mapping[str, str]) -> Ran:
    """Run one command to its end."""
    return run_all([argv], env)[0]


def results(out: Path) -> dict[str, Any]:
    """``results.json`` of a report folder."""
    loaded: dict[str, Any] = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return loaded


def statuses(out: Path) -> dict[str, str]:
    """Control ID -> status of a report folder."""
    return {c["id"]: c["status"] for c in results(out)["controls"]}


def snapshot_doc(out: Path) -> dict[str, Any]:
    """The snapshot of a report folder."""
    loaded: dict[str, Any] = json.loads((out / "snapshot.json").read_text(encoding="utf-8"))
    return loaded


def resources_of(doc: Mapping[str, Any]) -> set[str]:
    """Every resource of a snapshot document, as canonical JSON text (content, not only identity)."""
    return {json.dumps(r, sort_keys=True) for r in doc["resources"]}


def aslcheck_shim(directory: Path, endpoint_url: str) -> Path:
    """A folder holding an ``aslcheck`` executable that runs this checkout against ``endpoint_url``.

    Recipes call plain ``aslcheck scan ...``; the shim adds only ``--endpoint-url`` (to scans), so
    the recipe's own command line is what runs.
    """
    directory.mkdir(parents=True, exist_ok=True)
    shim = directory / "aslcheck"
    shim.write_text(f"""#!/bin/sh
if [ "$1" = scan ]; then
    shift
    exec {sys.executable} -m aslcheck scan --endpoint-url {endpoint_url} "$@"
fi
exec {sys.executable} -m aslcheck "$@"
""", encoding="utf-8")
    shim.chmod(0o755)
    return directory
