"""The Spark backend of the population-scale path: features and scores on Apache Spark.

Nothing here restates a rule. The features are the builder's :class:`~credo.features.builder.FeatureQuery`
text transpiled by sqlglot (:meth:`~credo.features.builder.FeatureQuery.to_spark_sql`), run over a Spark
view of the normalised events (:data:`~credo.features.events_table.EVENTS_SCHEMA`); the scorecard is
its SQL form (:mod:`credo.scale.scorecard_sql`), a column expression inside the JVM; the challenger
runs through a vectorised pandas UDF over Arrow batches (its own ``score``). Parity with DuckDB is
tested on a simulated population (``tests/scale/test_spark_parity.py``): every feature and every
score, status and band equal.

:func:`session` pins what makes Spark agree with DuckDB and the rest of Credo, each one a measured
pitfall (``docs/research/scale-engines.md``): the session and JVM time zone are UTC (P4), ANSI mode
is stated, not inherited (P1), ``spark.sql.codegen.hugeMethodLimit=8000`` so the long CASE
scorer is JIT-compiled (P12), and the Python workers run this interpreter (P11). Under
``spark-submit`` the cluster's master and resources are kept (``getOrCreate``).

For a command line: :func:`build_features_to_parquet` and :func:`score_to_parquet`.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
import sqlglot.expressions as exp

from credo.features.builder import FeatureQuery, as_utc, feature_query
from credo.features.events_table import EVENTS_SCHEMA
from credo.model import MonotoneChallenger, Scorecard
from credo.scale import scorecard_sql
from credo.scale.events import event_files, prepare, quote
from credo.scale.features import AS_OF_KEY
from credo.scale.features import session as duckdb_session
from credo.scale.score import SCORES_SCHEMA, features_as_of
from credo.scoring.batch import SCORED

try:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf
except ImportError as exc:  # pragma: no cover - the extra is part of the test install
    raise ImportError("credo.scale.spark needs PySpark: pip install 'credo[spark]'") from exc

#: Temporary view names the feature query and the scorer read.
EVENTS_VIEW = "credo_events"
POPULATION_VIEW = "credo_population"
FEATURES_VIEW = "credo_features"

#: Spark's name of each events-table type (``DataType.simpleString``).
_SPARK_TYPES = {
    pa.string(): "string", pa.int64(): "bigint", pa.bool_(): "boolean", pa.date32(): "date",
    pa.timestamp("us", tz="UTC"): "timestamp",
}

#: Settings every Credo Spark session carries (see the module docstring for why).
PINNED: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.timestampType": "TIMESTAMP_LTZ",
    "spark.sql.codegen.hugeMethodLimit": "8000",
    # Parquet timestamps as int64 microseconds (isAdjustedToUTC), not INT96, for DuckDB and Arrow.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
}


#: JVM options of a session this process starts (local mode). A cluster's own JVM options are not
#: replaced: ``spark-submit`` passes these (docs/deployment-spark.md).
JVM_OPTIONS: dict[str, str] = {
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
}
#: How a session this process starts compresses what it writes to local disk. Spark's defaults leave
#: the ``staged()`` checkpoints uncompressed and shuffles in lz4: 4.8 GiB of scratch for 10.2 M events
#: (505 bytes an event), so 254 M events filled this machine's 52 GB free and the build was stopped.
#: Checkpoints compressed, in zstd with the shuffles: 1.32 GiB (3.6x less) for 11 % more build time
#: (docs/benchmarks.md, "Spark's local scratch"). A cluster's own settings are not replaced:
#: ``spark-submit`` passes these (docs/deployment-spark.md).
SCRATCH_COMPRESSION: dict[str, str] = {
    "spark.rdd.compress": "true",
    "spark.io.compression.codec": "zstd",
}
#: ``spark.driver.memory`` of a local session unless told otherwise: in local mode the whole job
#: runs in the driver, where Spark's default of 1g spills and collects garbage most of the time.
LOCAL_DRIVER_MEMORY = "4g"


def session(
    app_name: str = "credo",
    *,
    master: str | None = None,
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
    ui: bool = False,
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """A SparkSession with Credo's pinned settings (:data:`PINNED`).

    ``master`` defaults to ``local[*]`` only when nothing else set one: under ``spark-submit``
    (or with an active session) the cluster's master is kept. ``shuffle_partitions`` sets
    ``spark.sql.shuffle.partitions`` (local default: twice the cores; a cluster keeps its own).
    ``driver_memory`` (local default :data:`LOCAL_DRIVER_MEMORY`), :data:`JVM_OPTIONS` and
    :data:`SCRATCH_COMPRESSION` apply when this call starts the JVM in local mode. ``conf`` adds or overrides settings.
    """
    # P11: the Python workers must import this environment's credo, pandas and pyarrow.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ or SparkSession.getActiveSession() is not None
    builder = SparkSession.builder.appName(app_name)
    local = master is not None and master.startswith("local") or (master is None and not submitted)
    if master is not None:
        builder = builder.master(master)
    elif not submitted:
        builder = builder.master("local[*]")
    settings = {**PINNED, **({**JVM_OPTIONS, **SCRATCH_COMPRESSION} if local else {})}
    settings["spark.ui.enabled"] = "true" if ui else "false"
    if shuffle_partitions is not None:
        settings["spark.sql.shuffle.partitions"] = str(int(shuffle_partitions))
    elif local:
        settings["spark.sql.shuffle.partitions"] = str(2 * (os.cpu_count() or 1))
    if driver_memory is not None:
        settings["spark.driver.memory"] = driver_memory
    elif local:
        settings["spark.driver.memory"] = LOCAL_DRIVER_MEMORY
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    # getOrCreate on a running session keeps its runtime settings: state the SQL ones again.
    for key, value in settings.items():
        if key.startswith("spark.sql.") and spark.conf.isModifiable(key) and spark.conf.get(key, None) != value:
            spark.conf.set(key, value)
    return spark


# ---------------------------------------------------------------- features


def read_events(spark: SparkSession, events: DataFrame | str | Path) -> DataFrame:
    """The normalised events as a Spark DataFrame: given, or read from Parquet (a file or a dataset)."""
    if isinstance(events, DataFrame):
        return events
    return spark.read.parquet(str(events))


def check_events(events: DataFrame, columns: Iterable[str]) -> None:
    """Refuse an events DataFrame that lacks a column the query reads or types it otherwise."""
    have = {f.name: f.dataType.simpleString() for f in events.schema.fields}
    for name in columns:
        want = _SPARK_TYPES[EVENTS_SCHEMA.field(name).type]
        if name not in have:
            raise ValueError(f"events: column {name} is missing (normalised events have EVENTS_SCHEMA)")
        if have[name] != want:
            raise ValueError(f"events: column {name} is {have[name]}, expected {want}")


def population_frame(
    spark: SparkSession, events: DataFrame, population: DataFrame | Iterable[str] | None
) -> DataFrame:
    """``consumer_id`` of everyone to build features for: given, or every consumer with an event."""
    if population is None:
        return events.select("consumer_id").distinct()
    if isinstance(population, DataFrame):
        if "consumer_id" not in population.columns:
            raise ValueError("population: column consumer_id is missing")
        return population.select(F.col("consumer_id").cast("string")).distinct()
    ids = sorted({str(c) for c in population})
    return spark.createDataFrame([(c,) for c in ids], "consumer_id string")


def spark_feature_query(as_of: datetime | date, retention_months: int | None = None) -> FeatureQuery:
    """The published feature query as of ``as_of``, over the views :func:`build_features` registers."""
    return feature_query(as_of, retention_months=retention_months, events_table=EVENTS_VIEW,
                         population_table=POPULATION_VIEW)


def build_features(
    spark: SparkSession,
    events: DataFrame | str | Path,
    as_of: datetime | date,
    population: DataFrame | Iterable[str] | None = None,
    *,
    retention_months: int | None = None,
) -> DataFrame:
    """Every feature as of ``as_of`` for the population, on Spark: what ``compute_features`` gives on DuckDB.

    ``events``: normalised events (:data:`EVENTS_SCHEMA`, one row per ``(partner_id, event_id)``)
    as a DataFrame or a Parquet path. ``population``: consumer ids or a DataFrame with
    ``consumer_id`` (default: every consumer in ``events``). ``as_of`` is a UTC instant (a date
    means its midnight UTC). The result has ``consumer_id``, one column per feature (``BIGINT``
    counts, ``DOUBLE`` measures with NULL for nothing to measure) and ``is_scorable``, ordered by
    ``consumer_id``; it is lazy, like any DataFrame.
    """
    query = spark_feature_query(as_utc(as_of), retention_months)
    frame = read_events(spark, events)
    check_events(frame, query.columns())
    frame.createOrReplaceTempView(EVENTS_VIEW)
    population_frame(spark, frame, population).createOrReplaceTempView(POPULATION_VIEW)
    return staged(spark, query.to_spark_sql(pretty=False))


def _scan_only(body: exp.Expression) -> bool:
    """A CTE body that only filters and projects a table: reading it again costs one pushed-down scan."""
    return not any(body.find(kind) for kind in (exp.Join, exp.AggFunc, exp.Window, exp.Union, exp.Distinct))


def staged(spark: SparkSession, sql: str, prefix: str = "credo_cte_") -> DataFrame:
    """Run a ``WITH`` query with every shared common table expression computed once.

    Spark inlines a deterministic CTE at every reference, so the feature query's resolved events
    (``effective_events``, read by each of the enrichment's five branches) were recomputed with
    all their joins, 46 scans of the events for one build. This Spark-only rewrite (the parity
    tests run through it) registers each CTE as a view (``prefix`` + name) and lets Spark keep
    the ones read more than once (a lazy local checkpoint: computed on first use, kept on the
    executors, released when no longer referenced), except a plain filtered scan, which is
    cheaper to read again than to keep.
    """
    tree = sqlglot.parse_one(sql, read="spark")
    with_ = tree.args.get("with_")
    if with_ is None:
        return spark.sql(sql)
    ctes = list(with_.expressions)
    names = {cte.alias for cte in ctes}
    readers: dict[str, int] = dict.fromkeys(names, 0)
    for table in tree.find_all(exp.Table):
        if table.name in names and not table.args.get("db"):
            readers[table.name] += 1
            if not table.alias:  # keep the name its columns are qualified with
                table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
            table.set("this", exp.to_identifier(prefix + table.name))
    tree.set("with_", None)
    for cte in ctes:
        frame = spark.sql(cte.this.sql(dialect="spark"))
        if readers[cte.alias] > 1 and not _scan_only(cte.this):
            frame = frame.localCheckpoint(eager=False)
        frame.createOrReplaceTempView(prefix + cte.alias)
    return spark.sql(tree.sql(dialect="spark"))


# ---------------------------------------------------------------- scores


@lru_cache(maxsize=4)
def _model(kind: str, artifact: str) -> Scorecard | MonotoneChallenger:
    """A model rebuilt from its JSON artifact, once per Python worker."""
    return (Scorecard if kind == "scorecard" else MonotoneChallenger).from_json(artifact)


def _shipped(model: Scorecard | MonotoneChallenger) -> tuple[str, str]:
    """What a UDF carries to the workers: the model's kind and JSON artifact (no pickle)."""
    return ("scorecard" if isinstance(model, Scorecard) else "challenger"), model.to_json(indent=None)


def challenger_scores(model: MonotoneChallenger, columns: list[str]) -> Any:
    """A pandas UDF: the challenger's score of a struct of the feature ``columns`` (Arrow batches)."""
    kind, artifact = _shipped(model)

    @pandas_udf("bigint")  # type: ignore[call-overload]
    def score_batch(batch: pd.DataFrame) -> pd.Series:
        return _model(kind, artifact).score(batch[columns]).astype("int64")

    return score_batch


def model_reasons(model: Scorecard | MonotoneChallenger, columns: list[str]) -> Any:
    """A pandas UDF: the model's principal reason codes (``model.reasons``, Nones dropped) per row."""
    kind, artifact = _shipped(model)

    @pandas_udf("array<string>")  # type: ignore[call-overload]
    def reasons_batch(batch: pd.DataFrame) -> pd.Series:
        rows = _model(kind, artifact).reasons(batch[columns]).to_numpy().tolist()
        return pd.Series([[code for code in row if code is not None] for row in rows])

    return reasons_batch


def score(
    spark: SparkSession,
    features: DataFrame,
    model: Scorecard | MonotoneChallenger,
    *,
    key: tuple[str, ...] = ("consumer_id",),
    scorable: str | None = "is_scorable",
    reasons: bool = False,
) -> DataFrame:
    """``key``, ``status``, ``score`` and ``band`` per row of ``features``, as ``score_frame`` gives them.

    The scorecard runs as its SQL form (a CASE per feature, inside the JVM); the challenger
    through :func:`challenger_scores`. A row whose ``scorable`` column is false or NULL is
    ``not_enough_data`` with no score; ``scorable=None`` scores every row. ``reasons=True`` adds
    ``reasons`` (the principal reason codes, empty when not scored) through :func:`model_reasons`,
    a Python pass over every row.
    """
    missing = [c for c in [*key, *model.features_, *([scorable] if scorable else [])] if c not in features.columns]
    if missing:
        raise ValueError(f"features: column {missing[0]} is missing")
    columns = list(model.features_)
    if isinstance(model, Scorecard):
        features.createOrReplaceTempView(FEATURES_VIEW)
        result = spark.sql(scorecard_sql.to_spark(scorecard_sql.scoring_sql(
            model, FEATURES_VIEW, key=key, scorable=scorable)))
    elif isinstance(model, MonotoneChallenger):
        ok = F.lit(True) if scorable is None else F.coalesce(F.col(scorable), F.lit(False))
        scored = features.select(*key, ok.alias("credo_ok"),
                                 challenger_scores(model, columns)(F.struct(*columns)).alias("credo_score"))
        scored.createOrReplaceTempView(FEATURES_VIEW)
        result = spark.sql(scorecard_sql.to_spark(scorecard_sql.outcome_sql(
            f"SELECT * FROM {FEATURES_VIEW}", key)))
    else:
        raise TypeError(f"cannot score with a {type(model).__name__}")
    if not reasons:
        return result
    codes = features.select(*key, model_reasons(model, columns)(F.struct(*columns)).alias("credo_reasons"))
    return (result.join(codes, list(key))
            .withColumn("reasons", F.when(F.col("status") == SCORED, F.col("credo_reasons"))
                        .otherwise(F.array().cast("array<string>")))
            .drop("credo_reasons"))


# ---------------------------------------------------------------- Parquet in, Parquet out


def write_parquet(frame: DataFrame, out_path: str | Path, *, single_file: bool = False) -> str | Path:
    """Write ``frame`` as Parquet: Spark's dataset directory (any URI Spark writes: ``s3://…``,
    ``hdfs://…``), or with ``single_file`` one local file.

    ``single_file`` (a local path, output small enough for one task) writes one part and moves
    it to ``out_path``; rows keep the frame's order.
    """
    if not single_file:
        frame.write.mode("overwrite").parquet(str(out_path))
        return out_path
    out = Path(out_path)
    staging = out.with_name(out.name + ".spark-tmp")
    frame.coalesce(1).write.mode("overwrite").parquet(str(staging))
    parts = sorted(staging.glob("part-*.parquet"))
    if len(parts) != 1:
        raise RuntimeError(f"expected one Parquet part in {staging}, found {len(parts)}")
    out.unlink(missing_ok=True)
    shutil.move(str(parts[0]), out)
    shutil.rmtree(staging)
    return out


def normalise_events(events_dir: str | Path, out: str | Path, *, memory_limit: str = "4GB") -> Path:
    """A simulator directory's raw event Parquet (``events/part-*.parquet``) → one normalised Parquet.

    DuckDB does it out of core with the DuckDB build's own normalising SQL
    (:class:`credo.scale.events.EventSource`), which leaves out every replayed copy of a
    ``(partner_id, event_id)`` found across the files: one row per event, as the cluster's event store
    holds them, so Spark never deduplicates.
    On a cluster the event store already holds normalised events and this step is not run.
    """
    out = Path(out)
    con = duckdb_session(memory_limit, out.parent)
    try:
        source = prepare(con, event_files(Path(events_dir)))
        names = ", ".join(EVENTS_SCHEMA.names)
        con.execute(f"COPY (SELECT {names} FROM ({source.normalised('TRUE')})) TO {quote(str(out))} "
                    "(FORMAT parquet, COMPRESSION zstd)")
    finally:
        con.close()
    return out


def _rewrite(path: Path, schema: pa.Schema | None = None, metadata: dict[bytes, bytes] | None = None) -> None:
    """Rewrite a local Parquet file batch by batch: cast to ``schema`` and/or add key-value ``metadata``
    (the DuckDB path's exact output schema; the as-of instant scoring reads back)."""
    source = pq.ParquetFile(path)
    target = schema if schema is not None else source.schema_arrow
    if metadata:
        target = target.with_metadata({**(target.metadata or {}), **metadata})
    tmp = path.with_name(path.name + ".partial")
    try:
        with pq.ParquetWriter(tmp, target, compression="zstd") as writer:
            for batch in source.iter_batches():
                writer.write_table(pa.Table.from_batches([batch]).cast(target))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def build_features_to_parquet(
    events: str | Path,
    as_of: datetime | date,
    out_path: str | Path,
    *,
    population: Iterable[str] | None = None,
    retention_months: int | None = None,
    single_file: bool = True,
    spark: SparkSession | None = None,
) -> str | Path:
    """Events → features of every consumer as of ``as_of`` → Parquet (what ``credo features build`` writes).

    ``events``: a simulator directory (raw ``events/part-*.parquet``, normalised first by
    :func:`normalise_events` into a scratch file), or normalised event Parquet
    (a file or a dataset directory). ``single_file`` writes one local file carrying the as-of
    instant in its metadata; otherwise Spark's dataset directory. Uses ``spark`` or :func:`session`.
    """
    instant = as_utc(as_of)
    spark = spark or session("credo-features")
    with tempfile.TemporaryDirectory(prefix="credo-spark-") as scratch:
        source: str | Path = events
        if (Path(events) / "events").is_dir():  # a local simulator directory
            source = normalise_events(events, Path(scratch) / "events.parquet")
        frame = build_features(spark, source, instant, population, retention_months=retention_months)
        written = write_parquet(frame, out_path, single_file=single_file)
    if single_file:
        _rewrite(Path(written), metadata={AS_OF_KEY: instant.isoformat().encode()})
    return written


def score_features(
    features: str | Path,
    model: Scorecard | MonotoneChallenger,
    model_version: str,
    out: str | Path,
    *,
    as_of: datetime | date | None = None,
    single_file: bool = True,
    spark: SparkSession | None = None,
) -> str | Path:
    """A features Parquet → :data:`credo.scale.score.SCORES_SCHEMA` Parquet, as the DuckDB scorer writes it.

    ``consumer_id``, ``as_of`` (from the features file's metadata unless given), ``model_version``,
    ``status``, ``score``, ``band`` and ``reasons``, ordered by ``consumer_id``.
    """
    moment = as_of if as_of is not None else (features_as_of(Path(features)) if Path(features).is_file() else None)
    if moment is None:
        raise ValueError(f"{features} does not record its as-of date: pass as_of")
    spark = spark or session("credo-score")
    frame = spark.read.parquet(str(features))
    scorable = "is_scorable" if "is_scorable" in frame.columns else None
    scored = score(spark, frame, model, scorable=scorable, reasons=True)
    result = scored.select(
        "consumer_id",
        F.lit(as_utc(moment)).cast("timestamp").alias("as_of"),
        F.lit(model_version).alias("model_version"),
        "status", F.col("score").cast("int").alias("score"), "band", "reasons",
    ).orderBy("consumer_id")
    written = write_parquet(result, out, single_file=single_file)
    if single_file:
        _rewrite(Path(written), SCORES_SCHEMA)
    return written


def score_to_parquet(
    features_parquet: str | Path,
    model: Scorecard | MonotoneChallenger,
    out_path: str | Path,
    *,
    single_file: bool = True,
    spark: SparkSession | None = None,
) -> str | Path:
    """A features Parquet (``consumer_id``, the model's features, ``is_scorable``) → scores → Parquet.

    Writes ``consumer_id``, ``status``, ``score``, ``band`` (ordered by ``consumer_id``): the
    scorecard stays a column expression, no Python pass. Uses ``spark`` or :func:`session`.
    """
    spark = spark or session("credo-score")
    frame = spark.read.parquet(str(features_parquet))
    scorable = "is_scorable" if "is_scorable" in frame.columns else None
    return write_parquet(score(spark, frame, model, scorable=scorable).orderBy("consumer_id"), out_path,
                         single_file=single_file)


__all__ = ["EVENTS_VIEW", "FEATURES_VIEW", "JVM_OPTIONS", "LOCAL_DRIVER_MEMORY", "PINNED", "POPULATION_VIEW",
           "SCRATCH_COMPRESSION", "build_features",
           "build_features_to_parquet", "challenger_scores", "check_events", "model_reasons",
           "normalise_events", "population_frame", "read_events", "score", "score_features", "score_to_parquet",
           "session", "spark_feature_query", "staged", "write_parquet"]
