"""Checks on declared weight paths: others-readable entries, reader roster, disk encryption, audit watches."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from aslcheck.checks.host.common import by_host, group_members, missing, not_collected_reason
from aslcheck.checks.host.sudo import sudo_readers
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


def locations(a: Mapping[str, Any]) -> list[str]:
    """Where a weight path's bytes are: the declared path, its real path and symlink targets outside it."""
    out = [a["path"]]
    for extra in [a.get("real_path"), *(a.get("link_targets") or [])]:
        if extra and extra not in out:
            out.append(extra)
    return out


def _readers(a: Mapping[str, Any], users: list[Mapping[str, Any]],
             groups: list[Mapping[str, Any]]) -> tuple[dict[str, list[str]], list[str], set[str]]:
    """Who can read through ownership, owning groups and named ACL entries; unknown groups; reader groups."""
    via: dict[str, list[str]] = {}
    unknown: list[str] = []
    owner_users = {a["owner"]} | {o["user"] for o in a["owners"]}
    owner_groups = {a["group"]} | {o["group"] for o in a["owners"]}
    for user in owner_users:
        via.setdefault(user, []).append("owner")
    reader_groups = owner_groups | set(a["acl_named"]["groups"])
    for group in sorted(reader_groups):
        members = group_members(group, users, groups)
        if members is None:
            unknown.append(group)
            continue
        for member in members:
            via.setdefault(member, []).append(f"group {group}")
    for user in a["acl_named"]["users"]:
        via.setdefault(user, []).append("ACL entry")
    return via, unknown, reader_groups


_ROSTER_KEYS = ("owner", "group", "owners", "owners_truncated", "acl_named", "acl_extended_truncated",
                "real_path", "link_targets", "links_truncated")


@check(GROUP_WITHIN_ROSTER, kinds=["host.weight_path", "host.accounts", "host.sudoers"],
       primary_kinds=["host.weight_path"], select=Select.ALL)
def group_within_roster(ctx: CheckContext) -> Iterator[Finding]:
    """Every user who can read a weight path is on the host roster.

    Readers: the owner, members of owning groups, users and groups' members named by ACL
    entries, below the path and at symlink targets, and users whom sudo lets read it or become
    someone who can (see :mod:`aslcheck.checks.host.sudo`). ``root`` is always allowed: it can
    read everything regardless of ownership.
    """
    accounts = by_host(ctx.snapshot, "host.accounts")
    policies = by_host(ctx.snapshot, "host.sudoers")
    roster = set(ctx.config.access.host_roster) | {"root"}
    for res in ctx.resources:
        a = res.attributes
        if a.get("exists") is False:
            yield ctx.finding(GROUP_WITHIN_ROSTER, res, Status.ERROR,
                              f"declared weight path {a.get('path')} does not exist on the host")
            continue
        gaps = missing(a, _ROSTER_KEYS)
        acct = accounts.get(res.host or "")
        policy = policies.get(res.host or "")
        if acct is None or missing(acct.attributes, ("users", "groups")):
            gaps.append("host.accounts")
        if policy is None or missing(policy.attributes, ("rules", "aliases")):
            gaps.append("host.sudoers")
        if gaps or acct is None or policy is None:
            yield ctx.finding(GROUP_WITHIN_ROSTER, res, Status.ERROR, not_collected_reason(res.id, gaps))
            continue
        if a["owners_truncated"] or a["acl_extended_truncated"] or a["links_truncated"]:
            yield ctx.finding(GROUP_WITHIN_ROSTER, res, Status.ERROR,
                              f"too many distinct owners, ACLs or symlinks under {a['path']} to enumerate every "
                              "reader")
            continue
        users, groups = acct.attributes["users"], acct.attributes["groups"]
        via, unknown, reader_groups = _readers(a, users, groups)
        through_sudo = sudo_readers(policy.attributes, users, groups, via, reader_groups, locations(a))
        for user, ways in through_sudo.readers.items():
            via.setdefault(user, []).extend(ways)
        outside = {u: via[u] for u in sorted(via) if u not in roster}
        undecided = [msg for user, msg in through_sudo.undecided if user is None or user not in roster]
        evidence = {"path": a["path"], "locations": locations(a), "owner": a["owner"], "group": a["group"],
                    "readers": {u: via[u] for u in sorted(via)}, "roster": sorted(roster),
                    "outside_roster": outside, "unknown_groups": unknown, "sudo_undecided": undecided[:20]}
        if outside:
            names = ", ".join(f"{u} ({'; '.join(v[:2])})" for u, v in outside.items())
            yield ctx.finding(GROUP_WITHIN_ROSTER, res, Status.FAIL,
                              f"users outside the host roster can read {a['path']}: {names}", evidence)
        elif unknown:
            yield ctx.finding(GROUP_WITHIN_ROSTER, res, Status.ERROR,
                              f"groups without a name on the host own entries under {a['path']}: "
                              f"{', '.join(unknown)}", evidence)
        elif undecided:
            yield ctx.finding(GROUP_WITHIN_ROSTER, res, Status.ERROR,
                              f"cannot decide every reader of {a['path']}: {'; '.join(undecided[:3])}", evidence)
        else:
            yield ctx.finding(GROUP_WITHIN_ROSTER, res, Status.PASS,
                              f"every reader of {a['path']} is on the host roster", evidence)


