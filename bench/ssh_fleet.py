"""Benchmark the SSH collector against N real sshd servers on 127.0.0.1, with the split of its time.

Usage (as root, with openssh-server installed)::

    python bench/ssh_fleet.py --hosts 10 50 --workers 16 --kinds both --compare 10 --keys 20 [--ansible]

For each fleet size and kind set ("all": every ``host.*`` kind; "light": without
``host.updates``, whose ``apt-get -s dist-upgrade`` dominates) it measures, in one run:

* **probe only**: the identical probe script run N times with ``/bin/sh -s`` on this machine,
  ``--workers`` at a time, no SSH: the cost of the probe commands themselves;
* **aslcheck**: the SSH collector over the fleet, split into connect (TCP, key exchange,
  host-key check, authentication), exec (the probe's round trip) and the rest (fact parsing);
* **ansible** (``--ansible``, needs ``make bench/.ansible-venv/.installed``): ``ansible all -m
  setup`` over the same fleet with the same forks, strict host-key checking and pipelining;

and prints each ratio. ``--keys M`` times M sequential connect+close rounds per host-key and
client-key type (Ed25519, ECDSA, RSA-3072); ``--compare N`` runs N hosts with the whole probe
in one exec and with one exec per command. sshd start-up is timed on its own (it is the bench,
not the scan). Prints Markdown tables and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "ssh")]

from sshd_servers import Sshd, SshdFactory, make_factory  # noqa: E402

from aslcheck.controls.config import Access, Config, HostGroupScope, Scope  # noqa: E402
from aslcheck.errors import Location  # noqa: E402
from aslcheck.inventories.interface import CollectionRequest  # noqa: E402
from aslcheck.inventories.ssh import (  # noqa: E402
    KINDS,
    Connection,
    ExecMode,
    ExecResult,
    HostTarget,
    ParamikoConnector,
    SshCollector,
    SshOptions,
    resolve_target,
)
from aslcheck.inventories.ssh.commands import build_script  # noqa: E402
from aslcheck.inventories.ssh.probe import new_nonce, plan_probe  # noqa: E402

ANSIBLE = ROOT / "bench" / ".ansible-venv" / "bin" / "ansible"
DEBIAN_RC = Path("/etc/skel/.bashrc")
ROOT_RC = Path("/root/.bashrc")


def host_like_rc() -> str | None:
    """Namespace setup giving root Debian's stock ~/.bashrc (it returns at once for non-interactive shells).

    NOTE: sshd runs every command through the user's login shell, and bash reads ~/.bashrc when
    started by sshd. This container's root ~/.bashrc runs ``pyenv init`` (about 0.35 s per exec,
    measured by --keys): a property of the container, not of a fleet host, so each simulated
    host gets the stock file in its own mount namespace unless --container-rc is given.
    """
    if DEBIAN_RC.is_file() and ROOT_RC.is_file():
        return f"mount --bind {DEBIAN_RC} {ROOT_RC}\n"
    return None
KIND_SETS = {"all": KINDS, "light": KINDS - {"host.updates"}}


def targets(servers: list[Sshd], factory: SshdFactory) -> tuple[HostTarget, ...]:
    """Targets logging in as root with the factory key, all in group ``bench``."""
    return tuple(
        resolve_target(s.name, {"ansible_host": "127.0.0.1", "ansible_port": s.port, "ansible_user": "root",
                                "ansible_ssh_private_key_file": str(factory.client_key),
                                "aslcheck_sshd_config": str(s.config)},
                       None, Location("<bench>"), frozenset({"all", "bench"}))
        for s in servers)


class TimedConnector:
    """Wraps the real connector and records connect and exec times per host."""

    def __init__(self, inner: ParamikoConnector) -> None:
        self.inner = inner
        self.connect_s: list[float] = []
        self.exec_s: list[float] = []
        self.bytes: list[int] = []
        self.lock = threading.Lock()

    def connect(self, target: HostTarget) -> Connection:
        started = time.monotonic()
        conn = self.inner.connect(target)
        with self.lock:
            self.connect_s.append(time.monotonic() - started)
        return _TimedConnection(conn, self)


class _TimedConnection:
    def __init__(self, conn: Connection, owner: TimedConnector) -> None:
        self.conn = conn
        self.owner = owner

    def run(self, command: str, stdin: bytes, timeout: float, max_bytes: int) -> ExecResult:
        started = time.monotonic()
        result = self.conn.run(command, stdin, timeout, max_bytes)
        with self.owner.lock:
            self.owner.exec_s.append(time.monotonic() - started)
            self.owner.bytes.append(len(result.stdout))
        return result

    def close(self) -> None:
        self.conn.close()


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def collect(servers: list[Sshd], factory: SshdFactory, config: Config, kinds: frozenset[str], workers: int,
            mode: ExecMode = ExecMode.SINGLE) -> dict[str, Any]:
    """One collection; wall time, its split and what it produced."""
    known = factory.root / f"known_hosts_{len(servers)}"
    known.write_text("".join(s.known_hosts_line() + "\n" for s in servers))
    timed = TimedConnector(ParamikoConnector(str(known), use_agent=False, connect_timeout=60))
    collector = SshCollector(targets(servers, factory), str(known), connector=timed,  # type: ignore[arg-type]
                             options=SshOptions(max_workers=workers, mode=mode, command_timeout=1200))
    cpu, started = _cpu(), time.monotonic()
    snap = collector.collect(CollectionRequest(kinds=kinds, config=config))
    wall = time.monotonic() - started
    return {"wall_s": round(wall, 2), "python_cpu_s": round(_cpu() - cpu, 2),
            "connect_mean_s": round(statistics.mean(timed.connect_s), 3),
            "exec_mean_s": round(statistics.mean(timed.exec_s), 3),
            "output_kb_per_host": round(statistics.mean(timed.bytes) / 1024, 1),
            "resources": len(snap.resources), "errors": len(snap.errors),
            "error_codes": sorted({f"{e.kind}:{e.code}" for e in snap.errors})}


def probe_only(kinds: frozenset[str], paths: list[str], count: int, workers: int) -> dict[str, Any]:
    """The same probe script run ``count`` times locally, ``workers`` at a time: the commands' own cost."""
    plan = plan_probe(kinds, paths, [], "/etc/ssh/sshd_config")
    script = build_script(plan.sections, new_nonce(), sudo=False).encode()

    def one(_: int) -> None:
        # NOTE: a session of its own per probe, as sshd gives each SSH session: with the
        # scheduler's autogroups (sched_autogroup_enabled=1 here) processes of one session share
        # one CPU share, so probes run in the bench's session were starved 5x against the other
        # sessions on this shared machine while the same probes over SSH were not.
        subprocess.run(["/bin/sh", "-s"], input=script, capture_output=True, check=True, cwd="/",
                       start_new_session=True)

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, range(count)))
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return {"wall_s": round(wall, 2), "commands_cpu_s": round(cpu, 2)}


