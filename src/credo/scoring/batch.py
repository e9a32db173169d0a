"""Population scoring: features as of a date → scores, bands and reasons → store and Parquet."""

from __future__ import annotations

import uuid
from collections.abc import Callable
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


def score_frame(model: Scorecard | MonotoneChallenger, features: pd.DataFrame) -> pd.DataFrame:
    """Score, band, status and reason codes per consumer (index kept).

    Consumers who fail the minimum scoring criteria (``is_scorable``) get
    status ``not_enough_data`` and no score — never a low score.
    """
    scorable = features["is_scorable"].to_numpy(bool) if "is_scorable" in features else np.ones(len(features), bool)
    X = features[list(model.features_)]
    result = pd.DataFrame(index=features.index)
    result["status"] = np.where(scorable, SCORED, NOT_ENOUGH_DATA)
    values = model.score(X).to_numpy()
    result["score"] = pd.Series(values, index=features.index, dtype="Int64").where(scorable)
    names = np.array([b.name for b in BANDS], dtype=object)
    result["band"] = np.where(scorable, names[band_index(values)], None)
    reasons = model.reasons(X)
    result["reasons"] = [
        [c for c in row if c is not None] if ok else [] for row, ok in zip(reasons.to_numpy().tolist(), scorable)
    ]
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


__all__ = ["NOT_ENOUGH_DATA", "SCORED", "score_frame", "score_population"]
