"""Inventories: collectors and the immutable, hashed snapshot they produce."""

from aslcheck.inventories.interface import (
    CollectionRequest,
    Collector,
    InventoryError,
    ProgressCallback,
    utc_now,
)
from aslcheck.inventories.shard import ShardedCollector, ShardPlan, ShardSpec, Unit
from aslcheck.inventories.snapshot import (
    CollectionError,
    CollectorRun,
    Resource,
    Snapshot,
    canonical_json,
    merge,
    sha256_hex,
)

__all__ = [
    "CollectionError",
    "CollectionRequest",
    "Collector",
    "CollectorRun",
    "InventoryError",
    "ProgressCallback",
    "Resource",
    "ShardPlan",
    "ShardSpec",
    "ShardedCollector",
    "Snapshot",
    "Unit",
    "canonical_json",
    "merge",
    "sha256_hex",
    "utc_now",
]
