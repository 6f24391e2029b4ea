"""sshd hardening checks over ``host.sshd`` (effective settings plus values set in Match blocks).

A setting passes only when its global value is acceptable AND no Match block sets an
unacceptable value, since a Match block can re-enable, for some users or addresses, what the
global configuration turns off (FAIL, naming the block). A Match block that sets a keyword the
collector does not know could loosen anything, so it makes every sshd check ERROR (issue 10
class 8: "not decided unless proven harmless").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from aslcheck.checks.host.common import missing, not_collected_reason
from aslcheck.checks.interface import CheckContext, CheckId, Finding, Select, Status
from aslcheck.checks.registry import check

PASSWORD_AUTH = CheckId("host.sshd.password_auth_disabled")
HARDWARE_KEYS = CheckId("host.sshd.hardware_keys")
ROOT_LOGIN = CheckId("host.sshd.root_login_disabled")
FORWARDING = CheckId("host.sshd.forwarding_disabled")
BANNER = CheckId("host.sshd.banner")


@dataclass(frozen=True)
class Rule:
    """One keyword requirement."""

    keyword: str
    """sshd keyword (lowercase, as ``sshd -T`` prints it)."""
    ok: Callable[[str], bool]
    """Whether a value satisfies the requirement."""
    expected: str
    """Human form of the requirement."""


def _is(*values: str) -> Callable[[str], bool]:
    return lambda v: v.lower() in values


def _where(blocks: list[Mapping[str, Any]], keyword: str, value: str) -> str:
    found = [b for b in blocks if b.get("settings", {}).get(keyword) == value]
    if not found:
        return "a Match block"
    b = found[0]
    more = f" and {len(found) - 1} more" if len(found) > 1 else ""
    return f"a Match block ('Match {b['criteria']}' at {b['file']}:{b['line']}{more})"


def _violations(settings: Mapping[str, str], match_values: Mapping[str, list[str]],
                rules: tuple[Rule, ...], blocks: list[Mapping[str, Any]] | None = None) -> list[str]:
    out = []
    for rule in rules:
        value = settings[rule.keyword]
        if not rule.ok(value):
            out.append(f"{rule.keyword} is {value!r} (expected {rule.expected})")
        for mv in match_values.get(rule.keyword, []):
            if not rule.ok(mv):
                out.append(f"{_where(blocks or [], rule.keyword, mv)} sets {rule.keyword} {mv!r} "
                           f"(expected {rule.expected})")
    return out


def _undecided(blocks: list[Mapping[str, Any]]) -> list[str]:
    return [f"'Match {b['criteria']}' at {b['file']}:{b['line']} sets {', '.join(b['unknown'])}, which aslcheck "
            "cannot judge (it could loosen this setting)" for b in blocks if b.get("unknown")]


Extra = Callable[[Mapping[str, str], Mapping[str, list[str]], list[Mapping[str, Any]]], list[str]]


def _evaluate(ctx: CheckContext, check_id: CheckId, rules: tuple[Rule, ...], passed: str,
              extra: Extra | None = None) -> Iterator[Finding]:
    for res in ctx.resources:
        a = res.attributes
        gaps = missing(a, ("settings", "match_values"))
        keywords = [r.keyword for r in rules]
        if not gaps:
            gaps = [f"settings.{k}" for k in missing(a["settings"], keywords)]
        if gaps:
            yield ctx.finding(check_id, res, Status.ERROR, not_collected_reason(res.id, gaps))
            continue
        settings: Mapping[str, str] = a["settings"]
        match_values: Mapping[str, list[str]] = a["match_values"]
        blocks: list[Mapping[str, Any]] = list(a.get("match_blocks") or [])
        evidence: dict[str, Any] = {"source": a.get("source"),
                                    **{k: settings[k] for k in keywords},
                                    "match_values": {k: match_values.get(k, []) for k in keywords},
                                    "match_blocks": [{"criteria": b["criteria"], "at": f"{b['file']}:{b['line']}"}
                                                     for b in blocks][:20]}
        problems = (extra(settings, match_values, blocks) if extra
                    else _violations(settings, match_values, rules, blocks))
        undecided = _undecided(blocks)
        if problems:
            yield ctx.finding(check_id, res, Status.FAIL, "; ".join(problems), evidence)
        elif undecided:
            yield ctx.finding(check_id, res, Status.ERROR, "; ".join(undecided), evidence)
        else:
            yield ctx.finding(check_id, res, Status.PASS, passed, evidence)


_NO_PASSWORDS = (
    Rule("passwordauthentication", _is("no"), "no"),
    Rule("kbdinteractiveauthentication", _is("no"), "no"),
)


@check(PASSWORD_AUTH, kinds=["host.sshd"], select=Select.ALL)
def password_auth_disabled(ctx: CheckContext) -> Iterator[Finding]:
    """PasswordAuthentication and KbdInteractiveAuthentication are ``no``.

    Keyboard-interactive authentication can prompt for passwords, so it counts as password login.
    """
    yield from _evaluate(ctx, PASSWORD_AUTH, _NO_PASSWORDS, "password and keyboard-interactive logins are off")


@check(ROOT_LOGIN, kinds=["host.sshd"], select=Select.ALL)
def root_login_disabled(ctx: CheckContext) -> Iterator[Finding]:
    """PermitRootLogin is ``no`` (``prohibit-password`` still lets root in with a key)."""
    yield from _evaluate(ctx, ROOT_LOGIN, (Rule("permitrootlogin", _is("no"), "no"),), "root cannot log in")


_FORWARDING_KEYS = (
    Rule("allowtcpforwarding", _is("no"), "no"),
    Rule("x11forwarding", _is("no"), "no"),
    Rule("allowstreamlocalforwarding", _is("no"), "no"),
    Rule("permittunnel", _is("no"), "no"),
    Rule("disableforwarding", _is("yes", "no"), "yes or no"),
)
_COVERED_BY_DISABLE = _FORWARDING_KEYS[:3]
_TUNNEL = _FORWARDING_KEYS[3:4]


def _forwarding_problems(settings: Mapping[str, str], match_values: Mapping[str, list[str]],
                         blocks: list[Mapping[str, Any]]) -> list[str]:
    # NOTE: DisableForwarding yes overrides TCP, X11, agent and StreamLocal forwarding, not
    # PermitTunnel. Values of different Match blocks can combine for one connection, so
    # forwarding counts as possible when any context can turn DisableForwarding off.
    disable_values = {settings["disableforwarding"].lower(), *(v.lower() for v in
                                                                 match_values.get("disableforwarding", []))}
    problems = _violations(settings, match_values, _TUNNEL, blocks)
    if "no" in disable_values:
        problems += _violations(settings, match_values, _COVERED_BY_DISABLE, blocks)
    return problems


@check(FORWARDING, kinds=["host.sshd"], select=Select.ALL)
def forwarding_disabled(ctx: CheckContext) -> Iterator[Finding]:
    """TCP, X11 and StreamLocal (Unix socket) forwarding and tunnels are off.

    ``AllowTcpForwarding``, ``X11Forwarding``, ``AllowStreamLocalForwarding`` and ``PermitTunnel``
    are ``no``, or ``DisableForwarding yes`` (in every context) with ``PermitTunnel no``.
    """
    yield from _evaluate(ctx, FORWARDING, _FORWARDING_KEYS,
                         "TCP, X11 and StreamLocal forwarding and tunnels are off", _forwarding_problems)


@check(BANNER, kinds=["host.sshd"], select=Select.ALL)
def banner(ctx: CheckContext) -> Iterator[Finding]:
    """A login banner (sshd ``Banner``) is configured, including in every Match block that sets one."""
    rule = Rule("banner", lambda v: v.strip().lower() not in ("", "none"), "a banner file")
    yield from _evaluate(ctx, BANNER, (rule,), "a login banner is configured")


def _sk_only(value: str) -> bool:
    algorithms = [a for a in value.split(",") if a]
    return bool(algorithms) and all(a.startswith("sk-") for a in algorithms)


_HARDWARE = (Rule("pubkeyacceptedalgorithms", _sk_only, "only sk-* (FIDO) algorithms"), *_NO_PASSWORDS,
             Rule("hostbasedauthentication", _is("no"), "no"), Rule("gssapiauthentication", _is("no"), "no"))


@check(HARDWARE_KEYS, kinds=["host.sshd"], select=Select.ALL)
def hardware_keys(ctx: CheckContext) -> Iterator[Finding]:
    """When ``host_settings.hardware_keys_required``: only FIDO (sk-*) public keys, no other way in.

    Passwords, keyboard-interactive, host-based and GSSAPI authentication all let a user in
    without a hardware key, so each must be off.
    """
    if ctx.config.host_settings.get("hardware_keys_required") is not True:
        for res in ctx.resources:
            yield ctx.finding(HARDWARE_KEYS, res, Status.NOT_APPLICABLE,
                              "hardware-backed keys are not required (host_settings.hardware_keys_required)")
        return
    yield from _evaluate(ctx, HARDWARE_KEYS, _HARDWARE, "only FIDO security-key algorithms are accepted")
