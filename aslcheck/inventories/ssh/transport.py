"""SSH connections with strict host-key checking, verified before any credential is sent.

The connection is built from :class:`paramiko.Transport` directly so the order is explicit:
TCP (or a ``direct-tcpip`` channel through the previous ProxyJump hop), key exchange, the
server's host key checked against known_hosts (an unknown or changed key aborts: the policy of
:class:`paramiko.RejectPolicy`, never auto-add), and only then authentication (agent keys, then
identity files, with a passphrase callback for encrypted keys). Every jump host is checked the
same way.
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import hashlib
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aslcheck.errors import BadInputError, Location, MissingExtraError
from aslcheck.inventories.ssh.targets import HostTarget

if TYPE_CHECKING:
    import paramiko

    _KeyCache = dict[str, tuple[tuple[int, int, int], "paramiko.PKey | None"]]


class SshError(Exception):
    """A connection or command failed; ``code`` is the collection-error code."""

    def __init__(self, code: str, message: str, operation: str = "ssh:connect") -> None:
        self.code = code
        self.message = message
        self.operation = operation
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class ExecResult:
    """Output of one remote command."""

    stdout: bytes
    """Standard output."""
    stderr: bytes
    """Standard error."""
    exit_status: int | None
    """Exit status, ``None`` if the server sent none."""


class Connection(Protocol):
    """An authenticated session to one host."""

    def run(self, command: str, stdin: bytes, timeout: float, max_bytes: int) -> ExecResult:
        """Run ``command`` with ``stdin``; raise :class:`SshError` on timeout or oversize output."""
        ...

    def close(self) -> None:
        """Close the session and every hop under it."""
        ...


class Connector(Protocol):
    """Opens connections; the SSH collector's injected I/O seam."""

    def connect(self, target: HostTarget) -> Connection:
        """Connect and authenticate, or raise :class:`SshError`."""
        ...


PassphraseCallback = Callable[[str], "str | None"]
"""``passphrase(key_path)`` returns the passphrase of an encrypted key, or ``None`` to skip it."""


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH-style ``SHA256:`` fingerprint of a public key."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


_ALGORITHMS_FOR_TYPE = {
    "ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256"),
}


def _paramiko() -> object:
    try:
        import paramiko
    except ImportError as exc:  # pragma: no cover - only without the extra
        raise MissingExtraError("ssh", "paramiko") from exc
    return paramiko


