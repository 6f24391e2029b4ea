"""``aslcheck gate``: pre-deployment gate on Terraform, and/or on a fresh signed attestation.

``--iac DIR|PLAN.json`` runs checkov (isolated) and the shared checks on the planned
infrastructure; exit 0 only when every in-scope control passes. ``--attestation FILE`` accepts
an existing (nightly) attestation only when it is signed by a trusted key, within its validity
window and younger than ``--max-age``; its recorded results then gate the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

from aslcheck.cli.common import (
    add_input_args,
    add_output_args,
    check_output,
    duration,
    load_inputs,
    selection_text,
    signers_from,
    write,
)
from aslcheck.cli.exitcodes import ExitCode
from aslcheck.errors import BadInputError, VerificationError
from aslcheck.reports.attestation import DRIFT_FILE
from aslcheck.reports.freshness import check_fresh
from aslcheck.reports.signing import load_public_key

GATE_FORMATS = ("junit", "sarif", "json")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the subcommand."""
    p = sub.add_parser("gate", help="pre-deployment gate (Terraform and/or a fresh attestation)",
                       description=__doc__)
    p.add_argument("--iac", metavar="DIR|PLAN.json", help="Terraform directory or `terraform show -json` plan")
    p.add_argument("--snapshot", metavar="LIVE.json", help="live snapshot to merge (and report drift against)")
    p.add_argument("--var-file", action="append", default=[], metavar="FILE", dest="var_files",
                   help="Terraform variable file for --iac DIR, as terraform's -var-file (repeatable, "
                        "later wins; applied after terraform.tfvars[.json] and *.auto.tfvars[.json])")
    p.add_argument("--attestation", metavar="FILE", help="gate on this signed attestation (needs --key)")
    p.add_argument("--key", action="append", default=[], metavar="PUB", help="trusted public key (repeatable)")
    p.add_argument("--threshold", type=int, default=1, help="distinct trusted keys required (default 1)")
    p.add_argument("--max-age", type=duration, default=timedelta(hours=26), metavar="DURATION",
                   help="oldest acceptable attestation (default 26h)")
    p.add_argument("--allow-filtered", action="store_true",
                   help="accept an attestation of a filtered run (--controls, --skip-checks...) on its "
                        "recorded results; by default a filtered attestation gates as INCOMPLETE")
    add_input_args(p)
    add_output_args(p)
    p.set_defaults(run=run)


def _exit_from_results(results: dict[str, Any], manual: str) -> ExitCode:
    statuses = {c["status"] for c in results["controls"] if not c.get("optional")}
    if "fail" in statuses:
        return ExitCode.FAIL
    if "inconclusive" in statuses or ("not_attested" in statuses and manual == "gate"):
        return ExitCode.INCOMPLETE
    return ExitCode.OK


