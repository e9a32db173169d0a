"""Train, score and report from the command line: store, flat table, external labels."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from credo.cli.main import app
from credo.features.definitions import SCORING_CRITERIA
from credo.policy.bands import SCORE_MAX, SCORE_MIN
from credo.registry import enrol_consumer
from credo.scoring import ModelBundle
from credo.store import create_store_engine, scores

runner = CliRunner()
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def simulated_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = tmp_path_factory.mktemp("sim")
    db = f"sqlite:///{directory / 's.db'}"
    result = runner.invoke(app, ["simulate", "--consumers", "400", "--months", "20", "--seed", "3",
                                 "--into-store", "--db", db])
    assert result.exit_code == 0, result.output
    return db


@pytest.fixture(scope="module")
def store_models(simulated_store: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    models = tmp_path_factory.mktemp("store-models")
    trained = runner.invoke(app, ["train", "--db", simulated_store, "--models", str(models)])
    assert trained.exit_code == 0, trained.output
    return models


def test_train_score_report_from_the_store(simulated_store: str, store_models: Path, tmp_path: Path) -> None:
    models = store_models
    bundle = ModelBundle.load(models)
    assert bundle.challenger is not None
    assert bundle.manifest["validation"]["champion"]["auc"] > 0.7

    engine = create_store_engine(simulated_store)
    with engine.begin() as conn:
        enrol_consumer(conn, "newcomer")
        recorded = conn.execute(select(func.count()).select_from(scores)).scalar_one()  # other tests score too
    out = tmp_path / "scores.parquet"
    scored = runner.invoke(app, ["score", "--db", simulated_store, "--models", str(models), "--out", str(out)])
    assert scored.exit_code == 0, scored.output
    frame = pd.read_parquet(out).set_index("consumer_id")
    assert frame.loc["newcomer", "status"] == "not_enough_data" and pd.isna(frame.loc["newcomer", "score"])
    ok = frame[frame["status"] == "scored"]
    assert len(ok) > 300 and ok["score"].between(SCORE_MIN, SCORE_MAX).all()
    assert ok["reasons"].map(len).le(5).all()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(scores)).scalar_one() == recorded + len(frame)

    html = tmp_path / "report.html"
    reported = runner.invoke(app, ["report", "--models", str(models), "--out", str(html)])
    assert reported.exit_code == 0, reported.output
    text = html.read_text()
    for heading in ("AUC", "Gini", "KS", "PSI", "Calibration", "Points table", "Model card", "Limitations"):
        assert heading in text


def test_train_on_a_users_own_table(tmp_path: Path) -> None:
    frame = pd.read_csv(DATA / "german.data", sep=r"\s+", header=None)
    frame.columns = [f"a{i}" for i in range(1, 21)] + ["target"]
    frame["target"] = (frame["target"] == 2).astype(int)
    path = tmp_path / "german.csv"
    frame.to_csv(path, index=False)
    models = tmp_path / "m"
    result = runner.invoke(app, ["train", "--data", str(path), "--target", "target", "--exclude", "a9,a13,a20",
                                 "--models", str(models), "--no-challenger"])
    assert result.exit_code == 0, result.output
    bundle = ModelBundle.load(models)
    assert not {"a9", "a13", "a20", "target"} & set(bundle.champion.features_)
    assert bundle.manifest["validation"]["champion"]["auc"] > 0.65


def test_train_and_score_german_credit_as_shipped(tmp_path: Path) -> None:
    """The UCI file as it comes: whitespace separated (sniffed), no header, target c21 with 2 = bad."""
    models = tmp_path / "m"
    result = runner.invoke(app, ["train", "--data", str(DATA / "german.data"), "--no-header", "--target", "c21",
                                 "--bad-value", "2", "--exclude", "c9,c13,c20", "--models", str(models),
                                 "--no-challenger"])
    assert result.exit_code == 0, result.output
    bundle = ModelBundle.load(models)
    assert set(bundle.champion.features_) == {f"c{i}" for i in range(1, 21)} - {"c9", "c13", "c20"}
    assert bundle.manifest["inputs"]["bad_value"] == "2"
    assert bundle.manifest["validation"]["bad_rate"] == pytest.approx(0.3, abs=0.01)  # 300 of 1,000 are bad
    assert bundle.manifest["validation"]["champion"]["auc"] > 0.7
    # every input without a declared direction follows its bad rates, and the run says whether any does not
    flagged = bundle.manifest["direction_exceptions"]
    for item in flagged:
        assert f"flag {item['feature']}" in result.output
    if not flagged:
        assert "every input's points follow its bad rates" in result.output

    out = tmp_path / "scores.parquet"
    scored = runner.invoke(app, ["score", "--data", str(DATA / "german.data"), "--no-header", "--models",
                                 str(models), "--out", str(out)])
    assert scored.exit_code == 0, scored.output
    frame = pd.read_parquet(out)
    assert len(frame) == 1000 and frame["score"].between(SCORE_MIN, SCORE_MAX).all()
    assert frame["reasons"].str.split(";").map(len).le(5).all()

    store = runner.invoke(app, ["score", "--models", str(models), "--db", f"sqlite:///{tmp_path / 's.db'}"])
    assert store.exit_code == 2 and "Traceback" not in store.output
    assert "trained on a table (german.data); score tables with --data" in store.output


def test_score_says_why_nobody_is_scorable(simulated_store: str, store_models: Path) -> None:
    result = runner.invoke(app, ["score", "--db", simulated_store, "--models", str(store_models),
                                 "--as-of", "2000-01-01"])
    assert result.exit_code == 0, result.output
    assert "Nobody is scorable as of 2000-01-01: events run from " in result.output
    assert f"Minimum scoring criteria: {SCORING_CRITERIA.describe()}" in result.output.replace("\n", " ")


def test_score_as_of_defaults_to_now(simulated_store: str, store_models: Path) -> None:
    before = datetime.now(timezone.utc)
    result = runner.invoke(app, ["score", "--db", simulated_store, "--models", str(store_models)])
    assert result.exit_code == 0, result.output
    engine = create_store_engine(simulated_store)
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(scores.c.as_of))).scalar_one()
    latest = latest if latest.tzinfo else latest.replace(tzinfo=timezone.utc)
    assert before <= latest <= datetime.now(timezone.utc)


def test_a_column_that_would_run_backwards_is_turned_the_way_its_data_shows(tmp_path: Path) -> None:
    """A column without a declared direction whose risk falls as it rises: its points rise with it (the
    fit never gives the riskier bins more points), and an applicant in its safest range is never told it
    is a reason."""
    import numpy as np

    rng = np.random.default_rng(4)
    n = 3000
    months_at_address = rng.integers(0, 240, n)
    utilisation = rng.uniform(0, 1, n)
    risk = -1.0 - 0.012 * months_at_address + 1.5 * utilisation
    bad = rng.random(n) < 1 / (1 + np.exp(-risk))
    path = tmp_path / "apps.csv"
    pd.DataFrame({"tenure_months": months_at_address, "utilisation_pct": [f"{100 * u:.1f}%" for u in utilisation],
                  "bad": bad.astype(int)}).to_csv(path, index=False)
    models = tmp_path / "m"
    result = runner.invoke(app, ["train", "--data", str(path), "--target", "bad", "--models", str(models),
                                 "--no-challenger"])
    assert result.exit_code == 0, result.output
    card = ModelBundle.load(models).champion
    probe = pd.DataFrame({"tenure_months": [5.0, 120.0, 230.0], "utilisation_pct": [50.0, 50.0, 50.0]})
    points = card.points(probe)["tenure_months"]
    assert points.is_monotonic_increasing and points.iloc[-1] > points.iloc[0]
    safest = pd.DataFrame({"tenure_months": [230.0], "utilisation_pct": [90.0]})
    assert "RX:tenure_months" not in list(card.reasons(safest).iloc[0])
