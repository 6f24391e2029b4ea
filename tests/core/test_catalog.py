"""Catalog, config and waiver validation: clear file:line errors, nothing evaluated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aslcheck.controls.config import Config
from aslcheck.controls.loader import load_catalog, load_config
from aslcheck.controls.signed_waivers import load_waivers
from aslcheck.errors import BadInputError
from tests.core.conftest import DATA

GOOD = (DATA / "catalog.yaml").read_text()


def _err(fn: Callable[[], Any]) -> BadInputError:
    with pytest.raises(BadInputError) as info:
        fn()
    return info.value


def test_unknown_key(write_file: Any, registry: Any) -> None:
    path = write_file("c.yaml", GOOD.replace("    domain: WA\n", "    domain: WA\n    colour: red\n"))
    e = _err(lambda: load_catalog([path], checks=registry, builtin=False))
    assert e.location and e.location.file == path
    assert "unknown key 'colour'" in e.message
    assert e.location.line == GOOD.splitlines().index("    domain: WA") + 2
    assert e.location.field == "controls[1].colour"


def test_duplicate_id(write_file: Any, registry: Any) -> None:
    path = write_file("c.yaml", GOOD.replace("id: T2-WA-1", "id: T2-EN-1"))
    e = _err(lambda: load_catalog([path], checks=registry, builtin=False))
    assert "duplicate control ID 'T2-EN-1'" in e.message
    assert e.location and e.location.line == GOOD.splitlines().index("  - id: T2-WA-1") + 1


def test_missing_check_reference(write_file: Any, registry: Any) -> None:
    path = write_file("c.yaml", GOOD.replace("checks: [test.s3.kms]", "checks: [test.s3.nope]"))
    e = _err(lambda: load_catalog([path], checks=registry, builtin=False))
    assert "check that does not exist: 'test.s3.nope'" in e.message
    assert e.location and e.location.field == "controls[0].checks[0]"
    assert e.location.line == GOOD.splitlines().index("    checks: [test.s3.kms]") + 1


def test_empty_checks_on_automated_control(write_file: Any, registry: Any) -> None:
    path = write_file("c.yaml", GOOD.replace("checks: [test.s3.kms]", "checks: []"))
    e = _err(lambda: load_catalog([path], checks=registry, builtin=False))
    assert e.location and e.location.field == "controls[0].checks"
    assert "non-empty" in e.message


def test_duplicate_yaml_key(write_file: Any, registry: Any) -> None:
    path = write_file("c.yaml", GOOD.replace("    level: ASL-2\n", "    level: ASL-2\n    level: ASL-3\n", 1))
    e = _err(lambda: load_catalog([path], checks=registry, builtin=False))
    assert "duplicate key 'level'" in e.message


def test_overlay_adds_checks_and_tightens(write_file: Any, registry: Any) -> None:
    base = str(DATA / "catalog.yaml")
    overlay = write_file("o.yaml", "catalog: mine\nversion: 1\noverrides:\n"
                         "  - id: T2-EN-1\n    add_checks: [test.s3.versioning]\n"
                         "parameters: {max_session_seconds: 900}\n")
    cat, digest = load_catalog([base, overlay], checks=registry, builtin=False)
    assert cat.controls["T2-EN-1"].checks == ("test.s3.kms", "test.s3.versioning")  # type: ignore[index]
    cfg, _ = load_config(str(DATA / "aslcheck.yaml"), cat)
    assert cfg.param("max_session_seconds") == 900
    loose = write_file("l.yaml", "catalog: mine\nversion: 1\nparameters: {max_session_seconds: 99999}\n")
    cat2, digest2 = load_catalog([base, loose], checks=registry, builtin=False)
    assert load_config(str(DATA / "aslcheck.yaml"), cat2)[0].param("max_session_seconds") == 3600
    assert digest != digest2


def test_config_errors(write_file: Any) -> None:
    path = write_file("a.yaml", "version: 1\nweights: {}\n")
    assert "weights" in str(_err(lambda: load_config(path)))
    path = write_file("b.yaml", "version: 1\nweights:\n  aws:\n    tag: {a: b}\n")
    e = _err(lambda: load_config(path))
    assert "unknown key 'tag'" in e.message and e.location and e.location.line == 4


def test_waiver_validation(write_file: Any, catalog: Any) -> None:
    no_expiry = write_file("w.yaml", "version: 1\nwaivers:\n  - control: T2-WA-1\n"
                           "    justification: migrating the bucket\n    approver: a\n    ticket: S-1\n")
    assert "expires" in str(_err(lambda: load_waivers([no_expiry], catalog, Config())))
    unknown = write_file("u.yaml", "version: 1\nwaivers:\n  - control: NOPE-1\n"
                         "    justification: migrating the bucket\n    approver: a\n    ticket: S-1\n"
                         "    expires: 2027-01-01\n")
    e = _err(lambda: load_waivers([unknown], catalog, Config()))
    assert "unknown control 'NOPE-1'" in e.message and e.location and e.location.line == 3
    bad_date = write_file("d.yaml", "version: 1\nwaivers:\n  - control: T2-WA-1\n"
                          "    justification: migrating the bucket\n    approver: a\n    ticket: S-1\n"
                          "    expires: next week\n")
    assert "expected a date" in str(_err(lambda: load_waivers([bad_date], catalog, Config())))
