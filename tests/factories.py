"""Valid example records, one per event type, and a ready-made store population."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from credo.events import EVENT_TYPES
from credo.registry import enrol_consumer, grant_report_consent, issue_api_key, register_partner

_COMMON = {"consumer_id": "c-1", "occurred_at": "2024-05-01T10:30:00+08:00"}

# Every date of something that has happened is on or before 2024-05-02, the receipt time tests give
# (credo.policy.event_time: no later than the day after receipt).

EXAMPLES: dict[str, dict[str, Any]] = {
    "order.placed": {"order_ref": "o-1", "amount": "120.50", "currency": "CNY", "instalments": 3,
                     "first_due_date": "2024-06-01", "merchant_category": "5411"},
    "order.payment": {"order_ref": "o-1", "instalment": 1, "amount": "40.17", "currency": "CNY",
                      "due_date": "2024-06-01", "paid_date": "2024-05-01"},
    "order.refund": {"order_ref": "o-1", "amount": "10.00", "currency": "CNY"},
    "order.chargeback": {"order_ref": "o-1", "amount": "10.00", "currency": "CNY", "reason": "not_received"},
    "bill.issued": {"bill_ref": "b-1", "bill_kind": "utility", "amount": "88.00", "currency": "CNY",
                    "due_date": "2024-05-20"},
    "bill.paid": {"bill_ref": "b-1", "bill_kind": "utility", "amount": "88.00", "currency": "CNY",
                  "paid_date": "2024-05-01"},
    "credit.opened": {"account_ref": "a-1", "product": "credit_card", "limit": "20000.00", "currency": "CNY",
                      "opened_date": "2024-01-10"},
    "credit.statement": {"account_ref": "a-1", "statement_date": "2024-04-30", "balance": "3500.25",
                         "minimum_due": "350.03", "due_date": "2024-05-20", "currency": "CNY"},
    "credit.payment": {"account_ref": "a-1", "amount": "350.03", "currency": "CNY", "paid_date": "2024-05-01"},
    "credit.status": {"account_ref": "a-1", "as_of_date": "2024-04-30", "days_past_due": 0},
    "credit.closed": {"account_ref": "a-1", "closed_date": "2024-05-01", "reason": "paid_off"},
    "credit.charged_off": {"account_ref": "a-1", "amount": "1500.00", "currency": "CNY",
                           "charged_off_date": "2024-05-01"},
    "credit.inquiry": {"application_ref": "q-1", "product": "instalment_loan"},
    "rental.started": {"rental_ref": "r-1", "rental_kind": "bike", "deposit_waived": True,
                       "due_back_at": "2024-05-01T12:00:00Z"},
    "rental.returned": {"rental_ref": "r-1", "rental_kind": "bike", "returned_at": "2024-05-01T11:40:00Z",
                        "on_time": True},
    "rental.fee_unpaid": {"rental_ref": "r-1", "rental_kind": "bike", "amount": "15.00", "currency": "CNY",
                          "due_date": "2024-05-08"},
    "rental.fee_paid": {"rental_ref": "r-1", "rental_kind": "bike", "amount": "15.00", "currency": "CNY",
                        "paid_date": "2024-05-02"},
    "bureau.tradeline": {"tradeline_ref": "t-1", "account_kind": "mortgage", "status": "open",
                         "opened_date": "2019-03-01", "as_of_date": "2024-04-30", "credit_limit": "800000.00",
                         "balance": "612000.00", "currency": "CNY", "worst_days_past_due_24m": 0},
    "identity.verified": {"level": "document"},
    "income.verified": {"band": "10k_20k", "currency": "CNY"},
    "event.retraction": {"retracts_event_id": "ev-order.placed", "reason": "reported_in_error"},
}
assert set(EXAMPLES) == set(EVENT_TYPES), "every event type needs an example"


def example(event_type: str, event_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid record of ``event_type`` (ids default to ``ev-<type>``)."""
    return {"type": event_type, "event_id": event_id or f"ev-{event_type}", **_COMMON,
            **EXAMPLES[event_type], **overrides}


def all_examples() -> list[dict[str, Any]]:
    """One record of each type, ordered so the retraction follows its target."""
    ordered = [t for t in EVENT_TYPES if t != "event.retraction"] + ["event.retraction"]
    return [example(t) for t in ordered]


def populate(engine: Engine, consumers: tuple[str, ...] = ("c-1", "c-2")) -> dict[str, str]:
    """Partners ``p-all`` (every type) and ``p-bills`` (bills only), enrolled
    consumers, and c-1's consent to p-all for every type. Returns API keys."""
    with engine.begin() as conn:
        register_partner(conn, "p-all", "Everything Ltd", "commerce", EVENT_TYPES)
        register_partner(conn, "p-bills", "Power Co", "utility", ["bill.issued", "bill.paid", "event.retraction"])
        keys = {"p-all": issue_api_key(conn, "p-all"), "p-bills": issue_api_key(conn, "p-bills")}
        for consumer in consumers:
            enrol_consumer(conn, consumer)
        grant_report_consent(conn, "c-1", "p-all", EVENT_TYPES)
    return keys
