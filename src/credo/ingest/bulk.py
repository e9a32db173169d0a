"""Bulk ingestion of files: one committed transaction per chunk.

A chunk counts as acknowledged only once its transaction has committed, so a
crash (even kill -9) loses nothing acknowledged, and re-running the same file
turns the already-stored events into duplicates: the final state equals that
of a clean single run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from credo.ingest.files import read_chunks
from credo.ingest.service import ingest_records


@dataclass
class IngestReport:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejections_by_code: Counter[str] = field(default_factory=Counter)
    rejections_by_rule: Counter[str] = field(default_factory=Counter)
    examples: list[dict] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.accepted + self.duplicates + self.rejected


def ingest_chunks(
    engine: Engine,
    chunks: Iterable[list],
    *,
    trusted_received_at: bool = True,
    on_chunk: Callable[[int], None] | None = None,
    keep_examples: int = 20,
) -> IngestReport:
    """Ingest record chunks (each in its own transaction) and tally the outcomes."""
    report = IngestReport()
    for chunk in chunks:
        for outcome in ingest_records(engine, chunk, trusted_received_at=trusted_received_at):
            if outcome.status == "accepted":
                report.accepted += 1
            elif outcome.status == "duplicate":
                report.duplicates += 1
            else:
                report.rejected += 1
                first = outcome.problems[0]
                report.rejections_by_code[first.code.value] += 1
                report.rejections_by_rule[f"{first.code.value}:{first.rule}"] += 1
                if len(report.examples) < keep_examples:
                    report.examples.append(outcome.as_dict())
        if on_chunk is not None:
            on_chunk(len(chunk))
    return report


def ingest_file(
    engine: Engine,
    path: Path,
    fmt: str,
    *,
    chunk_size: int = 5000,
    on_chunk: Callable[[int], None] | None = None,
) -> IngestReport:
    return ingest_chunks(engine, read_chunks(path, fmt, chunk_size), on_chunk=on_chunk)
