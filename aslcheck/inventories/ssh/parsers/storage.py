"""Parsers for weight-path facts: stat, ACLs, others-readable entries, mounts, block devices, LUKS."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aslcheck.inventories.ssh.parsers import ParseError


def parse_stat(text: str) -> dict[str, Any]:
    """``stat -L -c '%F|%a|%U|%G|%u|%g'`` into type, mode (octal string), owner and group."""
    parts = text.strip().split("|")
    if len(parts) != 6 or not parts[4].isdigit() or not parts[5].isdigit():
        raise ParseError("BadOutput", f"unexpected stat output {text!r}")
    return {
        "type": parts[0],
        "mode": parts[1].zfill(4),
        "owner": parts[2],
        "group": parts[3],
        "owner_uid": int(parts[4]),
        "group_gid": int(parts[5]),
    }


def mode_other_readable(mode: str) -> bool:
    """Whether an octal mode string grants read to others."""
    return bool(int(mode, 8) & 0o004)


def parse_getfacl(text: str) -> list[dict[str, Any]]:
    """``getfacl -p [-R --skip-base]`` into one record per file: ``{file, entries:[...]}``.

    Each entry is ``{tag, qualifier, perms, default}``; ``effective`` perms after the mask are
    given for named users, named groups and the owning group when getfacl prints them.
    """
    files: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for line in text.splitlines():
        if line.startswith("# file: "):
            current = {"file": line[len("# file: "):], "entries": []}
            files.append(current)
            continue
        if not line.strip() or line.startswith("#"):
            continue
        if current is None:
            raise ParseError("BadOutput", f"ACL entry before '# file:' header: {line!r}")
        rule, _, comment = line.partition("#")
        fields = rule.strip().split(":")
        default = False
        if fields[0] == "default":
            default, fields = True, fields[1:]
        if len(fields) != 3:
            raise ParseError("BadOutput", f"malformed ACL entry {line!r}")
        entry: dict[str, Any] = {"tag": fields[0], "qualifier": fields[1] or None,
                                 "perms": fields[2], "default": default}
        comment = comment.strip()
        if comment.startswith("effective:"):
            entry["effective"] = comment.partition(":")[2]
        current["entries"].append(entry)
    return files


def acl_named_principals(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Named users and groups that any ACL entry grants read (``r``) to, access or default."""
    users: set[str] = set()
    groups: set[str] = set()
    for rec in records:
        for entry in rec["entries"]:
            perms = entry.get("effective", entry["perms"])
            if entry["qualifier"] is None or "r" not in perms:
                continue
            if entry["tag"] == "user":
                users.add(entry["qualifier"])
            elif entry["tag"] == "group":
                groups.add(entry["qualifier"])
    return {"users": sorted(users), "groups": sorted(groups)}


def parse_nul_list(data: bytes, limit: int) -> tuple[list[str], bool]:
    """NUL-separated names (``find -print0 | head -z -n limit+1``) and whether the list was cut."""
    items = [p.decode("utf-8", "replace") for p in data.split(b"\0") if p]
    return items[:limit], len(items) > limit


def parse_owner_pairs(data: bytes, limit: int) -> tuple[list[dict[str, str]], bool]:
    """``user:group`` NUL-separated pairs into records, and whether the list was cut."""
    items, cut = parse_nul_list(data, limit)
    out = []
    for item in items:
        user, sep, group = item.partition(":")
        if not sep:
            raise ParseError("BadOutput", f"malformed owner pair {item!r}")
        out.append({"user": user, "group": group})
    return out, cut


def parse_findmnt(text: str) -> list[dict[str, Any]]:
    """``findmnt -J -o TARGET,SOURCE,FSTYPE,OPTIONS`` into a flat list of mounts."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError("BadOutput", f"findmnt output is not JSON: {exc}") from exc
    out: list[dict[str, Any]] = []

    def walk(items: list[Mapping[str, Any]]) -> None:
        for fs in items:
            entry = {k: fs.get(k) for k in ("target", "source", "fstype", "options")}
            if "maj:min" in fs:
                entry["majmin"] = fs["maj:min"]
            if "fsroot" in fs:
                entry["fsroot"] = fs["fsroot"]
            out.append(entry)
            walk(fs.get("children", []))

    if not isinstance(doc, dict) or not isinstance(doc.get("filesystems"), list):
        raise ParseError("BadOutput", "findmnt JSON has no 'filesystems' list")
    walk(doc["filesystems"])
    return out


def within(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or below it (both absolute, compared component-wise)."""
    root = root.rstrip("/") or "/"
    return path == root or path.startswith(root if root == "/" else root + "/")


