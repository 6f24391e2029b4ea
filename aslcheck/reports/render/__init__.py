"""Built-in renderers, in one visible table."""

from __future__ import annotations

from collections.abc import Mapping

from aslcheck.reports.interface import Renderer
from aslcheck.reports.render.csv_ import CsvRenderer
from aslcheck.reports.render.html import HtmlRenderer
from aslcheck.reports.render.json_ import JsonRenderer
from aslcheck.reports.render.junit import JunitRenderer
from aslcheck.reports.render.markdown import MarkdownRenderer
from aslcheck.reports.render.ocsf import OcsfRenderer
from aslcheck.reports.render.oscal import OscalRenderer
from aslcheck.reports.render.sarif import SarifRenderer

RENDERERS: Mapping[str, type[Renderer]] = {
    r.name: r for r in (JsonRenderer, MarkdownRenderer, JunitRenderer, HtmlRenderer, OscalRenderer,
                        SarifRenderer, CsvRenderer, OcsfRenderer)
}
"""Renderer classes by format name."""

__all__ = ["RENDERERS"]
