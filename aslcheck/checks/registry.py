"""The check registry: explicit, validated, and refusing duplicate IDs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from types import ModuleType

from aslcheck.checks.interface import CheckError, CheckId, CheckSpec, Evaluator, Select
from aslcheck.controls.config import PARAM_SPECS

_SPEC_ATTR = "__aslcheck_check__"


def check(
    id: str,
    *,
    kinds: Iterable[str],
    version: int = 1,
    select: Select = Select.WEIGHTS,
    primary_kinds: Iterable[str] = (),
    params: Iterable[str] = (),
    allow_empty: bool = False,
) -> Callable[[Evaluator], Evaluator]:
    """Mark a function as a check. Marking registers nothing: :func:`Registry.add_module` does."""

    def mark(fn: Evaluator) -> Evaluator:
        spec = CheckSpec(
            id=CheckId(id),
            version=version,
            kinds=frozenset(kinds),
            evaluate=fn,
            select=select,
            primary_kinds=frozenset(primary_kinds),
            params=tuple(params),
            allow_empty=allow_empty,
            origin=f"{fn.__module__}.{fn.__qualname__}",
        )
        setattr(fn, _SPEC_ATTR, spec)
        return fn

    return mark


class Registry:
    """Checks by ID. Adding a duplicate ID or a malformed declaration raises :class:`CheckError`."""

    def __init__(self, known_kinds: frozenset[str] | None = None) -> None:
        self._checks: dict[CheckId, CheckSpec] = {}
        self._known_kinds = known_kinds

    def add(self, spec: CheckSpec) -> None:
        """Register one check after validating its declaration."""
        if spec.id in self._checks:
            prior = self._checks[spec.id]
            raise CheckError(
                f"duplicate check ID {spec.id!r}: declared in {prior.origin} and {spec.origin}"
            )
        if not spec.kinds:
            raise CheckError(f"check {spec.id!r} ({spec.origin}) declares no inventory kinds")
        if not spec.primary_kinds <= spec.kinds:
            raise CheckError(f"check {spec.id!r}: primary_kinds must be a subset of kinds")
        if self._known_kinds is not None:
            unknown = spec.kinds - self._known_kinds
            if unknown:
                raise CheckError(f"check {spec.id!r} reads unknown kinds {sorted(unknown)}")
        for name in spec.params:
            if name not in PARAM_SPECS:
                raise CheckError(f"check {spec.id!r} uses unknown parameter {name!r}")
        self._checks[spec.id] = spec

    def add_module(self, module: ModuleType) -> None:
        """Register every function in ``module`` marked with :func:`check`."""
        for value in vars(module).values():
            spec = getattr(value, _SPEC_ATTR, None)
            if isinstance(spec, CheckSpec):
                self.add(spec)

    def get(self, check_id: str) -> CheckSpec:
        """Look up a check; unknown IDs raise :class:`CheckError`."""
        try:
            return self._checks[CheckId(check_id)]
        except KeyError:
            raise CheckError(f"no such check {check_id!r}") from None

    def __contains__(self, check_id: object) -> bool:
        return check_id in self._checks

    def __iter__(self) -> Iterator[CheckSpec]:
        return iter(sorted(self._checks.values(), key=lambda s: s.id))

    def __len__(self) -> int:
        return len(self._checks)
