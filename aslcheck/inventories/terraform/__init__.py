"""Terraform inventory: code or plans, checkov findings, normalised into the AWS model.

See ``docs/terraform.md``. Needs the ``[terraform]`` extra (``bc-python-hcl2``) for directory
scans and a checkov executable in its own virtual environment for findings.
"""

from aslcheck.inventories.terraform.collector import TerraformCollector
from aslcheck.inventories.terraform.findings import FINDING_KIND
from aslcheck.inventories.terraform.runner import (
    CheckovError,
    CheckovOutput,
    CheckovRunner,
    CheckovTarget,
    Framework,
    SubprocessCheckovRunner,
    find_checkov,
)

__all__ = [
    "FINDING_KIND",
    "CheckovError",
    "CheckovOutput",
    "CheckovRunner",
    "CheckovTarget",
    "Framework",
    "SubprocessCheckovRunner",
    "TerraformCollector",
    "find_checkov",
]
