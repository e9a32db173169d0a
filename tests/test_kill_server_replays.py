"""kill -9 of a live server while several clients post overlapping ``event_id`` windows: after a restart,
every acknowledged event is stored, each exactly once, with the content that was acknowledged; replays of
what the killed server committed answer ``duplicate``, never a conflict or an error. On both stores (the
PostgreSQL case is the one that deadlocked before writes were ordered, issue 11 finding 4)."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import socket
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn

from credo.settings import get_settings
from sqlalchemy import select

import credo.api.app  # noqa: F401  (imported before forking, so a server starts at once)
from credo.store import create_store_engine, events, upgrade_schema
from tests.factories import example, populate
from tests.service.support import TEST_LEDGER_SECRET

CLIENTS = 6
ROUNDS = 12
POOL = 400
WINDOW = 60
KILL_AFTER = 10  # acknowledged requests before the kill


def _record(i: int) -> dict[str, Any]:
    """The same content for an id whoever sends it, however often."""
    return example("bill.paid", event_id=f"e{i:04d}", bill_ref=f"b-{i}", amount=f"{i % 90 + 10}.00")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(port: int, env: dict[str, str]) -> None:
    os.environ.update(env)
    get_settings.cache_clear()  # a fork inherits the parent's cached settings, read before this environment
    uvicorn.run("credo.api.app:create_app", factory=True, host="127.0.0.1", port=port, log_level="warning")


class Server:
    """The real app under uvicorn in a forked process (the test process has imported it already, so a
    start takes well under a second), killed with SIGKILL."""

    def __init__(self, url: str, keys: Path) -> None:
        self.port = _free_port()
        self.env = {"CREDO_DATABASE_URL": url, "CREDO_LEDGER_SECRET": TEST_LEDGER_SECRET, "CREDO_KEY_DIR": str(keys)}
        self.proc: multiprocessing.process.BaseProcess | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = multiprocessing.get_context("fork").Process(target=_serve, args=(self.port, self.env), daemon=True)
        self.proc.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.is_alive(), f"server exited with {self.proc.exitcode}"
            try:
                if httpx.get(f"{self.base}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.02)  # polling for the server to listen, not waiting out a race
        raise AssertionError("server did not start")

    def kill(self) -> None:
        if self.proc is None or self.proc.pid is None or not self.proc.is_alive():
            return
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.join()


@pytest.mark.slow
def test_kill_9_of_the_server_amid_overlapping_replays_loses_nothing_acknowledged(
        store_url: str, tmp_path: Path) -> None:
    engine = create_store_engine(store_url)
    upgrade_schema(engine)
    key = populate(engine)["p-all"]
    server = Server(store_url, tmp_path / "keys")
    server.start()
    rng = random.Random(9)
    plans = [[rng.sample(range(o, o + WINDOW), WINDOW) for o in (rng.randrange(POOL - WINDOW) for _ in range(ROUNDS))]
             for _ in range(CLIENTS)]
    acked: list[tuple[int, list[dict[str, Any]]]] = []  # (client, results) of every 200
    failures: list[str] = []  # answers that are neither a 200 nor a dropped connection
    lock = threading.Lock()
    dropped: list[int] = []  # requests the kill cut off
    enough = threading.Event()
    restarted = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(timeout=30) as http:
            for window in plans[n]:
                while True:
                    try:
                        r = http.post(f"{server.base}/v1/events", json={"events": [_record(i) for i in window]},
                                      headers={"X-API-Key": key})
                    except httpx.TransportError:  # the server died under this request: unacknowledged, resend
                        with lock:
                            dropped.append(n)
                        restarted.wait(60)
                        continue
                    break
                with lock:
                    if r.status_code == 200:
                        acked.append((n, r.json()["results"]))
                        if len(acked) >= KILL_AFTER:
                            enough.set()
                    else:
                        failures.append(f"{r.status_code} {r.text[:300]}")

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    try:
        for t in threads:
            t.start()
        assert enough.wait(120), "the clients made no progress before the kill"
        server.kill()
        with lock:
            before_kill = len(acked)
        server.start()
    finally:
        restarted.set()
        for t in threads:
            t.join(120)
        server.kill()

    assert dropped, "the kill cut off requests in flight"

    assert failures == [], failures[:3]
    assert before_kill < CLIENTS * ROUNDS, "the kill came after every request was answered"
    statuses = Counter(r["status"] for _, results in acked for r in results)
    assert set(statuses) <= {"accepted", "duplicate"}, statuses
    acknowledged = {r["event_id"] for _, results in acked for r in results}
    sent = {f"e{i:04d}" for plan in plans for window in plan for i in window}
    assert acknowledged == sent, "every window was eventually answered in full"
    accepted = Counter(r["event_id"] for _, results in acked for r in results if r["status"] == "accepted")
    assert max(accepted.values()) == 1, "no event accepted twice"
    with engine.connect() as conn:
        stored = conn.execute(select(events.c.event_id, events.c.payload)).all()
    engine.dispose()
    ids = Counter(e for e, _ in stored)
    assert set(ids) == acknowledged and set(ids.values()) == {1}, "every acknowledged event stored exactly once"
    expected = {f"e{i:04d}": _record(i)["amount"] for i in range(POOL)}
    payloads = {e: p if isinstance(p, dict) else orjson.loads(p) for e, p in stored}
    assert all(payloads[e]["amount"] == expected[e] for e in ids), "stored content is the content sent"
