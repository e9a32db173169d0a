"""What the operator pages read: the serving model's card and validation record, batch scoring
runs, one run's score distribution with its bands' expected and observed bad rates, and the access
ledger's verification. Reads only: nothing here writes to the store.

A batch run is every ``scores`` row of one ``run_id`` written by ``credo score``
(:func:`credo.scoring.score_population`); online scores (run id ``online-…``, one row per read,
:func:`credo.service.scores.persist`) are not runs.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, case, func, select

from credo.features.training import training_frame_from_store
from credo.model.metrics import calibration_by_band
from credo.policy.bands import BANDS, SCORE_MAX, SCORE_MIN
from credo.policy.outcome import HORIZON_MONTHS
from credo.policy.retention import add_months
from credo.scoring.batch import NOT_ENOUGH_DATA, SCORED
from credo.service import ledger_check
from credo.service.runtime import Service, utc
from credo.store.tables import events, scores

if TYPE_CHECKING:
    from credo.reporting.card import ModelCard
    from credo.reporting.html import ModelResult

#: Run ids of online scores start with this (:func:`credo.service.scores.persist`).
ONLINE_RUN_PREFIX = "online-"
#: Width in points of a histogram bar (24 bars over 350–950; the last one holds 950 too).
HISTOGRAM_STEP = 25

_IS_BATCH = ~scores.c.run_id.startswith(ONLINE_RUN_PREFIX)


@dataclass(frozen=True)
class ModelRecord:
    """The serving bundle as the report shows it: its card (scaling, bands, weights, inputs and
    what was left out, limitations) and each model's validation record with its band verdicts."""

    version: str
    trained_at: str
    serving: str
    card: ModelCard
    validation: list[ModelResult]
    validation_rows: int | None
    validation_bad_rate: float | None


def model_record(svc: Service) -> ModelRecord:
    """The serving bundle's record (``MODEL_UNAVAILABLE`` if none is trained)."""
    # the reporting package loads matplotlib (1.3 s): imported when the page is first asked for, not at start
    from credo.reporting.calibration import band_verdicts
    from credo.reporting.card import MODEL_LABELS, build_card
    from credo.reporting.html import ModelResult
    from credo.scoring.reports import DESCRIPTION_FILE

    bundle = svc.model_bundle()
    description = Path(svc.settings.model_dir) / DESCRIPTION_FILE
    card = build_card(bundle.manifest, name="Credo score",
                      description=description.read_text().strip() if description.exists() else "")
    validation = bundle.manifest.get("validation", {})
    results = [ModelResult(key, MODEL_LABELS.get(key, key), validation[key], pd.DataFrame(validation[key]["bands"]),
                           band_verdicts(validation[key]["bands"]))
               for key in MODEL_LABELS if key in validation]
    return ModelRecord(bundle.version, str(bundle.manifest.get("trained_at", "")), svc.settings.serving_model, card,
                       results, validation.get("rows"), validation.get("bad_rate"))


@dataclass(frozen=True)
class BatchRun:
    """One batch scoring run: who it scored as of when, with which model, and how many it could score."""

    run_id: str
    as_of: datetime
    scored_at: datetime
    model_version: str
    scored: int
    not_enough_data: int

    @property
    def consumers(self) -> int:
        return self.scored + self.not_enough_data

    @property
    def not_enough_data_share(self) -> float:
        return self.not_enough_data / self.consumers if self.consumers else 0.0


def batch_runs(conn: Connection, limit: int = 10) -> list[BatchRun]:
    """The latest ``limit`` batch runs, newest first."""
    scored_at = func.max(scores.c.scored_at)
    rows = conn.execute(
        select(scores.c.run_id, func.min(scores.c.as_of).label("as_of"), scored_at.label("scored_at"),
               func.min(scores.c.model_version).label("model_version"),
               func.sum(case((scores.c.status == SCORED, 1), else_=0)).label("scored"),
               func.sum(case((scores.c.status == NOT_ENOUGH_DATA, 1), else_=0)).label("not_enough_data"))
        .where(_IS_BATCH).group_by(scores.c.run_id).order_by(scored_at.desc(), scores.c.run_id).limit(limit)
    ).all()
    return [BatchRun(r.run_id, utc(r.as_of), utc(r.scored_at), r.model_version, int(r.scored or 0),
                     int(r.not_enough_data or 0)) for r in rows]


def latest_batch_run(conn: Connection) -> BatchRun | None:
    runs = batch_runs(conn, limit=1)
    return runs[0] if runs else None


@dataclass(frozen=True)
class Bar:
    """One histogram bar: scores ``lower``–``upper`` (inclusive) and how many consumers got one."""

    lower: int
    upper: int
    count: int


@dataclass(frozen=True)
class BandCount:
    band: str
    lower: int
    upper: int
    count: int
    share: float  # of the run's scored consumers


@dataclass(frozen=True)
class Distribution:
    run: BatchRun
    bands: list[BandCount]
    bars: list[Bar]


