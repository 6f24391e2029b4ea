"""Parsers for pending security updates (apt, dnf) and automatic-update configuration."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from aslcheck.inventories.ssh.parsers import ParseError

_INST = re.compile(r"^Inst (?P<pkg>\S+) (?:\[(?P<cur>[^\]]*)\] )?\((?P<new>\S+) (?P<origins>.*) \[(?P<arch>[^\]]+)\]\)")


def parse_package_managers(text: str) -> str | None:
    """``command -v apt-get; command -v dnf`` into ``apt``, ``dnf`` or ``None``."""
    names = {line.strip().rsplit("/", 1)[-1] for line in text.splitlines() if line.strip()}
    if "apt-get" in names:
        return "apt"
    if "dnf" in names:
        return "dnf"
    return None


def parse_apt_simulation(text: str) -> list[dict[str, Any]]:
    """``apt-get -s ... dist-upgrade`` ``Inst`` lines into ``{package, current, candidate, origins, security}``."""
    out = []
    for line in text.splitlines():
        if not line.startswith("Inst "):
            continue
        match = _INST.match(line)
        if match is None:
            raise ParseError("BadOutput", f"unrecognised apt line {line!r}")
        origins = [o.strip() for o in match.group("origins").split(",")]
        security = any(re.search(r"-security\b|^Debian-Security:", o, re.IGNORECASE) for o in origins)
        out.append({"package": match.group("pkg"), "current": match.group("cur"),
                    "candidate": match.group("new"), "origins": origins, "security": security})
    return out


_UPGRADABLE = re.compile(r"^(?P<pkg>[^/\s]+)/(?P<suites>\S+) (?P<new>\S+) (?P<arch>\S+) "
                         r"\[upgradable from: (?P<cur>[^\]]+)\]$")


def parse_apt_upgradable(text: str) -> list[dict[str, Any]]:
    """``apt list --upgradable`` into ``{package, current, candidate, origins, security}``.

    Every package with a newer candidate is listed, whatever a dist-upgrade would resolve, so
    it is a superset of ``apt-get -s dist-upgrade``'s ``Inst`` lines (the same sets on the
    machine the sample comes from) at a fifth of the CPU. ``security``: a candidate suite
    ends in ``-security`` (``bookworm-security``, ``jammy-infra-security``).
    """
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("Listing..."):
            continue
        match = _UPGRADABLE.match(line.strip())
        if match is None:
            raise ParseError("BadOutput", f"unrecognised apt list line {line!r}")
        suites = match.group("suites").split(",")
        out.append({"package": match.group("pkg"), "current": match.group("cur"), "candidate": match.group("new"),
                    "origins": suites, "security": any(s.lower().endswith("-security") for s in suites)})
    return out


def parse_apt_lists(text: str) -> int | None:
    """Newest modification time (epoch seconds) of the apt ``*Release`` index files."""
    times = []
    for line in text.splitlines():
        stamp = line.split(" ", 1)[0]
        try:
            times.append(int(float(stamp)))
        except ValueError:
            raise ParseError("BadOutput", f"unexpected apt lists line {line!r}") from None
    return max(times) if times else None


def parse_apt_unattended(text: str) -> dict[str, Any]:
    """``dpkg-query`` status of unattended-upgrades and ``APT::Periodic::Unattended-Upgrade``."""
    installed = any(line.strip() == "install ok installed" for line in text.splitlines())
    periodic = None
    for line in text.splitlines():
        match = re.match(r'^APT::Periodic::Unattended-Upgrade "([^"]*)";', line.strip())
        if match:
            periodic = match.group(1)
    return {"package_installed": installed, "periodic_unattended_upgrade": periodic}


_DNF_FIELD = re.compile(r"^\s*(Update ID|Type|Issued|Updated|Severity)\s*:\s*(.*)$")


def parse_dnf_updateinfo(text: str) -> list[dict[str, Any]]:
    """``dnf updateinfo info --security`` into advisories ``{id, type, severity, issued_epoch}``."""
    advisories: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for line in text.splitlines():
        match = _DNF_FIELD.match(line)
        if not match:
            continue
        key, value = match.group(1), match.group(2).strip()
        if key == "Update ID":
            current = {"id": value, "type": None, "severity": None, "issued_epoch": None}
            advisories.append(current)
        elif current is None:
            raise ParseError("BadOutput", f"advisory field before 'Update ID': {line!r}")
        elif key == "Type":
            current["type"] = value
        elif key == "Severity":
            current["severity"] = value
        elif key in ("Issued", "Updated") and (key == "Issued" or current["issued_epoch"] is None):
            current["issued_epoch"] = _epoch(value)
    for adv in advisories:
        if adv["issued_epoch"] is None:
            raise ParseError("BadOutput", f"advisory {adv['id']} has no issue date")
    return advisories


def _epoch(value: str) -> int:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return int(datetime.strptime(value, fmt).replace(tzinfo=timezone.utc).timestamp())
        except ValueError:
            continue
    raise ParseError("BadOutput", f"unrecognised date {value!r}")


def parse_dnf_automatic_conf(text: str) -> bool:
    """Whether ``/etc/dnf/automatic.conf`` sets ``apply_updates = yes`` in ``[commands]``."""
    section = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped.strip("[]").strip()
        elif section == "commands" and "=" in stripped and not stripped.startswith("#"):
            key, _, value = stripped.partition("=")
            if key.strip() == "apply_updates":
                return value.strip().lower() in ("yes", "true", "1", "on")
    return False
