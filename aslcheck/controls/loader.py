"""Load and validate the catalog, overlays, the user config, waivers and attestations.

Everything is validated before anything is collected: a schema violation, a duplicate ID or a
reference to a check that does not exist raises :class:`BadInputError` naming file, line and
field.
"""

from __future__ import annotations

import json
import os
from collections.abc import Container, Mapping, Sequence
from datetime import date, datetime, timezone
from functools import cache
from importlib import resources
from typing import Any

from aslcheck.controls.config import PARAM_SPECS, Access, Approvers, Config, HostGroupScope, Scope, tighten
from aslcheck.controls.model import (
    DEFAULT_SEVERITY,
    Catalog,
    Control,
    ControlId,
    ManualAttestation,
    Profile,
    RspSource,
    Severity,
    Verification,
    Waiver,
)
from aslcheck.controls.yamlio import Located, load_yaml, validate
from aslcheck.errors import BadInputError
from aslcheck.inventories.snapshot import canonical_json, sha256_hex

BUILTIN_CATALOG = "aslcheck/controls/catalog/asl.yaml"


@cache
def _schema(name: str) -> dict[str, Any]:
    text = resources.files("aslcheck.controls").joinpath("schema").joinpath(name).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _builtin_doc() -> Located:
    text = resources.files("aslcheck.controls").joinpath("catalog").joinpath("asl.yaml").read_text("utf-8")
    return load_yaml(BUILTIN_CATALOG, text)


def _control(doc: Located, i: int, raw: Mapping[str, Any]) -> Control:
    loc = doc.where(("controls", i))
    src = raw["sources"]
    return Control(
        id=ControlId(raw["id"]),
        title=raw["title"],
        level=raw["level"],
        domain=raw["domain"],
        statement=" ".join(raw["statement"].split()),
        rsp=tuple(RspSource(s["version"], s["section"]) for s in src["rsp"]),
        nist=tuple(src["nist"]),
        rand=src.get("rand"),
        verification=Verification(raw["verification"]),
        checks=tuple(raw["checks"]),
        evidence=" ".join(raw["evidence"].split()) if "evidence" in raw else None,
        remediation=" ".join(raw["remediation"].split()) if "remediation" in raw else None,
        optional=raw.get("optional", False),
        origin=f"{loc.file}:{loc.line}",
        severity=Severity(raw["severity"]) if "severity" in raw else DEFAULT_SEVERITY,
    )


def load_catalog(files: Sequence[str] = (), checks: Container[str] | None = None,
                 builtin: bool = True) -> tuple[Catalog, str]:
    """Merge the built-in catalog with user files/overlays; return it and its digest.

    ``checks`` is the set of known check IDs; a reference to any other ID is an error.
    """
    docs = ([_builtin_doc()] if builtin else []) + [load_yaml(f) for f in files]
    controls: dict[ControlId, Control] = {}
    profiles: dict[str, Profile] = {}
    params: dict[str, int] = {}
    for doc in docs:
        validate(doc, _schema("catalog.schema.json"), "catalog")
        data = doc.data
        for name, raw in data.get("profiles", {}).items():
            if name in profiles:
                raise BadInputError(f"duplicate profile {name!r}", doc.where(("profiles", name)))
            profiles[name] = Profile(name, raw["title"], tuple(raw["levels"]))
        for i, raw in enumerate(data.get("controls", [])):
            ctl = _control(doc, i, raw)
            if ctl.id in controls:
                raise BadInputError(
                    f"duplicate control ID {ctl.id!r} (first declared at {controls[ctl.id].origin})",
                    doc.where(("controls", i, "id")))
            _check_refs(doc, ("controls", i, "checks"), ctl.checks, checks)
            controls[ctl.id] = ctl
        for i, raw in enumerate(data.get("overrides", [])):
            cid = ControlId(raw["id"])
            if cid not in controls:
                raise BadInputError(f"override of unknown control {cid!r}",
                                    doc.where(("overrides", i, "id")))
            added = tuple(raw.get("add_checks", ()))
            _check_refs(doc, ("overrides", i, "add_checks"), added, checks)
            old = controls[cid]
            tightened = dict(old.parameters)
            for name, value in raw.get("parameters", {}).items():
                tightened[name] = tighten(name, tightened.get(name), value)
            verification = old.verification
            if "verification" in raw:
                # Overlays may only move towards more evidence, never back to manual.
                verification = Verification(raw["verification"])
            severity = old.severity
            if "severity" in raw:
                severity = Severity(raw["severity"])
                if severity.rank < old.severity.rank:
                    # NOTE: a lower severity would drop the control out of `--severity` runs.
                    raise BadInputError(
                        f"overlays may only raise a control's severity: {cid} is {old.severity.value}, "
                        f"not {severity.value}", doc.where(("overrides", i, "severity")))
            controls[cid] = Control(**{**old.__dict__, "checks": old.checks + tuple(
                c for c in added if c not in old.checks), "parameters": tightened,
                "verification": verification, "severity": severity})
        for name, value in data.get("parameters", {}).items():
            params[name] = tighten(name, params.get(name), value)
    if "asl2" not in profiles and builtin:
        raise BadInputError("catalog defines no profile 'asl2'", docs[0].where(("profiles",)))
    catalog = Catalog(controls=controls, profiles=profiles,
                      files=tuple(d.file for d in docs), parameters=params)
    return catalog, sha256_hex(canonical_json(catalog.to_json()))


