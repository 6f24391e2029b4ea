"""``aslcheck checks list|show``: the registered checks, what they read, and which controls use them."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.declarative import load_rule_file
from aslcheck.checks.interface import CheckSpec
from aslcheck.checks.registry import Registry
from aslcheck.controls.loader import load_catalog
from aslcheck.controls.model import Catalog
from aslcheck.controls.yamlio import load_yaml
from aslcheck.errors import BadInputError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the subcommand."""
    p = sub.add_parser("checks", help="list or show the checks",
                       description="The registered checks: ID, version, the inventory kinds each reads "
                                   "(what the collectors fetch for it) and the controls that use it.")
    p.add_argument("--catalog", action="append", default=[], metavar="FILE",
                   help="extra catalog file or overlay (repeatable)")
    p.add_argument("--no-default-catalog", action="store_true", help="only the --catalog files")
    p.add_argument("--rules", action="append", default=[], metavar="FILE",
                   help="extra declarative check file (repeatable)")
    csub = p.add_subparsers(dest="action", required=True)
    ls = csub.add_parser("list", help="list checks")
    ls.add_argument("--profile", help="only the checks this profile's controls use")
    ls.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    show = csub.add_parser("show", help="show one check")
    show.add_argument("id", metavar="ID")
    show.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    p.set_defaults(run=run)


def _users(catalog: Catalog, profile: str | None) -> dict[str, list[str]]:
    controls = catalog.select(profile) if profile else tuple(catalog)
    out: dict[str, list[str]] = {}
    for c in controls:
        for cid in c.checks:
            out.setdefault(cid, []).append(c.id)
    return out


def describe(spec: CheckSpec, controls: list[str]) -> dict[str, Any]:
    """JSON description of one check (the ``--format json`` item)."""
    return {
        "id": spec.id,
        "version": spec.version,
        "kinds": sorted(spec.kinds),
        "subjects": sorted(spec.subjects),
        "select": spec.select.value,
        "allow_empty": spec.allow_empty,
        "params": list(spec.params),
        "controls": controls,
        "origin": spec.origin,
    }


def _load(args: argparse.Namespace) -> tuple[Registry, Catalog]:
    registry = default_registry()
    for path in args.rules:
        for spec in load_rule_file(load_yaml(path)):
            registry.add(spec)
    catalog, _ = load_catalog(args.catalog, checks=registry, builtin=not args.no_default_catalog)
    return registry, catalog


def run(args: argparse.Namespace) -> int:
    """List or show."""
    registry, catalog = _load(args)
    if args.action == "show":
        if args.id not in registry:
            raise BadInputError(f"no check {args.id!r}; try 'aslcheck checks list'")
        item = describe(registry.get(args.id), _users(catalog, None).get(args.id, []))
        if args.format == "json":
            print(json.dumps(item, indent=2))
            return 0
        for key, value in item.items():
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            print(f"{key:>11}: {shown if shown != '' else '-'}")
        return 0
    profile = args.profile
    if profile and profile not in catalog.profiles:
        raise BadInputError(f"unknown profile {profile!r}; known: {', '.join(sorted(catalog.profiles))}")
    users = _users(catalog, profile)
    specs = [s for s in registry if not profile or s.id in users]
    items = [describe(s, users.get(s.id, [])) for s in specs]
    if args.format == "json":
        print(json.dumps(items, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(items)} checks" + (f" used by profile {profile}" if profile else ""))
    for col in ("ID", "Version", "Kinds read", "Controls"):
        table.add_column(col, overflow="fold")
    for item in items:
        table.add_row(item["id"], str(item["version"]), "\n".join(item["kinds"]),
                      ", ".join(item["controls"]) or "(none)")
    Console(file=sys.stdout, width=160).print(table)
    return 0
