"""Honest filters: which controls and checks a run evaluates, and the record that says so.

A :class:`Selection` (``--controls``, ``--domains``, ``--severity``, ``--checks``,
``--skip-checks``) narrows a profile. :func:`apply_selection` turns it into the catalog and
registry the engine evaluates, plus a :meth:`Selected.record` that goes into ``results.json``
and the signed predicate, so a filtered PASS can never pass for a full-profile one.

A check that a selected control needs but the selection leaves out is not dropped from the
control (that would let the control PASS on the remaining checks): it is replaced by a check
that yields one ERROR finding naming the filter, so the control is FAIL if another check found
a violation and INCONCLUSIVE otherwise. Checks that no selected control uses are not collected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any

from aslcheck.checks.interface import CheckContext, CheckId, CheckSpec, Evaluator, Finding, Status
from aslcheck.checks.registry import Registry
from aslcheck.controls.model import Catalog, Control, ControlId, Severity
from aslcheck.errors import BadInputError
from aslcheck.reports.model import RunResult

DOMAINS = ("WA", "TP", "EN", "ID", "LM", "NW", "EP", "SC", "PR", "PH", "IR", "AS")
"""Domain codes the catalog schema allows."""

SKIPPED_BY_FLAG = "skipped by --skip-checks"
NOT_SELECTED = "not selected by --checks"


@dataclass(frozen=True)
class Selection:
    """What to evaluate within a profile; every field empty means the whole profile."""

    controls: tuple[str, ...] = ()
    """Control IDs or globs (``ASL3-WA-*``), case-insensitive; a control matching any is kept."""
    domains: tuple[str, ...] = ()
    """Domain codes (``WA``, ``TP``...); a control in any of them is kept."""
    severity: Severity | None = None
    """Keep controls of this severity or above."""
    checks: tuple[str, ...] = ()
    """Check IDs or globs: keep the controls that use one of them, and run only these checks."""
    skip_checks: tuple[str, ...] = ()
    """Check IDs or globs not to run; the controls that need them cannot PASS."""

    @property
    def filtered(self) -> bool:
        """Whether anything narrows the profile."""
        return bool(self.controls or self.domains or self.severity or self.checks or self.skip_checks)

    def filters_json(self) -> dict[str, Any]:
        """The filters as given (normalised), for the record."""
        out: dict[str, Any] = {}
        for name in ("controls", "domains", "checks", "skip_checks"):
            values = getattr(self, name)
            if values:
                out[name] = list(values)
        if self.severity is not None:
            out["severity"] = self.severity.value
        return out


@dataclass(frozen=True)
class Selected:
    """A selection applied to one catalog profile and registry."""

    selection: Selection
    """The filters as given."""
    profile: str
    """The profile they narrow."""
    catalog: Catalog
    """Only the selected controls (profiles and parameters unchanged)."""
    registry: Registry
    """The registry with every left-out check replaced by one that reports why it did not run."""
    skipped: Mapping[CheckId, str] = field(default_factory=dict)
    """Checks that selected controls use but that do not run, with the reason."""
    excluded: tuple[ControlId, ...] = ()
    """Controls of the profile the selection left out."""

    def kinds(self) -> frozenset[str]:
        """Inventory kinds the checks that will run read: collectors fetch nothing else."""
        out: set[str] = set()
        for control in self.catalog.select(self.profile):
            for cid in control.checks:
                if cid not in self.skipped:
                    out |= self.registry.get(cid).kinds
        return frozenset(out)

    def attach(self, run: RunResult) -> RunResult:
        """``run`` with this selection recorded (unchanged for the whole profile)."""
        record = self.record()
        return run if record is None else replace(run, selection=record)

    def record(self) -> dict[str, Any] | None:
        """What ``results.json`` and the predicate say about the selection (None: whole profile)."""
        if not self.selection.filtered:
            return None
        return {
            "filtered": True,
            "filters": self.selection.filters_json(),
            "selected_controls": [c.id for c in self.catalog.select(self.profile)],
            "excluded_controls": list(self.excluded),
            "skipped_checks": dict(sorted(self.skipped.items())),
        }


def split_list(values: Iterable[str] | None) -> tuple[str, ...]:
    """``["a,b", "c"]`` -> ``("a", "b", "c")``: flags are repeatable and comma-separated."""
    out: list[str] = []
    for value in values or ():
        out += [v.strip() for v in value.split(",") if v.strip()]
    return tuple(dict.fromkeys(out))


def _matches(patterns: Sequence[str], value: str, fold: bool) -> bool:
    v = value.upper() if fold else value
    return any(fnmatchcase(v, p.upper() if fold else p) for p in patterns)


def _skipped_spec(spec: CheckSpec, reason: str) -> CheckSpec:
    def not_run(_ctx: CheckContext) -> Iterable[Finding]:
        return [Finding(check=spec.id, status=Status.ERROR,
                        reason=f"not evaluated: {reason}; the control cannot pass without it")]

    evaluate: Evaluator = not_run
    return replace(spec, evaluate=evaluate, origin=f"{spec.origin} ({reason})")


def apply_selection(selection: Selection, catalog: Catalog, profile: str, registry: Registry) -> Selected:
    """Narrow ``profile`` of ``catalog``; raise :class:`BadInputError` for a filter that selects nothing.

    Every pattern must match something (a typo must not silently evaluate less), every domain
    must exist, and the result must hold at least one control.
    """
    if not selection.filtered:
        return Selected(selection, profile, catalog, registry)
    in_profile = catalog.select(profile)
    all_checks = [s.id for s in registry]
    for pattern in selection.controls:
        if not any(_matches([pattern], cid, fold=True) for cid in catalog.controls):
            raise BadInputError(f"--controls: no control matches {pattern!r}; see 'aslcheck controls list'")
        if not any(_matches([pattern], c.id, fold=True) for c in in_profile):
            raise BadInputError(f"--controls: {pattern!r} matches no control of profile {profile!r}")
    for domain in selection.domains:
        if domain.upper() not in DOMAINS:
            raise BadInputError(f"--domains: unknown domain {domain!r}; known: {', '.join(DOMAINS)}")
    for flag, patterns in (("--checks", selection.checks), ("--skip-checks", selection.skip_checks)):
        for pattern in patterns:
            if not any(_matches([pattern], cid, fold=False) for cid in all_checks):
                raise BadInputError(f"{flag}: no check matches {pattern!r}; see 'aslcheck checks list'")
    wanted = {cid for cid in all_checks if _matches(selection.checks, cid, fold=False)}
    skip = {cid for cid in all_checks if _matches(selection.skip_checks, cid, fold=False)}

    def keep(control: Control) -> bool:
        if selection.controls and not _matches(selection.controls, control.id, fold=True):
            return False
        if selection.domains and control.domain.upper() not in {d.upper() for d in selection.domains}:
            return False
        if selection.severity is not None and control.severity.rank < selection.severity.rank:
            return False
        return not selection.checks or any(c in wanted for c in control.checks)

    kept = [c for c in in_profile if keep(c)]
    if not kept:
        raise BadInputError(f"the selection ({_describe(selection)}) keeps no control of profile {profile!r}")
    skipped: dict[CheckId, str] = {}
    for control in kept:
        for cid in control.checks:
            if cid in skip:
                skipped[CheckId(cid)] = SKIPPED_BY_FLAG
            elif selection.checks and cid not in wanted:
                skipped[CheckId(cid)] = NOT_SELECTED
    if selection.skip_checks and not skipped:
        raise BadInputError(f"--skip-checks {', '.join(selection.skip_checks)}: no selected control uses "
                            "these checks")
    narrowed = Registry()
    for spec in registry:
        narrowed.add(_skipped_spec(spec, skipped[spec.id]) if spec.id in skipped else spec)
    kept_ids = {c.id for c in kept}
    narrowed_catalog = Catalog(controls={c.id: c for c in kept}, profiles=catalog.profiles,
                               files=catalog.files, parameters=catalog.parameters)
    excluded = tuple(c.id for c in in_profile if c.id not in kept_ids)
    return Selected(selection, profile, narrowed_catalog, narrowed, skipped, excluded)


def _describe(selection: Selection) -> str:
    return ", ".join(f"{k}={v}" for k, v in selection.filters_json().items()) or "no filter"


__all__ = ["DOMAINS", "Selected", "Selection", "apply_selection", "split_list"]
