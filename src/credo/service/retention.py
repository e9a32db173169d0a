"""Retention: negative records older than the period are excluded, then purged.

The period and its cut are :mod:`credo.policy.retention`'s (``CREDO_RETENTION_MONTHS``,
60 calendar months by default), the same the features apply: a record the features
have stopped counting as of ``now`` is the record purged at ``now``.

Run by ``credo retention run`` (schedule it daily). Phase 1 marks every
negative record past the period as suppressed (excluded from scoring and from
every disclosure at once, through the feature layer); phase 2 deletes those
events. The suppression row stays as a tombstone so a replayed event is
recognised and never scored again.
"""

from __future__ import annotations

from datetime import datetime

import orjson
from sqlalchemy import delete, select

from credo.policy.retention import retention_cut
from credo.service.disputes import suppress
from credo.service.runtime import Service
from credo.store.tables import events, suppressions

#: Types that can hold a negative record. A settlement (``bill.paid``, ``rental.fee_paid``) is not one:
#: the unpaid fee's report is the negative record and ages out; the payment that settled it stays.
NEGATIVE_TYPES = ("credit.charged_off", "rental.fee_unpaid", "credit.status", "order.payment", "bill.issued",
                  "bureau.tradeline")


def is_negative(event_type: str, payload: dict) -> bool:
    if event_type in ("credit.charged_off", "rental.fee_unpaid"):
        return True
    if event_type == "credit.status":
        return int(payload.get("days_past_due") or 0) > 0
    if event_type == "order.payment":
        paid, due = payload.get("paid_date"), payload.get("due_date")
        return paid is None or (due is not None and str(paid) > str(due))
    if event_type == "bureau.tradeline":
        return payload.get("status") in ("charged_off", "collection") or int(
            payload.get("worst_days_past_due_24m") or 0) > 0
    return False


def run(svc: Service, now: datetime, *, chunk: int = 5000) -> dict[str, int]:
    cutoff = retention_cut(now)
    excluded = 0
    with svc.engine.begin() as conn:
        rows = conn.execute(select(events.c.partner_id, events.c.event_id, events.c.consumer_id, events.c.type,
                                   events.c.payload).where(events.c.occurred_at < cutoff,
                                                           events.c.type.in_(NEGATIVE_TYPES))).all()
        for r in rows:
            if is_negative(r.type, orjson.loads(r.payload)):
                suppress(conn, r.partner_id, r.event_id, r.consumer_id, "retention", now)
                excluded += 1
    purged = 0
    with svc.engine.begin() as conn:
        doomed = conn.execute(select(suppressions.c.partner_id, suppressions.c.event_id)
                              .where(suppressions.c.reason == "retention")).all()
        for start in range(0, len(doomed), chunk):
            for p, e in doomed[start:start + chunk]:
                purged += conn.execute(delete(events).where(events.c.partner_id == p, events.c.event_id == e)
                                       ).rowcount
    return {"excluded": excluded, "purged": purged}
