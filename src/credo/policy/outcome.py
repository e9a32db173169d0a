"""The one published outcome definition: what "bad" means for every model Credo trains.

A consumer observed at date D is **bad** when, within :data:`HORIZON_MONTHS`
months after D, any obligation Credo sees reaches :data:`BAD_DAYS_PAST_DUE`
days past due, is charged off, or goes to collection. Credit is one kind of
obligation among several: bills (rent included), order instalments, rental
and ride fees count the same way, so someone without credit is judged on the
obligations they do have.

Each way an obligation reaches that state is a :class:`BadEventSource`, dated
by the day it became 90 days past due (or the day of the charge-off or
collection report). Training (:mod:`credo.features.training`), the
simulator's ``outcomes`` table, reports and the model card all read this
module; the SQL that finds each source (:mod:`credo.features.labels`, run by
DuckDB and, transpiled, by Spark) is keyed by :attr:`BadEventSource.code`.

Labels are built with hindsight (every correction and retraction known when
they are built) but only from what has been received: a bad date after the
end of the data is not known yet, and an observation date whose horizon ends
after the data is not labelled at all.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Days past due from which an obligation is bad.
BAD_DAYS_PAST_DUE = 90
#: Months after the observation date in which a bad event makes the observation bad.
HORIZON_MONTHS = 12


@dataclass(frozen=True)
class BadEventSource:
    """One way an obligation becomes bad: the events that show it and how it is dated."""

    code: str
    obligation: str
    event_types: tuple[str, ...]
    description: str


BAD_EVENT_SOURCES: tuple[BadEventSource, ...] = (
    BadEventSource(
        "credit_status", "credit lines and loans", ("credit.status",),
        f"A credit account reported {BAD_DAYS_PAST_DUE}+ days past due (dated by the status's as-of date)."),
    BadEventSource(
        "charge_off", "credit lines and loans", ("credit.charged_off",),
        "A credit account charged off (dated by the charge-off date)."),
    BadEventSource(
        "bureau", "accounts reported by a credit bureau", ("bureau.tradeline",),
        f"A bureau tradeline first reporting {BAD_DAYS_PAST_DUE}+ days past due in the last 24 months, "
        "or a charged-off or collection status (dated by that snapshot's as-of date)."),
    BadEventSource(
        "bill", "utility, telecom and rent bills", ("bill.issued", "bill.paid"),
        f"A bill not paid by {BAD_DAYS_PAST_DUE} days after its due date, or paid {BAD_DAYS_PAST_DUE}+ "
        f"days late (dated by due date + {BAD_DAYS_PAST_DUE} days)."),
    BadEventSource(
        "order_instalment", "order instalments (pay later, instalment plans)", ("order.payment",),
        f"An order instalment reported unpaid, or paid {BAD_DAYS_PAST_DUE}+ days late "
        f"(dated by due date + {BAD_DAYS_PAST_DUE} days)."),
    BadEventSource(
        "rental_fee", "rental and ride fees", ("rental.fee_unpaid", "rental.fee_paid"),
        f"A rental or ride fee reported unpaid and not paid by {BAD_DAYS_PAST_DUE} days after its due date, "
        f"or paid {BAD_DAYS_PAST_DUE}+ days late; the payment is the same partner's report that the same "
        f"rental's fee was paid (dated by due date + {BAD_DAYS_PAST_DUE} days)."),
)

BAD_SOURCE_CODES: tuple[str, ...] = tuple(s.code for s in BAD_EVENT_SOURCES)

OUTCOME_DEFINITION = (
    f"Bad = {BAD_DAYS_PAST_DUE}+ days past due, charge-off or collection on any obligation Credo sees "
    "(credit lines and loans, bureau tradelines, utility, telecom and rent bills, order instalments, "
    f"rental and ride fees) within {HORIZON_MONTHS} months after the observation date. An unpaid bill, "
    f"instalment or fee counts from {BAD_DAYS_PAST_DUE} days after its due date. Consumers already bad "
    "at the observation date are left out, and observation dates whose window ends after the data are "
    "not used."
)


def outcome_summary(horizon_months: int = HORIZON_MONTHS) -> str:
    """One line for a model bundle's source: the definition with the horizon actually used."""
    return (f"bad = {BAD_DAYS_PAST_DUE}+ days past due, charge-off or collection on any obligation "
            f"(credit, bureau, bills and rent, order instalments, rental and ride fees) within "
            f"{horizon_months} months")


def source(code: str) -> BadEventSource:
    """The bad-event source with this code (``KeyError`` naming it otherwise)."""
    for s in BAD_EVENT_SOURCES:
        if s.code == code:
            return s
    raise KeyError(f"unknown bad-event source {code!r}; known: {', '.join(BAD_SOURCE_CODES)}")


__all__ = [
    "BAD_DAYS_PAST_DUE", "BAD_EVENT_SOURCES", "BAD_SOURCE_CODES", "BadEventSource", "HORIZON_MONTHS",
    "OUTCOME_DEFINITION", "outcome_summary", "source",
]
