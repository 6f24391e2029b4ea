"""Shared CLI plumbing: loading inputs, the exit policy, the summary table, report writing."""

from __future__ import annotations

import argparse
import gc
import getpass
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TextIO

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.declarative import load_rule_file
from aslcheck.checks.engine import Options, evaluate
from aslcheck.checks.registry import Registry
from aslcheck.checks.selection import DOMAINS, Selected, Selection, apply_selection, split_list
from aslcheck.cli.exitcodes import ExitCode
from aslcheck.controls.config import Config
from aslcheck.controls.loader import load_catalog, load_config
from aslcheck.controls.model import Catalog, ManualAttestation, Severity, Waiver
from aslcheck.controls.signed_waivers import load_waivers
from aslcheck.controls.yamlio import load_yaml
from aslcheck.errors import BadInputError
from aslcheck.inventories.snapshot import Snapshot, sha256_hex
from aslcheck.reports import history
from aslcheck.reports.atomic import check_output_dir
from aslcheck.reports.attestation import Written, write_reports
from aslcheck.reports.freshness import parse_duration
from aslcheck.reports.interface import Renderer
from aslcheck.reports.model import ControlStatus, RunResult
from aslcheck.reports.render import RENDERERS
from aslcheck.reports.render.html import HISTORY_POINTS, HtmlRenderer
from aslcheck.reports.signing import PassphraseCallback, Signer, signer_from_uri

DEFAULT_FORMATS = ("json", "markdown", "junit")
CONFIG_FILE = "aslcheck.yaml"
"""The config found in the current directory when ``--config`` is not given."""


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
    selected: Selected | None = None
    """The ``--controls/--domains/--severity/--checks/--skip-checks`` selection applied to the
    profile (None only for callers that bypass :func:`load_inputs`)."""

    @property
    def selection(self) -> Selected:
        """The applied selection (the whole profile when none was given)."""
        return self.selected or apply_selection(Selection(), self.catalog, self.profile, self.registry)


def add_input_args(p: argparse.ArgumentParser, profile: bool = True) -> None:
    """Catalog, rules, config, waiver and profile options shared by evaluating commands."""
    p.add_argument("--catalog", action="append", default=[], metavar="FILE",
                   help="extra catalog file or overlay (repeatable)")
    p.add_argument("--no-default-catalog", action="store_true",
                   help="use only the --catalog files, not the built-in ASL catalog")
    p.add_argument("--rules", action="append", default=[], metavar="FILE",
                   help="extra declarative check file (repeatable)")
    p.add_argument("--config", metavar="FILE",
                   help=f"aslcheck.yaml (scope and parameters; default ./{CONFIG_FILE} when it exists). "
                        "Without a config nothing is in scope and every automated control is INCONCLUSIVE")
    p.add_argument("--waivers", action="append", default=[], metavar="FILE",
                   help="waiver/attestation file (repeatable; adds to the config's)")
    if profile:
        p.add_argument("--profile", default="asl3", help="control profile (default: asl3)")
        add_selection_args(p)


def add_selection_args(p: argparse.ArgumentParser) -> None:
    """Filters that narrow the profile; a filtered run says so in its results and attestation."""
    g = p.add_argument_group(
        "selection", "Narrow the profile (comma-separated and repeatable). A filtered run records the "
                     "selection in results.json and the attestation; a control whose checks were left out "
                     "cannot PASS (INCONCLUSIVE, or FAIL if a check that ran found a violation).")
    g.add_argument("--controls", action="append", metavar="IDS", help="control IDs or globs, e.g. ASL3-WA-*")
    g.add_argument("--domains", action="append", metavar="CODES", help=f"domains: {','.join(DOMAINS)}")
    g.add_argument("--severity", choices=[s.value for s in Severity], metavar="LEVEL",
                   help="keep controls of this severity or above: critical, high, medium, low")
    g.add_argument("--checks", action="append", metavar="IDS",
                   help="run only these checks (IDs or globs) and the controls that use them")
    g.add_argument("--skip-checks", action="append", metavar="IDS", help="do not run these checks (IDs or globs)")


def selection_from(args: argparse.Namespace) -> Selection:
    """The :class:`Selection` the filter options ask for (every option is optional)."""
    severity = getattr(args, "severity", None)
    return Selection(controls=split_list(getattr(args, "controls", None)),
                     domains=tuple(d.upper() for d in split_list(getattr(args, "domains", None))),
                     severity=Severity(severity) if severity else None,
                     checks=split_list(getattr(args, "checks", None)),
                     skip_checks=split_list(getattr(args, "skip_checks", None)))


