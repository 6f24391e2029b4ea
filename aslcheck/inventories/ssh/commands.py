"""The allowlist: every shell command the SSH collector may run on a host, and nothing else.

Each :class:`Probe` is a fixed template. The only values interpolated are from configuration
(weight paths, EDR unit names, the sshd config path), always through :func:`shlex.quote`.
Nothing read from a host is ever interpolated into a command. All probes are read-only.

Probes run as the login user unless marked: ``ROOT`` probes run as root when logged in as
root, else through ``sudo -n`` when sudo is enabled (``config.host_settings["sudo"]`` and not
disabled for the host), else they do not run and yield the "needs root" exit code 250.
``PREFER_ROOT`` probes use root when available and otherwise run as the login user, whose
permission errors then become ERROR facts.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

NEEDS_ROOT_RC = 250
"""Exit code a ROOT probe reports when it was not run for lack of root."""


class Privilege(Enum):
    """What a probe needs."""

    USER = "user"
    """Runs as the login user."""
    ROOT = "root"
    """Runs only as root (directly or through ``sudo -n``)."""
    PREFER_ROOT = "prefer_root"
    """Uses root when available, else the login user."""


@dataclass(frozen=True)
class Probe:
    """One allowlisted command template."""

    name: str
    """Section name (``[a-z0-9_]+``); per-item probes get an index suffix."""
    template: str
    """Shell snippet; placeholders ``{path}``, ``{unit}``, ``{sshd_config}`` are shell-quoted."""
    privilege: Privilege
    """Privilege it needs."""
    kind: str
    """The resource kind it feeds."""


def _p(name: str, template: str, privilege: Privilege, kind: str) -> Probe:
    return Probe(name, template, privilege, kind)


U, R, PR = Privilege.USER, Privilege.ROOT, Privilege.PREFER_ROOT

HOST_PROBES: tuple[Probe, ...] = (
    _p("whoami", "id -u; id -un; date +%s", U, "host.os"),
    _p("os_release", "if [ -r /etc/os-release ]; then cat /etc/os-release; else cat /usr/lib/os-release; fi",
       U, "host.os"),
    _p("uname", "uname -r; uname -m", U, "host.os"),
    _p("sshd_t", "asl_root sshd -T -f {sshd_config}", R, "host.sshd"),
    _p("sshd_files", "asl_sshd_files {sshd_config} 0", PR, "host.sshd"),
    _p("passwd", "getent passwd", U, "host.accounts"),
    _p("group", "getent group", U, "host.accounts"),
    _p("sudoers", "asl_sudoers /etc/sudoers 0", R, "host.sudoers"),
    _p("sudo_conf", "asl_file /etc/sudo.conf cat -- /etc/sudo.conf", U, "host.sudoers"),
    _p("nsswitch", "asl_file /etc/nsswitch.conf cat -- /etc/nsswitch.conf", U, "host.sudoers"),
    _p("auditctl_s", "asl_root auditctl -s", R, "host.auditd"),
    _p("auditctl_l", "asl_root auditctl -l", R, "host.auditd"),
    _p("nft", "asl_root nft -j list ruleset", R, "host.firewall"),
    _p("iptables", "asl_root iptables-save", R, "host.firewall"),
    _p("ip6tables", "asl_root ip6tables-save", R, "host.firewall"),
    _p("route4", "ip -j route show default", U, "host.egress"),
    _p("route6", "ip -j -6 route show default", U, "host.egress"),
    _p("tc", "tc -j -s qdisc show", U, "host.egress"),
    _p("getenforce", "asl_have getenforce", U, "host.exec_control"),
    _p("fapolicyd", "systemctl is-active fapolicyd.service", U, "host.exec_control"),
    _p("cmdline", "cat /proc/cmdline", U, "host.exec_control"),
    _p("mounts", "findmnt -J -o TARGET,SOURCE,FSTYPE,OPTIONS", U, "host.exec_control"),
    _p("mounts_dev", "findmnt -J -o TARGET,SOURCE,FSTYPE,OPTIONS,MAJ:MIN,FSROOT", U, "host.weight_volume"),
    _p("lsblk", "lsblk -J -o NAME,KNAME,TYPE,FSTYPE,MOUNTPOINT,PKNAME", U, "host.weight_volume"),
    _p("cryptsetup", "asl_cryptsetup", R, "host.weight_volume"),
    _p("pkg_manager", "command -v apt-get || true; command -v dnf || true", U, "host.updates"),
    # NOTE: "apt list --upgradable" lists every package with a newer candidate (a superset of
    # what "apt-get -s dist-upgrade" would install, kept-back ones included) at a fifth of the
    # CPU: the simulated upgrade was 90% of a host's probe (BENCHMARKS.md, SSH fleet).
    _p("apt_upgrade",
       "if command -v apt >/dev/null; then apt list --upgradable; else exit 127; fi",
       U, "host.updates"),
    _p("apt_lists",
       "find /var/lib/apt/lists -maxdepth 1 -name '*Release' -printf '%T@ %f\\n'", U, "host.updates"),
    _p("apt_unattended",
       "dpkg-query -W -f='${{Status}}\\n' unattended-upgrades; apt-config dump APT::Periodic::Unattended-Upgrade",
       U, "host.updates"),
    _p("apt_timer", "systemctl is-enabled apt-daily-upgrade.timer", U, "host.updates"),
    _p("dnf_updateinfo",
       "if command -v dnf >/dev/null; then dnf -q -C updateinfo info --security; else exit 127; fi",
       U, "host.updates"),
    _p("dnf_timer_install", "systemctl is-enabled dnf-automatic-install.timer", U, "host.updates"),
    _p("dnf_timer", "systemctl is-enabled dnf-automatic.timer", U, "host.updates"),
    _p("dnf_automatic_conf", "cat /etc/dnf/automatic.conf", U, "host.updates"),
)
"""Probes run once per host."""

PATH_PROBES: tuple[Probe, ...] = (
    _p("stat", "asl_priv stat -L -c '%F|%a|%U|%G|%u|%g' -- {path}", PR, "host.weight_path"),
    _p("realpath", "asl_priv realpath -e -z -- {path}", PR, "host.weight_path"),
    _p("acl", "asl_priv getfacl -p -- {path}", PR, "host.weight_path"),
    # NOTE: find and getfacl follow symlinks (-L): what a link below, or at, a weight path points
    # to is checked at its target (issue 10 class 8); the targets themselves are listed by "links".
    _p("acl_ext", "asl_priv getfacl -p -R -L --skip-base -- {path} | head -n 4000", PR, "host.weight_path"),
    _p("other_readable",
       "asl_priv find -L {path} ! -type l -perm -o+r -print0 | head -z -n 1001", PR, "host.weight_path"),
    _p("owners",
       "asl_priv find -L {path} ! -type l -printf '%u:%g\\0' | sort -zu | head -z -n 201", PR, "host.weight_path"),
    _p("links",
       "asl_priv find -L {path} -xtype l -print0 | head -z -n 201 | asl_xargs realpath -m -z --",
       PR, "host.weight_path"),
    _p("mount", "findmnt -J -o TARGET,SOURCE,FSTYPE,OPTIONS,MAJ:MIN,FSROOT -T {path}", U, "host.weight_volume"),
    _p("devices", "asl_priv find -L {path} -printf '%D\\n' | sort -un | head -n 65", PR, "host.weight_volume"),
)
"""Probes run for each declared weight path (``{path}``)."""

UNIT_PROBES: tuple[Probe, ...] = (
    _p("edr", "systemctl is-active {unit}", U, "host.edr"),
)
"""Probes run for each declared EDR unit (``{unit}``)."""

OTHER_READABLE_LIMIT = 1000
"""How many others-readable entries are listed per weight path (one more marks truncation)."""
OWNERS_LIMIT = 200
"""How many distinct owner:group pairs are listed per weight path."""
ACL_EXT_LINES = 4000
"""Lines of recursive extended-ACL output kept per weight path."""
LINKS_LIMIT = 200
"""How many symlinks at or below a weight path are resolved (one more marks truncation)."""
DEVICES_LIMIT = 64
"""How many distinct devices at or below a weight path are listed (one more marks truncation)."""
INCLUDE_DEPTH = 16
"""sshd's own limit on nested Include (SERVCONF_MAX_DEPTH); sudoers includes are followed as deep."""

