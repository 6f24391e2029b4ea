"""The Terraform collector: code (a directory or a plan) plus checkov, into one snapshot.

checkov runs as a subprocess while the collector parses and normalises the same code, so
the gate costs little more than checkov alone. When checkov's view of the configuration
provably differs from Terraform's (override files, hidden variable files, a ``.checkov.yaml``
in the scanned directory that can change which checks run), every checkov result is marked
untrusted and the collector records a ``CheckovInputsDiverge`` error on the finding kind:
checkov's evidence is then missing, never counted.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import yaml

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
_CHECKOV_CONFIGS = (".checkov.yaml", ".checkov.yml")
_HARMLESS_CONFIG_KEYS = frozenset({"compact", "soft-fail", "no-guide", "skip-download"})
"""``.checkov.yaml`` keys that change neither which results checkov reports nor what its checks
see (``quiet`` is not one: it drops every passed result)."""


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


def _config_divergence(directory: str) -> list[str]:
    """Why a ``.checkov.yaml`` in the scanned directory makes checkov's results untrustworthy."""
    out = []
    for name in _CHECKOV_CONFIGS:
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8") as fh:
                doc: Any = yaml.safe_load(fh)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            doc = None
        keys = set(doc) if isinstance(doc, dict) else None
        if keys is None or keys - _HARMLESS_CONFIG_KEYS:
            shown = sorted(str(k) for k in keys - _HARMLESS_CONFIG_KEYS) if keys else ["?"]
            out.append(f"checkov reads {name} in the scanned directory, whose settings "
                       f"({', '.join(shown)}) can skip checks or change what they see")
    return out


def divergence(declared: Declared, directory: str | None) -> list[str]:
    """Why checkov's view of the code differs from Terraform's (empty when it does not)."""
    inputs = declared.inputs
    out = []
    if inputs.overrides:
        out.append("checkov does not apply Terraform override files "
                   f"({', '.join(inputs.overrides)}): it reads them as separate definitions")
    if inputs.hidden_var_files:
        out.append("checkov does not load variable files whose names start with '.' "
                   f"({', '.join(inputs.hidden_var_files)}), which Terraform loads")
    if directory is not None:
        out += _config_divergence(directory)
    return out


def _untrusted(found: list[Resource], reasons: Sequence[str]) -> list[Resource]:
    if not reasons:
        return found
    why = "; ".join(reasons)
    return [Resource(kind=f.kind, id=f.id, source=f.source,
                     attributes={**f.attributes, "untrusted": why}, tags=f.tags,
                     account=f.account, region=f.region) for f in found]


class TerraformCollector:
    """Reads Terraform code (directory) or a plan (``terraform show -json``) and runs checkov.

    Malformed HCL or variable files, an unreadable plan, or a file checkov cannot parse raise
    :class:`~aslcheck.errors.BadInputError` naming the file (and line when known): the
    gate must fail closed on bad input rather than evaluate part of the code.
    """

    name = "terraform"

    def __init__(self, target: str, runner: CheckovRunner | None = None,
                 var_files: Sequence[str] = (), environment_variables: Iterable[str] = ()
                 ) -> None:
        self.target = target
        """Directory or plan file, as the user named it (paths in findings start with it)."""
        self.runner: CheckovRunner = runner or SubprocessCheckovRunner()
        """How checkov is run (injected in tests)."""
        self.var_files = tuple(var_files)
        """``-var-file`` arguments for a directory scan, highest precedence last."""
        self.environment_variables = frozenset(environment_variables)
        """Names of the caller's environment variables (only ``TF_VAR_*`` matter); their
        values are never read."""

    def kinds(self) -> frozenset[str]:
        """Every kind it can produce."""
        return KINDS | {FINDING_KIND}

    def _check_target(self) -> bool:
        is_dir = os.path.isdir(self.target)
        if not is_dir and not os.path.isfile(self.target):
            raise BadInputError("no such directory or plan file", Location(self.target))
        if not is_dir and self.var_files:
            raise BadInputError("variable files apply to a directory scan; a plan already holds "
                                "the values Terraform used", Location(self.var_files[0]))
        return is_dir

    def declared(self) -> Declared:
        """Parse the code or plan (no checkov)."""
        if self._check_target():
            return load_directory(self.target, self.var_files, self.environment_variables)
        return load_plan(self.target)

    def collect(self, request: CollectionRequest) -> Snapshot:
        """Parse, run checkov, normalise; every resource has ``source="terraform"``."""
        started = utc_now()
        is_dir = self._check_target()
        framework = Framework.TERRAFORM if is_dir else Framework.TERRAFORM_PLAN
        target = CheckovTarget(self.target, framework, self.var_files)
        request.progress("terraform: checkov", 0, 1)
        start = getattr(self.runner, "start", None)
        # NOTE: checkov (a subprocess) runs while we parse and normalise the same code.
        running = start(target) if callable(start) else None
        try:
            declared = self.declared()
            resources: list[Resource] = normalise(declared)
        except BaseException:
            if running is not None:
                running.cancel()
            raise
        output = running.result() if running is not None else self.runner(target)
        request.progress("terraform: checkov", 1, 1)
        parsing_errors(output.document)
        reasons = divergence(declared, self.target if is_dir else None)
        found = _untrusted(findings(output.document, self.target, is_dir, resources, declared),
                           reasons)
        resources = _with_lines(resources, found) + found
        if request.kinds:
            resources = [r for r in resources if r.kind in request.kinds]
        errors = _errors(declared) + [
            CollectionError(source=SOURCE, operation="checkov:run", code="CheckovInputsDiverge",
                            message=f"{why}; its results are not evidence", kind=FINDING_KIND)
            for why in reasons]
        # NOTE: code declares what it manages, not everything in the account, so no kind is
        # claimed as listed completely except checkov's own findings.
        run = CollectorRun(
            name=self.name,
            version=f"aslcheck {__version__}; checkov {checkov_version(output.document)}",
            targets=(self.target, *self.var_files), kinds=(FINDING_KIND,), started=started,
            ended=utc_now())
        return Snapshot(resources=tuple(resources), errors=tuple(errors), runs=(run,))