def ansible_setup(servers: list[Sshd], factory: SshdFactory, workers: int, tmp: Path) -> dict[str, Any] | None:
    """``ansible all -m setup`` over the fleet (strict host keys, pipelining, same forks)."""
    if not ANSIBLE.exists():
        return None
    inventory = tmp / f"inventory_{len(servers)}.ini"
    inventory.write_text("[bench]\n" + "".join(
        f"{s.name} ansible_host=127.0.0.1 ansible_port={s.port} ansible_user=root "
        f"ansible_ssh_private_key_file={factory.client_key}\n" for s in servers))
    known = tmp / f"ansible_known_hosts_{len(servers)}"
    known.write_text("".join(s.known_hosts_line() + "\n" for s in servers))
    env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_PIPELINING": "True",
           "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
           "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-local"), "ANSIBLE_SSH_CONTROL_PATH_DIR": str(tmp / "cp"),
           "ANSIBLE_SSH_ARGS": f"-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes "
                               "-o ControlMaster=auto -o ControlPersist=60s",
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_DEPRECATION_WARNINGS": "False"}
    started = time.monotonic()
    proc = subprocess.run([str(ANSIBLE), "all", "-i", str(inventory), "-m", "setup", "-f", str(workers), "-o"],
                          capture_output=True, text=True, env=env, check=False, start_new_session=True)
    wall = time.monotonic() - started
    ok = sum(1 for line in proc.stdout.splitlines() if "| SUCCESS" in line)
    return {"wall_s": round(wall, 2), "hosts_ok": ok, "rc": proc.returncode,
            "stderr_tail": proc.stderr.strip().splitlines()[-1:] if ok != len(servers) else []}


def exec_rounds(factory: SshdFactory, rounds: int, tmp: Path) -> list[dict[str, Any]]:
    """Round trip of one ``true`` exec over an open session, with the container's and Debian's ~/.bashrc."""
    out = []
    for label, setup in (("container ~/.bashrc", None), ("Debian ~/.bashrc", host_like_rc())):
        if label.startswith("Debian") and setup is None:
            continue
        server = factory.start(f"exec-{len(out)}", setup=setup)
        known = tmp / f"kh_exec_{len(out)}"
        known.write_text(server.known_hosts_line() + "\n")
        conn = ParamikoConnector(str(known), use_agent=False).connect(targets([server], factory)[0])
        times = []
        for _ in range(rounds):
            started = time.monotonic()
            conn.run("true", b"", 60, 4096)
            times.append(time.monotonic() - started)
        conn.close()
        out.append({"shell": label, "exec_median_ms": round(statistics.median(times) * 1000, 1)})
    return out


