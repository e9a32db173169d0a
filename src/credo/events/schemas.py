"""Pydantic v2 models of every event type a partner can report.

Design rules, each enforced here rather than downstream:

* unknown fields are rejected (``extra="forbid"``); there is no free-text field;
* times are timezone-aware and normalised to UTC; dates are calendar dates;
* money is an exact ``Decimal`` with an ISO 4217 currency, checked against the
  currency's minor-unit exponent and stored canonically (``"12.30"``);
* merchant categories are ISO 18245 codes and are insight-only (never scored);
* a correction is an event of the same type carrying ``corrects_event_id``;
  a retraction is its own type.

The flat field layout (no nesting) lets the same record travel as JSON Lines,
CSV or Parquet.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter
from pydantic_core import PydanticCustomError

from credo.events.types import (
    Amount,
    CurrencyCode,
    EventDate,
    Identifier,
    MerchantCategory,
    UtcDatetime,
    currency_exponent,
    field,
)
from credo.policy.event_time import TimeRule
from credo.policy.protection import category_in_text

#: How late each date or time may be (credo.policy.event_time).
HAPPENED, SCHEDULED = TimeRule.HAPPENED, TimeRule.SCHEDULED


def _no_forbidden_terms(value: str) -> str:
    category = category_in_text(value)
    if category is not None:
        raise PydanticCustomError(
            "forbidden_category",
            "value names a forbidden data category ({name}): {rationale}",
            {"rule": category.code, "name": category.name, "rationale": category.rationale},
        )
    return value


#: An identifier or reference that must not smuggle in a forbidden category.
Ref = Annotated[Identifier, AfterValidator(_no_forbidden_terms)]


class EventBase(BaseModel):
    """Fields every event carries: who reported what about whom, and when."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    #: Names of the money fields and the currency field they are in.
    money_fields: ClassVar[tuple[str, ...]] = ()

    event_id: Ref = field("envelope", "The partner's own id for this event; (partner, event_id) is idempotent.")
    consumer_id: Ref = field("envelope", "Credo consumer id the event is about.")
    occurred_at: UtcDatetime = field("envelope", "When it happened (timezone-aware; stored in UTC).",
                                     time_rule=HAPPENED)
    partner_id: Ref | None = field(
        "envelope", "Reporting partner. Implied by the API key; required in bulk files.", default=None
    )
    received_at: UtcDatetime | None = field(
        "envelope",
        "When Credo received it. Assigned by the server; only bulk back-fills may set it.",
        default=None,
    )
    corrects_event_id: Ref | None = field(
        "envelope", "Set when this event replaces an earlier event of the same type.", default=None
    )


class _Money(EventBase):
    currency: CurrencyCode = field("envelope", "ISO 4217 currency of every amount in this event.")


class OrderPlaced(_Money):
    type: Literal["order.placed"]
    money_fields: ClassVar[tuple[str, ...]] = ("amount",)
    order_ref: Ref = field("envelope", "The partner's order reference.")
    amount: Amount = field("payment_behaviour", "Order total.")
    instalments: int = field("payment_behaviour", "Number of instalments (1 = pay in full).", ge=1, le=60, default=1)
    first_due_date: EventDate | None = field("payment_behaviour", "Due date of the first payment.",
                                             time_rule=SCHEDULED, default=None)
    merchant_category: MerchantCategory | None = field(
        "spending_insight", "ISO 18245 merchant category; for the consumer's insights, never scored.", default=None
    )


class OrderPayment(_Money):
    type: Literal["order.payment"]
    money_fields: ClassVar[tuple[str, ...]] = ("amount",)
    order_ref: Ref = field("envelope", "The order this payment belongs to.")
    instalment: int = field("payment_behaviour", "Instalment number (1-based).", ge=1, le=60, default=1)
    amount: Amount = field("payment_behaviour", "Amount due for this instalment.")
    due_date: EventDate = field("payment_behaviour", "When it was due.", time_rule=SCHEDULED)
    paid_date: EventDate | None = field("payment_behaviour", "When it was paid; absent means unpaid (missed).",
                                        time_rule=HAPPENED, default=None)


