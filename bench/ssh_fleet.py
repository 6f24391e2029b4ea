"""Benchmark the SSH collector against N real sshd servers on 127.0.0.1.

Usage (as root, with openssh-server installed)::

    python bench/ssh_fleet.py --hosts 10 50 --workers 16 --compare 10 [--light | --both]

For each fleet size it starts that many sshd processes, collects every ``host.*`` kind in
parallel and prints the wall time. ``--compare N`` also runs N hosts once with the whole probe
in one exec per host and once with one exec per command (same session), and prints both.
``--light`` leaves out ``host.updates`` (``apt-get -s dist-upgrade`` dominates CPU time);
``--both`` measures each fleet with every kind and light. Prints a Markdown table and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "ssh")]

from sshd_servers import Sshd, SshdFactory, make_factory  # noqa: E402

from aslcheck.controls.config import Access, Config, HostGroupScope, Scope  # noqa: E402
from aslcheck.errors import Location  # noqa: E402
from aslcheck.inventories.interface import CollectionRequest  # noqa: E402
from aslcheck.inventories.ssh import (  # noqa: E402
    KINDS,
    ExecMode,
    HostTarget,
    ParamikoConnector,
    SshCollector,
    SshOptions,
    resolve_target,
)


def start_fleet(factory: SshdFactory, count: int, prefix: str) -> list[Sshd]:
    """Start ``count`` sshd servers."""
    return [factory.start(f"{prefix}{i:03d}") for i in range(count)]


def targets(servers: list[Sshd], factory: SshdFactory) -> tuple[HostTarget, ...]:
    """Targets logging in as root with the factory key, all in group ``bench``."""
    return tuple(
        resolve_target(s.name, {"ansible_host": "127.0.0.1", "ansible_port": s.port, "ansible_user": "root",
                                "ansible_ssh_private_key_file": str(factory.client_key),
                                "aslcheck_sshd_config": str(s.config)},
                       None, Location("<bench>"), frozenset({"all", "bench"}))
        for s in servers)


def collect(servers: list[Sshd], factory: SshdFactory, config: Config, kinds: frozenset[str],
            workers: int, mode: ExecMode) -> tuple[float, int, int]:
    """Collect once; returns (wall seconds, resources, errors)."""
    known = factory.root / f"known_hosts_{len(servers)}_{mode.value}"
    known.write_text("".join(s.known_hosts_line() + "\n" for s in servers))
    connector = ParamikoConnector(str(known), use_agent=False, connect_timeout=30)
    collector = SshCollector(targets(servers, factory), str(known), connector=connector,
                             options=SshOptions(max_workers=workers, mode=mode, command_timeout=600))
    started = time.monotonic()
    snap = collector.collect(CollectionRequest(kinds=kinds, config=config))
    return time.monotonic() - started, len(snap.resources), len(snap.errors)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a Markdown table and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--compare", type=int, default=10, help="hosts for single vs per-command (0: skip)")
    parser.add_argument("--light", action="store_true", help="leave out host.updates")
    parser.add_argument("--both", action="store_true", help="each fleet with every kind and with --light")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("run as root: the sshd servers need it", file=sys.stderr)
        return 2
    sets = {"all": KINDS, "light": KINDS - {"host.updates"}}
    chosen = ["all", "light"] if args.both else ["light" if args.light else "all"]
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="aslcheck-bench-") as tmp:
        root = Path(tmp)
        weights = root / "weights"
        weights.mkdir(mode=0o750)
        (weights / "model.bin").write_bytes(b"\0" * 1024)
        config = Config(scope=Scope(hosts=True, host_groups=(HostGroupScope("bench", (str(weights),)),)),
                        access=Access(host_roster=("root",)))
        factory = make_factory(root)
        try:
            for count in args.hosts:
                servers = start_fleet(factory, count, f"n{count}-")
                for name in chosen:
                    wall, res, errs = collect(servers, factory, config, sets[name], args.workers, ExecMode.SINGLE)
                    rows.append({"hosts": count, "kinds": name, "mode": "single", "wall_s": round(wall, 2),
                                 "resources": res, "errors": errs})
                    print(f"  {rows[-1]}", file=sys.stderr)
            if args.compare:
                servers = start_fleet(factory, args.compare, "cmp-")
                for mode in (ExecMode.SINGLE, ExecMode.PER_COMMAND):
                    wall, res, errs = collect(servers, factory, config, sets[chosen[0]], args.workers, mode)
                    rows.append({"hosts": args.compare, "kinds": chosen[0], "mode": mode.value,
                                 "wall_s": round(wall, 2), "resources": res, "errors": errs})
                    print(f"  {rows[-1]}", file=sys.stderr)
        finally:
            factory.stop_all()
    print(f"| hosts | kinds | exec mode | wall (s) | s / host | resources | errors |   (workers={args.workers}, "
          f"all = {len(KINDS)} kinds, light = without host.updates)")
    print("|---:|---|---|---:|---:|---:|---:|")
    for r in rows:
        per = float(str(r["wall_s"])) / int(str(r["hosts"]))
        print(f"| {r['hosts']} | {r['kinds']} | {r['mode']} | {r['wall_s']} | {per:.2f} | {r['resources']} "
              f"| {r['errors']} |")
    print(json.dumps({"benchmark": "ssh_fleet", "workers": args.workers, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
