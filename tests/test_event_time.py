"""Plausible event times (credo.policy.event_time): out-of-range times reject their event only,
with EVT_TIME_OUT_OF_RANGE naming the field and the rule, on every path, and never overflow."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from credo.api import create_app
from credo.cli.main import app as cli
from credo.events import EVENT_MODELS
from credo.events.types import time_rule_of
from credo.ingest.batch import PreparedBatch
from credo.ingest.columnar import prepare_arrow
from credo.ingest.files import decode_arrow
from credo.ingest.prepare import prepare_records
from credo.ingest.validation import validate_record
from credo.policy.event_time import CLOCK_SKEW, EARLIEST, SCHEDULE_AHEAD
from credo.settings import Settings
from credo.store import events
from tests.factories import example, populate

CODE = "EVT_TIME_OUT_OF_RANGE"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
#: The probe's values: both ends of the calendar with an offset that pushes them off it.
OVERFLOWING = ("9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00")


def _check(record: dict[str, Any], now: datetime = NOW) -> Any:
    return validate_record({"partner_id": "p-all", **record}, partner_id=None, trusted_received_at=True,
                           default_received_at=now)


def _rejection(result: Any) -> list[tuple[str, str | None, str]]:
    assert isinstance(result, list), f"expected a rejection, got {result!r}"
    return [(p.code.value, p.field, p.rule) for p in result]


def test_every_date_and_time_field_declares_how_late_it_may_be() -> None:
    for etype, model in EVENT_MODELS.items():
        for name, info in model.model_fields.items():
            annotation = str(info.annotation)
            if name != "received_at" and ("date" in annotation or "datetime" in annotation):
                assert time_rule_of(info) is not None, f"{etype}.{name} declares no time rule"


@pytest.mark.parametrize("value", OVERFLOWING)
def test_times_beyond_the_calendar_are_a_rejection_not_an_overflow(value: str) -> None:
    (problem,) = _rejection(_check(example("credit.inquiry", occurred_at=value)))
    assert problem[:2] == (CODE, "occurred_at") and problem[2] in ("on or after 1970-01-01", "within year 9999 in UTC")


@pytest.mark.parametrize(("overrides", "field", "rule"), [
    ({"occurred_at": "1900-01-01T00:00:00Z"}, "occurred_at", "on or after 1970-01-01"),
    ({"occurred_at": "1969-12-31T23:59:59Z"}, "occurred_at", "on or after 1970-01-01"),
    ({"occurred_at": "2100-01-01T00:00:00Z"}, "occurred_at", "no later than received_at + 5 minutes"),
    ({"received_at": "2024-06-01T12:05:01Z"}, "received_at", "no later than ingestion + 5 minutes"),
    ({"type": "credit.opened", "opened_date": "1900-01-01"}, "opened_date", "on or after 1970-01-01"),
    ({"type": "credit.opened", "opened_date": "2024-06-03"}, "opened_date", "no later than the day after received_at"),
    ({"type": "bill.issued", "due_date": "2100-01-01"}, "due_date", "no later than received_at + 3660 days"),
    ({"type": "rental.returned", "returned_at": "2024-06-01T12:06:00Z"}, "returned_at",
     "no later than received_at + 5 minutes"),
])
def test_each_bound_names_its_field_and_rule(overrides: dict[str, Any], field: str, rule: str) -> None:
    etype = overrides.pop("type", "credit.inquiry")
    record = example(etype, **{"received_at": "2024-06-01T12:00:00Z", **overrides})
    assert _rejection(_check(record)) == [(CODE, field, rule)]


def test_times_just_inside_the_bounds_are_accepted() -> None:
    received = NOW
    for etype, overrides in [
        ("credit.inquiry", {"occurred_at": "1970-01-01T00:00:00Z"}),
        ("credit.inquiry", {"occurred_at": (received + CLOCK_SKEW).isoformat()}),
        ("credit.opened", {"opened_date": "2024-06-02"}),
        ("bill.issued", {"due_date": (received + SCHEDULE_AHEAD).date().isoformat()}),
    ]:
        result = _check(example(etype, received_at=received.isoformat(), **overrides))
        assert not isinstance(result, list), (etype, overrides, result)


#: Any instant of the calendar with any offset ISO 8601 can write (whole minutes, up to ±23:59).
aware = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59),
                     timezones=st.builds(lambda m: timezone(timedelta(minutes=m)),
                                         st.integers(-23 * 60 - 59, 23 * 60 + 59)))


@settings(max_examples=400, deadline=None)
@given(moment=aware, field=st.sampled_from(["occurred_at", "received_at", "returned_at"]))
def test_no_instant_overflows_and_every_accepted_one_is_in_bounds(moment: datetime, field: str) -> None:
    record = example("rental.returned", received_at=NOW.isoformat())
    record[field] = moment.isoformat()
    result = _check(record)
    if isinstance(result, list):  # a receipt time moved back can make the event's own times late
        allowed = {field} if field != "received_at" else {"received_at", "occurred_at", "returned_at"}
        assert {p.code.value for p in result} == {CODE} and {p.field for p in result} <= allowed
        return
    value = getattr(result, field)
    assert EARLIEST <= value <= result.received_at + CLOCK_SKEW and result.received_at <= NOW + CLOCK_SKEW


@settings(max_examples=200, deadline=None)
@given(day=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_no_date_overflows(day: date) -> None:
    result = _check(example("bill.issued", received_at=NOW.isoformat(), due_date=day.isoformat()))
    if isinstance(result, list):
        assert [(p.code.value, p.field) for p in result] == [(CODE, "due_date")]
    else:
        assert date(1970, 1, 1) <= result.due_date <= (NOW + SCHEDULE_AHEAD).date()


def _parquet_batch(records: list[dict[str, Any]], typed: bool) -> pa.RecordBatch:
    names = list(dict.fromkeys(n for r in records for n in r))
    columns = {}
    for n in names:
        values = [r.get(n) for r in records]
        if typed and n in ("occurred_at", "received_at"):
            values = [datetime.fromisoformat(v.replace("Z", "+00:00")) if v else None for v in values]
            columns[n] = pa.array(values, pa.timestamp("s", tz="UTC"))
        else:
            columns[n] = values
    return pa.table(columns).combine_chunks().to_batches()[0]


near = st.sampled_from([
    "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "2024-06-01T11:59:59Z", "2024-06-01T12:00:00Z",
    "2024-06-01T12:04:59Z", "2024-06-01T12:05:00Z", "2024-06-01T12:05:01Z", "2024-06-02T12:00:00Z",
    "2100-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
near_dates = st.sampled_from(["1969-12-31", "1970-01-01", "2024-05-31", "2024-06-01", "2024-06-02", "2024-06-03",
                              "2034-05-31", "2034-06-01", "2034-06-10", "2034-06-11", "2100-01-01"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(near, near, near_dates, near_dates), min_size=1, max_size=12), typed=st.booleans())
def test_the_column_wise_path_applies_the_same_bounds(rows: list[tuple[str, str, str, str]], typed: bool) -> None:
    records = []
    for i, (occurred, received, paid, due) in enumerate(rows):
        kind = i % 3
        if kind == 0:
            record = example("bill.paid", event_id=f"e{i}", partner_id="p-all", paid_date=paid)
        elif kind == 1:
            record = example("bill.issued", event_id=f"e{i}", partner_id="p-all", due_date=due)
        else:
            record = example("rental.started", event_id=f"e{i}", partner_id="p-all", due_back_at=f"{due}T00:00:00Z")
        records.append({**record, "occurred_at": occurred, "received_at": received})
    batch = _parquet_batch(records, typed)
    fast = prepare_arrow(batch, first_index=0, received_at=NOW)
    reference = PreparedBatch.from_items(prepare_records(
        decode_arrow(batch), partner_id=None, trusted_received_at=True, received_at=NOW))
    assert fast == reference


# ---------------------------------------------------------------- through the API and `credo ingest`, both stores


def test_an_out_of_range_time_rejects_its_event_only(engine: Engine) -> None:
    keys = populate(engine)
    client = TestClient(create_app(Settings(database_url="sqlite://", dev_mode=True), engine=engine))
    batch = [example("credit.inquiry", event_id="good-1"),
             example("credit.inquiry", event_id="bad-1", occurred_at=OVERFLOWING[0]),
             example("credit.inquiry", event_id="bad-2", occurred_at=OVERFLOWING[1]),
             example("credit.opened", event_id="bad-3", opened_date="1900-01-01"),
             example("credit.inquiry", event_id="good-2")]
    response = client.post("/v1/events", json={"events": batch}, headers={"X-API-Key": keys["p-all"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "rejected", "rejected", "accepted"]
    assert {(e["code"], e["field"]) for r in body["results"][1:4] for e in r["errors"]} == {
        (CODE, "occurred_at"), (CODE, "opened_date")}
    put = client.put("/v1/events/bad-4", json=example("credit.inquiry", "bad-4", occurred_at=OVERFLOWING[0]),
                     headers={"X-API-Key": keys["p-all"]})
    assert put.status_code == 422 and put.json()["error"]["code"] == CODE
    with engine.connect() as conn:
        assert sorted(conn.execute(select(events.c.event_id)).scalars()) == ["good-1", "good-2"]


def _write(path: Path, fmt: str, records: list[dict[str, Any]]) -> None:
    if fmt == "jsonl":
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    elif fmt == "csv":
        names = list(dict.fromkeys(n for r in records for n in r))
        lines = [",".join(names)] + [",".join(str(r.get(n, "")) for n in names) for r in records]
        path.write_text("\n".join(lines) + "\n")
    else:
        pq.write_table(pa.Table.from_batches([_parquet_batch(records, typed=False)]), path)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_credo_ingest_stores_the_good_rows_and_reports_the_bad_one(engine: Engine, store_url: str, tmp_path: Path,
                                                                   fmt: str) -> None:
    populate(engine)
    records = [example("credit.inquiry", event_id=f"e{i}", partner_id="p-all", received_at="2024-06-01T00:00:00Z")
               for i in range(5)]
    records[2]["occurred_at"] = OVERFLOWING[0]
    path = tmp_path / f"events.{fmt}"
    _write(path, fmt, records)
    result = CliRunner().invoke(cli, ["ingest", str(path), "--db", store_url, "--format", fmt])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 2, result.output  # some rows were rejected
    assert "accepted 4" in result.output and "rejected 1" in result.output
    assert f"{CODE}:within year 9999 in UTC" in result.output
    with engine.connect() as conn:
        assert sorted(conn.execute(select(events.c.event_id)).scalars()) == ["e0", "e1", "e3", "e4"]
