"""A simulated, trained store built once per test session, copied per test; clients for the API."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from credo.api import create_app
from credo.cli.main import app as cli
from credo.credentials import KeyRing
from credo.events import EVENT_TYPES
from credo.registry import enrol_consumer, issue_api_key, register_partner
from credo.scoring import ModelBundle, score_frame
from credo.service import Service, ServiceConfig
from credo.service import accounts
from credo.settings import Settings
from credo.store import create_store_engine, events
from credo.features import compute_features, events_from_store

NOW = datetime(2024, 9, 1, 12, 0, tzinfo=timezone.utc)
PASSWORD = "correct horse battery"
_BUILT: dict[str, Any] = {}


def _build(base: Path) -> dict[str, Any]:
    if _BUILT:
        return _BUILT
    base.mkdir(parents=True, exist_ok=True)
    db = base / "world.db"
    runner = CliRunner()
    url = f"sqlite:///{db}"
    r = runner.invoke(cli, ["simulate", "--consumers", "300", "--months", "20", "--seed", "3", "--into-store",
                            "--db", url])
    assert r.exit_code == 0, r.output
    models = base / "models"
    r = runner.invoke(cli, ["train", "--db", url, "--models", str(models), "--no-challenger"])
    assert r.exit_code == 0, r.output
    bundle = ModelBundle.load(models)
    engine = create_store_engine(url)
    feats = compute_features(events_from_store(engine), NOW)
    result = score_frame(bundle.champion, feats)
    scored = result[result["status"] == "scored"].sort_values("score")
    with engine.begin() as conn:
        register_partner(conn, "lender", "Lender Bank", "credit", ["credit.inquiry"])
        register_partner(conn, "bikes", "Bike Rental", "rental", ["rental.started"])
        register_partner(conn, "dating", "Match Me", "matchmaking", [])
        enrol_consumer(conn, "newcomer")
    engine.dispose()
    # make sure the copy is self-contained
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    ring = KeyRing.generate(NOW - timedelta(hours=1))
    _BUILT.update(db=db, models=models, bundle=bundle, scored=scored, ring=ring, features=feats)
    return _BUILT


@dataclass
class World:
    engine: Engine
    svc: Service
    client: TestClient
    keys: dict[str, str]
    scored: pd.DataFrame
    clock: list[datetime] = field(default_factory=lambda: [NOW])

    def at(self, when: datetime) -> None:
        self.clock[0] = when

    def partner(self, pid: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[pid]}

    def consumer_token(self, consumer_id: str, username: str | None = None) -> dict[str, str]:
        username = username or f"u-{consumer_id}"
        accounts.register(self.svc, username, PASSWORD, consumer_id=consumer_id, now=self.clock[0])
        token, _ = accounts.login(self.svc, username, PASSWORD, now=self.clock[0])
        return {"Authorization": f"Bearer {token}"}

    def high(self, k: int = 0) -> str:
        return str(self.scored.index[-1 - k])

    def low(self, k: int = 0) -> str:
        return str(self.scored.index[k])

    def events_of(self, consumer_id: str) -> list[Any]:
        with self.engine.connect() as conn:
            return conn.execute(select(events.c.partner_id, events.c.event_id, events.c.type, events.c.payload)
                                .where(events.c.consumer_id == consumer_id).order_by(events.c.seq)).all()


def make_world(tmp_path: Path, base: Path) -> World:
    built = _build(base)
    db = tmp_path / "store.db"
    shutil.copyfile(built["db"], db)
    url = f"sqlite:///{db}"
    engine = create_store_engine(url)
    clock = [NOW]
    settings = Settings(database_url=url, model_dir=str(built["models"]))
    ring_dir = tmp_path / "keys"
    built["ring"].save(ring_dir)
    svc = Service(engine, settings, ServiceConfig(key_dir=str(ring_dir), session_ttl_minutes=60 * 24 * 120), clock=lambda: clock[0],
                  bundle=built["bundle"], keyring=KeyRing.load(ring_dir))
    app = create_app(settings, engine, svc)
    with engine.begin() as conn:
        keys = {p: issue_api_key(conn, p) for p in ("lender", "bikes", "dating")}
    world = World(engine, svc, TestClient(app), keys, built["scored"], clock)
    return world


def all_event_types() -> tuple[str, ...]:
    return EVENT_TYPES
