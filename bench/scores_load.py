"""Batch scores back into the store: ``credo scores load`` beside a bare bulk copy of the same rows.

    .venv/bin/python bench/scores_load.py [--rows 200000] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

For each backend (SQLite in a temporary file; PostgreSQL in a schema of its own, dropped at the end),
in the same run:

* a store with ``--rows`` active consumers and a serving model, and a scores Parquet of one row each
  (one in ten ``not_enough_data``), written as ``credo score`` writes it;
* **load**: the shipped ``credo scores load FILE --db URL`` in a fresh process (every rule checked, one
  transaction, the active-consumer join, the store's indexes);
* **baseline**: the same rows copied into a bare table with the same columns and no index, the fastest
  the backend takes them (PostgreSQL ``COPY`` of the Parquet as CSV; SQLite one ``executemany``).

Printed: wall seconds, rows/s, peak RSS of the load's process and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from measured import print_markdown, run_measured  # noqa: E402  (bench/, the script's own folder)

from credo.policy.bands import band_of  # noqa: E402
from credo.scale.score import SCORES_SCHEMA  # noqa: E402
from credo.store import create_store_engine, upgrade_schema  # noqa: E402
from tests.scale.store_helpers import enrol, serve  # noqa: E402  (the loader tests' own store rows)

VERSION = "credo-bench-load"
AS_OF = datetime(2026, 12, 1, tzinfo=timezone.utc)
#: SCORES_SCHEMA's columns, in its order, with reasons as JSON text.
BARE = ("CREATE TABLE bare_scores (consumer_id VARCHAR(128), as_of TIMESTAMP WITH TIME ZONE, "
        "model_version VARCHAR(80), status VARCHAR(24), score INTEGER, band VARCHAR(16), reasons TEXT)")


def scores_table(n: int) -> pa.Table:
    rows = []
    for i in range(n):
        thin = i % 10 == 0
        score = 350 + (i * 7919) % 601
        rows.append({"consumer_id": f"c-{i:09d}", "as_of": AS_OF, "model_version": VERSION,
                     "status": "not_enough_data" if thin else "scored", "score": None if thin else score,
                     "band": None if thin else band_of(score).name, "reasons": [] if thin else ["R01", "R04"]})
    return pa.Table.from_pylist(rows, schema=SCORES_SCHEMA)


def prepared_store(url: str, n: int) -> None:
    engine = create_store_engine(url)
    upgrade_schema(engine)
    ids = [f"c-{i:09d}" for i in range(n)]
    for start in range(0, n, 50_000):
        enrol(engine, *ids[start:start + 50_000])
    serve(engine, VERSION)
    engine.dispose()


def bare_copy(url: str, table: pa.Table) -> float:
    """Seconds to put the rows into an unindexed table of the same columns (reasons as JSON text)."""
    flat = table.set_column(table.schema.get_field_index("reasons"), "reasons",
                            pa.array([json.dumps(r) for r in table.column("reasons").to_pylist()]))
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(BARE))
        start = time.perf_counter()
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                sink = io.BytesIO()
                pacsv.write_csv(flat, sink, pacsv.WriteOptions(include_header=False))
                with conn.connection.driver_connection.cursor() as cursor:
                    with cursor.copy("COPY bare_scores FROM STDIN (FORMAT csv)") as copy:
                        copy.write(sink.getvalue())
            else:
                conn.exec_driver_sql("INSERT INTO bare_scores VALUES (?, ?, ?, ?, ?, ?, ?)",
                                     [tuple(r.values()) for r in flat.to_pylist()])
        return time.perf_counter() - start
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="PostgreSQL URL (a schema is created in it and dropped); '' to skip")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="credo-bench-load-"))
    path = work / "scores.parquet"
    pq.write_table(scores_table(args.rows), path)
    backends = [("sqlite", f"sqlite:///{work / 'store.db'}", f"sqlite:///{work / 'bare.db'}", None)]
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        url = f"{args.postgres}?options=-csearch_path%3D{schema}"
        backends.append(("postgresql", url, url, schema))
    results = []
    for name, store_url, bare_url, schema in backends:
        admin = create_engine(args.postgres) if schema else None
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            prepared_store(store_url, args.rows)
            wall, peak, _ = run_measured([sys.executable, "-m", "credo", "scores", "load", str(path), "--db", store_url])
            base = bare_copy(bare_url, pq.read_table(path))
        finally:
            if admin is not None:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
        results.append([name, f"{args.rows:,}", f"{wall:.1f}", f"{args.rows / wall:,.0f}", f"{peak / 2**30:.2f}",
                        f"{base:.1f}", f"{wall / base:.1f}x"])
    print_markdown(["store", "rows", "credo scores load s", "rows/s", "peak RSS GiB", "bare copy s", "vs bare"],
                   results)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
