"""CloudTrail checks: multi-region logging per account, S3 data events on weight buckets,
protection of the log bucket.

Log file validation, trail KMS encryption and log-group retention are declarative
(``rules/aws_logging.yaml``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from aslcheck.checks.aws.basics import MISSING, Accounts, account_of, as_list, listing_gaps
from aslcheck.checks.interface import CheckContext, CheckId, Finding, Select, Status
from aslcheck.checks.registry import check
from aslcheck.inventories.snapshot import Resource

TRAIL = "aws.cloudtrail.trail"
IAM_ACCOUNT = "aws.iam.account"
BUCKET = "aws.s3.bucket"

MULTI_REGION_LOGGING = CheckId("aws.cloudtrail.multi_region_logging")
WEIGHTS_DATA_EVENTS = CheckId("aws.cloudtrail.weights_data_events")
LOG_BUCKET_PROTECTED = CheckId("aws.cloudtrail.log_bucket_protected")


class Tri(Enum):
    """A three-valued answer: yes, no, or cannot tell from the snapshot."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class _Judged:
    """One trail's answer to a question, with why."""

    trail: str
    answer: Tri
    why: str


def _roll_up(judged: Sequence[_Judged]) -> Tri:
    answers = {j.answer for j in judged}
    if Tri.YES in answers:
        return Tri.YES
    return Tri.UNKNOWN if Tri.UNKNOWN in answers else Tri.NO


def _status(answer: Tri) -> Status:
    return {Tri.YES: Status.PASS, Tri.NO: Status.FAIL, Tri.UNKNOWN: Status.ERROR}[answer]


def trail_account(trail: Resource) -> str | None:
    """Account that owns a trail (its ARN account, else the resource's account)."""
    return account_of(trail.id) or trail.account


def _flags(trail: Resource, names: Sequence[str]) -> tuple[Tri, str]:
    """Whether every boolean attribute in ``names`` is true on ``trail``."""
    values = {n: trail.attributes.get(n, MISSING) for n in names}
    off = [n for n, v in values.items() if v is False]
    if off:
        return Tri.NO, f"{', '.join(off)} false"
    unknown = [n for n, v in values.items() if v is not True]
    if unknown:
        return Tri.UNKNOWN, f"{', '.join(unknown)} not collected"
    return Tri.YES, " and ".join(names)


def _applies_to_account(trail: Resource, account: str | None, accounts: Accounts) -> tuple[Tri, str]:
    """Whether ``trail`` records events of ``account``: its own, or an organisation trail."""
    owner = trail_account(trail)
    if account is not None and account in (owner, trail.account):
        return Tri.YES, "same account"
    is_org = trail.attributes.get("is_organization", MISSING)
    if is_org is MISSING:
        return Tri.UNKNOWN, "is_organization not collected"
    if is_org is not True or account is None:
        return Tri.NO, f"trail of account {owner}"
    member = accounts.member(account, owner)
    if member is None:
        return Tri.UNKNOWN, f"organisation trail of {owner}; membership of {account} not collected"
    return (Tri.YES, "organisation trail") if member else (Tri.NO, f"{account} not in the organisation")


def _and(*parts: tuple[Tri, str]) -> tuple[Tri, str]:
    for answer in (Tri.NO, Tri.UNKNOWN):
        hits = [why for a, why in parts if a is answer]
        if hits:
            return answer, "; ".join(hits)
    return Tri.YES, "; ".join(why for _, why in parts)


# -- multi-region logging -------------------------------------------------------------------