def distribution(conn: Connection, run: BatchRun) -> Distribution:
    """How the run's scores spread: consumers per band (the band each row was given) and per
    :data:`HISTOGRAM_STEP`-point bar."""
    per_band: dict[str, int] = dict(conn.execute(
        select(scores.c.band, func.count()).where(scores.c.run_id == run.run_id, scores.c.status == SCORED)
        .group_by(scores.c.band)).all())
    per_score = conn.execute(
        select(scores.c.score, func.count()).where(scores.c.run_id == run.run_id, scores.c.status == SCORED)
        .group_by(scores.c.score)).all()
    bands = [BandCount(b.name, b.lower, b.upper, int(per_band.get(b.name, 0)),
                       per_band.get(b.name, 0) / run.scored if run.scored else 0.0) for b in BANDS]
    starts = range(SCORE_MIN, SCORE_MAX, HISTOGRAM_STEP)
    counts = dict.fromkeys(starts, 0)
    for score, n in per_score:
        counts[min(SCORE_MIN + (score - SCORE_MIN) // HISTOGRAM_STEP * HISTOGRAM_STEP, starts[-1])] += n
    bars = [Bar(lo, SCORE_MAX if lo == starts[-1] else lo + HISTOGRAM_STEP - 1, n) for lo, n in counts.items()]
    return Distribution(run, bands, bars)


@dataclass(frozen=True)
class Outcomes:
    """When a run's outcomes are known and, once computed, its observed bad rate per band.

    ``known_from``: the first day after the run's outcome horizon
    (:data:`credo.policy.outcome.HORIZON_MONTHS` after its as-of date); the data must reach the day
    before it. ``bands``: :func:`credo.model.metrics.calibration_by_band` rows (observed against the
    published expected rate with its 95 % interval), or None when not computed.
    """

    observation_date: date
    known_from: date
    data_end: datetime | None
    labelled: int = 0
    bands: list[dict[str, Any]] | None = None

    @property
    def known(self) -> bool:
        """The data reaches the horizon's last day (the rule training_frame applies to a date)."""
        return self.data_end is not None and self.data_end.date() >= self.known_from - timedelta(days=1)


def outcome_window(conn: Connection, run: BatchRun, now: datetime) -> Outcomes:
    """When the run's outcomes are known; computes no outcome. While the horizon has not passed
    (no event is received after ``now``) the store is not read; after it, the data's end is the
    latest received time (one aggregate over the events)."""
    observed_on = utc(run.as_of).date()
    horizon_end = add_months(datetime(observed_on.year, observed_on.month, observed_on.day), HORIZON_MONTHS).date()
    if now.date() < horizon_end - timedelta(days=1):
        return Outcomes(observed_on, horizon_end, None)
    end = conn.execute(select(func.max(events.c.received_at))).scalar_one_or_none()
    return Outcomes(observed_on, horizon_end, utc(end) if end is not None else None)


def observed_outcomes(engine: Engine, run: BatchRun, published_bands: list[dict[str, Any]],
                      now: datetime) -> Outcomes:
    """Observed bad rates of the run's bands, by the one published outcome definition.

    The labels are :func:`credo.features.training.training_frame_from_store`'s for the run's as-of
    date (consumers scorable then and not already bad; bad within the horizon, with hindsight), so
    they are the labels a model trained on that date would have seen, joined to the scores the run
    gave. This reads every event of the store (seconds for tens of thousands of events), so the
    page computes it only when asked. While the horizon is open nothing is computed."""
    with engine.connect() as conn:
        window = outcome_window(conn, run, now)
    if not window.known:
        return window
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # training_frame warns when it drops a date; `window` says why
        frame = training_frame_from_store(engine, [window.observation_date], horizon_months=HORIZON_MONTHS)
    with engine.connect() as conn:
        given = pd.DataFrame(conn.execute(
            select(scores.c.consumer_id, scores.c.score)
            .where(scores.c.run_id == run.run_id, scores.c.status == SCORED)).all(), columns=["consumer_id", "score"])
    joined = given.merge(frame[["consumer_id", "label"]], on="consumer_id", how="inner")
    table = calibration_by_band(joined["score"].to_numpy(), joined["label"].to_numpy(), published_bands)
    return dataclasses.replace(window, labelled=len(joined), bands=table.replace({np.nan: None}).to_dict("records"))


@dataclass(frozen=True)
class LedgerCheck:
    """The access ledger's verification as the ``credo ledger verify`` command runs it.

    ``report`` is whatever the verification returned; ``fields`` lists every one of its fields
    (name, value) so the page shows all it says, whatever it grows to hold."""

    report: Any
    seconds: float
    checked_at: datetime

    @property
    def ok(self) -> bool:
        return bool(getattr(self.report, "ok", False))

    @property
    def fields(self) -> list[tuple[str, Any]]:
        if dataclasses.is_dataclass(self.report):
            items = [(f.name, getattr(self.report, f.name)) for f in dataclasses.fields(self.report)]
        else:
            items = sorted(vars(self.report).items())
        return [(name, _plain(value)) for name, value in items]

    def get(self, name: str, default: Any = None) -> Any:
        return _plain(getattr(self.report, name, default))


def _plain(value: Any) -> Any:
    """An enum member (an error code) as its stable value."""
    return value.value if isinstance(value, Enum) else value


def verify_ledger(svc: Service, now: datetime) -> LedgerCheck:
    """Run the full ledger verification (:func:`credo.service.ledger_check.full_check`, what ``credo ledger
    verify`` runs: the whole chain and every signed checkpoint) on a read-only connection, timing it."""
    start = time.perf_counter()
    report = ledger_check.full_check(svc)
    return LedgerCheck(report, time.perf_counter() - start, now)


__all__ = [
    "HISTOGRAM_STEP", "ONLINE_RUN_PREFIX", "Bar", "BandCount", "BatchRun", "Distribution", "LedgerCheck",
    "ModelRecord", "Outcomes", "batch_runs", "distribution", "latest_batch_run", "model_record",
    "observed_outcomes", "outcome_window", "verify_ledger",
]