class Refund(_Money):
    type: Literal["order.refund"]
    money_fields: ClassVar[tuple[str, ...]] = ("amount",)
    order_ref: Ref = field("envelope", "The refunded order.")
    amount: Amount = field("payment_behaviour", "Amount refunded.")


class Chargeback(_Money):
    type: Literal["order.chargeback"]
    money_fields: ClassVar[tuple[str, ...]] = ("amount",)
    order_ref: Ref = field("envelope", "The disputed order.")
    amount: Amount = field("payment_behaviour", "Amount charged back.")
    reason: Literal["fraud", "not_received", "not_as_described", "duplicate", "other"] = field(
        "payment_behaviour", "Card-scheme style chargeback reason."
    )


BillKind = Literal["utility", "telecom", "rent"]


class BillIssued(_Money):
    type: Literal["bill.issued"]
    money_fields: ClassVar[tuple[str, ...]] = ("amount",)
    bill_ref: Ref = field("envelope", "The partner's bill reference.")
    bill_kind: BillKind = field("payment_behaviour", "Utility, telecom or rent.")
    amount: Amount = field("payment_behaviour", "Amount billed.")
    due_date: EventDate = field("payment_behaviour", "When it is due.", time_rule=SCHEDULED)


class BillPaid(_Money):
    type: Literal["bill.paid"]
    money_fields: ClassVar[tuple[str, ...]] = ("amount",)
    bill_ref: Ref = field("envelope", "The bill paid.")
    bill_kind: BillKind = field("payment_behaviour", "Utility, telecom or rent.")
    amount: Amount = field("payment_behaviour", "Amount paid.")
    paid_date: EventDate = field("payment_behaviour", "When it was paid.", time_rule=HAPPENED)


CreditProduct = Literal["credit_card", "revolving_line", "instalment_loan", "bnpl_line", "mortgage"]


class CreditOpened(_Money):
    type: Literal["credit.opened"]
    money_fields: ClassVar[tuple[str, ...]] = ("limit",)
    account_ref: Ref = field("envelope", "The partner's account reference.")
    product: CreditProduct = field("account_history", "Kind of credit.")
    limit: Amount = field("credit_capacity", "Credit limit (lines) or principal (loans).")
    opened_date: EventDate = field("account_history", "When the account opened.", time_rule=HAPPENED)
    term_months: int | None = field("account_history", "Term of an instalment loan.", ge=1, le=600, default=None)


class CreditStatement(_Money):
    type: Literal["credit.statement"]
    money_fields: ClassVar[tuple[str, ...]] = ("balance", "minimum_due")
    account_ref: Ref = field("envelope", "The account.")
    statement_date: EventDate = field("payment_behaviour", "Statement date.", time_rule=HAPPENED)
    balance: Amount = field("credit_capacity", "Statement balance.")
    minimum_due: Amount = field("payment_behaviour", "Minimum payment due.")
    due_date: EventDate = field("payment_behaviour", "Payment due date.", time_rule=SCHEDULED)


class CreditPayment(_Money):
    type: Literal["credit.payment"]
    money_fields: ClassVar[tuple[str, ...]] = ("amount",)
    account_ref: Ref = field("envelope", "The account.")
    amount: Amount = field("payment_behaviour", "Amount paid.")
    paid_date: EventDate = field("payment_behaviour", "When it was paid.", time_rule=HAPPENED)


class CreditStatus(EventBase):
    type: Literal["credit.status"]
    account_ref: Ref = field("envelope", "The account.")
    as_of_date: EventDate = field("payment_behaviour", "Date the delinquency status refers to.", time_rule=HAPPENED)
    days_past_due: int = field("payment_behaviour", "Days past due (0 = current).", ge=0, le=3650)


class CreditClosed(EventBase):
    type: Literal["credit.closed"]
    account_ref: Ref = field("envelope", "The account.")
    closed_date: EventDate = field("account_history", "When it closed.", time_rule=HAPPENED)
    reason: Literal["paid_off", "consumer_request", "lender_closed"] = field("account_history", "Why it closed.")


