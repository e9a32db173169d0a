"""A simulated, trained store built once per test session, copied per test; clients for the API.

On SQLite the store file is copied per test. On PostgreSQL (``backend="postgres"``, with
``CREDO_TEST_POSTGRES_URL``) the SQLite store is loaded once per test process into a template schema,
and each test gets its own schema, migrated by Alembic and filled from the template server-side
(``INSERT … SELECT``), dropped afterwards.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient
import pytest
from sqlalchemy import DateTime, Engine, create_engine, insert, select, text
from typer.testing import CliRunner

from credo.api import create_app
from credo.cli.main import app as cli
from credo.credentials import KeyRing
from credo.events import EVENT_TYPES
from credo.registry import enrol_consumer, issue_api_key, register_partner
from credo.scoring import ModelBundle, score_frame
from credo.service import Service
from credo.service import accounts
from credo.settings import Settings
from credo.store import create_store_engine, events, metadata, upgrade_schema
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
    r = runner.invoke(cli, ["simulate", "--consumers", "300", "--months", "20", "--seed", "3", "--end", "2024-09-01",
                            "--into-store", "--db", url])
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
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        self.engine.dispose()
        for step in self.cleanup:
            step()

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


POSTGRES_URL = os.environ.get("CREDO_TEST_POSTGRES_URL")


def _pg_url(schema: str) -> str:
    assert POSTGRES_URL
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"


def _pg_admin(sql: str) -> None:
    admin = create_engine(POSTGRES_URL)  # type: ignore[arg-type]
    try:
        with admin.begin() as conn:
            conn.execute(text(sql))
    finally:
        admin.dispose()


def _aware(table: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Naive UTC datetimes read from SQLite made explicit, whatever the PostgreSQL session time zone."""
    times = [c.name for c in table.columns if isinstance(c.type, DateTime)]

    def fix(row: dict[str, Any]) -> dict[str, Any]:
        for name in times:
            v = row[name]
            if v is not None and v.tzinfo is None:
                row[name] = v.replace(tzinfo=timezone.utc)
        return row
    return fix


def _pg_template(built: dict[str, Any]) -> str:
    """The built SQLite world loaded into a PostgreSQL schema, once per test process."""
    if "pg_template" in built:
        return built["pg_template"]
    schema = f"w_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE SCHEMA "{schema}"')
    atexit.register(_pg_admin, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    target = create_store_engine(_pg_url(schema))
    upgrade_schema(target)
    source = create_store_engine(f"sqlite:///{built['db']}")
    try:
        with source.connect() as src, target.begin() as dst:
            for table in metadata.sorted_tables:
                dst.execute(table.delete())  # rows the migrations seed (registry_version)
                fix = _aware(table)
                result = src.execute(select(table)).mappings()
                while chunk := result.fetchmany(20_000):
                    dst.execute(insert(table), [fix(dict(r)) for r in chunk])
    finally:
        source.dispose()
        target.dispose()
    built["pg_template"] = schema
    return schema


def _pg_world_url(built: dict[str, Any]) -> tuple[str, Callable[[], None]]:
    """A fresh schema holding a copy of the template world; and how to drop it."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured (set CREDO_TEST_POSTGRES_URL)")
    template = _pg_template(built)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE SCHEMA "{schema}"')
    url = _pg_url(schema)
    engine = create_store_engine(url)
    try:
        upgrade_schema(engine)
        with engine.begin() as conn:
            # the template is consistent: skip the per-row foreign-key triggers while copying (3x faster)
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in metadata.sorted_tables:
                conn.execute(table.delete())  # rows the migrations seed (registry_version)
                conn.execute(text(f'INSERT INTO "{schema}"."{table.name}" SELECT * FROM "{template}"."{table.name}"'))
                for col in table.primary_key.columns:
                    if col.autoincrement is True:
                        conn.execute(text(
                            f"SELECT setval(pg_get_serial_sequence('\"{schema}\".\"{table.name}\"', '{col.name}'), "
                            f'COALESCE(MAX("{col.name}"), 0) + 1, false) FROM "{schema}"."{table.name}"'))
    finally:
        engine.dispose()
    return url, lambda: _pg_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


#: The ledger secret of the test deployments (a real-length secret, not a placeholder).
TEST_LEDGER_SECRET = "test-deployment-ledger-secret-0123456789abcdef"


def deployment_settings(url: str, **overrides: Any) -> Settings:
    """Settings a test server may run on (``Settings.require_serving``): a real-length ledger secret
    and an absolute key directory, as a deployment must give."""
    return Settings(database_url=url, ledger_secret=TEST_LEDGER_SECRET, **overrides)


def make_world(tmp_path: Path, base: Path, backend: str = "sqlite") -> World:
    built = _build(base)
    drop: list[Callable[[], None]] = []
    if backend == "postgres":
        url, dropper = _pg_world_url(built)
        drop.append(dropper)
    else:
        db = tmp_path / "store.db"
        shutil.copyfile(built["db"], db)
        url = f"sqlite:///{db}"
    engine = create_store_engine(url)
    clock = [NOW]
    ring_dir = tmp_path / "keys"
    built["ring"].save(ring_dir)
    settings = deployment_settings(url, model_dir=str(built["models"]), key_dir=ring_dir, session_ttl_minutes=60 * 24 * 120)
    svc = Service(engine, settings, clock=lambda: clock[0], bundle=built["bundle"], keyring=KeyRing.load(ring_dir))
    app = create_app(settings, engine, svc)
    with engine.begin() as conn:
        keys = {p: issue_api_key(conn, p) for p in ("lender", "bikes", "dating")}
    world = World(engine, svc, TestClient(app), keys, built["scored"], clock, cleanup=drop)
    return world


def all_event_types() -> tuple[str, ...]:
    return EVENT_TYPES
