"""Streaks and badges for a consumer's own good habits, read from their own records.

Only the consumer's events are read (read-only): never a feature, a score or anything of another
consumer. Corrections replace what they correct; retracted and suppressed records do not count, as
everywhere else. Only complete calendar months (UTC) count, so a bill due later this month never
breaks a streak before its time. The badges are visible only to the consumer, unless they choose to
show one in a circle (:mod:`credo.service.circles`).

* **Bills on time**: months in a row, up to last month, in which every bill due was paid by its
  due date (a month with no bill due ends the streak: nothing was shown to be on time).
* **Utilisation down**: the share of revolving credit limits in use (latest statement balance per
  account in a month over those accounts' limits), in the latest complete month with statements,
  against the same share :data:`UTILISATION_LOOKBACK_MONTHS` months before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, select

from credo.features.definitions import REVOLVING_PRODUCTS
from credo.policy.circles import (
    BADGES,
    ON_TIME_STREAKS,
    UTILISATION_DROP_POINTS,
    UTILISATION_LOOKBACK_MONTHS,
)
from credo.store.tables import events, suppressions

RETRACTION = "event.retraction"
Month = tuple[int, int]


@dataclass(frozen=True)
class Habits:
    bills_on_time_months: int
    #: (month, percent in use) for the latest complete month with statements and the one compared with it.
    utilisation_now: tuple[Month, float] | None
    utilisation_before: tuple[Month, float] | None

    def earned(self) -> set[str]:
        codes = {f"bills_on_time_{n}" for n in ON_TIME_STREAKS if self.bills_on_time_months >= n}
        if self.utilisation_now and self.utilisation_before and \
                self.utilisation_before[1] - self.utilisation_now[1] >= UTILISATION_DROP_POINTS:
            codes.add("utilisation_down")
        return codes

    def public(self) -> dict[str, Any]:
        earned = self.earned()

        def shown(found: tuple[Month, float] | None) -> dict[str, Any] | None:
            return None if found is None else {"month": f"{found[0][0]:04d}-{found[0][1]:02d}",
                                               "percent": round(found[1], 1)}
        return {"bills_on_time_months": self.bills_on_time_months,
                "utilisation": {"latest": shown(self.utilisation_now), "before": shown(self.utilisation_before)},
                "badges": [{"code": b.code, "name": b.name, "description": b.description, "earned": b.code in earned}
                           for b in BADGES]}


def _records(conn: Connection, consumer_id: str, now: datetime) -> list[dict[str, Any]]:
    """The consumer's records as they stand at ``now``: the latest version of each, none retracted or suppressed."""
    hidden = {(p, e) for p, e in conn.execute(select(suppressions.c.partner_id, suppressions.c.event_id)
                                              .where(suppressions.c.consumer_id == consumer_id))}
    rows = conn.execute(select(events.c.partner_id, events.c.event_id, events.c.type, events.c.target_event_id,
                               events.c.payload)
                        .where(events.c.consumer_id == consumer_id, events.c.received_at <= now)
                        .order_by(events.c.seq))
    root: dict[tuple[str, str], tuple[str, str]] = {}
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    retracted: set[tuple[str, str]] = set()
    for r in rows:
        own, target = (r.partner_id, r.event_id), (r.partner_id, r.target_event_id)
        if own in hidden or target in hidden:
            continue
        first = root.get(target, target) if r.target_event_id else own
        if r.type == RETRACTION:
            retracted.add(first)
            continue
        root[own] = first
        latest[first] = {**orjson.loads(r.payload), "partner_id": r.partner_id}
    return [payload for key, payload in latest.items() if key not in retracted]


def _month(d: date) -> Month:
    return d.year, d.month


def _back(m: Month, months: int) -> Month:
    index = m[0] * 12 + (m[1] - 1) - months
    return index // 12, index % 12 + 1


def _on_time_streak(records: Iterable[dict[str, Any]], this_month: Month) -> int:
    due: dict[tuple[str, str], date] = {}
    paid: dict[tuple[str, str], date] = {}
    for p in records:
        key = (p["partner_id"], p.get("bill_ref", ""))
        if p["type"] == "bill.issued":
            due[key] = date.fromisoformat(p["due_date"])
        elif p["type"] == "bill.paid":
            when = date.fromisoformat(p["paid_date"])
            paid[key] = min(paid.get(key, when), when)
    months: dict[Month, bool] = {}
    for key, d in due.items():
        m = _month(d)
        if m < this_month:
            on_time = key in paid and paid[key] <= d
            months[m] = months.get(m, True) and on_time
    streak, m = 0, _back(this_month, 1)
    while months.get(m):
        streak += 1
        m = _back(m, 1)
    return streak


def _utilisation(records: Iterable[dict[str, Any]], this_month: Month) -> dict[Month, float]:
    limits: dict[tuple[str, str], float] = {}
    balances: dict[Month, dict[tuple[str, str], tuple[date, float]]] = {}
    statements = []
    for p in records:
        key = (p["partner_id"], p.get("account_ref", ""))
        if p["type"] == "credit.opened" and p["product"] in REVOLVING_PRODUCTS:
            limits[key] = float(p["limit"])
        elif p["type"] == "credit.statement":
            statements.append((key, date.fromisoformat(p["statement_date"]), float(p["balance"])))
    for key, on, balance in statements:
        m = _month(on)
        if key in limits and m < this_month:
            held = balances.setdefault(m, {})
            if key not in held or held[key][0] <= on:
                held[key] = (on, balance)
    out = {}
    for m, held in balances.items():
        limit = sum(limits[k] for k in held)
        if limit > 0:
            out[m] = 100.0 * sum(b for _, b in held.values()) / limit
    return out


def habits(conn: Connection, consumer_id: str, now: datetime) -> Habits:
    records = _records(conn, consumer_id, now)
    this_month = _month(now.date())
    shares = _utilisation(records, this_month)
    latest = max(shares) if shares else None
    before = _back(latest, UTILISATION_LOOKBACK_MONTHS) if latest else None
    return Habits(
        bills_on_time_months=_on_time_streak(records, this_month),
        utilisation_now=(latest, shares[latest]) if latest else None,
        utilisation_before=(before, shares[before]) if before and before in shares else None,
    )


def earned(conn: Connection, consumer_id: str, now: datetime) -> set[str]:
    return habits(conn, consumer_id, now).earned()