class ParamikoConnection:
    """A verified, authenticated paramiko transport (plus the hops it runs through)."""

    def __init__(self, transports: list[paramiko.Transport], open_timeout: float) -> None:
        self._transports = transports
        self._open_timeout = open_timeout

    def run(self, command: str, stdin: bytes, timeout: float, max_bytes: int) -> ExecResult:
        """Run one command; stdin is sent then closed; output is read until EOF or the deadline."""
        import paramiko

        deadline = time.monotonic() + timeout
        try:
            chan = self._transports[-1].open_session(timeout=self._open_timeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SshError("SessionFailed", f"cannot open a session: {exc}", "ssh:exec") from exc
        out = bytearray()
        err = bytearray()
        try:
            chan.exec_command(command)
            if stdin:
                chan.sendall(stdin)
            chan.shutdown_write()
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SshError("CommandTimeout", f"the probe did not finish within {timeout:g}s", "ssh:exec")
                select.select([chan], [], [], min(remaining, 1.0))
                while chan.recv_stderr_ready():
                    err += chan.recv_stderr(65536)
                if chan.recv_ready():
                    out += chan.recv(65536)
                    if len(out) > max_bytes:
                        raise SshError("OutputTooLarge", f"probe output exceeded {max_bytes} bytes", "ssh:exec")
                    continue
                if chan.eof_received or chan.closed:
                    break
            while chan.recv_stderr_ready():
                err += chan.recv_stderr(65536)
            status: int | None = None
            if chan.status_event.wait(max(0.0, min(5.0, deadline - time.monotonic()))):
                status = chan.recv_exit_status()
            return ExecResult(bytes(out), bytes(err), status)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SshError("ConnectionLost", f"connection lost during the probe: {exc}", "ssh:exec") from exc
        finally:
            chan.close()

    def close(self) -> None:
        """Close all transports, innermost first."""
        for transport in reversed(self._transports):
            # NOTE: closing must never mask the outcome the caller is about to report.
            with contextlib.suppress(Exception):
                transport.close()


class ParamikoConnector:
    """The real connector: strict known_hosts, key/agent auth, ProxyJump, timeouts."""

    def __init__(
        self,
        known_hosts: str,
        connect_timeout: float = 10.0,
        use_agent: bool = True,
        passphrase: PassphraseCallback | None = None,
        default_user: str | None = None,
    ) -> None:
        paramiko = _paramiko()
        self._known_hosts_path = known_hosts
        if not os.path.isfile(known_hosts):
            raise BadInputError("known_hosts file not found (it is required: aslcheck never trusts "
                                "an unknown host key)", Location(known_hosts))
        host_keys = paramiko.HostKeys()  # type: ignore[attr-defined]
        try:
            host_keys.load(known_hosts)
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInputError(f"cannot read known_hosts: {exc}", Location(known_hosts)) from exc
        self._host_keys = host_keys
        self.connect_timeout = connect_timeout
        self.use_agent = use_agent
        self.passphrase = passphrase
        self.default_user = default_user or getpass.getuser()
        self._keys: _KeyCache = {}
        self._key_lock = threading.Lock()

    def connect(self, target: HostTarget) -> Connection:
        """Connect through every ProxyJump hop to ``target``; each hop is verified and authenticated."""
        transports: list[paramiko.Transport] = []
        try:
            sock: object | None = None
            for hop in (*target.hops(), target):
                transport = self._open(hop, sock, via=transports[-1] if transports else None)
                transports.append(transport)
                self._verify(hop, transport)
                self._authenticate(hop, transport)
                sock = None
            return ParamikoConnection(transports, self.connect_timeout)
        except BaseException:
            for transport in reversed(transports):
                transport.close()
            raise

    def _open(self, hop: HostTarget, sock: object | None, via: paramiko.Transport | None) -> paramiko.Transport:
        import paramiko

        label = f"{hop.name} ({hop.hostname}:{hop.port})"
        try:
            if via is None:
                channel_or_sock: socket.socket | paramiko.Channel = socket.create_connection((hop.hostname, hop.port),
                                                                   timeout=self.connect_timeout)
            else:
                channel_or_sock = via.open_channel("direct-tcpip", (hop.hostname, hop.port), ("127.0.0.1", 0),
                                                   timeout=self.connect_timeout)
        except (OSError, paramiko.SSHException) as exc:
            code = "ConnectTimeout" if isinstance(exc, (socket.timeout, TimeoutError)) else "Unreachable"
            raise SshError(code, f"cannot reach {label}: {exc}") from exc
        transport = paramiko.Transport(channel_or_sock)
        transport.banner_timeout = self.connect_timeout
        transport.handshake_timeout = self.connect_timeout
        transport.auth_timeout = self.connect_timeout
        known = self._host_keys.lookup(hop.known_hosts_name())
        if known:
            # NOTE: like OpenSSH, ask only for host-key types we hold for this host, so a server
            # that also has another key type is not mistaken for a changed key.
            wanted: list[str] = []
            for key_type in known:
                wanted.extend(_ALGORITHMS_FOR_TYPE.get(key_type, (key_type,)))
            opts = transport.get_security_options()
            usable = tuple(k for k in wanted if k in opts.key_types)
            if usable:
                opts.key_types = usable
        try:
            transport.start_client(timeout=self.connect_timeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            transport.close()
            reason = str(exc) or type(exc).__name__
            raise SshError("HandshakeFailed", f"SSH handshake with {label} failed: {reason}") from exc
        # NOTE: start_client returns silently when its timeout expires; check the outcome.
        if not transport.is_active() or not getattr(transport, "initial_kex_done", False):
            error = transport.get_exception()
            transport.close()
            raise SshError("HandshakeFailed", f"no SSH handshake with {label} within "
                           f"{self.connect_timeout:g}s{f': {error}' if error else ''}")
        return transport

    def _verify(self, hop: HostTarget, transport: paramiko.Transport) -> None:
        key = transport.get_remote_server_key()
        name = hop.known_hosts_name()
        known = self._host_keys.lookup(name)
        got = fingerprint(key)
        if not known:
            raise SshError("HostKeyUnknown",
                           f"host key of {hop.name} ({name}) is not in {self._known_hosts_path}: "
                           f"{key.get_name()} {got}; no credentials were sent", "ssh:hostkey")
        expected = known.get(key.get_name())
        if expected is None or expected != key:
            listed = ", ".join(f"{t} {fingerprint(k)}" for t, k in known.items())
            raise SshError("HostKeyMismatch",
                           f"host key of {hop.name} ({name}) CHANGED: server offered {key.get_name()} {got}, "
                           f"known_hosts has {listed}; no credentials were sent", "ssh:hostkey")

    def _identity(self, path: str) -> paramiko.PKey | None:
        """The private key at ``path``, parsed once per connector (``None``: absent or skipped).

        NOTE: parsing is not cheap: paramiko builds an RSA key through cryptography's
        validating constructor, about 0.6 s of CPU for a 3072-bit key, which every host of a
        fleet paid again (bench/ssh_fleet.py --keys). The cache is keyed by the file's identity,
        so a key replaced on disk is read again; a passphrase is asked for once.
        """
        import paramiko

        try:
            st = os.stat(path)
        except OSError:
            return None
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        with self._key_lock:
            cached = self._keys.get(path)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            try:
                key: paramiko.PKey | None = paramiko.PKey.from_path(path)
            except (paramiko.PasswordRequiredException, TypeError):
                # NOTE: paramiko >= 4 lets cryptography's TypeError through for encrypted keys.
                secret = self.passphrase(path) if self.passphrase else None
                if secret is None:
                    key = None
                else:
                    # NOTE: from_path is annotated as taking str but cryptography needs bytes.
                    password: Any = secret.encode("utf-8")
                    try:
                        key = paramiko.PKey.from_path(path, password)
                    except (paramiko.SSHException, ValueError, TypeError) as exc:
                        raise SshError("KeyUnusable", f"cannot decrypt {path}: {exc}", "ssh:auth") from exc
            except (paramiko.SSHException, OSError, ValueError) as exc:
                raise SshError("KeyUnusable", f"cannot load {path}: {exc}", "ssh:auth") from exc
            self._keys[path] = (stamp, key)
            return key

    def _candidate_keys(self, hop: HostTarget) -> list[tuple[str, paramiko.PKey]]:
        import paramiko

        keys: list[tuple[str, paramiko.PKey]] = []
        if self.use_agent:
            # NOTE: no reachable agent simply means no agent keys.
            with contextlib.suppress(paramiko.SSHException):
                keys.extend((f"agent key {fingerprint(k)}", k) for k in paramiko.Agent().get_keys())
        for path in hop.identity_files:
            key = self._identity(path)
            if key is not None:
                keys.append((path, key))
        return keys

    def _authenticate(self, hop: HostTarget, transport: paramiko.Transport) -> None:
        import paramiko

        user = hop.user or self.default_user
        tried: list[str] = []
        for label, key in self._candidate_keys(hop):
            try:
                transport.auth_publickey(user, key)
            except paramiko.AuthenticationException:
                tried.append(label)
                continue
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise SshError("AuthFailed", f"authentication to {hop.name} as {user} broke off: {exc}",
                               "ssh:auth") from exc
            if transport.is_authenticated():
                return
        raise SshError("AuthFailed",
                       f"{hop.name} refused public-key authentication as {user} "
                       f"(tried: {', '.join(tried) or 'no usable key'})", "ssh:auth")
