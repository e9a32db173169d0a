"""Spark (local mode) equals DuckDB exactly on a simulated population: every feature, score, status, band.

One Spark session for the module (``local[1]``, one shuffle partition): it costs ~10 s to start.
The feature build runs once on each engine; every test compares against those runs.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from credo.features import EVENTS_SCHEMA, compute_features, feature_query
from credo.features.compute import run_query, to_frame
from credo.features.definitions import FEATURE_NAMES, model_settings
from credo.features.training import monthly_dates, training_frame
from credo.model import MonotoneChallenger
from credo.scale import spark as credo_spark
from credo.scale.score import SCORES_SCHEMA, features_as_of
from credo.scale.scorecard_sql import scoring_sql, to_spark
from credo.scoring.batch import score_frame
from credo.scoring.training import fit_bundle
from tests.scale.simulated import replayed_population
from tests.scale.test_spark_scorecard_sql import FEATURES, edge_values, synthetic_scorecard

AS_OF = datetime(2024, 6, 15, 12, 30, tzinfo=timezone.utc)  # not a midnight, on purpose
NOBODY = "c-nobody"  # in the population, with no event


@pytest.fixture(scope="module")
def spark():
    # C1-only JIT: this JVM lives for a minute of small queries, where C2 compiling costs more than it
    # gains (the feature build measured 38 s -> 21 s); the time zone stays pinned
    session = credo_spark.session("credo-tests", master="local[1]", shuffle_partitions=1, driver_memory="1g",
                                  conf={"spark.default.parallelism": "1",
                                        "spark.driver.extraJavaOptions": "-Duser.timezone=UTC -XX:TieredStopAtLevel=1"})
    yield session
    session.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Simulated events (normalised, and as Parquet), the DuckDB features and a bundle trained on them."""
    root = tmp_path_factory.mktemp("spark_parity")
    events = replayed_population(root, 400)
    population = sorted(set(events.column("consumer_id").to_pylist())) + [NOBODY]
    duck = compute_features(events, AS_OF, consumers=population)
    frame = training_frame(events, monthly_dates(date(2023, 9, 1), date(2024, 1, 1)))
    train = frame[frame["sample"] == "train"]
    names = list(FEATURE_NAMES)
    settings = model_settings()
    # the shipped settings, with the quick options (one pre-binning, a short boosting run) to keep CI fast
    champion = fit_bundle(train[names], train["label"], features=names, source="test", with_challenger=False,
                          scorecard_params={"binning_params": {"max_n_prebins": 20, "min_prebin_size": 0.05}},
                          **settings).champion
    challenger = MonotoneChallenger(
        features=names, monotone_constraints=settings["directions"], null_values=settings["null_values"],
        reason_codes=settings["codes"], n_estimators=200, learning_rate=0.1, early_stopping_rounds=20, n_jobs=1,
    ).fit(train[names], train["label"])
    models = {"champion": champion, "challenger": challenger}
    return {"root": root, "events": events, "population": population, "duck": duck, "models": models}


@pytest.fixture(scope="module")
def spark_features(spark, world):
    """The Spark feature build through the CLI's entry point: the simulator's raw files (with the replayed
    one) normalised by the DuckDB build's SQL, its replayed copies left out, features into one local Parquet."""
    out = credo_spark.build_features_to_parquet(world["root"] / "sim", AS_OF, world["root"] / "features.parquet",
                                                population=world["population"], spark=spark)
    return pq.read_table(out)


