"""Bulk ingestion of files: one committed transaction per chunk.

A chunk counts as acknowledged only once its transaction has committed, so a
crash (even kill -9) loses nothing acknowledged, and re-running the same file
turns the already-stored events into duplicates: the final state equals that
of a clean single run.

Decoding and validation (phase one) run in worker processes when asked; the
parent keeps the store phase, in file order, so the result is identical to a
single-process run.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from credo.ingest.batch import PreparedBatch
from credo.ingest.columnar import prepare_arrow
from credo.ingest.files import RawChunk, decode_chunk, read_raw_chunks
from credo.ingest.outcomes import Outcome
from credo.ingest.prepare import prepare_records
from credo.ingest.service import StoreResult, store_batch_with_retry
from credo.registry.clock import utcnow
from credo.registry.consents import ConsentCache


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

    def add_result(self, result: StoreResult, keep_examples: int = 20) -> None:
        """Tally one stored batch (its accepted events are only counted)."""
        self.accepted += result.accepted
        self.add(result.others, keep_examples)

    def add(self, outcomes: Iterable[Outcome], keep_examples: int = 20) -> None:
        for outcome in outcomes:
            if outcome.status == "accepted":
                self.accepted += 1
            elif outcome.status == "duplicate":
                self.duplicates += 1
            else:
                self.rejected += 1
                first = outcome.problems[0]
                self.rejections_by_code[first.code.value] += 1
                self.rejections_by_rule[f"{first.code.value}:{first.rule}"] += 1
                if len(self.examples) < keep_examples:
                    self.examples.append(outcome.as_dict())


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _exit_with_parent() -> None:
    """End this worker when the parent dies, even by kill -9 (Linux).

    Otherwise it waits forever on the task queue, whose write end its sibling
    workers also hold, and outlives every interrupted load.
    """
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the old behaviour
        return
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


def _worker_init() -> None:
    _exit_with_parent()
    # Validation allocates millions of short-lived objects and no cycles worth
    # collecting; the cyclic collector only costs time here.
    gc.disable()
    # The parent's store phase is serial and bounds the load; validation keeps ahead of it with
    # time to spare. Lower priority lets the workers use idle CPU without taking the store's.
    os.nice(10)


def _prepare_raw(chunk: RawChunk | list[Any], first_index: int) -> PreparedBatch:
    """Phase one of a chunk: column-wise for Arrow batches, record by record otherwise."""
    if isinstance(chunk, RawChunk) and chunk.fmt == "parquet":
        return prepare_arrow(chunk.data, first_index=first_index, received_at=utcnow())
    records = decode_chunk(chunk) if isinstance(chunk, RawChunk) else chunk
    return PreparedBatch.from_items(prepare_records(
        records, partner_id=None, trusted_received_at=True, received_at=utcnow(), first_index=first_index
    ))


def _prepared_stream(chunks: Iterable[RawChunk | list[Any]], workers: int) -> Iterator[PreparedBatch]:
    """Phase one over the chunks, in order, optionally across processes."""
    if workers <= 1:
        index = 0
        for chunk in chunks:
            yield _prepare_raw(chunk, index)
            index += len(chunk)
        return
    # fork starts workers without re-importing Credo; the children only validate
    # (no store, no terminal), so nothing the parent holds is touched.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init) as pool:
        pending = []
        index = 0
        for chunk in chunks:
            pending.append(pool.submit(_prepare_raw, chunk, index))
            index += len(chunk)
            if len(pending) > 2 * workers:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


def ingest_chunks(
    engine: Engine,
    chunks: Iterable[RawChunk | list[Any]],
    *,
    workers: int = 1,
    on_chunk: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest chunks (each in its own transaction) and tally the outcomes.

    Bulk files are trusted operator back-fills: their ``received_at`` is kept.
    """
    report = IngestReport()
    cache = ConsentCache()
    for prepared in _prepared_stream(chunks, workers):
        report.add_result(store_batch_with_retry(engine, prepared, cache, optimistic=True))
        if on_chunk is not None:
            on_chunk(len(prepared))
    return report


def ingest_file(
    engine: Engine,
    path: Path,
    fmt: str,
    *,
    chunk_size: int = 5000,
    workers: int = 1,
    on_chunk: Callable[[int], None] | None = None,
) -> IngestReport:
    return ingest_chunks(engine, read_raw_chunks(path, fmt, chunk_size), workers=workers, on_chunk=on_chunk)