def _management_events(trail: Resource) -> tuple[Tri, str]:
    """Whether the trail records all (read and write) management events.

    No selectors at all is CloudTrail's documented default: all management events. An advanced
    selector only counts when it takes every management event (no further filter), a classic
    one when it reads and writes and excludes no event source (such as KMS).
    """
    classic = trail.attributes.get("event_selectors", MISSING)
    advanced = trail.attributes.get("advanced_event_selectors", MISSING)
    if advanced not in (MISSING, None) and as_list(advanced):
        for sel in as_list(advanced):
            fields = [f for f in as_list(sel.get("FieldSelectors")) if isinstance(f, Mapping)] \
                if isinstance(sel, Mapping) else []
            if fields and all(f.get("Field") == "eventCategory" and set(f) == {"Field", "Equals"}
                              and "Management" in as_list(f["Equals"]) for f in fields):
                return Tri.YES, "all management events"
        return Tri.NO, "advanced selectors filter or omit management events"
    if classic not in (MISSING, None) and as_list(classic):
        sides = set()
        for sel in as_list(classic):
            if (isinstance(sel, Mapping) and sel.get("IncludeManagementEvents") is True
                    and not sel.get("ExcludeManagementEventSources")):
                sides.add(sel.get("ReadWriteType"))
        if "All" in sides or {"ReadOnly", "WriteOnly"} <= sides:
            return Tri.YES, "all management events"
        return Tri.NO, "event selectors omit or filter management events"
    if classic is MISSING or advanced is MISSING:
        return Tri.UNKNOWN, "event selectors not collected"
    return Tri.YES, "default selectors (all management events)"



@check(MULTI_REGION_LOGGING, kinds=(TRAIL, IAM_ACCOUNT), primary_kinds=(IAM_ACCOUNT,),
       select=Select.ALL)
def multi_region_logging(ctx: CheckContext) -> Iterator[Finding]:
    """Each account has a multi-region trail that is logging all management events (its own or
    an organisation trail).

    The finding is on the account (``aws.iam.account``). An account that has trails but no
    account resource gets its finding on its first trail, so no account is skipped silently.
    """
    accounts = Accounts.from_snapshot(ctx.snapshot)
    trails = ctx.snapshot.of_kind(TRAIL)
    # NOTE: a trail that covers an account may live in it or (organisation trail) in any other
    # account, so a failed listing anywhere leaves "no such trail" undecided (issue 10 class 4).
    gaps = listing_gaps(ctx.snapshot, TRAIL)
    subjects: dict[str, Resource] = {}
    for res in ctx.resources:
        acct = res.account or account_of(res.id)
        subjects[acct or res.id] = res
    for trail in trails:
        acct = trail_account(trail)
        if acct is not None and acct not in subjects:
            subjects[acct] = trail
    for acct, res in sorted(subjects.items(), key=lambda item: item[0]):
        judged = []
        for trail in trails:
            scope = _applies_to_account(trail, acct, accounts)
            if scope[0] is Tri.NO:
                continue
            answer, why = _and(scope, _flags(trail, ("is_multi_region", "is_logging")),
                               _management_events(trail))
            judged.append(_Judged(trail.id, answer, why))
        ev: dict[str, Any] = {
            "account": acct, "trails": {j.trail: f"{j.answer.value}: {j.why}" for j in judged}}
        answer = _roll_up(judged) if judged else Tri.NO
        if answer is Tri.NO and gaps:
            ev["listing_gaps"] = gaps
            yield ctx.finding(MULTI_REGION_LOGGING, res, Status.ERROR,
                              f"no logging multi-region trail of account {acct} was seen, but "
                              f"trails were not listed completely: {'; '.join(gaps)}", ev)
            continue
        reason = {
            Tri.YES: f"account {acct} has a logging multi-region trail",
            Tri.NO: f"no trail of account {acct} is both multi-region and logging" if judged
                    else f"account {acct} has no CloudTrail trail",
            Tri.UNKNOWN: f"cannot tell whether a trail of account {acct} is multi-region "
                         "and logging: data not collected",
        }[answer]
        yield ctx.finding(MULTI_REGION_LOGGING, res, _status(answer), reason, ev)


# -- data events on weight buckets ----------------------------------------------------------


def _classic_covers(selectors: Any, bucket: str) -> bool:
    target = f"arn:aws:s3:::{bucket}/"
    # NOTE: only the documented "all objects" forms are credited; a longer value is a prefix
    # of some objects only, and "arn:aws:s3:::bucket" without the slash is not documented.
    whole = ("arn:aws:s3", "arn:aws:s3:::", target)
    for sel in as_list(selectors):
        if not isinstance(sel, Mapping) or sel.get("ReadWriteType") not in ("All", "ReadOnly"):
            continue
        for dr in as_list(sel.get("DataResources")):
            if isinstance(dr, Mapping) and dr.get("Type") == "AWS::S3::Object" and any(
                    v in whole for v in as_list(dr.get("Values"))):
                return True
    return False


