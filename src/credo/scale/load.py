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

The rows go through a temporary staging table, filled with PostgreSQL ``COPY`` (an ``executemany``
on SQLite), then into ``scores`` with one ``INSERT … SELECT`` joined to the active consumers: the
store does the set work (repeated ids, who is active), so the loader holds one batch, not a set of
every id. :func:`check_batch` applies :func:`check_row` to a batch at once (see there).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    func,
    insert,
    literal,
    select,
)
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


#: The session's staging table: every row of the file, checked, before one ``INSERT … SELECT`` into ``scores``.
_STAGING = Table(
    "credo_scores_staging", MetaData(),
    Column("consumer_id", String(128)), Column("as_of", DateTime(timezone=True)), Column("model_version", String(80)),
    Column("score", Integer), Column("band", String(16)), Column("status", String(24)), Column("reasons", JSON),
    prefixes=["TEMPORARY"],
)


def _row(batch: pa.RecordBatch, index: int) -> dict[str, Any]:
    return batch.slice(index, 1).to_pylist()[0]


def _first(mask: pa.ChunkedArray | pa.Array) -> int | None:
    """Index of the first true value (None when there is none; null counts as false)."""
    hits = np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))
    return int(hits[0]) if len(hits) else None


def check_batch(batch: pa.RecordBatch, run: tuple[datetime, str] | None = None) -> tuple[datetime, str]:
    """Refuse a (non-empty) batch of score rows when any row breaks a published rule; the run's
    ``(as_of, model_version)``.

    ``run`` is the file's, from its earlier batches (None for the first). The rules are
    :func:`check_row`'s and nothing else: it runs on the first row of each distinct ``(status, score,
    band, number of reasons)``, which decide every rule but the codes, and on the first row carrying each
    code that :func:`~credo.policy.reasons.is_known` refuses, so the error names the first consumer that
    breaks the rule, at the cost of a few hundred rows per batch instead of every row.
    """
    ids = batch.column("consumer_id")
    missing = _first(pc.is_null(ids))
    if missing is not None:
        raise _invalid("scores file: consumer_id None is missing or repeated", "consumer_id", "one row per consumer")
    for field in ("as_of", "model_version"):
        missing = _first(pc.is_null(batch.column(field)))
        if missing is not None:
            raise _invalid(f"consumer {ids[missing].as_py()!r}: {field} is missing", field, "required value")
    if run is None:
        run = (batch.column("as_of")[0].as_py(), batch.column("model_version")[0].as_py())
    for field, value in zip(("as_of", "model_version"), run):
        other = _first(pc.not_equal(batch.column(field), pa.scalar(value, batch.schema.field(field).type)))
        if other is not None:
            got = _row(batch, other)
            raise _invalid(f"consumer {got['consumer_id']!r}: a second as_of or model_version in one file "
                           f"({got['as_of']}, {got['model_version']!r} after {run[0]}, {run[1]!r})",
                           field, "one run per file")
    reasons = batch.column("reasons")
    keys = pa.table({"status": batch.column("status"), "score": batch.column("score"), "band": batch.column("band"),
                     "n": pc.list_value_length(reasons), "i": pa.array(np.arange(batch.num_rows))})
    rows = set(keys.group_by(["status", "score", "band", "n"], use_threads=False)
               .aggregate([("i", "min")]).column("i_min").to_pylist())
    codes = pc.list_flatten(reasons)
    unknown = [c for c in pc.unique(codes).to_pylist() if c is not None and not is_known(c)]
    bad_code = pc.or_(pc.is_null(codes), pc.is_in(codes, value_set=pa.array(unknown, pa.string())))
    first_bad = _first(bad_code)
    if first_bad is not None:
        rows.add(int(pc.list_parent_indices(reasons)[first_bad].as_py()))
    for index in sorted(rows):
        check_row(_row(batch, index))
    return run


def _staging_csv(batch: pa.RecordBatch) -> bytes:
    """The batch as PostgreSQL ``COPY … (FORMAT csv)`` input, in :data:`_STAGING`'s column order (no reasons: [])."""
    reasons = [json.dumps(r or []) for r in batch.column("reasons").to_pylist()]
    table = pa.table([batch.column(c.name) for c in _STAGING.columns if c.name != "reasons"] + [pa.array(reasons)],
                     names=[c.name for c in _STAGING.columns])
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False))
    return sink.getvalue()


def _stage(conn: Connection, batch: pa.RecordBatch) -> None:
    """Append a checked batch to the staging table: PostgreSQL ``COPY``, or an ``executemany`` elsewhere."""
    if conn.dialect.name == "postgresql":
        columns = ", ".join(c.name for c in _STAGING.columns)
        with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY {_STAGING.name} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(_staging_csv(batch))
    else:
        conn.execute(insert(_STAGING), [{**r, "reasons": r["reasons"] or []} for r in batch.to_pylist()])


def _insert_rows(conn: Connection, path: Path, run_id: str, now: datetime,
                 on_rows: Callable[[int], None] | None) -> LoadResult:
    """Check and stage every row, then write the active consumers' rows, inside the caller's transaction
    (raising rolls all of it back, the staging table included)."""
    _STAGING.create(conn)
    run: tuple[datetime, str] | None = None
    rows = 0
    for batch in _batches(path):
        if not batch.num_rows:
            continue
        if run is None:
            run = check_batch(batch)
            check_version(conn, run[1])
        else:
            check_batch(batch, run)
        _stage(conn, batch)
        rows += batch.num_rows
        if on_rows is not None:
            on_rows(batch.num_rows)
    if run is None:
        raise _invalid("scores file: no rows", "consumer_id", "at least one row")
    staged = _STAGING.c
    repeated = conn.execute(select(staged.consumer_id).group_by(staged.consumer_id)
                            .having(func.count() > 1).limit(1)).scalar()
    if repeated is not None:
        raise _invalid(f"scores file: consumer_id {repeated!r} is missing or repeated", "consumer_id",
                       "one row per consumer")
    active = (select(literal(run_id, String), staged.consumer_id, staged.as_of, staged.model_version, staged.score,
                     staged.band, staged.status, staged.reasons, literal(now, DateTime(timezone=True)))
              .join(consumers, and_(consumers.c.id == staged.consumer_id, consumers.c.status == "active")))
    conn.execute(insert(scores).from_select(
        ["run_id", "consumer_id", "as_of", "model_version", "score", "band", "status", "reasons", "scored_at"], active))
    written = conn.execute(select(func.count()).select_from(scores).where(scores.c.run_id == run_id)).scalar_one()
    _STAGING.drop(conn)
    return LoadResult(run_id, run[0], run[1], rows, written, rows - written)


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


__all__ = ["LoadResult", "RUN_PREFIX", "check_batch", "check_row", "check_version", "load_scores", "planned_rows", "run_id_of",
           "score_parts", "scores_file"]
