"""The SSH collector: one verified session and one exec per host, hosts in parallel."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum

from aslcheck import __version__
from aslcheck.controls.config import Config
from aslcheck.inventories.interface import CollectionRequest, utc_now
from aslcheck.inventories.shard import ShardPlan, ShardSpec, Unit, claimable
from aslcheck.inventories.snapshot import CollectionError, CollectorRun, Resource, Snapshot
from aslcheck.inventories.ssh.commands import build_script
from aslcheck.inventories.ssh.facts import KINDS, SOURCE, HostContext, build_resources, host_failure
from aslcheck.inventories.ssh.probe import Plan, SectionResult, TruncatedOutput, new_nonce, plan_probe, split_output
from aslcheck.inventories.ssh.targets import HostTarget, load_targets
from aslcheck.inventories.ssh.transport import (
    Connection,
    Connector,
    ParamikoConnector,
    PassphraseCallback,
    SshError,
)

REMOTE_COMMAND = "/bin/sh -s"
"""What is exec'd on the host; the probe script arrives on its stdin."""


class ExecMode(Enum):
    """How the probe is run on a host."""

    SINGLE = "single"
    """The whole probe in one exec (the default)."""
    PER_COMMAND = "per_command"
    """One exec per section over the same session (for benchmarks and debugging)."""


@dataclass(frozen=True)
class SshOptions:
    """Tunables of the SSH collector."""

    command_timeout: float = 300.0
    """Seconds the whole probe of one host may take."""
    max_workers: int = 16
    """Hosts collected in parallel."""
    max_output_bytes: int = 64 * 1024 * 1024
    """Probe output larger than this is refused (treated as truncated)."""
    mode: ExecMode = ExecMode.SINGLE
    """Single exec (default) or one exec per command."""


def weight_paths_for(target: HostTarget, config: Config) -> dict[str, tuple[str, ...]]:
    """Declared weight paths of a host: path -> the scope host groups (that the host is in) declaring it."""
    out: dict[str, list[str]] = {}
    for group in config.scope.host_groups:
        if group.name in target.groups:
            for path in group.paths:
                out.setdefault(path, []).append(group.name)
    return {p: tuple(sorted(gs)) for p, gs in sorted(out.items())}


def _edr_units(config: Config) -> tuple[str, ...]:
    raw = config.host_settings.get("edr_units", ())
    if isinstance(raw, str) or not all(isinstance(u, str) for u in raw):
        raise ValueError("host_settings.edr_units must be a list of unit names")
    return tuple(raw)


