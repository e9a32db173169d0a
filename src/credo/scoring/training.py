"""Training runs: from the store's events, from events plus external labels,
or from any flat table a user brings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sqlalchemy import Engine, func, select

from credo.features import compute_features, events_from_store
from credo.features.definitions import FEATURE_NAMES, model_settings
from credo.features.training import monthly_dates, training_frame_from_store
from credo.model import MonotoneChallenger, Scorecard
from credo.model.metrics import auc, calibration_by_band, psi, summary
from credo.policy.outcome import HORIZON_MONTHS, outcome_summary
from credo.policy.bands import SCORE_MAX, SCORE_MIN, band_of, band_table
from credo.policy.columns import IDENTIFIER
from credo.policy.reasons import reason
from credo.scoring.artifacts import ModelBundle, Which
from credo.scoring.weights import weights_record
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
    #: Who each row is, by sample (``"train"``, ``"validation"``), aligned with ``X_train`` / ``X_valid``:
    #: ``subject_id`` (a consumer id, or ``<table>#<row>``) and ``observed_on`` (the observation date of a
    #: snapshot, else None). The model registry keeps samples of them to judge the model on.
    keys: dict[str, pd.DataFrame] = field(default_factory=dict)


def _keys(subjects: Sequence[str], observed: Sequence[Any] | None = None) -> pd.DataFrame:
    return pd.DataFrame({"subject_id": [str(s) for s in subjects],
                         "observed_on": list(observed) if observed is not None else [None] * len(subjects)})


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
    rules: dict[str, dict] | None = None,
    null_values: dict[str, float] | None = None,
    own_bins: dict[str, list[float]] | None = None,
    tied: list[list[str]] | None = None,
    groups: dict[str, str] | None = None,
    scorecard_params: dict[str, Any] | None = None,
) -> ModelBundle:
    """Fit the champion scorecard (and the challenger) with the shipped defaults and record what they
    publish: each model's fitted scaling, its band table with expected bad rates, its factor weights
    and the features the scorecard's fit gave no weight. ``scorecard_params`` overrides the scorecard's
    other parameters (the less discriminatory alternatives of :mod:`credo.fairness.search`)."""
    common: dict[str, Any] = dict(
        features=list(features), categorical_features=list(categorical), special_values=special_values,
        monotone_constraints=directions, reason_codes=codes, inquiry_feature=inquiry_feature,
        reason_rules=rules, null_values=null_values,
    )
    champion = Scorecard(**common, own_bins=own_bins, tied_features=tied, **(scorecard_params or {})).fit(
        X_train, y_train)
    challenger = MonotoneChallenger(**common).fit(X_train, y_train) if with_challenger else None
    published = {}
    for name, model in (("champion", champion), ("challenger", challenger)):
        if model is not None:
            published[name] = {
                "scaling": model.scaling_.to_dict(),
                "bands": band_table(model.scaling_, model.score(X_train[list(features)]).to_numpy()),
                "weights": weights_record(model, groups, X_train[list(features)]),
            }
    report = champion.direction_report()
    return ModelBundle.create(
        champion, challenger, source=source, features=list(features), training_rows=len(X_train),
        training_bad_rate=float(np.mean(y_train)), published=published,
        zeroed_features=list(champion.zeroed_features_),
        direction_exceptions=report[report["exceptions"] > 0][["feature", "exceptions", "example"]]
        .to_dict("records"))


def with_metrics(run: TrainingRun) -> TrainingRun:
    """Out-of-sample metrics of what ships (the 350–950 score) beside the model's probability, the
    observed bad rate per band against the published one, and the score PSI of validation against
    training, for each model."""
    y = run.y_valid.to_numpy()
    validation: dict[str, Any] = {"rows": len(y), "bad_rate": float(y.mean())}
    for name in ("champion", "challenger"):
        model = getattr(run.bundle, name)
        if model is None:
            continue
        shipped = model.score(run.X_valid).to_numpy()
        calibration = calibration_by_band(shipped, y, run.bundle.manifest["published"][name]["bands"])
        validation[name] = {
            **summary(y, model.predict_proba(run.X_valid)[1].to_numpy()),
            "score": summary(y, -shipped.astype(float)),
            "raw_total_auc": auc(y, -model.score(run.X_valid, clamp=False).to_numpy().astype(float)),
            "at_floor": float(np.mean(shipped <= SCORE_MIN)), "at_cap": float(np.mean(shipped >= SCORE_MAX)),
            "psi_score": psi(model.score(run.X_train).to_numpy(), shipped),
            "bands": calibration.to_dict("records"),
        }
    run.bundle.manifest["validation"] = validation
    return run


def default_observation_window(engine: Engine, horizon_months: int = HORIZON_MONTHS) -> tuple[date, date]:
    """Monthly observation dates: from 7 months after the first event was received (so
    there is history) to the last first-of-month whose ``horizon_months`` outcome
    window the received events cover (so outcomes are known)."""
    with engine.connect() as conn:
        low, high = conn.execute(select(func.min(events.c.received_at), func.max(events.c.received_at))).one()
    if low is None:
        raise ValueError("the store holds no events to train on")

    def shift(day: date, months: int) -> date:
        index = day.year * 12 + day.month - 1 + months
        return date(index // 12, index % 12 + 1, 1)

    # labels are dated by day: D's horizon is covered when its last day is high's day or earlier
    return shift(low.date(), 7), shift(high.date() + timedelta(days=1), -horizon_months)


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
        source=f"store events, monthly observations {first}..{last}, {outcome_summary(horizon_months)}",
        **model_settings(),
    )
    description = (f"{len(train):,} training and {len(valid):,} out-of-time validation snapshots "
                   f"(observations {first} to {last}).")
    keys = {name: _keys(part["consumer_id"], part["observation_date"]) for name, part in
            (("train", train), ("validation", valid))}
    return with_metrics(TrainingRun(bundle, train[features], train["label"], valid[features], valid["label"],
                                     description, keys))


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
        **model_settings(),
    )
    day = as_of.astimezone(timezone.utc)
    keys = {name: _keys(part.index, [day] * len(part)) for name, part in (("train", train), ("validation", valid))}
    return with_metrics(TrainingRun(bundle, train[names], train["bad"], valid[names], valid["bad"],
                                     f"{len(joined):,} consumers as of {as_of.date()}, stratified 70/30 split.",
                                     keys))


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
    # a row is named by its 1-based position in the table, as credo score --data numbers its output
    position = pd.Series(np.arange(1, len(frame) + 1), index=frame.index)
    keys = {name: _keys([f"{plan.source}#{i}" for i in position.loc[part.index]])
            for name, part in (("train", X_train), ("validation", X_valid))}
    return with_metrics(TrainingRun(bundle, X_train, y_train, X_valid, y_valid, description, keys))


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
