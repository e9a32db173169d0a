"""Configuration and result containers of the simulator."""

from __future__ import annotations

from dataclasses import dataclass, field
import calendar
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa

from credo.events.types import currency_exponent


#: Where a population starts when no end date is given (a fixed window keeps tests deterministic).
DEFAULT_START = date(2023, 1, 1)


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, clamped to the target month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate.

    The data covers ``[start, end)``: nothing occurs or is received on or after
    ``end`` (events that would arrive later do not exist yet), and ``start`` is
    ``months`` calendar months before ``end``. Without ``end`` the population
    starts on :data:`DEFAULT_START` (deterministic, for tests and benchmarks);
    ``credo simulate`` and ``credo demo`` pass today's date.

    The output is a pure function of ``(consumers, months, seed, end,
    chunk_size, currency)``: chunk ``i`` holds consumers
    ``[i * chunk_size, (i + 1) * chunk_size)`` and draws from
    ``numpy.random.default_rng([seed, i])``, so chunks are independent of one
    another and of the order they are produced in. Changing ``chunk_size``
    changes the population drawn.
    """

    consumers: int
    months: int
    seed: int
    end: date | None = None
    chunk_size: int = 20_000
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if self.consumers < 0:
            raise ValueError("consumers must be >= 0")
        if not 1 <= self.months <= 240:
            raise ValueError("months must be between 1 and 240")
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")
        if self.seed < 0:
            raise ValueError("seed must be >= 0")
        currency_exponent(self.currency)  # raises on a non-money currency
        if self.end is None:
            object.__setattr__(self, "end", add_months(DEFAULT_START, self.months))
        elif isinstance(self.end, datetime) or not isinstance(self.end, date):
            raise ValueError("end must be a calendar date")

    @property
    def start(self) -> date:
        """The first day of the data: ``months`` calendar months before ``end``."""
        return add_months(self.end, -self.months)

    @property
    def n_chunks(self) -> int:
        return -(-self.consumers // self.chunk_size)

    def chunk_bounds(self, chunk_index: int) -> tuple[int, int]:
        first = chunk_index * self.chunk_size
        return first, min(first + self.chunk_size, self.consumers)


@dataclass
class SimulationChunk:
    """One chunk of simulated consumers and everything about them.

    ``consumers`` holds the latent truth (for evaluation only, never events);
    ``consents`` the explicit opt-ins; ``events`` flat event records sorted by
    ``received_at``; ``outcomes`` the first bad date per consumer; ``audit`` the
    synthetic audit-only attributes (fairness tests only, never events or features).
    """

    index: int
    first_consumer: int
    consumers: pa.Table
    consents: pa.Table
    events: pa.Table
    outcomes: pa.Table
    audit: pa.Table


@dataclass
class SimulationSummary:
    """Counts describing a finished simulation (``summary.json`` minus timings)."""

    consumers: int
    months: int
    seed: int
    start: str
    end: str
    currency: str
    chunk_size: int
    chunks: int
    events: int
    consents: int
    events_by_type: dict[str, int]
    borrowers: int
    bad: int
    bad_non_borrowers: int
    thin_file: int
    never_borrows: int
    elapsed_seconds: float = 0.0
    out_dir: Path | None = None
    format: str = "parquet"
    files: list[str] = field(default_factory=list)

    @property
    def bad_rate(self) -> float:
        """Share of consumers with a bad event anywhere in the data (:mod:`credo.policy.outcome`)."""
        return self.bad / self.consumers if self.consumers else 0.0

    @property
    def events_per_consumer_month(self) -> float:
        denom = self.consumers * self.months
        return self.events / denom if denom else 0.0

    def to_json_dict(self) -> dict[str, object]:
        """Deterministic content of ``summary.json`` (no timings, no paths)."""
        return {
            "consumers": self.consumers,
            "months": self.months,
            "seed": self.seed,
            "start": self.start,
            "end": self.end,
            "currency": self.currency,
            "chunk_size": self.chunk_size,
            "chunks": self.chunks,
            "format": self.format,
            "events": self.events,
            "events_per_consumer_month": round(self.events_per_consumer_month, 4),
            "events_by_type": dict(sorted(self.events_by_type.items())),
            "consents": self.consents,
            "borrowers": self.borrowers,
            "bad": self.bad,
            "bad_non_borrowers": self.bad_non_borrowers,
            "bad_rate": round(self.bad_rate, 6),
            "thin_file": self.thin_file,
            "never_borrows": self.never_borrows,
            "files": sorted(self.files),
        }
