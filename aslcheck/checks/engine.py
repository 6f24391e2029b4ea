"""Evaluate a catalog profile against a snapshot; roll up fail-closed.

Roll-up contract (see README "How results are decided"):

- any FAIL not covered by an active waiver -> FAIL;
- otherwise any ERROR finding, any collection error touching an in-scope resource or kind,
  a check reading a kind that no collector listed completely, or a check with no in-scope
  resource (unless it may be empty and its kinds were listed completely) -> INCONCLUSIVE;
  missing data never becomes PASS;
- manual controls -> PASS only with a valid, unexpired attestation, else NOT_ATTESTED;
  partial controls need both a passing automated part and such an attestation;
- waivers -> WAIVED; an expired waiver waives nothing and stays visible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from aslcheck import __version__
from aslcheck.checks.aws.scope import weight_storage
from aslcheck.checks.aws.weight_scope import WeightScope, scope_kinds
from aslcheck.checks.interface import CheckContext, CheckSpec, Finding, Select, Status
from aslcheck.checks.registry import Registry
from aslcheck.controls.config import Config, tighten_parameters
from aslcheck.controls.model import Catalog, Control, ManualAttestation, Verification, Waiver
from aslcheck.inventories.snapshot import CollectionError, Resource, Snapshot, paused_gc, shallow_view
from aslcheck.reports.model import CheckOutcome, ControlResult, ControlStatus, Counts, RunResult, compact_finding

_MAX_NAMED = 3
SHALLOW = "read shallowly (listing and tags only): not evidence"
"""Why a finding on a shallow resource cannot be PASS (see :func:`guard_shallow`)."""
NOTHING_IN_SCOPE = ("nothing in scope: no config declares weights.aws or weights.hosts "
                    "(pass --config aslcheck.yaml)")
"""Note of every check when no evidence family is in scope."""


def family(kind: str) -> str:
    """Evidence family of a kind: its first segment (``aws``, ``host``, ``iac``)."""
    return kind.split(".", 1)[0]


@dataclass(frozen=True)
class Options:
    """How to evaluate."""

    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    """Reference time for waiver and attestation expiry."""
    families: frozenset[str] | None = None
    """Evidence families in scope; ``None`` takes them from the config's declared scope."""
    plan_mode: bool = False
    """Pre-deployment gate on planned infrastructure: a kind the plan does not declare at all
    makes that check NOT_APPLICABLE rather than INCONCLUSIVE, and the code is the whole universe
    (no kind needs to be "listed completely")."""


def config_families(config: Config) -> frozenset[str]:
    """Evidence families the config declares in scope."""
    out = set()
    if config.scope.aws:
        out.add("aws")
    if config.scope.hosts:
        out.add("host")
    return frozenset(out)


def listed_completely(snapshot: Snapshot) -> frozenset[str]:
    """Kinds whose absence is evidence: named in a run's provenance, with no kind-wide error.

    NOTE: provenance is per run, so a merge of shards names a kind one shard listed even if
    another shard's listing of it failed; the failed listing's error (``resource`` None) is
    what says the union is not complete.
    """
    failed = {e.kind for e in snapshot.errors if e.resource is None and e.kind is not None}
    return frozenset(snapshot.kinds_collected() - failed)


def select_subjects(
    spec: CheckSpec,
    snapshot: Snapshot,
    config: Config,
    holds: Callable[[Resource], bool | None] | None = None,
    storage: WeightScope | None = None,
) -> tuple[list[Resource], list[Finding]]:
    """The resources ``spec`` renders verdicts on, and ERROR findings where scope is undecided.

    With ``select: weights`` a resource is chosen when the weight-storage closure says it holds
    weights (:mod:`aslcheck.checks.aws.weight_scope`: tags, patterns, allowed storage, and
    copies and keys of weight storage); an undecidable one, and a weight copy named but not
    collected, each become an ERROR finding.
    """
    if spec.select is Select.ALL:
        return [r for kind in sorted(spec.subjects) for r in snapshot.of_kind(kind)], []
    scope = storage if storage is not None else weight_storage(snapshot, config)
    decide = holds or (lambda r: scope.holds(r, config))
    chosen: list[Resource] = []
    undecided: list[Finding] = []
    for kind in sorted(spec.subjects):
        for res in snapshot.of_kind(kind):
            held = decide(res)
            if held is None:
                why = "; ".join(scope.why(res)) or "its tags were not collected"
                undecided.append(Finding(
                    check=spec.id, status=Status.ERROR, resource=res.id, kind=res.kind,
                    source=res.source, reason=f"cannot tell whether it holds weights: {why}"))
            elif held:
                chosen.append(res)
    named: set[str] = set()
    for ref in scope.unresolved:
        ident = ref.qualified
        if ref.kind in spec.subjects and ident and ident not in named:
            named.add(ident)
            undecided.append(Finding(
                check=spec.id, status=Status.ERROR, resource=ident, kind=ref.kind, source="aws",
                reason=f"holds weights but is not in the snapshot ({ref.reason}; named by "
                       f"{ref.referrer})", evidence={"referrer": ref.referrer, "ref": ref.ref}))
    return chosen, undecided


