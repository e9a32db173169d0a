"""Small hand-made event histories for the feature tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa

from credo.features import record_events
from tests.factories import example

UTC = timezone.utc
D = datetime(2024, 6, 1, tzinfo=UTC)


def at(days_before_d: float) -> datetime:
    return D - timedelta(days=days_before_d)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


def ev(event_type: str, event_id: str, occurred: datetime, received: datetime | None = None,
       consumer: str = "c-1", partner: str = "p-all", **fields: Any) -> dict[str, Any]:
    """One flat record (valid field values from tests.factories), times as UTC ISO strings."""
    rec = example(event_type, event_id, **fields)
    rec.update(consumer_id=consumer, partner_id=partner, occurred_at=iso(occurred),
               received_at=iso(received if received is not None else occurred + timedelta(hours=1)))
    return rec


def table(records: list[dict[str, Any]]) -> pa.Table:
    return record_events(records)


def base_history(consumer: str = "c-1") -> list[dict[str, Any]]:
    """A scorable file: identity, a card with statements and on-time status, bills, an order plan."""
    recs = [
        ev("identity.verified", f"{consumer}-id", at(400), consumer=consumer, level="document"),
        ev("credit.opened", f"{consumer}-open", at(390), consumer=consumer, account_ref="a-1",
           product="credit_card", limit="10000.00", opened_date=at(390).date().isoformat()),
    ]
    for m in range(1, 7):
        day = at(30 * m)
        recs.append(ev("credit.statement", f"{consumer}-st{m}", day, consumer=consumer, account_ref="a-1",
                       statement_date=day.date().isoformat(), balance=f"{1000 * m}.00", minimum_due="50.00",
                       due_date=(day + timedelta(days=20)).date().isoformat()))
        recs.append(ev("credit.status", f"{consumer}-ss{m}", day, consumer=consumer, account_ref="a-1",
                       as_of_date=day.date().isoformat(), days_past_due=0))
        recs.append(ev("bill.issued", f"{consumer}-bi{m}", day, consumer=consumer, bill_ref=f"b-{m}",
                       due_date=(day + timedelta(days=10)).date().isoformat()))
        recs.append(ev("bill.paid", f"{consumer}-bp{m}", day + timedelta(days=5), consumer=consumer,
                       bill_ref=f"b-{m}", paid_date=(day + timedelta(days=5)).date().isoformat()))
    return recs
