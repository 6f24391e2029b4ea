"""Turn the sections of one host's probe into resources and collection errors (pure).

Every fact is built by one function that either returns attributes or raises
:class:`ParseError`; a raised error becomes a :class:`CollectionError` of that kind naming the
host and resource, and the attribute is simply absent (never a default that could pass).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aslcheck.inventories.snapshot import CollectionError, Resource
from aslcheck.inventories.ssh.commands import (
    ACL_EXT_LINES,
    DEVICES_LIMIT,
    LINKS_LIMIT,
    NEEDS_ROOT_RC,
    OTHER_READABLE_LIMIT,
    OWNERS_LIMIT,
)
from aslcheck.inventories.ssh.parsers import ParseError
from aslcheck.inventories.ssh.parsers import network as net
from aslcheck.inventories.ssh.parsers import sshd as sshdp
from aslcheck.inventories.ssh.parsers import storage as st
from aslcheck.inventories.ssh.parsers import sudoers as sudo
from aslcheck.inventories.ssh.parsers import system as sy
from aslcheck.inventories.ssh.parsers import updates as up
from aslcheck.inventories.ssh.probe import FileRecord, Plan, SectionResult

SOURCE = "ssh"

HOST_KINDS: tuple[str, ...] = (
    "host.os", "host.sshd", "host.accounts", "host.sudoers", "host.auditd", "host.firewall",
    "host.egress", "host.exec_control", "host.updates", "host.edr",
)
"""Kinds with one resource per host (ID = inventory name)."""
PATH_KINDS: tuple[str, ...] = ("host.weight_path", "host.weight_volume")
"""Kinds with one resource per declared weight path (ID = ``host:path``)."""
KINDS: frozenset[str] = frozenset(HOST_KINDS + PATH_KINDS)
"""Every kind the SSH collector produces."""


def weight_resource_id(host: str, path: str) -> str:
    """Resource ID of a weight path on a host."""
    return f"{host}:{path}"


@dataclass(frozen=True)
class HostContext:
    """What fact builders see for one host."""

    host: str
    """Inventory name."""
    sections: Mapping[str, SectionResult]
    """Parsed sections by name."""
    plan: Plan
    """What was run."""
    sudo: bool
    """Whether sudo was enabled for this host."""
    sshd_config: str
    """The sshd config file evaluated."""
    path_groups: Mapping[str, tuple[str, ...]]
    """Weight path -> inventory groups that declare it."""

    def sec(self, name: str) -> SectionResult:
        """A section that must have run."""
        try:
            return self.sections[name]
        except KeyError:
            raise ParseError("NotCollected", f"section {name} did not run") from None


_DENIED = re.compile(r"Permission denied|Operation not permitted|must be root|You must be root", re.IGNORECASE)
ABSENT_MARK = "aslcheck: absent: "
"""Written by the probe when root looked a program up and did not find it."""
SUDO_MISSING_MARK = "aslcheck: sudo not found"
"""Written by the probe when a command had to go through sudo and sudo is not installed."""


def _classify(rc: int, stderr: str, label: str, allow_rc: tuple[int, ...] = (0,)) -> None:
    if rc == NEEDS_ROOT_RC and "aslcheck: needs root" in stderr:
        raise ParseError("NeedsRoot", f"{label} needs root: log in as root or enable sudo -n")
    if rc != 0 and SUDO_MISSING_MARK in stderr:
        # NOTE: an exit 127 of "sudo -n CMD" says nothing about CMD (issue 10 class 8).
        raise ParseError("CommandMissing", f"{label}: sudo is not installed, so it could not run as root")
    if rc != 0 and any(line.startswith("sudo:") for line in stderr.splitlines()):
        code = "CommandMissing" if "command not found" in stderr else "SudoRefused"
        raise ParseError(code, f"{label}: sudo -n refused: {stderr.strip()[:300]}")
    if _DENIED.search(stderr):
        raise ParseError("PermissionDenied", f"{label}: {stderr.strip()[:300]}")
    if rc == 127:
        raise ParseError("CommandMissing", f"{label}: command not found ({stderr.strip()[:200] or 'exit 127'})")
    if rc not in allow_rc:
        raise ParseError("CommandFailed", f"{label} exited {rc}: {stderr.strip()[:300]}")


def ok(sec: SectionResult, allow_rc: tuple[int, ...] = (0,), what: str | None = None) -> SectionResult:
    """Return ``sec`` if it succeeded, else raise the right :class:`ParseError`.

    Permission problems are always errors ("needs root"), never an empty or absent fact; an
    exit code 127 is "command missing" (an ERROR) unless :func:`absent` says root looked.
    """
    _classify(sec.rc, sec.stderr, what or sec.name, allow_rc)
    return sec


def absent(sec: SectionResult) -> bool:
    """Whether the section's program is not installed, as root itself found (never concluded via sudo)."""
    return sec.rc == 127 and any(line.startswith(ABSENT_MARK) for line in sec.stderr.splitlines())


