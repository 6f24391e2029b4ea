"""checkov's JSON report -> ``iac.checkov.finding`` resources.

Each finding names the checkov check, its result, the Terraform resource and where it is.
Its ``subject`` is the normalised resource the Terraform resource belongs to (a bucket's
versioning block belongs to the bucket), and its tags are that resource's tags, so weight
scoping works on findings exactly as on resources.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable, Mapping
from typing import Any

from aslcheck.errors import BadInputError, Location
from aslcheck.inventories.snapshot import Resource
from aslcheck.inventories.terraform.declared import UNKNOWN, Declared
from aslcheck.inventories.terraform.normalise.base import SOURCE
from aslcheck.inventories.terraform.policy import document_from_data, normalised

FINDING_KIND = "iac.checkov.finding"
"""Kind of a checkov result."""

_RESULTS = (("passed_checks", "passed"), ("failed_checks", "failed"),
            ("skipped_checks", "skipped"))


def _reports(document: Any) -> list[Mapping[str, Any]]:
    """The per-framework reports in checkov's output (a dict, a list, or an empty summary)."""
    items = document if isinstance(document, list) else [document]
    out = []
    for item in items:
        if not isinstance(item, Mapping):
            raise BadInputError("checkov printed an unexpected JSON document")
        if "results" in item:
            out.append(item)
        elif "resource_count" not in item:
            raise BadInputError("checkov printed a JSON document without results")
    return out


def checkov_version(document: Any) -> str:
    """checkov's version as it reports it in the summary (``unknown`` if absent)."""
    items = document if isinstance(document, list) else [document]
    for item in items:
        if isinstance(item, Mapping):
            summary = item.get("summary", item)
            if isinstance(summary, Mapping) and isinstance(summary.get("checkov_version"), str):
                return str(summary["checkov_version"])
    return "unknown"


def shown_path(root: str, file_path: str, is_dir: bool) -> str:
    """The user-facing path of a file checkov reports relative to the scanned ``root``."""
    if not is_dir:
        return root.replace("\\", "/")
    return posixpath.normpath(posixpath.join(root.replace("\\", "/"), file_path.lstrip("/")))


def parsing_errors(document: Any) -> None:
    """Raise :class:`BadInputError` naming the first file checkov could not parse."""
    for report in _reports(document):
        errors = report.get("results", {}).get("parsing_errors") or []
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise BadInputError(f"checkov could not parse this file{more}",
                                Location(str(errors[0])))


def _subjects(resources: Iterable[Resource]) -> dict[str, Resource]:
    """Terraform address -> the normalised resource it is part of."""
    out: dict[str, Resource] = {}
    for res in resources:
        loc = res.attributes.get("location")
        if isinstance(loc, Mapping) and isinstance(loc.get("address"), str):
            out[str(loc["address"])] = res
        for part in res.attributes.get("terraform_parts", ()) or ():
            out.setdefault(str(part), res)
    return out


def _principal_documents(declared: Declared) -> dict[str, bool | None]:
    """Policy-document data source (as checkov names it) -> whether it names principals.

    A document with principals is a resource policy (bucket, key, trust policy); checks meant
    for identity policies misread it (a key policy's ``Resource: "*"`` means "this key").
    """
    out: dict[str, bool | None] = {}
    for block in declared.blocks:
        if block.mode != "data" or block.type != "aws_iam_policy_document":
            continue
        stmts = block.body.blocks("statement")
        if stmts is UNKNOWN:
            out[f"{block.type}.{block.name}"] = None
            continue
        named: bool | None = False
        for s in stmts:
            found = [s.blocks("principals"), s.blocks("not_principals")]
            if any(f is UNKNOWN for f in found):
                named = None
            elif any(f for f in found):
                named = True
                break
        out[f"{block.type}.{block.name}"] = named
    return out


_POLICY_ATTRS = ("policy", "trust_policy")


def _policy_users(declared: Declared, resources: Iterable[Resource]
                  ) -> dict[str, list[dict[str, Any]]]:
    """Policy-document data source (as checkov names it) -> the resources whose policy it is.

    Matched by content (the normalised document equals the resource's bucket, key, endpoint or
    trust policy), so it holds however the document reaches the resource (directly, through a
    local, a plan). A document the code does not determine is absent: its users are unknown.
    """
    by_content: dict[str, list[dict[str, Any]]] = {}
    for res in resources:
        for attr in _POLICY_ATTRS:
            doc = res.attributes.get(attr)
            if isinstance(doc, Mapping):
                by_content.setdefault(json.dumps(doc, sort_keys=True), []).append(
                    {"kind": res.kind, "id": res.id,
                     "tags": dict(res.tags) if res.tags is not None else None})
    out: dict[str, list[dict[str, Any]]] = {}
    for block in declared.blocks:
        if block.mode != "data" or block.type != "aws_iam_policy_document":
            continue
        doc = normalised(document_from_data(block))
        if isinstance(doc, Mapping):
            out[f"{block.type}.{block.name}"] = by_content.get(json.dumps(doc, sort_keys=True),
                                                              [])
    return out


