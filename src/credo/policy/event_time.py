"""Plausible times: the bounds every time and date an event carries must fall within.

A partner's clock, a typo or an attacker can put an event in year 1 or 9999; stored, such a
record would stretch every "months since" feature (a credit line opened in 1900 raised a score)
or, before these bounds, overflow the conversion to UTC. Each event is checked on its own and
a time outside its bounds rejects that event only, with ``EVT_TIME_OUT_OF_RANGE`` naming the
field and the rule below:

* every time and date: on or after :data:`EARLIEST` (1970-01-01, UTC);
* ``received_at`` (set by Credo, or by an operator's back-fill): no later than the moment of
  ingestion plus :data:`CLOCK_SKEW`;
* something that has happened by the time it is reported (``occurred_at``, ``returned_at``,
  ``paid_date``, ``opened_date``, ``statement_date`` …, rule :attr:`TimeRule.HAPPENED`): an
  instant at most :data:`CLOCK_SKEW` after ``received_at``; a calendar date at most
  :data:`DATE_LEEWAY` after the UTC date of ``received_at`` (a partner's local date runs up to
  14 hours ahead of UTC);
* something scheduled (``due_date``, ``first_due_date``, ``due_back_at``, rule
  :attr:`TimeRule.SCHEDULED`): at most :data:`SCHEDULE_AHEAD` after ``received_at``.

Every date or time field of the event schemas declares its rule (``events.types.field``); a
test walks them all.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
EARLIEST_DATE = EARLIEST.date()
#: How far a reporter's clock may run ahead of Credo's.
CLOCK_SKEW = timedelta(minutes=5)
#: How far a calendar date of something that has happened may be after the receipt's UTC date.
DATE_LEEWAY = timedelta(days=1)
#: How far ahead a scheduled time (a due date) may be.
SCHEDULE_AHEAD = timedelta(days=3660)


class TimeRule(StrEnum):
    """What a date or time field says, and so how late it may be."""

    HAPPENED = "happened"
    SCHEDULED = "scheduled"


#: The rule text of each bound, as rejections carry it (stable).
RULE_EARLIEST = "on or after 1970-01-01"
RULE_UTC = "within year 9999 in UTC"
RULE_RECEIVED = "no later than ingestion + 5 minutes"
RULE_TEXT: dict[tuple[TimeRule, bool], str] = {
    (TimeRule.HAPPENED, False): "no later than received_at + 5 minutes",
    (TimeRule.HAPPENED, True): "no later than the day after received_at",
    (TimeRule.SCHEDULED, False): "no later than received_at + 3660 days",
    (TimeRule.SCHEDULED, True): "no later than received_at + 3660 days",
}


def _plus(moment: datetime, delta: timedelta) -> datetime:
    try:
        return moment + delta
    except OverflowError:
        return datetime.max.replace(tzinfo=timezone.utc)


def latest_received(ingested_at: datetime) -> datetime:
    """The latest ``received_at`` a record may carry when ingested at ``ingested_at``."""
    return _plus(ingested_at, CLOCK_SKEW)


def latest(rule: TimeRule, received_at: datetime, *, is_date: bool) -> datetime | date:
    """The latest value a field under ``rule`` may take in an event received at ``received_at``."""
    if rule is TimeRule.SCHEDULED:
        bound = _plus(received_at, SCHEDULE_AHEAD)
        return bound.date() if is_date else bound
    if is_date:
        return _plus(received_at, DATE_LEEWAY).date()
    return _plus(received_at, CLOCK_SKEW)


def rule_text(rule: TimeRule, *, is_date: bool) -> str:
    return RULE_TEXT[(rule, is_date)]
