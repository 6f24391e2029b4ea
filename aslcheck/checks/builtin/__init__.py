"""The built-in checks, wired in one visible place.

Python check modules are listed in :data:`MODULES`; declarative checks live in
``aslcheck/checks/rules/*.yaml``. :func:`default_registry` builds a fresh registry from both,
with no import-time registration.
"""

from __future__ import annotations

from types import ModuleType

from aslcheck.checks.aws import ec2 as aws_ec2
from aslcheck.checks.aws import iam as aws_iam
from aslcheck.checks.aws import kms as aws_kms
from aslcheck.checks.aws import logging as aws_logging
from aslcheck.checks.aws import network as aws_network
from aslcheck.checks.aws import s3 as aws_s3
from aslcheck.checks.declarative import builtin_rule_specs
from aslcheck.checks.host import endpoint as host_endpoint
from aslcheck.checks.host import network as host_network
from aslcheck.checks.host import sshd as host_sshd
from aslcheck.checks.host import weights as host_weights
from aslcheck.checks.iac import checkov as iac_checkov
from aslcheck.checks.registry import Registry

MODULES: tuple[ModuleType, ...] = (
    aws_s3,
    aws_logging,
    aws_network,
    aws_ec2,
    aws_iam,
    aws_kms,
    host_weights,
    host_sshd,
    host_network,
    host_endpoint,
    iac_checkov,
)
"""Python check modules (each function marked with ``@check`` is registered)."""


def default_registry() -> Registry:
    """A registry holding every built-in check."""
    registry = Registry()
    for module in MODULES:
        registry.add_module(module)
    for spec in builtin_rule_specs():
        registry.add(spec)
    return registry
