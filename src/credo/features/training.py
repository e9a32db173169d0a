"""Training data: observation snapshots, bad labels and an out-of-time split.

For each observation date D (midnight UTC of a calendar date):

* **features** are computed as of D exactly as in production
  (:func:`credo.features.compute.compute_features`: events received and
  occurred before D, corrections and retractions as of D);
* only consumers **scorable** at D (minimum scoring criteria) are kept;
* **label** ``1`` (bad) when the consumer's first *bad event* falls in
  ``[D, D + horizon_months)``, ``0`` otherwise; consumers whose first bad event
  is before D are **already bad** and excluded.

What a bad event is, and how it is dated, is the published outcome definition
(:mod:`credo.policy.outcome`): 90+ days past due, charge-off or collection on
any obligation: credit status and charge-offs, bureau tradelines, bills and
rent, order instalments, rental and ride fees. The queries that find them, and
the snapshot labelling rule, are SQL in :mod:`credo.features.labels`, the text
the Spark backend runs too (:mod:`credo.scale.spark_training`).

Labels look back with hindsight: bad events are read with every correction and
retraction known when the labels are built (``labels_known_at``, default: after
the last received event). Features never see that hindsight.

With ``require_full_horizon`` (default) observation dates whose horizon ends
after the data do are dropped (with a warning): their labels would be biased
towards good. Labels are dated by day, so a horizon is covered when its last
day is the day of the last received event or earlier.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from credo.features.builder import DEFAULT_RETENTION_MONTHS, add_months, as_utc
from credo.features.compute import compute_features, connect
from credo.features.definitions import FEATURE_NAMES
from credo.features.events_table import EVENTS_SCHEMA, events_from_store
from credo.features.labels import (
    DEFAULT_BAD_SOURCES,
    BadSource,
    default_known_at,
    first_bad_dates_sql,
    horizon_end,
    snapshot_labels_sql,
)
from credo.policy.outcome import BAD_DAYS_PAST_DUE, HORIZON_MONTHS

#: Columns of :func:`training_frame`, in order.
TRAINING_COLUMNS: tuple[str, ...] = ("consumer_id", "observation_date", *FEATURE_NAMES, "label", "bad_date", "sample")


def monthly_dates(first: date, last: date) -> list[date]:
    """The first day of every month from ``first``'s month to ``last`` (inclusive)."""
    d = date(first.year, first.month, 1)
    if d < first:
        d = add_months(datetime(d.year, d.month, 1), 1).date()
    out = []
    while d <= last:
        out.append(d)
        d = add_months(datetime(d.year, d.month, 1), 1).date()
    return out


def data_end(events: pa.Table) -> datetime | None:
    """The last received time in the events (the end of what is known)."""
    if events.num_rows == 0:
        return None
    return pc.max(events.column("received_at")).as_py()


def first_bad_dates(
    events: pa.Table,
    *,
    sources: Sequence[BadSource] = DEFAULT_BAD_SOURCES,
    known_at: datetime | None = None,
) -> pd.Series:
    """Each consumer's first bad-event date (``consumer_id`` → ``datetime.date``), with hindsight.

    Events received up to ``known_at`` count, every correction and retraction
    among them applied; a bad date after ``known_at``'s date (an unpaid bill
    whose 90 days have not run out yet) is not known and does not count.
    """
    sql = first_bad_dates_sql(known_at if known_at is not None else default_known_at(data_end(events)), sources)
    con = connect()
    try:
        con.register("events", events.select(EVENTS_SCHEMA.names))
        result = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    return pd.Series(result.column("first_bad_date").to_pylist(),
                     index=pd.Index(result.column("consumer_id").to_pylist(), name="consumer_id"),
                     name="first_bad_date", dtype=object)


def labelled_dates(
    observation_dates: Iterable[date],
    end: datetime | None,
    *,
    horizon_months: int,
    require_full_horizon: bool = True,
    stacklevel: int = 2,
) -> list[date]:
    """The sorted distinct observation dates to label, given the data's end (:func:`data_end`).

    With ``require_full_horizon`` a date whose horizon ends after the data is dropped, with a
    warning: labels are dated by day, so its horizon's last day must be a day the data reaches.
    """
    if horizon_months < 1:
        raise ValueError("horizon_months must be >= 1")
    dates = sorted(set(observation_dates))
    if require_full_horizon and end is not None:
        kept = [d for d in dates if horizon_end(d, horizon_months) - timedelta(days=1) <= end.date()]
        dropped = [d for d in dates if d not in kept]
        if dropped:
            warnings.warn(
                f"observation dates {', '.join(map(str, dropped))} dropped: their {horizon_months}-month "
                f"horizon ends after the data ({end.isoformat()})", stacklevel=stacklevel + 1)
        dates = kept
    return dates