def guard_shallow(spec: CheckSpec, chosen: Sequence[Resource], findings: list[Finding],
                  shallow: frozenset[tuple[str, str]]) -> list[Finding]:
    """``findings`` with no PASS resting on a shallow read.

    A PASS on a shallow resource becomes ERROR. A weights check's subject that was read
    shallowly although it holds weights is an ERROR too (the collector should have read it
    deeply), even when the check said nothing about it. Checks evaluate the
    :func:`~aslcheck.inventories.snapshot.shallow_view`, so what they read of a shallow
    resource for another one's verdict is only its listing and tags.
    """
    out = [replace(f, status=Status.ERROR, reason=f"{SHALLOW} (evaluated: {f.reason})")
           if f.status is Status.PASS and (f.kind, f.resource) in shallow else f for f in findings]
    if spec.select is Select.WEIGHTS:
        judged = {(f.kind, f.resource) for f in out if f.status is not Status.PASS}
        for res in chosen:
            if (res.kind, res.id) in shallow and (res.kind, res.id) not in judged:
                out.append(Finding(check=spec.id, status=Status.ERROR, resource=res.id,
                                   kind=res.kind, source=res.source,
                                   reason=f"holds weights but was {SHALLOW}; the collector "
                                          "should have read it deeply"))
    return out