def ok_records(records: Iterable[FileRecord], label: str) -> list[FileRecord]:
    """The records of a walk, after raising for any read that failed for another reason than "no such file"."""
    out = []
    for rec in records:
        if rec.rc != 0 and not rec.missing():
            _classify(rec.rc, rec.stderr, f"{label} {rec.name}")
            raise ParseError("ReadFailed", f"{label}: cannot read {rec.name}: {rec.stderr[:200] or f'exit {rec.rc}'}")
        out.append(rec)
    return out


def fact_os(c: HostContext) -> dict[str, Any]:
    """``host.os``: release, kernel, login identity and the privilege probes ran with."""
    uid, user, now = sy.parse_whoami(ok(c.sec("whoami")).text())
    release = sy.parse_os_release(ok(c.sec("os_release")).text())
    kernel, machine = sy.parse_uname(ok(c.sec("uname")).text())
    return {
        "os_id": release.get("ID"),
        "os_version_id": release.get("VERSION_ID"),
        "os_pretty_name": release.get("PRETTY_NAME"),
        "kernel_release": kernel,
        "machine": machine,
        "login_user": user,
        "login_uid": uid,
        "privilege": "root" if uid == 0 else ("sudo" if c.sudo else "none"),
        "host_time_epoch": now,
    }


def fact_sshd(c: HostContext) -> dict[str, Any]:
    """``host.sshd``: effective settings (``sshd -T``, else files + defaults) and every Match block.

    ``sshd -T`` without ``-C`` ignores Match blocks, so the blocks always come from the files,
    which must therefore be read completely (Include followed) in both cases.
    """
    files_sec = ok(c.sec("sshd_files"), what="sshd config files")
    files = sshdp.parse_sshd_files(ok_records(files_sec.files, "sshd config"), c.sshd_config)
    sec = c.sec("sshd_t")
    defaulted: list[str] = []
    try:
        settings = sshdp.parse_sshd_t(ok(sec, what="sshd -T").text())
        source = "sshd -T"
    except ParseError as exc:
        if exc.code not in ("NeedsRoot", "SudoRefused") and not (exc.code == "CommandMissing" and
                                                                   SUDO_MISSING_MARK in sec.stderr):
            raise
        settings, source, defaulted = files.settings, "config files", files.defaulted
    return {"source": source, "config_file": c.sshd_config, "settings": settings,
            "files_settings": files.settings, "match_values": files.match_values,
            "match_blocks": files.match_blocks, "defaulted": defaulted, "files_read": files.files}


def fact_accounts(c: HostContext) -> dict[str, Any]:
    """``host.accounts``: local users and groups."""
    return {"users": sy.parse_passwd(ok(c.sec("passwd")).text()),
            "groups": sy.parse_group(ok(c.sec("group")).text())}


def fact_sudoers(c: HostContext) -> dict[str, Any]:
    """``host.sudoers``: structured sudo rules of /etc/sudoers and everything it includes.

    Any line that cannot be read, any include the probe did not follow, a sudo.conf that
    points sudo elsewhere, or sudo rules from LDAP/SSSD is an error, never "no rules".
    """
    walk = ok(c.sec("sudoers"), what="sudoers")
    records = ok_records(walk.files, "sudoers")
    conf = ok(c.sec("sudo_conf"), what="sudo.conf").files
    nss = ok(c.sec("nsswitch"), what="nsswitch.conf").files
    conf_rec = ok_records(conf, "sudo.conf")[0] if conf else None
    nss_rec = ok_records(nss, "nsswitch.conf")[0] if nss else None
    return dict(sudo.sudoers_fact(records, conf_rec, nss_rec))