def add_output_args(p: argparse.ArgumentParser) -> None:
    """Report directory, formats, signing key and exit policy options."""
    p.add_argument("--out", default="reports", metavar="DIR", help="report directory (default: ./reports)")
    p.add_argument("--format", action="append", choices=sorted(RENDERERS), metavar="FMT",
                   help=f"report format, repeatable (default: {', '.join(DEFAULT_FORMATS)}; "
                        f"available: {', '.join(sorted(RENDERERS))})")
    p.add_argument("--sign-key", action="append", default=[], metavar="KEY",
                   help="signing key, repeatable (one DSSE signature each): an Ed25519 private key file "
                        "(PATH or file:PATH) or an AWS KMS key (awskms:ARN)")
    p.add_argument("--valid-for", type=duration, default=timedelta(days=7), metavar="DURATION",
                   help="validity window of the attestation after evaluation, e.g. 26h, 7d (default 7d)")
    p.add_argument("--history", metavar="DIR",
                   help="also store the signed attestation in this history directory (hash-chained index)")
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
    config_path = config_file(args)
    config, config_digest = load_config(config_path, catalog)
    files = [f for f in (config.waivers_file, config.attestations_file) if f] + list(args.waivers)
    waivers, attestations = load_waivers(files, catalog, config)
    selected = apply_selection(selection_from(args), catalog, profile, registry)
    return Inputs(registry, catalog, catalog_digest, config, config_digest,
                  tuple(waivers), tuple(attestations), profile, selected)


def evaluate_inputs(inputs: Inputs, snapshot: Snapshot, digests: dict[str, str],
                    options: Options | None = None) -> RunResult:
    """Evaluate the selected controls (and record the selection in the result)."""
    selected = inputs.selection
    run = evaluate(selected.catalog, inputs.profile, selected.registry, snapshot, inputs.config,
                   waivers=inputs.waivers, attestations=inputs.attestations, digests=digests,
                   options=options)
    return selected.attach(run)


def config_file(args: argparse.Namespace) -> str | None:
    """``--config``, else ``./aslcheck.yaml`` when it exists (said on stderr), else ``None``."""
    if args.config:
        return str(args.config)
    if os.path.isfile(CONFIG_FILE):
        if not getattr(args, "quiet", False):
            print(f"aslcheck: using ./{CONFIG_FILE} (no --config given)", file=sys.stderr)
        return CONFIG_FILE
    return None


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


def duration(text: str) -> timedelta:
    """argparse type for ``26h``, ``7d``..."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def passphrase_callback(env: str | None) -> PassphraseCallback:
    """Supplies an encrypted key's passphrase from ``$env``, or a prompt on a terminal."""

    def passphrase() -> bytes | None:
        if env:
            value = os.environ.get(env)
            if value is None:
                raise BadInputError(f"environment variable {env} is not set")
            return value.encode()
        if sys.stdin.isatty():
            return getpass.getpass("signing key passphrase: ").encode()
        raise BadInputError("the signing key is encrypted; pass --passphrase-env VAR")

    return passphrase


def check_output(args: argparse.Namespace) -> None:
    """Refuse an unusable ``--out`` (a file, /dev/null, read-only...) before anything is collected."""
    check_output_dir(args.out)


def signers_from(args: argparse.Namespace) -> list[Signer]:
    """The signers named by ``--sign-key`` (each resolved now, before anything is collected)."""
    if getattr(args, "history", None) and not args.sign_key:
        raise BadInputError("--history stores signed attestations: pass --sign-key")

    passphrase = passphrase_callback(args.passphrase_env)
    signers = [signer_from_uri(uri, passphrase) for uri in args.sign_key]
    ids = [s.keyid for s in signers]
    if len(set(ids)) != len(ids):
        raise BadInputError("the same key is given twice in --sign-key (a second signature adds nothing)")
    return signers


def _renderers(formats: Sequence[str], series: dict[str, list[tuple[str, str]]] | None) -> list[Renderer]:
    out: list[Renderer] = []
    for f in dict.fromkeys(formats):
        out.append(HtmlRenderer(history=series) if f == HtmlRenderer.name and series is not None
                   else RENDERERS[f]())
    return out


def write(run: RunResult, args: argparse.Namespace, signers: Sequence[Signer],
          snapshot_bytes: bytes | None, extra: Mapping[str, bytes] | None = None) -> Written:
    """Render and swap in the whole report set (and append to the history when asked)."""
    formats = args.format or list(DEFAULT_FORMATS)
    valid_for = getattr(args, "valid_for", timedelta(days=7))
    directory = getattr(args, "history", None)
    if not directory:
        return write_reports(run, args.out, _renderers(formats, None), signers, snapshot_bytes,
                             valid_for=valid_for, extra=extra)
    with history.appender(directory) as app:
        series = None
        if HtmlRenderer.name in formats:
            # NOTE: read as stored (not verified) and only for the chart; `history verify` checks it.
            runs, _ = history.load_runs(directory, last=HISTORY_POINTS - 1)
            series = history.control_series(runs)
        written = write_reports(run, args.out, _renderers(formats, series), signers,
                                snapshot_bytes, valid_for=valid_for, history=app.link, extra=extra)
        assert written.envelope is not None  # signers_from refused --history without a key
        app.append(written.envelope)
    return written