def key_rounds(factory: SshdFactory, rounds: int, tmp: Path) -> list[dict[str, Any]]:
    """Sequential connect+close to one server per host-key type, and per client-key type.

    The connector is created per round so the client key is parsed each time, as every host of
    a fleet did before keys were cached (the cached figure is the second column).
    """
    out = []

    def measure(server: Sshd, key: Path, label: str) -> None:
        known = tmp / f"kh_{label}"
        known.write_text(server.known_hosts_line() + "\n")
        connector = ParamikoConnector(str(known), use_agent=False, connect_timeout=60)
        target = resolve_target(server.name, {"ansible_host": "127.0.0.1", "ansible_port": server.port,
                                              "ansible_user": "root", "ansible_ssh_private_key_file": str(key)},
                                None, Location("<bench>"), frozenset({"all"}))
        fresh, cached = [], []
        for _ in range(rounds):
            started = time.monotonic()
            ParamikoConnector(str(known), use_agent=False, connect_timeout=60).connect(target).close()
            fresh.append(time.monotonic() - started)
            started = time.monotonic()
            connector.connect(target).close()
            cached.append(time.monotonic() - started)
        out.append({"keys": label, "connect_fresh_median_ms": round(statistics.median(fresh) * 1000, 1),
                    "connect_cached_median_ms": round(statistics.median(cached) * 1000, 1)})

    for host_key in ("ed25519", "ecdsa", "rsa"):
        measure(factory.start(f"key-{host_key}", host_key=host_key), factory.client_key,
                f"host {host_key}, client ed25519")
    extra = {}
    for client in ("ecdsa", "rsa"):
        key = tmp / f"client_{client}"
        subprocess.run(["ssh-keygen", "-q", "-t", client, "-N", "", "-f", str(key)], check=True,
                       stdin=subprocess.DEVNULL)
        extra[client] = key
    both = "\n".join([factory.client_pub, *((k.with_suffix(".pub")).read_text().strip() for k in extra.values())])
    server = factory.start("key-clients", authorized=both)
    for client, key in extra.items():
        measure(server, key, f"host ed25519, client {client}")
    return out


