"""Phase one of ingestion: pure, database-free validation of raw records.

Everything that needs no store happens here — parsing, schema and policy
validation, canonical serialisation and the content hash — so bulk loads can
run it in worker processes while the parent handles the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from credo.events.schemas import event_to_record, payload_hash
from credo.ingest.outcomes import Outcome
from credo.ingest.validation import validate_record

RETRACTION = "event.retraction"


class Prepared(NamedTuple):
    """A valid event, reduced to what the store phase needs.

    A named tuple rather than a dataclass: bulk loads send these between
    processes, and tuples pickle several times faster.
    """

    index: int
    partner_id: str
    event_id: str
    consumer_id: str
    type: str
    occurred_at: datetime
    received_at: datetime
    target_event_id: str | None
    content_hash: str
    payload: str

    @property
    def is_retraction(self) -> bool:
        return self.type == RETRACTION

    def row(self) -> tuple[Any, ...]:
        """The event's row in ``credo.store.tables.EVENT_COLUMNS`` order."""
        return self[1:]


def prepare_records(
    records: Sequence[Any],
    *,
    partner_id: str | None,
    trusted_received_at: bool,
    received_at: datetime,
    first_index: int = 0,
) -> list[Prepared | Outcome]:
    """Validate each record: a :class:`Prepared` event or a rejected :class:`Outcome`."""
    prepared: list[Prepared | Outcome] = []
    for offset, record in enumerate(records):
        index = first_index + offset
        result = validate_record(
            record, partner_id=partner_id, trusted_received_at=trusted_received_at, default_received_at=received_at
        )
        if isinstance(result, list):
            event_id = record.get("event_id") if isinstance(record, dict) else None
            prepared.append(Outcome(index, event_id if isinstance(event_id, str) else None, "rejected", tuple(result)))
            continue
        flat = event_to_record(result)
        target = result.retracts_event_id if flat["type"] == RETRACTION else result.corrects_event_id  # type: ignore[attr-defined]
        prepared.append(
            Prepared(
                index=index,
                partner_id=flat["partner_id"],
                event_id=result.event_id,
                consumer_id=result.consumer_id,
                type=flat["type"],
                occurred_at=result.occurred_at,
                received_at=result.received_at,  # type: ignore[arg-type]
                target_event_id=target,
                content_hash=payload_hash(flat),
                payload=orjson.dumps(flat).decode(),
            )
        )
    return prepared
