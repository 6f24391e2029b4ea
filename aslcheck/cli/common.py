"""Shared CLI plumbing: loading inputs, the exit policy, the summary table, report writing."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.declarative import load_rule_file
from aslcheck.checks.registry import Registry
from aslcheck.cli.exitcodes import ExitCode
from aslcheck.controls.config import Config
from aslcheck.controls.loader import load_catalog, load_config, load_waivers_and_attestations
from aslcheck.controls.model import Catalog, ManualAttestation, Waiver
from aslcheck.controls.yamlio import load_yaml
from aslcheck.errors import BadInputError
from aslcheck.reports.attestation import Written, write_reports
from aslcheck.reports.model import ControlStatus, RunResult
from aslcheck.reports.render import RENDERERS
from aslcheck.reports.signing import Signer, load_signer

DEFAULT_FORMATS = ("json", "markdown", "junit")


@dataclass(frozen=True)
class Inputs:
    """Everything validated before anything is collected or evaluated."""

    registry: Registry
    catalog: Catalog
    catalog_digest: str
    config: Config
    config_digest: str
    waivers: tuple[Waiver, ...]
    attestations: tuple[ManualAttestation, ...]
    profile: str


def add_input_args(p: argparse.ArgumentParser, profile: bool = True) -> None:
    """Catalog, rules, config, waiver and profile options shared by evaluating commands."""
    p.add_argument("--catalog", action="append", default=[], metavar="FILE",
                   help="extra catalog file or overlay (repeatable)")
    p.add_argument("--no-default-catalog", action="store_true",
                   help="use only the --catalog files, not the built-in ASL catalog")
    p.add_argument("--rules", action="append", default=[], metavar="FILE",
                   help="extra declarative check file (repeatable)")
    p.add_argument("--config", metavar="FILE", help="aslcheck.yaml (scope and parameters)")
    p.add_argument("--waivers", action="append", default=[], metavar="FILE",
                   help="waiver/attestation file (repeatable; adds to the config's)")
    if profile:
        p.add_argument("--profile", default="asl3", help="control profile (default: asl3)")


def add_output_args(p: argparse.ArgumentParser) -> None:
    """Report directory, formats, signing key and exit policy options."""
    p.add_argument("--out", default="reports", metavar="DIR", help="report directory (default: ./reports)")
    p.add_argument("--format", action="append", choices=sorted(RENDERERS), metavar="FMT",
                   help=f"report format, repeatable (default: {', '.join(DEFAULT_FORMATS)}; "
                        f"available: {', '.join(sorted(RENDERERS))})")
    p.add_argument("--sign-key", metavar="KEY", help="Ed25519 private key file that signs the attestation")
    p.add_argument("--passphrase-env", metavar="VAR",
                   help="read the signing-key passphrase from this environment variable")
    p.add_argument("--manual", choices=("gate", "report"), default="gate",
                   help="'report': NOT_ATTESTED manual controls are reported but do not affect the "
                        "exit status (for nightly scans); default 'gate'")
    p.add_argument("--quiet", action="store_true", help="no table; only errors")


def load_inputs(args: argparse.Namespace) -> Inputs:
    """Validate catalog, rules, config, waivers and attestations; raise on the first problem."""
    registry = default_registry()
    for path in args.rules:
        for spec in load_rule_file(load_yaml(path)):
            registry.add(spec)
    catalog, catalog_digest = load_catalog(args.catalog, checks=registry,
                                           builtin=not args.no_default_catalog)
    profile = getattr(args, "profile", "asl3")
    if profile not in catalog.profiles:
        raise BadInputError(f"unknown profile {profile!r}; known: {', '.join(sorted(catalog.profiles))}")
    config, config_digest = load_config(args.config, catalog)
    files = [f for f in (config.waivers_file, config.attestations_file) if f] + list(args.waivers)
    waivers, attestations = load_waivers_and_attestations(files, catalog)
    return Inputs(registry, catalog, catalog_digest, config, config_digest,
                  tuple(waivers), tuple(attestations), profile)


def exit_code(run: RunResult, manual: str = "gate") -> ExitCode:
    """Exit policy: FAIL beats INCOMPLETE beats OK; optional controls never gate."""
    statuses = {r.status for r in run.results if r.gating}
    if ControlStatus.FAIL in statuses:
        return ExitCode.FAIL
    if ControlStatus.INCONCLUSIVE in statuses:
        return ExitCode.INCOMPLETE
    if ControlStatus.NOT_ATTESTED in statuses and manual == "gate":
        return ExitCode.INCOMPLETE
    return ExitCode.OK


def signers_from(args: argparse.Namespace) -> list[Signer]:
    """The signer named by ``--sign-key``, if any."""
    if not args.sign_key:
        return []

    def passphrase() -> bytes | None:
        if args.passphrase_env:
            value = os.environ.get(args.passphrase_env)
            if value is None:
                raise BadInputError(f"environment variable {args.passphrase_env} is not set")
            return value.encode()
        if sys.stdin.isatty():
            return getpass.getpass("signing key passphrase: ").encode()
        raise BadInputError("the signing key is encrypted; pass --passphrase-env VAR")

    return [load_signer(args.sign_key, passphrase)]


def write(run: RunResult, args: argparse.Namespace, signers: Sequence[Signer],
          snapshot_bytes: bytes | None) -> Written:
    """Render and write every requested report."""
    formats = args.format or list(DEFAULT_FORMATS)
    renderers = [RENDERERS[f]() for f in dict.fromkeys(formats)]
    return write_reports(run, args.out, renderers, signers, snapshot_bytes)


STYLE = {
    ControlStatus.PASS: "green",
    ControlStatus.FAIL: "bold red",
    ControlStatus.INCONCLUSIVE: "bold yellow",
    ControlStatus.NOT_ATTESTED: "yellow",
    ControlStatus.WAIVED: "magenta",
    ControlStatus.NOT_APPLICABLE: "dim",
}


def print_summary(run: RunResult, out: TextIO, verbose: bool = False) -> None:
    """A rich table of controls (non-passing first unless ``verbose``) and the tally."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, width=140, soft_wrap=False)
    table = Table(title=f"aslcheck — profile {run.profile}", show_lines=False)
    for col in ("Control", "Status", "P/F/E", "Reason"):
        table.add_column(col, overflow="fold")
    order = [ControlStatus.FAIL, ControlStatus.INCONCLUSIVE, ControlStatus.NOT_ATTESTED,
             ControlStatus.WAIVED, ControlStatus.PASS, ControlStatus.NOT_APPLICABLE]
    for r in sorted(run.results, key=lambda r: order.index(r.status)):
        c = r.counts
        reason = r.reason if len(r.reason) < 160 else r.reason[:157] + "..."
        table.add_row(f"{r.control.id} {r.control.title}" + (" (optional)" if r.control.optional else ""),
                      f"[{STYLE[r.status]}]{r.status.value.upper()}[/]",
                      f"{c.passed}/{c.failed}/{c.errored}", reason)
    console.print(table)
    tally = run.tally()
    console.print("  ".join(f"[{STYLE[s]}]{s.value}: {tally[s]}[/]" for s in ControlStatus))
