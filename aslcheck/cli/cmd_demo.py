"""``aslcheck demo``: the whole pipeline on an embedded frontier lab, with no cloud account.

It starts moto's server on 127.0.0.1 (a stand-in for AWS), seeds a small lab with planted
violations, collects it through the real, read-only AWS collector over HTTP, evaluates the ASL-3
profile and writes the signed attestation and reports under ``./reports/``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import socket
import sys
import urllib.request
from datetime import datetime, timedelta, timezone
from importlib import resources

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.engine import Options, evaluate
from aslcheck.cli.common import exit_code, print_summary
from aslcheck.cli.exitcodes import ExitCode
from aslcheck.controls.loader import load_catalog, load_config
from aslcheck.controls.signed_waivers import load_waivers
from aslcheck.errors import MissingExtraError
from aslcheck.inventories.interface import CollectionRequest
from aslcheck.reports.atomic import check_output_dir, write_atomic
from aslcheck.reports.attestation import ATTESTATION_FILE, SNAPSHOT_FILE, write_reports
from aslcheck.reports.render import RENDERERS
from aslcheck.reports.signing import generate_keypair, load_signer

DEMO_CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}
"""moto accepts any credentials; these never leave 127.0.0.1."""

# Controls whose human part the demo's fictional security team has attested; their automated
# part still decides whether they pass.
DEMO_ATTESTED = ("ASL2-ID-1", "ASL2-LM-1", "ASL3-LM-3", "ASL3-EP-3", "ASL2-PR-1", "ASL3-PR-3")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the subcommand."""
    p = sub.add_parser("demo", help="run the pipeline on the embedded demo lab",
                       description=__doc__)
    p.add_argument("--out", default="reports", metavar="DIR", help="report directory (default ./reports)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=run)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prog() -> str:
    """How the user invoked us, so the printed command runs as shown (e.g. ``.venv/bin/aslcheck``)."""
    if os.path.basename(sys.argv[0]) == "aslcheck":
        return shlex.quote(sys.argv[0])
    return f"{shlex.quote(sys.executable)} -m aslcheck"


def _attestations_yaml(now: datetime) -> str:
    lines = ["# Demo manual attestations (generated): the procedural half of some controls.",
             "version: 1", "attestations:"]
    for cid in DEMO_ATTESTED:
        lines += [f"  - control: {cid}", "    attested_by: security-lead@frontier.example",
                  f"    date: {(now - timedelta(days=10)):%Y-%m-%d}",
                  "    evidence: https://wiki.frontier.example/security/evidence/" + cid.lower(),
                  f"    expires: {(now + timedelta(days=355)):%Y-%m-%d}"]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Start moto, seed, collect, evaluate, sign, write; print the summary and verify command."""
    try:
        from moto.server import ThreadedMotoServer

        from aslcheck.inventories.aws import AwsCollector, build_session_factory
        from aslcheck.inventories.aws.demo_lab import REGION, seed_demo_lab
    except ImportError as exc:
        raise MissingExtraError("demo", exc.name or "moto") from exc
    import boto3

    out = args.out
    check_output_dir(out)
    inputs_dir = os.path.join(out, "demo-inputs")
    now = datetime.now(timezone.utc)
    registry = default_registry()
    catalog, catalog_digest = load_catalog(checks=registry)
    config_file = resources.files("aslcheck.inventories.aws").joinpath("demo_config.yaml")
    config_path = os.path.join(inputs_dir, "aslcheck.yaml")
    write_atomic(config_path, config_file.read_bytes())
    attest_path = os.path.join(inputs_dir, "attestations.yaml")
    write_atomic(attest_path, _attestations_yaml(now).encode())
    config, config_digest = load_config(config_path, catalog)
    # NOTE: the inputs come from the config, as for `check`, so the printed re-check reproduces this run.
    files = [f for f in (config.waivers_file, config.attestations_file) if f]
    assert config.attestations_file is not None  # demo_config.yaml names attestations.yaml
    waivers, attestations = load_waivers(files, catalog, config)
    key_prefix = os.path.join(out, "demo-signing")
    if not os.path.exists(key_prefix + ".key"):
        generate_keypair(key_prefix + ".key", key_prefix + ".pub", None)
    signer = load_signer(key_prefix + ".key")

    # The embedded server's per-request access log would drown the summary.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        # moto keeps its state per process; start from an empty account whatever ran before.
        urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"),  # noqa: S310
                               timeout=30).close()
        if not args.quiet:
            print(f"moto (AWS stand-in) listening on {url}; seeding the demo lab…", file=sys.stderr)
        session = boto3.session.Session(aws_access_key_id=DEMO_CREDENTIALS["access_key_id"],
                                        aws_secret_access_key=DEMO_CREDENTIALS["secret_access_key"],
                                        region_name=REGION)
        lab = seed_demo_lab(session, url)
        collector = AwsCollector(
            build_session_factory(region=REGION, **DEMO_CREDENTIALS),
            regions=[REGION], endpoint_url=url,
            # moto answers HTTP 500 for this call; no check reads the attribute it feeds.
            skip_operations=["ec2:GetEbsDefaultKmsKeyId"])
        kinds = frozenset(k for c in catalog.select("asl3") for cid in c.checks
                          for k in registry.get(cid).kinds)
        snap = collector.collect(CollectionRequest(kinds=kinds & collector.kinds(), config=config))
    finally:
        server.stop()
    raw = snap.canonical_bytes()
    result = evaluate(catalog, "asl3", registry, snap, config, waivers=waivers, attestations=attestations,
                      digests={"snapshot": snap.digest(), "catalog": catalog_digest,
                               "config": config_digest},
                      options=Options(now=now))
    renderers = [RENDERERS[n]() for n in RENDERERS]
    write_reports(result, out, renderers, [signer], raw)
    gate = exit_code(result)
    if not args.quiet:
        print_summary(result, sys.stdout)
        print(f"\nDemo lab: {len(lab.violations)} planted violations, "
              f"{len(snap.resources)} resources collected over HTTP, "
              f"{len(snap.errors)} collection errors.")
        print(f"Reports: {out}/ ({', '.join(sorted(os.listdir(out)))})")
        print(f"As a gate this run would exit {int(gate)} ({gate.name}).")
        print(f"Verify the signed attestation:\n  {_prog()} verify "
              + " ".join(shlex.quote(a) for a in (
                  os.path.join(out, ATTESTATION_FILE), "--key", key_prefix + ".pub",
                  "--snapshot", os.path.join(out, SNAPSHOT_FILE), "--config", config_path)))
        print(f"Re-evaluate the same snapshot offline (same statuses as the signed run):\n  {_prog()} check "
              + " ".join(shlex.quote(a) for a in (
                  "--snapshot", os.path.join(out, SNAPSHOT_FILE), "--config", config_path,
                  "--out", out.rstrip(os.sep) + "-recheck")))
    # NOTE: the demo shows a run; it succeeds when the pipeline ran, whatever the lab's verdicts.
    return int(ExitCode.OK)
