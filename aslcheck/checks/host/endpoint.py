"""Endpoint checks: declared EDR units active, security updates current and applied automatically."""

from __future__ import annotations

from collections.abc import Iterator

from aslcheck.checks.host.common import missing, not_collected_reason
from aslcheck.checks.interface import CheckContext, CheckId, Finding, Select, Status
from aslcheck.checks.registry import check

EDR_ACTIVE = CheckId("host.edr.active")
SECURITY_CURRENT = CheckId("host.updates.security_current")

DAY = 86400


@check(EDR_ACTIVE, kinds=["host.edr"], select=Select.ALL)
def edr_active(ctx: CheckContext) -> Iterator[Finding]:
    """Every EDR unit declared in ``host_settings.edr_units`` is active."""
    for res in ctx.resources:
        a = res.attributes
        gaps = missing(a, ("declared_units", "states"))
        if gaps:
            yield ctx.finding(EDR_ACTIVE, res, Status.ERROR, not_collected_reason(res.id, gaps))
            continue
        if not a["declared_units"]:
            yield ctx.finding(EDR_ACTIVE, res, Status.ERROR,
                              "no EDR unit is declared (host_settings.edr_units), so none can be verified")
            continue
        inactive = {u: s for u, s in a["states"].items() if s != "active"}
        evidence = {"states": a["states"]}
        if inactive or set(a["states"]) != set(a["declared_units"]):
            listed = ", ".join(f"{u} is {s}" for u, s in sorted(inactive.items())) or "a unit was not checked"
            yield ctx.finding(EDR_ACTIVE, res, Status.FAIL, listed, evidence)
        else:
            yield ctx.finding(EDR_ACTIVE, res, Status.PASS,
                              f"EDR units active: {', '.join(sorted(a['states']))}", evidence)


@check(SECURITY_CURRENT, kinds=["host.updates"], select=Select.ALL, params=["patch_window_days"])
def security_current(ctx: CheckContext) -> Iterator[Finding]:
    """No pending security update older than the patch window, a fresh package index, automatic updates on.

    apt gives no release date for a pending update, so on apt hosts every pending security
    update counts as overdue; the index must be younger than the window, so updates it cannot
    show yet are necessarily within the window.
    """
    window = ctx.config.param("patch_window_days")
    for res in ctx.resources:
        a = res.attributes
        gaps = missing(a, ("manager", "pending_security", "index_epoch", "host_time_epoch", "auto_updates"))
        if gaps:
            yield ctx.finding(SECURITY_CURRENT, res, Status.ERROR, not_collected_reason(res.id, gaps))
            continue
        if window is None:
            yield ctx.finding(SECURITY_CURRENT, res, Status.ERROR, "parameter patch_window_days is not set")
            continue
        now = a["host_time_epoch"]
        overdue = [p for p in a["pending_security"]
                   if p["issued_epoch"] is None or now - p["issued_epoch"] > window * DAY]
        index_age = None if a["index_epoch"] is None else (now - a["index_epoch"]) // DAY
        evidence = {"manager": a["manager"], "window_days": window, "index_age_days": index_age,
                    "overdue": [p["package"] for p in overdue][:50], "overdue_count": len(overdue),
                    "pending_security_count": len(a["pending_security"]),
                    "auto_updates": a["auto_updates"]}
        problems = []
        if overdue:
            dated = "" if all(p["issued_epoch"] is not None for p in overdue) else " (release dates unknown)"
            problems.append(f"{len(overdue)} pending security updates{dated}, "
                            f"e.g. {', '.join(p['package'] for p in overdue[:3])}")
        if index_age is None:
            problems.append("no package index has been downloaded")
        elif index_age > window:
            problems.append(f"the package index is {index_age} days old (window {window} days)")
        if a["auto_updates"].get("enabled") is not True:
            problems.append(f"automatic updates ({a['auto_updates'].get('mechanism')}) are not enabled")
        if problems:
            yield ctx.finding(SECURITY_CURRENT, res, Status.FAIL, "; ".join(problems), evidence)
        else:
            yield ctx.finding(SECURITY_CURRENT, res, Status.PASS,
                              f"no security update pending beyond {window} days and automatic updates are on",
                              evidence)
