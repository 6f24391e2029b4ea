"""The Collector interface the AWS, SSH and Terraform collectors implement."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from aslcheck.errors import AslcheckError

if TYPE_CHECKING:
    from aslcheck.controls.config import Config
    from aslcheck.inventories.snapshot import Snapshot


class InventoryError(AslcheckError):
    """Base error of the inventories subsystem (a collector could not run at all)."""


ProgressCallback = Callable[[str, int, int], None]
"""``progress(task, done, total)``: collectors report progress; the CLI draws the bar."""


def _no_progress(task: str, done: int, total: int) -> None:
    """Default progress sink."""


@dataclass(frozen=True)
class CollectionRequest:
    """What a collector is asked to collect."""

    kinds: frozenset[str]
    """Resource kinds the selected checks declare they read; collect nothing else."""
    config: Config
    """Scope and organisation parameters (which resources, hosts and paths hold weights)."""
    progress: ProgressCallback = field(default=_no_progress)
    """Progress sink."""
    deep: bool = False
    """Read every resource deeply, not only those a check could judge (``scan --deep``).

    By default a collector may read some resources shallowly (listing and tags: enough to
    decide they are out of every check's scope) and records which in the snapshot."""


@runtime_checkable
class Collector(Protocol):
    """Turns the outside world into a :class:`Snapshot`.

    Implementations take every I/O handle (boto3 session factory, SSH transport, checkov
    runner) in their constructor, make only read calls, and record every failed read as a
    :class:`~aslcheck.inventories.snapshot.CollectionError` instead of guessing a value.
    """

    name: str
    """Short name, also the ``source`` of the resources it produces."""

    def kinds(self) -> frozenset[str]:
        """Every resource kind this collector can produce."""
        ...

    def collect(self, request: CollectionRequest) -> Snapshot:
        """Collect what ``request`` asks for; never raises for a failed read of one target."""
        ...


def utc_now() -> str:
    """RFC 3339 UTC timestamp with second precision, as used in provenance."""
    return datetime.now(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
