"""Backup and restore round trip, timed: ``credo backup`` of a simulated store, ``credo restore`` into
an empty one, on SQLite and (with ``CREDO_BENCH_POSTGRES_URL``, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) on PostgreSQL, in a database made for the run.

    .venv/bin/python bench/backup.py [--consumers 3000] [--ledger 20000]

Each store gets ``--consumers`` simulated consumers (24 months of events) and ``--ledger`` access-ledger
entries; the table gives the store's and the backup's sizes and each command's wall time (the process
included) beside the time the command reports for the copy itself. The restore walks the whole ledger.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from measured import print_markdown  # bench/, the script's own folder
from sqlalchemy import create_engine, func, make_url, select, text

from credo.ledger import ActorKind
from credo.service import access
from credo.store import create_store_engine, events, upgrade_schema

NOW = datetime(2024, 9, 1, tzinfo=timezone.utc)


def credo(*args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "credo", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"credo {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started, done.stdout


@contextmanager
def postgres_database(base: str) -> Iterator[str]:
    name = f"bench_backup_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fill(url: str, consumers: int, ledger: int) -> tuple[int, int]:
    credo("simulate", "--consumers", str(consumers), "--months", "24", "--seed", "7", "--end", "2024-09-01",
          "--into-store", "--db", url)
    engine = create_store_engine(url)
    upgrade_schema(engine)
    with engine.connect() as conn:
        ids = list(conn.execute(text("SELECT id FROM consumers ORDER BY id")).scalars())
        n_events = conn.execute(select(func.count()).select_from(events)).scalar_one()
    reader = access.Actor(ActorKind.PARTNER, "bench-reader")
    for start in range(0, ledger, 1000):
        with engine.begin() as conn:
            for i in range(start, min(start + 1000, ledger)):
                access.record(conn, consumer_id=ids[i % len(ids)], actor=reader, purpose="bench",
                              disclosed="score", now=NOW)
    engine.dispose()
    return n_events, ledger


def size_of(url: str) -> int:
    engine = create_store_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            return Path(str(engine.url.database)).stat().st_size
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    finally:
        engine.dispose()


def reported(output: str) -> str:
    found = re.search(r"in ([0-9.]+) s", output)
    return found.group(1) if found else "?"


def round_trip(kind: str, source: str, target: str, work: Path, consumers: int, ledger: int) -> list[str]:
    n_events, n_ledger = fill(source, consumers, ledger)
    file = work / f"{kind}.backup"
    backup_wall, backup_out = credo("backup", str(file), "--db", source)
    restore_wall, restore_out = credo("restore", str(file), "--db", target)
    ok = "ledger ok" in restore_out
    return [kind, f"{n_events:,}", f"{n_ledger:,}", f"{size_of(source) / 1e6:,.1f}", f"{file.stat().st_size / 1e6:,.1f}",
            f"{backup_wall:.1f} ({reported(backup_out)})", f"{restore_wall:.1f} ({reported(restore_out)})",
            "yes" if ok else "NO"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consumers", type=int, default=3000)
    parser.add_argument("--ledger", type=int, default=20000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows.append(round_trip("sqlite", f"sqlite:///{work / 'source.db'}", f"sqlite:///{work / 'restored.db'}",
                               work, args.consumers, args.ledger))
        base = os.environ.get("CREDO_BENCH_POSTGRES_URL")
        if base:
            with postgres_database(base) as source, postgres_database(base) as target:
                rows.append(round_trip("postgresql", source, target, work, args.consumers, args.ledger))
    header = ["store", "events", "ledger entries", "store MB", "backup MB", "backup s (copy s)",
              "restore s (restore + ledger walk s)", "ledger verifies"]
    print_markdown(header, rows)


if __name__ == "__main__":
    main()
