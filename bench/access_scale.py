"""Scale benchmark of the effective-access evaluator on synthetic IAM snapshots.

Generates an organisation-shaped snapshot with N IAM roles (each with a unique inline policy
and shared managed policies), N/10 users in N/100 groups, N/10 managed policies, three
accounts, SCPs, a weight bucket and a weight key, then times what the IAM checks do: build the
analyzer, analyse both weight resources, the "avoid the broker" query and the broker-principal
reachers. Each size runs in a fresh subprocess so peak RSS is per size.

    PYTHONPATH=. python bench/access_scale.py --sizes 1000 10000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from typing import Any

from aslcheck.checks.aws.access import AccessAnalyzer, Unevaluable, bucket_read, key_decrypt
from aslcheck.inventories.snapshot import CollectorRun, Resource, Snapshot

MAIN, DEV, OPS = "111111111111", "222222222222", "333333333333"
ACCOUNTS = (MAIN, DEV, OPS)
ORG = "o-bench"
BUCKET = "arn:aws:s3:::weights"
KEY = f"arn:aws:kms:us-east-1:{MAIN}:key/weights"


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(action: str | list[str], res: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    st = {"Effect": "Allow", "Action": action if isinstance(action, list) else [action],
          "Resource": res if isinstance(res, list) else [res]}
    st.update(extra)
    return st


def _r(kind: str, ident: str, account: str, attrs: dict[str, Any], region: str = "global") -> Resource:
    return Resource(kind, ident, "aws", attrs, {}, account, region)


def generate(n_roles: int, seed: int = 7) -> Snapshot:
    """A synthetic snapshot with ``n_roles`` roles."""
    rnd = random.Random(seed)
    out: list[Resource] = []
    n_managed = max(10, n_roles // 10)
    managed = []
    for i in range(n_managed):
        acct = ACCOUNTS[i % 3]
        arn = f"arn:aws:iam::{acct}:policy/p{i}"
        roll = rnd.random()
        if roll < 0.01:
            doc = _doc(_allow(["s3:GetObject", "s3:ListBucket"], [BUCKET, BUCKET + "/*"]))
        elif roll < 0.03:
            doc = _doc(_allow("sts:AssumeRole", f"arn:aws:iam::{MAIN}:role/team-{i % 50}-*"))
        elif roll < 0.05:
            doc = _doc(_allow("kms:Decrypt", KEY))
        else:
            doc = _doc(_allow(["ec2:Describe*", "logs:*"]), _allow("s3:GetObject", f"arn:aws:s3:::data-{i}/*"))
        managed.append((acct, arn))
        out.append(_r("aws.iam.policy", arn, acct, {"name": f"p{i}", "aws_managed": False,
                                                     "default_version": "v1", "document": doc}))
    boundary = f"arn:aws:iam::{MAIN}:policy/boundary"
    out.append(_r("aws.iam.policy", boundary, MAIN, {"name": "boundary", "aws_managed": False,
                                                      "default_version": "v1",
                                                      "document": _doc(_allow(["s3:*", "ec2:*", "sts:*"]))}))
    by_acct: dict[str, list[str]] = {a: [arn for acc, arn in managed if acc == a] for a in ACCOUNTS}
    role_arns = []
    for i in range(n_roles):
        acct = ACCOUNTS[i % 3]
        name = f"team-{i % 50}-r{i}"
        arn = f"arn:aws:iam::{acct}:role/{name}"
        role_arns.append(arn)
        roll = rnd.random()
        if roll < 0.7:
            trust = _doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
        elif roll < 0.9:
            trust = _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{rnd.choice(ACCOUNTS)}:root"},
                          "Action": "sts:AssumeRole"})
        else:
            other = role_arns[rnd.randrange(len(role_arns))]
            trust = _doc({"Effect": "Allow", "Principal": {"AWS": other}, "Action": "sts:AssumeRole",
                          "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}} if rnd.random() < 0.3 else {}})
        inline = {"own": _doc(_allow("s3:GetObject", f"arn:aws:s3:::data-{i}/*"),
                              _allow("sts:AssumeRole", role_arns[rnd.randrange(len(role_arns))]))}
        out.append(_r("aws.iam.role", arn, acct, {
            "name": name, "path": "/", "trust_policy": trust, "inline_policies": inline,
            "attached_policies": rnd.sample(by_acct[acct], k=min(2, len(by_acct[acct]))),
            "permissions_boundary": boundary if acct == MAIN and rnd.random() < 0.1 else None,
            "max_session_duration": 3600, "instance_profiles": []}))
    n_groups = max(3, n_roles // 100)
    groups = []
    for g in range(n_groups):
        acct = ACCOUNTS[g % 3]
        arn = f"arn:aws:iam::{acct}:group/g{g}"
        groups.append((acct, arn))
        out.append(_r("aws.iam.group", arn, acct, {"name": f"g{g}", "inline_policies": {},
                                                    "attached_policies": rnd.sample(by_acct[acct], k=1)}))
    for u in range(max(3, n_roles // 10)):
        acct = ACCOUNTS[u % 3]
        arn = f"arn:aws:iam::{acct}:user/u{u}"
        mine = [g for a, g in groups if a == acct]
        stmts = [_allow("sts:AssumeRole", "*")] if rnd.random() < 0.2 else []
        out.append(_r("aws.iam.user", arn, acct, {
            "name": f"u{u}", "path": "/", "groups": rnd.sample(mine, k=min(2, len(mine))),
            "inline_policies": {"p": _doc(*stmts)} if stmts else {}, "attached_policies": [],
            "permissions_boundary": None, "mfa_devices": [], "access_keys": [], "password_enabled": True,
            "created": "2025-01-01T00:00:00Z"}))
    out.append(_r("aws.s3.bucket", BUCKET, MAIN, {
        "name": "weights", "region": "us-east-1", "ownership": "BucketOwnerEnforced",
        "encryption": {"algorithm": "aws:kms", "kms_key_id": KEY, "bucket_key_enabled": True, "explicit": True},
        "policy": _doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [BUCKET + "/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                       {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{DEV}:root"},
                        "Action": "s3:GetObject", "Resource": BUCKET + "/*"})}, "us-east-1"))
    out.append(_r("aws.kms.key", KEY, MAIN, {
        "key_id": "weights", "key_manager": "CUSTOMER", "key_state": "Enabled", "rotation_enabled": True,
        "policy": _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{MAIN}:root"},
                        "Action": "kms:*", "Resource": "*"}),
        "grants": [{"grant_id": f"g{i}", "grantee_principal": role_arns[i], "retiring_principal": None,
                    "operations": ["Decrypt"], "constraints": None} for i in range(min(5, n_roles))],
        "aliases": ["alias/weights"]}, "us-east-1"))
    for acct, path in ((MAIN, ["r-1", "ou-prod"]), (DEV, ["r-1", "ou-dev"]), (OPS, ["r-1"])):
        out.append(_r("aws.organizations.account", f"arn:aws:organizations::{OPS}:account/{ORG}/{acct}", OPS,
                      {"account_id": acct, "parent_path": path, "organization_id": ORG}))
    out.append(_r("aws.organizations.policy", f"arn:aws:organizations::{OPS}:policy/{ORG}/scp/full", OPS, {
        "type": "SERVICE_CONTROL_POLICY", "name": "full", "document": _doc(_allow("*")),
        "targets": ["r-1", "ou-prod", "ou-dev", MAIN, DEV, OPS]}))
    out.append(_r("aws.organizations.policy", f"arn:aws:organizations::{OPS}:policy/{ORG}/scp/dev", OPS, {
        "type": "SERVICE_CONTROL_POLICY", "name": "dev", "targets": ["ou-dev"],
        "document": _doc({"Effect": "Deny", "Action": "kms:*", "Resource": "*"})}))
    run = CollectorRun("aws", "bench", ACCOUNTS, tuple(sorted({r.kind for r in out})),
                       "2026-01-01T00:00:00Z", "2026-01-01T00:10:00Z")
    return Snapshot(resources=tuple(out), runs=(run,))


def measure(n_roles: int) -> dict[str, Any]:
    """Time one size in this process."""
    t0 = time.perf_counter()
    snap = generate(n_roles)
    t_gen = time.perf_counter() - t0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    timings: dict[str, float] = {}
    cpu0 = time.process_time()
    t = time.perf_counter()
    analyzer = AccessAnalyzer(snap)
    timings["build"] = time.perf_counter() - t
    bucket = next(r for r in snap.of_kind("aws.s3.bucket"))
    key = next(r for r in snap.of_kind("aws.kms.key"))
    counts = {}
    for label, req in (("bucket", bucket_read(bucket)), ("key", key_decrypt(key))):
        assert not isinstance(req, Unevaluable)
        t = time.perf_counter()
        result = analyzer.analyse(req)
        timings[f"analyse_{label}"] = time.perf_counter() - t
        counts[f"{label}_readers"] = len(result.paths)
        counts[f"{label}_conditional"] = sum(p.conditional for p in result.paths)
        t = time.perf_counter()
        analyzer.analyse(req, avoid=[f"arn:aws:iam::{MAIN}:role/team-0-*"])
        timings[f"avoid_{label}"] = time.perf_counter() - t
    t = time.perf_counter()
    rooted = [r.id for r in snap.of_kind("aws.iam.role")
              if ":root" in json.dumps(r.attributes["trust_policy"]) and r.account == MAIN][:3]
    reach, _ = analyzer.reachers(rooted)
    timings["reachers"] = time.perf_counter() - t
    counts["reachers_count"] = len(reach)
    total = sum(timings.values())
    cpu = time.process_time() - cpu0
    load = os.getloadavg()[0]
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"roles": n_roles, "resources": len(snap.resources), "generate_s": round(t_gen, 2),
            **{k: round(v, 3) for k, v in timings.items()}, "evaluate_total_s": round(total, 2),
            "evaluate_cpu_s": round(cpu, 2), "loadavg_1m": round(load, 1),
            "peak_rss_mb": round(rss_after / 1024, 1),
            "rss_growth_during_eval_mb": round((rss_after - rss_before) / 1024, 1), **counts}


def main(argv: list[str] | None = None) -> int:
    """Run the requested sizes, each in a fresh interpreter."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one)))
        return 0
    rows = []
    for n in args.sizes:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True,
                              check=False, timeout=3600)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            print(f"size {n} failed:\n{done.stderr}", file=sys.stderr)
            return 1
        rows.append({**json.loads(done.stdout.strip().splitlines()[-1]), "process_wall_s": round(wall, 2)})
    print("| roles | resources | build (s) | analyse bucket (s) | analyse key (s) | avoid broker (s) | reachers (s) "
          "| evaluate total (s) | process wall (s) | peak RSS (MB) | bucket readers | key readers |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        avoid = r["avoid_bucket"] + r["avoid_key"]
        print(f"| {r['roles']:,} | {r['resources']:,} | {r['build']} | {r['analyse_bucket']} | {r['analyse_key']} | "
              f"{avoid:.3f} | {r['reachers']} | {r['evaluate_total_s']} | {r['process_wall_s']} | "
              f"{r['peak_rss_mb']} | {r['bucket_readers']} | {r['key_readers']} |")
    print(json.dumps({"benchmark": "access_scale", "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