class CreditChargedOff(_Money):
    type: Literal["credit.charged_off"]
    money_fields: ClassVar[tuple[str, ...]] = ("amount",)
    account_ref: Ref = field("envelope", "The account.")
    amount: Amount = field("payment_behaviour", "Amount written off.")
    charged_off_date: EventDate = field("payment_behaviour", "When it was charged off.", time_rule=HAPPENED)


class CreditInquiry(EventBase):
    type: Literal["credit.inquiry"]
    application_ref: Ref = field("envelope", "The partner's application reference.")
    product: CreditProduct = field("account_history", "Kind of credit applied for.")


RentalKind = Literal["bike", "car", "power_bank", "umbrella", "equipment", "ride"]


class RentalStarted(EventBase):
    type: Literal["rental.started"]
    rental_ref: Ref = field("envelope", "The partner's rental or ride reference.")
    rental_kind: RentalKind = field("rental_behaviour", "What was rented.")
    deposit_waived: bool = field("rental_behaviour", "Whether the deposit was waived.")
    due_back_at: UtcDatetime = field("rental_behaviour", "When it is due back or the ride fare is due.",
                                     time_rule=SCHEDULED)


class RentalReturned(EventBase):
    type: Literal["rental.returned"]
    rental_ref: Ref = field("envelope", "The rental.")
    rental_kind: RentalKind = field("rental_behaviour", "What was rented.")
    returned_at: UtcDatetime = field("rental_behaviour", "When it came back.", time_rule=HAPPENED)
    on_time: bool = field("rental_behaviour", "Returned (or settled) by the due time.")


class RentalFeeUnpaid(_Money):
    type: Literal["rental.fee_unpaid"]
    money_fields: ClassVar[tuple[str, ...]] = ("amount",)
    rental_ref: Ref = field("envelope", "The rental.")
    rental_kind: RentalKind = field("rental_behaviour", "What was rented.")
    amount: Amount = field("rental_behaviour", "Fee left unpaid.")
    due_date: EventDate = field("rental_behaviour", "When the fee was due.", time_rule=SCHEDULED)


class RentalFeePaid(_Money):
    """A fee reported unpaid (``rental.fee_unpaid``) was paid later; same partner and ``rental_ref``."""

    type: Literal["rental.fee_paid"]
    money_fields: ClassVar[tuple[str, ...]] = ("amount",)
    rental_ref: Ref = field("envelope", "The rental whose unpaid fee this settles.")
    rental_kind: RentalKind = field("rental_behaviour", "What was rented.")
    amount: Amount = field("rental_behaviour", "Amount paid.")
    paid_date: EventDate = field("rental_behaviour", "When it was paid.", time_rule=HAPPENED)


class BureauTradeline(_Money):
    type: Literal["bureau.tradeline"]
    money_fields: ClassVar[tuple[str, ...]] = ("credit_limit", "balance")
    tradeline_ref: Ref = field("envelope", "The bureau's tradeline reference.")
    account_kind: CreditProduct = field("bureau_record", "Kind of account.")
    status: Literal["open", "closed", "charged_off", "collection"] = field("bureau_record", "Account status.")
    opened_date: EventDate = field("bureau_record", "When it opened.", time_rule=HAPPENED)
    as_of_date: EventDate = field("bureau_record", "Snapshot date.", time_rule=HAPPENED)
    credit_limit: Amount = field("bureau_record", "Limit or original principal.")
    balance: Amount = field("bureau_record", "Balance on the snapshot date.")
    worst_days_past_due_24m: int = field("bureau_record", "Worst delinquency in the last 24 months.", ge=0, le=3650)


class IdentityVerified(EventBase):
    type: Literal["identity.verified"]
    level: Literal["contact", "document", "in_person"] = field(
        "identity_level", "Verification level only; the evidence itself is never sent."
    )


