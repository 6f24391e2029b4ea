"""Machine-readable JSON report."""

from __future__ import annotations

import json

from aslcheck.reports.interface import Renderer
from aslcheck.reports.model import RunResult


class JsonRenderer(Renderer):
    """The full result model as JSON (stable key order)."""

    name = "json"
    filename = "results.json"

    def render(self, run: RunResult) -> bytes:
        """Compact, sorted JSON (``python -m json.tool results.json`` pretty-prints it).

        NOTE: ``indent`` switches json to its pure-Python encoder: 48 s and +3 GB peak at 1M
        resources (BENCHMARKS.md); the compact form uses the C encoder.
        """
        return json.dumps(run.to_json(), separators=(",", ":"), sort_keys=True,
                          ensure_ascii=False).encode() + b"\n"
