"""Field-level rules of the event schemas: times, money, codes, unknown fields."""

from __future__ import annotations

from datetime import date, timezone

import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from credo.api import create_app
from credo.errors import ErrorCode
from credo.events import EVENT_MODELS, event_to_record, parse_event
from credo.events.schemas import MoneyPrecisionError, content_digest
from credo.ingest.validation import validate_record
from credo.settings import Settings
from credo.store import events
from tests.factories import example, populate


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


# --------------------------------------------------------------------------- rental.fee_paid


def test_a_paid_rental_fee_round_trips() -> None:
    event = parse_event(example("rental.fee_paid", amount="15.5"))
    assert (event.rental_ref, event.rental_kind, event.paid_date) == ("r-1", "bike", date(2024, 5, 2))
    record = event_to_record(event)
    assert record["amount"] == "15.50" and record["type"] == "rental.fee_paid"
    again = parse_event(record)
    assert again == event and content_digest(again) == content_digest(event)


@pytest.mark.parametrize(
    ("overrides", "removed", "expected"),
    [
        ({}, "paid_date", (ErrorCode.MISSING_FIELD.value, "paid_date")),
        ({}, "rental_ref", (ErrorCode.MISSING_FIELD.value, "rental_ref")),
        ({"due_date": "2024-05-08"}, None, (ErrorCode.UNKNOWN_FIELD.value, "due_date")),
        ({"rental_kind": "boat"}, None, (ErrorCode.INVALID_VALUE.value, "rental_kind")),
        ({"paid_date": "2024-02-30"}, None, (ErrorCode.INVALID_VALUE.value, "paid_date")),
        ({"amount": "-1.00"}, None, (ErrorCode.INVALID_VALUE.value, "amount")),
    ],
)
def test_a_paid_rental_fee_names_the_field_it_rejects(overrides: dict, removed: str | None, expected) -> None:
    record = example("rental.fee_paid", **overrides)
    if removed:
        del record[removed]
    assert _codes(record) == [expected]


def test_a_paid_rental_fee_is_stored_only_with_consent(engine) -> None:  # noqa: ANN001
    """c-1 consented to p-all reporting every type; c-2 is enrolled without consent."""
    keys = populate(engine)
    client = TestClient(create_app(Settings(database_url="sqlite://", dev_mode=True), engine=engine))
    client.headers["X-API-Key"] = keys["p-all"]
    batch = [example("rental.fee_unpaid", event_id="f-1"), example("rental.fee_paid", event_id="f-1-p"),
             example("rental.fee_paid", event_id="f-2-p", consumer_id="c-2")]
    body = client.post("/v1/events", json={"events": batch}).json()
    assert [r["status"] for r in body["results"]] == ["accepted", "accepted", "rejected"]
    assert body["results"][2]["errors"][0]["code"] == ErrorCode.CONSENT_NOT_GIVEN.value
    with engine.connect() as conn:
        stored = conn.execute(select(events.c.payload).where(events.c.event_id == "f-1-p")).scalar_one()
    sent = event_to_record(parse_event(example("rental.fee_paid", event_id="f-1-p")))
    assert {k: v for k, v in orjson.loads(stored).items() if k not in ("partner_id", "received_at")} == sent
