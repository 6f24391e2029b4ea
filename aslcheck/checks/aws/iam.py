"""IAM checks: who can read weights, the broker role, and human credentials.

Effective-access checks (weight buckets and weight keys, see :mod:`aslcheck.checks.aws.scope`):
every weight bucket (``s3:GetObject`` on its objects) and weight key (``kms:Decrypt``) gets one
finding. A principal with an *unconditional* path outside what is allowed makes it FAIL. A
principal outside what is allowed whose every path depends on a condition the snapshot cannot
decide (``aws:SourceVpce``, MFA, ``kms:ViaService``, ...) makes it ERROR, with the conditions in
the reason: the check cannot decide, and an undecided path must never PASS. Missing data that
could add readers (a trust policy not collected, object ACLs possible) is also ERROR.

The account root user and principals of uncollected accounts are principals like any other:
they appear as readers where AWS lets them read, so the roster must name them to pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

from aslcheck.checks.aws.access import (
    AccessPath,
    AccessResult,
    ReadTarget,
    Unevaluable,
    analyzer_for,
    bucket_read,
    key_decrypt,
    parse_policy,
)
from aslcheck.checks.aws.access.admits import TrustEntry, admissions, trust_entries
from aslcheck.checks.aws.access.edges import EXTERNAL_ENTRY, INVENTORIED
from aslcheck.checks.aws.scope import is_human, matches_any, weight_buckets, weight_keys
from aslcheck.checks.aws.weight_scope import STORAGE_KINDS
from aslcheck.checks.interface import CheckContext, CheckId, Finding, Select, Status
from aslcheck.checks.registry import check
from aslcheck.inventories.snapshot import Resource, Snapshot

BUCKET = "aws.s3.bucket"
KEY = "aws.kms.key"
USER = "aws.iam.user"
ROLE = "aws.iam.role"
IAM_ACCOUNT = "aws.iam.account"
ACCESS_KINDS = (*sorted(STORAGE_KINDS), USER, "aws.iam.group", ROLE, "aws.iam.policy",
                "aws.organizations.policy", "aws.organizations.account", "aws.ec2.instance",
                "aws.lambda.function")
"""Everything the effective-access analysis reads (instances and functions: who can act as the
roles they run as; every storage kind: which buckets and keys hold weights)."""
_SHOWN = 25

ROSTER = CheckId("aws.iam.weights_effective_access_within_roster")
NO_HUMANS = CheckId("aws.iam.no_standing_human_weight_access")
BROKER_TRUST = CheckId("aws.iam.broker_role_trust")
BROKER_SESSION = CheckId("aws.iam.broker_max_session")
READER_TRUST = CheckId("aws.iam.weight_reader_role_trust")
HUMAN_MFA = CheckId("aws.iam.human_mfa")
KEY_AGE = CheckId("aws.iam.access_key_age")
_ASSUME_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity")


# -- effective access --------------------------------------------------------------------------

def _weight_targets(ctx: CheckContext, cid: CheckId) -> Iterator[Finding | tuple[Resource, ReadTarget]]:
    """Each weight bucket/key as a request, or an ERROR finding when it cannot be evaluated."""
    buckets = weight_buckets(ctx.snapshot, ctx.config)
    keys = weight_keys(ctx.snapshot, ctx.config)
    for res in (*buckets.undecided, *keys.undecided):
        yield ctx.finding(cid, res, Status.ERROR,
                          "cannot tell whether it holds weights: its tags were not collected")
    for ref in (*keys.unresolved, *buckets.unresolved):
        ident = ref.qualified or ref.referrer
        yield Finding(check=cid, status=Status.ERROR, resource=ident,
                      kind=ref.kind or (KEY if ref.qualified else BUCKET), source="aws",
                      reason=f"weight key {ref.ref} of {ref.referrer}: {ref.reason}; its readers cannot be evaluated",
                      evidence={"referrer": ref.referrer, "ref": ref.ref})
    for res in (*buckets.resources, *keys.resources):
        req = bucket_read(res) if res.kind == BUCKET else key_decrypt(res)
        if isinstance(req, Unevaluable):
            yield ctx.finding(cid, res, Status.ERROR, "cannot evaluate who can read it: "
                              + "; ".join(req.reasons), {"missing": list(req.reasons)})
        else:
            yield res, req


def _evidence(result: AccessResult, offending: Sequence[AccessPath]) -> dict[str, Any]:
    return {
        "actions": list(result.target.actions),
        "resource": result.target.display,
        "readers": [{"principal": p.principal, "conditional": p.conditional} for p in result.paths[:200]],
        "reader_count": len(result.paths),
        "offending": [p.to_json() for p in offending[:_SHOWN]],
        "offending_count": len(offending),
        "gaps": list(result.gaps),
    }


def _route(path: AccessPath, limit: int = 240) -> str:
    """The first step of a path, shortened for a reason line (the evidence has every step)."""
    text = path.steps[0] if path.steps else path.action
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _judge(ctx: CheckContext, cid: CheckId, res: Resource, result: AccessResult,
           offending: Sequence[AccessPath], who: str, ok: str, gaps: Sequence[str] = ()) -> Finding:
    """FAIL on a sure offending path, ERROR on conditional-only ones or gaps, else PASS."""
    sure = [p for p in offending if not p.conditional]
    maybe = [p for p in offending if p.conditional]
    all_gaps = list(dict.fromkeys([*result.gaps, *gaps]))
    ev = _evidence(result, sure + maybe)
    ev["gaps"] = all_gaps
    action = f"read {result.target.display}"
    if sure:
        first = sure[0]
        how = f" via {' -> '.join(first.via)}" if first.via else ""
        return ctx.finding(cid, res, Status.FAIL,
                           f"{len(sure)} {who} can {action}, e.g. {first.principal}{how}: {_route(first)}", ev)
    if maybe:
        first = maybe[0]
        return ctx.finding(cid, res, Status.ERROR,
                           f"{len(maybe)} {who} can {action} if conditions the snapshot cannot decide hold, "
                           f"e.g. {first.principal} if: {'; '.join(first.conditions[:3])}", ev)
    if all_gaps:
        return ctx.finding(cid, res, Status.ERROR, f"who can {action} is not fully known: {all_gaps[0]}", ev)
    return ctx.finding(cid, res, Status.PASS, f"{ok} ({len(result.paths)} principal(s) can {action})", ev)


@check(ROSTER, kinds=ACCESS_KINDS, select=Select.ALL, primary_kinds=(BUCKET, KEY))
def effective_access_within_roster(ctx: CheckContext) -> Iterator[Finding]:
    """Every principal that can read weights (directly or by assuming roles) is on the roster."""
    roster = ctx.config.access.roster
    analyzer = analyzer_for(ctx.snapshot) if roster else None
    for item in _weight_targets(ctx, ROSTER):
        if isinstance(item, Finding):
            yield item
            continue
        res, req = item
        if analyzer is None:
            yield ctx.finding(ROSTER, res, Status.ERROR, "no roster declared (access.roster is empty)")
            continue
        result = analyzer.analyse(req)
        yield _judge(ctx, ROSTER, res, result, [p for p in result.paths if not matches_any(p.principal, roster)],
                     "principal(s) outside access.roster", "every reader is on the roster")


@check(NO_HUMANS, kinds=ACCESS_KINDS, select=Select.ALL, primary_kinds=(BUCKET, KEY))
def no_standing_human_weight_access(ctx: CheckContext) -> Iterator[Finding]:
    """No human reaches weights except by assuming a broker role.

    Paths through a broker role are removed; what remains is standing access. A human who can
    become a broker *principal* (the broker's own role) would pass every broker role without
    approval, so where a broker role can read the weights such humans are offending too.
    """
    analyzer = analyzer_for(ctx.snapshot)
    cfg = ctx.config
    brokers = cfg.access.broker_roles
    broker_ids = [r for r in analyzer.directory.trusts if matches_any(r, cfg.access.broker_principals)]
    impostors, impostor_gaps = analyzer.reachers(broker_ids)
    impostors = tuple(p for p in impostors if is_human(p.principal, cfg))
    for item in _weight_targets(ctx, NO_HUMANS):
        if isinstance(item, Finding):
            yield item
            continue
        res, req = item
        standing = analyzer.analyse(req, avoid=brokers)
        offending = [p for p in standing.paths if is_human(p.principal, cfg)]
        via_broker = any(matches_any(hop, brokers) for p in analyzer.analyse(req).paths
                         for hop in (p.principal, *p.via))
        if via_broker:
            offending += [p for p in impostors if p.principal not in {o.principal for o in offending}]
        yield _judge(ctx, NO_HUMANS, res, standing, offending,
                     "human principal(s) (standing, not via a broker role, or able to act as the broker)",
                     "no human can read it except through a broker role",
                     impostor_gaps if via_broker else ())


# -- broker role ---------------------------------------------------------------------------

def _brokers(ctx: CheckContext, cid: CheckId) -> Iterator[Finding | Resource]:
    """The declared broker roles found in the snapshot, or ERROR findings."""
    declared = ctx.config.access.broker_roles
    if not declared:
        yield Finding(check=cid, status=Status.ERROR, kind=ROLE, source="aws",
                      reason="no broker role declared (access.broker_roles is empty)")
        return
    roles = ctx.snapshot.of_kind(ROLE)
    seen: set[str] = set()
    for pattern in declared:
        found = [r for r in roles if matches_any(r.id, (pattern,))]
        if not found:
            yield Finding(check=cid, status=Status.ERROR, resource=pattern, kind=ROLE, source="aws",
                          reason="declared broker role not found in the snapshot")
        for r in found:
            if r.id not in seen:
                seen.add(r.id)
                yield r


@check(BROKER_TRUST, kinds=(ROLE,), select=Select.ALL)
def broker_role_trust(ctx: CheckContext) -> Iterator[Finding]:
    """The broker role's trust policy admits only the declared broker principals."""
    allowed = ctx.config.access.broker_principals
    for item in _brokers(ctx, BROKER_TRUST):
        if isinstance(item, Finding):
            yield item
            continue
        if not allowed:
            yield ctx.finding(BROKER_TRUST, item, Status.ERROR,
                              "no broker principals declared (access.broker_principals is empty)")
            continue
        if item.attributes.get("trust_policy") is None:
            yield ctx.finding(BROKER_TRUST, item, Status.ERROR, "trust policy not collected")
            continue
        policy = parse_policy(item.attributes["trust_policy"])
        if policy.problems:
            yield ctx.finding(BROKER_TRUST, item, Status.ERROR,
                              f"trust policy unreadable: {'; '.join(policy.problems)}")
            continue
        adm = admissions(policy, _ASSUME_ACTIONS, lambda arn: matches_any(arn, allowed))
        ev = {"admitted": list(adm.admitted), "offending": list(adm.offending),
              "broker_principals": list(allowed)}
        if adm.offending:
            yield ctx.finding(BROKER_TRUST, item, Status.FAIL,
                              f"trust policy admits {len(adm.offending)} principal(s) besides the broker, "
                              f"e.g. {adm.offending[0]}", ev)
        elif not adm.admitted:
            yield ctx.finding(BROKER_TRUST, item, Status.PASS, "trust policy admits no principal at all", ev)
        else:
            yield ctx.finding(BROKER_TRUST, item, Status.PASS, "trust policy admits only broker principals", ev)


@check(BROKER_SESSION, kinds=(ROLE,), select=Select.ALL, params=("max_session_seconds",))
def broker_max_session(ctx: CheckContext) -> Iterator[Finding]:
    """The broker role's MaxSessionDuration is within ``max_session_seconds``."""
    limit = ctx.config.param("max_session_seconds")
    for item in _brokers(ctx, BROKER_SESSION):
        if isinstance(item, Finding):
            yield item
            continue
        value = item.attributes.get("max_session_duration")
        ev = {"max_session_duration": value if "max_session_duration" in item.attributes else "<not collected>",
              "max_session_seconds": limit}
        if limit is None:
            yield ctx.finding(BROKER_SESSION, item, Status.ERROR, "parameter max_session_seconds is not set", ev)
        elif not isinstance(value, int) or isinstance(value, bool):
            yield ctx.finding(BROKER_SESSION, item, Status.ERROR, "max_session_duration not collected", ev)
        elif value > limit:
            yield ctx.finding(BROKER_SESSION, item, Status.FAIL,
                              f"sessions may last {value}s, above the {limit}s limit", ev)
        else:
            yield ctx.finding(BROKER_SESSION, item, Status.PASS, f"sessions last at most {value}s (limit {limit}s)", ev)


# -- every weight-reader role (TP-1) ---------------------------------------------------------

def _reader_roles(ctx: CheckContext) -> tuple[dict[str, list[str]], list[Finding]]:
    """Roles that can read some weight resource (as readers or on the way) -> what they read."""
    analyzer = analyzer_for(ctx.snapshot)
    roles: dict[str, list[str]] = {}
    others: list[Finding] = []
    for item in _weight_targets(ctx, READER_TRUST):
        if isinstance(item, Finding):
            others.append(item)
            continue
        res, target = item
        result = analyzer.analyse(target)
        found = 0
        for path in result.paths:
            for pid in (path.principal, *path.via):
                p = analyzer.directory.principals.get(pid)
                if p is not None and p.id in analyzer.directory.trusts:
                    roles.setdefault(pid, []).append(res.id)
                    found += 1
        if result.gaps:
            others.append(ctx.finding(READER_TRUST, res, Status.ERROR,
                                      f"the roles that can read it are not fully known: {result.gaps[0]}",
                                      {"gaps": list(result.gaps)}))
        elif not found:
            others.append(ctx.finding(READER_TRUST, res, Status.NOT_APPLICABLE, "no role can read it"))
    return roles, others


def _entry_ok(e: TrustEntry, brokers: Sequence[str]) -> str | None:
    """Why an admitted entry breaks two-party access (``None``: it does not)."""
    if e.kind in ("aws", "federated", "everyone") and (e.narrowed or matches_any(e.entry, brokers)):
        return None
    if e.kind == "service":
        if e.entry in EXTERNAL_ENTRY:
            return f"{e.entry} ({EXTERNAL_ENTRY[e.entry]}) in {e.statement}"
        if e.pins_source or e.entry in INVENTORIED:
            return None
        return f"{e.entry} without aws:SourceArn/aws:SourceAccount in {e.statement} (who drives it cannot be seen)"
    return f"{e.entry} in {e.statement}"


@check(READER_TRUST, kinds=ACCESS_KINDS, select=Select.ALL, primary_kinds=(ROLE, BUCKET, KEY),
       params=("max_session_seconds",))
def weight_reader_role_trust(ctx: CheckContext) -> Iterator[Finding]:
    """Every role that can read weights (not only the declared broker roles) is entered only
    through the broker, with sessions within ``max_session_seconds`` (issue 10, class 7).

    Its trust policy may admit only ``access.broker_principals`` (directly, or narrowed to them
    by an ``aws:PrincipalArn`` condition or a guarding Deny), and services that are not human
    entry points: a service whose statement pins ``aws:SourceArn``/``aws:SourceAccount``, or
    EC2 and Lambda, whose human entry points (``iam:PassRole`` with a launch, SSM on the
    instance, the function's code) the effective-access checks follow and report. The account
    root, ``*``, any other principal, IAM Roles Anywhere, or another unpinned service fails it,
    even when the role is on the roster.
    """
    limit = ctx.config.param("max_session_seconds")
    brokers = ctx.config.access.broker_principals
    roles, others = _reader_roles(ctx)
    yield from others
    by_id = {r.id: r for r in ctx.snapshot.of_kind(ROLE)}
    for rid in sorted(roles):
        res = by_id[rid]
        doc = res.attributes.get("trust_policy")
        duration = res.attributes.get("max_session_duration")
        ev: dict[str, Any] = {"reads": sorted(set(roles[rid])), "broker_principals": list(brokers),
                              "max_session_duration": duration if "max_session_duration" in res.attributes
                              else "<not collected>", "max_session_seconds": limit}
        if doc is None:
            yield ctx.finding(READER_TRUST, res, Status.ERROR, "trust policy not collected", ev)
            continue
        policy = parse_policy(doc)
        if policy.problems:
            yield ctx.finding(READER_TRUST, res, Status.ERROR,
                              f"trust policy unreadable: {'; '.join(policy.problems)}", ev)
            continue
        entries = trust_entries(policy, lambda arn: matches_any(arn, brokers))
        bad = [bad_why for e in entries if (bad_why := _entry_ok(e, brokers)) is not None]
        ev["admitted"] = [f"{e.entry} ({e.statement})" for e in entries]
        ev["offending"] = bad
        long = isinstance(duration, int) and not isinstance(duration, bool) and limit is not None \
            and duration > limit
        if bad or long:
            reasons = [f"trust policy admits {bad[0]}" + (f" and {len(bad) - 1} more" if len(bad) > 1 else "")] \
                if bad else []
            reasons += [f"sessions may last {duration}s, above the {limit}s limit"] if long else []
            yield ctx.finding(READER_TRUST, res, Status.FAIL, f"reads weights, but {'; '.join(reasons)}", ev)
        elif limit is None:
            yield ctx.finding(READER_TRUST, res, Status.ERROR, "parameter max_session_seconds is not set", ev)
        elif not isinstance(duration, int) or isinstance(duration, bool):
            yield ctx.finding(READER_TRUST, res, Status.ERROR, "max_session_duration not collected", ev)
        elif not entries:
            yield ctx.finding(READER_TRUST, res, Status.PASS, "reads weights; its trust policy admits no one", ev)
        else:
            yield ctx.finding(READER_TRUST, res, Status.PASS,
                              f"reads weights; entered only through the broker or non-human services, "
                              f"sessions at most {duration}s", ev)


# -- human credentials -----------------------------------------------------------------------

def _active_keys(user: Resource) -> list[dict[str, Any]] | None:
    keys = user.attributes.get("access_keys")
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        return None
    return [k for k in keys if k.get("status") == "Active"]


@check(HUMAN_MFA, kinds=(USER, IAM_ACCOUNT), select=Select.ALL, allow_empty=True)
def human_mfa(ctx: CheckContext) -> Iterator[Finding]:
    """IAM users (people) with a password or an active key have an MFA device; root has MFA."""
    for user in ctx.snapshot.of_kind(USER):
        mfa = user.attributes.get("mfa_devices")
        password = user.attributes.get("password_enabled")
        keys = _active_keys(user)
        ev = {"mfa_devices": mfa, "password_enabled": password,
              "active_access_keys": [k.get("id") for k in keys] if keys is not None else "<not collected>"}
        if not isinstance(mfa, list) or not isinstance(password, bool) or keys is None:
            yield ctx.finding(HUMAN_MFA, user, Status.ERROR,
                              "MFA devices, password or access keys not collected", ev)
        elif mfa:
            kinds = sorted({"virtual" if d.get("virtual") else "hardware" for d in mfa if isinstance(d, dict)})
            yield ctx.finding(HUMAN_MFA, user, Status.PASS, f"has MFA ({', '.join(kinds)})", ev)
        elif password or keys:
            what = "a console password" if password else "active access keys"
            yield ctx.finding(HUMAN_MFA, user, Status.FAIL, f"has {what} but no MFA device", ev)
        else:
            yield ctx.finding(HUMAN_MFA, user, Status.NOT_APPLICABLE,
                              "no console password and no active access key: cannot sign in", ev)
    for acct in ctx.snapshot.of_kind(IAM_ACCOUNT):
        on = acct.attributes.get("account_mfa_enabled")
        if not isinstance(on, bool):
            yield ctx.finding(HUMAN_MFA, acct, Status.ERROR, "root MFA status not collected")
        else:
            yield ctx.finding(HUMAN_MFA, acct, Status.PASS if on else Status.FAIL,
                              "root user has MFA" if on else "root user has no MFA",
                              {"account_mfa_enabled": on})


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def snapshot_now(snapshot: Snapshot) -> datetime | None:
    """"Now" for age checks: the newest collector run's end, so results depend only on the snapshot."""
    ends = [t for t in (_parse_time(r.ended) for r in snapshot.runs) if t is not None]
    return max(ends) if ends else None


def _root_key_ages(acct: Resource, now: datetime) -> list[int] | None:
    """Ages in days of the root user's active keys, from the credential report."""
    report = acct.attributes.get("credential_report")
    if not isinstance(report, list):
        return None
    for row in report:
        if isinstance(row, dict) and row.get("user") == "<root_account>":
            ages = []
            for n in (1, 2):
                if str(row.get(f"access_key_{n}_active")).lower() == "true":
                    when = _parse_time(row.get(f"access_key_{n}_last_rotated"))
                    if when is None:
                        return None
                    ages.append((now - when).days)
            return ages
    return None


@check(KEY_AGE, kinds=(USER, IAM_ACCOUNT), select=Select.ALL, params=("access_key_max_age_days",),
       allow_empty=True)
def access_key_age(ctx: CheckContext) -> Iterator[Finding]:
    """No human (IAM user or root) holds an active access key older than the declared age."""
    limit = ctx.config.param("access_key_max_age_days")
    now = snapshot_now(ctx.snapshot)
    for user in ctx.snapshot.of_kind(USER):
        keys = _active_keys(user)
        if limit is None or now is None or keys is None:
            why = ("parameter access_key_max_age_days is not set" if limit is None else
                   "no collection time in the snapshot" if now is None else "access keys not collected")
            yield ctx.finding(KEY_AGE, user, Status.ERROR, why)
            continue
        ages: dict[str, int | None] = {}
        for k in keys:
            created = _parse_time(k.get("created"))
            ages[str(k.get("id"))] = (now - created).days if created else None
        ev = {"active_key_age_days": ages, "limit_days": limit, "as_of": now.isoformat()}
        old = sorted(i for i, a in ages.items() if a is not None and a > limit)
        if old:
            yield ctx.finding(KEY_AGE, user, Status.FAIL,
                              f"active access key {old[0]} is {ages[old[0]]} days old (limit {limit})", ev)
        elif any(a is None for a in ages.values()):
            yield ctx.finding(KEY_AGE, user, Status.ERROR, "creation time of an active key unreadable", ev)
        else:
            yield ctx.finding(KEY_AGE, user, Status.PASS,
                              f"{len(ages)} active key(s), none older than {limit} days", ev)
    for acct in ctx.snapshot.of_kind(IAM_ACCOUNT):
        present = acct.attributes.get("root_access_keys_present")
        if present is False:
            yield ctx.finding(KEY_AGE, acct, Status.PASS, "root user has no access keys",
                              {"root_access_keys_present": False})
            continue
        ages_root = _root_key_ages(acct, now) if present is True and now is not None else None
        if limit is None or ages_root is None:
            yield ctx.finding(KEY_AGE, acct, Status.ERROR, "root access keys or their age not collected",
                              {"root_access_keys_present": present})
        elif any(a > limit for a in ages_root):
            yield ctx.finding(KEY_AGE, acct, Status.FAIL,
                              f"root user has an active access key {max(ages_root)} days old (limit {limit})",
                              {"root_key_age_days": ages_root})
        else:
            yield ctx.finding(KEY_AGE, acct, Status.PASS, f"root access keys within {limit} days",
                              {"root_key_age_days": ages_root})
