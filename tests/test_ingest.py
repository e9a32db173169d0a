"""Ingestion answers per event: accepted, duplicate, conflict, rejected — precisely."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from credo.api import create_app
from credo.errors import ErrorCode
from credo.registry import revoke_api_key
from credo.settings import Settings
from credo.store import events
from tests.factories import example, populate


@pytest.fixture
def setup(engine):  # noqa: ANN001, ANN201
    keys = populate(engine)
    client = TestClient(create_app(Settings(database_url="sqlite://", max_batch_events=50, dev_mode=True), engine=engine))
    client.headers["X-API-Key"] = keys["p-all"]
    return client, keys


def _ids(engine) -> list[str]:  # noqa: ANN001
    with engine.connect() as conn:
        return sorted(conn.execute(select(events.c.event_id)).scalars())


def test_batch_with_one_bad_event_stores_the_good_ones(setup, engine) -> None:  # noqa: ANN001
    client, _ = setup
    batch = [
        example("bill.issued", event_id="good-1"),
        example("bill.issued", event_id="bad", due_date="2024-02-30"),
        example("bill.paid", event_id="good-2"),
    ]
    response = client.post("/v1/events", json={"events": batch})
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 0, 1)
    bad = body["results"][1]
    assert bad == {
        "index": 1,
        "event_id": "bad",
        "status": "rejected",
        "errors": [{"code": "EVT_INVALID_VALUE", "field": "due_date", "rule": "date_from_datetime_parsing",
                    "message": bad["errors"][0]["message"]}],
    }
    assert _ids(engine) == ["good-1", "good-2"]


def test_replay_is_duplicate_and_changed_content_is_conflict(setup, engine) -> None:  # noqa: ANN001
    client, _ = setup
    first = client.post("/v1/events", json={"events": [example("bill.paid", event_id="x")]}).json()
    assert first["accepted"] == 1
    replay = client.post("/v1/events", json={"events": [example("bill.paid", event_id="x")]}).json()
    assert replay["results"][0]["status"] == "duplicate"
    changed = client.post("/v1/events", json={"events": [example("bill.paid", event_id="x", amount="1.00")]}).json()
    assert changed["results"][0]["errors"][0]["code"] == ErrorCode.IDEMPOTENCY_CONFLICT.value
    with engine.connect() as conn:
        payload = conn.execute(select(events.c.payload)).scalar_one()
    assert '"amount":"88.00"' in payload, "a conflict must never overwrite"


def test_duplicates_and_conflicts_inside_one_batch(setup, engine) -> None:  # noqa: ANN001
    client, _ = setup
    batch = [example("bill.paid", event_id="y"), example("bill.paid", event_id="y"),
             example("bill.paid", event_id="y", amount="2.00")]
    statuses = [(r["status"], r["errors"][0]["code"] if r["errors"] else None)
                for r in client.post("/v1/events", json={"events": batch}).json()["results"]]
    assert statuses == [("accepted", None), ("duplicate", None), ("rejected", "IDEMPOTENCY_CONFLICT")]
    assert _ids(engine) == ["y"]


def test_single_event_put_statuses(setup) -> None:  # noqa: ANN001
    client, _ = setup
    record = example("bill.paid", event_id="p1")
    assert client.put("/v1/events/p1", json=record).status_code == 201
    assert client.put("/v1/events/p1", json=record).status_code == 200
    conflict = client.put("/v1/events/p1", json={**record, "amount": "5.00"})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    no_consent = client.put("/v1/events/p2", json={**record, "event_id": "p2", "consumer_id": "c-2"})
    assert (no_consent.status_code, no_consent.json()["error"]["code"]) == (403, "CONSENT_NOT_GIVEN")
    forbidden = client.put("/v1/events/p3", json={**record, "event_id": "p3", "ethnicity": "x"})
    assert forbidden.status_code == 422
    assert forbidden.json()["error"] == {**forbidden.json()["error"], "code": "POLICY_FORBIDDEN_CATEGORY",
                                         "field": "ethnicity", "rule": "FC04"}


def test_corrections_and_retractions_must_target_own_events(setup, engine) -> None:  # noqa: ANN001
    client, _ = setup
    client.post("/v1/events", json={"events": [example("bill.paid", event_id="orig")]})
    batch = [
        example("bill.paid", event_id="fix", corrects_event_id="orig", amount="80.00"),
        example("bill.issued", event_id="wrong-type", corrects_event_id="orig"),
        example("bill.paid", event_id="ghost", corrects_event_id="missing"),
        example("event.retraction", event_id="ret", retracts_event_id="orig"),
        example("event.retraction", event_id="ret2", retracts_event_id="ret"),
    ]
    codes = [r["errors"][0]["code"] if r["errors"] else r["status"]
             for r in client.post("/v1/events", json={"events": batch}).json()["results"]]
    assert codes == ["accepted", "EVT_TARGET_MISMATCH", "EVT_TARGET_NOT_FOUND", "accepted", "EVT_TARGET_MISMATCH"]


def test_partner_cannot_speak_for_another_or_set_received_at(setup) -> None:  # noqa: ANN001
    client, _ = setup
    results = client.post("/v1/events", json={"events": [
        example("bill.paid", event_id="a", partner_id="p-bills"),
        example("bill.paid", event_id="b", received_at="2020-01-01T00:00:00Z"),
    ]}).json()["results"]
    assert [r["errors"][0]["code"] for r in results] == ["PARTNER_MISMATCH", "EVT_RECEIVED_AT_SERVER_ASSIGNED"]


def test_batch_limits_and_malformed_requests(setup, engine) -> None:  # noqa: ANN001
    client, _ = setup
    too_many = [example("bill.paid", event_id=f"e{i}") for i in range(51)]
    response = client.post("/v1/events", json={"events": too_many})
    assert (response.status_code, response.json()["error"]["code"]) == (413, "REQ_BATCH_TOO_LARGE")
    assert client.post("/v1/events", json={"events": []}).json()["error"]["code"] == "REQ_MALFORMED"
    assert client.post("/v1/events", content=b"{not json").status_code == 422
    assert _ids(engine) == []


def test_api_keys(setup, engine) -> None:  # noqa: ANN001
    client, keys = setup
    record = {"events": [example("bill.paid")]}
    assert client.post("/v1/events", json=record, headers={"X-API-Key": ""}).status_code == 401
    assert client.post("/v1/events", json=record, headers={"X-API-Key": "credo_x_y"}).status_code == 401
    tampered = keys["p-all"][:-2] + ("AA" if not keys["p-all"].endswith("AA") else "BB")
    assert client.post("/v1/events", json=record, headers={"X-API-Key": tampered}).status_code == 401
    with engine.begin() as conn:
        revoke_api_key(conn, keys["p-all"].split("_")[1])
    response = client.post("/v1/events", json=record)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "AUTH_INVALID_CREDENTIALS")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 0


def test_api_keys_are_stored_hashed(setup, engine) -> None:  # noqa: ANN001
    from credo.store import api_keys

    _, keys = setup
    with engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(select(api_keys))]
    secret = keys["p-all"].split("_", 2)[2]
    assert stored and all(secret not in str(row) for row in stored)
