"""Derive the vendored JSON Schema of an OCSF Compliance Finding from an OCSF schema export.

    pip download --no-deps ocsf-json-schema==1.2.0 && unzip ocsf_json_schema-1.2.0-*.whl
    python tests/data/ocsf/make_schema.py ocsf_json_schema/ocsf/1.5.0.json > \
        tests/data/ocsf/compliance_finding-1.5.0.schema.json

The export is schema.ocsf.io's ``/1.5.0/export/schema`` (Apache-2.0), as bundled by the PyPI
package above. The result keeps the class ``compliance_finding`` (class_uid 2003) and the
objects aslcheck emits: every attribute OCSF defines there, with its type and enum, and the
attributes OCSF marks ``required`` (outside optional profiles) as required. Attributes OCSF does
not define are refused (``additionalProperties: false``), so a misspelt field fails the test.
"""

from __future__ import annotations

import json
import sys
from typing import Any

OBJECTS = ("metadata", "product", "finding_info", "compliance", "resource_details", "remediation", "evidences")
_SCALARS = {"boolean_t": {"type": "boolean"}, "float_t": {"type": "number"}, "integer_t": {"type": "integer"},
            "long_t": {"type": "integer"}, "timestamp_t": {"type": "integer"}, "port_t": {"type": "integer"},
            "json_t": {}}


def _attr(export: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    kind = spec["type"]
    if kind == "object_t":
        name = spec.get("object_type", "object")
        one: dict[str, Any] = {"$ref": f"#/$defs/{name}"} if name in OBJECTS else {"type": "object"}
    else:
        base = export["types"].get(kind, {}).get("type", kind)
        one = dict(_SCALARS.get(kind, _SCALARS.get(base, {"type": "string"})))
        if "enum" in spec and one.get("type") == "integer":
            one["enum"] = sorted(int(k) for k in spec["enum"])
    return {"type": "array", "items": one} if spec.get("is_array") else one


def _object(export: dict[str, Any], attrs: dict[str, Any], title: str) -> dict[str, Any]:
    return {
        "title": title,
        "type": "object",
        "additionalProperties": False,
        "required": sorted(k for k, v in attrs.items() if v.get("requirement") == "required" and not v.get("profile")),
        "properties": {k: _attr(export, v) for k, v in sorted(attrs.items())},
    }


def main(path: str) -> None:
    with open(path, encoding="utf-8") as fh:
        export = json.load(fh)
    cls = export["classes"]["compliance_finding"]
    schema = _object(export, cls["attributes"], f"OCSF {export['version']} Compliance Finding (class_uid 2003)")
    schema["properties"]["class_uid"]["enum"] = [cls["uid"]]
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$comment": f"Derived by tests/data/ocsf/make_schema.py from the OCSF {export['version']} export "
                          "(schema.ocsf.io, Apache-2.0); see README.md.", **schema,
              "$defs": {name: _object(export, export["objects"][name]["attributes"], name) for name in OBJECTS}}
    json.dump(schema, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