def test_every_feature_equals_duckdb(world, spark_features):
    duck = world["duck"]
    query = feature_query(AS_OF)
    # the population is every consumer once, in the same order, and the thing compared is not trivial
    assert spark_features.column("consumer_id").to_pylist() == list(duck.index)
    assert duck["is_scorable"].sum() > 100 and (~duck["is_scorable"]).sum() >= 1
    assert duck.isna().to_numpy().any()  # some measures are NULL
    # same column types as DuckDB's own result (counts BIGINT, measures DOUBLE, is_scorable BOOLEAN)
    duck_arrow = run_query(query, world["events"], world["population"])
    assert [(f.name, f.type) for f in spark_features.schema] == [(f.name, f.type) for f in duck_arrow.schema]
    # every value, NULL in the same places (NaN in the frame), exactly
    pdt.assert_frame_equal(to_frame(spark_features, query), duck, check_exact=True)
    assert [c.null_count for c in spark_features.columns] == [c.null_count for c in duck_arrow.columns]
    assert features_as_of(world["root"] / "features.parquet") == AS_OF  # recorded as the DuckDB build does
    nobody = to_frame(spark_features, query).loc[NOBODY]
    assert not nobody["is_scorable"] and nobody["late_payments_12m"] == 0


def _spark_scores(spark, model, features: pa.Table) -> pd.DataFrame:
    got = credo_spark.score(spark, spark.createDataFrame(features), model).toArrow().to_pylist()
    return pd.DataFrame(got, dtype=object).set_index("consumer_id")


def _values(column: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in column.tolist()]


@pytest.mark.parametrize("which", ["champion", "challenger"])
def test_every_score_status_and_band_equal_score_frame(spark, world, spark_features, which):
    model = world["models"][which]
    got = _spark_scores(spark, model, spark_features).loc[world["duck"].index]
    expected = score_frame(model, world["duck"])
    assert got["status"].tolist() == expected["status"].tolist()
    assert _values(got["score"]) == _values(expected["score"])
    assert _values(got["band"]) == _values(expected["band"])
    assert len(set(_values(got["score"]))) > 20  # a real spread of scores, not one value


def test_spark_runs_the_scorecard_sql_over_every_edge_value(spark):
    """NaN, NULL, ±inf, -0.0, specials and each cut point ± one ulp: Spark's CASE equals Scorecard.score."""
    model = synthetic_scorecard()
    values = edge_values(model)
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({f: rng.choice(np.array(values, dtype=float), 400) for f in FEATURES})
    frame.index = pd.Index([f"c{i:04d}" for i in range(len(frame))], name="consumer_id")
    table = pa.Table.from_pandas(frame.reset_index(), preserve_index=False)
    # NULL as well as NaN: every fifth value of each feature
    table = pa.table({name: pa.array([None if (name != "consumer_id" and i % 5 == j % 5) else v
                                      for i, v in enumerate(table.column(name).to_pylist())],
                                     type=table.schema.field(name).type)
                      for j, name in enumerate(table.column_names)})
    spark_frame = spark.createDataFrame(table)
    got = credo_spark.score(spark, spark_frame, model, scorable=None).toArrow().to_pylist()
    scores = pd.Series({r["consumer_id"]: r["score"] for r in got}).loc[frame.index]
    X = table.to_pandas().set_index("consumer_id")[FEATURES].astype(float)
    assert frame.isna().to_numpy().any() and all(table.column(f).null_count for f in FEATURES)  # NaN and NULL
    assert scores.tolist() == model.score(X).tolist()
    # the generated Spark text is the transpile of the DuckDB text
    assert to_spark(scoring_sql(model, credo_spark.FEATURES_VIEW, scorable=None)).count("CASE WHEN") >= len(FEATURES)


def test_score_to_parquet_writes_what_score_frame_says(spark, world, tmp_path):
    model = world["models"]["champion"]
    features = world["root"] / "features.parquet"
    out = credo_spark.score_to_parquet(features, model, tmp_path / "scores.parquet", spark=spark)
    got = pq.read_table(out)
    assert got.column_names == ["consumer_id", "status", "score", "band"]
    expected = score_frame(model, world["duck"])
    assert got.column("consumer_id").to_pylist() == list(expected.index)
    assert got.column("score").to_pylist() == _values(expected["score"])