def training_frame(
    events: pa.Table,
    observation_dates: Iterable[date],
    *,
    horizon_months: int = HORIZON_MONTHS,
    retention_months: int | None = DEFAULT_RETENTION_MONTHS,
    bad_sources: Sequence[BadSource] = DEFAULT_BAD_SOURCES,
    labels_known_at: datetime | None = None,
    require_full_horizon: bool = True,
    validation_dates: int | None = None,
) -> pd.DataFrame:
    """Observation snapshots with labels, one row per (scorable consumer, observation date).

    Columns (:data:`TRAINING_COLUMNS`): ``consumer_id``, ``observation_date``, every feature
    (:data:`~credo.features.definitions.FEATURE_NAMES`), ``label`` (1 = bad),
    ``bad_date`` (first bad-event date or None), ``sample`` ("train" /
    "validation", see :func:`out_of_time_split`). Rows are sorted by date, then consumer.
    """
    dates = labelled_dates(observation_dates, data_end(events), horizon_months=horizon_months,
                           require_full_horizon=require_full_horizon)
    columns = list(TRAINING_COLUMNS)
    if not dates:
        return pd.DataFrame(columns=columns)
    bad = first_bad_dates(events, sources=bad_sources, known_at=labels_known_at)
    con = connect()
    frames = []
    try:
        for d in dates:
            feats = compute_features(events, as_utc(d), retention_months=retention_months, con=con)
            feats = feats[feats["is_scorable"]].drop(columns="is_scorable")
            n = len(feats)
            first_bad = bad.reindex(feats.index)
            con.register("snapshot", pa.table({
                "consumer_id": pa.array(feats.index.tolist(), pa.string()),
                "observation_date": pa.array([d] * n, pa.date32()),
                "horizon_end": pa.array([horizon_end(d, horizon_months)] * n, pa.date32()),
                "first_bad_date": pa.array([None if pd.isna(b) else b for b in first_bad.tolist()], pa.date32()),
            }))
            labelled = con.sql(snapshot_labels_sql("snapshot", order_by=("consumer_id",))).to_arrow_table()
            con.unregister("snapshot")
            frame = feats.loc[labelled.column("consumer_id").to_pylist()].reset_index()
            frame.insert(1, "observation_date", d)
            frame["label"] = labelled.column("label").to_numpy().astype("int64")
            frame["bad_date"] = labelled.column("bad_date").to_pylist()
            frames.append(frame)
    finally:
        con.close()
    out = pd.concat(frames, ignore_index=True)
    out["sample"] = out_of_time_split(out, validation_dates=validation_dates)
    return out[columns]


def validation_cut(observation_dates: Iterable[date], *, validation_dates: int | None = None) -> date | None:
    """The first observation date of the validation sample (None: every date is for training).

    ``validation_dates`` of the distinct dates are for validation; default: the latest quarter
    (at least one), keeping at least one training date when there are two or more.
    """
    dates = sorted(set(observation_dates))
    if not dates:
        return None
    k = validation_dates if validation_dates is not None else max(1, math.ceil(len(dates) / 4))
    if len(dates) >= 2:
        k = min(k, len(dates) - 1)
    return dates[len(dates) - k] if k > 0 else None


def out_of_time_split(frame: pd.DataFrame, *, validation_dates: int | None = None) -> pd.Series:
    """"train" for earlier observation dates, "validation" for the last ``validation_dates``
    (:func:`validation_cut`)."""
    dates = frame["observation_date"].unique()
    if not len(dates):
        return pd.Series([], dtype=object)
    cut = validation_cut(dates, validation_dates=validation_dates)
    return frame["observation_date"].map(
        lambda d: "validation" if cut is not None and d >= cut else "train"
    ).rename("sample")


def training_frame_from_store(engine: Engine, observation_dates: Iterable[date], **kwargs) -> pd.DataFrame:
    """:func:`training_frame` on every active consumer's events in the store."""
    return training_frame(events_from_store(engine), observation_dates, **kwargs)


__all__ = [
    "BAD_DAYS_PAST_DUE", "DEFAULT_BAD_SOURCES", "TRAINING_COLUMNS", "data_end", "first_bad_dates", "labelled_dates",
    "monthly_dates", "out_of_time_split", "training_frame", "training_frame_from_store", "validation_cut",
]
