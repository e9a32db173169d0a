"""Training runs: from the store's events, from events plus external labels,
or from any flat table a user brings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sqlalchemy import Engine, func, select

from credo.features import compute_features, events_from_store
from credo.features.definitions import FEATURE_NAMES, INQUIRY_FEATURE, monotone_constraints, reason_codes
from credo.features.training import monthly_dates, training_frame_from_store
from credo.model import MonotoneChallenger, Scorecard
from credo.model.metrics import summary
from credo.scoring.artifacts import ModelBundle
from credo.store.tables import events


@dataclass
class TrainingRun:
    """A fitted bundle and the data it was fitted and validated on."""

    bundle: ModelBundle
    X_train: pd.DataFrame
    y_train: pd.Series
    X_valid: pd.DataFrame
    y_valid: pd.Series
    description: str


def fit_bundle(
    X_train: pd.DataFrame,
    y_train: pd.Series,
    *,
    features: Sequence[str],
    source: str,
    with_challenger: bool = True,
    special_values: Sequence[float] | None = None,
    categorical: Sequence[str] = (),
    directions: dict[str, int] | None = None,
    codes: dict[str, str] | None = None,
    inquiry_feature: str | None = None,
) -> ModelBundle:
    common: dict[str, Any] = dict(
        features=list(features), categorical_features=list(categorical), special_values=special_values,
        monotone_constraints=directions, reason_codes=codes, inquiry_feature=inquiry_feature,
    )
    champion = Scorecard(**common).fit(X_train, y_train)
    challenger = MonotoneChallenger(**common).fit(X_train, y_train) if with_challenger else None
    return ModelBundle.create(champion, challenger, source=source, features=list(features),
                              training_rows=len(X_train), training_bad_rate=float(np.mean(y_train)))


def _with_metrics(run: TrainingRun) -> TrainingRun:
    y = run.y_valid.to_numpy()
    metrics = {"champion": summary(y, run.bundle.champion.predict_proba(run.X_valid)[1].to_numpy())}
    if run.bundle.challenger is not None:
        metrics["challenger"] = summary(y, run.bundle.challenger.predict_proba(run.X_valid)[1].to_numpy())
    run.bundle.manifest["validation"] = {"rows": len(y), "bad_rate": float(y.mean()), **metrics}
    return run


def default_observation_window(engine: Engine) -> tuple[date, date]:
    """Observation dates from 7 months after the first event was received (so there
    is history) to 11 months before the last event (so outcomes are known)."""
    with engine.connect() as conn:
        low, high = conn.execute(select(func.min(events.c.received_at), func.max(events.c.occurred_at))).one()
    if low is None:
        raise ValueError("the store holds no events to train on")

    def shift(day: date, months: int) -> date:
        index = day.year * 12 + day.month - 1 + months
        return date(index // 12, index % 12 + 1, 1)

    return shift(low.date(), 7), shift(high.date(), -11)


def train_from_store(
    engine: Engine,
    *,
    first: date,
    last: date,
    horizon_months: int = 12,
    with_challenger: bool = True,
) -> TrainingRun:
    """Monthly observation snapshots from ``first`` to ``last``; out-of-time validation
    on the latest dates (see :func:`credo.features.training.training_frame`)."""
    frame = training_frame_from_store(engine, monthly_dates(first, last), horizon_months=horizon_months)
    train, valid = frame[frame["sample"] == "train"], frame[frame["sample"] == "validation"]
    features = list(FEATURE_NAMES)
    bundle = fit_bundle(
        train[features], train["label"], features=features, with_challenger=with_challenger,
        source=f"store events, monthly observations {first}..{last}, bad = 90+ DPD or charge-off within "
               f"{horizon_months} months",
        directions=monotone_constraints(), codes=reason_codes(), inquiry_feature=INQUIRY_FEATURE,
    )
    description = (f"{len(train):,} training and {len(valid):,} out-of-time validation snapshots "
                   f"(observations {first} to {last}).")
    return _with_metrics(TrainingRun(bundle, train[features], train["label"], valid[features], valid["label"],
                                     description))


def train_from_labels(
    engine: Engine, labels: pd.DataFrame, as_of: datetime, *, with_challenger: bool = True, seed: int = 0
) -> TrainingRun:
    """Features from the store's events as of ``as_of``, labels supplied from outside
    (for example the Taiwan dataset's outcome); stratified 70/30 split."""
    features = compute_features(events_from_store(engine), as_of.astimezone(timezone.utc))
    joined = features.join(labels.set_index("consumer_id")["bad"], how="inner")
    joined = joined[joined["is_scorable"]]
    names = list(FEATURE_NAMES)
    train, valid = train_test_split(joined, test_size=0.3, stratify=joined["bad"], random_state=seed)
    bundle = fit_bundle(
        train[names], train["bad"], features=names, with_challenger=with_challenger,
        source=f"store events as of {as_of.date()} with external labels",
        directions=monotone_constraints(), codes=reason_codes(), inquiry_feature=INQUIRY_FEATURE,
    )
    return _with_metrics(TrainingRun(bundle, train[names], train["bad"], valid[names], valid["bad"],
                                     f"{len(joined):,} consumers as of {as_of.date()}, stratified 70/30 split."))


def train_from_table(
    frame: pd.DataFrame,
    target: str,
    *,
    special_values: Sequence[float] | None = None,
    exclude: Sequence[str] = (),
    with_challenger: bool = True,
    seed: int = 0,
) -> TrainingRun:
    """A user's own tabular data: every column but the target and the excluded ones is
    a candidate feature; text columns are binned as categories; stratified 70/30 split."""
    if target not in frame:
        raise KeyError(f"target column {target!r} not in the data")
    y = frame[target].astype(int)
    X = frame.drop(columns=[target, *exclude])
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    bundle = fit_bundle(X_train, y_train, features=list(X.columns), with_challenger=with_challenger,
                        source=f"flat table, target {target!r}, excluded {list(exclude)}",
                        special_values=special_values, categorical=categorical)
    return _with_metrics(TrainingRun(bundle, X_train, y_train, X_valid, y_valid,
                                     f"{len(frame):,} rows, stratified 70/30 split (seed {seed})."))
