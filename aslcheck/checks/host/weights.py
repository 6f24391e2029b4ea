"""Checks on declared weight paths: others-readable entries, reader roster, disk encryption, audit watches."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from aslcheck.checks.host.common import by_host, group_members, missing, not_collected_reason
from aslcheck.checks.interface import CheckContext, CheckId, Finding, Select, Status
from aslcheck.checks.registry import check

NOT_WORLD_READABLE = CheckId("host.weights.not_world_readable")
GROUP_WITHIN_ROSTER = CheckId("host.weights.group_within_roster")
ENCRYPTED_VOLUME = CheckId("host.weights.encrypted_volume")
WEIGHTS_WATCHED = CheckId("host.auditd.weights_watched")

_PERM_KEYS = ("mode", "other_readable", "other_readable_truncated", "acl")


@check(NOT_WORLD_READABLE, kinds=["host.weight_path"], select=Select.ALL)
def not_world_readable(ctx: CheckContext) -> Iterator[Finding]:
    """No entry at or below a weight path is readable by others, now or by default ACL."""
    for res in ctx.resources:
        a = res.attributes
        if a.get("exists") is False:
            yield ctx.finding(NOT_WORLD_READABLE, res, Status.ERROR,
                              f"declared weight path {a.get('path')} does not exist on the host",
                              {"path": a.get("path")})
            continue
        gaps = missing(a, _PERM_KEYS)
        if gaps:
            yield ctx.finding(NOT_WORLD_READABLE, res, Status.ERROR, not_collected_reason(res.id, gaps))
            continue
        default_other = [e for e in a["acl"] if e["default"] and e["tag"] == "other" and "r" in e["perms"]]
        evidence = {"path": a["path"], "mode": a["mode"], "other_readable": a["other_readable"][:20],
                    "other_readable_count": len(a["other_readable"]),
                    "other_readable_truncated": a["other_readable_truncated"],
                    "default_acl_other": [e["perms"] for e in default_other]}
        if a["other_readable"] or int(a["mode"], 8) & 0o004:
            count = f"{len(a['other_readable'])}{'+' if a['other_readable_truncated'] else ''}"
            yield ctx.finding(NOT_WORLD_READABLE, res, Status.FAIL,
                              f"{count} entries under {a['path']} are readable by others "
                              f"(first: {a['other_readable'][0] if a['other_readable'] else a['path']})",
                              evidence)
        elif default_other:
            yield ctx.finding(NOT_WORLD_READABLE, res, Status.FAIL,
                              f"the default ACL of {a['path']} makes new files readable by others", evidence)
        else:
            yield ctx.finding(NOT_WORLD_READABLE, res, Status.PASS,
                              f"nothing under {a['path']} is readable by others", evidence)


def _readers(a: Mapping[str, Any], users: list[Mapping[str, Any]],
             groups: list[Mapping[str, Any]]) -> tuple[dict[str, list[str]], list[str]]:
    """Who can read through ownership, owning groups and named ACL entries; and unknown groups."""
    via: dict[str, list[str]] = {}
    unknown: list[str] = []
    owner_users = {a["owner"]} | {o["user"] for o in a["owners"]}
    owner_groups = {a["group"]} | {o["group"] for o in a["owners"]}
    for user in owner_users:
        via.setdefault(user, []).append("owner")
    for group in sorted(owner_groups | set(a["acl_named"]["groups"])):
        members = group_members(group, users, groups)
        if members is None:
            unknown.append(group)
            continue
        for member in members:
            via.setdefault(member, []).append(f"group {group}")
    for user in a["acl_named"]["users"]:
        via.setdefault(user, []).append("ACL entry")
    return via, unknown


@check(GROUP_WITHIN_ROSTER, kinds=["host.weight_path", "host.accounts"], primary_kinds=["host.weight_path"],
       select=Select.ALL)
def group_within_roster(ctx: CheckContext) -> Iterator[Finding]:
    """Every user who can read a weight path (owner, owning-group member, ACL entry) is on the host roster.

    ``root`` is always allowed: it can read everything regardless of ownership.
    """
    accounts = by_host(ctx.snapshot, "host.accounts")
    roster = set(ctx.config.access.host_roster) | {"root"}
    for res in ctx.resources:
        a = res.attributes
        if a.get("exists") is False:
            yield ctx.finding(GROUP_WITHIN_ROSTER, res, Status.ERROR,
                              f"declared weight path {a.get('path')} does not exist on the host")
            continue
        gaps = missing(a, ("owner", "group", "owners", "owners_truncated", "acl_named", "acl_extended_truncated"))
        acct = accounts.get(res.host or "")
        if gaps or acct is None or missing(acct.attributes, ("users", "groups")):
            yield ctx.finding(GROUP_WITHIN_ROSTER, res, Status.ERROR,
                              not_collected_reason(res.id, gaps or ["host.accounts"]))
            continue
        if a["owners_truncated"] or a["acl_extended_truncated"]:
            yield ctx.finding(GROUP_WITHIN_ROSTER, res, Status.ERROR,
                              f"too many distinct owners or ACLs under {a['path']} to enumerate every reader")
            continue
        via, unknown = _readers(a, acct.attributes["users"], acct.attributes["groups"])
        outside = {u: via[u] for u in sorted(via) if u not in roster}
        evidence = {"path": a["path"], "owner": a["owner"], "group": a["group"],
                    "readers": {u: via[u] for u in sorted(via)}, "roster": sorted(roster),
                    "outside_roster": outside, "unknown_groups": unknown}
        if outside:
            names = ", ".join(f"{u} ({'; '.join(v)})" for u, v in outside.items())
            yield ctx.finding(GROUP_WITHIN_ROSTER, res, Status.FAIL,
                              f"users outside the host roster can read {a['path']}: {names}", evidence)
        elif unknown:
            yield ctx.finding(GROUP_WITHIN_ROSTER, res, Status.ERROR,
                              f"groups without a name on the host own entries under {a['path']}: "
                              f"{', '.join(unknown)}", evidence)
        else:
            yield ctx.finding(GROUP_WITHIN_ROSTER, res, Status.PASS,
                              f"every reader of {a['path']} is on the host roster", evidence)


@check(ENCRYPTED_VOLUME, kinds=["host.weight_volume"], select=Select.ALL)
def encrypted_volume(ctx: CheckContext) -> Iterator[Finding]:
    """The weight path lives on a dm-crypt (LUKS) device or on a device stacked on one."""
    for res in ctx.resources:
        a = res.attributes
        gaps = missing(a, ("encrypted", "mount", "device_chain"))
        if gaps:
            yield ctx.finding(ENCRYPTED_VOLUME, res, Status.ERROR, not_collected_reason(res.id, gaps))
            continue
        chain = " <- ".join(f"{d['name']} ({d['type']})" for d in a["device_chain"])
        evidence = {"path": a["path"], "mount": a["mount"], "device_chain": a["device_chain"],
                    "crypt_status": a.get("crypt_status")}
        if a["encrypted"] is True:
            yield ctx.finding(ENCRYPTED_VOLUME, res, Status.PASS,
                              f"{a['path']} is on a dm-crypt device ({chain})", evidence)
        else:
            yield ctx.finding(ENCRYPTED_VOLUME, res, Status.FAIL,
                              f"{a['path']} is on {a['mount']['source']} mounted at {a['mount']['target']}, "
                              f"which is not dm-crypt/LUKS ({chain})", evidence)


def _watch_covers(watch: Mapping[str, Any], path: str) -> bool:
    target = watch["path"]
    if target == path:
        return True
    return watch["match"] == "tree" and path.startswith(target.rstrip("/") + "/")


@check(WEIGHTS_WATCHED, kinds=["host.weight_path", "host.auditd"], primary_kinds=["host.weight_path"],
       select=Select.ALL)
def weights_watched(ctx: CheckContext) -> Iterator[Finding]:
    """auditd is running and a read watch covers every weight path."""
    audits = by_host(ctx.snapshot, "host.auditd")
    for res in ctx.resources:
        path = res.attributes.get("path")
        audit = audits.get(res.host or "")
        if audit is None or missing(audit.attributes, ("enabled", "daemon_pid", "watches")) or path is None:
            yield ctx.finding(WEIGHTS_WATCHED, res, Status.ERROR, not_collected_reason(res.id, ["host.auditd"]))
            continue
        aa = audit.attributes
        covering = [w for w in aa["watches"] if _watch_covers(w, path)]
        reading = [w for w in covering if "r" in w["perms"]]
        evidence = {"path": path, "audit_enabled": aa["enabled"], "auditd_pid": aa["daemon_pid"],
                    "covering_rules": covering}
        if aa["enabled"] < 1 or aa["daemon_pid"] <= 0:
            yield ctx.finding(WEIGHTS_WATCHED, res, Status.FAIL,
                              f"kernel auditing is off or auditd is not running, so {path} is not watched",
                              evidence)
        elif reading:
            yield ctx.finding(WEIGHTS_WATCHED, res, Status.PASS,
                              f"{path} is watched for reads (key {reading[0].get('key')})", evidence)
        elif covering:
            yield ctx.finding(WEIGHTS_WATCHED, res, Status.FAIL,
                              f"{path} is watched, but not for reads (perms {covering[0]['perms']})", evidence)
        else:
            yield ctx.finding(WEIGHTS_WATCHED, res, Status.FAIL, f"no audit rule watches {path}", evidence)
