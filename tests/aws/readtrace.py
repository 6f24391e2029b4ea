"""Which attributes of which resources each check reads: a recording snapshot for evaluation.

:func:`traced_run` evaluates a catalog profile on a copy of a snapshot whose resources record
every attribute (and tag) access made while a check's body runs, attributed to that check. The
deny-each-operation acceptance test uses it to learn, from the checks themselves, which findings
and controls rest on the attributes an operation supplies; nothing is listed by hand.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from aslcheck.checks.aws import scope as scope_module
from aslcheck.checks.engine import Options, evaluate
from aslcheck.checks.interface import CheckContext, CheckSpec, Finding
from aslcheck.checks.registry import Registry
from aslcheck.controls.config import Config
from aslcheck.controls.model import Catalog
from aslcheck.inventories.aws.context import TAGS
from aslcheck.inventories.snapshot import Resource, Snapshot
from aslcheck.reports.model import RunResult

Key = tuple[str, str, str]
Read = tuple[str, Key, str]
"""``(check id, resource key, attribute or TAGS)``."""


class _Now:
    check: str | None = None


class Traced(dict[str, Any]):
    """A resource's attributes (or tags) that log each key a check reads."""

    def __init__(self, data: Any, key: Key, log: set[Read], whole: str | None = None) -> None:
        super().__init__(data)
        self._key = key
        self._log = log
        self._whole = whole

    def _hit(self, name: object) -> None:
        if _Now.check is not None:
            self._log.add((_Now.check, self._key, self._whole or str(name)))

    def __getitem__(self, name: str) -> Any:
        self._hit(name)
        return super().__getitem__(name)

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        self._hit(name)
        return super().get(name, default)

    def __contains__(self, name: object) -> bool:
        self._hit(name)
        return super().__contains__(name)

    def __iter__(self) -> Iterator[str]:
        for name in super().__iter__():
            self._hit(name)
            yield name

    def _all(self) -> None:
        for name in super().__iter__():
            self._hit(name)

    def items(self) -> Any:
        self._all()
        return super().items()

    def values(self) -> Any:
        self._all()
        return super().values()

    def keys(self) -> Any:
        self._all()
        return super().keys()


def _traced(snapshot: Snapshot, log: set[Read]) -> Snapshot:
    out = []
    for res in snapshot.resources:
        key = res.key()
        tags = None if res.tags is None else Traced(res.tags, key, log, TAGS)
        out.append(Resource(res.kind, res.id, res.source, Traced(res.attributes, key, log), tags,
                            res.account, res.region, res.host))
    return Snapshot(tuple(out), snapshot.errors, snapshot.runs)


def _wrap(spec: CheckSpec) -> CheckSpec:
    body = spec.evaluate

    def evaluate_traced(ctx: CheckContext) -> Iterator[Finding]:
        _Now.check = spec.id
        try:
            yield from body(ctx)
        finally:
            _Now.check = None

    return dataclasses.replace(spec, evaluate=evaluate_traced)


def _untraced(memoised: Callable[..., object]) -> Callable[..., object]:
    """The scope selectors, with reads not attributed to the check that asks.

    NOTE: the weight-scope closure reads links (a key's siblings, a bucket's replication and
    encryption key) to decide *which* resources hold weights; it does not decide a verdict on
    a resource already in scope. What it cannot decide becomes ERROR by construction (tested
    in tests/checks/aws_resources/test_weight_scope.py), so those reads are not evidence here.
    """
    def quiet(*args: Any) -> object:
        saved, _Now.check = _Now.check, None
        try:
            return memoised(*args)
        finally:
            _Now.check = saved

    return quiet


def traced_run(catalog: Catalog, profile: str, registry: Registry, snapshot: Snapshot,
               config: Config, options: Options) -> tuple[RunResult, set[Read]]:
    """Evaluate like :func:`evaluate`, returning every ``(check, resource, attribute)`` read."""
    log: set[Read] = set()
    wrapped = Registry()
    for spec in registry:
        wrapped.add(_wrap(spec))
    memoised = scope_module._memoised
    scope_module._MEMO.clear()
    scope_module._memoised = _untraced(memoised)  # type: ignore[assignment]
    try:
        result = evaluate(catalog, profile, wrapped, _traced(snapshot, log), config,
                          options=options)
    finally:
        scope_module._memoised = memoised  # type: ignore[assignment]
        scope_module._MEMO.clear()
    return result, log
