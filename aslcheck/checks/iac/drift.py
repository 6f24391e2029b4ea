"""Declared (Terraform) versus live (AWS) drift for weight resources.

A pure function of a merged snapshot: resources with ``source="terraform"`` are what the code
declares, ``source="aws"`` what the live collector saw. Buckets are matched by name, keys by
a shared alias. Only weight resources (either side in the weight scope) are compared, and only
live resources in the accounts the code targets count as "not in the code".

Not a registered check: a check reading ``aws.*`` kinds runs in every live-only evaluation,
where it would find nothing to compare and leave its controls INCONCLUSIVE. The gate returns
these records next to the evaluation; the live side's own violations already fail the gate
through the shared checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from aslcheck.controls.config import Config
from aslcheck.inventories.snapshot import Resource, Snapshot

BUCKET = "aws.s3.bucket"
KEY = "aws.kms.key"
DECLARED_SOURCE = "terraform"
LIVE_SOURCE = "aws"

_BUCKET_ATTRS = ("versioning", "public_access_block", "policy", "ownership", "object_lock")
_KEY_ATTRS = ("key_state", "rotation_enabled", "policy")


class DriftKind(Enum):
    """What kind of disagreement."""

    MISMATCH = "mismatch"
    """Both exist and an attribute differs (e.g. code: SSE-KMS with a CMK; live: SSE-S3)."""
    NOT_IN_CODE = "not_in_code"
    """A live weight resource in an account the code targets is not declared."""
    NOT_DEPLOYED = "not_deployed"
    """A declared weight resource does not exist live (expected before the first apply)."""
    UNDECIDED = "undecided"
    """An attribute cannot be compared: one side did not determine it."""


@dataclass(frozen=True)
class Drift:
    """One disagreement between the code and the live account."""

    kind: DriftKind
    """What kind of disagreement."""
    resource_kind: str
    """``aws.s3.bucket`` or ``aws.kms.key``."""
    name: str
    """Bucket name or key alias used to match."""
    message: str
    """One sentence for a person."""
    declared: str | None = None
    """Terraform resource ID (address), when declared."""
    live: str | None = None
    """Live resource ID (ARN), when it exists."""
    attribute: str | None = None
    """Attribute that differs (for MISMATCH/UNDECIDED)."""
    declared_value: Any = None
    """Value in the code."""
    live_value: Any = None
    """Value live."""
    location: Mapping[str, Any] | None = None
    """File and lines of the declaration."""

    def to_json(self) -> dict[str, Any]:
        """JSON form for reports."""
        out: dict[str, Any] = {"kind": self.kind.value, "resource_kind": self.resource_kind,
                               "name": self.name, "message": self.message}
        for key in ("declared", "live", "attribute"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.attribute is not None:
            out["declared_value"] = self.declared_value
            out["live_value"] = self.live_value
        if self.location is not None:
            out["location"] = dict(self.location)
        return out


_ABSENT: Any = object()


def _location(res: Resource | None) -> Mapping[str, Any] | None:
    loc = res.attributes.get("location") if res is not None else None
    return loc if isinstance(loc, Mapping) else None


def _key_label(snapshot: Snapshot, res: Resource, ref: Any) -> tuple[str, str | None]:
    """(how encryption is keyed, the matching alias) for a bucket's ``kms_key_id``."""
    if not isinstance(ref, str):
        return "AWS-managed key aws/s3", "alias/aws/s3"
    for key in snapshot.of_kind(KEY):
        if key.source == res.source and ref in (key.id, key.attributes.get("key_id"),
                                                *(key.attributes.get("aliases") or ())):
            aliases = [a for a in key.attributes.get("aliases") or () if isinstance(a, str)]
            return f"key {key.id}", aliases[0] if aliases else None
    return f"key {ref}", ref if ref.startswith("alias/") else None


