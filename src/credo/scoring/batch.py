"""Population scoring: features as of a date → scores, bands and reasons → store and Parquet."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert, select

from credo.features import compute_features, events_from_store
from credo.model import MonotoneChallenger, Scorecard
from credo.policy.bands import BANDS, band_index
from credo.registry.clock import utcnow
from credo.store.tables import consumers, scores

SCORED = "scored"
NOT_ENOUGH_DATA = "not_enough_data"


@dataclass(frozen=True)
class ScoredArrays:
    """:func:`score_frame`'s columns as arrays, before they become Python objects per consumer: a batch
    writer hands them to Arrow as they are."""

    index: pd.Index
    scorable: np.ndarray  # bool; False: not_enough_data, no score, no band, no reason
    status: np.ndarray  # object
    score: np.ndarray  # int64, meaningful where scorable
    band: np.ndarray  # object, None where not scorable
    reasons: np.ndarray  # (n, k + 1) object: codes from the left, then None; all None where not scorable

    def reason_counts(self) -> np.ndarray:
        return pd.notna(self.reasons).sum(axis=1)


def scored_arrays(model: Scorecard | MonotoneChallenger, features: pd.DataFrame) -> ScoredArrays:
    """Score, band, status and reason codes per consumer (the rules of :func:`score_frame`)."""
    scorable = features["is_scorable"].to_numpy(bool) if "is_scorable" in features else np.ones(len(features), bool)
    X = features[list(model.features_)]
    values = model.score(X).to_numpy()
    names = np.array([b.name for b in BANDS], dtype=object)
    reasons = np.array(model.reasons(X).to_numpy(), dtype=object)
    reasons[~scorable] = None
    # codes first, in their order, then the blanks (a stable sort of each row by "is blank")
    reasons = np.take_along_axis(reasons, np.argsort(pd.isna(reasons), axis=1, kind="stable"), axis=1)
    return ScoredArrays(features.index, scorable, np.where(scorable, SCORED, NOT_ENOUGH_DATA).astype(object),
                        np.asarray(values, dtype=np.int64), np.where(scorable, names[band_index(values)], None),
                        reasons)


def score_frame(model: Scorecard | MonotoneChallenger, features: pd.DataFrame) -> pd.DataFrame:
    """Score, band, status and reason codes per consumer (index kept).

    Consumers who fail the minimum scoring criteria (``is_scorable``) get
    status ``not_enough_data`` and no score — never a low score.
    """
    scored = scored_arrays(model, features)
    result = pd.DataFrame(index=features.index)
    result["status"] = scored.status
    result["score"] = pd.Series(scored.score, index=features.index, dtype="Int64").where(scored.scorable)
    result["band"] = scored.band
    result["reasons"] = [row[:count] for row, count in zip(scored.reasons.tolist(), scored.reason_counts().tolist())]
    return result


def score_population(
    engine: Engine,
    model: Scorecard | MonotoneChallenger,
    model_version: str,
    as_of: datetime,
    *,
    write: bool = True,
    on_rows: Callable[[int], None] | None = None,
) -> tuple[str, pd.DataFrame]:
    """Score every active consumer as of ``as_of``; one score-history row each."""
    as_of = as_of.astimezone(timezone.utc)
    with engine.connect() as conn:
        population = conn.execute(select(consumers.c.id).where(consumers.c.status == "active")).scalars().all()
    features = compute_features(events_from_store(engine), as_of, consumers=population)
    result = score_frame(model, features)
    run_id = uuid.uuid4().hex
    if write:
        now = utcnow()
        rows = [
            {"run_id": run_id, "consumer_id": cid, "as_of": as_of, "model_version": model_version,
             "score": None if pd.isna(r.score) else int(r.score), "band": r.band, "status": r.status,
             "reasons": r.reasons, "scored_at": now}
            for cid, r in zip(result.index, result.itertuples(index=False))
        ]
        for start in range(0, len(rows), 5000):
            with engine.begin() as conn:
                conn.execute(insert(scores), rows[start : start + 5000])
            if on_rows:
                on_rows(len(rows[start : start + 5000]))
    return run_id, result


__all__ = ["NOT_ENOUGH_DATA", "SCORED", "ScoredArrays", "score_frame", "score_population", "scored_arrays"]