def fact_auditd(c: HostContext) -> dict[str, Any]:
    """``host.auditd``: kernel audit state, daemon PID and file-watch rules."""
    status_sec = c.sec("auditctl_s")
    if absent(status_sec):
        return {"installed": False, "enabled": 0, "daemon_pid": 0, "watches": []}
    status = sy.parse_auditctl_status(ok(status_sec, what="auditctl -s").text())
    watches = sy.parse_auditctl_rules(ok(c.sec("auditctl_l"), what="auditctl -l").text())
    return {"installed": True, "enabled": status["enabled"], "daemon_pid": status["pid"], "watches": watches}


def fact_firewall(c: HostContext) -> dict[str, Any]:
    """``host.firewall``: base chains of nftables and iptables/ip6tables (every tool present)."""
    chains: list[dict[str, Any]] = []
    tools: dict[str, str] = {}
    for name, parse in (("nft", net.parse_nft_ruleset),
                        ("iptables", lambda t: net.parse_iptables_save(t, "ip")),
                        ("ip6tables", lambda t: net.parse_iptables_save(t, "ip6"))):
        sec = c.sec(name)
        if absent(sec):
            tools[name] = "absent"
            continue
        chains.extend(parse(ok(sec).text()))
        tools[name] = "read"
    return {"tools": tools, "chains": chains}


def fact_egress(c: HostContext) -> dict[str, Any]:
    """``host.egress``: default routes, their interfaces and root qdiscs."""
    routes = net.parse_default_routes(ok(c.sec("route4")).text(), "ip")
    routes += net.parse_default_routes(ok(c.sec("route6")).text(), "ip6")
    qdiscs = net.parse_tc_qdiscs(ok(c.sec("tc")).text())
    return {"default_routes": routes,
            "egress_interfaces": sorted({r["dev"] for r in routes if r["dev"]}),
            "qdiscs": qdiscs}


WATCHED_MOUNTS = ("/tmp", "/var/tmp", "/dev/shm", "/home")  # noqa: S108 - mount points we report, not temp files


def fact_exec_control(c: HostContext) -> dict[str, Any]:
    """``host.exec_control``: fapolicyd, SELinux, IMA appraisal and noexec mounts."""
    fap = c.sec("fapolicyd")
    fapolicyd = sy.parse_unit_state(fap.text(), fap.stderr)
    enforce = c.sec("getenforce")
    selinux = "absent" if absent(enforce) else sy.parse_getenforce(enforce.text(), enforce.rc)
    ima = sy.parse_cmdline_ima(ok(c.sec("cmdline")).text())
    mounts = st.parse_findmnt(ok(c.sec("mounts")).text())
    noexec = sorted({m["target"] for m in mounts if "noexec" in str(m["options"]).split(",")})
    return {"fapolicyd": fapolicyd, "selinux": selinux, "ima_appraise": ima,
            "noexec_mounts": noexec,
            "world_writable_mounts": {t: (t in noexec) for t in WATCHED_MOUNTS
                                      if any(m["target"] == t for m in mounts)}}


def fact_updates(c: HostContext) -> dict[str, Any]:
    """``host.updates``: pending security updates, index age and automatic updates."""
    manager = up.parse_package_managers(ok(c.sec("pkg_manager")).text())
    _, _, now = sy.parse_whoami(ok(c.sec("whoami")).text())
    if manager == "apt":
        pending = up.parse_apt_upgradable(ok(c.sec("apt_upgrade"), what="apt list --upgradable").text())
        index = up.parse_apt_lists(ok(c.sec("apt_lists")).text())
        una = up.parse_apt_unattended(c.sec("apt_unattended").text())
        timer_sec = c.sec("apt_timer")
        timer = sy.parse_unit_state(timer_sec.text(), timer_sec.stderr, sy.UNIT_FILE_STATES)
        enabled = (una["package_installed"] and una["periodic_unattended_upgrade"] not in (None, "0")
                   and timer in ("enabled", "static", "enabled-runtime", "indirect"))
        security = [
            {"package": p["package"], "candidate": p["candidate"], "issued_epoch": None}
            for p in pending if p["security"]
        ]
        return {"manager": "apt", "pending_security": security, "pending_total": len(pending),
                "index_epoch": index, "host_time_epoch": now,
                "auto_updates": {"mechanism": "unattended-upgrades", "enabled": enabled,
                                 "timer": timer, **una}}
    if manager == "dnf":
        advisories = up.parse_dnf_updateinfo(ok(c.sec("dnf_updateinfo"), what="dnf updateinfo").text())
        states = {}
        for name in ("dnf_timer_install", "dnf_timer"):
            sec = c.sec(name)
            states[name] = sy.parse_unit_state(sec.text(), sec.stderr, sy.UNIT_FILE_STATES)
        conf_sec = c.sec("dnf_automatic_conf")
        apply = up.parse_dnf_automatic_conf(ok(conf_sec).text()) if "No such file" not in conf_sec.stderr else False
        enabled = states["dnf_timer_install"] == "enabled" or (states["dnf_timer"] == "enabled" and apply)
        return {"manager": "dnf",
                "pending_security": [{"package": a["id"], "candidate": a["severity"],
                                      "issued_epoch": a["issued_epoch"]} for a in advisories],
                "pending_total": len(advisories), "index_epoch": now, "host_time_epoch": now,
                "auto_updates": {"mechanism": "dnf-automatic", "enabled": enabled,
                                 "timers": states, "apply_updates": apply}}
    raise ParseError("Unsupported", "no supported package manager (apt-get or dnf) found")


