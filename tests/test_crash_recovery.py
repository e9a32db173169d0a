"""kill -9 in the middle of a bulk ingest loses nothing acknowledged, and a
re-run of the same file ends in exactly the state of a clean single run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select, text

from credo.store import create_store_engine, events, upgrade_schema
from tests.factories import example, populate

TOTAL = 120_000
CHUNK = 1000


def _write_file(path: Path) -> None:
    with path.open("wb") as handle:
        for i in range(TOTAL):
            record = example("bill.paid", event_id=f"e{i:07d}", partner_id="p-all", bill_ref=f"b-{i}",
                             amount=f"{i % 500}.{i % 100:02d}", received_at="2024-05-02T00:00:00Z")
            handle.write(orjson.dumps(record) + b"\n")


def _store(path: Path):  # noqa: ANN202
    engine = create_store_engine(f"sqlite:///{path}")
    upgrade_schema(engine)
    populate(engine)
    return engine


def _ingest_cmd(db: Path, file: Path, ack: Path) -> list[str]:
    return [sys.executable, "-m", "credo", "ingest", str(file), "--db", f"sqlite:///{db}",
            "--chunk-size", str(CHUNK), "--ack-log", str(ack)]


def _count(engine) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(events)).scalar_one()


def _state(engine) -> list[tuple]:  # noqa: ANN001
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(events.c.seq, events.c.partner_id, events.c.event_id, events.c.content_hash, events.c.payload)
            .order_by(events.c.seq))]


@pytest.mark.slow
def test_kill_9_mid_ingest_then_rerun(tmp_path: Path) -> None:
    file = tmp_path / "events.jsonl"
    _write_file(file)
    crashed_db, ack = tmp_path / "crashed.db", tmp_path / "ack.log"
    crashed = _store(crashed_db)

    proc = subprocess.Popen(_ingest_cmd(crashed_db, file, ack), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if ack.exists() and len(ack.read_text().splitlines()) >= 5:
            break
        time.sleep(0.01)  # polling for progress, not waiting out a race
    assert proc.poll() is None, f"ingest finished before it could be killed: {proc.stderr.read().decode()[-500:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    acknowledged = int(ack.read_text().splitlines()[-1].split()[-1])
    with crashed.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    stored = _count(crashed)
    assert acknowledged <= stored < TOTAL, "every acknowledged event survived and the load was interrupted"
    assert stored % CHUNK == 0, "a chunk is stored whole or not at all"

    rerun = subprocess.run(_ingest_cmd(crashed_db, file, tmp_path / "ack2.log"), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"duplicates {stored}" in " ".join(rerun.stdout.split())

    clean_db = tmp_path / "clean.db"
    clean = _store(clean_db)
    single = subprocess.run(_ingest_cmd(clean_db, file, tmp_path / "ack3.log"), capture_output=True, text=True)
    assert single.returncode == 0, single.stderr[-2000:]
    assert _count(clean) == TOTAL
    assert _state(crashed) == _state(clean)
