"""Run the feature query on DuckDB: batch (a whole population) and online (one consumer).

Both paths run the *same* SQL text from :func:`credo.features.builder.feature_query`
(built once, the instant's literals rendered in) on an events table; the online
path only reads fewer events (one consumer's, from the store). The DuckDB
session is pinned to UTC.

The result is a ``pandas.DataFrame`` indexed by ``consumer_id`` (sorted), one
column per feature in :data:`~credo.features.definitions.FEATURE_NAMES` order,
then ``is_scorable``:

* ``empty="zero"`` features are ``int64`` and never missing;
* ``empty="null"`` features are ``float64`` with ``NaN`` for NULL (nothing to
  measure), which the scorecard's missing bin takes;
* ``is_scorable`` is ``bool`` (:class:`~credo.features.definitions.ScoringCriteria`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from credo.features.builder import FeatureQuery, feature_query
from credo.features.definitions import FEATURES
from credo.features.events_table import EVENTS_SCHEMA, events_from_store


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session pinned to UTC, without DuckDB's own progress bar (it prints to stdout
    beside the CLI's, e.g. while ``credo features build --engine spark`` normalises the raw files)."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    return con


def _population(events: pa.Table, consumers: Iterable[str] | None) -> pa.Table:
    if consumers is None:
        ids = pc.unique(events.column("consumer_id").combine_chunks()) if events.num_rows else pa.array([], pa.string())
    else:
        ids = pa.array(sorted(set(consumers)), pa.string())
    return pa.table({"consumer_id": ids})


def run_query(
    query: FeatureQuery,
    events: pa.Table,
    consumers: Iterable[str] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pa.Table:
    """Run a feature query over an events table; the population defaults to its consumers."""
    if events.schema != EVENTS_SCHEMA:
        events = events.select(EVENTS_SCHEMA.names).cast(EVENTS_SCHEMA)
    own = con is None
    con = connect() if con is None else con
    try:
        con.register(query.events_table, events)
        con.register(query.population_table, _population(events, consumers))
        result = con.sql(query.sql()).to_arrow_table()
    finally:
        con.unregister(query.events_table)
        con.unregister(query.population_table)
        if own:
            con.close()
    return result


def to_frame(result: pa.Table, query: FeatureQuery) -> pd.DataFrame:
    """Arrow result → DataFrame with the documented dtypes (NaN for NULL measures)."""
    data: dict[str, np.ndarray] = {}
    for f in query.features:
        col = result.column(f.name)
        if f.empty == "zero":
            data[f.name] = col.to_numpy().astype(np.int64)
        else:
            data[f.name] = pc.fill_null(col, float("nan")).to_numpy().astype(np.float64) \
                if col.null_count else col.to_numpy().astype(np.float64)
    if query.criteria is not None:
        data["is_scorable"] = result.column("is_scorable").to_numpy().astype(bool)
    index = pd.Index(result.column("consumer_id").to_pylist(), name="consumer_id")
    return pd.DataFrame(data, index=index)


def compute_features(
    events: pa.Table,
    as_of: datetime | date,
    *,
    consumers: Iterable[str] | None = None,
    retention_months: int | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Every feature as of ``as_of`` (a UTC instant; a date means its midnight UTC) for the population.

    The population is ``consumers`` when given, else every consumer in ``events``
    (consumers with no usable event get counts 0, NULL measures, not scorable).
    ``retention_months`` defaults to the configured period (:mod:`credo.policy.retention`).
    The query text is built once and only the instant's literals change, so any instant,
    to the microsecond, costs no more than the last one.
    """
    query = feature_query(as_of, retention_months=retention_months)
    return to_frame(run_query(query, events, consumers, con), query)


def consumer_features(
    engine: Engine,
    consumer_id: str,
    as_of: datetime | date,
    *,
    retention_months: int | None = None,
) -> pd.DataFrame:
    """The online path: the same SQL on one consumer's events read from the store (one row)."""
    events = events_from_store(engine, consumer_id)
    return compute_features(events, as_of, consumers=[consumer_id], retention_months=retention_months)


def feature_names() -> Sequence[str]:
    return [f.name for f in FEATURES]


__all__ = ["connect", "run_query", "to_frame", "compute_features", "consumer_features", "feature_names"]