def fact_edr(c: HostContext) -> dict[str, Any]:
    """``host.edr``: state of each declared EDR unit."""
    states: dict[str, str] = {}
    for i, unit in enumerate(c.plan.units):
        sec = c.sec(f"edr_{i}")
        states[unit] = sy.parse_unit_state(sec.text(), sec.stderr)
    return {"declared_units": list(c.plan.units), "states": states}


def _only_missing(sec: SectionResult, program: str) -> bool:
    lines = [line for line in sec.stderr.splitlines() if line.strip()]
    return sec.rc != 0 and bool(lines) and all(
        line.startswith(f"{program}:") and line.endswith("No such file or directory") for line in lines)


def _clean(sec: SectionResult, what: str) -> SectionResult:
    # NOTE: piped through head/sort, so the exit code is the last command's; stderr tells.
    ok(sec, what=what)
    if sec.stderr:
        _classify(1, sec.stderr, what)
    return sec


def fact_weight_path(c: HostContext, i: int, path: str) -> dict[str, Any]:
    """``host.weight_path``: owner, group, mode, ACLs, others-readable entries and owners below.

    Symlinks at and below the path are followed (``find -L``, ``getfacl -L``): permissions are
    those of the targets, and ``real_path`` and ``link_targets`` say where the bytes really are.
    """
    base: dict[str, Any] = {"path": path, "declared_by": list(c.path_groups.get(path, ()))}
    stat_sec = c.sec(f"stat_{i}")
    if _only_missing(stat_sec, "stat"):
        return {**base, "exists": False}
    info = st.parse_stat(ok(stat_sec, what=f"stat {path}").text())
    real_out = ok(c.sec(f"realpath_{i}"), what=f"realpath {path}").stdout
    real = real_out[:-1].decode("utf-8", "replace") if real_out.endswith(b"\0") else ""
    if not real.startswith("/") or "\0" in real:
        raise ParseError("BadOutput", f"realpath {path} printed {real_out[:200]!r}")
    acl = st.parse_getfacl(ok(c.sec(f"acl_{i}"), what=f"getfacl {path}").text())
    ext_text = _clean(c.sec(f"acl_ext_{i}"), f"getfacl -R {path}").text()
    ext = st.parse_getfacl(ext_text)
    readable, readable_cut = st.parse_nul_list(_clean(c.sec(f"other_readable_{i}"), f"find {path}").stdout,
                                               OTHER_READABLE_LIMIT)
    owners, owners_cut = st.parse_owner_pairs(_clean(c.sec(f"owners_{i}"), f"find {path}").stdout, OWNERS_LIMIT)
    targets, links_cut = st.parse_nul_list(_clean(c.sec(f"links_{i}"), f"find -xtype l {path}").stdout,
                                           LINKS_LIMIT)
    outside = sorted({t for t in targets if not st.within(t, real)})
    return {
        **base, "exists": True, **info,
        "real_path": real,
        "link_targets": outside,
        "links_truncated": links_cut,
        "acl": acl[0]["entries"] if acl else [],
        "acl_named": st.acl_named_principals(acl + ext),
        "acl_extended_files": sorted({r["file"] for r in ext}),
        "acl_extended_truncated": ext_text.count("\n") >= ACL_EXT_LINES,
        "other_readable": readable,
        "other_readable_truncated": readable_cut,
        "owners": owners,
        "owners_truncated": owners_cut,
    }


