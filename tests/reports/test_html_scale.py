"""The HTML report in real headless Chromium: a generated 400k-resource run renders, is searchable and
viewable by resource; INCONCLUSIVE and NOT_ATTESTED stay apart in greyscale; typing in the search
box works (driven through chromedriver's W3C WebDriver protocol on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aslcheck.reports.model import RunResult
from aslcheck.reports.render.html import HtmlRenderer
from tests.reports.conftest import REPO, chromium_binary, control_statuses, run_chromium

sys.path.insert(0, str(REPO / "bench"))
import snapgen

pytestmark = pytest.mark.chromium

RESOURCES = 400_000
MAX_PAGE_BYTES = 16_000_000
"""The page-size bound asserted for the 400k run (it was 157-202 MB before findings were budgeted)."""
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _data(html: str) -> dict[str, Any]:
    block = re.search(r'<script type="application/json" id="aslcheck-data">(.*?)</script>', html, re.S)
    assert block
    loaded: dict[str, Any] = json.loads(block.group(1))
    return loaded


@pytest.fixture(scope="module")
def large_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``aslcheck check --format html`` on a generated 400k-resource organisation (bench/snapgen.py)."""
    chromium_binary()  # skip before spending two minutes when there is no browser
    work = tmp_path_factory.mktemp("html-400k")
    with open(work / "snapshot.json", "w", encoding="utf-8") as fh:
        count = snapgen.write_snapshot(RESOURCES, fh)
    assert count > 0.99 * RESOURCES
    (work / "aslcheck.yaml").write_text(snapgen.config_yaml(RESOURCES))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "aslcheck", "check", "--snapshot", "snapshot.json", "--config",
                           "aslcheck.yaml", "--out", "reports", "--format", "html", "--format", "json", "--quiet"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=1800, check=False)
    assert proc.returncode in (1, 2), proc.stderr[-2000:]  # the generated organisation has violations
    (work / "snapshot.json").unlink()
    return work / "reports"


def test_400k_run_renders_searches_and_groups_by_resource(large_report: Path, tmp_path: Path,
                                                          artifacts_dir: Path) -> None:
    binary = chromium_binary()
    page = large_report / "report.html"
    size = page.stat().st_size
    assert size < MAX_PAGE_BYTES, f"report.html is {size:,} bytes"
    html = page.read_text()
    results = json.loads((large_report / "results.json").read_text())
    data = _data(html)
    total = int(re.search(r'data-findings="(\d+)"', html).group(1))  # type: ignore[union-attr]
    assert total > 300_000 and int(re.search(r'data-embedded="(\d+)"', html).group(1)) <= 40_000  # type: ignore[union-attr]
    failing_in_run = {f["resource"] for c in results["controls"] for o in c["checks"] for f in o["findings"]
                      if f["status"] == "fail" and f.get("resource")}
    shown = {data["strings"][r[0]] for c in data["checks"] for r in c["rows"] if r[2] == 0 and r[0] >= 0}
    assert shown <= failing_in_run and len(shown) == len(failing_in_run)  # every failing resource is in the page
    url = page.as_uri()

    dom = run_chromium(binary, tmp_path / "p1", "--dump-dom", url).stdout
    assert 'data-js="ready"' in dom
    assert control_statuses(dom) == {k: v for k, v in results["summary"].items() if v}
    assert f"showing {len(results['controls'])} of {len(results['controls'])} controls" in dom

    # A failing resource far past the first page of its check: the search finds and renders it.
    biggest = max(data["checks"], key=lambda c: sum(1 for r in c["rows"] if r[2] == 0))
    deep = data["strings"][[r for r in biggest["rows"] if r[2] == 0][-1][0]]
    found = run_chromium(binary, tmp_path / "p2", "--dump-dom", f"{url}#q={deep}").stdout
    hits = re.search(r'data-hits="(\d+)" data-controls="(\d+)"', found)
    assert hits and int(hits.group(1)) >= 1 and int(hits.group(2)) >= 1
    assert re.search(r'<tr data-finding="fail"><td class="res"><code>' + re.escape(deep) + "</code>", found)
    assert 'data-hits="0"' in run_chromium(binary, tmp_path / "p3", "--dump-dom", f"{url}#q=zz-nowhere").stdout

    host = next(s for s in data["strings"] if s.startswith("host-"))
    grouped = run_chromium(binary, tmp_path / "p4", "--dump-dom", f"{url}#view=resources&q={host}").stdout
    count = re.search(r'id="resource-list" data-resources="(\d+)"', grouped)
    assert count and int(count.group(1)) >= 1 and f'<code class="res-id">{host}</code>' in grouped

    shot = artifacts_dir / "html-report-400k.png"
    run_chromium(binary, tmp_path / "p5", "--hide-scrollbars", "--window-size=1280,2400", f"--screenshot={shot}", url)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    by_resource = artifacts_dir / "html-report-400k-by-resource.png"
    run_chromium(binary, tmp_path / "p6", "--hide-scrollbars", "--window-size=1280,1800",
                 f"--screenshot={by_resource}", f"{url}#view=resources&q={host}")
    assert by_resource.stat().st_size > 20_000