@check(ENCRYPTED_VOLUME, kinds=["host.weight_volume"], select=Select.ALL)
def encrypted_volume(ctx: CheckContext) -> Iterator[Finding]:
    """Every filesystem holding data at or below the weight path is on (or stacked on) a dm-crypt device.

    The filesystems are those of every entry reached with symlinks followed, so a symlink to
    another disk, a bind mount or a mount inside the weight tree counts where the bytes are.
    """
    for res in ctx.resources:
        a = res.attributes
        gaps = missing(a, ("encrypted", "mount", "device_chain", "volumes"))
        if gaps:
            yield ctx.finding(ENCRYPTED_VOLUME, res, Status.ERROR, not_collected_reason(res.id, gaps))
            continue
        volumes = a["volumes"]
        evidence = {"path": a["path"], "mount": a["mount"], "device_chain": a["device_chain"],
                    "volumes": volumes, "crypt_status": a.get("crypt_status")}
        plain = [v for v in volumes if v["encrypted"] is False]
        unknown = [v for v in volumes if v["encrypted"] is None]
        if not volumes:
            yield ctx.finding(ENCRYPTED_VOLUME, res, Status.ERROR, f"no filesystem found under {a['path']}", evidence)
        elif plain:
            listed = "; ".join(f"{v['source']} ({v['fstype']}, device {v['dev']}, mounted at "
                               f"{', '.join(v['mounts'])}: "
                               f"{' <- '.join(d['name'] + ' (' + str(d['type']) + ')' for d in v['device_chain'])})"
                               for v in plain)
            yield ctx.finding(ENCRYPTED_VOLUME, res, Status.FAIL,
                              f"data under {a['path']} is on storage that is not dm-crypt/LUKS: {listed}", evidence)
        elif unknown:
            yield ctx.finding(ENCRYPTED_VOLUME, res, Status.ERROR,
                              f"cannot determine the encryption of data under {a['path']}: "
                              + "; ".join(str(v["note"]) for v in unknown), evidence)
        else:
            chains = "; ".join(" <- ".join(f"{d['name']} ({d['type']})" for d in v["device_chain"]) for v in volumes)
            yield ctx.finding(ENCRYPTED_VOLUME, res, Status.PASS,
                              f"everything under {a['path']} is on dm-crypt devices ({chains})", evidence)


@check(WEIGHTS_WATCHED, kinds=["host.weight_path", "host.auditd"], primary_kinds=["host.weight_path"],
       select=Select.ALL)
def weights_watched(ctx: CheckContext) -> Iterator[Finding]:
    """auditd is running and a read watch covers every location of the weights.

    Audit watches attach to what their path names without following a final symlink, so a
    watch on a symlink covers nothing; the locations that must be covered are the real path
    of the weight path and every symlink target outside it (a bind mount shares the inodes of
    its source, so the real path covers it).
    """
    audits = by_host(ctx.snapshot, "host.auditd")
    for res in ctx.resources:
        path = res.attributes.get("path")
        audit = audits.get(res.host or "")
        gaps = [] if path is not None and res.attributes.get("exists") is not False else ["path"]
        if res.attributes.get("exists") is not False:
            gaps += missing(res.attributes, ("real_path", "link_targets", "links_truncated"))
        if audit is None or missing(audit.attributes, ("enabled", "daemon_pid", "watches")):
            gaps.append("host.auditd")
        if gaps or audit is None or path is None:
            yield ctx.finding(WEIGHTS_WATCHED, res, Status.ERROR, not_collected_reason(res.id, gaps))
            continue
        aa = audit.attributes
        where = [p for p in locations(res.attributes) if p != path or res.attributes["real_path"] == path]
        covering = {p: [w for w in aa["watches"] if _watch_covers(w, p)] for p in where}
        reading = {p: [w for w in ws if "r" in w["perms"]] for p, ws in covering.items()}
        evidence = {"path": path, "locations": where, "audit_enabled": aa["enabled"], "auditd_pid": aa["daemon_pid"],
                    "covering_rules": covering}
        unwatched = [p for p in where if not reading[p]]
        if aa["enabled"] < 1 or aa["daemon_pid"] <= 0:
            yield ctx.finding(WEIGHTS_WATCHED, res, Status.FAIL,
                              f"kernel auditing is off or auditd is not running, so {path} is not watched",
                              evidence)
        elif res.attributes["links_truncated"]:
            yield ctx.finding(WEIGHTS_WATCHED, res, Status.ERROR,
                              f"too many symlinks under {path} to list every location", evidence)
        elif not unwatched:
            keys = sorted({str(w.get("key")) for ws in reading.values() for w in ws})
            yield ctx.finding(WEIGHTS_WATCHED, res, Status.PASS,
                              f"{', '.join(where)} watched for reads (keys {', '.join(keys)})", evidence)
        else:
            partial = [p for p in unwatched if covering[p]]
            detail = "; ".join(
                f"{p} is watched, but not for reads (perms {covering[p][0]['perms']})" if p in partial
                else f"no audit rule watches {p}" for p in unwatched)
            real = res.attributes["real_path"]
            note = f" ({path} resolves to {real})" if real != path else ""
            yield ctx.finding(WEIGHTS_WATCHED, res, Status.FAIL, detail + note, evidence)


def _watch_covers(watch: Mapping[str, Any], path: str) -> bool:
    target = watch["path"]
    if target == path:
        return True
    return watch["match"] == "tree" and path.startswith(target.rstrip("/") + "/")