class SshCollector:
    """Collects ``host.*`` facts over SSH (read-only, nothing installed on the hosts)."""

    name = SOURCE
    """Collector name and resource ``source``."""

    def __init__(
        self,
        targets: tuple[HostTarget, ...],
        known_hosts: str,
        *,
        options: SshOptions | None = None,
        connector: Connector | None = None,
        shard: ShardSpec | None = None,
    ) -> None:
        """``shard`` collects only the hosts (units ``("ssh", (name,))``) that shard owns."""
        self.targets = targets
        self.shard = shard
        self._kinds: frozenset[str] = frozenset()
        self.options = options or SshOptions()
        if self.options.max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.connector: Connector = connector or ParamikoConnector(known_hosts)

    def kinds(self) -> frozenset[str]:
        """Every kind this collector produces."""
        return KINDS

    def universe(self) -> tuple[Unit, ...]:
        """One unit per host of the inventory, sorted by inventory name."""
        return tuple(sorted({Unit(SOURCE, (t.name,)) for t in self.targets}))

    def _mine(self) -> tuple[HostTarget, ...]:
        if self.shard is None:
            return self.targets
        shard = self.shard
        return tuple(t for t in self.targets if shard.owns(Unit(SOURCE, (t.name,))))

    def shard_plan(self) -> ShardPlan:
        """This shard's hosts within the inventory (valid after :meth:`collect`)."""
        mine = tuple(sorted({Unit(SOURCE, (t.name,)) for t in self._mine()}))
        return ShardPlan(collector=SOURCE, universe=self.universe(), mine=mine, kinds=self._kinds,
                         covered=self._kinds if mine else frozenset())

    def collect(self, request: CollectionRequest) -> Snapshot:
        """Probe every target in parallel; a failing host only affects its own facts."""
        started = utc_now()
        kinds = frozenset(request.kinds) & KINDS
        self._kinds = kinds
        targets = self._mine()
        resources: list[Resource] = []
        errors: list[CollectionError] = []
        if kinds:
            lock = threading.Lock()
            done = 0
            total = len(targets)
            request.progress("ssh", 0, total)

            def one(target: HostTarget) -> tuple[list[Resource], list[CollectionError]]:
                nonlocal done
                try:
                    return self._collect_host(target, kinds, request.config)
                finally:
                    with lock:
                        done += 1
                        request.progress("ssh", done, total)

            with ThreadPoolExecutor(max_workers=min(self.options.max_workers, max(total, 1))) as pool:
                for res, errs in pool.map(one, targets):
                    resources.extend(res)
                    errors.extend(errs)
        # NOTE: a kind is listed only when every target answered it: the engine reads a listed
        # kind with no resource as "none exist", which a failed host must never become.
        complete = kinds - {e.kind for e in errors if e.kind is not None}
        if self.shard is not None:
            complete &= claimable(kinds, kinds if targets else (), kinds if self.targets else ())
        run = CollectorRun(name=SOURCE, version=__version__, targets=tuple(t.name for t in targets),
                           kinds=tuple(sorted(complete)), started=started, ended=utc_now())
        return Snapshot(resources=tuple(resources), errors=tuple(errors), runs=(run,))

    def _collect_host(self, target: HostTarget, kinds: frozenset[str],
                      config: Config) -> tuple[list[Resource], list[CollectionError]]:
        path_groups = weight_paths_for(target, config)
        paths = tuple(path_groups)
        try:
            units = _edr_units(config)
        except ValueError as exc:
            units = ()
            kinds = kinds - {"host.edr"}
            config_error = [CollectionError(source=SOURCE, operation="config", code="BadConfig",
                                            message=str(exc), resource=target.name, kind="host.edr",
                                            host=target.name)]
        else:
            config_error = []
        sudo = bool(config.host_settings.get("sudo", False)) and target.sudo_allowed
        plan = plan_probe(kinds, paths, units, target.sshd_config)
        try:
            connection = self.connector.connect(target)
        except SshError as exc:
            return [], config_error + host_failure(target.name, kinds, paths, exc.operation, exc.code, exc.message)
        try:
            sections = self._run(connection, plan, sudo)
        except SshError as exc:
            return [], config_error + host_failure(target.name, kinds, paths, exc.operation, exc.code, exc.message)
        except TruncatedOutput as exc:
            return [], config_error + host_failure(target.name, kinds, paths, "ssh:exec", "TruncatedOutput",
                                                   f"probe output is incomplete: {exc}")
        finally:
            connection.close()
        ctx = HostContext(target.name, sections, plan, sudo, target.sshd_config, path_groups)
        resources, errors = build_resources(ctx, kinds)
        return resources, config_error + errors

    def _run(self, connection: Connection, plan: Plan, sudo: bool) -> Mapping[str, SectionResult]:
        groups = ((plan.sections,) if self.options.mode is ExecMode.SINGLE
                  else tuple((s,) for s in plan.sections))
        merged: dict[str, SectionResult] = {}
        for group in groups:
            nonce = new_nonce()
            script = build_script(group, nonce, sudo)
            result = connection.run(REMOTE_COMMAND, script.encode("utf-8"), self.options.command_timeout,
                                    self.options.max_output_bytes)
            merged.update(split_output(result.stdout, nonce, [s.name for s in group]))
        return merged


def collector_from_settings(
    settings: Mapping[str, object],
    *,
    inventory: str | None = None,
    known_hosts: str | None = None,
    ssh_config: str | None = None,
    passphrase: PassphraseCallback | None = None,
    use_agent: bool = True,
    shard: ShardSpec | None = None,
) -> SshCollector:
    """Build a collector from ``aslcheck.yaml``'s ``hosts:`` block; explicit arguments win.

    Raises :class:`~aslcheck.errors.BadInputError` when no inventory or known_hosts is given
    (a scan never runs without known_hosts) or a file is malformed.
    """
    from aslcheck.errors import BadInputError

    inventory = inventory or _opt_str(settings, "inventory")
    known_hosts = known_hosts or _opt_str(settings, "known_hosts")
    ssh_config = ssh_config or _opt_str(settings, "ssh_config")
    if not known_hosts:
        raise BadInputError("a known_hosts file is required to scan hosts (--known-hosts or hosts.known_hosts)")
    if not inventory:
        raise BadInputError("no host inventory given (--inventory or hosts.inventory)")
    targets = load_targets(inventory=inventory, ssh_config=ssh_config)
    connector = ParamikoConnector(known_hosts, connect_timeout=float(_opt_int(settings, "connect_timeout", 10)),
                                  use_agent=use_agent, passphrase=passphrase)
    options = SshOptions(command_timeout=float(_opt_int(settings, "command_timeout", 300)),
                         max_workers=_opt_int(settings, "max_workers", 16))
    return SshCollector(targets, known_hosts, options=options, connector=connector, shard=shard)


def _opt_str(settings: Mapping[str, object], key: str) -> str | None:
    value = settings.get(key)
    return value if isinstance(value, str) and value else None


def _opt_int(settings: Mapping[str, object], key: str, default: int) -> int:
    value = settings.get(key, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default
