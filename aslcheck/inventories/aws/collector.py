"""The AWS collector: plans reads across accounts x regions x services and runs them concurrently.

Work is a queue of small :class:`~aslcheck.inventories.aws.context.Task` objects on one bounded
thread pool. A task never waits for another: a listing task returns follow-up tasks (one per
bucket, key, user ...) that the scheduler submits, so the pool cannot deadlock and concurrency
stays at ``max_workers`` however many accounts and regions are scanned.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from types import ModuleType

import aslcheck
from aslcheck.controls.config import Scope
from aslcheck.inventories.aws import (
    cloudtrail,
    cloudwatch,
    ec2,
    guardduty,
    iam,
    kms,
    lambda_functions,
    logs,
    org,
    s3,
    sso,
    vpc,
)
from aslcheck.inventories.aws import regions as outside
from aslcheck.inventories.aws.context import (
    LISTED,
    SOURCE,
    Deferred,
    Outcome,
    Reader,
    Target,
    Task,
    error_code,
    errors_for,
)
from aslcheck.inventories.aws.readonly import ReadOnlyViolation
from aslcheck.inventories.aws.session import (
    GLOBAL_REGION,
    ClientPool,
    ClientSettings,
    MemberSessionFactory,
    SessionFactory,
    build_member_session_factory,
)
from aslcheck.inventories.aws.sharding import GLOBAL, OUTSIDE, PROBE, AwsShard, module_name, plan_units
from aslcheck.inventories.interface import CollectionRequest, InventoryError, utc_now
from aslcheck.inventories.shard import ShardPlan, ShardSpec
from aslcheck.inventories.snapshot import CollectionError, CollectorRun, Resource, Snapshot

MODULES: tuple[ModuleType, ...] = (s3, iam, org, sso, kms, cloudtrail, logs, cloudwatch, vpc,
                                   ec2, guardduty, lambda_functions)
"""Every service module, each with ``KINDS``, ``OPERATIONS``, ``SCOPE`` and ``plan()``."""

ORGANIZATION_MODULES: frozenset[ModuleType] = frozenset({org, sso})
"""Read only from the scanning (management or delegated admin) account in an org scan."""

SESSION_OPERATIONS = frozenset({"sts:GetCallerIdentity", "ec2:DescribeRegions"})
"""Operations the collector itself sends (plus ListAccounts and AssumeRole in an org scan)."""

ALL_KINDS: frozenset[str] = frozenset(k for m in MODULES for k in m.KINDS)
"""Every kind the AWS collector can produce."""

MAX_PHASES = 8
"""Bound on deferred phases (S3 uses three: tags, the deep set, the shallow rest)."""


def operation_feeds() -> dict[str, dict[str, frozenset[str]]]:
    """What every operation the collector may send supplies: ``{op: {kind: attributes}}``.

    The modules' ``FEEDS`` tables (see :data:`~aslcheck.inventories.aws.context.Feeds`), plus
    the collector's own reads, whose failure leaves whole kinds unlisted. A module without a
    table contributes nothing here; a test requires one entry per declared operation.
    """
    out: dict[str, dict[str, frozenset[str]]] = {}
    for module in MODULES:
        for op, kinds in getattr(module, "FEEDS", {}).items():
            for kind, attrs in kinds.items():
                entry = out.setdefault(op, {})
                entry[kind] = entry.get(kind, frozenset()) | attrs
    listed = frozenset({LISTED})
    regional = {k for m in MODULES if m.SCOPE == "regional" for k in m.KINDS}
    for op in ("sts:GetCallerIdentity", org.LIST_ACCOUNTS, "sts:AssumeRole"):
        out[op] = dict.fromkeys(sorted(ALL_KINDS), listed)
    out["ec2:DescribeRegions"] = dict.fromkeys(sorted(regional), listed)
    # NOTE: merged, not set: S3 reads bucket tags with the same operation.
    out.setdefault(outside.OPERATION, {}).update(dict.fromkeys(sorted(outside.RESOURCE_TYPES), listed))
    return out


def declared_operations() -> frozenset[str]:
    """Every operation any part of the collector may send (the allowlist must equal this)."""
    ops = set(SESSION_OPERATIONS) | {org.LIST_ACCOUNTS, "sts:AssumeRole"} | outside.OPERATIONS
    for module in MODULES:
        for kind_ops in module.OPERATIONS.values():
            ops.update(kind_ops)
    return frozenset(ops)


@dataclass
class _Run:
    """Mutable state of one collection (owned by the scheduling thread only)."""

    kinds: frozenset[str]
    resources: list[Resource] = field(default_factory=list)
    errors: list[CollectionError] = field(default_factory=list)
    incomplete: set[str] = field(default_factory=set)
    targets: set[str] = field(default_factory=set)
    deferred: list[Deferred] = field(default_factory=list)
    shallow: dict[str, set[str]] = field(default_factory=dict)


class AwsCollector:
    """Collects the AWS attribute model (``docs/aws.md``) through a read-only boto3 session."""

    name = "aws"

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        regions: Sequence[str] | None = None,
        organization: bool = False,
        assume_role: str | None = None,
        member_session_factory: MemberSessionFactory | None = None,
        accounts: Collection[str] | None = None,
        max_workers: int = 8,
        settings: ClientSettings | None = None,
        endpoint_url: str | None = None,
        skip_operations: Collection[str] = (),
        credential_report_wait_seconds: float = 60.0,
        global_region: str = GLOBAL_REGION,
        shard: ShardSpec | None = None,
    ) -> None:
        """Configure a collection; nothing is contacted until :meth:`collect`.

        ``regions`` defaults to the account's enabled regions (``ec2:DescribeRegions``).
        ``organization`` scans every active account of the organisation, entering members
        through ``member_session_factory`` or, by default, ``sts:AssumeRole`` into
        ``assume_role``. ``skip_operations`` names operations not to call: the attributes they
        feed stay absent (so checks reading them yield ERROR), and no error is recorded.
        ``shard`` collects only the units of the scan (:mod:`aslcheck.inventories.aws.sharding`)
        that shard owns; it needs explicit ``regions`` so every shard plans the same units.
        """
        if shard is not None and not regions:
            raise InventoryError("--shard needs explicit regions so every shard plans the same units "
                                 "(--region or aws.regions in the config)")
        if organization and not (assume_role or member_session_factory):
            raise InventoryError("an organisation-wide scan needs --assume-role NAME")
        if max_workers < 1:
            raise InventoryError("max_workers must be at least 1")
        base = settings or ClientSettings()
        if endpoint_url is not None:
            base = replace(base, endpoint_url=endpoint_url)
        if base.max_pool_connections < max_workers:
            base = replace(base, max_pool_connections=max_workers)
        self._session_factory = session_factory
        self._regions = tuple(regions) if regions else None
        self._organization = organization
        self._assume_role = assume_role or ""
        self._member_factory = member_session_factory
        if organization and member_session_factory is None:
            self._member_factory = build_member_session_factory(session_factory, base)
        self._accounts = frozenset(accounts) if accounts else None
        self._max_workers = max_workers
        self._settings = base
        self._skip = frozenset(skip_operations)
        self._options = {"credential_report_wait_seconds": credential_report_wait_seconds}
        self._global_region = global_region
        self._shard = shard
        self._plan: AwsShard | None = None
        self._requested: frozenset[str] = frozenset()

    @property
    def settings(self) -> ClientSettings:
        """Wire settings every client uses."""
        return self._settings

    def kinds(self) -> frozenset[str]:
        """Every resource kind this collector can produce."""
        return ALL_KINDS

    def shard_plan(self) -> ShardPlan:
        """The units the last sharded :meth:`collect` planned (an empty universe if it could not)."""
        if self._shard is None:
            raise InventoryError("not a sharded collector")
        # NOTE: with no universe (the caller's identity or the account list could not be read)
        # the requested kinds are still recorded, so the merge names the failure, not a mismatch.
        plan = self._plan or AwsShard(self._shard, self._requested, {})
        return plan.plan()

    def client_pool(self) -> ClientPool:
        """A guarded client pool over a fresh base session (what :meth:`collect` uses)."""
        return ClientPool(self._session_factory(), self._settings)

    # -- planning ---------------------------------------------------------------------------

    def _target(self, pool: ClientPool, account: str, partition: str, region: str,
                request: CollectionRequest | None = None) -> Target:
        # NOTE: a shard reads buckets deeply: which bucket is a trail's log bucket (read deeply
        # in scope-driven collection) is known only to the shard that lists the trails.
        options = self._options if request is None else {
            **self._options, "deep": request.deep or self._shard is not None,
            "scope": request.config.scope}
        return Target(pool=pool, account=account, partition=partition, region=region,
                      skip=self._skip, options=options)

    def _account(self, pool: ClientPool | None, account: str, partition: str,
                 kinds: frozenset[str], primary: bool, scope: Scope,
                 request: CollectionRequest | None = None) -> Outcome:
        """Enter one account, find its regions, and plan every module's tasks there.

        With chosen regions, the account's other enabled regions are probed for weights
        (:mod:`aslcheck.inventories.aws.regions`): they are never silently out of scope.
        """
        home = self._global_region
        if pool is None:
            try:
                session = self._members()(account, self._assume_role)
            except ReadOnlyViolation:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure to enter an account is data
                return Outcome(
                    errors=errors_for("sts:AssumeRole", sorted(kinds), None, error_code(exc),
                                      f"cannot enter account {account}: {exc}",
                                      account=account, region="global"),
                    incomplete=set(kinds), targets={f"{account}/global"})
            pool = ClientPool(session, self._settings)
        modules = self._modules(kinds, primary)
        regional = frozenset(k for m in modules if m.SCOPE == "regional" for k in m.KINDS) & kinds
        out = Outcome()
        regions = list(self._regions or ())
        if regional and self._owns(account, OUTSIDE, PROBE):
            found = self._enabled_regions(pool, account, home, sorted(regional), out)
            if found is None and not regions:
                out.incomplete |= regional
            elif found is not None and not regions:
                regions = found
            elif found is not None:
                tasks, errors = outside.plan(
                    partial(self._target, pool, account, partition), account, regional, scope,
                    [r for r in found if r not in regions])
                out.followups.extend(tasks)
                out.errors.extend(errors)
        for module in modules:
            wanted = module.KINDS & kinds
            where = [home] if module.SCOPE == "global" else regions
            for region in where:
                if self._owns(account, GLOBAL if module.SCOPE == "global" else region,
                              module_name(module)):
                    out.followups.extend(module.plan(
                        self._target(pool, account, partition, region, request), wanted))
        if self._shard is not None:
            regions = [r for r in regions if any(self._owns(account, r, module_name(m)) for m in modules)]
        out.targets = {f"{account}/{region}" for region in regions or ["global"]}
        return out

    def _modules(self, kinds: frozenset[str], primary: bool) -> list[ModuleType]:
        """Modules planned in an account (organisation modules only in the scanning account)."""
        return [m for m in MODULES if m.KINDS & kinds
                and (primary or not self._organization or m not in ORGANIZATION_MODULES)]

    def _owns(self, account: str, region: str, module: str) -> bool:
        """Whether this collection does that unit (always, unless sharded)."""
        return self._plan is None or self._plan.owns(account, region, module)

    def _enabled_regions(self, pool: ClientPool, account: str, home: str, kinds: list[str],
                         out: Outcome) -> list[str] | None:
        """The account's enabled regions (``ec2:DescribeRegions``), or ``None`` on failure."""
        rd = Reader(pool, account, home, error_region=home, declared=SESSION_OPERATIONS,
                    skip=self._skip)
        got = None
        listed = rd.call("ec2:DescribeRegions", kinds, None)
        if isinstance(listed, dict):
            answer = listed
            got = rd.parse("ec2:DescribeRegions", kinds, None, lambda: sorted(
                str(r["RegionName"]) for r in answer["Regions"]
                if r.get("OptInStatus") != "not-opted-in"))
        out.errors.extend(rd.errors)
        return got.value if got is not None else None

    def _members(self) -> MemberSessionFactory:
        if self._member_factory is None:  # pragma: no cover - set in __init__ for org scans
            raise InventoryError("no way to enter member accounts")
        return self._member_factory

    # -- running ------------------------------------------------------------------------------

    def collect(self, request: CollectionRequest) -> Snapshot:
        """Collect the requested kinds; failed reads become collection errors, never guesses."""
        started = utc_now()
        kinds = frozenset(request.kinds) & ALL_KINDS
        run = _Run(kinds=kinds)
        self._plan = None
        self._requested = kinds
        if kinds:
            self._collect(request, run)
        resources = cloudtrail.with_bucket_accounts(_dedupe(run))
        listed = kinds - run.incomplete
        if self._shard is not None:
            # NOTE: a shard claims only kinds its own units listed; the merge requires every
            # shard owning units of a kind to claim it (aslcheck.inventories.shard_merge).
            listed &= self._plan.claimable() if self._plan is not None else frozenset()
        present = {(r.kind, r.id) for r in resources} if run.shallow else set()
        provenance = CollectorRun(
            name=self.name, version=aslcheck.__version__, targets=tuple(sorted(run.targets)),
            kinds=tuple(sorted(listed)), started=started, ended=utc_now(),
            shallow={k: tuple(i for i in ids if (k, i) in present)
                     for k, ids in run.shallow.items()})
        return Snapshot(resources=tuple(resources), errors=tuple(run.errors), runs=(provenance,))

    def _collect(self, request: CollectionRequest, run: _Run) -> None:
        try:
            session = self._session_factory()
        except Exception as exc:  # a bad profile or configuration: nothing can run
            raise InventoryError(f"cannot create the AWS session: {exc}") from exc
        pool = ClientPool(session, self._settings)
        home = session.region_name or self._global_region
        rd = Reader(pool, "", home, error_region="global",
                    declared=SESSION_OPERATIONS | {org.LIST_ACCOUNTS}, skip=())
        got = None
        ident = rd.call("sts:GetCallerIdentity", sorted(run.kinds))
        if isinstance(ident, dict):
            answer = ident
            got = rd.parse("sts:GetCallerIdentity", sorted(run.kinds), None, lambda: (
                str(answer["Account"]), str(answer["Arn"]).split(":")[1]))
        if got is None:
            run.errors.extend(replace(e, account=None) for e in rd.errors)
            run.incomplete |= run.kinds
            return
        base_account, partition = got.value
        rd.account = base_account
        accounts = [base_account]
        if self._organization:
            listed = org.member_accounts(rd, run.kinds)
            if listed is None:
                run.errors.extend(rd.errors)
                run.incomplete |= run.kinds
                return
            accounts = listed
        if self._accounts is not None:
            accounts = [a for a in accounts if a in self._accounts]
        if self._shard is not None:
            self._plan = plan_units(self._shard, accounts,
                                    lambda a: self._modules(run.kinds, a == base_account),
                                    self._regions or (), run.kinds)
            mine = self._plan.accounts()
            accounts = [a for a in accounts if a in mine]
        first = [Task(f"{a}/global account",
                      partial(self._account, pool if a == base_account else None, a, partition,
                              run.kinds, a == base_account, request.config.scope, request),
                      run.kinds)
                 for a in accounts]
        self._schedule(first, request, run)

    def _schedule(self, first: list[Task], request: CollectionRequest, run: _Run) -> None:
        """Run ``first`` and every follow-up; then each deferred phase, with what came before."""
        counts = [0, 0]  # done, total
        pool = cf.ThreadPoolExecutor(max_workers=self._max_workers,
                                     thread_name_prefix="aslcheck-aws")
        try:
            batch = first
            for _ in range(MAX_PHASES):
                self._drain(pool, batch, request, run, counts)
                later, run.deferred = run.deferred, []
                if not later:
                    break
                collected = tuple(run.resources)
                batch = [Task(d.label, partial(d.run, collected), d.kinds) for d in later]
            for step in run.deferred:  # pragma: no cover - a module deferring without end
                run.errors.extend(errors_for(f"aslcheck:{step.label}", sorted(step.kinds), None,
                                             "CollectorFailure", "too many deferred phases",
                                             account=None, region=None))
                run.incomplete |= step.kinds
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _drain(pool: cf.ThreadPoolExecutor, batch: list[Task], request: CollectionRequest,
               run: _Run, counts: list[int]) -> None:
        pending: dict[cf.Future[Outcome], Task] = {}
        for task in batch:
            pending[pool.submit(task.run)] = task
        counts[1] += len(batch)
        request.progress("aws", counts[0], counts[1])
        while pending:
            finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                task = pending.pop(future)
                outcome = _outcome(future, task)
                run.resources.extend(outcome.resources)
                run.errors.extend(outcome.errors)
                run.incomplete |= outcome.incomplete
                run.targets |= outcome.targets
                run.deferred.extend(outcome.deferred)
                for kind, ids in outcome.shallow.items():
                    run.shallow.setdefault(kind, set()).update(ids)
                for follow in outcome.followups:
                    pending[pool.submit(follow.run)] = follow
                counts[1] += len(outcome.followups)
                counts[0] += 1
                request.progress("aws", counts[0], counts[1])