def _encryption(snapshot: Snapshot, code: Resource, live: Resource) -> Drift | None:
    a, b = code.attributes.get("encryption", _ABSENT), live.attributes.get("encryption", _ABSENT)
    name = str(code.attributes.get("name"))
    if a is _ABSENT or b is _ABSENT or not isinstance(a, Mapping) or not isinstance(b, Mapping):
        if a is b:
            return None
        return Drift(DriftKind.UNDECIDED, BUCKET, name, "encryption cannot be compared: not "
                     "determined on one side", code.id, live.id, "encryption",
                     None if a is _ABSENT else a, None if b is _ABSENT else b, _location(code))
    if a.get("algorithm") != b.get("algorithm"):
        return Drift(DriftKind.MISMATCH, BUCKET, name,
                     f"the code declares {a.get('algorithm')} but the live bucket uses "
                     f"{b.get('algorithm')}", code.id, live.id, "encryption", dict(a), dict(b),
                     _location(code))
    if a.get("algorithm") in ("aws:kms", "aws:kms:dsse"):
        want, want_alias = _key_label(snapshot, code, a.get("kms_key_id"))
        have, have_alias = _key_label(snapshot, live, b.get("kms_key_id"))
        if want_alias is None or want_alias != have_alias:
            return Drift(DriftKind.MISMATCH if want_alias and have_alias else DriftKind.UNDECIDED,
                         BUCKET, name, f"the code encrypts with {want} ({want_alias or 'no alias'}); "
                         f"live uses {have} ({have_alias or 'no alias'})", code.id, live.id,
                         "encryption", dict(a), dict(b), _location(code))
    return None


def _compare(snapshot: Snapshot, kind: str, name: str, code: Resource, live: Resource,
             attrs: Iterable[str]) -> list[Drift]:
    out: list[Drift] = []
    if kind == BUCKET:
        enc = _encryption(snapshot, code, live)
        if enc is not None:
            out.append(enc)
    for attr in attrs:
        a, b = code.attributes.get(attr, _ABSENT), live.attributes.get(attr, _ABSENT)
        if a is _ABSENT and b is _ABSENT:
            continue
        if a is _ABSENT or b is _ABSENT:
            out.append(Drift(DriftKind.UNDECIDED, kind, name,
                             f"{attr} cannot be compared: not determined "
                             f"{'in the code' if a is _ABSENT else 'live'}", code.id, live.id,
                             attr, None if a is _ABSENT else a, None if b is _ABSENT else b,
                             _location(code)))
        elif a != b:
            out.append(Drift(DriftKind.MISMATCH, kind, name, f"{attr} differs: code {a!r}, "
                             f"live {b!r}", code.id, live.id, attr, a, b, _location(code)))
    return out


def _holds(config: Config, res: Resource) -> bool:
    # NOTE: undecidable scope counts as weights here: comparing too much is harmless.
    return config.scope.holds_weights(res.tags, res.id) is not False


def _bucket_names(res: Resource) -> set[str]:
    name = res.attributes.get("name")
    return {name} if isinstance(name, str) else set()


def _key_names(res: Resource) -> set[str]:
    return {a for a in res.attributes.get("aliases") or () if isinstance(a, str)}


def compute_drift(snapshot: Snapshot, config: Config) -> tuple[Drift, ...]:
    """Every drift between declared and live weight buckets and keys."""
    out: list[Drift] = []
    code_accounts = {r.account for r in snapshot.resources if r.source == DECLARED_SOURCE}
    for kind, names, attrs in ((BUCKET, _bucket_names, _BUCKET_ATTRS),
                               (KEY, _key_names, _KEY_ATTRS)):
        declared = [r for r in snapshot.of_kind(kind) if r.source == DECLARED_SOURCE]
        live = [r for r in snapshot.of_kind(kind) if r.source == LIVE_SOURCE]
        matched: set[str] = set()
        for code in declared:
            twin = next((r for r in live if names(code) & names(r)), None)
            if twin is None:
                if _holds(config, code):
                    label = ", ".join(sorted(names(code))) or code.id
                    out.append(Drift(DriftKind.NOT_DEPLOYED, kind, label,
                                     f"{code.id} ({label}) does not exist live yet",
                                     declared=code.id, location=_location(code)))
                continue
            matched.add(twin.id)
            if not (_holds(config, code) or _holds(config, twin)):
                continue
            label = ", ".join(sorted(names(code) & names(twin)))
            if config.scope.holds_weights(code.tags, code.id) != \
                    config.scope.holds_weights(twin.tags, twin.id):
                out.append(Drift(DriftKind.MISMATCH, kind, label,
                                 "the weight scope differs: one side is tagged as holding "
                                 "weights and the other is not", code.id, twin.id, "tags",
                                 code.tags, twin.tags, _location(code)))
            out.extend(_compare(snapshot, kind, label, code, twin, attrs))
        for res in live:
            if res.id in matched or not _holds(config, res):
                continue
            if None not in code_accounts and res.account not in code_accounts:
                continue
            label = ", ".join(sorted(names(res))) or res.id
            out.append(Drift(DriftKind.NOT_IN_CODE, kind, label,
                             f"live weight resource {res.id} is not declared in the code",
                             live=res.id))
    return tuple(out)
