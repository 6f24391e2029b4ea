"""The pre-deployment gate, library side: code (+ optional live snapshot) -> verdict.

:func:`run_gate` collects the Terraform code with checkov, merges a live snapshot if one is
given, evaluates the profile in plan mode (a kind the plan does not declare is not applicable
rather than inconclusive) over the ``aws`` and ``iac`` evidence families, and derives one
:class:`GateVerdict`. It refuses vacuous success: code in which no resource holds weights per
the config scope is INCONCLUSIVE, never PASS. The CLI (``aslcheck gate``) renders and exits.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum

from aslcheck.checks.engine import Options, evaluate
from aslcheck.checks.iac.drift import Drift, DriftKind, compute_drift
from aslcheck.checks.registry import Registry
from aslcheck.controls.config import Config
from aslcheck.controls.model import Catalog, ManualAttestation, Waiver
from aslcheck.errors import assert_never
from aslcheck.inventories.interface import CollectionRequest, ProgressCallback
from aslcheck.inventories.snapshot import CollectionError, Snapshot, load, merge, sha256_hex
from aslcheck.inventories.terraform.collector import TerraformCollector
from aslcheck.inventories.terraform.findings import FINDING_KIND
from aslcheck.inventories.terraform.normalise import SOURCE
from aslcheck.inventories.terraform.runner import CheckovRunner
from aslcheck.reports.model import ControlResult, ControlStatus, RunResult

FAMILIES = frozenset({"aws", "iac"})
"""Evidence families the gate evaluates: the shared AWS checks and the checkov checks."""


class GateVerdict(Enum):
    """The gate's answer.

    - PASS: at least one control was evaluated from the code, and every gating control that
      was evaluated passed (or is waived).
    - FAIL: some gating control failed.
    - INCONCLUSIVE: no failure, but evidence is missing, nothing in the code holds weights,
      or no control could be evaluated. Never a pass.
    """

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class GateControl:
    """A control as the gate judges it."""

    result: ControlResult
    """The engine's result."""
    verdict: GateVerdict | None
    """None when the code gives no evidence for it (no applicable check)."""
    why: str
    """One sentence."""


@dataclass(frozen=True)
class GateResult:
    """What :func:`run_gate` returns."""

    verdict: GateVerdict
    """The overall answer."""
    reasons: tuple[str, ...]
    """Why, one line each (failing/inconclusive controls, vacuity)."""
    run: RunResult
    """The engine's result (render JUnit/SARIF/JSON and sign from it)."""
    controls: tuple[GateControl, ...]
    """Per-control gate verdicts."""
    snapshot: Snapshot
    """The evaluated snapshot (code, plus live if given)."""
    drift: tuple[Drift, ...] = ()
    """Declared-versus-live drift (empty without a live snapshot)."""
    weight_resources: tuple[str, ...] = field(default_factory=tuple)
    """Declared resources that hold weights (what keeps the gate from being vacuous)."""
    snapshot_bytes: bytes = b""
    """``snapshot`` canonically serialised, once: what its digest in ``run`` is of, and what
    the CLI writes (a 1,000-bucket snapshot takes seconds to serialise)."""

    def located_failures(self) -> list[tuple[str, str, Mapping[str, object]]]:
        """(control, check, location) of every FAIL finding with a file location."""
        out = []
        for r in self.run.results:
            for o in r.checks:
                for f in o.findings:
                    if f.status.value == "fail" and f.location is not None:
                        out.append((str(r.control.id), o.check, f.location))
        return out


def _judge(result: ControlResult) -> tuple[GateVerdict | None, str]:
    """The gate verdict of one control (None: not evaluated from the code)."""
    applicable = [o for o in result.checks if o.status != "not_applicable"]
    status = result.status
    if result.control.optional or not applicable:
        return None, "no evidence from the code" if not applicable else "optional control"
    if status is ControlStatus.FAIL:
        return GateVerdict.FAIL, result.reason
    if status is ControlStatus.INCONCLUSIVE:
        return GateVerdict.INCONCLUSIVE, result.reason
    if status in (ControlStatus.PASS, ControlStatus.WAIVED):
        return GateVerdict.PASS, result.reason
    if status is ControlStatus.NOT_ATTESTED:
        # NOTE: a human attestation is about operations, not about planned infrastructure;
        # the gate judges the automated part only.
        states = {o.status for o in applicable}
        if "fail" in states:
            return GateVerdict.FAIL, result.reason
        if "error" in states or "pass" not in states:
            return GateVerdict.INCONCLUSIVE, result.reason
        return GateVerdict.PASS, "automated part passes (manual part is outside the gate)"
    if status is ControlStatus.NOT_APPLICABLE:
        return None, result.reason
    assert_never(status)


