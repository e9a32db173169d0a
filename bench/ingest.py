"""Ingestion throughput: ``credo ingest`` and the HTTP endpoint, beside a plain insert.

    .venv/bin/python bench/ingest.py [--events 1000000] [--http-events 200000] [--chunk-size 20000]
                                     [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

(a) ``credo ingest`` (a real subprocess, process start included) of N simulated
    events into a fresh SQLite file and a fresh PostgreSQL schema, beside the
    baseline in the same run: the same rows read from the same Parquet file and
    inserted with a plain ``executemany`` in the same chunk size, one commit per
    chunk, with no validation, no consent check and no de-duplication.
(b) ``POST /v1/events`` on a real uvicorn server on loopback, 1 and 8
    concurrent clients, 500 events per request, bodies serialised in advance.

Targets (issue 2): bulk ≥ 50,000 events/s into SQLite and ≥ 30 % of the
baseline; HTTP ≥ 5,000 events/s with 8 clients.
"""

from __future__ import annotations

import argparse
import os
import resource
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from credo.ingest.files import RawChunk, decode_chunk
from credo.ingest.world import load_registry
from credo.simulate import SimulationConfig, simulate_to_directory
from credo.store import create_store_engine, upgrade_schema

console = Console()
CHUNK = 50000  # credo ingest's default --chunk-size
CREDO = [sys.executable, "-m", "credo"]


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def simulate_events(work: Path, n_events: int, chunk: int) -> Path:
    """A population large enough for ``n_events``, and a file of exactly the first N."""
    consumers = max(200, n_events // 200)
    world = work / "world"
    simulate_to_directory(SimulationConfig(consumers=consumers, months=24, seed=0), world)
    tables = [pq.read_table(p) for p in sorted((world / "events").glob("part-*.parquet"))]
    events = pa.concat_tables(tables).slice(0, n_events)
    if events.num_rows < n_events:
        raise SystemExit(f"simulated only {events.num_rows} events; raise the population")
    pq.write_table(events, world / "bench.parquet", row_group_size=chunk * 4)
    return world


def fresh_store(kind: str, work: Path, pg_url: str | None) -> tuple[str, object]:
    if kind == "sqlite":
        return f"sqlite:///{work / f'{uuid.uuid4().hex[:8]}.db'}", None
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_url else "?"
    return f"{pg_url}{sep}options=-csearch_path%3D{schema}", (admin, schema)


def drop_store(handle: object) -> None:
    if handle:
        admin, schema = handle
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def registered_store(kind: str, work: Path, world: Path, pg_url: str | None):  # noqa: ANN201
    url, handle = fresh_store(kind, work, pg_url)
    engine = create_store_engine(url)
    upgrade_schema(engine)
    keys = load_registry(engine, world)
    return url, handle, engine, keys


def run_credo_ingest(url: str, file: Path, chunk: int) -> tuple[float, float]:
    """Wall and CPU seconds of the ``credo ingest`` process tree."""
    start, cpu = time.perf_counter(), cpu_seconds(resource.RUSAGE_CHILDREN)
    subprocess.run([*CREDO, "ingest", str(file), "--db", url, "--chunk-size", str(chunk)],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, cpu_seconds(resource.RUSAGE_CHILDREN) - cpu


def run_plain_insert(engine, file: Path, chunk: int) -> tuple[float, float]:  # noqa: ANN001
    """Baseline: read the same rows, executemany them, commit per chunk. No checks."""
    sql = ("INSERT INTO events (partner_id, event_id, consumer_id, type, occurred_at, received_at, "
           "target_event_id, content_hash, payload) VALUES ")
    sqlite = engine.dialect.name == "sqlite"
    sql += "(?,?,?,?,?,?,?,?,?)" if sqlite else "(%s,%s,%s,%s,%s,%s,%s,%s,%s)"
    start, cpu = time.perf_counter(), cpu_seconds(resource.RUSAGE_SELF)
    raw = engine.raw_connection()
    cursor = raw.cursor()
    for batch in pq.ParquetFile(file).iter_batches(batch_size=chunk):
        if sqlite:  # the engine's connections run in autocommit; one transaction per chunk
            cursor.execute("BEGIN")
        rows = []
        for r in decode_chunk(RawChunk("parquet", 0, batch)):
            occurred, received = r["occurred_at"], r["received_at"]  # ISO 8601 text, UTC
            if sqlite:
                occurred, received = occurred[:19].replace("T", " "), received[:19].replace("T", " ")
            payload = orjson.dumps(r).decode()
            rows.append((r["partner_id"], r["event_id"], r["consumer_id"], r["type"], occurred, received,
                         r.get("corrects_event_id") or r.get("retracts_event_id"), "-", payload))
        cursor.executemany(sql, rows)
        raw.commit()
    raw.close()
    engine.dispose()  # closes the connection for real, with SQLite's final checkpoint, as credo's exit does
    return time.perf_counter() - start, cpu_seconds(resource.RUSAGE_SELF) - cpu


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_bodies(file: Path, n_events: int, batch: int = 500) -> dict[str, list[bytes]]:
    """Request bodies per partner, server-assigned fields removed."""
    table = pq.read_table(file).slice(0, n_events)
    per_partner: dict[str, list[dict]] = {}
    for r in decode_chunk(RawChunk("parquet", 0, table.combine_chunks().to_batches()[0])):
        partner = r.pop("partner_id")
        r.pop("received_at", None)
        per_partner.setdefault(partner, []).append(r)
    return {p: [orjson.dumps({"events": rs[i:i + batch]}) for i in range(0, len(rs), batch)]
            for p, rs in per_partner.items()}


def run_http(url: str, keys: dict[str, str], bodies: dict[str, list[bytes]], clients: int) -> tuple[float, int]:
    port = free_port()
    env = {**os.environ, "CREDO_DATABASE_URL": url}
    server = subprocess.Popen([*CREDO, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"server did not start: {server.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.1)
        # Requests of one partner keep their order (corrections follow their targets):
        # each partner's queue goes to one client.
        queues: list[list[tuple[str, bytes]]] = [[] for _ in range(clients)]
        for partner, items in sorted(bodies.items(), key=lambda kv: -len(kv[1])):
            target = min(range(clients), key=lambda c: len(queues[c]))
            queues[target].extend((partner, b) for b in items)
        accepted = [0] * clients

        def worker(c: int) -> None:
            with httpx.Client(base_url=base, timeout=120) as client:
                for partner, body in queues[c]:
                    response = client.post("/v1/events", content=body, headers={
                        "X-API-Key": keys[partner], "Content-Type": "application/json"})
                    response.raise_for_status()
                    accepted[c] += response.json()["accepted"]

        threads = [threading.Thread(target=worker, args=(c,)) for c in range(clients)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - start, sum(accepted)
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--http-events", type=int, default=200_000)
    parser.add_argument("--postgres-url", default=os.environ.get(
        "CREDO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--chunk-size", type=int, default=CHUNK, help="events per committed transaction")
    args = parser.parse_args()
    load = os.getloadavg()

    work = Path(tempfile.mkdtemp(prefix="credo-bench-"))
    rows: list[tuple[str, str, str, str]] = []
    verdicts: list[tuple[str, bool]] = []
    try:
        console.print(f"simulating {args.events:,} events …")
        world = simulate_events(work, args.events, args.chunk_size)
        file = world / "bench.parquet"
        kinds = ["sqlite"] + ([] if args.no_postgres else ["postgres"])
        for kind in kinds:
            url, handle, engine, _ = registered_store(kind, work, world, args.postgres_url)
            engine.dispose()
            credo_s, credo_cpu = run_credo_ingest(url, file, args.chunk_size)
            drop_store(handle)
            url, handle, engine, _ = registered_store(kind, work, world, args.postgres_url)
            base_s, base_cpu = run_plain_insert(engine, file, args.chunk_size)
            engine.dispose()
            drop_store(handle)
            credo_rate, base_rate = args.events / credo_s, args.events / base_s
            per_event = 1e6 / args.events
            rows.append((f"credo ingest → {kind}", f"{args.events:,}", f"{credo_s:.1f}", f"{credo_rate:,.0f}",
                         f"{credo_cpu * per_event:.1f}"))
            rows.append((f"plain executemany → {kind}", f"{args.events:,}", f"{base_s:.1f}", f"{base_rate:,.0f}",
                         f"{base_cpu * per_event:.1f}"))
            rows.append((f"ratio credo / plain ({kind})", "", "", f"{credo_rate / base_rate:.0%}", ""))
            if kind == "sqlite":
                verdicts.append(("bulk SQLite ≥ 50,000 events/s", credo_rate >= 50_000))
                verdicts.append(("bulk SQLite ≥ 30 % of plain insert", credo_rate >= 0.3 * base_rate))

        bodies = http_bodies(file, args.http_events)
        for clients in (1, 8):
            url, handle, engine, keys = registered_store("sqlite", work, world, None)
            engine.dispose()
            seconds, accepted = run_http(url, keys, bodies, clients)
            rate = accepted / seconds
            rows.append((f"POST /v1/events, {clients} client(s), SQLite", f"{accepted:,}", f"{seconds:.1f}",
                         f"{rate:,.0f}", ""))
            if clients == 8:
                verdicts.append(("HTTP ≥ 5,000 events/s with 8 clients", rate >= 5_000))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    table = Table("run", "events", "seconds", "events/s", "CPU µs/event",
                  title=f"Ingestion — {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                        f"{args.chunk_size:,} events per transaction, load average at start {load[0]:.2f}")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    for name, ok in verdicts:
        console.print(f"{'PASS' if ok else 'FAIL'}  {name}")
    print(f"\nchunk size {args.chunk_size:,}; load average at start {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    print("\n| run | events | seconds | events/s | CPU µs/event |\n|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    for name, ok in verdicts:
        print(f"\n- {'PASS' if ok else 'FAIL'}: {name}", end="")
    print()


if __name__ == "__main__":
    main()
