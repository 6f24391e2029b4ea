"""Fixtures for core tests: a small catalog, rule file and config, and snapshot builders."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aslcheck.checks.declarative import load_rule_file
from aslcheck.checks.registry import Registry
from aslcheck.controls.loader import load_catalog, load_config
from aslcheck.controls.yamlio import load_yaml
from aslcheck.inventories.snapshot import CollectionError, CollectorRun, Resource, Snapshot

DATA = Path(__file__).parent / "data"
WEIGHTS = {"asl:asset": "model-weights"}


def bucket(name: str, weights: bool = True, **attrs: Any) -> Resource:
    """An aws.s3.bucket resource."""
    base = {"encryption": {"algorithm": "aws:kms"}, "versioning": "Enabled", "replication": None}
    base.update(attrs)
    return Resource(kind="aws.s3.bucket", id=f"arn:aws:s3:::{name}", source="aws",
                    attributes=base, tags=dict(WEIGHTS) if weights else {}, account="111122223333",
                    region="us-east-1")


def run(kinds: tuple[str, ...] = ("aws.s3.bucket", "aws.ec2.snapshot")) -> CollectorRun:
    """A provenance record claiming complete listing of ``kinds``."""
    return CollectorRun("aws", "test", ("111122223333/us-east-1",), kinds,
                        "2026-11-27T00:00:00Z", "2026-11-27T00:01:00Z")


def snap(*resources: Resource, errors: tuple[CollectionError, ...] = (),
         kinds: tuple[str, ...] = ("aws.s3.bucket", "aws.ec2.snapshot")) -> Snapshot:
    """A snapshot of ``resources`` from one aws run."""
    return Snapshot(resources=resources, errors=errors, runs=(run(kinds),))


@pytest.fixture
def registry() -> Registry:
    reg = Registry()
    for spec in load_rule_file(load_yaml(str(DATA / "rules.yaml"))):
        reg.add(spec)
    return reg


@pytest.fixture
def catalog(registry: Registry) -> Any:
    cat, _ = load_catalog([str(DATA / "catalog.yaml")], checks=registry, builtin=False)
    return cat


@pytest.fixture
def config() -> Any:
    cfg, _ = load_config(str(DATA / "aslcheck.yaml"))
    return cfg


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str], str]:
    def write(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text)
        return os.fspath(path)

    return write