# -- greyscale -----------------------------------------------------------------------------------------


def read_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, bytes per pixel, rows) of an 8-bit, non-interlaced RGB/RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, bpp = 8, b"", 0, 0, 0
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
            assert body[8] == 8 and body[12] == 0 and body[9] in (2, 6), "unsupported PNG"
            bpp = 3 if body[9] == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw, stride, rows = zlib.decompress(idat), width * bpp, []
    prev = bytearray(stride)
    for y in range(height):
        kind_byte, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
            if kind_byte == 1:
                line[x] = (line[x] + a) & 255
            elif kind_byte == 2:
                line[x] = (line[x] + b) & 255
            elif kind_byte == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif kind_byte == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def _grey(rows: list[bytes], bpp: int, x0: int, y0: int, size: int) -> tuple[float, float]:
    values = [rows[y][x * bpp] for y in range(y0, y0 + size) for x in range(x0, x0 + size)]  # R = G = B in greyscale
    mean = sum(values) / len(values)
    return mean, (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5


def test_inconclusive_and_not_attested_differ_in_greyscale(tmp_path: Path, artifacts_dir: Path) -> None:
    binary = chromium_binary()
    css = (REPO / "aslcheck/reports/render/templates/report.css").read_text()
    big = "position:absolute;top:20px;width:160px;height:160px;margin:0;border:0;border-radius:0"
    page = tmp_path / "grey.html"
    swatch = '<span class="swatch" data-badge="{}" data-pattern="{}" style="{};left:{}px"></span>'
    page.write_text(f"<!DOCTYPE html><html><head><style>{css}\nhtml {{ filter: grayscale(1); }}</style></head><body>"
                    + swatch.format("inconclusive", "hatch", big, 20) + swatch.format("not_attested", "dots", big, 220)
                    + "</body></html>")
    shot = tmp_path / "grey.png"
    run_chromium(binary, tmp_path / "g", "--hide-scrollbars", "--window-size=400,200", f"--screenshot={shot}",
                 page.as_uri())
    _, _, bpp, rows = read_png(shot.read_bytes())
    inconclusive, not_attested = _grey(rows, bpp, 40, 40, 120), _grey(rows, bpp, 240, 40, 120)
    assert abs(inconclusive[0] - not_attested[0]) >= 60, (inconclusive, not_attested)  # lightness apart
    assert inconclusive[1] > 10 and not_attested[1] > 10  # and both textured (hatched, dotted)
    shutil.copy(shot, artifacts_dir / "html-greyscale-inconclusive-vs-not-attested.png")


# -- typing into the page (W3C WebDriver over loopback) ---------------------------------------------------

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


@pytest.fixture
def webdriver(tmp_path: Path) -> Iterator[str]:
    """chromedriver on a free 127.0.0.1 port (stopped at the end); yields its base URL."""
    chromium_binary()
    driver = shutil.which("chromedriver")
    if driver is None:
        pytest.skip("chromedriver is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([driver, f"--port={port}", "--allowed-ips=127.0.0.1", f"--log-path={tmp_path / 'cd.log'}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base}/status", timeout=2) as resp:
                    if json.load(resp)["value"]["ready"]:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("chromedriver did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _call(url: str, method: str = "GET", body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.load(resp)["value"]


def _wait_attr(base: str, element: str, name: str, until: Any) -> str:
    value = ""
    for _ in range(100):
        value = _call(f"{base}/element/{element}/attribute/{name}") or ""
        if until(value):
            return str(value)
        time.sleep(0.1)
    return str(value)


def test_typing_in_the_search_box_and_switching_view(run: RunResult, webdriver: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_bytes(HtmlRenderer().render(run))
    caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
        "binary": chromium_binary(), "args": [*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]}}}}
    session = _call(f"{webdriver}/session", "POST", caps)["sessionId"]
    base = f"{webdriver}/session/{session}"
    try:
        _call(f"{base}/url", "POST", {"url": page.as_uri()})
        box = _call(f"{base}/element", "POST", {"using": "css selector", "value": "#search"})[ELEMENT]
        count = _call(f"{base}/element", "POST", {"using": "css selector", "value": "#search-count"})[ELEMENT]
        _call(f"{base}/element/{box}/value", "POST", {"text": "weights-staging"})
        hits = _wait_attr(base, count, "data-hits", lambda v: v not in ("", "0"))
        assert int(hits) >= 3
        assert "weights-staging" in _call(f"{base}/url")  # the search is in the URL, so it can be shared
        view = _call(f"{base}/element", "POST", {"using": "css selector", "value": 'button[data-view="resources"]'})
        _call(f"{base}/element/{view[ELEMENT]}/click", "POST", {})
        listing = _call(f"{base}/element", "POST", {"using": "css selector", "value": "#resource-list"})[ELEMENT]
        assert _wait_attr(base, listing, "data-resources", lambda v: v == "1") == "1"
    finally:
        _call(base, "DELETE")
