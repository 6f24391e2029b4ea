"""Controls: the YAML catalog, the user config, waivers and manual attestations."""

from aslcheck.controls.config import PARAM_SPECS, Access, Config, Scope
from aslcheck.controls.loader import load_catalog, load_config
from aslcheck.controls.model import (
    Catalog,
    Control,
    ControlId,
    ManualAttestation,
    Profile,
    Verification,
    Waiver,
)

__all__ = [
    "PARAM_SPECS",
    "Access",
    "Catalog",
    "Config",
    "Control",
    "ControlId",
    "ManualAttestation",
    "Profile",
    "Scope",
    "Verification",
    "Waiver",
    "load_catalog",
    "load_config",
]
