"""Whether a CloudWatch alarm can enforce the declared egress budget: it watches a metric that
exists, in the namespace that publishes it, and fires within the budget window.

An alarm enforces a budget of B bytes per hour only if all of these hold:

- it watches a real egress metric in the namespace AWS publishes it in (``NetworkOut`` in
  ``AWS/EC2``, ``BytesOutToDestination`` in ``AWS/NATGateway``), with no unit filter other than
  ``Bytes`` (a filter on another unit selects no datapoints, so the alarm never fires);
- statistic ``Sum``, a fixed ``GreaterThan...Threshold`` comparison (not an anomaly band);
- period at most the one-hour window and threshold within the budget scaled to the period;
- one breaching datapoint fires it (``DatapointsToAlarm`` 1): with M > 1, an attacker who
  bursts in fewer than M of every N periods sends without limit and never trips it, and a
  sustained burst goes unseen for M periods;
- an enabled action, and (live) a state other than ``INSUFFICIENT_DATA``: an alarm without
  data has never evaluated its metric; once it has been without data for
  :data:`STALE_AFTER_SECONDS` it is taken to watch nothing at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from fractions import Fraction
from typing import Any

from aslcheck.checks.aws.basics import as_list
from aslcheck.inventories.snapshot import Resource

WINDOW_SECONDS = 3600
"""The budget is declared per hour."""
STALE_AFTER_SECONDS = 24 * 3600
"""An alarm without data for this long is taken to watch a metric that never reports."""
METRICS: Mapping[str, tuple[str, str]] = {
    "InstanceId": ("AWS/EC2", "NetworkOut"),
    "NatGatewayId": ("AWS/NATGateway", "BytesOutToDestination"),
}
"""Egress source dimension -> (namespace, metric) AWS publishes its outbound bytes as."""
_REQUIRED = ("namespace", "metric", "dimensions", "statistic", "period", "threshold",
             "comparison", "actions_enabled", "alarm_actions", "evaluation_periods")
_COMPARISONS = ("GreaterThanThreshold", "GreaterThanOrEqualToThreshold")


def _exact_threshold(attrs: Mapping[str, Any]) -> Fraction | None:
    """The threshold exactly: ``threshold_text`` (the API's float, as text) when the collector
    kept it, else the rounded-down integer ``threshold``."""
    text = attrs.get("threshold_text")
    if isinstance(text, str):
        try:
            return Fraction(text)
        except (ValueError, ZeroDivisionError):
            return None
    value = attrs.get("threshold")
    return Fraction(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _state(a: Mapping[str, Any], now: datetime | None) -> tuple[bool | None, str] | None:
    """A verdict from the alarm's live state, or ``None`` when the state is no obstacle."""
    if "state" not in a:
        return None, "alarm state not collected"
    state, evaluation = a["state"], a.get("evaluation_state")
    if evaluation == "EVALUATION_ERROR":
        return False, "CloudWatch reports an evaluation error: the alarm cannot evaluate"
    if evaluation in ("EVALUATION_FAILURE", "PARTIAL_DATA"):
        return None, f"CloudWatch reports {evaluation}"
    if state != "INSUFFICIENT_DATA":
        # None: declared in code, not deployed yet (nothing to observe).
        return None if state in (None, "OK", "ALARM") else (None, f"unrecognised state {state!r}")
    since, age = _time(a.get("state_updated")), None
    if since is not None and now is not None:
        age = (now - since).total_seconds()
    if age is not None and age >= STALE_AFTER_SECONDS:
        return False, (f"INSUFFICIENT_DATA since {a.get('state_updated')}: its metric reports "
                       "nothing, so it never fires")
    return None, "INSUFFICIENT_DATA: the alarm has not seen its metric yet"


def alarm_enforces(alarm: Resource, budget: int, now: datetime | None) -> tuple[bool | None, str]:
    """Whether ``alarm`` enforces ``budget`` bytes per hour (``None``: cannot tell)."""
    a = alarm.attributes
    gone = [n for n in _REQUIRED if n not in a]
    if gone:
        return None, f"{alarm.id}: {', '.join(gone)} not collected"
    period, threshold = a["period"], _exact_threshold(a)
    if not (isinstance(period, int) and period > 0) or threshold is None:
        return None, f"{alarm.id}: unrecognised period {period!r} or threshold {a['threshold']!r}"
    n = a["evaluation_periods"]
    m = a.get("datapoints_to_alarm")
    m = n if m is None else m
    if not (isinstance(n, int) and isinstance(m, int) and 1 <= m <= max(n, 1)):
        return None, f"{alarm.id}: unrecognised evaluation periods {n!r} / datapoints {m!r}"
    if a.get("unit") not in (None, "Bytes"):
        return False, (f"{alarm.id}: unit filter {a['unit']} matches no datapoint of a metric "
                       "published in Bytes: it never fires")
    if a["statistic"] != "Sum":
        return False, f"{alarm.id}: statistic {a['statistic']} is not Sum"
    if a["comparison"] not in _COMPARISONS:
        return False, f"{alarm.id}: comparison {a['comparison']} does not fire on high egress"
    if a["actions_enabled"] is not True or not as_list(a["alarm_actions"]):
        return False, f"{alarm.id}: no enabled alarm action"
    if period > WINDOW_SECONDS:
        return False, (f"{alarm.id}: period {period}s is longer than the hour the budget is "
                       "declared for: a burst within the hour stays under it")
    if m > 1:
        return False, (f"{alarm.id}: fires only after {m} breaching periods of {n}: bursts in "
                       f"fewer than {m} of every {n} periods are never seen")
    # NOTE: exact arithmetic: threshold/period <= budget/3600 <=> threshold*3600 <= budget*period.
    if threshold * WINDOW_SECONDS > budget * period:
        return False, (f"{alarm.id}: threshold {threshold} bytes per {period}s exceeds the budget "
                       f"{budget} bytes per hour")
    live = _state(a, now) if alarm.source == "aws" else None
    if live is not None:
        return live[0], f"{alarm.id}: {live[1]}"
    return True, f"{alarm.id}: threshold {threshold} bytes per {period}s, fires on one datapoint"


def watches(alarm: Resource, source: Resource, dim: str, ident: str,
            monitored: bool | None) -> bool | None:
    """Whether ``alarm`` watches the egress of ``ident`` (``None``: cannot tell).

    An ``AWS/EC2`` metric without dimensions is the regional aggregate, which AWS computes
    over instances with detailed monitoring only (``monitored``).
    """
    if alarm.account != source.account or alarm.region != source.region:
        return False
    namespace, metric = METRICS[dim]
    a = alarm.attributes
    if a.get("metric") != metric or a.get("namespace") != namespace:
        return False
    dims = a.get("dimensions")
    if dims == {dim: ident}:
        return True
    if dim == "InstanceId" and dims == {}:
        return monitored
    return False
