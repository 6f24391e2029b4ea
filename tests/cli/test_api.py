"""The documented Python API: docs/api.md's code runs as written, and `import aslcheck` exposes `__all__`."""

from __future__ import annotations

import contextlib
import io
import re
import sys
from pathlib import Path

import pytest

import aslcheck
from tests.cli.conftest import DATA, REPO

sys.path.insert(0, str(REPO / "bench"))
import snapgen


def _blocks() -> list[str]:
    text = (REPO / "docs" / "api.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_every_exported_name_exists_and_is_documented() -> None:
    doc = (REPO / "docs" / "api.md").read_text()
    for name in aslcheck.__all__:
        assert hasattr(aslcheck, name), name
        if not name.startswith("_") and name not in ("AslcheckError", "BadInputError", "VerificationError"):
            assert f"`{name}" in doc or f" {name}" in doc, f"{name} is not documented in docs/api.md"


def test_docs_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open(tmp_path / "snapshot.json", "w", encoding="utf-8") as fh:
        snapgen.write_snapshot(2000, fh)
    (tmp_path / "aslcheck.yaml").write_text(snapgen.config_yaml(2000))
    monkeypatch.chdir(tmp_path)
    blocks = _blocks()
    assert len(blocks) == 2
    namespace: dict[str, object] = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, "docs/api.md", "exec"), namespace)
    printed = out.getvalue()
    assert "controls: {" in printed and "selected: ASL" in printed and "signed by" in printed
    assert re.search(r"ASL\d-[A-Z]{2}-\d+: \d+ failing, e\.g\. ", printed), printed  # the org has violations
    assert (tmp_path / "findings.csv").read_bytes().startswith(b"profile,evaluated_at,control_id")
    assert (tmp_path / "reports" / "attestation.dsse.json").exists()
    assert (tmp_path / "reports" / "snapshot.json").read_bytes() == (tmp_path / "snapshot.json").read_bytes()


def test_api_matches_the_cli_and_raises_typed_errors(tmp_path: Path) -> None:
    from aslcheck.cli import main

    args = {"catalogs": [DATA / "catalog.yaml"], "builtin_catalog": False, "rules": [DATA / "rules.yaml"]}
    result = aslcheck.evaluate(DATA / "snapshot.json", DATA / "aslcheck.yaml", **args)  # type: ignore[arg-type]
    out = tmp_path / "cli"
    main(["check", "--snapshot", str(DATA / "snapshot.json"), "--no-default-catalog", "--catalog",
          str(DATA / "catalog.yaml"), "--rules", str(DATA / "rules.yaml"), "--config", str(DATA / "aslcheck.yaml"),
          "--out", str(out), "--quiet", "--format", "json"])
    import json

    cli = json.loads((out / "results.json").read_text())
    mine = result.to_json()
    assert {c["id"]: c["status"] for c in mine["controls"]} == {c["id"]: c["status"] for c in cli["controls"]}
    assert mine["digests"] == cli["digests"]
    with pytest.raises(aslcheck.BadInputError):
        aslcheck.evaluate(DATA / "snapshot.json", profile="asl9")
    with pytest.raises(aslcheck.BadInputError) as info:
        aslcheck.evaluate(DATA / "snapshot.json", DATA / "aslcheck.yaml",
                          selection=aslcheck.Selection(controls=("NOPE-*",)), **args)  # type: ignore[arg-type]
    assert "no control matches" in str(info.value)
    with pytest.raises(aslcheck.BadInputError):
        aslcheck.render(result, "pdf")