def _check_refs(doc: Located, path: tuple[str | int, ...], ids: Sequence[str],
                known: Container[str] | None) -> None:
    if known is None:
        return
    for j, cid in enumerate(ids):
        if cid not in known:
            raise BadInputError(f"reference to a check that does not exist: {cid!r}",
                                doc.where(path + (j,)))


def load_config(path: str | None, catalog: Catalog | None = None) -> tuple[Config, str]:
    """Parse ``aslcheck.yaml``; return the typed config and the digest of its canonical content."""
    if path is None:
        return Config(), sha256_hex(canonical_json({}))
    doc = load_yaml(path)
    validate(doc, _schema("config.schema.json"), "config")
    data: dict[str, Any] = doc.data
    weights = data["weights"]
    aws = weights.get("aws", {})
    hosts = weights.get("hosts", {})
    scope = Scope(
        weight_tags=dict(aws.get("tags", {})),
        weight_arn_patterns=tuple(aws.get("arn_patterns", ())),
        allowed_storage=tuple(aws.get("allowed_storage", ())),
        approved_vpc_endpoints=tuple(aws.get("approved_vpc_endpoints", ())),
        host_groups=tuple(HostGroupScope(name, tuple(g["paths"]))
                          for name, g in sorted(hosts.get("groups", {}).items())),
        aws="aws" in weights,
        hosts="hosts" in weights,
    )
    acc = data.get("access", {})
    access = Access(**{k: tuple(acc.get(k, ())) for k in (
        "roster", "broker_roles", "broker_principals", "human_patterns", "host_roster")})
    parameters: dict[str, int | None] = {n: s.default for n, s in PARAM_SPECS.items()}
    parameters.update(data.get("parameters", {}))
    if catalog is not None:
        # NOTE: overlays can only tighten what the organisation declared, never loosen it.
        for name, value in catalog.parameters.items():
            parameters[name] = tighten(name, parameters.get(name), value)
    base = os.path.dirname(os.path.abspath(path))
    appr = data.get("approvers")
    approvers = Approvers(
        keys=tuple(_rel(base, k) or k for k in appr["keys"]),
        threshold=appr.get("threshold", 2),
        require_signed=appr.get("require_signed", False),
    ) if appr else Approvers()
    config = Config(
        scope=scope,
        access=access,
        parameters=parameters,
        host_settings=dict(data.get("hosts", {})),
        aws_settings=dict(data.get("aws", {})),
        waivers_file=_rel(base, data.get("waivers")),
        attestations_file=_rel(base, data.get("attestations")),
        source_file=path,
        approvers=approvers,
    )
    return config, sha256_hex(canonical_json(data))


def _rel(base: str, value: str | None) -> str | None:
    if value is None:
        return None
    return value if os.path.isabs(value) else os.path.join(base, value)


def parse_time(value: str, doc: Located, path: tuple[str | int, ...]) -> datetime:
    """A date (``2027-01-31``, meaning its start, UTC) or an RFC 3339 time."""
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInputError(f"expected a date (YYYY-MM-DD) or RFC 3339 time, got {value!r}",
                            doc.where(path)) from None
    if parsed.tzinfo is None:
        raise BadInputError(f"time {value!r} needs a timezone (e.g. Z)", doc.where(path))
    return parsed.astimezone(timezone.utc)


def parse_waiver_document(
    doc: Located, catalog: Catalog
) -> tuple[list[Waiver], list[ManualAttestation]]:
    """Validate and parse one waiver/attestation document (a file, or a signed envelope's payload)."""
    waivers: list[Waiver] = []
    attestations: list[ManualAttestation] = []
    validate(doc, _schema("waivers.schema.json"), "waiver/attestation file")
    for key in ("waivers", "attestations"):
        for i, raw in enumerate(doc.data.get(key, [])):
            if raw["control"] not in catalog.controls:
                raise BadInputError(f"unknown control {raw['control']!r}",
                                    doc.where((key, i, "control")))
    for i, raw in enumerate(doc.data.get("waivers", [])):
        waivers.append(Waiver(
            control=ControlId(raw["control"]), justification=raw["justification"],
            approver=raw["approver"], ticket=raw["ticket"],
            expires=parse_time(raw["expires"], doc, ("waivers", i, "expires")),
            resource=raw.get("resource"), origin=str(doc.where(("waivers", i)))))
    for i, raw in enumerate(doc.data.get("attestations", [])):
        attestations.append(ManualAttestation(
            control=ControlId(raw["control"]), attested_by=raw["attested_by"],
            date=parse_time(raw["date"], doc, ("attestations", i, "date")),
            evidence=raw["evidence"],
            expires=parse_time(raw["expires"], doc, ("attestations", i, "expires")),
            origin=str(doc.where(("attestations", i)))))
    return waivers, attestations
