"""Phase one of ingestion: pure, database-free validation of raw records.

Everything that needs no store happens here — parsing, schema and policy
validation, canonical serialisation and the content hash — so bulk loads can
run it in worker processes while the parent handles the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from credo.events.schemas import content_digest, event_json
from credo.ingest.outcomes import Outcome
from credo.ingest.validation import validate_record

RETRACTION = "event.retraction"


def target_field(event_type: str) -> str:
    """The field naming the earlier event a correction or retraction is about."""
    return "retracts_event_id" if event_type == RETRACTION else "corrects_event_id"


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
    occurred_at: str  # UTC instant as SQL text (see utc_text)
    received_at: str
    target_event_id: str | None
    content_hash: str
    payload: str

    @property
    def is_retraction(self) -> bool:
        return self.type == RETRACTION

    def row(self) -> tuple[Any, ...]:
        """The event's row in ``credo.store.tables.EVENT_COLUMNS`` order."""
        return self[1:]


def utc_text(moment: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS.ffffff+00:00``: a UTC instant every store reads exactly.

    Formatted here, in the validation workers of a bulk load, because doing it
    in the single store process cost a sixth of its time.
    """
    return moment.isoformat(" ", "microseconds")


def prepare_records(
    records: Sequence[Any],
    *,
    partner_id: str | None,
    trusted_received_at: bool,
    received_at: datetime,
    first_index: int = 0,
    indices: Sequence[int] | None = None,
) -> list[Prepared | Outcome]:
    """Validate each record: a :class:`Prepared` event or a rejected :class:`Outcome`.

    Records are numbered from ``first_index``, or by ``indices`` when given.
    """
    prepared: list[Prepared | Outcome] = []
    for offset, record in enumerate(records):
        index = first_index + offset if indices is None else indices[offset]
        result = validate_record(
            record, partner_id=partner_id, trusted_received_at=trusted_received_at, default_received_at=received_at
        )
        if isinstance(result, list):
            event_id = record.get("event_id") if isinstance(record, dict) else None
            prepared.append(Outcome(index, event_id if isinstance(event_id, str) else None, "rejected", tuple(result)))
            continue
        etype: str = result.type  # type: ignore[attr-defined]
        target = getattr(result, target_field(etype))
        prepared.append(
            Prepared(
                index=index,
                partner_id=result.partner_id,  # type: ignore[arg-type]
                event_id=result.event_id,
                consumer_id=result.consumer_id,
                type=etype,
                occurred_at=utc_text(result.occurred_at),
                received_at=utc_text(result.received_at),  # type: ignore[arg-type]
                target_event_id=target,
                content_hash=content_digest(result),
                payload=event_json(result),
            )
        )
    return prepared
