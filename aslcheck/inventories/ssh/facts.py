"""Turn the sections of one host's probe into resources and collection errors (pure).

Every fact is built by one function that either returns attributes or raises
:class:`ParseError`; a raised error becomes a :class:`CollectionError` of that kind naming the
host and resource, and the attribute is simply absent (never a default that could pass).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aslcheck.inventories.snapshot import CollectionError, Resource
from aslcheck.inventories.ssh.commands import ACL_EXT_LINES, NEEDS_ROOT_RC, OTHER_READABLE_LIMIT, OWNERS_LIMIT
from aslcheck.inventories.ssh.parsers import ParseError
from aslcheck.inventories.ssh.parsers import network as net
from aslcheck.inventories.ssh.parsers import sshd as sshdp
from aslcheck.inventories.ssh.parsers import storage as st
from aslcheck.inventories.ssh.parsers import system as sy
from aslcheck.inventories.ssh.parsers import updates as up
from aslcheck.inventories.ssh.probe import Plan, SectionResult

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


def ok(sec: SectionResult, allow_rc: tuple[int, ...] = (0,), what: str | None = None) -> SectionResult:
    """Return ``sec`` if it succeeded, else raise the right :class:`ParseError`.

    Permission problems are always errors ("needs root"), never an empty or absent fact.
    """
    label = what or sec.name
    if sec.rc == NEEDS_ROOT_RC and "aslcheck: needs root" in sec.stderr:
        raise ParseError("NeedsRoot", f"{label} needs root: log in as root or enable sudo -n")
    if sec.rc != 0 and any(line.startswith("sudo:") for line in sec.stderr.splitlines()):
        raise ParseError("SudoRefused", f"{label}: sudo -n refused: {sec.stderr.strip()[:300]}")
    if _DENIED.search(sec.stderr):
        raise ParseError("PermissionDenied", f"{label}: {sec.stderr.strip()[:300]}")
    if sec.rc == 127:
        raise ParseError("CommandMissing", f"{label}: command not found")
    if sec.rc not in allow_rc:
        raise ParseError("CommandFailed", f"{label} exited {sec.rc}: {sec.stderr.strip()[:300]}")
    return sec


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
    """``host.sshd``: effective settings (``sshd -T``, else files + defaults) and Match overrides."""
    files = sshdp.parse_sshd_files(ok(c.sec("sshd_files")).files, c.sshd_config)
    sec = c.sec("sshd_t")
    try:
        settings = sshdp.parse_sshd_t(ok(sec, what="sshd -T").text())
        source = "sshd -T"
    except ParseError as exc:
        if exc.code not in ("NeedsRoot", "SudoRefused"):
            raise
        settings, source = files.settings, "config files"
    return {"source": source, "config_file": c.sshd_config, "settings": settings,
            "match_values": files.match_values, "files_read": files.files}


def fact_accounts(c: HostContext) -> dict[str, Any]:
    """``host.accounts``: local users and groups."""
    return {"users": sy.parse_passwd(ok(c.sec("passwd")).text()),
            "groups": sy.parse_group(ok(c.sec("group")).text())}


def fact_sudoers(c: HostContext) -> dict[str, Any]:
    """``host.sudoers``: rule lines of /etc/sudoers and /etc/sudoers.d."""
    rules: list[str] = []
    files_present = []
    for name in ("sudoers", "sudoers_d"):
        sec = c.sec(name)
        # NOTE: only a missing file is "no rules"; any other failure (permission) is an error.
        if sec.rc not in (0, NEEDS_ROOT_RC) and "No such file or directory" in sec.stderr:
            continue
        rules += sy.parse_sudoers(ok(sec).text())
        files_present.append(name)
    return {"rules": rules, "sources_read": files_present}


def fact_auditd(c: HostContext) -> dict[str, Any]:
    """``host.auditd``: kernel audit state, daemon PID and file-watch rules."""
    status_sec = c.sec("auditctl_s")
    if status_sec.rc == 127:
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
        if sec.rc == 127:
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
    selinux = sy.parse_getenforce(c.sec("getenforce").text(), c.sec("getenforce").rc)
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
        pending = up.parse_apt_simulation(ok(c.sec("apt_upgrade"), what="apt-get -s").text())
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


def fact_weight_path(c: HostContext, i: int, path: str) -> dict[str, Any]:
    """``host.weight_path``: owner, group, mode, ACLs, others-readable entries and owners below."""
    base: dict[str, Any] = {"path": path, "declared_by": list(c.path_groups.get(path, ()))}
    stat_sec = c.sec(f"stat_{i}")
    if stat_sec.rc != 0 and "No such file or directory" in stat_sec.stderr:
        return {**base, "exists": False}
    info = st.parse_stat(ok(stat_sec, what=f"stat {path}").text())
    acl = st.parse_getfacl(ok(c.sec(f"acl_{i}"), what=f"getfacl {path}").text())
    ext_sec = ok(c.sec(f"acl_ext_{i}"), what=f"getfacl -R {path}")
    if ext_sec.stderr:  # NOTE: piped through head, so the exit code is head's; stderr tells.
        raise ParseError("CommandFailed", f"getfacl -R {path}: {ext_sec.stderr[:300]}")
    ext_text = ext_sec.text()
    ext = st.parse_getfacl(ext_text)
    readable_sec = ok(c.sec(f"other_readable_{i}"), what=f"find {path}")
    if readable_sec.stderr:
        raise ParseError("CommandFailed", f"find {path}: {readable_sec.stderr[:300]}")
    readable, readable_cut = st.parse_nul_list(readable_sec.stdout, OTHER_READABLE_LIMIT)
    owners_sec = ok(c.sec(f"owners_{i}"), what=f"find {path}")
    if owners_sec.stderr:
        raise ParseError("CommandFailed", f"find {path}: {owners_sec.stderr[:300]}")
    owners, owners_cut = st.parse_owner_pairs(owners_sec.stdout, OWNERS_LIMIT)
    return {
        **base, "exists": True, **info,
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
    """``host.weight_volume``: the mount holding the path, its device chain and dm-crypt state."""
    mounts = st.parse_findmnt(ok(c.sec(f"mount_{i}"), what=f"findmnt -T {path}").text())
    if len(mounts) != 1:
        raise ParseError("BadOutput", f"findmnt -T {path} returned {len(mounts)} mounts")
    mount = mounts[0]
    devices = st.parse_lsblk(ok(c.sec("lsblk")).text())
    chain = st.device_chain(str(mount["source"]), devices)
    if chain is None:
        raise ParseError("Undeterminable",
                         f"{path} is on {mount['fstype']} {mount['source']}, not a block device lsblk "
                         "reports, so dm-crypt cannot be determined")
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
    return {"path": path, "mount": mount, "device_chain": chain, "encrypted": st.chain_encrypted(chain),
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