# NOTE: the prelude is fixed text. Host output can never forge section boundaries because
# every marker carries a per-run random nonce that is not on any command line (the script
# arrives on stdin) and not exported to child processes.
#
# asl_root decides what an exit code 127 means: only when root itself looked a program up
# (``command -v``) is it reported absent ("aslcheck: absent: NAME"); through sudo, or when sudo
# is missing, nothing is concluded about the program (issue 10 class 8). asl_priv (PREFER_ROOT)
# runs as the login user when sudo is missing, whose permission errors then surface as errors.
#
# asl_file NAME CMD... and asl_dir DIR PRIV record the output, exit code and stderr of one read
# per item, so "No such file" is told apart from "Permission denied" for each file. The sshd and
# sudoers walkers dump what the include directives they find name; the Python parsers re-read
# the directives themselves and treat an include without a record as not collected (ERROR), so
# a directive the shell's crude matching misses can never be silently skipped.
PRELUDE = r"""
export LC_ALL=C LANG=C
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
set -f
exec 3>&1
asl_uid=$(id -u)
asl_sudo_n() {
  if command -v sudo >/dev/null 2>&1; then sudo -n -- "$@"
  else echo "aslcheck: sudo not found" >&2; return 127; fi
}
asl_root() {
  if [ "$asl_uid" = 0 ]; then
    if command -v "$1" >/dev/null 2>&1; then "$@"; else echo "aslcheck: absent: $1" >&2; return 127; fi
  elif [ "$asl_sudo" = 1 ]; then asl_sudo_n "$@"
  else echo "aslcheck: needs root" >&2; return 250; fi
}
asl_priv() {
  if [ "$asl_uid" != 0 ] && [ "$asl_sudo" = 1 ] && command -v sudo >/dev/null 2>&1; then sudo -n -- "$@"
  else "$@"; fi
}
asl_xargs() {
  if [ "$asl_uid" != 0 ] && [ "$asl_sudo" = 1 ] && command -v sudo >/dev/null 2>&1; then
    xargs -0 -r sudo -n -- "$@"
  else xargs -0 -r "$@"; fi
}
asl_have() {
  if command -v "$1" >/dev/null 2>&1; then "$@"; else echo "aslcheck: absent: $1" >&2; return 127; fi
}
asl_hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
asl_file() {
  printf '%s F %s\n' "$asl_n" "$(asl_hex "$1")"
  shift
  asl_fe=$("$@" 2>&1 >&3); asl_r=$?
  printf '\n%s FR %s %s\n' "$asl_n" "$asl_r" "$(asl_hex "$asl_fe")"
}
asl_dir() {
  printf '%s D %s\n' "$asl_n" "$(asl_hex "$1")"
  asl_fe=$("$2" find "$1" -mindepth 1 -maxdepth 1 -printf '%y%Y %f\0' 2>&1 >&3); asl_r=$?
  printf '\n%s FR %s %s\n' "$asl_n" "$asl_r" "$(asl_hex "$asl_fe")"
}
asl_glob() {
  asl_gd=${3%/*}; asl_gb=${3##*/}
  [ -n "$asl_gd" ] || asl_gd=/
  case $asl_gd in *[*?[]*) return 0 ;; esac
  asl_dir "$asl_gd" "$2"
  for asl_f in $("$2" find "$asl_gd" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null); do
    case $asl_f in $asl_gb) ( "$1" "${asl_gd%/}/$asl_f" $(($4 + 1)) ) ;; esac
  done
}
asl_sshd_files() {
  asl_file "$1" asl_priv cat -- "$1"
  [ "$2" -lt 16 ] || return 0
  for asl_p in $(asl_priv cat -- "$1" 2>/dev/null |
      sed -n 's/^[[:space:]]*[Ii][Nn][Cc][Ll][Uu][Dd][Ee][[:space:]=]\{1,\}//p'); do
    case $asl_p in /*) ;; *) asl_p="/etc/ssh/$asl_p" ;; esac
    case $asl_p in
      *[*?[]*) asl_glob asl_sshd_files asl_priv "$asl_p" "$2" ;;
      *) ( asl_sshd_files "$asl_p" $(($2 + 1)) ) ;;
    esac
  done
}
asl_sudoers() {
  asl_file "$1" asl_root cat -- "$1"
  [ "$2" -lt 16 ] || return 0
  asl_sd=${1%/*}
  asl_inc=$(asl_root cat -- "$1" 2>/dev/null | sed -n -e 's/^[[:space:]]*[#@]includedir[[:space:]]\{1,\}/d /p' \
      -e 's/^[[:space:]]*[#@]include[[:space:]]\{1,\}/i /p')
  asl_ifs=$IFS
  IFS='
'
  for asl_l in $asl_inc; do
    IFS=$asl_ifs
    asl_p=${asl_l#? }
    case $asl_p in \"*\") asl_p=${asl_p#\"}; asl_p=${asl_p%\"} ;; esac
    case $asl_p in /*) ;; *) asl_p="$asl_sd/$asl_p" ;; esac
    case $asl_l in
      d*) asl_dir "$asl_p" asl_root
          for asl_f in $(asl_root find "$asl_p" -mindepth 1 -maxdepth 1 -xtype f ! -name '*~' ! -name '*.*' \
              -printf '%f\n' 2>/dev/null); do
            ( asl_sudoers "${asl_p%/}/$asl_f" $(($2 + 1)) )
          done ;;
      *) ( asl_sudoers "$asl_p" $(($2 + 1)) ) ;;
    esac
  done
  IFS=$asl_ifs
}
asl_cryptsetup() {
  for asl_d in $(lsblk -l -n -o NAME,TYPE | awk '$2 == "crypt" { print $1 }'); do
    printf '%s F %s\n' "$asl_n" "$(asl_hex "$asl_d")"
    asl_root cryptsetup status "$asl_d"; asl_r=$?
    printf '\n%s FR %s\n' "$asl_n" "$asl_r"
  done
}
asl_run() {
  printf '%s B %s\n' "$asl_n" "$1"
  asl_e=$( { ( "asl_b_$1" ) </dev/null; printf '\n%s R %s\n' "$asl_n" "$?"; } 2>&1 1>&3 )
  printf '%s E\n%s\n%s Z\n' "$asl_n" "$asl_e" "$asl_n"
}
"""

