"""The Terraform collector: code (a directory or a plan) plus checkov, into one snapshot."""

from __future__ import annotations

import os

from aslcheck import __version__
from aslcheck.errors import BadInputError, Location
from aslcheck.inventories.interface import CollectionRequest, utc_now
from aslcheck.inventories.snapshot import CollectionError, CollectorRun, Resource, Snapshot
from aslcheck.inventories.terraform.declared import Declared
from aslcheck.inventories.terraform.findings import (
    FINDING_KIND,
    checkov_version,
    findings,
    parsing_errors,
)
from aslcheck.inventories.terraform.hcl import load_directory
from aslcheck.inventories.terraform.normalise import KINDS, SOURCE, TYPE_KINDS, UNMODELLED, normalise
from aslcheck.inventories.terraform.plan import load_plan
from aslcheck.inventories.terraform.runner import (
    CheckovRunner,
    CheckovTarget,
    Framework,
    SubprocessCheckovRunner,
)

_EVALUATE = "terraform:evaluate"


def _errors(declared: Declared) -> list[CollectionError]:
    """Collection errors for what the code declares but cannot be evaluated or is not modelled."""
    out: list[CollectionError] = []
    for p in declared.problems:
        kind = TYPE_KINDS.get(p.resource_type or "") if p.resource_type else None
        if p.resource_type and kind is None:
            continue  # a type no check reads: its instances cannot matter
        out.append(CollectionError(source=SOURCE, operation=_EVALUATE, code=p.code,
                                   message=p.message, resource=p.address if kind else None,
                                   kind=kind))
    for block in declared.blocks:
        kind = UNMODELLED.get(block.type)
        if block.mode == "managed" and kind is not None:
            out.append(CollectionError(
                source=SOURCE, operation=_EVALUATE, code="NotModelled",
                message=f"{block.address} ({block.type}) affects {kind} but is not read by "
                        "the Terraform normaliser", resource=block.address, kind=kind))
    return out


def _with_lines(resources: list[Resource], found: list[Resource]) -> list[Resource]:
    """Give resources read from a plan (no lines) the plan-file lines checkov reports."""
    lines: dict[str, dict[str, object]] = {}
    for f in found:
        loc = f.attributes.get("location")
        if isinstance(loc, dict) and "start_line" in loc:
            lines.setdefault(str(loc.get("address")), loc)
    out = []
    for res in resources:
        loc = res.attributes.get("location")
        if isinstance(loc, dict) and "start_line" not in loc and loc.get("address") in lines:
            hit = lines[str(loc["address"])]
            loc = {**loc, "start_line": hit["start_line"], "end_line": hit["end_line"]}
            out.append(Resource(kind=res.kind, id=res.id, source=res.source,
                                attributes={**res.attributes, "location": loc}, tags=res.tags,
                                account=res.account, region=res.region))
        else:
            out.append(res)
    return out


class TerraformCollector:
    """Reads Terraform code (directory) or a plan (``terraform show -json``) and runs checkov.

    Malformed HCL, an unreadable plan, or a file checkov cannot parse raise
    :class:`~aslcheck.errors.BadInputError` naming the file (and line when known): the
    gate must fail closed on bad input rather than evaluate part of the code.
    """

    name = "terraform"

    def __init__(self, target: str, runner: CheckovRunner | None = None) -> None:
        self.target = target
        """Directory or plan file, as the user named it (paths in findings start with it)."""
        self.runner: CheckovRunner = runner or SubprocessCheckovRunner()
        """How checkov is run (injected in tests)."""

    def kinds(self) -> frozenset[str]:
        """Every kind it can produce."""
        return KINDS | {FINDING_KIND}

    def declared(self) -> Declared:
        """Parse the code or plan (no checkov)."""
        if os.path.isdir(self.target):
            return load_directory(self.target)
        if os.path.isfile(self.target):
            return load_plan(self.target)
        raise BadInputError("no such directory or plan file", Location(self.target))

    def collect(self, request: CollectionRequest) -> Snapshot:
        """Parse, run checkov, normalise; every resource has ``source="terraform"``."""
        started = utc_now()
        is_dir = os.path.isdir(self.target)
        declared = self.declared()
        request.progress("terraform: checkov", 0, 1)
        framework = Framework.TERRAFORM if is_dir else Framework.TERRAFORM_PLAN
        output = self.runner(CheckovTarget(self.target, framework))
        request.progress("terraform: checkov", 1, 1)
        parsing_errors(output.document)
        resources: list[Resource] = normalise(declared)
        found = findings(output.document, self.target, is_dir, resources, declared)
        resources = _with_lines(resources, found) + found
        if request.kinds:
            resources = [r for r in resources if r.kind in request.kinds]
        # NOTE: code declares what it manages, not everything in the account, so no kind is
        # claimed as listed completely except checkov's own findings.
        run = CollectorRun(
            name=self.name,
            version=f"aslcheck {__version__}; checkov {checkov_version(output.document)}",
            targets=(self.target,), kinds=(FINDING_KIND,), started=started, ended=utc_now())
        return Snapshot(resources=tuple(resources), errors=tuple(_errors(declared)), runs=(run,))
