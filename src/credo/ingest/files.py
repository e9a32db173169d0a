"""Streaming readers for bulk event files: JSON Lines, CSV and Parquet.

Each reader yields lists of flat records (dicts without null/empty values)
without loading the whole file, so memory stays flat whatever the file size.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq

from credo.ingest.outcomes import MalformedRecord

FORMATS = ("jsonl", "csv", "parquet")


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("jsonl", "ndjson", "json"):
        return "jsonl"
    if suffix in FORMATS:
        return suffix
    raise ValueError(f"cannot tell the format of {path.name}; use --format {'|'.join(FORMATS)}")


def _jsonl(path: Path, size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                chunk.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                chunk.append(MalformedRecord(f"line {number}: {exc}"))
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _csv(path: Path, size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            chunk.append({k: v for k, v in row.items() if v not in ("", None)})
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _parquet(path: Path, size: int) -> Iterator[list[Any]]:
    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(batch_size=size):
        yield [{k: v for k, v in row.items() if v is not None} for row in batch.to_pylist()]


def count_records(path: Path, fmt: str) -> int | None:
    """Number of records, cheaply where the format allows (for progress bars)."""
    if fmt == "parquet":
        return pq.ParquetFile(path).metadata.num_rows
    with path.open("rb") as handle:
        lines = sum(1 for _ in handle)
    return lines - 1 if fmt == "csv" else lines


def read_chunks(path: Path, fmt: str, size: int) -> Iterator[list[Any]]:
    """Records of ``path`` in chunks of at most ``size``."""
    readers = {"jsonl": _jsonl, "csv": _csv, "parquet": _parquet}
    return readers[fmt](path, size)