class _CheckRunner:
    """Evaluates each check once per run and caches the outcome."""

    def __init__(self, snapshot: Snapshot, config: Config, options: Options,
                 families: frozenset[str]) -> None:
        self.snapshot = snapshot
        self.config = config
        self.options = options
        self.families = families
        self._cache: dict[str, CheckOutcome] = {}
        self._listed = listed_completely(snapshot)
        self._covered = {family(k) for k in snapshot.kinds_collected()}
        self._covered |= {family(r.kind) for r in snapshot.resources}
        self._covered |= {family(e.kind) for e in snapshot.errors if e.kind}
        self._by_id: dict[str, list[Resource]] = {}
        # NOTE: holds_weights is pure in (tags, id) for a fixed config; many checks select the
        # same kinds, so each resource's answer is computed once per run (keyed by object
        # identity: the snapshot, which the runner holds, keeps every resource alive).
        self._holds: dict[int, bool | None] = {}
        self._scope: WeightScope | None = None
        self._shallow = snapshot.shallow_keys()
        if snapshot.errors:  # only needed to place errors; skip the index when there are none
            for res in snapshot.resources:
                self._by_id.setdefault(res.id, []).append(res)

    def outcome(self, spec: CheckSpec) -> CheckOutcome:
        if spec.id not in self._cache:
            self._cache[spec.id] = self._evaluate(spec)
        return self._cache[spec.id]

    def _storage(self) -> WeightScope:
        if self._scope is None:
            self._scope = weight_storage(self.snapshot, self.config)
        return self._scope

    def holds(self, res: Resource) -> bool | None:
        """Whether ``res`` holds weights (the weight-storage closure for storage kinds)."""
        key = id(res)
        if key not in self._holds:
            self._holds[key] = self._storage().holds(res, self.config)
        return self._holds[key]

    def _select(self, spec: CheckSpec) -> tuple[list[Resource], list[Finding]]:
        return select_subjects(spec, self.snapshot, self.config, self.holds,
                               self._storage() if spec.select is Select.WEIGHTS else None)

    def _evaluate(self, spec: CheckSpec) -> CheckOutcome:
        fams = {family(k) for k in spec.kinds}
        if not self.families:
            # NOTE(clia, issue 10 class 10): with no family declared at all (no config, or one
            # declaring nothing) nothing was evaluated; that is missing evidence, never n/a.
            return CheckOutcome(spec.id, spec.version, (), (), status="error",
                                note=NOTHING_IN_SCOPE)
        if not fams & self.families:
            return CheckOutcome(spec.id, spec.version, (), (), status="not_applicable",
                                note=f"{', '.join(sorted(fams))} not in the declared scope")
        if not fams & self._covered:
            if self.options.plan_mode:
                return CheckOutcome(spec.id, spec.version, (), (), status="not_applicable",
                                    note="the plan declares no resource this check reads")
            return CheckOutcome(spec.id, spec.version, (), (), status="error",
                                note=f"no evidence: no collector covered {', '.join(sorted(fams))}")
        chosen, findings = self._select(spec)
        ctx = CheckContext(snapshot=self.snapshot, config=self.config, resources=tuple(chosen))
        try:
            for f in spec.evaluate(ctx):
                if f.check != spec.id:
                    raise ValueError(f"finding names check {f.check!r}")
                findings.append(compact_finding(f))
        except Exception as exc:  # noqa: BLE001 - a crashing check must fail closed, not abort the run
            findings.append(Finding(check=spec.id, status=Status.ERROR,
                                    reason=f"check failed to evaluate: {type(exc).__name__}: {exc}"))
        if self._shallow:
            findings = guard_shallow(spec, chosen, findings, self._shallow)
        ids = {f.resource for f in findings if f.resource}
        errors = tuple(e for e in self.snapshot.errors if self._touches(spec, e, ids))
        unlisted = self._unlisted(spec)
        if unlisted:
            return self._incomplete(spec, findings, errors, unlisted)
        note = None
        real = [f for f in findings if f.status is not Status.NOT_APPLICABLE]
        empty_ok = False
        if not real and not errors and findings:
            return CheckOutcome(spec.id, spec.version, tuple(findings), (), status="not_applicable",
                                note="does not apply to any in-scope resource")
        if not real and not errors:
            if spec.allow_empty and spec.kinds <= self._listed:
                empty_ok = True
                note = "no such resource exists (kinds listed completely)"
            elif self.options.plan_mode:
                return CheckOutcome(spec.id, spec.version, tuple(findings), (),
                                    status="not_applicable",
                                    note="no in-scope resource in the plan")
            else:
                note = "no in-scope resource: nothing to evaluate"
        statuses = {f.status for f in findings}
        if Status.FAIL in statuses:
            status = "fail"
        elif Status.ERROR in statuses or errors or (not real and not empty_ok):
            status = "error"
        else:
            status = "pass"
        return CheckOutcome(spec.id, spec.version, tuple(findings), errors, note=note, status=status)

    def _unlisted(self, spec: CheckSpec) -> list[str]:
        """Kinds the check reads (with those its weight scope reads), in a declared family,
        that no collector listed completely.

        NOTE: a kind is complete only when a collector run names it in its provenance (the AWS
        collector leaves out a kind whose listing failed anywhere). In plan mode the planned code
        is the whole universe the gate judges, so completeness does not apply there.
        """
        if self.options.plan_mode:
            return []
        reads = spec.kinds | (scope_kinds(spec.subjects) if spec.select is Select.WEIGHTS
                              else frozenset())
        return sorted(k for k in reads if k not in self._listed and family(k) in self.families)

    def _incomplete(self, spec: CheckSpec, findings: list[Finding],
                    errors: tuple[CollectionError, ...], unlisted: list[str]) -> CheckOutcome:
        """Outcome of a check reading kinds not listed completely: never PASS.

        A PASS finding may rest on the absence of resources that simply were not listed (no
        other principal, no other trail), so each becomes ERROR; FAIL findings stand, they
        rest on what was read. NOT_APPLICABLE findings stand too, but cannot make the check
        not applicable: an unlisted resource might be one it applies to.
        """
        why = (f"{', '.join(unlisted)} not listed completely (no collector listed it, or a "
               "listing of it failed)")
        out = [replace(f, status=Status.ERROR,
                       reason=f"cannot be confirmed: {why} (evaluated: {f.reason})")
               if f.status is Status.PASS else f for f in findings]
        status = "fail" if any(f.status is Status.FAIL for f in out) else "error"
        return CheckOutcome(spec.id, spec.version, tuple(out), errors, note=why, status=status)

    def _touches(self, spec: CheckSpec, err: CollectionError, finding_ids: set[str]) -> bool:
        if err.kind is not None and err.kind not in spec.kinds:
            return False
        if err.kind is None and err.source not in self._sources_for(spec):
            return False
        if err.resource is None:
            return True
        if err.resource in finding_ids:
            return True
        if spec.select is Select.ALL:
            return True
        # NOTE: only a resource we can prove is outside the weight scope is untouched.
        known = self._by_id.get(err.resource, [])
        if not known:
            return True
        return any(self.holds(r) is not False for r in known)

    def _sources_for(self, spec: CheckSpec) -> set[str]:
        fams = {family(k) for k in spec.kinds}
        srcs = {r.source for k in spec.kinds for r in self.snapshot.of_kind(k)}
        srcs |= {run.name for run in self.snapshot.runs if {family(k) for k in run.kinds} & fams}
        # An error without a kind from a collector that produced nothing still counts.
        srcs |= {e.source for e in self.snapshot.errors if e.kind is None}
        return srcs


