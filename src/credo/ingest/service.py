"""Batch ingestion: the one code path behind the API and ``credo ingest``.

A batch is handled in a single transaction. Each event is validated, checked
against the partner's permitted types and the consumer's consent, and
de-duplicated on (partner, event_id): the same content again is a
``duplicate``; different content under the same id is a conflict and is never
written. Rejected events write nothing at all. When the transaction commits the
accepted events are acknowledged; if it does not, nothing of the batch is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from credo.errors import ErrorCode
from credo.events.schemas import EventBase, event_to_record, payload_hash
from credo.ingest.outcomes import Outcome, Problem
from credo.ingest.validation import validate_record
from credo.registry.clock import utcnow
from credo.registry.consents import ConsentState, report_consent_states
from credo.store.tables import events, partners

RETRACTION = "event.retraction"


@dataclass(slots=True)
class _Candidate:
    index: int
    event: EventBase
    record: dict[str, Any]
    digest: str


def _problem(code: ErrorCode, field: str | None, rule: str, message: str) -> tuple[Problem, ...]:
    return (Problem(code, field, rule, message),)


def _consent_problem(state: ConsentState | None, enrolled: bool, etype: str) -> tuple[Problem, ...] | None:
    if not enrolled:
        return _problem(
            ErrorCode.CONSUMER_NOT_ENROLLED, "consumer_id", "enrolled consumer", "consumer is not enrolled with Credo"
        )
    if state is ConsentState.GIVEN:
        return None
    if state is ConsentState.WITHDRAWN:
        return _problem(
            ErrorCode.CONSENT_WITHDRAWN,
            "consumer_id",
            "consent to report",
            f"the consumer withdrew consent for this partner to report {etype}",
        )
    return _problem(
        ErrorCode.CONSENT_NOT_GIVEN,
        "consumer_id",
        "consent to report",
        f"the consumer has not consented to this partner reporting {etype}",
    )


def _existing(conn: Connection, partner_id: str, ids: Sequence[str]) -> dict[str, tuple[str, str, str]]:
    """event_id → (content hash, type, consumer) of events this partner already stored."""
    found: dict[str, tuple[str, str, str]] = {}
    for start in range(0, len(ids), 5000):
        rows = conn.execute(
            select(events.c.event_id, events.c.content_hash, events.c.type, events.c.consumer_id).where(
                events.c.partner_id == partner_id, events.c.event_id.in_(ids[start : start + 5000])
            )
        )
        for event_id, digest, etype, consumer_id in rows:
            found[event_id] = (digest, etype, consumer_id)
    return found


def _target_problem(
    event: EventBase, target_id: str, known: dict[str, tuple[str, str, str]]
) -> tuple[Problem, ...] | None:
    field = "retracts_event_id" if event.type == RETRACTION else "corrects_event_id"  # type: ignore[attr-defined]
    target = known.get(target_id)
    if target is None:
        return _problem(
            ErrorCode.TARGET_NOT_FOUND, field, "earlier event of this partner", f"no event {target_id!r} from this partner"
        )
    _, ttype, tconsumer = target
    if tconsumer != event.consumer_id:
        return _problem(ErrorCode.TARGET_MISMATCH, field, "same consumer", "the target event is about another consumer")
    if event.type == RETRACTION and ttype == RETRACTION:  # type: ignore[attr-defined]
        return _problem(ErrorCode.TARGET_MISMATCH, field, "not a retraction", "a retraction cannot be retracted")
    if event.type != RETRACTION and ttype != event.type:  # type: ignore[attr-defined]
        return _problem(
            ErrorCode.TARGET_MISMATCH, field, "same event type", f"a correction must have the target's type {ttype}"
        )
    return None


def _target_of(event: EventBase) -> str | None:
    if event.type == RETRACTION:  # type: ignore[attr-defined]
        return event.retracts_event_id  # type: ignore[attr-defined]
    return event.corrects_event_id


def ingest_batch(
    conn: Connection,
    records: Sequence[Any],
    *,
    partner_id: str | None = None,
    trusted_received_at: bool = False,
    now: datetime | None = None,
) -> list[Outcome]:
    """Ingest ``records`` inside the caller's transaction and answer per record."""
    received = now or utcnow()
    outcomes: list[Outcome | None] = [None] * len(records)
    by_partner: dict[str, list[_Candidate]] = {}
    for index, record in enumerate(records):
        result = validate_record(record, partner_id=partner_id, trusted_received_at=trusted_received_at)
        if isinstance(result, list):
            event_id = record.get("event_id") if isinstance(record, dict) else None
            outcomes[index] = Outcome(index, event_id if isinstance(event_id, str) else None, "rejected", tuple(result))
            continue
        if result.received_at is None:
            result = result.model_copy(update={"received_at": received})
        rec = event_to_record(result)
        by_partner.setdefault(result.partner_id, []).append(_Candidate(index, result, rec, payload_hash(rec)))

    rows: list[dict[str, Any]] = []
    for pid, candidates in by_partner.items():
        allowed = conn.execute(select(partners.c.event_types).where(partners.c.id == pid)).scalar_one_or_none()
        consent = report_consent_states(conn, pid, [c.event.consumer_id for c in candidates])
        wanted = {c.event.event_id for c in candidates}
        wanted.update(t for c in candidates if (t := _target_of(c.event)))
        known = _existing(conn, pid, sorted(wanted))
        for cand in candidates:
            ev = cand.event
            etype: str = ev.type  # type: ignore[attr-defined]
            problems = _check(ev, etype, pid, allowed, consent, known, cand.digest)
            if problems == "duplicate":
                outcomes[cand.index] = Outcome(cand.index, ev.event_id, "duplicate")
                continue
            if problems:
                outcomes[cand.index] = Outcome(cand.index, ev.event_id, "rejected", problems)
                continue
            known[ev.event_id] = (cand.digest, etype, ev.consumer_id)
            rows.append(
                {
                    "partner_id": pid,
                    "event_id": ev.event_id,
                    "consumer_id": ev.consumer_id,
                    "type": etype,
                    "occurred_at": ev.occurred_at,
                    "received_at": ev.received_at,
                    "target_event_id": _target_of(ev),
                    "content_hash": cand.digest,
                    "payload": orjson.dumps(cand.record).decode(),
                }
            )
            outcomes[cand.index] = Outcome(cand.index, ev.event_id, "accepted")
    if rows:
        conn.execute(insert(events), rows)
    return outcomes  # type: ignore[return-value]


