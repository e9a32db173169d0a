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
    batch: pa.RecordBatch = chunk.data
    return [{k: v for k, v in row.items() if v is not None} for row in batch.to_pylist()]


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
