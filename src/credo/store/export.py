"""Export stored events back to the flat file formats they can be ingested from."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, select

from credo.events.columns import flat_schema
from credo.store.tables import consumers, events


def iter_event_records(engine: Engine, chunk: int = 10000) -> Iterator[list[dict[str, Any]]]:
    """Stored events of active consumers, in ingestion order, as flat records."""
    query = (
        select(events.c.payload)
        .join(consumers, consumers.c.id == events.c.consumer_id)
        .where(consumers.c.status == "active")
        .order_by(events.c.seq)
    )
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=chunk).execute(query)
        for partition in result.partitions(chunk):
            yield [orjson.loads(payload) for (payload,) in partition]


def export_events(
    engine: Engine, path: Path, fmt: str, on_chunk: Callable[[int], None] | None = None
) -> int:
    """Write every stored event to ``path`` as JSON Lines, CSV or Parquet; returns the count."""
    schema = flat_schema()
    written = 0
    writer: Any = None
    with path.open("wb" if fmt != "csv" else "w", **({} if fmt != "csv" else {"newline": ""})) as handle:
        if fmt == "csv":
            writer = csv.DictWriter(handle, fieldnames=schema.names)
            writer.writeheader()
        elif fmt == "parquet":
            writer = pq.ParquetWriter(handle, schema)
        for records in iter_event_records(engine):
            if fmt == "jsonl":
                handle.write(b"".join(orjson.dumps(r) + b"\n" for r in records))
            elif fmt == "csv":
                writer.writerows(records)
            else:
                writer.write_table(pa.Table.from_pylist(records, schema=schema))
            written += len(records)
            if on_chunk:
                on_chunk(len(records))
        if fmt == "parquet":
            writer.close()
    return written