def _gate_attestation(args: argparse.Namespace) -> ExitCode:
    if not args.key:
        raise BadInputError("--attestation needs at least one trusted --key")
    try:
        with open(args.attestation, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise BadInputError(f"cannot read attestation: {exc.strerror}") from exc
    keys = [load_public_key(k) for k in args.key]
    verified = check_fresh(data, keys, args.max_age, datetime.now(timezone.utc), args.threshold)
    pred = verified.statement["predicate"]
    code = _exit_from_results(pred["results"], args.manual)
    selection = pred["results"].get("selection")
    if selection is not None:
        # NOTE: a filtered run's PASS covers only its selection; it never stands for the profile.
        print(f"attestation {args.attestation} is of a FILTERED run: {selection_text(selection)}",
              file=sys.stderr)
        if not args.allow_filtered and code is ExitCode.OK:
            code = ExitCode.INCOMPLETE
            print("  it cannot pass a gate on the whole profile (use --allow-filtered to accept it)",
                  file=sys.stderr)
    if not args.quiet:
        print(f"attestation {args.attestation}: signed, valid and fresh (evaluated {pred['evaluatedAt']}); "
              f"its results gate as {code.name}")
    return code


def _gate_iac(args: argparse.Namespace) -> ExitCode:
    from aslcheck.inventories.terraform.runner import PrestartedRunner

    # NOTE: checkov starts first, so loading the catalog and importing the gate overlap it too.
    runner = PrestartedRunner.for_path(args.iac, tuple(args.var_files))
    try:
        return _gate_iac_with(args, runner)
    finally:
        if runner is not None:
            runner.close()


def _gate_iac_with(args: argparse.Namespace, runner: Any) -> ExitCode:
    from aslcheck.gate import GateVerdict, run_gate

    inputs = load_inputs(args)
    check_output(args)
    signers = signers_from(args)
    selected = inputs.selection
    # NOTE: only the names of TF_VAR_* variables are passed (never their values): code that
    # Terraform would feed from the environment is then inconclusive rather than judged on defaults.
    result = run_gate(args.iac, args.snapshot, inputs.profile, inputs.config, catalog=selected.catalog,
                      registry=selected.registry, waivers=inputs.waivers, attestations=inputs.attestations,
                      digests={"catalog": inputs.catalog_digest, "config": inputs.config_digest},
                      var_files=args.var_files, runner=runner,
                      environment_variables=[k for k in os.environ if k.startswith("TF_VAR_")])
    if args.format is None:
        args.format = list(GATE_FORMATS)
    extra = {DRIFT_FILE: json.dumps([d.to_json() for d in result.drift], indent=2,
                                    sort_keys=True).encode() + b"\n"} if result.drift else None
    written = write(selected.attach(result.run), args, signers, result.snapshot_bytes, extra)
    if not args.quiet:
        _print_gate(result)
        for reason in result.reasons:
            print(f"  - {reason}")
        for control, check, loc in result.located_failures():
            print(f"  {loc.get('file')}:{loc.get('start_line')}: {control} ({check})")
        for d in result.drift:
            print(f"  drift: {d.to_json()}")
        if selected.record() is not None:
            print(f"FILTERED RUN (not the whole profile): {selection_text(selected.record() or {})}")
        print(f"gate verdict: {result.verdict.value.upper()}; reports in {written.directory}/")
    return {GateVerdict.PASS: ExitCode.OK, GateVerdict.FAIL: ExitCode.FAIL,
            GateVerdict.INCONCLUSIVE: ExitCode.INCOMPLETE}[result.verdict]


def _print_gate(result: Any) -> None:
    """The gate's own per-control verdicts (the automated part; manual parts are out of scope)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="aslcheck gate — controls evaluated from the code")
    for col in ("Control", "Gate", "Why"):
        table.add_column(col, overflow="fold")
    judged = [c for c in result.controls if c.verdict is not None]
    order = {"fail": 0, "inconclusive": 1, "pass": 2}
    for c in sorted(judged, key=lambda c: (order[c.verdict.value], c.result.control.id)):
        table.add_row(f"{c.result.control.id} {c.result.control.title}", c.verdict.value.upper(), c.why)
    console = Console(file=sys.stdout)  # the terminal's width (else $COLUMNS, else 80); reasons wrap
    console.print(table)
    console.print(f"{len(result.controls) - len(judged)} control(s) have no evidence in the code "
                  "(manual, or only checkable live); they do not affect the gate.")


def run(args: argparse.Namespace) -> int:
    """Gate on code, on an attestation, or both (the worst outcome wins)."""
    if not args.iac and not args.attestation:
        raise BadInputError("nothing to gate: pass --iac DIR|PLAN.json and/or --attestation FILE")
    codes = []
    if args.attestation:
        try:
            codes.append(_gate_attestation(args))
        except VerificationError as exc:
            print("gate: attestation refused:", file=sys.stderr)
            for p in exc.problems:
                print(f"  - {p}", file=sys.stderr)
            return int(ExitCode.VERIFY_FAILED)
    if args.iac:
        codes.append(_gate_iac(args))
    order = [ExitCode.OK, ExitCode.INCOMPLETE, ExitCode.FAIL]
    return int(max(codes, key=order.index))
