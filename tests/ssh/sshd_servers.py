"""Start real OpenSSH ``sshd`` processes on 127.0.0.1 (used by tests/ssh and bench/ssh_fleet.py).

Each server runs as root with ``-D -E log -f <tmp sshd_config>``, a temporary host key, and an
AuthorizedKeysFile holding a temporary client key. Outside CI the tests skip when ``sshd`` (or
root) is missing; with ``CI=true`` they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/bin/sshd")


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: this must not be skipped)")
    pytest.skip(reason)


def find_sshd() -> str | None:
    """Path of the sshd binary, if installed."""
    found = shutil.which("sshd")
    if found:
        return found
    return next((p for p in SSHD_CANDIDATES if os.access(p, os.X_OK)), None)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def keygen(path: Path, kind: str = "ed25519", passphrase: str = "") -> str:
    """Generate a key pair with ssh-keygen; returns the public key line."""
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-f", str(path), "-C", "aslcheck-test"],
                   check=True, stdin=subprocess.DEVNULL)
    return path.with_suffix(path.suffix + ".pub").read_text().strip()


BASE_CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
HostKey {dir}/host_{host_key}
PidFile {dir}/sshd.pid
AuthorizedKeysFile {dir}/authorized_keys
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
LogLevel {log_level}
MaxStartups 200:30:400
"""


@dataclass
class Sshd:
    """One running sshd."""

    name: str
    port: int
    dir: Path
    config: Path
    log: Path
    host_key_line: str
    process: subprocess.Popen[bytes]

    def known_hosts_line(self) -> str:
        """known_hosts entry for this server."""
        kind, blob = self.host_key_line.split()[:2]
        return f"[127.0.0.1]:{self.port} {kind} {blob}"

    def log_text(self) -> str:
        """Everything the server logged so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class SshdFactory:
    """Starts sshd processes and stops them all at the end."""

    sshd: str
    root: Path
    client_key: Path
    client_pub: str
    servers: list[Sshd] = field(default_factory=list)
    log_level: str = "DEBUG3"
    """sshd LogLevel (the fault tests read DEBUG lines; the fleet bench uses INFO, as real hosts do)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, name: str, extra: str = "", authorized: str | None = None, setup: str | None = None,
              host_key: str = "ed25519") -> Sshd:
        """Start one sshd with ``extra`` config lines; wait until it answers with its banner.

        ``setup`` is a shell snippet run as root in a private mount namespace just before sshd
        starts there (``unshare -m``), so bind mounts, tmpfs or an overlay over ``/etc`` made by
        it are seen by that server and every session it runs, and by nothing else.
        """
        d = self.root / name
        d.mkdir(parents=True)
        host_line = keygen(d / f"host_{host_key}", host_key)
        (d / "authorized_keys").write_text((authorized if authorized is not None else self.client_pub) + "\n")
        for _attempt in range(5):
            port = free_port()
            config = d / "sshd_config"
            config.write_text(BASE_CONFIG.format(port=port, dir=d, host_key=host_key, log_level=self.log_level)
                              + extra + "\n")
            log = d / "sshd.log"
            argv = [self.sshd, "-D", "-e", "-E", str(log), "-f", str(config)]
            if setup is not None:
                argv = ["unshare", "-m", "--propagation", "private", "sh", "-ec", setup + '\nexec "$@"', "sh", *argv]
            proc = subprocess.Popen(argv,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            if _wait_banner(port, proc):
                server = Sshd(name, port, d, config, log, host_line, proc)
                with self.lock:
                    self.servers.append(server)
                return server
            proc.kill()
            proc.wait()
        raise RuntimeError(f"sshd {name} did not start; log: {(d / 'sshd.log').read_text(errors='replace')}")

    def start_many(self, names: list[str], workers: int = 8, **options: Any) -> list[Sshd]:
        """Start several servers in parallel (key generation and the banner wait overlap)."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda n: self.start(n, **options), names))

    def stop_all(self) -> None:
        """Terminate every server this factory started."""
        for server in self.servers:
            if server.process.poll() is None:
                server.process.terminate()
        for server in self.servers:
            try:
                server.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


def overlay(target: str, upper: Path) -> str:
    """Shell lines mounting ``upper`` over ``target`` (an overlay: the files of ``upper`` win)."""
    work = upper.parent / f"{upper.name}.work"
    work.mkdir(exist_ok=True)
    return f"mount -t overlay overlay -o lowerdir={target},upperdir={upper},workdir={work} {target}\n"


def _wait_banner(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def make_factory(root: Path, client_key_type: str = "ed25519", log_level: str = "DEBUG3") -> SshdFactory:
    """Checks prerequisites and builds a factory (skip or, in CI, fail when they are missing)."""
    sshd = find_sshd()
    require(sshd is not None, "OpenSSH sshd is not installed (apt-get install openssh-server)")
    require(os.geteuid() == 0, "the sshd fixture must run as root")
    require(shutil.which("ssh-keygen") is not None, "ssh-keygen is not installed")
    assert sshd is not None
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    key = root / f"client_{client_key_type}"
    pub = keygen(key, client_key_type)
    return SshdFactory(sshd, root, key, pub, log_level=log_level)


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never writes a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.conns: list[socket.socket] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)

    def close(self) -> None:
        """Stop accepting and close everything."""
        self._stop.set()
        self.thread.join(timeout=2)
        for conn in self.conns:
            conn.close()
        self.sock.close()
