"""SSH targets: inventory hosts resolved through ``~/.ssh/config`` into connection parameters.

Resolution follows what ``ansible`` + OpenSSH do: the destination is ``ansible_host`` (or the
inventory name); ``~/.ssh/config`` is looked up with that destination (HostName, Port, User,
IdentityFile, ProxyJump); explicit ``ansible_*`` variables win over the ssh config.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aslcheck.errors import BadInputError, Location
from aslcheck.inventories.ssh.ansible import InventoryHost, load_inventory

DEFAULT_SSHD_CONFIG = "/etc/ssh/sshd_config"


@dataclass(frozen=True)
class HostTarget:
    """Everything needed to reach one host and decide what to probe on it."""

    name: str
    """Inventory name; the ``host`` of every resource and error about it."""
    hostname: str
    """Address or DNS name to connect to."""
    port: int = 22
    """TCP port."""
    user: str | None = None
    """Login user (``None``: the local user name)."""
    identity_files: tuple[str, ...] = ()
    """Private key files to try, in order (after the agent, if enabled)."""
    jump: HostTarget | None = None
    """The last hop of the ProxyJump chain (its own ``jump`` is the hop before it)."""
    groups: frozenset[str] = frozenset({"all"})
    """Inventory groups (with ancestors)."""
    sudo_allowed: bool = True
    """Host opt-out of ``sudo -n`` (inventory variable ``aslcheck_sudo: false``)."""
    sshd_config: str = DEFAULT_SSHD_CONFIG
    """sshd configuration file to evaluate (``aslcheck_sshd_config``)."""
    vars: Mapping[str, Any] = field(default_factory=dict)
    """Effective inventory variables (kept for reference; not sent anywhere)."""

    def known_hosts_name(self) -> str:
        """The name under which the host key is looked up in known_hosts (``[host]:port`` if not 22)."""
        return self.hostname if self.port == 22 else f"[{self.hostname}]:{self.port}"

    def hops(self) -> tuple[HostTarget, ...]:
        """Jump hosts from the first hop to the last, excluding this target."""
        out: list[HostTarget] = []
        cur = self.jump
        while cur is not None:
            out.append(cur)
            cur = cur.jump
        return tuple(reversed(out))


def _int_port(value: Any, where: Location) -> int:
    try:
        port = int(str(value))
    except ValueError:
        raise BadInputError(f"port must be an integer, got {value!r}", where) from None
    if not 0 < port < 65536:
        raise BadInputError(f"port out of range: {port}", where)
    return port


_MATCH_EXEC = re.compile(r"^\s*match\b.*\bexec\b", re.IGNORECASE | re.MULTILINE)


def parse_ssh_config(text: str, file: str) -> Any:
    """Parse ``~/.ssh/config`` text with :class:`paramiko.SSHConfig`.

    ``Match exec`` is refused: evaluating it would run a local command chosen by the file.
    """
    try:
        import paramiko
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        from aslcheck.errors import MissingExtraError

        raise MissingExtraError("ssh", "paramiko") from exc
    match = _MATCH_EXEC.search(text)
    if match is not None:
        line = text.count("\n", 0, match.start()) + 1
        raise BadInputError("'Match exec' is not supported (it would run a command)", Location(file, line))
    try:
        return paramiko.SSHConfig.from_text(text)
    except Exception as exc:  # paramiko raises bare Exception/ConfigParseError types
        raise BadInputError(f"cannot parse ssh config: {exc}", Location(file)) from exc


def load_ssh_config(path: str | None = None) -> Any:
    """Read an ssh config file (default ``~/.ssh/config``; missing default file = empty config)."""
    explicit = path is not None
    path = path or os.path.expanduser("~/.ssh/config")
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        if explicit:
            raise BadInputError("ssh config file not found", Location(path)) from None
        text = ""
    except OSError as exc:
        raise BadInputError(f"cannot read ssh config: {exc.strerror}", Location(path)) from exc
    return parse_ssh_config(text, path)


_JUMP = re.compile(r"^(?:(?P<user>[^@]+)@)?(?P<host>\[[^\]]+\]|[^:]+)(?::(?P<port>\d+))?$")


def _jump_target(spec: str, ssh_config: Any, where: Location, depth: int) -> HostTarget:
    match = _JUMP.match(spec.strip())
    if match is None:
        raise BadInputError(f"cannot parse ProxyJump entry {spec!r}", where)
    dest = match.group("host").strip("[]")
    return resolve_target(
        name=dest,
        variables={
            k: v
            for k, v in (("ansible_user", match.group("user")), ("ansible_port", match.group("port")))
            if v is not None
        },
        ssh_config=ssh_config,
        where=where,
        depth=depth + 1,
    )


def resolve_target(
    name: str,
    variables: Mapping[str, Any],
    ssh_config: Any | None,
    where: Location,
    groups: frozenset[str] = frozenset({"all"}),
    depth: int = 0,
) -> HostTarget:
    """Build a :class:`HostTarget` from inventory variables and an ssh config (pure)."""
    if depth > 8:
        raise BadInputError(f"ProxyJump chain for {name!r} is too long or cyclic", where)
    dest = str(variables.get("ansible_host") or variables.get("ansible_ssh_host") or name)
    looked: Mapping[str, Any] = ssh_config.lookup(dest) if ssh_config is not None else {"hostname": dest}
    port_value = variables.get("ansible_port", variables.get("ansible_ssh_port", looked.get("port", 22)))
    user = variables.get("ansible_user", variables.get("ansible_ssh_user", looked.get("user")))
    identities: list[str] = []
    key_file = variables.get("ansible_ssh_private_key_file")
    if key_file:
        identities.append(os.path.expanduser(str(key_file)))
    identities.extend(str(p) for p in looked.get("identityfile", ()) if str(p) not in identities)
    jump: HostTarget | None = None
    proxy = looked.get("proxyjump")
    if proxy and str(proxy).lower() != "none":
        for hop in str(proxy).split(","):
            hop_target = _jump_target(hop, ssh_config, where, depth)
            jump = _with_jump(hop_target, jump)
    sudo = variables.get("aslcheck_sudo", True)
    if not isinstance(sudo, bool):
        raise BadInputError(f"aslcheck_sudo of host {name!r} must be true or false", where)
    sshd_config = str(variables.get("aslcheck_sshd_config", DEFAULT_SSHD_CONFIG))
    if not sshd_config.startswith("/"):
        raise BadInputError(f"aslcheck_sshd_config of host {name!r} must be an absolute path", where)
    return HostTarget(
        name=name,
        hostname=str(looked.get("hostname", dest)),
        port=_int_port(port_value, where),
        user=str(user) if user is not None else None,
        identity_files=tuple(identities),
        jump=jump,
        groups=groups,
        sudo_allowed=sudo,
        sshd_config=sshd_config,
        vars=dict(variables),
    )


def _with_jump(target: HostTarget, previous: HostTarget | None) -> HostTarget:
    if previous is None:
        return target
    from dataclasses import replace

    return replace(target, jump=previous)


def targets_from_inventory(hosts: Iterable[InventoryHost], ssh_config: Any | None, file: str) -> tuple[HostTarget, ...]:
    """Resolve inventory hosts into targets (pure)."""
    return tuple(
        resolve_target(h.name, h.vars, ssh_config, Location(file, h.line), h.groups) for h in hosts
    )


def load_targets(
    inventory: str | None = None,
    ssh_config: str | None = None,
    hosts: Sequence[str] = (),
    use_default_ssh_config: bool = True,
) -> tuple[HostTarget, ...]:
    """Targets from an inventory file and/or host aliases of an ssh config.

    ``hosts`` names extra destinations resolved through the ssh config only (group ``all``).
    """
    config = load_ssh_config(ssh_config) if (ssh_config or use_default_ssh_config) else None
    out: list[HostTarget] = []
    if inventory is not None:
        out.extend(targets_from_inventory(load_inventory(inventory), config, inventory))
    for name in hosts:
        out.append(resolve_target(name, {}, config, Location(ssh_config or "<hosts>")))
    names = [t.name for t in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise BadInputError(f"host named more than once: {', '.join(dupes)}", Location(inventory or "<hosts>"))
    return tuple(out)
