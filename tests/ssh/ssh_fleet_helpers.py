"""Helpers to describe a test fleet of real sshd servers and scan it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sshd_servers import Sshd, SshdFactory

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.interface import CheckContext, Finding, Select
from aslcheck.controls.config import Config
from aslcheck.errors import Location
from aslcheck.inventories.interface import CollectionRequest
from aslcheck.inventories.snapshot import Snapshot
from aslcheck.inventories.ssh import (
    HostTarget,
    ParamikoConnector,
    SshCollector,
    SshOptions,
    resolve_target,
)


def target_for(server: Sshd, factory: SshdFactory, groups: Iterable[str] = (), **extra: Any) -> HostTarget:
    """A target that logs in as root with the factory's client key and evaluates the server's own config."""
    variables: dict[str, Any] = {
        "ansible_host": "127.0.0.1",
        "ansible_port": server.port,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(factory.client_key),
        "aslcheck_sshd_config": str(server.config),
    }
    variables.update(extra)
    return resolve_target(server.name, variables, None, Location("<test>"), frozenset({"all", *groups}))


def write_known_hosts(path: Path, servers: Sequence[Sshd]) -> str:
    """known_hosts with every server's key; returns the path."""
    path.write_text("".join(s.known_hosts_line() + "\n" for s in servers))
    return str(path)


def scan(targets: Sequence[HostTarget], known_hosts: str, config: Config, kinds: Iterable[str],
         connect_timeout: float = 10.0, command_timeout: float = 120.0, **connector_args: Any) -> Snapshot:
    """Collect ``kinds`` from ``targets`` with the real paramiko connector."""
    connector = ParamikoConnector(known_hosts, connect_timeout=connect_timeout, use_agent=False, **connector_args)
    collector = SshCollector(tuple(targets), known_hosts, connector=connector,
                             options=SshOptions(command_timeout=command_timeout, max_workers=8))
    return collector.collect(CollectionRequest(kinds=frozenset(kinds), config=config))


def evaluate(check_id: str, snapshot: Snapshot, config: Config) -> list[Finding]:
    """Run one registered check on a snapshot (every subject resource in scope)."""
    spec = next(s for s in default_registry() if s.id == check_id)
    assert spec.select is Select.ALL
    resources = tuple(r for k in sorted(spec.subjects) for r in snapshot.of_kind(k))
    return list(spec.evaluate(CheckContext(snapshot=snapshot, config=config, resources=resources)))


def statuses(findings: Iterable[Finding]) -> Mapping[str, str]:
    """Finding status by resource ID."""
    return {f.resource or "": f.status.value for f in findings}
