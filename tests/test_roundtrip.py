"""Every event type travels API → store → export (JSONL, CSV, Parquet) → ingest unchanged."""

from __future__ import annotations

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from credo.api import create_app
from credo.events import EVENT_TYPES, parse_event
from credo.events.schemas import content_digest
from credo.ingest.files import read_chunks
from credo.ingest.service import ingest_records
from credo.settings import Settings
from credo.store import create_store_engine, events, upgrade_schema
from credo.store.export import export_events
from tests.factories import all_examples, populate


@pytest.fixture
def client(engine):  # noqa: ANN001, ANN201
    return TestClient(create_app(Settings(database_url="sqlite://", dev_mode=True), engine=engine))


def _stored(engine) -> dict[str, dict]:  # noqa: ANN001
    with engine.connect() as conn:
        return {r.event_id: orjson.loads(r.payload) for r in conn.execute(select(events.c.event_id, events.c.payload))}


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_every_event_type_round_trips(engine, client, tmp_path, fmt) -> None:  # noqa: ANN001
    keys = populate(engine)
    sent = all_examples()
    response = client.post("/v1/events", json={"events": sent}, headers={"X-API-Key": keys["p-all"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == len(EVENT_TYPES), body

    stored = _stored(engine)
    assert {r["type"] for r in stored.values()} == set(EVENT_TYPES)
    for record in sent:
        original = parse_event({**record, "partner_id": "p-all"})
        kept = parse_event(stored[record["event_id"]])
        assert kept.model_dump(exclude={"received_at"}) == original.model_dump(exclude={"received_at"})
        assert kept.received_at is not None

    out = tmp_path / f"events.{fmt}"
    assert export_events(engine, out, fmt) == len(EVENT_TYPES)
    exported = [r for chunk in read_chunks(out, fmt, 100) for r in chunk]
    assert {r["event_id"]: parse_event(r) for r in exported} == {k: parse_event(v) for k, v in stored.items()}

    fresh = create_store_engine(f"sqlite:///{tmp_path / 'again.db'}")
    upgrade_schema(fresh)
    populate(fresh)
    outcomes = ingest_records(fresh, exported, trusted_received_at=True)
    assert [o.status for o in outcomes] == ["accepted"] * len(EVENT_TYPES)
    assert {k: content_digest(parse_event(v)) for k, v in _stored(fresh).items()} == {
        k: content_digest(parse_event(v)) for k, v in stored.items()
    }
