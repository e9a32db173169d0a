"""The typed events table: categories from the schemas, exact minor units, every source alike."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from credo.features.events_table import (
    EVENTS_SCHEMA,
    events_from_files,
    normalise,
    payload_columns,
    record_events,
)
from credo.simulate import SimulationConfig, simulate_to_directory, write_jsonl
from tests.features.helpers import at, ev


def test_payload_columns_follow_the_schema_categories():
    cols = {c.source: c for c in payload_columns()}
    assert "merchant_category" not in cols and "currency" not in cols
    assert "order_ref" not in cols and "event_id" not in cols
    assert cols["amount"].name == "amount_minor" and cols["amount"].arrow_type == pa.int64()
    assert cols["paid_date"].arrow_type == pa.date32()
    # ``reason`` is scorable for chargebacks and closures, envelope for retractions
    assert "event.retraction" not in cols["reason"].types
    assert {"order.chargeback", "credit.closed"} <= cols["reason"].types


def test_money_is_exact_minor_units_in_each_currency():
    recs = [
        ev("order.payment", "p-cny", at(5), amount="40.17"),
        ev("order.payment", "p-jpy", at(5), amount="4017", currency="JPY"),
        ev("order.payment", "p-kwd", at(5), amount="40.175", currency="KWD"),
        ev("order.payment", "p-loose", at(5), amount="40.1"),  # not canonical: exact fallback
        ev("bureau.tradeline", "t", at(5), credit_limit="800000.00", balance="612000.01"),
    ]
    t = record_events(recs)
    amounts = dict(zip(t["event_id"].to_pylist(), t["amount_minor"].to_pylist()))
    assert amounts == {"p-cny": 4017, "p-jpy": 4017, "p-kwd": 40175, "p-loose": 4010, "t": None}
    row = t.filter(pc.equal(t["event_id"], "t")).to_pylist()[0]
    assert row["credit_limit_minor"] == 80_000_000 and row["balance_minor"] == 61_200_001


def test_retraction_reason_is_not_kept_and_target_resolves():
    recs = [ev("credit.charged_off", "co", at(9)),
            ev("event.retraction", "r", at(3), retracts_event_id="co", reason="dispute_resolved")]
    t = record_events(recs)
    rows = {r["event_id"]: r for r in t.to_pylist()}
    assert rows["r"]["reason"] is None and rows["r"]["target_event_id"] == "co"
    assert rows["co"]["revised"] is True and rows["r"]["revised"] is False


def test_parquet_and_jsonl_sources_agree(tmp_path):
    simulate_to_directory(SimulationConfig(consumers=30, months=6, seed=2), tmp_path / "sim")
    part = tmp_path / "sim" / "events" / "part-00000.parquet"
    raw = pq.read_table(part)
    write_jsonl(raw, tmp_path / "events.jsonl")
    a = events_from_files([part])
    b = events_from_files([tmp_path / "events.jsonl"])
    assert a.schema == EVENTS_SCHEMA
    assert a.sort_by([("partner_id", "ascending"), ("event_id", "ascending")]).equals(
        b.sort_by([("partner_id", "ascending"), ("event_id", "ascending")]))
    # the same file twice is the same events (idempotent, like the store)
    assert events_from_files([part, part]).num_rows == a.num_rows


def test_normalise_rejects_missing_envelope():
    with pytest.raises(ValueError, match="received_at"):
        normalise(pa.table({"type": ["credit.inquiry"], "consumer_id": ["c"], "partner_id": ["p"],
                            "event_id": ["e"], "occurred_at": ["2024-01-01T00:00:00Z"]}))
