"""``aslcheck controls list|show``: browse the catalog."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table

from aslcheck.checks.builtin import default_registry
from aslcheck.controls.loader import load_catalog
from aslcheck.errors import BadInputError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the subcommand."""
    p = sub.add_parser("controls", help="list or show catalog controls")
    p.add_argument("--catalog", action="append", default=[], metavar="FILE")
    csub = p.add_subparsers(dest="action", required=True)
    ls = csub.add_parser("list", help="list controls")
    ls.add_argument("--profile", help="only this profile's controls")
    show = csub.add_parser("show", help="show one control")
    show.add_argument("id", metavar="ID")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """List or show."""
    catalog, _ = load_catalog(args.catalog, checks=default_registry())
    console = Console(file=sys.stdout, width=140)
    if args.action == "list":
        if args.profile and args.profile not in catalog.profiles:
            raise BadInputError(f"unknown profile {args.profile!r}")
        controls = catalog.select(args.profile) if args.profile else tuple(catalog)
        table = Table(title=f"{len(controls)} controls")
        for col in ("ID", "Level", "Verification", "Checks", "Title"):
            table.add_column(col)
        for c in controls:
            table.add_row(c.id, c.level, c.verification.value, str(len(c.checks)), c.title)
        console.print(table)
        return 0
    ctl = catalog.controls.get(args.id)
    if ctl is None:
        raise BadInputError(f"no control {args.id!r}; try 'aslcheck controls list'")
    console.print(f"[bold]{ctl.id}[/] {ctl.title}  ({ctl.level}, {ctl.domain}, {ctl.verification.value})")
    console.print(f"\n{ctl.statement}\n")
    console.print("Sources: " + "; ".join(f"RSP {s.version} {s.section}" for s in ctl.rsp))
    if ctl.rand:
        console.print(f"RAND: {ctl.rand}")
    console.print(f"NIST SP 800-53r5: {', '.join(ctl.nist)}")
    console.print(f"Checks: {', '.join(ctl.checks) or '(none: manual)'}")
    if ctl.evidence:
        console.print(f"Evidence a person must attest: {ctl.evidence}")
    if ctl.remediation:
        console.print(f"Remediation: {ctl.remediation}")
    return 0
