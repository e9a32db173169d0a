"""Online (one consumer, from the store) equals batch (population) exactly, on a simulated population."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pandas.testing as pdt
import pytest

from credo.features import compute_features, consumer_features, events_from_directory, events_from_store
from credo.features.training import monthly_dates, training_frame, training_frame_from_store
from credo.ingest.world import ingest_directory, load_registry
from credo.simulate import SimulationConfig, simulate_to_directory

AS_OF = datetime(2024, 2, 15, 12, 30, tzinfo=timezone.utc)  # not a midnight, on purpose


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("online_batch_sim")
    simulate_to_directory(SimulationConfig(consumers=150, months=18, seed=3), out)
    return out


def test_online_equals_batch_for_every_consumer(engine, sim_dir):
    load_registry(engine, sim_dir)
    report = ingest_directory(engine, sim_dir)
    assert report.rejected == 0
    store_events = events_from_store(engine)
    batch = compute_features(store_events, AS_OF)
    assert len(batch) == 150 and batch["is_scorable"].sum() > 100
    online = pd.concat([consumer_features(engine, cid, AS_OF) for cid in batch.index])
    pdt.assert_frame_equal(online, batch, check_exact=True)  # exact, NaN in the same places
    # the store and the simulator's files give the same features (same events, same typing)
    pdt.assert_frame_equal(compute_features(events_from_directory(sim_dir), AS_OF), batch, check_exact=True)
    # the training frame reads the same from the store as from the files
    dates = monthly_dates(datetime(2023, 12, 1).date(), datetime(2024, 1, 1).date())
    pdt.assert_frame_equal(training_frame_from_store(engine, dates, horizon_months=6),
                           training_frame(events_from_directory(sim_dir), dates, horizon_months=6),
                           check_exact=True)


def test_online_for_unknown_consumer_is_an_empty_unscorable_row(engine):
    row = consumer_features(engine, "c-nobody", AS_OF)
    assert list(row.index) == ["c-nobody"]
    assert not row["is_scorable"].iloc[0] and row["late_payments_12m"].iloc[0] == 0
