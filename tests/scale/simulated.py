"""A simulated population for the Spark parity tests, with a replayed raw file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from credo.features import events_from_directory
from credo.simulate import SimulationConfig, simulate_to_directory


def replayed_population(root: Path, consumers: int, seed: int = 11) -> pa.Table:
    """Simulate 24 months of ``consumers`` into ``root/sim`` and copy its first events file again (a
    replayed file: each of its events twice, for the raw reads to deduplicate); the normalised events,
    also written to ``root/events.parquet``."""
    simulate_to_directory(SimulationConfig(consumers=consumers, months=24, seed=seed), root / "sim")
    parts = sorted((root / "sim" / "events").glob("part-*.parquet"))
    shutil.copy(parts[0], parts[0].with_name("part-99999.parquet"))
    events = events_from_directory(root / "sim")
    pq.write_table(events, root / "events.parquet")
    return events