def parse_device_numbers(text: str, limit: int) -> tuple[list[int], bool]:
    """``find -printf '%D\\n' | sort -un | head`` into device numbers, and whether the list was cut."""
    numbers = []
    for line in text.split():
        if not line.isdigit():
            raise ParseError("BadOutput", f"unexpected device number {line!r}")
        numbers.append(int(line))
    return numbers[:limit], len(numbers) > limit


def dev_majmin(number: int) -> str:
    """A Linux ``st_dev`` as ``major:minor`` (glibc's ``gnu_dev_major``/``gnu_dev_minor``)."""
    major = ((number >> 8) & 0xFFF) | ((number >> 32) & ~0xFFF)
    minor = (number & 0xFF) | ((number >> 12) & ~0xFF)
    return f"{major}:{minor}"


def volume_for(number: int, mounts: Sequence[Mapping[str, Any]],
               devices: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The filesystem a device number belongs to: its mounts, source, device chain and dm-crypt state.

    ``encrypted`` is ``None`` (not determined) when no mount carries the number or the source
    is not a block device ``lsblk`` lists (tmpfs, overlay, NFS, ZFS...).
    """
    majmin = dev_majmin(number)
    matching = [m for m in mounts if m.get("majmin") == majmin]
    out: dict[str, Any] = {"dev": majmin, "mounts": sorted({str(m["target"]) for m in matching}),
                           "source": None, "fstype": None, "device_chain": None, "encrypted": None, "note": None}
    if not matching:
        out["note"] = f"no mounted filesystem has device {majmin}"
        return out
    sources = sorted({str(m["source"]).split("[", 1)[0] for m in matching})
    out["source"], out["fstype"] = ", ".join(sources), matching[0]["fstype"]
    chains = [device_chain(src, devices) for src in sources]
    if any(chain is None for chain in chains):
        out["note"] = f"{out['fstype']} {out['source']} is not a block device lsblk reports"
        return out
    out["device_chain"] = chains[0]
    out["encrypted"] = all(chain_encrypted(chain) for chain in chains if chain is not None)
    return out


def parse_lsblk(text: str) -> list[dict[str, Any]]:
    """``lsblk -J -o NAME,KNAME,TYPE,FSTYPE,MOUNTPOINT,PKNAME`` (tree or list) into flat devices.

    Each device gets ``parent``: the PKNAME column, or the enclosing tree node when absent.
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError("BadOutput", f"lsblk output is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("blockdevices"), list):
        raise ParseError("BadOutput", "lsblk JSON has no 'blockdevices' list")
    out: list[dict[str, Any]] = []

    def walk(items: list[Mapping[str, Any]], parent: str | None) -> None:
        for dev in items:
            name = dev.get("name")
            if not isinstance(name, str):
                raise ParseError("BadOutput", "lsblk device without a name")
            out.append({
                "name": name,
                "kname": dev.get("kname") or name,
                "type": dev.get("type"),
                "fstype": dev.get("fstype"),
                "mountpoint": dev.get("mountpoint"),
                "parent": dev.get("pkname") or parent,
            })
            walk(dev.get("children", []), dev.get("kname") or name)

    walk(doc["blockdevices"], None)
    return out


def device_chain(source: str, devices: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
    """The block device a mount source names, followed by its ancestors; ``None`` if not found.

    ``source`` may be ``/dev/vda1``, ``/dev/mapper/NAME`` or ``/dev/dm-N``; a bracketed bind
    suffix (``/dev/vda[/sub]``) is dropped.
    """
    dev = source.split("[", 1)[0]
    if not dev.startswith("/dev/"):
        return None
    base = dev.rsplit("/", 1)[1]
    by_key: dict[str, Mapping[str, Any]] = {}
    for d in devices:
        by_key.setdefault(d["name"], d)
        by_key.setdefault(d["kname"], d)
    cur = by_key.get(base)
    if cur is None:
        return None
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    while cur is not None and cur["kname"] not in seen:
        seen.add(cur["kname"])
        chain.append({"name": cur["name"], "type": cur["type"], "fstype": cur["fstype"]})
        parent = cur["parent"]
        cur = by_key.get(parent) if parent else None
    return chain


def chain_encrypted(chain: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the device or one of its ancestors is a dm-crypt mapping."""
    return any(d["type"] == "crypt" for d in chain)


def parse_cryptsetup_status(text: str) -> dict[str, str]:
    """``cryptsetup status NAME`` into ``{type, cipher, keysize, device, ...}``."""
    out: dict[str, str] = {}
    lines = text.splitlines()
    if lines and " is active" in lines[0]:
        out["state"] = "active"
    elif lines and " is inactive" in lines[0]:
        out["state"] = "inactive"
    for line in lines[1:]:
        key, sep, value = line.strip().partition(":")
        if sep:
            out[key.strip()] = value.strip()
    if "state" not in out:
        raise ParseError("BadOutput", f"unexpected cryptsetup status output {text[:80]!r}")
    return out
