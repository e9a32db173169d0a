"""Training data: observation snapshots, bad labels and an out-of-time split.

For each observation date D (midnight UTC of a calendar date):

* **features** are computed as of D exactly as in production
  (:func:`credo.features.compute.compute_features`: events received and
  occurred before D, corrections and retractions as of D);
* only consumers **scorable** at D (minimum scoring criteria) are kept;
* **label** ``1`` (bad) when the consumer's first *bad event* falls in
  ``[D, D + horizon_months)``, ``0`` otherwise; consumers whose first bad event
  is before D are **already bad** and excluded.

A bad event (dated by its own date, as :mod:`credo.simulate` dates outcomes):

* ``credit.status`` with ``days_past_due >= 90`` (its ``as_of_date``);
* ``credit.charged_off`` (its ``charged_off_date``);
* ``bureau.tradeline`` with ``worst_days_past_due_24m >= 90`` newly reported:
  the first snapshot of that tradeline reporting it (its ``as_of_date``).

Labels look back with hindsight: bad events are read with every correction and
retraction known when the labels are built (``labels_known_at``, default: after
the last received event). Features never see that hindsight.

With ``require_full_horizon`` (default) observation dates whose horizon ends
after the data do are dropped (with a warning): their labels would be biased
towards good.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from credo.features.builder import DEFAULT_RETENTION_MONTHS, AsOf, FeatureQuery, add_months, as_utc
from credo.features.compute import compute_features, connect
from credo.features.definitions import FEATURE_NAMES
from credo.features.events_table import EVENTS_SCHEMA, events_from_store

BadSource = Literal["credit_status", "charge_off", "bureau"]
DEFAULT_BAD_SOURCES: tuple[BadSource, ...] = ("credit_status", "charge_off", "bureau")
BAD_DAYS_PAST_DUE = 90
LABEL_COLUMNS = ("as_of_date", "days_past_due", "charged_off_date", "worst_days_past_due_24m")

_SOURCES_SQL: dict[str, str] = {
    "credit_status": (
        "SELECT consumer_id, as_of_date AS bad_date FROM effective_events "
        f"WHERE type = 'credit.status' AND days_past_due >= {BAD_DAYS_PAST_DUE}"
    ),
    "charge_off": (
        "SELECT consumer_id, charged_off_date AS bad_date FROM effective_events "
        "WHERE type = 'credit.charged_off'"
    ),
    "bureau": (
        "SELECT consumer_id, MIN(as_of_date) AS bad_date FROM effective_events "
        f"WHERE type = 'bureau.tradeline' AND worst_days_past_due_24m >= {BAD_DAYS_PAST_DUE} "
        "GROUP BY consumer_id, partner_id, ref"
    ),
}


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
    """Each consumer's first bad-event date (``consumer_id`` → ``datetime.date``), with hindsight."""
    if known_at is None:
        end = data_end(events)
        known_at = (end or datetime(1970, 1, 1, tzinfo=timezone.utc)) + timedelta(microseconds=1)
    query = FeatureQuery(AsOf(known_at), (), extra_columns=LABEL_COLUMNS)
    ctes = ",\n".join(f"{name} AS ({sql})" for name, sql in query.resolved_ctes())
    union = " UNION ALL ".join(_SOURCES_SQL[s] for s in sources)
    sql = (f"WITH {ctes}\nSELECT consumer_id, MIN(bad_date) AS first_bad_date FROM ({union}) AS bad "
           "GROUP BY consumer_id ORDER BY consumer_id")
    con = connect()
    try:
        con.register("events", events.select(EVENTS_SCHEMA.names))
        result = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    return pd.Series(result.column("first_bad_date").to_pylist(),
                     index=pd.Index(result.column("consumer_id").to_pylist(), name="consumer_id"),
                     name="first_bad_date", dtype=object)


