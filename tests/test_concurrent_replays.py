"""Overlapping replays from concurrent clients: every event stored once, every answer accepted or
duplicate, no error (PostgreSQL deadlocked or hit unique violations here before writes were ordered)."""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from credo.api import create_app
from credo.settings import Settings
from credo.store import events
from tests.factories import example, populate

CLIENTS = 8
ROUNDS = 20
POOL = 200
WINDOW = 100


def _record(i: int) -> dict[str, Any]:
    """The same content for an id whoever sends it, however often."""
    return example("bill.paid", event_id=f"e{i:04d}", bill_ref=f"b-{i}", amount=f"{i % 90 + 10}.00")


def test_eight_clients_replaying_overlapping_windows_store_each_event_once(engine: Engine) -> None:
    keys = populate(engine)
    app = create_app(Settings(database_url="sqlite://", dev_mode=True), engine=engine)
    start = threading.Barrier(CLIENTS)
    rng = random.Random(11)
    # each round every client sends a window of ids overlapping the others', in its own order
    plans = [[rng.sample(range(o, o + WINDOW), WINDOW) for o in (rng.randrange(POOL - WINDOW) for _ in range(ROUNDS))]
             for _ in range(CLIENTS)]

    def client(n: int) -> list[tuple[int, list[dict[str, Any]]]]:
        http = TestClient(app, raise_server_exceptions=False)
        answers = []
        for window in plans[n]:
            start.wait()
            r = http.post("/v1/events", json={"events": [_record(i) for i in window]},
                          headers={"X-API-Key": keys["p-all"]})
            answers.append((r.status_code, r.json()["results"] if r.status_code == 200 else [r.text]))
        return answers

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = [a for result in pool.map(client, range(CLIENTS)) for a in result]
    errors = [body for status, body in answers if status != 200]
    assert errors == [], f"{len(errors)} of {len(answers)} requests failed: {errors[:3]}"
    statuses = Counter(r["status"] for _, results in answers for r in results)
    assert set(statuses) <= {"accepted", "duplicate"}, statuses
    sent = {f"e{i:04d}" for plan in plans for window in plan for i in window}
    accepted = Counter(r["event_id"] for _, results in answers for r in results if r["status"] == "accepted")
    assert set(accepted) == sent and set(accepted.values()) == {1}, "each event accepted exactly once"
    with engine.connect() as conn:
        stored = conn.execute(select(events.c.event_id, func.count()).group_by(events.c.event_id)).all()
    assert {e for e, _ in stored} == sent and {n for _, n in stored} == {1}