def _outcome(future: cf.Future[Outcome], task: Task) -> Outcome:
    """The task's outcome; an unexpected crash becomes errors on every kind it touched."""
    try:
        return future.result()
    except ReadOnlyViolation:
        raise
    except Exception as exc:  # noqa: BLE001 - a crashed task must leave errors, not silence
        where, _, _ = task.label.partition(" ")
        account, _, region = where.partition("/")
        errors = [CollectionError(source=SOURCE, operation=f"aslcheck:{task.label}",
                                  code="CollectorFailure", message=f"{type(exc).__name__}: {exc}",
                                  kind=kind, account=account or None, region=region or None)
                  for kind in sorted(task.kinds)]
        return Outcome(errors=errors, incomplete=set(task.kinds))


def _dedupe(run: _Run) -> list[Resource]:
    """One copy per resource key; two different copies are a recorded conflict, not a guess."""
    by_key: dict[tuple[str, str, str], Resource] = {}
    conflicts: set[tuple[str, str, str]] = set()
    for res in sorted(run.resources, key=lambda r: (r.key(), r.account or "")):
        prior = by_key.get(res.key())
        if prior is None:
            by_key[res.key()] = res
        elif prior != res:
            conflicts.add(res.key())
    for key in sorted(conflicts):
        del by_key[key]
        run.errors.append(CollectionError(
            source=SOURCE, operation="aslcheck:merge", code="ConflictingCopies",
            message="the resource was read twice with different content; both copies dropped",
            resource=key[2], kind=key[1]))
    return list(by_key.values())