def _matching(items: Iterable[Waiver], control: Control) -> list[Waiver]:
    return [w for w in items if w.control == control.id]


def _name(items: Sequence[str]) -> str:
    head = ", ".join(items[:_MAX_NAMED])
    return head + (f" and {len(items) - _MAX_NAMED} more" if len(items) > _MAX_NAMED else "")


def _roll_up(control: Control, outcomes: Sequence[CheckOutcome], waivers: Sequence[Waiver],
             now: datetime) -> tuple[ControlStatus, str, Counts, ControlStatus | None,
                                     list[Waiver], list[Waiver]]:
    active = [w for w in waivers if w.active(now)]
    expired = [w for w in waivers if not w.active(now)]
    whole = [w for w in active if w.resource is None]
    by_resource = {w.resource for w in active if w.resource is not None}
    used: list[Waiver] = list(whole)

    def waived(resource: str | None) -> bool:
        return bool(whole) or (resource is not None and resource in by_resource)

    failed: list[str] = []
    errored: list[str] = []
    waived_fail = waived_err = 0
    passed = evaluated = 0
    resources: set[str] = set()
    applicable = [o for o in outcomes if o.status != "not_applicable"]
    for o in applicable:
        for f in o.findings:
            if f.resource:
                resources.add(f.resource)
            if f.status is Status.PASS:
                passed += 1
                evaluated += 1
            elif f.status in (Status.FAIL, Status.ERROR):
                evaluated += f.status is Status.FAIL
                if waived(f.resource):
                    waived_fail += f.status is Status.FAIL
                    waived_err += f.status is Status.ERROR
                    used.extend(w for w in active if w.resource == f.resource and w not in used)
                    continue
                target = failed if f.status is Status.FAIL else errored
                target.append(f"{o.check} on {f.resource or 'the check'}: {f.reason}")
        for e in o.errors:
            if waived(e.resource):
                waived_err += 1
                used.extend(w for w in active if w.resource == e.resource and w not in used)
                continue
            where = e.resource or e.host or "/".join(x for x in (e.account, e.region) if x) or e.source
            errored.append(f"{o.check}: {e.operation} failed on {where} ({e.code})")
        if o.status == "error" and o.note and not o.errors and not any(
                f.status is Status.ERROR for f in o.findings):
            errored.append(f"{o.check}: {o.note}")
    n_waived = waived_fail + waived_err
    counts = Counts(in_scope=len(resources), evaluated=evaluated, passed=passed,
                    failed=len(failed), errored=len(errored), waived=n_waived)

    if failed:
        underlying, reason = ControlStatus.FAIL, f"{len(failed)} violation(s): {_name(failed)}"
    elif errored:
        underlying, reason = (ControlStatus.INCONCLUSIVE,
                              f"evidence missing: {_name(errored)}")
    elif control.checks and not applicable:
        return (ControlStatus.NOT_APPLICABLE, "; ".join(o.note or "" for o in outcomes),
                counts, None, [], expired)
    elif n_waived:
        # NOTE: before "no positive evidence": waived FAIL findings are failures the waiver
        # covers, and the recorded underlying status must say so even when nothing else passed.
        was = ControlStatus.FAIL if waived_fail else ControlStatus.INCONCLUSIVE
        return (ControlStatus.WAIVED,
                f"{n_waived} finding(s) waived ({', '.join(sorted({w.ticket for w in used}))}); "
                f"without the waiver(s): {was.value}", counts, was, used, expired)
    elif control.checks and passed == 0 and not any(o.status == "pass" for o in applicable):
        underlying, reason = ControlStatus.INCONCLUSIVE, "no check produced positive evidence"
    else:
        underlying = ControlStatus.PASS
        reason = (f"all {passed} in-scope finding(s) pass" if control.checks else "")
    if underlying is not ControlStatus.PASS and whole:
        return (ControlStatus.WAIVED, f"waived ({whole[0].ticket}); without the waiver: {reason}",
                counts, underlying, used, expired)
    return underlying, reason, counts, None, [], expired


