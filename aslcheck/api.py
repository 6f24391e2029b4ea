"""The documented Python API (docs/api.md): ``aslcheck check`` as functions, same validation, same result.

Every function validates its inputs as the CLI does and raises :class:`~aslcheck.errors.BadInputError`
(file, line, field) on bad input; nothing here prints or exits. :func:`evaluate` returns the
:class:`~aslcheck.reports.model.RunResult` every renderer and the signed attestation read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.declarative import load_rule_file
from aslcheck.checks.engine import Options
from aslcheck.checks.engine import evaluate as _evaluate
from aslcheck.checks.registry import Registry
from aslcheck.checks.selection import Selection, apply_selection
from aslcheck.controls import loader
from aslcheck.controls.config import Config
from aslcheck.controls.model import Catalog
from aslcheck.controls.signed_waivers import load_waivers
from aslcheck.controls.yamlio import load_yaml
from aslcheck.errors import BadInputError
from aslcheck.inventories import snapshot as snapshot_io
from aslcheck.inventories.snapshot import Snapshot, canonical_json, sha256_hex
from aslcheck.reports import attestation
from aslcheck.reports.model import RunResult
from aslcheck.reports.render import RENDERERS
from aslcheck.reports.signing import Verified, load_public_key, signer_from_uri, verify_envelope

PathLike = str | os.PathLike[str]


def load_registry(rules: Sequence[PathLike] = ()) -> Registry:
    """The built-in checks plus the declarative check files ``rules``."""
    registry = default_registry()
    for path in rules:
        for spec in load_rule_file(load_yaml(os.fspath(path))):
            registry.add(spec)
    return registry


def load_catalog(*files: PathLike, builtin: bool = True, registry: Registry | None = None) -> Catalog:
    """The built-in catalog (unless ``builtin=False``) merged with catalog files and overlays.

    References to checks are validated against ``registry`` (default: the built-in checks).
    """
    catalog, _ = loader.load_catalog([os.fspath(f) for f in files],
                                     checks=registry if registry is not None else default_registry(),
                                     builtin=builtin)
    return catalog


def load_config(path: PathLike | None, catalog: Catalog | None = None) -> Config:
    """``aslcheck.yaml`` (scope, rosters, parameters); overlay parameters of ``catalog`` tighten it."""
    config, _ = loader.load_config(os.fspath(path) if path is not None else None, catalog)
    return config


def load_snapshot(path: PathLike) -> Snapshot:
    """An inventory snapshot file, validated."""
    snap, _ = snapshot_io.load(os.fspath(path))
    return snap


def evaluate(
    snapshot: Snapshot | PathLike,
    config: PathLike | None = None,
    *,
    profile: str = "asl3",
    catalogs: Sequence[PathLike] = (),
    builtin_catalog: bool = True,
    rules: Sequence[PathLike] = (),
    waivers: Sequence[PathLike] = (),
    selection: Selection | None = None,
    now: datetime | None = None,
) -> RunResult:
    """Evaluate ``profile`` against ``snapshot``, exactly as ``aslcheck check`` does.

    ``snapshot`` is a :class:`Snapshot` or the path of a snapshot file; ``config`` the path of
    ``aslcheck.yaml`` (None: nothing declared in scope, so nothing can pass); ``catalogs`` extra
    catalog files and overlays; ``rules`` extra declarative check files; ``waivers`` waiver and
    attestation files besides the config's own; ``selection`` narrows the run and is recorded
    in the result (``RunResult.selection``); ``now`` fixes the clock for waiver expiry.
    The digests of snapshot, catalog and config are set as the signed attestation names them.
    """
    registry = load_registry(rules)
    catalog, catalog_digest = loader.load_catalog([os.fspath(f) for f in catalogs], checks=registry,
                                                  builtin=builtin_catalog)
    if profile not in catalog.profiles:
        raise BadInputError(f"unknown profile {profile!r}; known: {', '.join(sorted(catalog.profiles))}")
    cfg, config_digest = loader.load_config(os.fspath(config) if config is not None else None, catalog)
    files = [f for f in (cfg.waivers_file, cfg.attestations_file) if f] + [os.fspath(w) for w in waivers]
    waiver_list, attestation_list = load_waivers(files, catalog, cfg)
    if isinstance(snapshot, Snapshot):
        snap, snapshot_digest = snapshot, snapshot.digest()
    else:
        snap, raw = snapshot_io.load(os.fspath(snapshot))
        snapshot_digest = sha256_hex(raw)
    selected = apply_selection(selection or Selection(), catalog, profile, registry)
    result = _evaluate(selected.catalog, profile, selected.registry, snap, cfg,
                       waivers=waiver_list, attestations=attestation_list,
                       digests={"snapshot": snapshot_digest, "catalog": catalog_digest,
                                "config": config_digest},
                       options=Options(now=now or datetime.now(timezone.utc)))
    return selected.attach(result)


def render(result: RunResult, fmt: str) -> bytes:
    """The bytes of one report format (``json``, ``csv``, ``ocsf``, ``html``, ``sarif``...)."""
    if fmt not in RENDERERS:
        raise BadInputError(f"unknown format {fmt!r}; available: {', '.join(sorted(RENDERERS))}")
    return RENDERERS[fmt]().render(result)


def write_reports(result: RunResult, directory: PathLike, formats: Sequence[str] = ("json",), *,
                  sign_keys: Sequence[str] = (), snapshot: Snapshot | PathLike | None = None,
                  valid_for: timedelta = attestation.DEFAULT_VALIDITY) -> Mapping[str, str]:
    """Write the reports (and, with ``sign_keys``, the signed attestation, last) into ``directory``.

    ``sign_keys`` are key URIs as for ``--sign-key`` (an Ed25519 key file, ``awskms:ARN``);
    ``snapshot`` (an object or its file) is written beside them so ``verify`` can re-check it.
    Returns format (``attestation``, ``snapshot``) -> path.
    """
    for fmt in formats:
        if fmt not in RENDERERS:
            raise BadInputError(f"unknown format {fmt!r}; available: {', '.join(sorted(RENDERERS))}")
    signers = [signer_from_uri(k) for k in sign_keys]
    raw: bytes | None = None
    if isinstance(snapshot, Snapshot):
        raw = snapshot.canonical_bytes()
    elif snapshot is not None:
        with open(os.fspath(snapshot), "rb") as fh:
            raw = fh.read()
    written = attestation.write_reports(result, os.fspath(directory), [RENDERERS[f]() for f in dict.fromkeys(formats)],
                                        signers, raw, valid_for=valid_for)
    return dict(written.files)


def verify(envelope: PathLike, *public_keys: PathLike, threshold: int = 1) -> Verified:
    """Verify a signed attestation file against trusted public keys; raise ``VerificationError`` listing why not.

    Returns the verified statement (``.statement["predicate"]["results"]`` is the signed
    ``results.json`` content) and the key IDs that signed it. It does not check the validity
    window; :func:`aslcheck.reports.freshness.check_fresh` does, for gates.
    """
    with open(os.fspath(envelope), "rb") as fh:
        data = fh.read()
    return verify_envelope(data, [load_public_key(os.fspath(k)) for k in public_keys], threshold)


def catalog_digest(catalog: Catalog) -> str:
    """SHA-256 of the catalog's canonical content: the ``catalog`` subject of an attestation."""
    return sha256_hex(canonical_json(catalog.to_json()))


__all__ = ["catalog_digest", "evaluate", "load_catalog", "load_config", "load_registry", "load_snapshot",
           "render", "verify", "write_reports"]
