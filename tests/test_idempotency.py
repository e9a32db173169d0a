"""Property: replays never change the final state (ingestion is idempotent)."""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from credo.ingest import ingest_records
from credo.store import create_store_engine, events, upgrade_schema
from tests.factories import example, populate

POOL = 6
FIXED_NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)


def _record(index: int, variant: int) -> dict:
    return example("bill.paid", event_id=f"e{index}", amount=f"{10 + index}.{variant:02d}")


def _final_state(batches: list[list[tuple[int, int]]]) -> list[tuple]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_store_engine(f"sqlite:///{Path(tmp) / 's.db'}")
        upgrade_schema(engine)
        populate(engine)
        for batch in batches:
            ingest_records(engine, [_record(i, v) for i, v in batch], partner_id="p-all", now=lambda: FIXED_NOW)
        with engine.connect() as conn:
            rows = conn.execute(
                select(events.c.seq, events.c.event_id, events.c.content_hash, events.c.payload).order_by(events.c.seq)
            ).all()
        engine.dispose()
    return [tuple(r) for r in rows]


batches_strategy = st.lists(
    st.lists(st.tuples(st.integers(0, POOL - 1), st.integers(0, 1)), min_size=1, max_size=8),
    min_size=1,
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(batches_strategy)
def test_batches_with_replays_equal_the_deduplicated_sequence(batches) -> None:  # noqa: ANN001
    seen: set[int] = set()
    first_occurrences: list[tuple[int, int]] = []
    for batch in batches:
        for index, variant in batch:
            if index not in seen:
                seen.add(index)
                first_occurrences.append((index, variant))
    assert _final_state(batches) == _final_state([first_occurrences])
