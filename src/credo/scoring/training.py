"""Training runs: from the store's events, from events plus external labels,
or from any flat table a user brings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from credo.policy.bands import band_of
from credo.policy.columns import IDENTIFIER
from credo.policy.reasons import reason
from credo.scoring.artifacts import ModelBundle, Which
from credo.store.tables import events
from credo.tabular import TablePlan, TableError, plan_table


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
    plan: TablePlan | None = None,
    bad_value: Any = None,
    exclude: Sequence[str] = (),
    allowed: Mapping[str, str] | None = None,
    special_values: Sequence[float] | None = None,
    with_challenger: bool = True,
    seed: int = 0,
) -> TrainingRun:
    """A user's own table, as read (cells may be text such as ``"83.70%"``); stratified 70/30 split.

    ``plan`` (from :func:`credo.tabular.plan_table`; built here from ``bad_value``,
    ``exclude`` and ``allowed`` when not given) says how each column is read and
    which columns are inputs. The run's ``X_*`` frames are the parsed inputs the
    models saw (what :meth:`TablePlan.apply` gives for any table with these
    columns); rows with an empty target are left out. The plan is stored as
    ``manifest["inputs"]`` and the allowed exceptions as
    ``manifest["allowed_exceptions"]``, so :func:`score_table` reads new files the
    same way. Raises :class:`credo.tabular.TableError` for bad input.
    """
    if plan is None:
        plan = plan_table(frame, target, bad_value=bad_value, exclude=exclude, allowed=allowed)
    elif plan.target != target:
        raise TableError(f"the plan is for target {plan.target!r}, not {target!r}")
    if not plan.inputs:
        raise TableError("no input column is left: every column is the target or left out (see the column report)")
    labels = plan.labels(frame)
    known = labels.notna().to_numpy()
    X, y = plan.apply(frame.loc[known]), labels[known].astype(int)
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    outcome = f"bad = {plan.bad_value!r}" if plan.bad_value is not None else "1 = bad"
    bundle = fit_bundle(X_train, y_train, features=plan.input_names, with_challenger=with_challenger,
                        source=f"table {plan.source}, target {target!r} ({outcome})",
                        special_values=special_values, categorical=plan.categorical)
    bundle.manifest["inputs"] = plan.model_dump(mode="json")
    bundle.manifest["allowed_exceptions"] = plan.allowed_exceptions
    dropped = int((~known).sum())
    description = (f"{len(X):,} rows, stratified 70/30 split (seed {seed})"
                   + (f"; {dropped:,} rows without a target value left out." if dropped else "."))
    return _with_metrics(TrainingRun(bundle, X_train, y_train, X_valid, y_valid, description))


#: Joins the reason codes and texts of one row in a scored table.
REASON_SEPARATOR, TEXT_SEPARATOR = ";", " | "


def score_table(bundle: ModelBundle, frame: pd.DataFrame, which: Which = "champion") -> pd.DataFrame:
    """Score a table with a bundle trained by :func:`train_from_table`, reading it as training did.

    One row per row of ``frame``, in order: ``row`` (1-based), the identifier
    columns found in ``frame`` (to join the scores back), ``score`` (350..950;
    empty where the row is not scorable: it fails the model's minimum scoring
    criteria or every input is empty), ``band``, ``reasons`` (codes joined by
    ``;``) and ``reason_texts``. The target column may be absent. Raises
    :class:`credo.tabular.TableError` when ``frame`` lacks an input column.
    """
    if "inputs" not in bundle.manifest:
        raise TableError(f"model {bundle.version} was trained on the store's events, not on a table; "
                         "`credo score` without --data scores the store")
    plan = TablePlan.model_validate(bundle.manifest["inputs"])
    model = bundle.model(which)
    X = plan.apply(frame).reset_index(drop=True)
    scorable = (model.eligible(X) & X[list(model.features_)].notna().any(axis=1)).to_numpy()
    scores = pd.Series(model.score(X).to_numpy(), dtype="Int64").where(scorable)
    codes = [[c for c in row if c is not None] if ok else []
             for row, ok in zip(model.reasons(X).to_numpy().tolist(), scorable)]
    ids = [c.name for c in plan.columns if c.rule == IDENTIFIER.id and c.name in frame.columns]
    out = pd.DataFrame({"row": np.arange(1, len(frame) + 1)})
    for name in ids:
        out[name] = frame[name].to_numpy()
    out["score"] = scores
    out["band"] = [band_of(int(s)).name if ok else None for s, ok in zip(scores.fillna(0), scorable)]
    out["reasons"] = [REASON_SEPARATOR.join(row) for row in codes]
    out["reason_texts"] = [TEXT_SEPARATOR.join(reason(c).text for c in row) for row in codes]
    return out
