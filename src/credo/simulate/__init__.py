"""Deterministic, vectorised simulation of a consenting population and its event stream.

>>> from credo.simulate import SimulationConfig, simulate_to_directory
>>> summary = simulate_to_directory(SimulationConfig(consumers=1000, months=12, seed=7), Path("out"))

See :mod:`credo.simulate.engine` for the behavioural model and
:mod:`credo.simulate.assemble` for the column layout of the event tables.
"""

from credo.simulate.assemble import EVENT_SCHEMA
from credo.simulate.config import SimulationChunk, SimulationConfig, SimulationSummary
from credo.simulate.engine import simulate_chunk
from credo.simulate.partners import partners
from credo.simulate.writer import iter_simulation, simulate_to_directory, write_jsonl

__all__ = [
    "EVENT_SCHEMA",
    "SimulationChunk",
    "SimulationConfig",
    "SimulationSummary",
    "iter_simulation",
    "partners",
    "simulate_chunk",
    "simulate_to_directory",
    "write_jsonl",
]
