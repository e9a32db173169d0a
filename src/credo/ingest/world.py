"""Load a population directory (as ``credo simulate --out`` writes it) into the store.

Layout: ``partners.json``, ``consumers.parquet``, ``consents.parquet`` and
``events/part-*.parquet`` (or ``.jsonl``). Partners are registered, consumers
enrolled with their explicit consents, then every event file goes through the
normal ingestion path: nothing skips validation or the consent check.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pyarrow.parquet as pq
from sqlalchemy import Engine

from credo.ingest.bulk import IngestReport, ingest_chunks
from credo.ingest.files import detect_format, read_raw_chunks
from credo.registry.bulk import load_consumers_and_consents, register_partners


def event_files(directory: Path) -> list[Path]:
    files = sorted((directory / "events").glob("part-*"))
    if not files:
        raise FileNotFoundError(f"no events/part-* files in {directory}")
    return files


def load_registry(engine: Engine, directory: Path, on_rows: Callable[[int], None] | None = None) -> dict[str, str]:
    """Register the directory's partners, consumers and consents; returns new API keys."""
    keys = register_partners(engine, orjson.loads((directory / "partners.json").read_bytes()))
    consumer_ids = (
        batch.column("consumer_id").to_pylist()
        for batch in pq.ParquetFile(directory / "consumers.parquet").iter_batches(50000, columns=["consumer_id"])
    )
    consents = (
        list(zip(*(batch.column(c).to_pylist() for c in ("consumer_id", "partner_id", "event_type"))))
        for batch in pq.ParquetFile(directory / "consents.parquet").iter_batches(50000)
    )
    load_consumers_and_consents(engine, consumer_ids, consents, on_rows)
    return keys


def ingest_directory(
    engine: Engine,
    directory: Path,
    *,
    chunk_size: int = 5000,
    workers: int = 1,
    on_chunk: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest every event file of the directory, in order, through the normal path."""
    files = event_files(directory)
    chunks = (chunk for path in files for chunk in read_raw_chunks(path, detect_format(path), chunk_size))
    return ingest_chunks(engine, chunks, workers=workers, on_chunk=on_chunk)
