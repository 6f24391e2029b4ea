"""Signed waivers: ASL-3 waivers need two distinct listed approvers; anything less waives nothing, visibly."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aslcheck.cli import main
from aslcheck.cli.exitcodes import ExitCode
from aslcheck.controls.loader import load_config
from aslcheck.controls.model import Catalog, Waiver
from aslcheck.controls.signed_waivers import PAYLOAD_TYPE, load_waivers, sign_waivers
from aslcheck.errors import BadInputError
from aslcheck.reports.model import ControlStatus
from aslcheck.reports.render.html import HtmlRenderer
from aslcheck.reports.signing import load_signer, sign_dsse
from tests.reports.conftest import BASE_ARGS, RunFactory, realistic_snapshot

Keys = Callable[[str], tuple[str, str]]

ASL3_WAIVER = """version: 1
waivers:
  - control: R3-EN-2
    resource: arn:aws:s3:::weights-staging
    justification: staging re-encryption scheduled, tracked in SEC-42
    approver: alice
    ticket: SEC-42
    expires: "2099-01-01"
"""
ASL2_WAIVER = """version: 1
waivers:
  - control: R2-WA-1
    resource: arn:aws:s3:::weights-staging
    justification: staging bucket is rebuilt nightly from prod
    approver: carol
    ticket: SEC-43
    expires: "2099-01-01"
"""


@pytest.fixture
def people(keypair: Keys) -> dict[str, tuple[str, str]]:
    return {name: keypair(name) for name in ("alice", "bob", "carol", "mallory")}


def _config(tmp_path: Path, people: dict[str, tuple[str, str]], names: tuple[str, ...] = ("alice", "bob", "carol"),
            extra: str = "") -> str:
    keys = ", ".join(Path(people[n][1]).name for n in names)
    path = tmp_path / "aslcheck.yaml"
    path.write_text(f"""version: 1
weights:
  aws:
    tags: {{"asl:asset": model-weights}}
