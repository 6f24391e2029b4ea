"""Strict snapshot loading: bytes two parsers could read as two snapshots are refused (issue 10 class 4).

Every case is catalogued in docs/adversarial/snapshot.md. Each attack is tried both on a
canonical (one-line) file, the loader's fast path, and on a pretty-printed file, the careful
path; the answer must be the same refusal, with file, line and field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aslcheck.cli import main
from aslcheck.cli.exitcodes import ExitCode
from aslcheck.errors import BadInputError
from aslcheck.inventories import snapshot as snapshot_io
from aslcheck.inventories.snapshot import CollectionError, Snapshot
from tests.core.conftest import DATA, bucket, snap

BASE = ["--no-default-catalog", "--catalog", str(DATA / "catalog.yaml"), "--rules", str(DATA / "rules.yaml"),
        "--config", str(DATA / "aslcheck.yaml")]


def good() -> Snapshot:
    err = CollectionError("aws", "s3:GetBucketPolicy", "AccessDenied", "no", resource="arn:aws:s3:::b",
                          kind="aws.s3.bucket")
    return snap(bucket("a"), bucket("b", weights=False), errors=(err,))


def canonical_text() -> str:
    return good().canonical_bytes().decode()


def pretty_text() -> str:
    return json.dumps(json.loads(canonical_text()), indent=2)


def load_text(tmp_path: Path, text: str) -> Snapshot:
    path = tmp_path / "s.json"
    path.write_text(text, encoding="utf-8")
    return snapshot_io.load(str(path))[0]


def refused(tmp_path: Path, text: str) -> BadInputError:
    with pytest.raises(BadInputError) as info:
        load_text(tmp_path, text)
    assert info.value.location is not None
    assert info.value.location.file.endswith("s.json")
    return info.value


def line_of(text: str, needle: str, nth: int = 1) -> int:
    at = -1
    for _ in range(nth):
        at = text.index(needle, at + 1)
    return text.count("\n", 0, at) + 1


# -- duplicate keys ---------------------------------------------------------------------------
# Each pair: (text substitution planting the duplicate, the key that repeats, the dotted field).

DUPLICATES = {
    # top level: a second "resources" array replaces the first for a last-wins parser
    "top level": ('"format":', '"resources":[],"format":', "resources", "resources"),
    # inside attributes: the weights bucket reads "Enabled" to one parser, "Suspended" to another
    "attributes": ('"versioning":"Enabled"', '"versioning":"Suspended","versioning":"Enabled"',
                   "versioning", "resources.0.attributes.versioning"),
    # inside provenance: which kinds were listed completely decides whether "none exist" is evidence
    "provenance": ('"name":"aws"', '"name":"aws","kinds":[]', "kinds", "provenance.collectors.0.kinds"),
    # inside tags: the weight tag read once as weights, once as not (scope evasion)
    "tags": ('"tags":{"asl:asset":"model-weights"}', '"tags":{"asl:asset":"model-weights","asl:asset":"x"}',
             "asl:asset", "resources.0.tags.asl:asset"),
    # inside an error: which resource the failed read is about
    "error": ('"resource":"arn:aws:s3:::b"', '"resource":"arn:aws:s3:::b","resource":"arn:aws:s3:::zzz"',
              "resource", "errors.0.resource"),
    # the same key spelt with an escape: equal once decoded, so still a duplicate
    "escaped spelling": ('"versioning":"Enabled"', '"versioning":"Enabled","versi\\u006fning":"Suspended"',
                         "versioning", "resources.0.attributes.versioning"),
}


@pytest.mark.parametrize("case", sorted(DUPLICATES))
def test_duplicate_key_refused_on_canonical_file(tmp_path: Path, case: str) -> None:
    old, new, key, field = DUPLICATES[case]
    text = canonical_text()
    assert old in text
    exc = refused(tmp_path, text.replace(old, new, 1))
    assert f"duplicate key {key!r}" in exc.message
    assert exc.location is not None and exc.location.line == 1 and exc.location.field == field


# The same attacks on a pretty-printed file: (member after which the duplicate is planted,
# the planted member, where the error must point: the nth occurrence of a text).
PRETTY = {
    "top level": ('"format": "aslcheck.snapshot"', '"resources": []', ('"resources":', 2)),
    "attributes": ('"versioning": "Enabled"', '"versioning": "Suspended"', ('"versioning": "Suspended"', 1)),
    "provenance": ('"name": "aws"', '"kinds": []', ('"kinds": []', 1)),
    "tags": ('"asl:asset": "model-weights"', '"asl:asset": "x"', ('"asl:asset": "x"', 1)),
    "error": ('"resource": "arn:aws:s3:::b"', '"resource": "arn:aws:s3:::zzz"', ('"resource": "arn:aws:s3:::zzz"', 1)),
    "escaped spelling": ('"versioning": "Enabled"', '"versi\\u006fning": "x"', ('"versi\\u006fning"', 1)),
}


@pytest.mark.parametrize("case", sorted(PRETTY))
def test_duplicate_key_refused_on_pretty_file_with_its_line(tmp_path: Path, case: str) -> None:
    anchor, planted, (needle, nth) = PRETTY[case]
    _, _, key, field = DUPLICATES[case]
    text = pretty_text()
    assert anchor in text
    text = text.replace(anchor, f"{anchor},\n{planted}", 1)
    exc = refused(tmp_path, text)
    assert f"duplicate key {key!r}" in exc.message
    assert exc.location is not None and exc.location.field == field
    assert exc.location.line == line_of(text, needle, nth) > 1


def test_identical_duplicate_is_refused_too(tmp_path: Path) -> None:
    # Even a repeat with the same value: the rule is about the bytes, not about this parser.
    text = canonical_text().replace('"versioning":"Enabled"', '"versioning":"Enabled","versioning":"Enabled"', 1)
    assert "duplicate key 'versioning'" in refused(tmp_path, text).message


# -- null where an object is required ---------------------------------------------------------

NULLS = {
    "attributes": ('"attributes":{"encryption"', '"attributes":null,"x":{"encryption"', "resources.0.attributes"),
    "tags": ('"tags":{"asl:asset":"model-weights"}', '"tags":null', "resources.0.tags"),
    "provenance": ('"provenance":{"collectors":', '"provenance":null,"x":{"collectors":', "provenance"),
}


def _null_text(case: str, pretty: bool) -> str:
    doc = json.loads(canonical_text())
    if case == "attributes":
        doc["resources"][0]["attributes"] = None
    elif case == "tags":
        doc["resources"][0]["tags"] = None
    else:
        doc["provenance"] = None
    return json.dumps(doc, indent=2 if pretty else None, separators=None if pretty else (",", ":"),
                      sort_keys=True)


@pytest.mark.parametrize("pretty", [False, True])
@pytest.mark.parametrize("case", sorted(NULLS))
def test_null_object_refused(tmp_path: Path, case: str, pretty: bool) -> None:
    text = _null_text(case, pretty)
    exc = refused(tmp_path, text)
    assert exc.location is not None and exc.location.field == NULLS[case][2]
    assert "object" in exc.message
    assert exc.location.line == line_of(text, f'"{case}": null' if pretty else f'"{case}":null')


def test_null_provenance_collectors_refused(tmp_path: Path) -> None:
    doc = json.loads(canonical_text())
    doc["provenance"]["collectors"] = None
    exc = refused(tmp_path, json.dumps(doc))
    assert exc.location is not None and exc.location.field == "provenance.collectors"


def test_null_resource_and_error_items_refused(tmp_path: Path) -> None:
    for name in ("resources", "errors"):
        doc = json.loads(canonical_text())
        doc[name][0] = None
        exc = refused(tmp_path, json.dumps(doc, indent=1))
        assert exc.location is not None and exc.location.field == f"{name}.0"
        assert exc.message.endswith("expected an object")


# -- numbers and text two parsers read differently ---------------------------------------------

@pytest.mark.parametrize(("value", "what"), [
    ("3600.0", "floating-point number 3600.0"),      # int to one reader, float to another
    ("1E400", "floating-point number 1E400"),        # overflows to inf in Python's json
    ("1e2", "floating-point number 1e2"),
    ("NaN", "NaN and Infinity are not JSON"),       # accepted by Python's json, by no standard
    ("-Infinity", "NaN and Infinity are not JSON"),
])
def test_float_and_nan_refused(tmp_path: Path, value: str, what: str) -> None:
    text = canonical_text().replace('"versioning":"Enabled"', f'"versioning":"Enabled","x":{value}', 1)
    exc = refused(tmp_path, text)
    assert what in exc.message
    assert exc.location is not None and exc.location.field == "resources.0.attributes.x"


def test_not_utf8_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(canonical_text().replace("Enabled", "Enabl\udce9d").encode("utf-8", "surrogateescape"))
    with pytest.raises(BadInputError, match="not valid UTF-8"):
        snapshot_io.load(str(path))
    path.write_bytes(canonical_text().encode("utf-16"))
    with pytest.raises(BadInputError, match="UTF-8"):
        snapshot_io.load(str(path))


def test_lone_surrogate_escape_refused(tmp_path: Path) -> None:
    # Python's json accepts "\ud800" (a str no UTF-8 encoder accepts); the snapshot cannot be
    # re-serialised canonically, so it is refused as bad input, not a crash.
    text = pretty_text().replace('"versioning": "Enabled"', '"versioning": "\\ud800"', 1)
    exc = refused(tmp_path, text)
    assert "not valid JSON" in exc.message
    assert exc.location is not None and exc.location.line == line_of(text, "\\ud800")


def test_trailing_garbage_refused_with_line(tmp_path: Path) -> None:
    exc = refused(tmp_path, pretty_text() + "\n\n{}")
    assert "not valid JSON" in exc.message
    assert exc.location is not None and exc.location.line == pretty_text().count("\n") + 3


@pytest.mark.parametrize("text", ["[]", "null", '"snapshot"', "1"])
def test_top_level_not_an_object(tmp_path: Path, text: str) -> None:
    assert "expected a JSON object" in refused(tmp_path, text).message


def test_schema_errors_carry_the_line(tmp_path: Path) -> None:
    doc = json.loads(canonical_text())
    doc["resources"][1]["kind"] = "Not A Kind"
    text = json.dumps(doc, indent=2)
    exc = refused(tmp_path, text)
    assert exc.location is not None and exc.location.field == "resources.1.kind"
    assert exc.location.line == line_of(text, '"kind": "Not A Kind"')


# -- what is still accepted ------------------------------------------------------------------------

def test_pretty_and_reordered_files_still_load(tmp_path: Path) -> None:
    reference = good()
    assert load_text(tmp_path, pretty_text()) == reference
    doc = json.loads(canonical_text())
    reordered = json.dumps({k: doc[k] for k in reversed(list(doc))}, ensure_ascii=True)
    assert load_text(tmp_path, reordered) == reference


def test_same_key_in_different_objects_is_fine(tmp_path: Path) -> None:
    text = canonical_text()
    assert text.count('"kind":') > 2  # every resource and error has one
    load_text(tmp_path, text)


# -- the CLI: exit 3, file and line on stderr, nothing written -------------------------------------

@pytest.mark.parametrize("case", ["attributes", "provenance", "top level"])
def test_cli_refuses_duplicate_keys_and_writes_nothing(tmp_path: Path, capsys: Any, case: str) -> None:
    old, new, key, _ = DUPLICATES[case]
    path = tmp_path / "dup.json"
    path.write_text(canonical_text().replace(old, new, 1))
    out = tmp_path / "reports"
    code = main(["check", "--snapshot", str(path), *BASE, "--out", str(out), "--quiet"])
    assert code == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert f"{path}:1:" in err and f"duplicate key {key!r}" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_cli_refuses_null_attributes_with_line(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "null.json"
    text = _null_text("attributes", pretty=True)
    path.write_text(text)
    out = tmp_path / "reports"
    assert main(["check", "--snapshot", str(path), *BASE, "--out", str(out), "--quiet"]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    line = line_of(text, '"attributes": null')
    assert f"{path}:{line}: resources.0.attributes" in err
    assert not out.exists()


def test_duplicate_version_on_pretty_file(tmp_path: Path) -> None:
    text = pretty_text().replace('\n  "format"', '\n  "version": 2,\n  "format"', 1)
    exc = refused(tmp_path, text)
    assert "duplicate key 'version'" in exc.message
    assert exc.location is not None and exc.location.field == "version"
    assert exc.location.line == line_of(text, '"version": 1')