def training_frame(
    events: pa.Table,
    observation_dates: Iterable[date],
    *,
    horizon_months: int = 12,
    retention_months: int = DEFAULT_RETENTION_MONTHS,
    bad_sources: Sequence[BadSource] = DEFAULT_BAD_SOURCES,
    labels_known_at: datetime | None = None,
    require_full_horizon: bool = True,
    validation_dates: int | None = None,
) -> pd.DataFrame:
    """Observation snapshots with labels, one row per (scorable consumer, observation date).

    Columns: ``consumer_id``, ``observation_date``, every feature
    (:data:`~credo.features.definitions.FEATURE_NAMES`), ``label`` (1 = bad),
    ``bad_date`` (first bad-event date or None), ``sample`` ("train" /
    "validation", see :func:`out_of_time_split`). Rows are sorted by date, then consumer.
    """
    if horizon_months < 1:
        raise ValueError("horizon_months must be >= 1")
    dates = sorted(set(observation_dates))
    end = data_end(events)
    if require_full_horizon and end is not None:
        kept = [d for d in dates if as_utc(add_months(as_utc(d), horizon_months)) <= end]
        dropped = [d for d in dates if d not in kept]
        if dropped:
            warnings.warn(
                f"observation dates {', '.join(map(str, dropped))} dropped: their {horizon_months}-month "
                f"horizon ends after the data ({end.isoformat()})", stacklevel=2)
        dates = kept
    columns = ["consumer_id", "observation_date", *FEATURE_NAMES, "label", "bad_date", "sample"]
    if not dates:
        return pd.DataFrame(columns=columns)
    bad = first_bad_dates(events, sources=bad_sources, known_at=labels_known_at)
    con = connect()
    frames = []
    try:
        for d in dates:
            feats = compute_features(events, as_utc(d), retention_months=retention_months, con=con)
            feats = feats[feats["is_scorable"]].drop(columns="is_scorable")
            first_bad = bad.reindex(feats.index)
            horizon_end = add_months(as_utc(d), horizon_months).date()
            already = first_bad.map(lambda b: b is not None and not pd.isna(b) and b < d)
            feats = feats[~already.to_numpy()]
            first_bad = first_bad[~already.to_numpy()]
            label = first_bad.map(lambda b: int(b is not None and not pd.isna(b) and d <= b < horizon_end))
            frame = feats.reset_index()
            frame.insert(1, "observation_date", d)
            frame["label"] = label.to_numpy().astype("int64")
            frame["bad_date"] = [b if (b is not None and not pd.isna(b) and b < horizon_end) else None
                                 for b in first_bad.to_numpy()]
            frames.append(frame)
    finally:
        con.close()
    out = pd.concat(frames, ignore_index=True)
    out["sample"] = out_of_time_split(out, validation_dates=validation_dates)
    return out[columns]


def out_of_time_split(frame: pd.DataFrame, *, validation_dates: int | None = None) -> pd.Series:
    """"train" for earlier observation dates, "validation" for the last ``validation_dates``.

    Default: the latest quarter of the distinct dates (at least one), keeping at
    least one training date when there are two or more.
    """
    dates = sorted(frame["observation_date"].unique())
    if not dates:
        return pd.Series([], dtype=object)
    k = validation_dates if validation_dates is not None else max(1, math.ceil(len(dates) / 4))
    if len(dates) >= 2:
        k = min(k, len(dates) - 1)
    cut = dates[len(dates) - k] if k > 0 else None
    return frame["observation_date"].map(
        lambda d: "validation" if cut is not None and d >= cut else "train"
    ).rename("sample")


def training_frame_from_store(engine: Engine, observation_dates: Iterable[date], **kwargs) -> pd.DataFrame:
    """:func:`training_frame` on every active consumer's events in the store."""
    return training_frame(events_from_store(engine), observation_dates, **kwargs)


__all__ = [
    "BAD_DAYS_PAST_DUE", "DEFAULT_BAD_SOURCES", "data_end", "first_bad_dates", "monthly_dates",
    "out_of_time_split", "training_frame", "training_frame_from_store",
]
