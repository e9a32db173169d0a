"""Training snapshots and labels, checked against the simulator's outcomes.parquet."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pandas.testing as pdt
import pyarrow.parquet as pq
import pytest

from credo.features import compute_features, events_from_directory
from credo.features.builder import add_months, as_utc
from credo.features.definitions import FEATURE_NAMES
from credo.features.training import first_bad_dates, monthly_dates, out_of_time_split, training_frame
from credo.simulate import SimulationConfig, simulate_to_directory

HORIZON = 6


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("training_sim")
    simulate_to_directory(SimulationConfig(consumers=400, months=18, seed=21), out)
    outcomes = pq.read_table(out / "outcomes.parquet").to_pandas().set_index("consumer_id")["first_bad_date"]
    return events_from_directory(out), outcomes


@pytest.fixture(scope="module")
def frame(sim):
    events, _ = sim
    return training_frame(events, monthly_dates(date(2023, 7, 1), date(2024, 1, 1)), horizon_months=HORIZON)


def test_first_bad_dates_match_simulator_outcomes(sim):
    events, outcomes = sim
    ours = first_bad_dates(events, sources=("credit_status", "charge_off"))
    truth = outcomes.dropna()
    assert len(truth) > 0
    assert ours.to_dict() == truth.to_dict()


def test_labels_consistent_with_outcomes(sim, frame):
    _, outcomes = sim
    assert set(frame.columns) == {"consumer_id", "observation_date", *FEATURE_NAMES, "label", "bad_date", "sample"}
    assert frame["label"].sum() > 0
    for row in frame[["consumer_id", "observation_date", "label"]].itertuples(index=False):
        first_bad = outcomes.get(row.consumer_id)
        first_bad = None if first_bad is None or pd.isna(first_bad) else first_bad
        horizon_end = add_months(as_utc(row.observation_date), HORIZON).date()
        # nobody already bad at the observation date is kept
        assert first_bad is None or first_bad >= row.observation_date
        if row.label == 1:  # a consumer labelled bad has a first_bad_date inside the horizon
            assert first_bad is not None and row.observation_date <= first_bad < horizon_end
        else:
            assert first_bad is None or first_bad >= horizon_end


def test_only_scorable_consumers_and_features_as_of_the_date(sim, frame):
    events, _ = sim
    d = date(2023, 10, 1)
    snap = frame[frame["observation_date"] == d].set_index("consumer_id")
    full = compute_features(events, as_utc(d))
    scorable = full[full["is_scorable"]]
    assert set(snap.index) <= set(scorable.index)
    pdt.assert_frame_equal(snap[list(FEATURE_NAMES)], scorable.loc[snap.index, list(FEATURE_NAMES)],
                           check_exact=True, check_names=False)


def test_out_of_time_split(frame):
    train = frame[frame["sample"] == "train"]["observation_date"]
    valid = frame[frame["sample"] == "validation"]["observation_date"]
    assert len(train) and len(valid) and train.max() < valid.min()
    two = out_of_time_split(frame, validation_dates=2)
    assert sorted(frame.loc[two == "validation", "observation_date"].unique()) == [date(2023, 12, 1), date(2024, 1, 1)]


def test_incomplete_horizons_are_dropped(sim):
    events, _ = sim
    with pytest.warns(UserWarning, match="dropped"):
        out = training_frame(events, [date(2024, 1, 1), date(2024, 3, 1)], horizon_months=6)
    assert set(out["observation_date"]) == {date(2024, 1, 1)}
