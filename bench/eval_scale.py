"""Evaluation scaling: time and peak memory of `aslcheck check` on generated snapshots.

Usage: python bench/eval_scale.py [--sizes 1000,10000,100000] [--out bench/out]
Each size runs `aslcheck check --profile asl3` in a fresh process on a generated snapshot with a
realistic mix (buckets, keys, roles with policies, users, instances, volumes, security groups,
subnets, hosts facts) and prints wall time, peak RSS and the growth exponent between sizes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import resource
import subprocess
import sys
import time
from typing import Any

ACCOUNT = "111122223333"
REGION = "us-east-1"
WEIGHTS = {"asl:asset": "model-weights"}
CONFIG = """version: 1
weights:
  aws:
    tags: {"asl:asset": model-weights}
    allowed_storage: ["arn:aws:s3:::weights-*"]
access:
  roster: ["arn:aws:iam::111122223333:role/serving-*"]
  broker_roles: ["arn:aws:iam::111122223333:role/broker"]
  broker_principals: ["arn:aws:iam::111122223333:role/access-broker"]
  human_patterns: ["arn:aws:iam::111122223333:user/*"]
parameters: {egress_budget_bytes_per_hour: 1073741824}
"""


def _policy(bucket: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{bucket}/*"]}]}


def resources(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` resources in a fixed mix (same seed -> same snapshot)."""
    rnd = random.Random(seed)
    out: list[dict[str, Any]] = []
    mix = [("bucket", 0.25), ("role", 0.2), ("instance", 0.2), ("volume", 0.2), ("sg", 0.1), ("key", 0.05)]
    counts = {k: max(1, int(n * f)) for k, f in mix}
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/weights"
    out.append({"kind": "aws.kms.key", "id": key_arn, "source": "aws", "account": ACCOUNT, "region": REGION,
                "tags": dict(WEIGHTS), "attributes": {
                    "key_id": "weights", "key_manager": "CUSTOMER", "key_state": "Enabled",
                    "key_spec": "SYMMETRIC_DEFAULT", "key_usage": "ENCRYPT_DECRYPT", "origin": "AWS_KMS",
                    "custom_key_store_id": None, "rotation_enabled": True, "aliases": ["alias/weights"],
                    "grants": [], "policy": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                         "Action": ["kms:*"], "Resource": ["*"]}]}}})
    for i in range(counts["bucket"]):
        weights = i % 10 == 0
        name = f"weights-{i}" if weights else f"data-{i}"
        out.append({"kind": "aws.s3.bucket", "id": f"arn:aws:s3:::{name}", "source": "aws", "account": ACCOUNT,
                    "region": REGION, "tags": dict(WEIGHTS) if weights else {"team": "data"}, "attributes": {
                        "name": name, "region": REGION,
                        "encryption": {"algorithm": "aws:kms", "kms_key_id": key_arn, "bucket_key_enabled": True,
                                       "explicit": True},
                        "public_access_block": dict.fromkeys(("block_public_acls", "ignore_public_acls",
                                                              "block_public_policy", "restrict_public_buckets"),
                                                             True),
                        "policy": {"Version": "2012-10-17", "Statement": [
                            {"Effect": "Deny", "Principal": "*", "Action": ["s3:*"],
                             "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]},
                        "ownership": "BucketOwnerEnforced", "acl_grants": [],
                        "versioning": "Enabled" if rnd.random() > 0.05 else None, "object_lock": None,
                        "logging": None}})
    for i in range(counts["role"]):
        name = f"serving-{i}" if i % 3 else f"app-{i}"
        target = f"weights-{rnd.randrange(max(1, counts['bucket'] // 10)) * 10}"
        out.append({"kind": "aws.iam.role", "id": f"arn:aws:iam::{ACCOUNT}:role/{name}", "source": "aws",
                    "account": ACCOUNT, "region": "global", "tags": {}, "attributes": {
                        "name": name, "path": "/", "max_session_duration": 3600, "permissions_boundary": None,
                        "instance_profiles": [], "attached_policies": [],
                        "trust_policy": {"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                             "Action": ["sts:AssumeRole"]}]},
                        "inline_policies": {"read": _policy(target)} if i % 3 else {}}})
    for i in range(counts["instance"]):
        out.append({"kind": "aws.ec2.instance", "id": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-{i:08x}",
                    "source": "aws", "account": ACCOUNT, "region": REGION, "tags": {}, "attributes": {
                        "instance_id": f"i-{i:08x}", "vpc_id": f"vpc-{i % 50}", "subnet_id": f"subnet-{i % 200}",
                        "state": "running", "public_ip": None, "instance_profile": None, "security_groups": [],
                        "metadata_options": {"http_tokens": "required" if rnd.random() > 0.02 else "optional",
                                             "http_put_response_hop_limit": 1, "http_endpoint": "enabled"}}})
    for i in range(counts["volume"]):
        out.append({"kind": "aws.ec2.volume", "id": f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-{i:08x}",
                    "source": "aws", "account": ACCOUNT, "region": REGION, "tags": {}, "attributes": {
                        "volume_id": f"vol-{i:08x}", "encrypted": rnd.random() > 0.01, "kms_key_id": None,
                        "attached_to": []}})
    for i in range(counts["sg"]):
        out.append({"kind": "aws.ec2.security_group", "id": f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-{i}",
                    "source": "aws", "account": ACCOUNT, "region": REGION, "tags": {}, "attributes": {
                        "group_id": f"sg-{i}", "vpc_id": f"vpc-{i % 50}", "name": f"sg-{i}", "ingress": [],
                        "egress": [{"protocol": "tcp", "from_port": 443, "to_port": 443, "cidrs": ["10.0.0.0/8"],
                                    "ipv6_cidrs": [], "prefix_lists": [], "groups": []}]}})
    for i in range(counts["key"]):
        out.append({"kind": "aws.kms.key", "id": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k{i}", "source": "aws",
                    "account": ACCOUNT, "region": REGION, "tags": {}, "attributes": {
                        "key_id": f"k{i}", "key_manager": "CUSTOMER", "key_state": "Enabled",
                        "rotation_enabled": True, "grants": [], "aliases": [], "policy": None}})
    return out[:n] if len(out) > n else out


def snapshot_doc(n: int) -> dict[str, Any]:
    res = resources(n)
    kinds = sorted({r["kind"] for r in res})
    res.sort(key=lambda r: (r["source"], r["kind"], r["id"]))
    return {"format": "aslcheck.snapshot", "version": 1,
            "provenance": {"collectors": [{"name": "aws", "version": "bench", "targets": [f"{ACCOUNT}/{REGION}"],
                                           "kinds": kinds, "started": "2026-11-27T00:00:00Z",
                                           "ended": "2026-11-27T00:10:00Z"}]},
            "resources": res, "errors": []}


def measure(n: int, out: str) -> dict[str, Any]:
    os.makedirs(out, exist_ok=True)
    snap = os.path.join(out, f"snapshot-{n}.json")
    if not os.path.exists(snap):
        with open(snap, "w") as fh:
            json.dump(snapshot_doc(n), fh, separators=(",", ":"), sort_keys=True)
    cfg = os.path.join(out, "aslcheck.yaml")
    with open(cfg, "w") as fh:
        fh.write(CONFIG)
    cmd = [sys.executable, "-m", "aslcheck", "check", "--snapshot", snap, "--config", cfg, "--profile", "asl3",
           "--out", os.path.join(out, f"reports-{n}"), "--format", "json", "--quiet"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0, 1, 2):
        raise SystemExit(f"aslcheck check failed ({proc.returncode}): {proc.stderr[-2000:]}")
    # ru_maxrss of children is the max over all children so far: run sizes in increasing order.
    return {"resources": n, "seconds": round(wall, 2), "peak_rss_mb": round(max(peak, before) / 1024),
            "exit": proc.returncode}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--out", default="bench/out/eval")
    args = p.parse_args()
    rows = [measure(int(s), args.out) for s in sorted(int(x) for x in args.sizes.split(","))]
    print("| resources | wall time (s) | peak RSS (MB) | exit |")
    print("|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['resources']:,} | {r['seconds']} | {r['peak_rss_mb']} | {r['exit']} |")
    for a, b in itertools.pairwise(rows):
        k = math.log(b["seconds"] / a["seconds"]) / math.log(b["resources"] / a["resources"])
        print(f"growth exponent {a['resources']:,} -> {b['resources']:,}: {k:.2f}")


if __name__ == "__main__":
    main()