def _attest(control: Control, reason: str, attestations: Sequence[ManualAttestation],
            now: datetime) -> tuple[ManualAttestation | None, ControlStatus, str]:
    """Manual part of a control: PASS only with a valid, unexpired human attestation."""
    mine = [a for a in attestations if a.control == control.id]
    valid = [a for a in mine if a.valid(now)]
    prefix = f"{reason}; " if reason else ""
    if valid:
        best = max(valid, key=lambda a: a.date)
        return best, ControlStatus.PASS, prefix + (
            f"attested by {best.attested_by} until {best.expires:%Y-%m-%d} ({best.evidence})")
    why = "attestation expired or not yet valid" if mine else "no human attestation recorded"
    return None, ControlStatus.NOT_ATTESTED, prefix + f"{why}; needs: {control.evidence}"


def evaluate(
    catalog: Catalog,
    profile: str,
    registry: Registry,
    snapshot: Snapshot,
    config: Config,
    *,
    waivers: Sequence[Waiver] = (),
    attestations: Sequence[ManualAttestation] = (),
    digests: Mapping[str, str] | None = None,
    options: Options | None = None,
) -> RunResult:
    """Evaluate ``profile`` of ``catalog``; a pure function of its arguments."""
    with paused_gc():  # see paused_gc: evaluation allocates millions of acyclic findings
        return _evaluate_all(catalog, profile, registry, snapshot, config, waivers, attestations,
                             digests, options)


def _evaluate_all(
    catalog: Catalog,
    profile: str,
    registry: Registry,
    snapshot: Snapshot,
    config: Config,
    waivers: Sequence[Waiver],
    attestations: Sequence[ManualAttestation],
    digests: Mapping[str, str] | None,
    options: Options | None,
) -> RunResult:
    opts = options or Options()
    families = opts.families if opts.families is not None else config_families(config)
    # Checks see shallow resources only as listed (the digest and errors are the snapshot's).
    view = shallow_view(snapshot)
    runners: dict[tuple[tuple[str, int], ...], _CheckRunner] = {}

    def runner_for(control: Control) -> _CheckRunner:
        # Overlays may tighten parameters for one control: its checks then run with those.
        key = tuple(sorted(control.parameters.items()))
        if key not in runners:
            cfg = config if not key else replace(
                config, parameters=tighten_parameters(config.parameters, control.parameters))
            runners[key] = _CheckRunner(view, cfg, opts, families)
        return runners[key]

    results: list[ControlResult] = []
    versions: dict[str, int] = {}
    for control in catalog.select(profile):
        specs = [registry.get(cid) for cid in control.checks]
        runner = runner_for(control)
        outcomes = tuple(runner.outcome(s) for s in specs)
        for s in specs:
            versions[s.id] = s.version
        status, reason, counts, underlying, used, expired = _roll_up(
            control, outcomes, _matching(waivers, control), opts.now)
        attestation = None
        if control.verification is not Verification.AUTOMATED and status in (
                ControlStatus.PASS, ControlStatus.NOT_APPLICABLE):
            attestation, status, reason = _attest(control, reason, attestations, opts.now)
            if status is ControlStatus.NOT_ATTESTED:
                whole = [w for w in _matching(waivers, control)
                         if w.resource is None and w.active(opts.now)]
                if whole:
                    underlying, status, used = status, ControlStatus.WAIVED, whole
                    reason = f"waived ({whole[0].ticket}); without the waiver: {reason}"
        results.append(ControlResult(
            control=control, status=status, reason=reason, checks=outcomes, counts=counts,
            waivers=tuple(used), expired_waivers=tuple(expired), attestation=attestation,
            underlying=underlying))
    d = digests or {}
    return RunResult(
        profile=profile,
        results=tuple(results),
        evaluated_at=opts.now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        tool_version=__version__,
        # NOTE: not d.get("snapshot", snapshot.digest()): that serialises the whole snapshot
        # even when the caller already hashed the bytes it read (4 s per 100k resources).
        snapshot_digest=d["snapshot"] if "snapshot" in d else snapshot.digest(),
        catalog_digest=d.get("catalog", ""),
        config_digest=d.get("config", ""),
        check_versions=versions,
        collection_errors=snapshot.errors,
        sources=tuple(sorted(snapshot.sources())),
    )