def _root_roster_errors(snapshot: Snapshot, config: Config) -> list[CollectionError]:
    """Errors when the roster admits an account root: then code alone cannot decide readers.

    The effective-access checks treat the account root as standing for the account; code
    declares only the principals it manages, so a roster admitting the root would let an
    undeclared principal of the account through unseen.
    """
    accounts = {r.account for r in snapshot.resources if r.source == SOURCE and r.account}
    out = []
    for acct in sorted(accounts):
        root = f"arn:aws:iam::{acct}:root"
        if any(fnmatch.fnmatchcase(root, p) for p in config.access.roster):
            for kind in ("aws.iam.role", "aws.iam.user"):
                out.append(CollectionError(
                    source=SOURCE, operation="gate:iam-scope", code="PartialInventory",
                    message=f"access.roster admits {root}; the code does not list every "
                            "principal of the account, so pass a live snapshot (--snapshot)",
                    kind=kind, account=acct))
    return out


def _weights(snapshot: Snapshot, config: Config) -> tuple[str, ...]:
    return tuple(sorted(
        r.id for r in snapshot.resources
        if r.source == SOURCE and r.kind != FINDING_KIND
        and config.scope.holds_weights(r.tags, r.id) is True))


def run_gate(
    iac_path: str,
    snapshot_path: str | None = None,
    profile: str = "asl3",
    config: Config | None = None,
    *,
    catalog: Catalog | None = None,
    registry: Registry | None = None,
    runner: CheckovRunner | None = None,
    waivers: Sequence[Waiver] = (),
    attestations: Sequence[ManualAttestation] = (),
    digests: Mapping[str, str] | None = None,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
    var_files: Sequence[str] = (),
    environment_variables: Iterable[str] = (),
) -> GateResult:
    """Gate Terraform code (a directory or ``terraform show -json`` plan) against ``profile``.

    ``var_files`` are ``-var-file`` arguments for a directory scan (highest precedence, in
    order); ``environment_variables`` are the names (never the values) of the caller's
    environment variables, so that code Terraform would feed from ``TF_VAR_*`` is not judged
    on defaults (see :mod:`aslcheck.inventories.terraform.inputs`).

    Raises :class:`~aslcheck.errors.BadInputError` for malformed HCL or variable files, an
    unreadable plan or snapshot (the CLI exits with the bad-input code: fail closed), and
    :class:`~aslcheck.inventories.terraform.runner.CheckovError` when checkov cannot run.
    """
    cfg = config or Config()
    digest_map = dict(digests or {})
    if registry is None:
        from aslcheck.checks.builtin import default_registry

        registry = default_registry()
    if catalog is None:
        from aslcheck.controls.loader import load_catalog

        catalog, digest_map["catalog"] = load_catalog(checks=registry)
    request = CollectionRequest(kinds=frozenset(), config=cfg) if progress is None else \
        CollectionRequest(kinds=frozenset(), config=cfg, progress=progress)
    code = TerraformCollector(iac_path, runner, var_files, environment_variables).collect(request)
    extra_errors = _root_roster_errors(code, cfg)
    parts = [code]
    if snapshot_path is not None:
        live, _ = load(snapshot_path)
        parts.append(live)
        # A live inventory lists the account's principals; the partial-inventory caveat is moot.
        if {"aws.iam.role", "aws.iam.user"} <= live.kinds_collected():
            extra_errors = []
    if extra_errors:
        parts.append(Snapshot(resources=(), errors=tuple(extra_errors)))
    snapshot = merge(parts)
    snapshot_bytes = snapshot.canonical_bytes()
    digest_map.setdefault("snapshot", sha256_hex(snapshot_bytes))
    when = now or datetime.now(timezone.utc)
    run = evaluate(catalog, profile, registry, snapshot, cfg, waivers=waivers,
                   attestations=attestations, digests=digest_map,
                   options=Options(now=when, families=FAMILIES, plan_mode=True))
    controls = tuple(GateControl(r, *_judge(r)) for r in run.results)
    weights = _weights(code, cfg)
    reasons: list[str] = []
    failed = [c for c in controls if c.verdict is GateVerdict.FAIL]
    unsure = [c for c in controls if c.verdict is GateVerdict.INCONCLUSIVE]
    passed = [c for c in controls if c.verdict is GateVerdict.PASS]
    reasons += [f"{c.result.control.id} fails: {c.why}" for c in failed]
    reasons += [f"{c.result.control.id} inconclusive: {c.why}" for c in unsure]
    if not weights:
        reasons.append("no resource in the code holds weights per the config scope "
                       f"(tags {dict(cfg.scope.weight_tags)}, patterns "
                       f"{list(cfg.scope.weight_arn_patterns)}): nothing to gate")
    if failed:
        verdict = GateVerdict.FAIL
    elif unsure or not weights or not passed:
        verdict = GateVerdict.INCONCLUSIVE
        if not passed and weights:
            reasons.append("no control could be evaluated from the code")
    else:
        verdict = GateVerdict.PASS
    drift = compute_drift(snapshot, cfg) if snapshot_path is not None else ()
    return GateResult(verdict=verdict, reasons=tuple(reasons), run=run, controls=controls,
                      snapshot=snapshot, drift=drift, weight_resources=weights,
                      snapshot_bytes=snapshot_bytes)


__all__ = ["FAMILIES", "Drift", "DriftKind", "GateControl", "GateResult", "GateVerdict",
           "run_gate"]