STYLE = {
    ControlStatus.PASS: "green",
    ControlStatus.FAIL: "bold red",
    ControlStatus.INCONCLUSIVE: "bold yellow",
    ControlStatus.NOT_ATTESTED: "yellow",
    ControlStatus.WAIVED: "magenta",
    ControlStatus.NOT_APPLICABLE: "dim",
}


def evaluate_and_write(inputs: Inputs, args: argparse.Namespace, signers: Sequence[Signer], snapshot: Snapshot,
                       raw: bytes, written_what: str, extra: Mapping[str, bytes] | None = None) -> int:
    """What ``check``, ``scan`` and ``merge`` end with: evaluate ``snapshot`` (whose canonical bytes
    are ``raw``), write the report set, print the summary, and return the exit code."""
    result = evaluate_inputs(inputs, snapshot, {"snapshot": sha256_hex(raw), "catalog": inputs.catalog_digest,
                                                "config": inputs.config_digest})
    # NOTE: a short-lived process: what evaluation built lives until exit and holds no
    # cycles, so it leaves the cyclic GC's view; otherwise each full collection while the
    # reports are written walks every finding again (BENCHMARKS.md section 1, point 3).
    gc.freeze()
    written = write(result, args, signers, raw, extra=extra)
    if not args.quiet:
        print_summary(result, sys.stdout)
        print(f"{written_what} written to {written.directory}/")
    return int(exit_code(result, args.manual))


def print_summary(run: RunResult, out: TextIO, verbose: bool = False, width: int | None = None) -> None:
    """A table of the controls that need attention, then the passing ones, then how to fix failures.

    The table fits ``width`` (default: the terminal's, else ``$COLUMNS``, else 80) and wraps
    reasons at word boundaries instead of cutting them. NOT_ATTESTED and NOT_APPLICABLE controls
    are listed by ID only, unless ``verbose``.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, width=width, soft_wrap=False, highlight=False)
    table = Table(title=f"aslcheck — profile {run.profile}", show_lines=True,
                  caption="Resources: distinct resources in scope. Findings: pass/fail/error "
                          "(error = evidence missing).")
    table.add_column("Control", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Resources", justify="right", no_wrap=True)
    table.add_column("Findings\np/f/e", justify="right", no_wrap=True)
    table.add_column("Title and reason", overflow="fold", ratio=1)
    order = [ControlStatus.FAIL, ControlStatus.INCONCLUSIVE, ControlStatus.WAIVED, ControlStatus.PASS,
             ControlStatus.NOT_ATTESTED, ControlStatus.NOT_APPLICABLE]
    brief = set() if verbose else {ControlStatus.NOT_ATTESTED, ControlStatus.NOT_APPLICABLE}
    ranked = sorted(run.results, key=lambda r: order.index(r.status))
    for r in ranked:
        if r.status in brief:
            continue
        c = r.counts
        about = Text(r.control.title + (" (optional)" if r.control.optional else ""), style="bold")
        if r.reason:
            about.append("\n" + r.reason, style="")
        table.add_row(r.control.id, f"[{STYLE[r.status]}]{r.status.value.upper()}[/]", str(c.in_scope),
                      f"{c.passed}/{c.failed}/{c.errored}", about)
    console.print(table)
    if run.selection is not None:
        console.print(f"[bold]FILTERED RUN[/] (not a full-profile result): {selection_text(run.selection)}")
    for status in sorted(brief, key=order.index):
        ids = [r.control.id for r in run.results if r.status is status]
        if ids:
            console.print(f"[{STYLE[status]}]{status.value.upper()}[/] ({len(ids)}): {', '.join(ids)}")
    fixes = [r for r in ranked if r.status is ControlStatus.FAIL and r.control.remediation]
    if fixes:
        console.print("\n[bold]How to fix the failures[/]")
        for r in fixes:
            line = Text(f"{r.control.id}: ", style="bold red")
            line.append(" ".join((r.control.remediation or "").split()))
            console.print(line)
    tally = run.tally()
    console.print("  ".join(f"[{STYLE[s]}]{s.value}: {tally[s]}[/]" for s in ControlStatus))


def selection_text(record: Mapping[str, Any]) -> str:
    """One line describing a recorded selection (``results.json``/predicate ``selection``)."""
    filters = ", ".join(f"--{k.replace('_', '-')} {v if isinstance(v, str) else ','.join(v)}"
                        for k, v in record.get("filters", {}).items())
    parts = [filters, f"{len(record.get('selected_controls', []))} control(s) evaluated",
             f"{len(record.get('excluded_controls', []))} left out"]
    skipped = record.get("skipped_checks", {})
    if skipped:
        parts.append(f"{len(skipped)} check(s) not run: {', '.join(sorted(skipped))}")
    return "; ".join(parts)
