"""The column-wise bulk path gives exactly what the per-row reference path gives.

Per row: the same outcome (status, code, field, rule, message); per store: the
same rows, byte for byte; and the same content digest as ``POST /v1/events``,
so duplicates and conflicts are recognised across both channels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, select

from credo.api import create_app
from credo.events import EVENT_MODELS, EVENT_TYPES
from credo.ingest import columnar
from credo.ingest.batch import PreparedBatch
from credo.ingest.bulk import ingest_file
from credo.ingest.columnar import prepare_arrow
from credo.ingest.files import decode_arrow
from credo.ingest.plan import type_plans
from credo.ingest.prepare import prepare_records
from credo.ingest.service import store_batch, store_prepared
from credo.registry.consents import ConsentCache
from credo.settings import Settings
from credo.simulate import SimulationConfig, simulate_to_directory
from credo.store import create_store_engine, events, upgrade_schema
from tests.factories import all_examples, example, populate

NOW = datetime(2024, 6, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
RECEIVED = "2024-05-02T00:00:00Z"
TIME_FIELDS = {"occurred_at", "received_at", "due_back_at", "returned_at"}
DATE_FIELDS = {n for m in EVENT_MODELS.values() for n, f in m.model_fields.items() if "date" in n}
KINDS = (
    "valid", "valid", "valid", "forbidden_field", "forbidden_term", "unknown_field", "bad_currency",
    "bad_mcc", "sensitive_mcc", "nested_forbidden", "bad_value", "missing_field", "naive_time", "offset_time",
    "fractional_seconds", "noncanonical_amount", "too_precise", "no_consent", "not_enrolled", "not_permitted",
    "duplicate",
    "conflict", "correction", "missing_received_at", "missing_partner", "unknown_type",
)
TYPES = [t for t in EVENT_TYPES if t != "event.retraction"]


def test_every_event_type_has_a_column_wise_plan() -> None:
    """A schema change the plans do not understand would silently send a type to the slow path."""
    assert [t for t, plan in type_plans().items() if plan is None] == []


def _typed(record: dict[str, Any], tz: timezone) -> dict[str, Any]:
    """The record as a typed Parquet file holds it: aware timestamps and calendar dates."""
    out = dict(record)
    for name, value in record.items():
        if name in TIME_FIELDS and isinstance(value, str):
            out[name] = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(tz)
        elif name in DATE_FIELDS and isinstance(value, str):
            out[name] = date.fromisoformat(value)
    return out


def _table(records: list[dict[str, Any]]) -> pa.RecordBatch:
    names = list(dict.fromkeys(n for r in records for n in r))
    return pa.table({n: [r.get(n) for r in records] for n in names}).combine_chunks().to_batches()[0]


def _money_field(event_type: str) -> str | None:
    fields = EVENT_MODELS[event_type].money_fields
    return fields[0] if fields else None


def _row(kind: str, i: int, event_type: str, earlier: list[dict[str, Any]], text_times: bool) -> dict[str, Any]:
    money = _money_field(event_type)
    if kind in ("bad_currency", "noncanonical_amount", "too_precise") and money is None:
        event_type, money = "bill.paid", "amount"
    if kind in ("bad_mcc", "sensitive_mcc"):
        event_type = "order.placed"
    if kind == "bad_value":
        event_type = "credit.status"
    record = example(event_type, event_id=f"e{i}", partner_id="p-all", received_at=RECEIVED)
    if kind in ("duplicate", "conflict", "correction") and earlier:
        source = earlier[i % len(earlier)]
        if kind == "duplicate":
            return dict(source)
        if kind == "conflict":
            return {**source, "occurred_at": "2024-05-03T09:00:00Z"}
        return {**source, "event_id": f"e{i}", "corrects_event_id": source["event_id"]}
    changes: dict[str, Any] = {
        "forbidden_field": {"religion": "none"},
        "forbidden_term": {"event_id": f"e{i}-religion"},
        "unknown_field": {"colour": "red"},
        "bad_currency": {"currency": "ABC"},
        "bad_mcc": {"merchant_category": "0001"},
        "sensitive_mcc": {"merchant_category": "8661"},
        "nested_forbidden": {"meta": {"note": "ok", "religion": "declared"}},
        "bad_value": {"days_past_due": -1},
        "naive_time": {"occurred_at": "2024-05-01T10:30:00"} if text_times else {},
        "offset_time": {"occurred_at": "2024-05-01T10:30:00+08:00"},
        "fractional_seconds": {"occurred_at": "2024-05-01T10:30:00.250000Z"},
        "noncanonical_amount": {money: "12.3"} if money else {},
        "too_precise": {money: "12.345"} if money else {},
        "no_consent": {"consumer_id": "c-2"},
        "not_enrolled": {"consumer_id": "c-9"},
        "not_permitted": {"partner_id": "p-bills"},
        "unknown_type": {"type": "order.teleported"},
    }.get(kind, {})
    record.update(changes)
    if kind == "missing_field":
        del record["occurred_at"]
    if kind == "missing_received_at":
        del record["received_at"]
    if kind == "missing_partner":
        del record["partner_id"]
    return record


def _both_paths(conn: Connection, batch: pa.RecordBatch) -> Iterator[tuple[str, Callable[[], Any]]]:
    """(name, run) for the fast path (with the bulk consent cache) and the reference path."""
    fast = prepare_arrow(batch, first_index=0, received_at=NOW)
    slow = prepare_records(decode_arrow(batch), partner_id=None, trusted_received_at=True, received_at=NOW)
    reference = PreparedBatch.from_items(slow)
    assert fast == reference, "phase one must give the same events and rejections"
    yield "fast", lambda: store_batch(conn, fast, ConsentCache(), optimistic=True).outcomes(fast)
    yield "reference", lambda: store_prepared(conn, slow)


def _run(engine: Engine, prior: list[dict[str, Any]], batch: pa.RecordBatch) -> dict[str, tuple[list, list]]:
    results = {}
    with engine.connect() as conn:
        for name, run in _both_paths(conn, batch):
            transaction = conn.begin()
            store_prepared(conn, prepare_records(prior, partner_id=None, trusted_received_at=True, received_at=NOW))
            outcomes = [o.as_dict() for o in run()]
            stored = [tuple(r) for r in conn.execute(select(events).order_by(events.c.seq))]
            transaction.rollback()
            results[name] = (outcomes, stored)
    return results


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = create_store_engine(f"sqlite:///{tmp_path_factory.mktemp('columnar') / 's.db'}")
    upgrade_schema(engine)
    populate(engine)
    yield engine
    engine.dispose()


rows_strategy = st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(TYPES)), min_size=1, max_size=30)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy, text_times=st.booleans(), offset=st.sampled_from([0, 8]))
def test_fast_path_matches_the_reference_row_by_row(populated: Engine, rows, text_times: bool, offset: int) -> None:  # noqa: ANN001
    prior = [example("bill.paid", event_id="prior-1", partner_id="p-all", received_at=RECEIVED),
             example("credit.status", event_id="prior-2", partner_id="p-all", received_at=RECEIVED)]
    records: list[dict[str, Any]] = []
    for i, (kind, event_type) in enumerate(rows):
        records.append(_row(kind, i, event_type, prior + records, text_times))
    if not text_times:
        records = [_typed(r, timezone(timedelta(hours=offset))) for r in records]
    results = _run(populated, prior, _table(records))
    assert results["fast"] == results["reference"]


def test_simulated_population_is_prepared_column_wise_identically(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    simulate_to_directory(SimulationConfig(consumers=300, months=12, seed=3), tmp_path)
    slow_rows = []
    real = columnar.prepare_records
    monkeypatch.setattr(columnar, "prepare_records", lambda records, **kw: slow_rows.append(len(records))
                        or real(records, **kw))
    total = 0
    for path in sorted((tmp_path / "events").glob("part-*.parquet")):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=4000):
            fast = prepare_arrow(batch, first_index=total, received_at=NOW)
            reference = PreparedBatch.from_items(prepare_records(
                decode_arrow(batch), partner_id=None, trusted_received_at=True, received_at=NOW, first_index=total))
            assert fast == reference
            total += batch.num_rows
    assert total > 10_000
    assert sum(slow_rows) == 0, "simulated events are canonical: none should need the per-row path"


def test_bulk_file_and_http_agree_on_content(engine: Engine, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """A Parquet back-fill and the same events over HTTP have one digest: replays are duplicates."""
    keys = populate(engine)
    examples = all_examples()
    file = tmp_path / "events.parquet"
    pq.write_table(pa.Table.from_batches([_table([_typed({**r, "partner_id": "p-all", "received_at": RECEIVED},
                                                         timezone.utc) for r in examples])]), file)
    monkeypatch.setattr(columnar, "prepare_records", lambda records, **kw: pytest.fail("not column-wise"))
    report = ingest_file(engine, file, "parquet")
    assert (report.accepted, report.rejected) == (len(examples), 0)
    again = ingest_file(engine, file, "parquet")  # the optimistic insert falls back to looking ids up
    assert (again.accepted, again.duplicates, again.rejected) == (0, len(examples), 0)

    client = TestClient(create_app(Settings(database_url="sqlite://", dev_mode=True), engine=engine))
    client.headers["X-API-Key"] = keys["p-all"]
    replay = client.post("/v1/events", json={"events": examples}).json()
    assert [r["status"] for r in replay["results"]] == ["duplicate"] * len(examples)
    changed = client.post("/v1/events", json={"events": [{**examples[0], "amount": "99.99"}]}).json()
    assert changed["results"][0]["errors"][0]["code"] == "IDEMPOTENCY_CONFLICT"
