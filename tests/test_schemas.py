"""Field-level rules of the event schemas: times, money, codes, unknown fields."""

from __future__ import annotations

from datetime import timezone

import pytest
from pydantic import ValidationError

from credo.errors import ErrorCode
from credo.events import EVENT_MODELS, parse_event
from credo.events.schemas import MoneyPrecisionError
from credo.ingest.validation import validate_record
from tests.factories import example


def _codes(record: dict) -> list[tuple[str, str | None]]:
    result = validate_record(record, partner_id="p-all", trusted_received_at=False)
    assert isinstance(result, list), "expected a rejection"
    return [(p.code.value, p.field) for p in result]


def test_times_are_normalised_to_utc() -> None:
    event = parse_event(example("order.placed"))
    assert event.occurred_at.tzinfo == timezone.utc
    assert event.occurred_at.hour == 2  # 10:30+08:00


def test_naive_times_are_rejected() -> None:
    assert _codes(example("order.placed", occurred_at="2024-05-01T10:30:00")) == [
        (ErrorCode.INVALID_VALUE.value, "occurred_at")
    ]


def test_money_is_exact_and_canonical() -> None:
    event = parse_event(example("order.placed", amount="120.5"))
    assert str(event.amount) == "120.50"
    with pytest.raises(MoneyPrecisionError):
        parse_event(example("order.placed", amount="0.001"))
    with pytest.raises(MoneyPrecisionError):
        parse_event(example("order.placed", amount="100.5", currency="JPY"))
    assert str(parse_event(example("order.placed", amount="100", currency="JPY")).amount) == "100"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "XAU"}, "currency"),
        ({"merchant_category": "0000"}, "merchant_category"),
        ({"merchant_category": "54111"}, "merchant_category"),
        ({"amount": "-1.00"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"instalments": 0}, "instalments"),
        ({"event_id": "has space"}, "event_id"),
    ],
)
def test_invalid_values_name_their_field(overrides: dict, field: str) -> None:
    assert _codes(example("order.placed", **overrides)) == [(ErrorCode.INVALID_VALUE.value, field)]


def test_unknown_fields_are_rejected_by_name() -> None:
    assert _codes(example("bill.paid", colour="blue")) == [(ErrorCode.UNKNOWN_FIELD.value, "colour")]


def test_missing_and_unknown_type() -> None:
    record = example("bill.paid")
    del record["paid_date"]
    assert _codes(record) == [(ErrorCode.MISSING_FIELD.value, "paid_date")]
    assert _codes({**example("bill.paid"), "type": "bill.overdue"}) == [(ErrorCode.UNKNOWN_EVENT_TYPE.value, "type")]


def test_received_at_is_server_assigned_for_partners() -> None:
    record = example("bill.paid", received_at="2024-05-02T00:00:00Z")
    assert _codes(record) == [(ErrorCode.RECEIVED_AT_SERVER_ASSIGNED.value, "received_at")]
    trusted = validate_record({**record, "partner_id": "p"}, partner_id=None, trusted_received_at=True)
    assert not isinstance(trusted, list) and trusted.received_at is not None


def test_every_model_forbids_extra_fields() -> None:
    for name, model in EVENT_MODELS.items():
        assert model.model_config.get("extra") == "forbid", name
        with pytest.raises(ValidationError):
            model.model_validate({**example(name), "surprise": 1})