def _check(
    ev: EventBase,
    etype: str,
    pid: str,
    allowed: list[str] | None,
    consent: dict[str, dict[str, ConsentState]],
    known: dict[str, tuple[str, str, str]],
    digest: str,
) -> tuple[Problem, ...] | str | None:
    if allowed is None:
        return _problem(ErrorCode.PARTNER_UNKNOWN, "partner_id", "registered partner", f"no partner {pid!r}")
    if etype not in allowed:
        return _problem(
            ErrorCode.EVENT_TYPE_NOT_PERMITTED,
            "type",
            "partner's registered event types",
            f"partner {pid!r} is not registered to report {etype}",
        )
    previous = known.get(ev.event_id)
    if previous is not None:
        if previous[0] == digest:
            return "duplicate"
        return _problem(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            "event_id",
            "same id, same content",
            f"event {ev.event_id!r} was already received with different content; send a correction instead",
        )
    target = _target_of(ev)
    if target is not None and (problem := _target_problem(ev, target, known)):
        return problem
    consumer_states = consent.get(ev.consumer_id)
    if etype == RETRACTION:
        # Withdrawing a record only ever removes data, so it needs no consent.
        return None if consumer_states is not None else _consent_problem(None, False, etype)
    return _consent_problem(
        consumer_states.get(etype) if consumer_states else None, consumer_states is not None, etype
    )


def ingest_records(
    engine: Engine,
    records: Sequence[Any],
    *,
    partner_id: str | None = None,
    trusted_received_at: bool = False,
    now: Callable[[], datetime] = utcnow,
) -> list[Outcome]:
    """Ingest one batch in its own transaction; retried once if a concurrent
    writer stored one of the same ids first (the retry reports it as duplicate
    or conflict)."""
    for attempt in range(2):
        try:
            with engine.begin() as conn:
                return ingest_batch(
                    conn, records, partner_id=partner_id, trusted_received_at=trusted_received_at, now=now()
                )
        except IntegrityError:
            if attempt == 1:
                raise
    raise AssertionError("unreachable")
