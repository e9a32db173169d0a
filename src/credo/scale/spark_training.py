"""Training snapshots and bad labels on Spark: what :mod:`credo.features.training` gives on DuckDB.

Nothing is restated. The first bad dates are the query of :func:`credo.features.labels.first_bad_dates_sql`
(the published outcome definition, with hindsight) transpiled by sqlglot and run through
:func:`credo.scale.spark.staged`, so the resolved events are computed once for every source. The
features of each observation date are :func:`credo.scale.spark.build_features`'s. The snapshot
labels (already bad left out, ``label``, ``bad_date``) are :func:`credo.features.labels.snapshot_labels_sql`
over the union of every date's scorable consumers joined with the first bad dates, one Spark query
for all dates, not a pass over rows in Python. Which observation dates are labelled
(:func:`credo.features.training.labelled_dates`) and the out-of-time split
(:func:`credo.features.training.validation_cut`) are the DuckDB path's functions.

* :func:`first_bad_dates` / :func:`training_frame` return what the DuckDB functions of the same name
  return (a pandas Series / DataFrame, equal value for value and dtype for dtype; tested in
  ``tests/scale/test_spark_training.py``).
* :func:`first_bad_dates_frame` / :func:`training_snapshots` return the Spark DataFrames, to write
  to Parquet on a cluster instead of collecting; :func:`to_training_frame` converts the latter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone
from functools import reduce
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from credo.features.builder import DEFAULT_RETENTION_MONTHS, feature_query, to_spark_sql
from credo.features.compute import to_frame
from credo.features.definitions import FEATURE_NAMES, FEATURES
from credo.features.labels import (
    DEFAULT_BAD_SOURCES,
    BadSource,
    check_sources,
    default_known_at,
    first_bad_dates_sql,
    horizon_end,
    resolution_query,
    snapshot_labels_sql,
)
from credo.features.training import TRAINING_COLUMNS, labelled_dates, validation_cut
from credo.policy.outcome import HORIZON_MONTHS
from credo.scale.spark import build_features, check_events, read_events, staged

#: Temporary views the label queries read (apart from the feature build's own).
LABEL_EVENTS_VIEW = "credo_label_events"
SNAPSHOTS_VIEW = "credo_snapshots"
#: Prefix of the label query's staged CTE views (the feature build's are ``credo_cte_``).
LABEL_CTE_PREFIX = "credo_label_cte_"
#: The Spark schema of :func:`training_snapshots` (features: ``bigint`` counts, ``double`` measures).
TRAINING_SCHEMA = ", ".join([
    "consumer_id string", "observation_date date",
    *(f"{f.name} {f.sql_type.lower()}" for f in FEATURES),
    "label bigint", "bad_date date", "sample string",
])
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def data_end(events: DataFrame) -> datetime | None:
    """The last received time in the events, as :func:`credo.features.training.data_end` (UTC-aware).

    Read as epoch microseconds, so neither the session nor the Python process time zone applies.
    """
    micros = events.agg(F.max(F.unix_micros("received_at"))).first()[0]  # type: ignore[index]
    return None if micros is None else _EPOCH + timedelta(microseconds=int(micros))


def first_bad_dates_frame(
    spark: SparkSession,
    events: DataFrame | str | Path,
    *,
    sources: Sequence[BadSource] = DEFAULT_BAD_SOURCES,
    known_at: datetime | None = None,
) -> DataFrame:
    """``consumer_id``, ``first_bad_date`` (DATE) per consumer with a bad event known at ``known_at``.

    Default ``known_at``: just after the last received event. Lazy, except for that default (one
    aggregate over ``received_at``).
    """
    check_sources(sources)
    frame = read_events(spark, events)
    if known_at is None:
        known_at = default_known_at(data_end(frame))
    check_events(frame, resolution_query(known_at).columns())
    frame.createOrReplaceTempView(LABEL_EVENTS_VIEW)
    sql = first_bad_dates_sql(known_at, sources, events_table=LABEL_EVENTS_VIEW)
    return staged(spark, to_spark_sql(sql, pretty=False), prefix=LABEL_CTE_PREFIX)


def first_bad_dates(
    spark: SparkSession,
    events: DataFrame | str | Path,
    *,
    sources: Sequence[BadSource] = DEFAULT_BAD_SOURCES,
    known_at: datetime | None = None,
) -> pd.Series:
    """:func:`credo.features.training.first_bad_dates` on Spark: ``consumer_id`` → ``datetime.date``."""
    result = first_bad_dates_frame(spark, events, sources=sources, known_at=known_at).toArrow()
    return pd.Series(result.column("first_bad_date").to_pylist(),
                     index=pd.Index(result.column("consumer_id").to_pylist(), name="consumer_id"),
                     name="first_bad_date", dtype=object)


def _snapshots(
    spark: SparkSession,
    events: DataFrame | str | Path,
    observation_dates: Iterable[date],
    *,
    horizon_months: int,
    retention_months: int | None,
    bad_sources: Sequence[BadSource],
    labels_known_at: datetime | None,
    require_full_horizon: bool,
    validation_dates: int | None,
    stacklevel: int,
) -> DataFrame:
    check_sources(bad_sources)
    frame = read_events(spark, events)
    end = data_end(frame)
    dates = labelled_dates(observation_dates, end, horizon_months=horizon_months,
                           require_full_horizon=require_full_horizon, stacklevel=stacklevel + 1)
    if not dates:
        return spark.createDataFrame([], TRAINING_SCHEMA)
    bad = first_bad_dates_frame(spark, frame, sources=bad_sources,
                                known_at=labels_known_at if labels_known_at is not None else default_known_at(end))
    per_date = [
        build_features(spark, frame, d, retention_months=retention_months)
        .where(F.col("is_scorable"))
        .select("consumer_id", F.lit(d).alias("observation_date"),
                F.lit(horizon_end(d, horizon_months)).alias("horizon_end"), *FEATURE_NAMES)
        for d in dates
    ]
    reduce(DataFrame.unionByName, per_date).join(bad, "consumer_id", "left").createOrReplaceTempView(SNAPSHOTS_VIEW)
    labels = snapshot_labels_sql(SNAPSHOTS_VIEW, columns=("consumer_id", "observation_date", *FEATURE_NAMES))
    # computed here: the split needs the dates that have rows; kept so the caller's action does not redo it
    labelled = spark.sql(to_spark_sql(labels, pretty=False)).localCheckpoint(eager=True)
    present = [row[0] for row in labelled.select("observation_date").distinct().collect()]
    cut = validation_cut(present, validation_dates=validation_dates)
    sample = F.lit("train") if cut is None else \
        F.when(F.col("observation_date") >= F.lit(cut), F.lit("validation")).otherwise(F.lit("train"))
    return labelled.withColumn("sample", sample).select(*TRAINING_COLUMNS).orderBy("observation_date", "consumer_id")


def training_snapshots(
    spark: SparkSession,
    events: DataFrame | str | Path,
    observation_dates: Iterable[date],
    *,
    horizon_months: int = HORIZON_MONTHS,
    retention_months: int | None = DEFAULT_RETENTION_MONTHS,
    bad_sources: Sequence[BadSource] = DEFAULT_BAD_SOURCES,
    labels_known_at: datetime | None = None,
    require_full_horizon: bool = True,
    validation_dates: int | None = None,
) -> DataFrame:
    """:func:`credo.features.training.training_frame`'s rows as a Spark DataFrame (:data:`TRAINING_SCHEMA`).

    Same arguments and meaning; ``events`` are normalised events (a DataFrame or a Parquet path;
    a raw read keeping ``_seq`` is deduplicated first). Rows are ordered by observation date, then
    consumer. The labelled snapshots are computed by this call (the out-of-time split needs the
    dates that have rows) and kept on the executors as a local checkpoint; writing or collecting
    the result reads them from there. No observation date left: no rows.
    """
    return _snapshots(spark, events, observation_dates, horizon_months=horizon_months,
                      retention_months=retention_months, bad_sources=bad_sources, labels_known_at=labels_known_at,
                      require_full_horizon=require_full_horizon, validation_dates=validation_dates, stacklevel=2)


def to_training_frame(snapshots: DataFrame) -> pd.DataFrame:
    """Collect :func:`training_snapshots` into the pandas frame ``training_frame`` returns (same dtypes)."""
    table = snapshots.select(*TRAINING_COLUMNS).toArrow()
    if table.num_rows == 0:  # the DuckDB path's frame when no observation date is left
        return pd.DataFrame(columns=list(TRAINING_COLUMNS))
    # the features' dtypes are compute_features' (counts int64, measures float64 with NaN for NULL)
    features = to_frame(table.select(["consumer_id", *FEATURE_NAMES]), feature_query(_EPOCH, criteria=None))
    frame = features.reset_index()
    frame.insert(1, "observation_date", table.column("observation_date").to_pylist())
    frame["label"] = table.column("label").to_numpy().astype("int64")
    frame["bad_date"] = table.column("bad_date").to_pylist()
    frame["sample"] = table.column("sample").to_pylist()
    return frame[list(TRAINING_COLUMNS)]


def training_frame(
    spark: SparkSession,
    events: DataFrame | str | Path,
    observation_dates: Iterable[date],
    *,
    horizon_months: int = HORIZON_MONTHS,
    retention_months: int | None = DEFAULT_RETENTION_MONTHS,
    bad_sources: Sequence[BadSource] = DEFAULT_BAD_SOURCES,
    labels_known_at: datetime | None = None,
    require_full_horizon: bool = True,
    validation_dates: int | None = None,
) -> pd.DataFrame:
    """:func:`credo.features.training.training_frame` on Spark, collected to the same pandas DataFrame.

    For a population whose snapshots do not fit the driver, write :func:`training_snapshots` instead.
    """
    snapshots = _snapshots(spark, events, observation_dates, horizon_months=horizon_months,
                           retention_months=retention_months, bad_sources=bad_sources,
                           labels_known_at=labels_known_at, require_full_horizon=require_full_horizon,
                           validation_dates=validation_dates, stacklevel=2)
    return to_training_frame(snapshots)


__all__ = [
    "LABEL_CTE_PREFIX", "LABEL_EVENTS_VIEW", "SNAPSHOTS_VIEW", "TRAINING_SCHEMA", "data_end",
    "first_bad_dates", "first_bad_dates_frame", "to_training_frame", "training_frame", "training_snapshots",
]
