"""Collector plug-ins for ``scan``: command-line options and how to build each collector.

Each plug-in imports its collector lazily so the core works without the ``aws``/``ssh`` extras.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from aslcheck.controls.config import Config
from aslcheck.errors import BadInputError, MissingExtraError
from aslcheck.inventories.interface import Collector


@dataclass(frozen=True)
class Plugin:
    """How ``scan`` offers one collector."""

    name: str
    add_args: Callable[[argparse.ArgumentParser], None]
    build: Callable[[argparse.Namespace, Config], Collector | None]
    """Returns None when the user did not ask for this collector."""


def _aws_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("AWS")
    g.add_argument("--aws", action="store_true", help="collect from AWS")
    g.add_argument("--aws-profile", metavar="NAME", help="AWS credentials profile (default chain otherwise)")
    g.add_argument("--region", action="append", default=None, metavar="REGION",
                   help="region to scan, repeatable (default: the config's, else enabled regions)")
    g.add_argument("--org", action="store_true", help="scan every account of the organisation")
    g.add_argument("--assume-role", metavar="NAME", help="role to assume in member accounts (with --org)")
    g.add_argument("--endpoint-url", metavar="URL", help="AWS endpoint override (e.g. a moto server)")
    g.add_argument("--aws-workers", type=int, default=None, metavar="N", help="concurrent AWS requests")


def _aws_build(args: argparse.Namespace, config: Config) -> Collector | None:
    if not args.aws:
        return None
    try:
        from aslcheck.inventories.aws import AwsCollector, build_session_factory
    except ImportError as exc:
        raise MissingExtraError("aws", exc.name or "boto3") from exc
    if args.org and not args.assume_role and not config.aws_settings.get("assume_role"):
        raise BadInputError("--org needs --assume-role NAME (the role to assume in member accounts)")
    settings = config.aws_settings
    regions = tuple(args.region or settings.get("regions", ())) or None
    shard = getattr(args, "shard", None)
    if shard is not None and not regions:
        raise BadInputError("--shard needs explicit regions so every shard plans the same units "
                            "(--region, or aws.regions in the config)")
    collector: Collector = AwsCollector(
        session_factory=build_session_factory(profile=args.aws_profile or settings.get("profile")),
        regions=regions,
        organization=args.org,
        assume_role=args.assume_role or settings.get("assume_role"),
        max_workers=args.aws_workers or settings.get("max_workers", 8),
        endpoint_url=args.endpoint_url,
        shard=shard,
    )
    return collector


def _ssh_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("Linux hosts over SSH")
    g.add_argument("--inventory", metavar="FILE", help="Ansible inventory (YAML or INI)")
    g.add_argument("--known-hosts", metavar="FILE", help="known_hosts file (required for SSH)")
    g.add_argument("--ssh-config", metavar="FILE", help="ssh_config to honour (default ~/.ssh/config)")
    g.add_argument("--ssh-passphrase-env", metavar="VAR", help="passphrase of encrypted SSH keys from $VAR")
    g.add_argument("--ssh-workers", type=int, default=None, metavar="N", help="hosts collected in parallel")


def _ssh_build(args: argparse.Namespace, config: Config) -> Collector | None:
    if not (args.inventory or config.host_settings.get("inventory")):
        return None
    try:
        from aslcheck.inventories.ssh import collector_from_settings
    except ImportError as exc:
        raise MissingExtraError("ssh", exc.name or "paramiko") from exc
    settings = dict(config.host_settings)
    if args.ssh_workers:
        settings["max_workers"] = args.ssh_workers
    collector: Collector = collector_from_settings(
        settings, inventory=args.inventory, known_hosts=args.known_hosts, ssh_config=args.ssh_config,
        passphrase=_key_passphrase(args.ssh_passphrase_env), shard=getattr(args, "shard", None))
    return collector


def _key_passphrase(env: str | None) -> Callable[[str], str | None]:
    """Passphrase of an encrypted SSH key: from ``$env``, else a prompt on a terminal."""

    def ask(path: str) -> str | None:
        if env:
            value = os.environ.get(env)
            if value is None:
                raise BadInputError(f"environment variable {env} is not set")
            return value
        if sys.stdin.isatty():
            return getpass.getpass(f"passphrase for {path}: ")
        return None

    return ask


PLUGINS: tuple[Plugin, ...] = (
    Plugin("aws", _aws_args, _aws_build),
    Plugin("ssh", _ssh_args, _ssh_build),
)
"""Collectors ``scan`` can run, in one visible table."""
