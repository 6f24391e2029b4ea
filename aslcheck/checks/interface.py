"""Check interface: per-resource findings with an enumerated status, and the context checks read."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NewType

from aslcheck.controls.config import Config
from aslcheck.errors import AslcheckError
from aslcheck.inventories.compact import EMPTY, FrozenObject, encode_canonical
from aslcheck.inventories.snapshot import Resource, Snapshot

CheckId = NewType("CheckId", str)
"""Stable check identifier, ``<family>.<service>.<property>`` (e.g. ``aws.s3.weights_cmk_encryption``)."""


class CheckError(AslcheckError):
    """A check is declared wrongly (unknown kind, parameter or operator, duplicate ID)."""


class Status(Enum):
    """Outcome of one check on one resource.

    - PASS: the evidence was read and satisfies the property.
    - FAIL: the evidence was read and violates the property.
    - ERROR: evidence is missing or unreadable, or the check could not decide. Never a pass.
    - NOT_APPLICABLE: the property does not apply to this resource (stated in the reason).
    """

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    NOT_APPLICABLE = "not_applicable"


class Select(Enum):
    """Which resources of the declared kinds a check evaluates."""

    WEIGHTS = "weights"
    """Only resources that hold model weights per the config's scope."""
    ALL = "all"
    """Every resource of the kinds."""


_EVIDENCE: dict[bytes, FrozenObject] = {}
"""Evidence interned by its canonical encoding (see :meth:`Finding.__post_init__`)."""
_EVIDENCE_MAX = 1 << 16
"""Bound of :data:`_EVIDENCE`: a long-lived process (the Python API) never grows it further."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's verdict on one resource (or on the check as a whole when ``resource`` is None).

    NOTE: slotted: a 1M-resource run keeps ~1M findings for the report, and a per-instance
    ``__dict__`` is ~300 bytes of each (BENCHMARKS.md §1).
    """

    check: CheckId
    """Which check produced it."""
    status: Status
    """The verdict."""
    reason: str
    """Why, in one sentence a security engineer can act on."""
    resource: str | None = None
    """Resource ID the verdict is about."""
    kind: str | None = None
    """Kind of that resource."""
    source: str | None = None
    """Collector that produced the resource (``aws``, ``ssh``, ``terraform``)."""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    """The observed values the verdict rests on."""
    location: Mapping[str, Any] | None = None
    """For IaC resources: ``{"file": ..., "start_line": ..., "end_line": ...}``."""

    def __post_init__(self) -> None:
        # NOTE: evidence is kept encoded (a FrozenObject, decoded when read): at 1M resources the
        # ~800k evidence dicts and the attribute values they hold on to were ~300 MB of the peak
        # (BENCHMARKS.md §1). Evidence that is not plain JSON (a test's sentinel) stays as given.
        ev = self.evidence
        if isinstance(ev, FrozenObject):
            return
        if not ev:
            object.__setattr__(self, "evidence", EMPTY)
            return
        try:
            raw = encode_canonical(dict(ev))
        except (TypeError, ValueError, OverflowError):
            return
        # NOTE: most findings repeat a few evidence values ({"encrypted": true}: 2,202 distinct
        # among 78k at 100k resources), so equal evidence is one shared object.
        frozen = _EVIDENCE.get(raw)
        if frozen is None:
            if len(_EVIDENCE) >= _EVIDENCE_MAX:
                _EVIDENCE.clear()
            frozen = _EVIDENCE[raw] = FrozenObject(raw)
        object.__setattr__(self, "evidence", frozen)

    def to_json(self) -> dict[str, Any]:
        """JSON form used by reports."""
        out: dict[str, Any] = {
            "check": self.check,
            "status": self.status.value,
            "reason": self.reason,
            "evidence": dict(self.evidence),
        }
        for name in ("resource", "kind", "source"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.location is not None:
            out["location"] = dict(self.location)
        return out


@dataclass(frozen=True)
class CheckContext:
    """What a check sees: the snapshot, the typed config, and the resources selected for it."""

    snapshot: Snapshot
    """The whole inventory (read-only)."""
    config: Config
    """Scope, rosters and parameters."""
    resources: tuple[Resource, ...]
    """Resources of the check's kinds that its selection put in scope (decidably)."""

    def finding(
        self,
        check: CheckId,
        res: Resource | None,
        status: Status,
        reason: str,
        evidence: Mapping[str, Any] | None = None,
    ) -> Finding:
        """Build a finding about ``res``, filling resource, kind, source and IaC location."""
        location = None
        if res is not None:
            raw = res.attributes.get("location")
            location = raw if isinstance(raw, dict) else None
        return Finding(
            check=check,
            status=status,
            reason=reason,
            resource=res.id if res else None,
            kind=res.kind if res else None,
            source=res.source if res else None,
            evidence=dict(evidence or {}),
            location=location,
        )


Evaluator = Callable[[CheckContext], Iterable[Finding]]
"""A Python check body."""


@dataclass(frozen=True)
class CheckSpec:
    """Declaration of a check: what it reads, what it needs, how it evaluates."""

    id: CheckId
    """Stable ID."""
    version: int
    """Bumped whenever its logic changes (recorded in attestations)."""
    kinds: frozenset[str]
    """Resource kinds it reads; the collector fetches only these."""
    evaluate: Evaluator
    """The body."""
    select: Select = Select.WEIGHTS
    """Which resources of ``primary_kinds`` are in scope."""
    primary_kinds: frozenset[str] = frozenset()
    """Kinds whose resources it renders verdicts on (defaults to ``kinds``)."""
    params: tuple[str, ...] = ()
    """Organisation parameters it uses (names from ``PARAM_SPECS``)."""
    allow_empty: bool = False
    """Whether zero in-scope resources is a PASS (only when the kinds were completely listed)."""
    origin: str = "<python>"
    """Where it was declared (module or ``file:line``)."""

    @property
    def subjects(self) -> frozenset[str]:
        """Kinds it renders verdicts on."""
        return self.primary_kinds or self.kinds
