"""Streaming readers for bulk event files: JSON Lines, CSV and Parquet.

Files are read in raw chunks (lines, CSV rows or Arrow record batches) that
:func:`decode_chunk` turns into flat records (dicts without null or empty
values). Splitting the two lets bulk ingestion decode in worker processes;
memory stays flat whatever the file size.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from credo.ingest.outcomes import MalformedRecord

FORMATS = ("jsonl", "csv", "parquet")


@dataclass(frozen=True, slots=True)
class RawChunk:
    """Undecoded records: JSON lines (bytes), CSV rows (dicts) or an Arrow batch."""

    fmt: str
    first_line: int
    data: Any

    def __len__(self) -> int:
        return self.data.num_rows if self.fmt == "parquet" else len(self.data)


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("jsonl", "ndjson", "json"):
        return "jsonl"
    if suffix in FORMATS:
        return suffix
    raise ValueError(f"cannot tell the format of {path.name}; use --format {'|'.join(FORMATS)}")


def _jsonl(path: Path, size: int) -> Iterator[RawChunk]:
    lines: list[bytes] = []
    first = 1
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if not lines:
                first = number
            lines.append(line)
            if len(lines) >= size:
                yield RawChunk("jsonl", first, lines)
                lines = []
    if lines:
        yield RawChunk("jsonl", first, lines)


def _csv(path: Path, size: int) -> Iterator[RawChunk]:
    rows: list[dict[str, str]] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rows.append(row)
            if len(rows) >= size:
                yield RawChunk("csv", 0, rows)
                rows = []
    if rows:
        yield RawChunk("csv", 0, rows)


def _parquet(path: Path, size: int) -> Iterator[RawChunk]:
    for batch in pq.ParquetFile(path).iter_batches(batch_size=size):
        yield RawChunk("parquet", 0, batch)


def _decode_line(line: bytes, number: int) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return MalformedRecord(f"line {number}: {exc}")


def decode_chunk(chunk: RawChunk) -> list[Any]:
    """Flat records of a raw chunk; unparseable lines become :class:`MalformedRecord`."""
    if chunk.fmt == "jsonl":
        return [_decode_line(line, chunk.first_line + i) for i, line in enumerate(chunk.data)]
    if chunk.fmt == "csv":
        return [{k: v for k, v in row.items() if v not in ("", None)} for row in chunk.data]
    return decode_arrow(chunk.data)


def as_text(column: pa.Array) -> pa.Array:
    """Times as ISO 8601 text (UTC with ``Z``; naive stays naive and is rejected
    later) and dates as ``YYYY-MM-DD``: converting in Arrow is far cheaper than
    building Python datetime objects row by row."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            return pc.strftime(column, format="%Y-%m-%dT%H:%M:%S")
        return pc.strftime(column.cast(pa.timestamp(kind.unit, "UTC")), format="%Y-%m-%dT%H:%M:%SZ")
    if pa.types.is_date(kind):
        return column.cast(pa.string())
    return column


def decode_arrow(batch: pa.RecordBatch) -> list[Any]:
    """Rows of a mixed-type batch as dicts without nulls, in their original order.

    The batch is sorted by event type once, so each type is a zero-copy slice
    and each row only visits the columns its type uses (a flat file has some 45
    columns, most of them null for any one type).
    """
    if batch.num_rows == 0:
        return []
    columns = {
        name: as_text(col) for name, col in zip(batch.schema.names, batch.columns) if col.null_count < len(col)
    }
    if "type" not in columns:
        values = {name: col.to_pylist() for name, col in columns.items()}
        return [{n: v[i] for n, v in values.items() if v[i] is not None} for i in range(batch.num_rows)]
    order = pc.sort_indices(columns["type"])
    table = pa.table({name: col.take(order) for name, col in columns.items()})
    positions = order.to_pylist()
    types = table.column("type")
    rows: list[Any] = [None] * batch.num_rows
    start = 0
    for run in pc.run_end_encode(types.combine_chunks()).run_ends.to_pylist():
        part = table.slice(start, run - start)
        values = {name: col.to_pylist() for name, col in zip(part.column_names, part.columns)
                  if col.null_count < len(col)}
        names, lists = list(values), list(values.values())
        for j in range(run - start):
            rows[positions[start + j]] = {n: v[j] for n, v in zip(names, lists) if v[j] is not None}
        start = run
    return rows


def count_records(path: Path, fmt: str) -> int | None:
    """Number of records, cheaply where the format allows (for progress bars)."""
    if fmt == "parquet":
        return pq.ParquetFile(path).metadata.num_rows
    with path.open("rb") as handle:
        lines = sum(1 for _ in handle)
    return lines - 1 if fmt == "csv" else lines


def read_raw_chunks(path: Path, fmt: str, size: int) -> Iterator[RawChunk]:
    readers = {"jsonl": _jsonl, "csv": _csv, "parquet": _parquet}
    return readers[fmt](path, size)


def read_chunks(path: Path, fmt: str, size: int) -> Iterator[list[Any]]:
    """Decoded records of ``path`` in chunks of at most ``size``."""
    return (decode_chunk(chunk) for chunk in read_raw_chunks(path, fmt, size))