IncomeBand = Literal["under_2k", "2k_5k", "5k_10k", "10k_20k", "20k_plus"]


class IncomeVerified(_Money):
    type: Literal["income.verified"]
    band: IncomeBand = field("credit_capacity", "Verified monthly income band, in thousands of the currency.")


class Retraction(EventBase):
    type: Literal["event.retraction"]
    retracts_event_id: Ref = field("envelope", "The partner's earlier event that is withdrawn.")
    reason: Literal["reported_in_error", "duplicate", "dispute_resolved", "identity_fraud"] = field(
        "envelope", "Why it is withdrawn."
    )


EVENT_MODELS: dict[str, type[EventBase]] = {
    m.model_fields["type"].annotation.__args__[0]: m  # type: ignore[union-attr]
    for m in (
        OrderPlaced, OrderPayment, Refund, Chargeback, BillIssued, BillPaid,
        CreditOpened, CreditStatement, CreditPayment, CreditStatus, CreditClosed,
        CreditChargedOff, CreditInquiry, RentalStarted, RentalReturned, RentalFeeUnpaid, RentalFeePaid,
        BureauTradeline, IdentityVerified, IncomeVerified, Retraction,
    )
}
EVENT_TYPES: tuple[str, ...] = tuple(EVENT_MODELS)

AnyEvent = Annotated[Union[tuple(EVENT_MODELS.values())], Field(discriminator="type")]  # type: ignore[valid-type]

event_adapter: TypeAdapter[Any] = TypeAdapter(AnyEvent)  # type: ignore[arg-type]  # a union built at run time


class MoneyPrecisionError(ValueError):
    """An amount has more decimals than its currency allows."""

    def __init__(self, field_name: str, value: Decimal, currency: str, exponent: int) -> None:
        self.field_name = field_name
        super().__init__(f"{value} has more than {exponent} decimal places allowed for {currency}")


def _canonical_money(event: EventBase) -> EventBase:
    """Check every amount against the currency's minor units and write it with
    exactly that many decimals ("12.3" → "12.30"), so equal amounts hash equal."""
    if not event.money_fields:
        return event
    currency = event.currency  # type: ignore[attr-defined]
    exponent = currency_exponent(currency)
    updates = {}
    for name in event.money_fields:
        value: Decimal = getattr(event, name)
        if value.as_tuple().exponent == -exponent:
            continue
        exact = value.quantize(Decimal(1).scaleb(-exponent))
        if exact != value:
            raise MoneyPrecisionError(name, value, currency, exponent)
        updates[name] = exact
    return event.model_copy(update=updates) if updates else event


def parse_event(data: dict[str, Any]) -> EventBase:
    """Validate one event record; raise ``ValidationError`` or ``MoneyPrecisionError``."""
    return _canonical_money(event_adapter.validate_python(data))


def event_to_record(event: EventBase) -> dict[str, Any]:
    """The event as a flat JSON-ready dict without unset optional fields."""
    return event.model_dump(mode="json", exclude_none=True)


#: Fields that describe delivery, not content: a replay delivered later by the
#: same partner is still the same event.
DELIVERY_FIELDS = frozenset({"received_at", "partner_id"})


_DELIVERY_EXCLUDE: set[str] = set(DELIVERY_FIELDS)  # pydantic's ``exclude`` takes a set


def content_digest(event: EventBase) -> str:
    """Stable digest of an event's content (delivery fields excluded), for idempotency.

    Computed over pydantic's canonical JSON of the validated event (field order
    fixed by the schema, amounts already canonical), so "12.3" and "12.30" are
    the same content.
    """
    return digest_of_content(event.model_dump_json(exclude=_DELIVERY_EXCLUDE, exclude_none=True).encode())


def digest_of_content(content: bytes) -> str:
    """The digest of an event's canonical content JSON (see :func:`content_digest`)."""
    return hashlib.sha256(content).hexdigest()[:32]


def event_json(event: EventBase) -> str:
    """The stored form of an event: its canonical flat JSON, unset fields omitted."""
    return event.model_dump_json(exclude_none=True)
