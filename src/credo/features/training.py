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
rent, order instalments, rental and ride fees. :data:`_SOURCES_SQL` holds one
query per :data:`~credo.policy.outcome.BAD_EVENT_SOURCES` entry.

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
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from credo.features.builder import DEFAULT_RETENTION_MONTHS, AsOf, FeatureQuery, add_months, as_utc
from credo.features.compute import compute_features, connect
from credo.features.definitions import FEATURE_NAMES
from credo.features.events_table import EVENTS_SCHEMA, events_from_store
from credo.policy.outcome import BAD_DAYS_PAST_DUE, BAD_SOURCE_CODES, HORIZON_MONTHS

BadSource = str  # a code of credo.policy.outcome.BAD_EVENT_SOURCES
DEFAULT_BAD_SOURCES: tuple[BadSource, ...] = BAD_SOURCE_CODES
LABEL_COLUMNS = ("as_of_date", "days_past_due", "charged_off_date", "worst_days_past_due_24m", "status",
                 "instalment")
_DPD = BAD_DAYS_PAST_DUE
_DEROGATORY = "('charged_off', 'collection')"

#: One query per published bad-event source: ``(consumer_id, bad_date)`` rows over ``effective_events``.
_SOURCES_SQL: dict[str, str] = {
    "credit_status": (
        "SELECT consumer_id, as_of_date AS bad_date FROM effective_events "
        f"WHERE type = 'credit.status' AND days_past_due >= {_DPD}"
    ),
    "charge_off": (
        "SELECT consumer_id, charged_off_date AS bad_date FROM effective_events "
        "WHERE type = 'credit.charged_off'"
    ),
    "bureau": (  # the first snapshot of each tradeline that reports it
        "SELECT consumer_id, MIN(as_of_date) AS bad_date FROM effective_events "
        f"WHERE type = 'bureau.tradeline' AND (worst_days_past_due_24m >= {_DPD} OR status IN {_DEROGATORY}) "
        "GROUP BY consumer_id, partner_id, ref"
    ),
    "bill": (  # unpaid by due + 90, or paid 90+ days late
        "SELECT b.consumer_id, b.due_date + {dpd} AS bad_date FROM effective_events AS b "
        "LEFT JOIN (SELECT consumer_id, partner_id, ref, MIN(paid_date) AS paid_date FROM effective_events "
        "WHERE type = 'bill.paid' GROUP BY consumer_id, partner_id, ref) AS p "
        "ON p.consumer_id = b.consumer_id AND p.partner_id = b.partner_id AND p.ref = b.ref "
        "WHERE b.type = 'bill.issued' AND (p.paid_date IS NULL OR p.paid_date >= b.due_date + {dpd})"
    ).format(dpd=_DPD),
    "order_instalment": (  # reported unpaid, or paid 90+ days late
        f"SELECT consumer_id, MIN(due_date) + {_DPD} AS bad_date FROM effective_events "
        "WHERE type = 'order.payment' GROUP BY consumer_id, partner_id, ref, instalment "
        f"HAVING MIN(paid_date) IS NULL OR MIN(paid_date) >= MIN(due_date) + {_DPD}"
    ),
    "rental_fee": (  # reported unpaid, and not reported paid before due + 90 (a bill's rule)
        "SELECT f.consumer_id, f.due_date + {dpd} AS bad_date FROM effective_events AS f "
        "LEFT JOIN (SELECT consumer_id, partner_id, ref, MIN(paid_date) AS paid_date FROM effective_events "
        "WHERE type = 'rental.fee_paid' GROUP BY consumer_id, partner_id, ref) AS p "
        "ON p.consumer_id = f.consumer_id AND p.partner_id = f.partner_id AND p.ref = f.ref "
        "WHERE f.type = 'rental.fee_unpaid' AND (p.paid_date IS NULL OR p.paid_date >= f.due_date + {dpd})"
    ).format(dpd=_DPD),
}
if set(_SOURCES_SQL) != set(BAD_SOURCE_CODES):  # pragma: no cover - a policy change without its query
    raise RuntimeError("credo.features.training._SOURCES_SQL must cover exactly policy.outcome.BAD_EVENT_SOURCES")


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
    unknown = sorted(set(sources) - set(BAD_SOURCE_CODES))
    if unknown:
        raise ValueError(f"unknown bad-event source(s) {', '.join(unknown)}; known: {', '.join(BAD_SOURCE_CODES)}")
    if known_at is None:
        end = data_end(events)
        known_at = (end or datetime(1970, 1, 1, tzinfo=timezone.utc)) + timedelta(microseconds=1)
    query = FeatureQuery(AsOf(known_at), (), extra_columns=LABEL_COLUMNS)
    ctes = ",\n".join(f"{name} AS ({sql})" for name, sql in query.resolved_ctes())
    union = " UNION ALL ".join(_SOURCES_SQL[s] for s in sources)
    known_date = known_at.astimezone(timezone.utc).date().isoformat()
    sql = (f"WITH {ctes}\nSELECT consumer_id, MIN(bad_date) AS first_bad_date FROM ({union}) AS bad "
           f"WHERE bad_date <= DATE '{known_date}' GROUP BY consumer_id ORDER BY consumer_id")
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
    horizon_months: int = HORIZON_MONTHS,
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
        # labels are dated by day: the horizon's last day must be a day the data reaches
        kept = [d for d in dates if add_months(as_utc(d), horizon_months).date() - timedelta(days=1) <= end.date()]
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
            already = first_bad.map(lambda b: b is not None and not pd.isna(b) and b < d)  # noqa: B023 (runs at once)
            feats = feats[~already.to_numpy()]
            first_bad = first_bad[~already.to_numpy()]
            label = first_bad.map(lambda b: int(b is not None and not pd.isna(b) and d <= b < horizon_end))  # noqa: B023
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
