"""``credo features build`` and ``credo score --features/--events``: Parquet in, Parquet out, exact."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from credo.cli.main import app
from credo.cli.scale_cmds import spark_function
from credo.features.builder import feature_query
from credo.features.compute import compute_features, to_frame
from credo.features.definitions import FEATURE_NAMES, model_settings
from credo.features.events_table import events_from_directory
from credo.scoring import ModelBundle
from credo.scoring.batch import score_frame
from credo.scoring.training import fit_bundle
from credo.simulate import SimulationConfig, simulate_to_directory

runner = CliRunner()
AS_OF = date(2024, 12, 1)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, Path, pd.DataFrame]:
    """A simulated population, its in-memory features, and a scorecard trained on them."""
    directory = tmp_path_factory.mktemp("sim")
    simulate_to_directory(SimulationConfig(consumers=600, months=24, seed=21, chunk_size=300), directory)
    features = compute_features(events_from_directory(directory), AS_OF)
    bad = pq.read_table(directory / "outcomes.parquet").to_pandas().set_index("consumer_id")["first_bad_date"].notna()
    train = features[features["is_scorable"]]
    bundle = fit_bundle(train[list(FEATURE_NAMES)], bad.reindex(train.index).astype(int), features=FEATURE_NAMES,
                        source="test", with_challenger=False, **model_settings())
    models = tmp_path_factory.mktemp("models")
    bundle.save(models)
    return directory, models, features


def expected_scores(models: Path, features: pd.DataFrame) -> pd.DataFrame:
    return score_frame(ModelBundle.load(models).model("champion"), features)


def test_features_build_writes_the_in_memory_features(world, tmp_path):
    directory, _, want = world
    out = tmp_path / "features.parquet"
    result = runner.invoke(app, ["features", "build", "--events", str(directory), "--as-of", AS_OF.isoformat(),
                                 "--out", str(out), "--memory-limit", "1GB"])
    assert result.exit_code == 0, result.output
    assert "600 consumers" in result.output
    got = to_frame(pq.read_table(out), feature_query(AS_OF)).sort_index()
    pd.testing.assert_frame_equal(got, want, check_exact=True)


@pytest.mark.parametrize("source", ["features", "events"])
def test_score_parquet_equals_the_exact_path(world, tmp_path, source):
    directory, models, features = world
    out = tmp_path / "scores.parquet"
    if source == "features":
        built = tmp_path / "features.parquet"
        assert runner.invoke(app, ["features", "build", "--events", str(directory), "--as-of", AS_OF.isoformat(),
                                   "--out", str(built)]).exit_code == 0
        args = ["--features", str(built)]  # the as-of date comes from the file
    else:
        args = ["--events", str(directory), "--as-of", AS_OF.isoformat()]
    result = runner.invoke(app, ["score", "--models", str(models), "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    got = pd.read_parquet(out).set_index("consumer_id").sort_index()
    want = expected_scores(models, features)
    assert len(got) == 600
    assert (got["status"] == want["status"]).all()
    assert got["score"].astype("Int64").equals(want["score"].astype("Int64"))
    assert got["band"].fillna("-").equals(want["band"].fillna("-"))
    assert [list(r) for r in got["reasons"]] == want["reasons"].tolist()
    assert (got["status"] == "not_enough_data").any() and got.loc[got["status"] == "not_enough_data", "score"].isna().all()
    assert (got["as_of"] == datetime(2024, 12, 1, tzinfo=timezone.utc)).all()
    assert (got["model_version"] == ModelBundle.load(models).version).all()
    assert not list(tmp_path.glob("credo-*"))  # scratch directories removed


def test_score_parquet_refusals(world, tmp_path):
    directory, models, _ = world
    base = ["score", "--models", str(models)]
    cases = [
        ([*base, "--events", str(directory), "--out", str(tmp_path / "s.parquet")], "--events needs --as-of"),
        ([*base, "--events", str(directory), "--as-of", "2024-12-01", "--out", str(tmp_path / "s.csv")],
         "--out FILE.parquet"),
        (["features", "build", "--events", str(directory), "--as-of", "first of may", "--out", str(tmp_path / "f")],
         "is not a date"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert message in result.output


def test_a_missing_spark_function_is_a_clear_exit_2():
    with pytest.raises(typer.Exit) as exited:
        spark_function("no_such_function")
    assert exited.value.exit_code == 2


def test_scores_flow_from_event_parquet_into_the_store(world, tmp_path, engine, store_url):
    """The nightly path end to end: events → features → scores Parquet → one run of the score history."""
    from sqlalchemy import select

    from credo.store.tables import scores
    from tests.scale.store_helpers import enrol, serve

    directory, models, features = world
    out = tmp_path / "scores.parquet"
    result = runner.invoke(app, ["score", "--models", str(models), "--out", str(out), "--events", str(directory),
                                 "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    enrol(engine, *features.index)
    serve(engine, ModelBundle.load(models).version)
    result = runner.invoke(app, ["scores", "load", str(out), "--db", store_url])
    assert result.exit_code == 0, result.output
    want = pd.read_parquet(out).set_index("consumer_id").sort_index()
    with engine.connect() as conn:
        got = pd.DataFrame(conn.execute(select(scores)).mappings().all()).set_index("consumer_id").sort_index()
    assert len(got) == 600 and got["run_id"].nunique() == 1
    assert got["score"].astype("Int64").equals(want["score"].astype("Int64"))
    assert got["band"].fillna("-").equals(want["band"].fillna("-"))
    assert got["status"].equals(want["status"])
    assert [list(r) for r in got["reasons"]] == [list(r) for r in want["reasons"]]


def test_features_build_of_an_id_range(world, tmp_path):
    directory, _, want = world
    ids = sorted(want.index)
    low, high = ids[100], ids[250]
    out = tmp_path / "shard.parquet"
    result = runner.invoke(app, ["features", "build", "--events", str(directory), "--as-of", AS_OF.isoformat(),
                                 "--out", str(out), "--consumers-from", low, "--consumers-to", high])
    assert result.exit_code == 0, result.output
    assert "150 consumers with ids in" in result.output
    got = to_frame(pq.read_table(out), feature_query(AS_OF)).sort_index()
    pd.testing.assert_frame_equal(got, want.loc[low:ids[249]], check_exact=True)
    result = runner.invoke(app, ["features", "build", "--events", str(directory), "--as-of", AS_OF.isoformat(),
                                 "--out", str(out), "--consumers-from", high, "--consumers-to", low])
    assert result.exit_code == 2 and "is not before" in result.output
