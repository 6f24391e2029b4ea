"""Built-in renderers, in one visible table."""

from __future__ import annotations

from collections.abc import Mapping

from aslcheck.reports.interface import Renderer
from aslcheck.reports.render.json_ import JsonRenderer
from aslcheck.reports.render.junit import JunitRenderer
from aslcheck.reports.render.markdown import MarkdownRenderer

RENDERERS: Mapping[str, type[Renderer]] = {
    r.name: r for r in (JsonRenderer, MarkdownRenderer, JunitRenderer)
}
"""Renderer classes by format name."""

__all__ = ["RENDERERS"]