_NONCE = re.compile(r"^[0-9a-f]{32}$")
_SECTION = re.compile(r"^[a-z][a-z0-9_]*$")
_PLACEHOLDERS = ("path", "unit", "sshd_config")


@dataclass(frozen=True)
class Section:
    """A probe instantiated for one run: section name and rendered shell body."""

    name: str
    """Unique section name (``stat_0`` for the first weight path)."""
    probe: Probe
    """The allowlisted probe it comes from."""
    body: str
    """Rendered shell body (configuration values quoted)."""
    item: str | None = None
    """The configured value it is about (a weight path or unit name), if any."""


def render(probe: Probe, values: Mapping[str, str], suffix: str = "", item: str | None = None) -> Section:
    """Instantiate ``probe``, quoting every value with :func:`shlex.quote`."""
    unknown = set(values) - set(_PLACEHOLDERS)
    if unknown:
        raise ValueError(f"unknown placeholders {sorted(unknown)}")
    body = probe.template.format(**{k: shlex.quote(v) for k, v in values.items()})
    name = probe.name + suffix
    if not _SECTION.match(name):
        raise ValueError(f"bad section name {name!r}")
    return Section(name=name, probe=probe, body=body, item=item)


def build_script(sections: tuple[Section, ...], nonce: str, sudo: bool) -> str:
    """The whole probe as one POSIX shell script, to be fed to ``/bin/sh -s`` on stdin."""
    if not _NONCE.match(nonce):
        raise ValueError("nonce must be 32 lowercase hex digits")
    parts = [f"asl_n={nonce}", f"asl_sudo={1 if sudo else 0}", PRELUDE]
    for sec in sections:
        parts.append(f"asl_b_{sec.name}() {{\n{sec.body}\n}}")
    for sec in sections:
        parts.append(f"asl_run {sec.name}")
    parts.append('printf "%s DONE\\n" "$asl_n"')
    return "\n".join(parts) + "\n"


def all_probes() -> tuple[Probe, ...]:
    """Every allowlisted probe."""
    return HOST_PROBES + PATH_PROBES + UNIT_PROBES
