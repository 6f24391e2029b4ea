"""Live collection side by side: ``aslcheck scan --aws`` and Prowler against one moto server.

One ``moto_server`` process on 127.0.0.1 holds one account: the test lab (keys, roles, users, a
trail, a VPC with an instance, an organisation, ...) plus N buckets, N/20 keys, N/10 roles,
N/20 instances and a second trail. Requests are counted on the server side, from moto's own
access log (or, with ``--proxy``, by a recording HTTP proxy on 127.0.0.1 that also names each
operation but adds a hop to every request). The tools then run alternately, several times
each, as whole processes (what a nightly job runs):

- ``aslcheck scan --aws --endpoint-url MOTO --region us-east-1`` (collect, evaluate the asl3
  profile, write the JSON report);
- ``prowler aws --services s3 kms iam organizations cloudtrail cloudwatch ec2 vpc guardduty
  --region us-east-1`` from ``bench/.prowler-venv`` with ``AWS_ENDPOINT_URL=MOTO`` (collect,
  run those services' checks, write its JSON-OCSF output), without the three CloudTrail
  threat-detection checks (see :data:`EXCLUDED_CHECKS`).

Both get fake credentials. Prints a Markdown table (median wall time, API calls, calls per
seeded resource, the wall-time ratio) and one JSON line. Prowler is never a dependency of the
package: install it with ``python3 -m venv bench/.prowler-venv &&
bench/.prowler-venv/bin/pip install prowler``.

    PYTHONPATH=. python bench/prowler_compare.py --buckets 100 1000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "aws")]  # the recording proxy and the lab seed

from awsfake import RecordingProxy  # noqa: E402
from awsseed import client, doc, seed_lab  # noqa: E402

PROWLER = ROOT / "bench" / ".prowler-venv" / "bin" / "prowler"
SERVICES = ("s3", "kms", "iam", "organizations", "cloudtrail", "cloudwatch", "ec2", "vpc", "guardduty")
REGION = "us-east-1"
RUN_TIMEOUT_S = 1800
TOOLS = ("aslcheck", "prowler", "prowler-1-attempt")
"""aslcheck; Prowler as shipped; Prowler with one attempt per call (see :func:`run_prowler`)."""
CONFIG = """version: 1
weights:
  aws:
    tags: {"asl:asset": model-weights}
    allowed_storage: ["arn:aws:s3:::weights-*"]
access:
  roster: ["arn:aws:iam::123456789012:role/serving"]
  broker_roles: ["arn:aws:iam::123456789012:role/broker"]
  broker_principals: ["arn:aws:iam::123456789012:role/serving"]
