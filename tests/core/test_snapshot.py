"""Snapshot format: canonical bytes, digest, merge, schema validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aslcheck.errors import BadInputError
from aslcheck.inventories import snapshot as snapshot_io
from aslcheck.inventories.snapshot import CollectionError, Snapshot, canonical_json, merge
from tests.core.conftest import bucket, snap


def test_digest_is_order_independent() -> None:
    a, b = bucket("a"), bucket("b")
    assert Snapshot(resources=(a, b)).digest() == Snapshot(resources=(b, a)).digest()
    assert Snapshot(resources=(a,)).digest() != Snapshot(resources=(b,)).digest()


def test_canonical_json_refuses_floats() -> None:
    with pytest.raises(ValueError, match="floats"):
        canonical_json({"a": [1.5]})


def test_round_trip(tmp_path: Any) -> None:
    err = CollectionError("aws", "s3:GetBucketPolicy", "AccessDenied", "no", resource="arn:aws:s3:::a",
                          kind="aws.s3.bucket")
    s = snap(bucket("a"), errors=(err,))
    path = tmp_path / "s.json"
    path.write_bytes(s.canonical_bytes())
    loaded, raw = snapshot_io.load(str(path))
    assert loaded == s
    assert raw == s.canonical_bytes()
    assert loaded.digest() == s.digest()


def test_merge() -> None:
    one, two = snap(bucket("a")), snap(bucket("a"), bucket("b"))
    merged = merge([one, two])
    assert [r.id for r in merged.resources] == ["arn:aws:s3:::a", "arn:aws:s3:::b"]
    assert len(merged.runs) == 2
    with pytest.raises(BadInputError, match="conflicting"):
        merge([one, snap(bucket("a", versioning="Suspended"))])


@pytest.mark.parametrize(("doc", "message"), [
    ({"format": "other"}, "not a valid aslcheck snapshot"),
    ({"format": "aslcheck.snapshot", "version": 1, "provenance": {"collectors": []},
      "resources": [{"kind": "Bad Kind", "id": "x", "source": "aws", "attributes": {}}], "errors": []},
     "resources.0.kind"),
])
def test_invalid_documents(tmp_path: Any, doc: Any, message: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(BadInputError, match=message.replace(".", r"\.")):
        snapshot_io.load(str(path))


def test_not_json(tmp_path: Any) -> None:
    path = tmp_path / "s.json"
    path.write_text("{\n  oops")
    with pytest.raises(BadInputError) as info:
        snapshot_io.load(str(path))
    assert info.value.location is not None and info.value.location.line == 2


ITEM_CASES = [
    {"kind": "aws.s3.bucket", "id": "x", "source": "aws", "attributes": {}},
    {"kind": "aws.s3.bucket", "id": "x", "source": "aws", "attributes": {}, "tags": {"a": "b"}, "host": "h"},
    {"kind": "Bad", "id": "x", "source": "aws", "attributes": {}},
    {"kind": "aws.s3.bucket", "id": "", "source": "aws", "attributes": {}},
    {"kind": "aws.s3.bucket", "id": "x", "source": "aws"},
    {"kind": "aws.s3.bucket", "id": "x", "source": "aws", "attributes": []},
    {"kind": "aws.s3.bucket", "id": "x", "source": "aws", "attributes": {}, "tags": {"a": 1}},
    {"kind": "aws.s3.bucket", "id": "x", "source": "aws", "attributes": {}, "extra": 1},
    {"kind": "aws.s3.bucket", "id": 5, "source": "aws", "attributes": {}},
    "not an object",
]


@pytest.mark.parametrize("item", ITEM_CASES)
def test_fast_item_validation_agrees_with_the_schema(item: Any) -> None:
    import jsonschema

    from aslcheck.inventories.schema import snapshot_schema, validate_snapshot_document

    doc = {"format": "aslcheck.snapshot", "version": 1, "provenance": {"collectors": []},
           "resources": [item], "errors": []}
    schema_ok = jsonschema.Draft202012Validator(snapshot_schema()).is_valid(doc)
    try:
        validate_snapshot_document(doc, "s.json")
        fast_ok = True
    except BadInputError:
        fast_ok = False
    assert schema_ok == fast_ok
