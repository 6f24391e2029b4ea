"""Benchmark the AWS collector against moto's HTTP server on 127.0.0.1.

Seeds one account with N empty buckets (default 1,000) plus the small test lab (keys, roles,
users, a trail, a VPC with an instance, ...), then runs a full collection through a recording
proxy that counts every request that reaches the server, and prints wall time, API calls in
total, per operation, and per resource.

    PYTHONPATH=. python bench/aws_scan.py --buckets 1000 --workers 8
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "aws"))  # the recording proxy and the seed live with the tests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buckets", type=int, default=1000, help="empty buckets to add (default 1000)")
    parser.add_argument("--workers", type=int, default=8, help="collector max_workers (default 8)")
    parser.add_argument("--regions", default="us-east-1", help="comma-separated regions (default us-east-1)")
    parser.add_argument("--deep", action="store_true", help="read every bucket deeply (scan --deep)")
    parser.add_argument("--no-scope", action="store_true",
                        help="collect with an empty config (no weight scope) instead of the lab's")
    args = parser.parse_args(argv)

    # moto's default AMIs add ~1,300 foreign snapshots per region and slow seeding; the collector
    # filters them out anyway.
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    from awsfake import RecordingProxy
    from awsseed import client, seed_lab
    from moto.server import ThreadedMotoServer

    from aslcheck.controls.config import Config, Scope
    from aslcheck.inventories.aws import ALL_KINDS, AwsCollector, ClientSettings, build_session_factory
    from aslcheck.inventories.interface import CollectionRequest

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    proxy = RecordingProxy(host, port).start()
    try:
        started = time.perf_counter()
        seed_lab(endpoint)
        s3 = client(endpoint, "s3")
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda i: s3.create_bucket(Bucket=f"bench-{i:05d}"), range(args.buckets)))
        seeded = time.perf_counter() - started

        factory = build_session_factory(region="us-east-1", access_key_id="testing", secret_access_key="testing")
        collector = AwsCollector(factory, regions=args.regions.split(","), endpoint_url=proxy.url,
                                 max_workers=args.workers, settings=ClientSettings(max_attempts=2),
                                 skip_operations={"ec2:GetEbsDefaultKmsKeyId"})  # not implemented by moto
        started = time.perf_counter()
        # The lab's scope (as bench/prowler_compare.py's config): with it, only the buckets a
        # check can judge are read deeply.
        config = Config() if args.no_scope else Config(scope=Scope(
            weight_tags={"asl:asset": "model-weights"}, allowed_storage=("arn:aws:s3:::weights-*",),
            aws=True))
        snap = collector.collect(CollectionRequest(kinds=ALL_KINDS, config=config, deep=args.deep))
        wall = time.perf_counter() - started
    finally:
        proxy.stop()
        server.stop()

    ops = Counter(r.operation or "<unidentified>" for r in proxy.records)
    kinds = Counter(r.kind for r in snap.resources)
    total = sum(ops.values())
    buckets = kinds["aws.s3.bucket"]
    s3_calls = sum(n for op, n in ops.items() if op.startswith("s3:"))
    print(f"seeded {args.buckets} extra buckets + lab in {seeded:.1f}s", file=sys.stderr)
    print("| buckets | resources | errors | workers | wall (s) | API calls | calls / resource | S3 calls / bucket |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {buckets:,} | {len(snap.resources):,} | {len(snap.errors)} | {args.workers} | {wall:.1f} | {total:,} "
          f"| {total / max(len(snap.resources), 1):.2f} | {s3_calls / max(buckets, 1):.2f} |")
    print("\ncalls by operation (top 15): " + ", ".join(f"{op} {count}" for op, count in ops.most_common(15)))
    for err in snap.errors[:10]:
        print("error:", err.operation, err.code, err.resource)
    print(json.dumps({"benchmark": "aws_scan", "buckets": buckets, "resources": len(snap.resources),
                      "errors": len(snap.errors), "workers": args.workers, "wall_s": round(wall, 2),
                      "calls": total, "by_operation": dict(ops.most_common()),
                      "by_kind": dict(sorted(kinds.items()))}))
    # NOTE: moto does not implement everything; errors are listed above, not a benchmark failure.
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