"""
EXCLUDED_CHECKS = ("cloudtrail_threat_detection_enumeration", "cloudtrail_threat_detection_llm_jacking",
                   "cloudtrail_threat_detection_privilege_escalation")
"""Prowler checks left out: they read ``cloudtrail:LookupEvents``, which moto answers with HTTP 500
(retried with back-off), and aslcheck has no equivalent (its coverage is configuration, not events)."""
FAKE_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
            # s3control prefixes the host with the account ID (123456789012.127.0.0.1), which cannot
            # resolve; aslcheck strips the prefix itself for endpoint overrides, botocore does it with this.
            "AWS_DISABLE_HOST_PREFIX_INJECTION": "true"}


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server(log: Path) -> Iterator[tuple[str, int]]:
    """One ``moto_server`` process on 127.0.0.1 (stopped on exit)."""
    port = free_port()
    exe = Path(sys.executable).with_name("moto_server")
    cmd = [str(exe), "-H", "127.0.0.1", "-p", str(port)] if exe.exists() else \
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    env = {**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"moto_server did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def seed(endpoint: str, buckets: int) -> dict[str, int]:
    """The lab plus ``buckets`` buckets, ``buckets/20`` keys and instances, ``buckets/10`` roles."""
    seed_lab(endpoint)
    s3, kms, iam, ec2 = (client(endpoint, s) for s in ("s3", "kms", "iam", "ec2"))
    trust = doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    extra = max(0, buckets - 3)  # the lab has three buckets

    def bucket(i: int) -> None:
        s3.create_bucket(Bucket=f"bench-{i:05d}")
        if i % 10 == 0:
            s3.put_bucket_tagging(Bucket=f"bench-{i:05d}", Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})

    def role(i: int) -> None:
        iam.create_role(RoleName=f"app-{i:05d}", AssumeRolePolicyDocument=trust)
        iam.put_role_policy(RoleName=f"app-{i:05d}", PolicyName="app", PolicyDocument=doc(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::bench-{i:05d}/*"}))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(bucket, range(extra)))
        list(pool.map(lambda i: kms.create_key(Description=f"k{i}"), range(buckets // 20)))
        list(pool.map(role, range(buckets // 10)))
    image = ec2.register_image(Name="bench", RootDeviceName="/dev/xvda", BlockDeviceMappings=[
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}])["ImageId"]
    if buckets // 20:
        ec2.run_instances(ImageId=image, MinCount=buckets // 20, MaxCount=buckets // 20,
                          MetadataOptions={"HttpTokens": "required"})
    trail = client(endpoint, "cloudtrail")
    trail.create_trail(Name="second-trail", S3BucketName="trail-logs")
    return {"buckets": 3 + extra, "keys": 2 + buckets // 20, "roles": 2 + buckets // 10,
            "instances": 1 + buckets // 20, "trails": 2, "users": 2}


def run_aslcheck(proxy_url: str, work: Path) -> tuple[float, int, str]:
    """(wall s, exit, stderr tail) of one ``aslcheck scan --aws``."""
    cfg = work / "aslcheck.yaml"
    cfg.write_text(CONFIG)
    out = work / "aslcheck-reports"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "aslcheck", "scan", "--aws", "--endpoint-url", proxy_url, "--region", REGION,
           "--config", str(cfg), "--out", str(out), "--format", "json", "--quiet", "--manual", "report"]
    env = {**os.environ, **FAKE_ENV, "PYTHONPATH": str(ROOT)}
    env.pop("AWS_PROFILE", None)
    return _timed(cmd, env, work)


def run_prowler(proxy_url: str, work: Path, attempts: int | None = None) -> tuple[float, int, str]:
    """(wall s, exit, stderr tail) of one Prowler run restricted to :data:`SERVICES`.

    ``attempts``: ``--aws-retries-max-attempts`` (default: Prowler's own, 3). With 1, the calls
    moto cannot answer (HTTP 500 on ``cloudtrail:LookupEvents`` and ``ssm:*``, the s3control host
    prefix that does not resolve) fail at once instead of being retried with back-off.
    """
    out = work / "prowler-out"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [str(PROWLER), "aws", "--services", *SERVICES, "--region", REGION, "--no-banner", "--no-color",
           "--excluded-checks", *EXCLUDED_CHECKS, "-M", "json-ocsf", "-o", str(out), "--ignore-exit-code-3"]
    if attempts is not None:
        cmd += ["--aws-retries-max-attempts", str(attempts)]
    env = {**os.environ, **FAKE_ENV, "AWS_ENDPOINT_URL": proxy_url, "HOME": str(work)}
    env.pop("AWS_PROFILE", None)
    env.pop("PYTHONPATH", None)
    return _timed(cmd, env, work)


def _timed(cmd: list[str], env: dict[str, str], work: Path) -> tuple[float, int, str]:
    err = work / "stderr.txt"
    start = time.perf_counter()
    with open(err, "wb") as fh:
        try:
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=work,
                                  timeout=RUN_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = -9
    return time.perf_counter() - start, code, err.read_text(errors="replace")[-3000:]


def prowler_findings(work: Path) -> tuple[int, int]:
    """(findings, distinct resources) in Prowler's JSON-OCSF output."""
    files = sorted((work / "prowler-out").glob("*.ocsf.json"))
    if not files:
        return 0, 0
    items = json.loads(files[-1].read_text() or "[]")
    uids = {r.get("uid") for f in items for r in f.get("resources", [])}
    return len(items), len(uids)


def aslcheck_resources(work: Path) -> tuple[int, int]:
    """(resources, collection errors) in the snapshot aslcheck wrote."""
    path = work / "aslcheck-reports" / "snapshot.json"
    if not path.exists():
        return 0, 0
    snap = json.loads(path.read_text())
    return len(snap["resources"]), len(snap["errors"])


def logged_requests(log: Path) -> int:
    """Requests moto has answered so far (werkzeug writes one access-log line per request)."""
    time.sleep(0.5)  # the last lines of a run reach the file a moment after the client returns
    with open(log, "rb") as fh:
        return sum(1 for line in fh if line.startswith(b"127.0.0.1 - - ["))


class _LogCounter:
    """Stands in for the proxy when requests are counted from moto's access log (no added latency)."""

    def __init__(self, log: Path, url: str) -> None:
        self.log = log
        self.url = url

    def mark(self) -> int:
        return logged_requests(self.log)


def measure(buckets: int, runs: int, work: Path, use_proxy: bool = False) -> dict[str, Any]:
    """One account size: seed, then alternate the tools ``runs`` times.

    Requests are counted on the server side: from moto's access log (default; the tools talk to
    moto directly), or with ``use_proxy`` through the recording proxy, which also names each
    operation but adds a hop per request (a new upstream connection each time), which slows
    whichever tool runs fewer requests in parallel.
    """
    have_prowler = PROWLER.exists()
    log = work / "moto.log"
    with moto_server(log) as (host, port):
        seeded = seed(f"http://{host}:{port}", buckets)
        proxy: Any = RecordingProxy(host, port).start() if use_proxy else _LogCounter(log, f"http://{host}:{port}")
        try:
            times: dict[str, list[float]] = {t: [] for t in TOOLS}
            calls: dict[str, list[int]] = {t: [] for t in TOOLS}
            ops: dict[str, Counter[str]] = {t: Counter() for t in TOOLS}
            failures: dict[str, str] = {}
            for _ in range(runs):
                for tool in TOOLS:
                    if tool.startswith("prowler") and not have_prowler:
                        failures[tool] = f"{PROWLER} not installed"
                        continue
                    before = len(proxy.records) if use_proxy else proxy.mark()
                    if tool == "aslcheck":
                        wall, code, tail = run_aslcheck(proxy.url, work)
                    else:
                        wall, code, tail = run_prowler(proxy.url, work, 1 if tool == "prowler-1-attempt" else None)
                    if code not in (0, 1, 2, 3):
                        failures[tool] = f"exit {code}: {tail}"
                    times[tool].append(wall)
                    if use_proxy:
                        recs = proxy.records[before:]
                        calls[tool].append(len(recs))
                        ops[tool] = Counter(r.operation or "<unidentified>" for r in recs)
                    else:
                        calls[tool].append(proxy.mark() - before)
        finally:
            if use_proxy:
                proxy.stop()
    n_seeded = sum(seeded.values())
    row: dict[str, Any] = {"buckets": seeded["buckets"], "seeded_resources": n_seeded, "seeded": seeded,
                           "runs": runs, "failures": failures,
                           "counted_by": "recording proxy" if use_proxy else "moto access log"}
    for tool in TOOLS:
        if times[tool]:
            med_calls = int(statistics.median(calls[tool]))
            row[tool] = {"median_s": round(statistics.median(times[tool]), 2),
                         "all_s": [round(t, 2) for t in times[tool]], "calls": med_calls,
                         "calls_per_seeded_resource": round(med_calls / n_seeded, 2),
                         "top_operations": ops[tool].most_common(12)}
    if "aslcheck" in row:
        row["aslcheck"]["resources"], row["aslcheck"]["errors"] = aslcheck_resources(work)
    for tool in TOOLS[1:]:
        if tool in row:
            row[tool]["findings"], row[tool]["resources"] = prowler_findings(work)
            row[tool]["ratio_over_aslcheck"] = round(row[tool]["median_s"] / row["aslcheck"]["median_s"], 2)
    return row


def main(argv: list[str] | None = None) -> int:
    """Run each account size and print the table plus a JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--buckets", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--runs", type=int, default=3, help="runs of each tool, alternating")
    ap.add_argument("--keep", help="keep the work directory here")
    ap.add_argument("--proxy", action="store_true", help="count through the recording proxy (names each "
                    "operation, adds latency) instead of moto's access log")
    args = ap.parse_args(argv)
    rows = []
    for n in args.buckets:
        work = Path(args.keep) / f"b{n}" if args.keep else Path(tempfile.mkdtemp(prefix="aslcheck-prowler-"))
        work.mkdir(parents=True, exist_ok=True)
        try:
            rows.append(measure(n, args.runs, work, args.proxy))
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        print(f"  measured {n} buckets", file=sys.stderr)
    print("| buckets | seeded resources | tool | median wall (s) | runs (s) | API calls | calls / seeded resource "
          "| wall / aslcheck |")
    print("|---:|---:|---|---:|---|---:|---:|---:|")
    for r in rows:
        for tool in TOOLS:
            t = r.get(tool)
            if t is None:
                print(f"| {r['buckets']:,} | {r['seeded_resources']:,} | {tool} | - | - | - | - | "
                      f"{r['failures'].get(tool, 'not run')[:120]} |")
                continue
            ratio = f"{t['ratio_over_aslcheck']}x" if "ratio_over_aslcheck" in t else ""
            print(f"| {r['buckets']:,} | {r['seeded_resources']:,} | {tool} | {t['median_s']} | "
                  f"{', '.join(map(str, t['all_s']))} | {t['calls']:,} | {t['calls_per_seeded_resource']} | {ratio} |")
        for tool, why in r["failures"].items():
            print(f"\n{tool} failed at {r['buckets']} buckets: {why[-600:]}")
    print(json.dumps({"benchmark": "prowler_compare", "rows": rows}))
    ok = all("prowler" in r and r["prowler"]["ratio_over_aslcheck"] >= 3 and not r["failures"] for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
