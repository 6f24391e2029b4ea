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
        """Pretty, sorted JSON."""
        return json.dumps(run.to_json(), indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"
