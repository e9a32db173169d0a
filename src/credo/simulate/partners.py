"""The simulated partners: who reports which event types (fixed, not seed-dependent)."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

RETRACTION = "event.retraction"

_ORDER_TYPES = ["order.placed", "order.payment", "order.refund", "order.chargeback"]
_CREDIT_TYPES = [
    "credit.inquiry", "credit.opened", "credit.statement", "credit.payment",
    "credit.status", "credit.closed", "credit.charged_off",
]
_BILL_TYPES = ["bill.issued", "bill.paid"]
_RENTAL_TYPES = ["rental.started", "rental.returned", "rental.fee_unpaid", "rental.fee_paid"]

_PARTNERS: tuple[dict[str, Any], ...] = (
    {"partner_id": "p-mkt", "name": "Simulated e-commerce marketplace", "kind": "commerce",
     "event_types": _ORDER_TYPES},
    {"partner_id": "p-card", "name": "Simulated card and BNPL issuer", "kind": "credit",
     "event_types": _CREDIT_TYPES},
    {"partner_id": "p-loan", "name": "Simulated consumer lender", "kind": "credit",
     "event_types": _CREDIT_TYPES},
    {"partner_id": "p-pwr", "name": "Simulated power utility", "kind": "utility",
     "event_types": _BILL_TYPES},
    {"partner_id": "p-tel", "name": "Simulated mobile telecom", "kind": "telecom",
     "event_types": _BILL_TYPES},
    {"partner_id": "p-lld", "name": "Simulated landlord platform", "kind": "landlord",
     "event_types": _BILL_TYPES},
    {"partner_id": "p-bike", "name": "Simulated bike and power-bank rental", "kind": "rental",
     "event_types": _RENTAL_TYPES},
    {"partner_id": "p-ride", "name": "Simulated ride-hailing", "kind": "rental",
     "event_types": _RENTAL_TYPES},
    {"partner_id": "p-bur", "name": "Simulated credit bureau", "kind": "bureau",
     "event_types": ["bureau.tradeline"]},
    {"partner_id": "p-idv", "name": "Simulated identity verifier", "kind": "identity",
     "event_types": ["identity.verified"]},
    {"partner_id": "p-inc", "name": "Simulated income verifier", "kind": "income",
     "event_types": ["income.verified"]},
)

#: Partner ids in code order (the simulator refers to partners by index).
PARTNER_IDS: tuple[str, ...] = tuple(p["partner_id"] for p in _PARTNERS)
P_MKT, P_CARD, P_LOAN, P_PWR, P_TEL, P_LLD, P_BIKE, P_RIDE, P_BUR, P_IDV, P_INC = range(len(_PARTNERS))


def partners() -> list[dict[str, Any]]:
    """The simulated partners, each with the event types it reports.

    Every partner may also send ``event.retraction`` and corrections of its own
    events, so ``event.retraction`` is listed for each of them. Together they
    cover every type in :data:`credo.events.EVENT_TYPES`.
    """
    out = []
    for p in _PARTNERS:
        q = deepcopy(p)
        q["event_types"] = [*q["event_types"], RETRACTION]
        out.append(q)
    return out
