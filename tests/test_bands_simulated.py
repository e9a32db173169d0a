"""On the simulated population, the published bands order observed bad rates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from credo.features import events_from_directory
from credo.features.definitions import FEATURE_NAMES, INQUIRY_FEATURE, monotone_constraints, reason_codes
from credo.features.training import monthly_dates, training_frame
from credo.model import Scorecard
from credo.policy.bands import BANDS, band_index
from credo.simulate import SimulationConfig, simulate_to_directory


@pytest.mark.slow
def test_bands_monotone_in_observed_bad_rate_on_simulated_population(tmp_path: Path) -> None:
    simulate_to_directory(SimulationConfig(consumers=6000, months=24, seed=21), tmp_path)
    frame = training_frame(events_from_directory(tmp_path), monthly_dates(date(2023, 8, 1), date(2024, 1, 1)))
    names = list(FEATURE_NAMES)
    train, valid = frame[frame["sample"] == "train"], frame[frame["sample"] == "validation"]
    model = Scorecard(features=names, monotone_constraints=monotone_constraints(), reason_codes=reason_codes(),
                      inquiry_feature=INQUIRY_FEATURE).fit(train[names], train["label"])
    scores = model.score(valid[names]).to_numpy()
    index = band_index(scores)
    y = valid["label"].to_numpy()
    populated = [i for i in range(len(BANDS)) if (index == i).sum() >= 100]
    rates = [y[index == i].mean() for i in populated]
    assert len(populated) >= 4, f"too few populated bands: {populated}"
    assert all(a > b for a, b in zip(rates, rates[1:])), dict(zip((BANDS[i].name for i in populated), rates))
    assert np.all((scores >= 350) & (scores <= 950))