def _op_holds(op: str, values: list[str], value: str) -> bool:
    if op == "Equals":
        return value in values
    if op == "NotEquals":
        return value not in values
    if op == "StartsWith":
        return any(value.startswith(v) for v in values)
    if op == "NotStartsWith":
        return not any(value.startswith(v) for v in values)
    if op == "EndsWith":
        return any(value.endswith(v) for v in values)
    if op == "NotEndsWith":
        return not any(value.endswith(v) for v in values)
    return False  # an operator we do not know narrows the selector in a way we cannot credit


def _field_matches(fs: Mapping[str, Any], value: str) -> bool:
    """Whether an advanced field selector matches ``value`` (its operators are ANDed)."""
    return all(_op_holds(op, [str(v) for v in as_list(raw)], value)
               for op, raw in fs.items() if op != "Field")


def _arn_field_covers(fs: Mapping[str, Any], target: str) -> bool:
    """Whether a ``resources.ARN`` selector matches every object ARN under ``target``."""
    for op, raw in fs.items():
        vals = [str(v) for v in as_list(raw)]
        if op == "Field":
            continue
        if op == "StartsWith":
            ok = any(target.startswith(v) for v in vals)
        elif op == "NotStartsWith":
            ok = not any(target.startswith(v) or v.startswith(target) for v in vals)
        elif op == "NotEquals":
            ok = not any(v.startswith(target) for v in vals)
        else:  # Equals names single objects; EndsWith/NotEndsWith: not provably all objects
            ok = False
        if not ok:
            return False
    return True


_PROBES = {
    "eventCategory": "Data",
    "resources.type": "AWS::S3::Object",
    "readOnly": "true",
    "eventName": "GetObject",
    "eventSource": "s3.amazonaws.com",
}


def _advanced_covers(selectors: Any, bucket: str) -> bool:
    target = f"arn:aws:s3:::{bucket}/"
    for sel in as_list(selectors):
        if not isinstance(sel, Mapping):
            continue
        fields = [fs for fs in as_list(sel.get("FieldSelectors")) if isinstance(fs, Mapping)]
        names = {str(fs.get("Field")) for fs in fields}
        if not {"eventCategory", "resources.type"} <= names:
            continue
        ok = True
        for fs in fields:
            name = str(fs.get("Field"))
            if name == "resources.ARN":
                ok = _arn_field_covers(fs, target)
            elif name in _PROBES:
                ok = _field_matches(fs, _PROBES[name])
            else:  # any other filter narrows which reads are logged
                ok = False
            if not ok:
                break
        if ok:
            return True
    return False


def _covers_bucket(trail: Resource, bucket: Resource, accounts: Accounts) -> tuple[Tri, str]:
    name = str(bucket.attributes.get("name", bucket.id.rsplit(":", 1)[-1]))
    scope = _applies_to_account(trail, bucket.account, accounts)
    logging = _flags(trail, ("is_logging",))
    multi = trail.attributes.get("is_multi_region", MISSING)
    home = trail.attributes.get("home_region", MISSING)
    if multi is True:
        region = (Tri.YES, "multi-region")
    elif multi is MISSING or (multi is False and home is MISSING):
        region = (Tri.UNKNOWN, "region coverage not collected")
    else:
        same = home == bucket.region
        region = (Tri.YES if same else Tri.NO, f"single-region trail in {home}")
    classic = trail.attributes.get("event_selectors", MISSING)
    advanced = trail.attributes.get("advanced_event_selectors", MISSING)
    if advanced not in (MISSING, None) and as_list(advanced):
        sel = (Tri.YES, "advanced selectors") if _advanced_covers(advanced, name) else \
            (Tri.NO, "advanced selectors do not log reads of every object")
    elif classic not in (MISSING, None) and _classic_covers(classic, name):
        sel = (Tri.YES, "classic selectors")
    elif classic is MISSING or advanced is MISSING:
        sel = (Tri.UNKNOWN, "event selectors not collected")
    else:
        sel = (Tri.NO, "selectors do not log reads of every object")
    return _and(scope, logging, region, sel)