def fact_weight_volume(c: HostContext, i: int, path: str) -> dict[str, Any]:
    """``host.weight_volume``: every filesystem holding data at or below the path, and its dm-crypt state.

    The devices are those of every entry reached from the path with symlinks followed, so a
    symlink to another disk, a bind mount or a filesystem mounted inside the weight tree is
    checked where the bytes are, not where the path starts.
    """
    top = st.parse_findmnt(ok(c.sec(f"mount_{i}"), what=f"findmnt -T {path}").text())
    if len(top) != 1:
        raise ParseError("BadOutput", f"findmnt -T {path} returned {len(top)} mounts")
    numbers, cut = st.parse_device_numbers(_clean(c.sec(f"devices_{i}"), f"find {path} -printf %D").text(),
                                           DEVICES_LIMIT)
    if cut:
        raise ParseError("Undeterminable", f"data under {path} spans more than {DEVICES_LIMIT} filesystems")
    mounts = st.parse_findmnt(ok(c.sec("mounts_dev"), what="findmnt").text())
    devices = st.parse_lsblk(ok(c.sec("lsblk")).text())
    volumes = [st.volume_for(number, mounts, devices) for number in numbers]
    if not volumes:
        raise ParseError("BadOutput", f"find {path} reported no device at all")
    crypt_sec = c.sections.get("cryptsetup")
    luks: dict[str, Any] | None = None
    luks_note = None
    if crypt_sec is not None:
        try:
            ok(crypt_sec, what="cryptsetup status")
            luks = {f.name: st.parse_cryptsetup_status(f.content.decode("utf-8", "replace"))
                    for f in crypt_sec.files if f.rc == 0}
        except ParseError as exc:
            luks_note = exc.message
    top_chain = st.device_chain(str(top[0]["source"]), devices)
    states = [v["encrypted"] for v in volumes]
    return {"path": path, "mount": top[0], "device_chain": top_chain or [],
            "volumes": volumes,
            "encrypted": False if False in states else (None if None in states else True),
            "crypt_status": luks, "crypt_status_note": luks_note}


HOST_BUILDERS: Mapping[str, Callable[[HostContext], dict[str, Any]]] = {
    "host.os": fact_os, "host.sshd": fact_sshd, "host.accounts": fact_accounts,
    "host.sudoers": fact_sudoers, "host.auditd": fact_auditd, "host.firewall": fact_firewall,
    "host.egress": fact_egress, "host.exec_control": fact_exec_control,
    "host.updates": fact_updates, "host.edr": fact_edr,
}
PATH_BUILDERS: Mapping[str, Callable[[HostContext, int, str], dict[str, Any]]] = {
    "host.weight_path": fact_weight_path, "host.weight_volume": fact_weight_volume,
}


def build_resources(c: HostContext, kinds: frozenset[str]) -> tuple[list[Resource], list[CollectionError]]:
    """Resources and errors of one host for the requested ``kinds``."""
    resources: list[Resource] = []
    errors: list[CollectionError] = []

    def attempt(kind: str, rid: str, fn: Callable[[], dict[str, Any]]) -> None:
        try:
            attrs = fn()
        except ParseError as exc:
            errors.append(CollectionError(source=SOURCE, operation=f"ssh:{kind}", code=exc.code,
                                          message=f"{c.host}: {exc.message}", resource=rid,
                                          kind=kind, host=c.host))
            return
        resources.append(Resource(kind=kind, id=rid, source=SOURCE, attributes=attrs, host=c.host))

    for kind, builder in HOST_BUILDERS.items():
        if kind in kinds:
            attempt(kind, c.host, lambda b=builder: b(c))  # type: ignore[misc]
    for kind, path_builder in PATH_BUILDERS.items():
        if kind in kinds:
            for i, path in enumerate(c.plan.paths):
                attempt(kind, weight_resource_id(c.host, path),
                        lambda pb=path_builder, i=i, p=path: pb(c, i, p))  # type: ignore[misc]
    return resources, errors


def host_failure(host: str, kinds: frozenset[str], paths: tuple[str, ...], operation: str,
                 code: str, message: str) -> list[CollectionError]:
    """One error per requested kind (and per declared weight path) when a whole host failed."""
    out = []
    for kind in sorted(kinds & KINDS):
        ids = [weight_resource_id(host, p) for p in paths] if kind in PATH_KINDS else [host]
        for rid in ids:
            out.append(CollectionError(source=SOURCE, operation=operation, code=code,
                                       message=f"{host}: {message}", resource=rid, kind=kind, host=host))
    return out
