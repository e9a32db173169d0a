"""Batch scores back into the operational store: a scores Parquet becomes one run of the score history.

The nightly job writes scores to Parquet (``credo score --features``, :mod:`credo.scale.score`, or the
Spark scorer, both in :data:`~credo.scale.score.SCORES_SCHEMA`). :func:`load_scores` checks every row
against the published rules and writes them to ``scores`` **in one transaction under one run id**, so
a reader sees the whole run or none of it, and a rejected file writes nothing:

* one ``as_of`` and one ``model_version`` in the file; every ``consumer_id`` once;
* ``scored`` rows carry a score in ``SCORE_MIN..SCORE_MAX`` (:mod:`credo.policy.bands`), the band of
  that score and known reason codes (:mod:`credo.policy.reasons`);
* ``not_enough_data`` rows carry no score, no band and no reason: a thin file is never a low score;
* the model is the one serving (:func:`credo.governance.registry.serving_version`, published through the
  gate): consumers read the history as their score, so no other model's scores go in
  (:attr:`ErrorCode.MODEL_NOT_SERVABLE`).

A scores output is one Parquet file or a directory of parts (Spark's); either way it is one run. The
run id is derived from its bytes (``batch-`` and 32 hex digits of its SHA-256), so loading
the same file again is refused (:attr:`ErrorCode.BATCH_RUN_ALREADY_LOADED`) instead of doubling the
history; the store's ``uq_scores_run_consumer`` backs that when two loaders race. Rows of consumers
the store does not hold as active (closed or erased since the build) are not written, and counted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from credo.errors import CredoError, ErrorCode
from credo.governance.registry import serving_version
from credo.policy.bands import SCORE_MAX, SCORE_MIN, band_of
from credo.policy.reasons import is_known
from credo.registry.clock import utcnow
from credo.scale.score import SCORES_SCHEMA
from credo.scoring.batch import NOT_ENOUGH_DATA, SCORED
from credo.store.tables import consumers, scores

RUN_PREFIX = "batch-"
#: Rows per INSERT statement (all of them inside the one transaction).
INSERT_ROWS = 5_000
_READ_ROWS = 50_000


@dataclass(frozen=True)
class LoadResult:
    run_id: str
    as_of: datetime
    model_version: str
    rows: int  # in the file
    written: int
    not_active: int  # rows of consumers the store does not hold as active: not written


def score_parts(path: Path) -> list[Path]:
    """The Parquet files of a scores output: the file itself, or a directory's ``*.parquet`` parts in
    name order (Spark's dataset directory, ``scores/as_of=D/``)."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    parts = sorted(p for p in path.glob("*.parquet") if p.is_file())
    if not parts:
        raise _invalid(f"{path} holds no .parquet file", "scores", "a Parquet file or a directory of parts")
    return parts


def run_id_of(path: Path) -> str:
    """The run id a scores output is loaded under: ``batch-`` and the first 32 hex digits of the SHA-256
    of its bytes (every part, in name order)."""
    digest = hashlib.sha256()
    for part in score_parts(path):
        with open(part, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):  # noqa: B023 (read at once)
                digest.update(block)
    return RUN_PREFIX + digest.hexdigest()[:32]


def _invalid(message: str, field: str, rule: str) -> CredoError:
    return CredoError(ErrorCode.BATCH_SCORES_INVALID, message, field=field, rule=rule)


def scores_file(path: Path) -> pq.ParquetFile:
    """The scores Parquet at ``path`` (a clear error when it is not a Parquet file)."""
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _invalid(f"{path} is not a Parquet file ({exc})", "scores", "a Parquet file") from exc


def planned_rows(path: Path) -> int:
    """Rows of a scores output, from its Parquet footers."""
    return sum(scores_file(part).metadata.num_rows for part in score_parts(path))


def _batches(path: Path) -> Iterator[pa.RecordBatch]:
    """Every part's batches in :data:`SCORES_SCHEMA` (an error naming the first missing or mistyped column)."""
    for part in score_parts(path):
        yield from _part_batches(part)


def _part_batches(path: Path) -> Iterator[pa.RecordBatch]:
    source = scores_file(path)
    names = set(source.schema_arrow.names)
    for field in SCORES_SCHEMA:
        if field.name not in names:
            raise _invalid(f"scores file {path.name}: column {field.name!r} is missing", field.name,
                           "required column")
    for batch in source.iter_batches(batch_size=_READ_ROWS, columns=SCORES_SCHEMA.names):
        columns = []
        for field in SCORES_SCHEMA:
            try:
                columns.append(batch.column(field.name).cast(field.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise _invalid(f"scores file: column {field.name!r} is not {field.type} ({exc})", field.name,
                               f"type {field.type}") from exc
        yield pa.RecordBatch.from_arrays(columns, schema=SCORES_SCHEMA)


def check_row(row: dict[str, Any]) -> None:
    """Refuse a score row that breaks a published rule (the message names the consumer)."""
    who = f"consumer {row['consumer_id']!r}"
    status, score, band, reasons = row["status"], row["score"], row["band"], row["reasons"]
    if status == SCORED:
        if score is None or not SCORE_MIN <= score <= SCORE_MAX:
            raise _invalid(f"{who}: a scored row needs a score in {SCORE_MIN}..{SCORE_MAX}, not {score}", "score",
                           f"{SCORE_MIN} <= score <= {SCORE_MAX}")
        if band != band_of(score).name:
            raise _invalid(f"{who}: band {band!r} is not the band of score {score} ({band_of(score).name!r})",
                           "band", "band of the score (credo.policy.bands)")
        unknown = [code for code in reasons or [] if code is None or not is_known(code)]
        if reasons is None or unknown:
            raise _invalid(f"{who}: unknown reason code(s) {unknown}", "reasons", "known reason codes")
    elif status == NOT_ENOUGH_DATA:
        if score is not None or band is not None or reasons:
            raise _invalid(f"{who}: a not_enough_data row carries no score, band or reason", "score",
                           "not_enough_data: never a score")
    else:
        raise _invalid(f"{who}: status {status!r} is not {SCORED!r} or {NOT_ENOUGH_DATA!r}", "status",
                       f"one of {SCORED}, {NOT_ENOUGH_DATA}")


def check_version(conn: Connection, version: str) -> None:
    """Refuse scores of any model but the one serving: consumers read the history as their score."""
    serving = serving_version(conn)
    if version != serving:
        raise CredoError(ErrorCode.MODEL_NOT_SERVABLE,
                         f"the scores are from model {version!r}, and the store's serving model is {serving!r}: "
                         "score with the published model (credo model publish) and load that",
                         field="model_version", rule="the serving model")


def _insert_rows(conn: Connection, path: Path, run_id: str, now: datetime,
                 on_rows: Callable[[int], None] | None) -> LoadResult:
    """Check and insert every row inside the caller's transaction (raising rolls all of it back)."""
    active = set(conn.execute(select(consumers.c.id).where(consumers.c.status == "active")).scalars())
    seen: set[str] = set()
    as_of: datetime | None = None
    version: str | None = None
    rows = written = 0
    for batch in _batches(path):
        pending = []
        for row in batch.to_pylist():
            cid = row["consumer_id"]
            if cid is None or cid in seen:
                raise _invalid(f"scores file: consumer_id {cid!r} is missing or repeated", "consumer_id",
                               "one row per consumer")
            seen.add(cid)
            if row["as_of"] is None or row["model_version"] is None:
                field = "as_of" if row["as_of"] is None else "model_version"
                raise _invalid(f"consumer {cid!r}: {field} is missing", field, "required value")
            as_of = row["as_of"] if as_of is None else as_of
            version = row["model_version"] if version is None else version
            if row["as_of"] != as_of or row["model_version"] != version:
                raise _invalid(f"consumer {cid!r}: a second as_of or model_version in one file "
                               f"({row['as_of']}, {row['model_version']!r} after {as_of}, {version!r})",
                               "as_of" if row["as_of"] != as_of else "model_version", "one run per file")
            if rows == 0:
                check_version(conn, version)
            check_row(row)
            rows += 1
            if cid in active:
                pending.append({"run_id": run_id, "consumer_id": cid, "as_of": as_of, "model_version": version,
                                "score": row["score"], "band": row["band"], "status": row["status"],
                                "reasons": list(row["reasons"] or []), "scored_at": now})
        for start in range(0, len(pending), INSERT_ROWS):
            conn.execute(insert(scores), pending[start:start + INSERT_ROWS])
        written += len(pending)
        if on_rows is not None:
            on_rows(batch.num_rows)
    if as_of is None or version is None:
        raise _invalid("scores file: no rows", "consumer_id", "at least one row")
    return LoadResult(run_id, as_of, version, rows, written, rows - written)


def load_scores(engine: Engine, path: Path, *, now: datetime | None = None,
                on_rows: Callable[[int], None] | None = None) -> LoadResult:
    """Write a scores Parquet into the store's score history as one run, in one transaction.

    Raises :class:`~credo.errors.CredoError` (nothing written) for a row that breaks a rule, or when
    this file was loaded before. ``now`` (default: the clock) is the rows' ``scored_at``; ``on_rows``
    is told the rows of each batch read.
    """
    path = Path(path)
    run_id = run_id_of(path)
    already = CredoError(ErrorCode.BATCH_RUN_ALREADY_LOADED, f"{path} was loaded before, as run {run_id}",
                         field="run_id", rule="a scores file is loaded once")
    try:
        with engine.begin() as conn:
            if conn.execute(select(scores.c.id).where(scores.c.run_id == run_id).limit(1)).first() is not None:
                raise already
            return _insert_rows(conn, path, run_id, now or utcnow(), on_rows)
    except IntegrityError as exc:
        with engine.connect() as conn:  # a concurrent load of the same file committed first?
            if conn.execute(select(scores.c.id).where(scores.c.run_id == run_id).limit(1)).first() is not None:
                raise already from exc
        raise


__all__ = ["INSERT_ROWS", "LoadResult", "RUN_PREFIX", "check_row", "check_version", "load_scores", "planned_rows", "run_id_of",
           "score_parts", "scores_file"]
