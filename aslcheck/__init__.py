"""aslcheck: verify declared ASL-2/ASL-3 security controls against live infrastructure.

Pipeline: ``controls`` (YAML catalog) -> ``inventories`` (collectors produce one immutable,
content-addressed :class:`~aslcheck.inventories.Snapshot`) -> ``checks`` (pure functions of the
snapshot) -> ``reports`` (one result model, a signed in-toto/DSSE attestation and renderers).
The library never prints or exits; :mod:`aslcheck.cli` does.

The documented API (docs/api.md) is re-exported here::

    import aslcheck
    result = aslcheck.evaluate("snapshot.json", "aslcheck.yaml", profile="asl3")
    print(result.tally())
    csv_bytes = aslcheck.render(result, "csv")
"""

__version__ = "0.1.0"

# NOTE: after __version__: modules below import it from this (partially initialised) package.
from aslcheck.api import (
    catalog_digest,
    evaluate,
    load_catalog,
    load_config,
    load_registry,
    load_snapshot,
    render,
    verify,
    write_reports,
)
from aslcheck.checks.interface import Finding, Status
from aslcheck.checks.selection import Selection
from aslcheck.controls.model import Catalog, Control, Severity
from aslcheck.errors import AslcheckError, BadInputError, VerificationError
from aslcheck.inventories.snapshot import Snapshot
from aslcheck.reports.model import ControlResult, ControlStatus, RunResult

__all__ = [
    "AslcheckError",
    "BadInputError",
    "Catalog",
    "Control",
    "ControlResult",
    "ControlStatus",
    "Finding",
    "RunResult",
    "Selection",
    "Severity",
    "Snapshot",
    "Status",
    "VerificationError",
    "__version__",
    "catalog_digest",
    "evaluate",
    "load_catalog",
    "load_config",
    "load_registry",
    "load_snapshot",
    "render",
    "verify",
    "write_reports",
]
