"""Helpers shared by the host checks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aslcheck.inventories.snapshot import Resource, Snapshot


def by_host(snapshot: Snapshot, kind: str) -> dict[str, Resource]:
    """Resources of a per-host kind keyed by host name."""
    return {r.host or r.id: r for r in snapshot.of_kind(kind)}


def missing(attrs: Mapping[str, Any], keys: Iterable[str]) -> list[str]:
    """Keys that were not collected (absent), in the order given."""
    return [k for k in keys if k not in attrs]


def not_collected_reason(what: str, keys: list[str]) -> str:
    """Uniform ERROR reason for missing facts."""
    return f"{what}: {', '.join(keys)} not collected (see the collection errors for this host)"


def group_members(group: str, users: list[Mapping[str, Any]], groups: list[Mapping[str, Any]]) -> list[str] | None:
    """Every user in ``group``: supplementary members plus users whose primary group it is.

    ``None`` when the group has no entry on the host (a bare GID or a deleted group).
    """
    record = next((g for g in groups if g["name"] == group), None)
    if record is None:
        return None
    members = set(record["members"])
    members |= {u["name"] for u in users if u["gid"] == record["gid"]}
    return sorted(members)
