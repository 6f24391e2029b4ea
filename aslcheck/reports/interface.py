"""Renderer interface: one result model, many formats that know nothing of each other."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import BinaryIO

from aslcheck.errors import AslcheckError
from aslcheck.reports.model import RunResult


class ReportError(AslcheckError):
    """A report could not be produced."""


class Renderer(ABC):
    """Turns a :class:`RunResult` into the bytes of one file."""

    name: str
    """Format name used on the command line (``json``, ``markdown``, ``junit``...)."""
    filename: str
    """File name inside the report directory."""
    streams: bool = False
    """Whether :meth:`write` streams (the report writer then skips rendering it in memory)."""

    @abstractmethod
    def render(self, run: RunResult) -> bytes:
        """The file's content."""

    def write(self, run: RunResult, fh: BinaryIO) -> None:
        """Write the content to ``fh``; renderers of large files override it to stream."""
        fh.write(self.render(run))
