"""Score a features Parquet in record batches: bounded memory, whatever the population.

Each batch of rows becomes the in-memory feature frame (:func:`credo.features.compute.to_frame`:
NULL measures as NaN) and goes through :func:`credo.scoring.batch.scored_arrays` (what
:func:`~credo.scoring.batch.score_frame` gives, as arrays), the one rule for score, band,
``not_enough_data`` (never a low score for someone not scorable) and reasons. The
output Parquet has one row per input row, in input order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from credo.features.builder import feature_query
from credo.features.compute import to_frame
from credo.model import MonotoneChallenger, Scorecard
from credo.scale.features import AS_OF_KEY
from credo.scoring.batch import ScoredArrays, scored_arrays

BATCH_ROWS = 262_144

SCORES_SCHEMA = pa.schema([
    ("consumer_id", pa.string()),
    ("as_of", pa.timestamp("us", tz="UTC")),
    ("model_version", pa.string()),
    ("status", pa.string()),
    ("score", pa.int32()),
    ("band", pa.string()),
    ("reasons", pa.list_(pa.string())),
])


@dataclass(frozen=True)
class ScoreResult:
    out: Path
    consumers: int
    scored: int


def features_as_of(path: Path) -> datetime | None:
    """The as-of instant a features Parquet was built for (None when it does not say)."""
    meta = pq.ParquetFile(path).schema_arrow.metadata or {}
    text = meta.get(AS_OF_KEY)
    return datetime.fromisoformat(text.decode()) if text else None


def reason_lists(result: ScoredArrays) -> pa.ListArray:
    """Each consumer's reason codes as an Arrow list, straight from the left-packed code matrix."""
    counts = result.reason_counts()
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    present = np.arange(result.reasons.shape[1]) < counts[:, None]
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(result.reasons[present], pa.string()))


def score_features(
    features: Path,
    model: Scorecard | MonotoneChallenger,
    model_version: str,
    out: Path,
    *,
    as_of: datetime | date | None = None,
    batch_rows: int = BATCH_ROWS,
    on_rows: Callable[[int], None] | None = None,
) -> ScoreResult:
    """Score every row of ``features`` (from :func:`credo.scale.features.build_features`) into ``out``."""
    source = pq.ParquetFile(features)
    moment = as_of if as_of is not None else features_as_of(features)
    if moment is None:
        raise ValueError(f"{features} does not record its as-of date: pass as_of")
    query = feature_query(moment)
    missing = [n for n in (*model.features_, "consumer_id") if n not in source.schema_arrow.names]
    if missing:
        raise ValueError(f"{features}: column {missing[0]!r} that the model needs is missing")
    tmp = out.with_name(out.name + ".partial")
    consumers = scored = 0
    try:
        with pq.ParquetWriter(tmp, SCORES_SCHEMA, compression="zstd") as writer:
            for batch in source.iter_batches(batch_size=batch_rows):
                frame = to_frame(pa.Table.from_batches([batch]), query)
                result = scored_arrays(model, frame)
                n = len(result.index)
                writer.write_table(pa.table({
                    "consumer_id": pa.array(result.index.to_numpy(), pa.string()),
                    "as_of": pa.array([query.as_of.instant] * n, SCORES_SCHEMA.field("as_of").type),
                    "model_version": pa.array([model_version] * n, pa.string()),
                    "status": pa.array(result.status, pa.string()),
                    "score": pa.array(result.score, pa.int32(), mask=~result.scorable),
                    "band": pa.array(result.band, pa.string(), from_pandas=True),
                    "reasons": reason_lists(result),
                }, schema=SCORES_SCHEMA))
                consumers += n
                scored += int(result.scorable.sum())
                if on_rows is not None:
                    on_rows(n)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return ScoreResult(out, consumers, scored)


__all__ = ["BATCH_ROWS", "SCORES_SCHEMA", "ScoreResult", "features_as_of", "score_features"]