@pytest.mark.parametrize("which", ["champion", "challenger"])
def test_score_features_writes_what_the_duckdb_scorer_writes(spark, world, tmp_path, which):
    """The CLI's --engine spark scorer: the DuckDB scorer's schema, and score_frame's values and reasons."""
    model = world["models"][which]
    out = credo_spark.score_features(world["root"] / "features.parquet", model, "v-test", tmp_path / "s.parquet",
                                     spark=spark)
    got = pq.read_table(out)
    assert got.schema.equals(SCORES_SCHEMA)
    expected = score_frame(model, world["duck"])
    assert got.column("consumer_id").to_pylist() == list(expected.index)
    assert set(got.column("as_of").to_pylist()) == {AS_OF} and set(got.column("model_version").to_pylist()) == {"v-test"}
    assert got.column("status").to_pylist() == expected["status"].tolist()
    assert got.column("score").to_pylist() == _values(expected["score"])
    assert got.column("band").to_pylist() == _values(expected["band"])
    assert got.column("reasons").to_pylist() == [list(r) for r in expected["reasons"]]
    assert sum(bool(r) for r in expected["reasons"]) > 100  # reasons are really compared


def test_session_pins_utc_ansi_and_the_codegen_limit(spark):
    for key, value in credo_spark.PINNED.items():
        if key.startswith("spark.sql."):
            assert spark.conf.get(key) == value, key
    assert spark.sql("SELECT CAST(TIMESTAMP '2024-11-30 23:30:00' AS DATE) AS d").first()["d"] == date(2024, 11, 30)
    assert spark._jvm.java.util.TimeZone.getDefault().getID() == "UTC"  # the JVM too (-Duser.timezone)
    context = spark.sparkContext.getConf()
    for key, value in credo_spark.SCRATCH_COMPRESSION.items():  # checkpoints and shuffles compressed on disk
        assert context.get(key) == value, key
    # a second call returns the running session with the settings stated again
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    again = credo_spark.session("credo-tests")
    assert again is spark and spark.conf.get("spark.sql.session.timeZone") == "UTC"


def test_bad_input_is_refused_by_name(spark, world):
    events = spark.read.parquet(str(world["root"] / "events.parquet"))
    assert credo_spark.check_events(events, EVENTS_SCHEMA.names) is None  # the normalised table passes
    with pytest.raises(ValueError, match="column received_at is missing"):
        credo_spark.build_features(spark, events.drop("received_at"), AS_OF)
    with pytest.raises(ValueError, match="column amount_minor is string, expected bigint"):
        credo_spark.build_features(spark, events.withColumn("amount_minor", events["amount_minor"].cast("string")),
                                   AS_OF)
    with pytest.raises(ValueError, match="naive|timezone"):
        credo_spark.build_features(spark, events, datetime(2024, 6, 15))
    features = spark.createDataFrame(pd.DataFrame({"consumer_id": ["a"], "is_scorable": [True]}))
    with pytest.raises(ValueError, match="column .* is missing"):
        credo_spark.score(spark, features, world["models"]["champion"])


def test_staged_computes_a_shared_cte_once_with_the_same_result(spark, tmp_path):
    """The Spark-only rewrite: a CTE read twice is kept (one checkpoint), a plain scan is read again."""
    pq.write_table(pa.table({"k": ["a", "b", "a", "c"], "v": [1, 2, 3, 4]}), tmp_path / "t.parquet")
    spark.read.parquet(str(tmp_path / "t.parquet")).createOrReplaceTempView("t")
    sql = ("WITH s AS (SELECT k, v FROM t WHERE v > 1), g AS (SELECT k, SUM(v) AS total FROM s GROUP BY k) "
           "SELECT g.k, g.total, h.total AS again FROM g JOIN g AS h ON h.k = g.k JOIN s ON s.k = g.k ORDER BY g.k")
    staged = credo_spark.staged(spark, sql)
    assert [tuple(r) for r in staged.collect()] == [tuple(r) for r in spark.sql(sql).collect()] == \
        [("a", 3, 3), ("b", 2, 2), ("c", 4, 4)]
    plan = staged._jdf.queryExecution().optimizedPlan().toString()
    assert plan.count("LogicalRDD") == 2  # g, checkpointed, at both its readers
    assert plan.count("Relation ") == 1  # s is a filtered scan: read where it is used