def timed(label: str, fn: Callable[..., Any], *args: Any) -> Any:
    started = time.monotonic()
    value = fn(*args)
    print(f"  {label}: {time.monotonic() - started:.1f}s", file=sys.stderr)
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print Markdown tables and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--kinds", choices=["all", "light", "both"], default="both")
    parser.add_argument("--compare", type=int, default=0, help="hosts for single vs per-command (0: skip)")
    parser.add_argument("--keys", type=int, default=0, help="connect rounds per key type (0: skip)")
    parser.add_argument("--ansible", action="store_true", help="also time ansible -m setup (bench venv)")
    parser.add_argument("--light", action="store_true", help="same as --kinds light (older flag)")
    parser.add_argument("--both", action="store_true", help="same as --kinds both (older flag)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure probe-only and aslcheck this many times, interleaved; report medians")
    parser.add_argument("--container-rc", action="store_true",
                        help="keep this container's root ~/.bashrc in the fleet (see host_like_rc)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("run as root: the sshd servers need it", file=sys.stderr)
        return 2
    chosen = ["light"] if args.light or args.kinds == "light" else (["all"] if args.kinds == "all"
                                                                    else ["all", "light"])
    rows: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    execs: list[dict[str, Any]] = []
    setup = None if args.container_rc else host_like_rc()
    compare: list[dict[str, Any]] = []
    startup: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="aslcheck-bench-") as tmp_name:
        tmp = Path(tmp_name)
        weights = tmp / "weights"
        weights.mkdir(mode=0o750)
        (weights / "model.bin").write_bytes(b"\0" * 1024)
        config = Config(scope=Scope(hosts=True, host_groups=(HostGroupScope("bench", (str(weights),)),)),
                        access=Access(host_roster=("root",)))
        (tmp / "sshd").mkdir()
        factory = make_factory(tmp / "sshd", log_level="INFO")
        try:
            for count in args.hosts:
                started = time.monotonic()
                servers = factory.start_many([f"n{count}-{i:03d}" for i in range(count)], setup=setup)
                startup.append({"hosts": count, "sshd_start_s": round(time.monotonic() - started, 2)})
                for name in chosen:
                    kinds = frozenset(KIND_SETS[name])
                    probes, runs = [], []
                    for _ in range(max(1, args.repeat)):
                        # NOTE: interleaved, so load from other users of the machine hits both alike.
                        probes.append(timed(f"{count} {name} probe only", probe_only, kinds, [str(weights)], count,
                                            args.workers))
                        runs.append(timed(f"{count} {name} aslcheck", collect, servers, factory, config, kinds,
                                          args.workers))
                    probe = _median_run(probes)
                    ours = _median_run(runs)
                    row: dict[str, Any] = {"hosts": count, "kinds": name, "workers": args.workers,
                                           "probe_only_s": probe["wall_s"], "commands_cpu_s": probe["commands_cpu_s"],
                                           "aslcheck_s": ours["wall_s"], **{f"aslcheck_{k}": v for k, v in
                                                                            ours.items() if k != "wall_s"}}
                    rows.append(row)
                    print(f"  {row}", file=sys.stderr)
                if args.ansible:
                    # NOTE: once per fleet: -m setup gathers the same facts whatever aslcheck's kind set.
                    ans = timed(f"{count} ansible -m setup", ansible_setup, servers, factory, args.workers, tmp)
                    for row in rows[-len(chosen):]:
                        if ans is not None:
                            row.update({"ansible_s": ans["wall_s"], "ansible_ok": ans["hosts_ok"],
                                        "ansible_note": ans["stderr_tail"]})
            if args.compare:
                servers = factory.start_many([f"cmp-{i:03d}" for i in range(args.compare)], setup=setup)
                for mode in (ExecMode.SINGLE, ExecMode.PER_COMMAND):
                    result = collect(servers, factory, config, frozenset(KIND_SETS[chosen[-1]]), args.workers, mode)
                    compare.append({"hosts": args.compare, "kinds": chosen[-1], "mode": mode.value, **result})
            if args.keys:
                keys = key_rounds(factory, args.keys, tmp)
                execs = exec_rounds(factory, args.keys, tmp)
        finally:
            factory.stop_all()
    _print(rows, startup, compare, keys, execs, args.workers)
    print(json.dumps({"benchmark": "ssh_fleet", "workers": args.workers, "host_rc": "container" if setup is None
                      else "debian", "rows": rows, "startup": startup, "compare": compare, "keys": keys,
                      "exec": execs}))
    return 0


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run whose wall time is the median (its split stays consistent), with every wall time kept."""
    ordered = sorted(runs, key=lambda r: float(r["wall_s"]))
    return {**ordered[len(ordered) // 2], "walls_s": [r["wall_s"] for r in runs]}


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "-"


def _print(rows: list[dict[str, Any]], startup: list[dict[str, Any]], compare: list[dict[str, Any]],
           keys: list[dict[str, Any]], execs: list[dict[str, Any]], workers: int) -> None:
    print(f"| hosts | kinds | probe only (s) | aslcheck (s) | ansible -m setup (s) | aslcheck / probe | "
          f"ansible / probe | ansible / aslcheck | connect (s, mean) | exec (s, mean) | python CPU (s) | "
          f"KB / host | resources | errors |   (workers={workers})")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ans = r.get("ansible_s")
        print(f"| {r['hosts']} | {r['kinds']} | {r['probe_only_s']} | {r['aslcheck_s']} | {ans if ans else '-'} | "
              f"{_ratio(r['aslcheck_s'], r['probe_only_s'])} | {_ratio(ans, r['probe_only_s'])} | "
              f"{_ratio(ans, r['aslcheck_s'])} | {r['aslcheck_connect_mean_s']} | {r['aslcheck_exec_mean_s']} | "
              f"{r['aslcheck_python_cpu_s']} | {r['aslcheck_output_kb_per_host']} | {r['aslcheck_resources']} | "
              f"{r['aslcheck_errors']} |")
    print()
    print("| hosts | sshd start-up (s) |\n|---:|---:|")
    for s in startup:
        print(f"| {s['hosts']} | {s['sshd_start_s']} |")
    if compare:
        print("\n| hosts | kinds | exec mode | wall (s) | connect (s, mean) | exec (s, mean) |")
        print("|---:|---|---|---:|---:|---:|")
        for c in compare:
            print(f"| {c['hosts']} | {c['kinds']} | {c['mode']} | {c['wall_s']} | {c['connect_mean_s']} | "
                  f"{c['exec_mean_s']} |")
        if len(compare) == 2:
            print(f"\nper-command / single = {_ratio(compare[1]['wall_s'], compare[0]['wall_s'])}")
    if keys:
        print("\n| keys | connect, key parsed per host (ms, median) | connect, key cached (ms, median) |"
              "\n|---|---:|---:|")
        for k in keys:
            print(f"| {k['keys']} | {k['connect_fresh_median_ms']} | {k['connect_cached_median_ms']} |")
    if execs:
        print("\n| login shell | exec `true` round trip (ms, median) |\n|---|---:|")
        for e in execs:
            print(f"| {e['shell']} | {e['exec_median_ms']} |")


if __name__ == "__main__":
    if shutil.which("sshd") is None and not Path("/usr/sbin/sshd").exists():
        print("openssh-server (sshd) is not installed", file=sys.stderr)
        sys.exit(2)
    sys.exit(main())