approvers:
  keys: [{keys}]
{extra}""")
    return str(path)


def _signed(tmp_path: Path, text: str, people: dict[str, tuple[str, str]], *names: str) -> str:
    path = tmp_path / "waivers.dsse.json"
    path.write_bytes(sign_waivers(text.encode(), [load_signer(people[n][0]) for n in names]))
    return str(path)


def _plain(tmp_path: Path, text: str) -> str:
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    return str(path)


def _load(catalog: Catalog, cfg: str, path: str) -> list[Waiver]:
    config, _ = load_config(cfg)
    return load_waivers([path], catalog, config)[0]


def test_two_distinct_approvers_waive(catalog: Catalog, make_run: RunFactory, tmp_path: Path, people: Any) -> None:
    (w,) = _load(catalog, _config(tmp_path, people), _signed(tmp_path, ASL3_WAIVER, people, "alice", "bob"))
    assert w.rejected is None and w.approvers == ("alice", "bob")
    result = {str(r.control.id): r for r in make_run(waived=[w]).results}["R3-EN-2"]
    assert result.status is ControlStatus.WAIVED and result.underlying is ControlStatus.FAIL


@pytest.mark.parametrize(("signers", "why"), [
    (("alice",), "signed by 1 of the 2 distinct approvers required (alice)"),
    (("alice", "mallory"), "signed by 1 of the 2 distinct approvers required (alice)"),
    (("mallory",), "none of its 1 signature(s) verifies against an approver key"),
])
def test_fewer_than_two_approvers_waive_nothing(catalog: Catalog, make_run: RunFactory, tmp_path: Path, people: Any,
                                                signers: tuple[str, ...], why: str) -> None:
    (w,) = _load(catalog, _config(tmp_path, people), _signed(tmp_path, ASL3_WAIVER, people, *signers))
    assert w.rejected is not None and why in w.rejected
    run = make_run(waived=[w])
    result = {str(r.control.id): r for r in run.results}["R3-EN-2"]
    assert result.status is ControlStatus.FAIL and not result.waivers
    # Visible in the report: not applied, with the reason.
    entry = result.to_json()["waivers"][0]
    assert entry["active"] is False and why in entry["rejected"]
    html = HtmlRenderer().render(run).decode()
    section = html.split('id="control-R3-EN-2"', 1)[1].split("</section>", 1)[0]
    assert 'data-waiver="rejected"' in section and "not applied: " in section


def test_one_signature_twice_is_one_approver(catalog: Catalog, tmp_path: Path, people: Any) -> None:
    alice = load_signer(people["alice"][0])
    env = json.loads(sign_dsse(ASL3_WAIVER.encode(), PAYLOAD_TYPE, [alice]))
    env["signatures"].append(dict(env["signatures"][0], keyid="bob"))  # copied signature, forged key hint
    path = tmp_path / "dup.dsse.json"
    path.write_text(json.dumps(env))
    (w,) = _load(catalog, _config(tmp_path, people), str(path))
    assert w.rejected is not None and "1 of the 2" in w.rejected


def test_unsigned_asl3_waiver_waives_nothing(catalog: Catalog, tmp_path: Path, people: Any) -> None:
    (w,) = _load(catalog, _config(tmp_path, people), _plain(tmp_path, ASL3_WAIVER))
    assert w.rejected is not None and w.rejected.startswith("unsigned; ASL-3 controls are two-party")
    # Also without any approvers configured.
    config, _ = load_config(str(Path(__file__).parent / "data" / "aslcheck.yaml"))
    (w,) = load_waivers([_plain(tmp_path, ASL3_WAIVER)], catalog, config)[0]
    assert w.rejected is not None and "lists 0 approver key(s)" in w.rejected


def test_altered_after_signing_waives_nothing(catalog: Catalog, tmp_path: Path, people: Any) -> None:
    path = Path(_signed(tmp_path, ASL3_WAIVER, people, "alice", "bob"))
    env = json.loads(path.read_text())
    env["payload"] = base64.b64encode(ASL3_WAIVER.replace("2099-01-01", "2199-01-01").encode()).decode()
    path.write_text(json.dumps(env))
    (w,) = _load(catalog, _config(tmp_path, people), str(path))
    assert w.rejected is not None and "none of its 2 signature(s) verifies" in w.rejected


def test_asl2_unsigned_unless_required(catalog: Catalog, tmp_path: Path, people: Any) -> None:
    plain = _plain(tmp_path, ASL2_WAIVER)
    (w,) = _load(catalog, _config(tmp_path, people), plain)
    assert w.rejected is None
    required = _config(tmp_path, people, extra="  require_signed: true\n")
    (w,) = _load(catalog, required, plain)
    assert w.rejected is not None and "approvers.require_signed is set" in w.rejected
    (w,) = _load(catalog, required, _signed(tmp_path, ASL2_WAIVER, people, "carol", "alice"))
    assert w.rejected is None and w.approvers == ("alice", "carol")


def test_threshold_and_short_key_list(catalog: Catalog, tmp_path: Path, people: Any) -> None:
    three = _config(tmp_path, people, extra="  threshold: 3\n")
    (w,) = _load(catalog, three, _signed(tmp_path, ASL3_WAIVER, people, "alice", "bob"))
    assert w.rejected is not None and "2 of the 3" in w.rejected
    one = _config(tmp_path, people, names=("alice",))
    (w,) = _load(catalog, one, _signed(tmp_path, ASL3_WAIVER, people, "alice", "bob"))
    assert w.rejected is not None and "(aslcheck.yaml lists 1 approver key(s))" in w.rejected


def test_config_errors(catalog: Catalog, tmp_path: Path, people: Any) -> None:
    dup = _config(tmp_path, people, names=("alice", "alice"))
    with pytest.raises(BadInputError, match="listed twice"):
        _load(catalog, dup, _plain(tmp_path, ASL2_WAIVER))
    bad = tmp_path / "other.dsse.json"
    bad.write_bytes(sign_dsse(ASL3_WAIVER.encode(), "text/plain", [load_signer(people["alice"][0])]))
    with pytest.raises(BadInputError, match="payload type"):
        _load(catalog, _config(tmp_path, people), str(bad))


def test_cli_sign_cosign_and_check(tmp_path: Path, people: Any, capsys: Any) -> None:
    waiver = _plain(tmp_path, ASL3_WAIVER)
    cfg = _config(tmp_path, people)
    snap = tmp_path / "snap.json"
    snap.write_bytes(realistic_snapshot().canonical_bytes())
    signed = str(tmp_path / "w.dsse.json")
    assert main(["waiver", "sign", waiver, "--key", people["alice"][0], "--out", signed]) == ExitCode.OK

    def status() -> dict[str, Any]:
        out = tmp_path / "reports"
        main(["check", "--snapshot", str(snap), *BASE_ARGS, "--config", cfg, "--waivers", signed,
              "--out", str(out), "--quiet", "--format", "json"])
        doc = json.loads((out / "results.json").read_text())
        found: dict[str, Any] = {c["id"]: c for c in doc["controls"]}["R3-EN-2"]
        return found

    one = status()
    assert one["status"] == "fail"
    assert one["waivers"][0]["rejected"].startswith("signed by 1 of the 2 distinct approvers required (alice)")
    # The same approver again adds nothing; a second approver co-signs in place.
    assert main(["waiver", "sign", signed, "--key", people["alice"][0]]) == ExitCode.BAD_INPUT
    assert main(["waiver", "sign", signed, "--key", people["bob"][0]]) == ExitCode.OK
    two = status()
    assert two["status"] == "waived" and two["waivers"][0]["approvers"] == ["alice", "bob"]
    assert "rejected" not in two["waivers"][0]
