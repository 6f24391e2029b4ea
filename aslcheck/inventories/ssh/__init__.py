"""SSH host inventory: targets from Ansible inventories and ssh config, and the ``ssh`` collector.

Typical use::

    from aslcheck.inventories.ssh import SshCollector, load_targets

    targets = load_targets(inventory="hosts.yml")            # + ~/.ssh/config
    collector = SshCollector(targets, known_hosts="known_hosts")
    snapshot = collector.collect(CollectionRequest(kinds=collector.kinds(), config=config))

Importing this package does not import paramiko; connecting does.
"""

from aslcheck.inventories.ssh.ansible import (
    InventoryHost,
    load_inventory,
    parse_ini_inventory,
    parse_yaml_inventory,
)
from aslcheck.inventories.ssh.collector import (
    ExecMode,
    SshCollector,
    SshOptions,
    collector_from_settings,
    weight_paths_for,
)
from aslcheck.inventories.ssh.facts import KINDS, weight_resource_id
from aslcheck.inventories.ssh.targets import (
    HostTarget,
    load_ssh_config,
    load_targets,
    parse_ssh_config,
    resolve_target,
    targets_from_inventory,
)
from aslcheck.inventories.ssh.transport import (
    Connection,
    Connector,
    ExecResult,
    ParamikoConnector,
    SshError,
    fingerprint,
)

__all__ = [
    "KINDS",
    "Connection",
    "Connector",
    "ExecMode",
    "ExecResult",
    "HostTarget",
    "InventoryHost",
    "ParamikoConnector",
    "SshCollector",
    "SshError",
    "SshOptions",
    "collector_from_settings",
    "fingerprint",
    "load_inventory",
    "load_ssh_config",
    "load_targets",
    "parse_ini_inventory",
    "parse_ssh_config",
    "parse_yaml_inventory",
    "resolve_target",
    "targets_from_inventory",
    "weight_paths_for",
    "weight_resource_id",
]