def _context(resources: list[Resource]) -> dict[str, dict[str, Any]]:
    """Config-independent facts about each resource that scope checkov results.

    ``vpc``: the VPC a resource sits in and that VPC's tags (so a check can tell a weight VPC
    without reading VPC resources); ``trail_bucket``: whether a declared trail delivers to a
    bucket (None when a name is not determined).
    """
    vpcs = {r.attributes.get("vpc_id"): r for r in resources if r.kind == "aws.ec2.vpc"}
    trails = [r.attributes.get("s3_bucket", UNKNOWN) for r in resources
              if r.kind == "aws.cloudtrail.trail"]
    out: dict[str, dict[str, Any]] = {}
    for res in resources:
        facts: dict[str, Any] = {}
        vpc_id = res.attributes.get("vpc_id")
        if isinstance(vpc_id, str) and res.kind != "aws.ec2.vpc":
            vpc = vpcs.get(vpc_id)
            facts["vpc"] = {"id": vpc_id} if vpc is None or vpc.tags is None else \
                {"id": vpc_id, "tags": dict(vpc.tags)}
        if res.kind == "aws.s3.bucket":
            name = res.attributes.get("name")
            if isinstance(name, str) and name in trails:
                facts["trail_bucket"] = True
            elif isinstance(name, str) and all(isinstance(t, str) for t in trails):
                facts["trail_bucket"] = False
        out[res.id] = facts
    return out


def findings(document: Any, root: str, is_dir: bool, resources: list[Resource],
             declared: Declared) -> list[Resource]:
    """One ``iac.checkov.finding`` per checkov result."""
    subjects = _subjects(resources)
    facts = _context(resources)
    documents = _principal_documents(declared)
    users = _policy_users(declared, resources)
    out: dict[str, Resource] = {}
    for report in _reports(document):
        results = report.get("results", {})
        for key, result in _RESULTS:
            for item in results.get(key) or []:
                res = _finding(item, result, root, is_dir, subjects, documents, facts, users)
                out[res.id] = res
    return list(out.values())


def _finding(item: Mapping[str, Any], result: str, root: str, is_dir: bool,
             subjects: Mapping[str, Resource], documents: Mapping[str, bool | None],
             facts: Mapping[str, Mapping[str, Any]],
             users: Mapping[str, list[dict[str, Any]]]) -> Resource:
    address = str(item.get("resource", ""))
    file = shown_path(root, str(item.get("file_path", "")), is_dir)
    lines = item.get("file_line_range") or []
    location: dict[str, Any] = {"file": file, "address": address}
    if isinstance(lines, list) and len(lines) == 2 and all(isinstance(n, int) for n in lines):
        location.update(start_line=lines[0], end_line=lines[1])
    attrs: dict[str, Any] = {
        "check_id": str(item.get("check_id")),
        "check_name": str(item.get("check_name", "")),
        "result": result,
        "resource": address,
        "resource_type": address.rsplit(".", 2)[-2] if address.count(".") >= 1 else "",
        "location": location,
    }
    if address in documents and documents[address] is not None:
        attrs["declares_principals"] = documents[address]
    if address in users:
        attrs["policy_of"] = users[address]
    if item.get("guideline"):
        attrs["guideline"] = str(item["guideline"])
    suppress = (item.get("check_result") or {}).get("suppress_comment")
    if result == "skipped":
        attrs["suppress_comment"] = str(suppress or "")
    subject = subjects.get(address)
    tags: Any
    if subject is not None:
        attrs["subject"] = {"kind": subject.kind, "id": subject.id}
        attrs.update(facts.get(subject.id, {}))
        tags = subject.tags
    else:
        raw = item.get("entity_tags")
        tags = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else None
    ident = f"{attrs['check_id']}:{address}@{file}"
    return Resource(kind=FINDING_KIND, id=ident, source=SOURCE, attributes=attrs, tags=tags,
                    account=subject.account if subject else None,
                    region=subject.region if subject else None)