@check(WEIGHTS_DATA_EVENTS, kinds=(BUCKET, TRAIL), primary_kinds=(BUCKET,), select=Select.WEIGHTS)
def weights_data_events(ctx: CheckContext) -> Iterator[Finding]:
    """Every weight bucket's object reads are logged by some logging trail's data-event selectors."""
    accounts = Accounts.from_snapshot(ctx.snapshot)
    trails = ctx.snapshot.of_kind(TRAIL)
    gaps = listing_gaps(ctx.snapshot, TRAIL)
    for bucket in ctx.resources:
        judged = [_Judged(t.id, *_covers_bucket(t, bucket, accounts)) for t in trails]
        ev: dict[str, Any] = {"trails": {j.trail: f"{j.answer.value}: {j.why}" for j in judged}}
        answer = _roll_up(judged) if judged else Tri.NO
        if answer is Tri.NO and gaps:
            ev["listing_gaps"] = gaps
            yield ctx.finding(WEIGHTS_DATA_EVENTS, bucket, Status.ERROR,
                              "no trail seen logs reads of every object, but trails were not "
                              f"listed completely: {'; '.join(gaps)}", ev)
            continue
        covering = [j.trail for j in judged if j.answer is Tri.YES]
        reason = {
            Tri.YES: f"object reads are logged by {covering[0] if covering else ''}",
            Tri.NO: "no logging trail records S3 data events (reads) for every object",
            Tri.UNKNOWN: "cannot tell whether a trail logs reads of this bucket: data not collected",
        }[answer]
        yield ctx.finding(WEIGHTS_DATA_EVENTS, bucket, _status(answer), reason, ev)


# -- log bucket protection ------------------------------------------------------------------

_LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")


def _lock_verdict(lock: Any) -> tuple[Status, str]:
    if lock is MISSING:
        return Status.ERROR, "object lock configuration of the log bucket not collected"
    if not isinstance(lock, Mapping) or lock.get("enabled") is not True:
        return Status.FAIL, "log bucket has no object lock and is in the trail's own account"
    if lock.get("mode") not in _LOCK_MODES or not (lock.get("days") or lock.get("years")):
        # NOTE: object lock without a default retention leaves newly delivered logs unlocked.
        return Status.FAIL, "log bucket has object lock but no default retention"
    return Status.PASS, f"log bucket has object lock ({lock.get('mode')} default retention)"


@check(LOG_BUCKET_PROTECTED, kinds=(TRAIL, BUCKET), primary_kinds=(TRAIL,), select=Select.ALL)
def log_bucket_protected(ctx: CheckContext) -> Iterator[Finding]:
    """Each trail delivers to a bucket with object lock and default retention, or in another
    account than the trail's."""
    by_name = {str(b.attributes.get("name", b.id.rsplit(":", 1)[-1])): b
               for b in ctx.snapshot.of_kind(BUCKET)}
    for trail in ctx.resources:
        name = trail.attributes.get("s3_bucket", MISSING)
        if not isinstance(name, str):
            yield ctx.finding(LOG_BUCKET_PROTECTED, trail, Status.ERROR,
                              "trail destination bucket not collected",
                              {"s3_bucket": "<not collected>" if name is MISSING else name})
            continue
        owner = trail_account(trail)
        bucket = by_name.get(name)
        ev: dict[str, Any] = {"s3_bucket": name, "trail_account": owner}
        if bucket is not None:
            ev["bucket_account"] = bucket.account
            lock = bucket.attributes.get("object_lock", MISSING)
            ev["object_lock"] = "<not collected>" if lock is MISSING else lock
            if bucket.account is not None and owner is not None and bucket.account != owner:
                yield ctx.finding(LOG_BUCKET_PROTECTED, trail, Status.PASS,
                                  f"log bucket lives in another account ({bucket.account})", ev)
                continue
            status, reason = _lock_verdict(lock)
            yield ctx.finding(LOG_BUCKET_PROTECTED, trail, status, reason, ev)
            continue
        other = trail.attributes.get("s3_bucket_account", MISSING)
        ev["bucket_account"] = "<not collected>" if other is MISSING else other
        if isinstance(other, str) and owner is not None and other != owner:
            yield ctx.finding(LOG_BUCKET_PROTECTED, trail, Status.PASS,
                              f"log bucket lives in another account ({other})", ev)
        else:
            yield ctx.finding(LOG_BUCKET_PROTECTED, trail, Status.ERROR,
                              f"log bucket {name} is not in the snapshot and its account "
                              "is unknown or the trail's own", ev)
