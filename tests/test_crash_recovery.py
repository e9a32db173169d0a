"""kill -9 in the middle of a bulk ingest loses nothing acknowledged, and a
re-run of the same file ends in exactly the state of a clean single run; on SQLite
and on PostgreSQL (where a killed transaction's sequence values are not reused, so
the stored order is compared, not the seq numbers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, create_engine, func, select, text

from credo.store import create_store_engine, events, upgrade_schema
from tests.factories import example, populate

TOTAL = 120_000
CHUNK = 1000


def _write_file(path: Path, total: int = TOTAL) -> None:
    with path.open("wb") as handle:
        for i in range(total):
            record = example("bill.paid", event_id=f"e{i:07d}", partner_id="p-all", bill_ref=f"b-{i}",
                             amount=f"{i % 500}.{i % 100:02d}", received_at="2024-05-02T00:00:00Z")
            handle.write(orjson.dumps(record) + b"\n")


def _store(path: Path):  # noqa: ANN202
    return _store_at(f"sqlite:///{path}")


def _store_at(url: str) -> Engine:
    engine = create_store_engine(url)
    upgrade_schema(engine)
    populate(engine)
    return engine


def _ingest_cmd(db: Path | str, file: Path, ack: Path) -> list[str]:
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    return [sys.executable, "-m", "credo", "ingest", str(file), "--db", url,
            "--chunk-size", str(CHUNK), "--ack-log", str(ack)]


def _count(engine) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(events)).scalar_one()


def _state(engine) -> list[tuple]:  # noqa: ANN001
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(events.c.seq, events.c.partner_id, events.c.event_id, events.c.content_hash, events.c.payload)
            .order_by(events.c.seq))]


def _kill_after_acks(cmd: list[str], ack: Path, chunks: int) -> None:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if ack.exists() and len(ack.read_text().splitlines()) >= chunks:
            break
        time.sleep(0.01)  # polling for progress, not waiting out a race
    assert proc.poll() is None, f"ingest finished before it could be killed: {proc.stderr.read().decode()[-500:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _acknowledged_kept_and_rerun_dedupes(crashed: Engine, target: Path | str, file: Path, ack: Path, tmp_path: Path,
                                         total: int) -> None:
    """Every acknowledged event survived the kill, whole chunks only, and a rerun of the same file
    stores nothing twice."""
    acknowledged = int(ack.read_text().splitlines()[-1].split()[-1])
    stored = _count(crashed)
    assert acknowledged <= stored < total, "every acknowledged event survived and the load was interrupted"
    assert stored % CHUNK == 0, "a chunk is stored whole or not at all"

    rerun = subprocess.run(_ingest_cmd(target, file, tmp_path / "ack2.log"), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"duplicates {stored}" in " ".join(rerun.stdout.split())


@pytest.mark.slow
def test_kill_9_mid_ingest_then_rerun(tmp_path: Path) -> None:
    file = tmp_path / "events.jsonl"
    _write_file(file)
    crashed_db, ack = tmp_path / "crashed.db", tmp_path / "ack.log"
    crashed = _store(crashed_db)

    _kill_after_acks(_ingest_cmd(crashed_db, file, ack), ack, 5)
    with crashed.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    _acknowledged_kept_and_rerun_dedupes(crashed, crashed_db, file, ack, tmp_path, TOTAL)

    clean_db = tmp_path / "clean.db"
    clean = _store(clean_db)
    single = subprocess.run(_ingest_cmd(clean_db, file, tmp_path / "ack3.log"), capture_output=True, text=True)
    assert single.returncode == 0, single.stderr[-2000:]
    assert _count(clean) == TOTAL
    assert _state(crashed) == _state(clean)



def _schema(base: str, tag: str) -> tuple[str, Callable[[], None]]:
    """A fresh PostgreSQL schema's URL, and how to drop it."""
    name = f"{tag}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{name}", drop


def _ordered(engine: Engine) -> list[tuple]:  # noqa: ANN001
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(events.c.partner_id, events.c.event_id, events.c.content_hash, events.c.payload)
            .order_by(events.c.seq))]


PG_TOTAL = 20_000


@pytest.mark.slow
@pytest.mark.postgres
def test_kill_9_mid_ingest_then_rerun_on_postgres(tmp_path: Path) -> None:
    base = os.environ.get("CREDO_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("PostgreSQL not configured (set CREDO_TEST_POSTGRES_URL)")
    file = tmp_path / "events.jsonl"
    _write_file(file, PG_TOTAL)
    crashed_url, drop_crashed = _schema(base, "crash")
    clean_url, drop_clean = _schema(base, "clean")
    crashed = clean = None
    try:
        crashed = _store_at(crashed_url)
        ack = tmp_path / "ack.log"
        _kill_after_acks(_ingest_cmd(crashed_url, file, ack), ack, 5)
        _acknowledged_kept_and_rerun_dedupes(crashed, crashed_url, file, ack, tmp_path, PG_TOTAL)

        clean = _store_at(clean_url)
        single = subprocess.run(_ingest_cmd(clean_url, file, tmp_path / "ack3.log"), capture_output=True, text=True)
        assert single.returncode == 0, single.stderr[-2000:]
        assert _count(clean) == PG_TOTAL == _count(crashed)
        assert _ordered(crashed) == _ordered(clean), "the same events, once each, in the same order"
    finally:
        for engine in (crashed, clean):
            if engine is not None:
                engine.dispose()
        drop_crashed()
        drop_clean()
