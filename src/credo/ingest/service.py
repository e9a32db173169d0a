"""Phase two of ingestion: check against the store and write, in one transaction.

Each prepared event is checked against the partner's permitted types and the
consumer's consent, and de-duplicated on (partner, event_id): the same content
again is a ``duplicate``; different content under the same id is a conflict
and is never written. Rejected events write nothing at all. When the
transaction commits the accepted events are acknowledged; if it does not,
nothing of the batch is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from credo.errors import ErrorCode
from credo.ingest.outcomes import Outcome, Problem
from credo.ingest.prepare import Prepared, prepare_records
from credo.registry.clock import utcnow
from credo.registry.consents import ConsentCache, ConsentState, report_consent_states
from credo.store.tables import events, insert_events, partners

Known = dict[str, tuple[str, str, str]]  # event_id → (content hash, type, consumer)


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


def _existing(conn: Connection, partner_id: str, ids: Sequence[str]) -> Known:
    """What this partner already stored under any of ``ids``."""
    found: Known = {}
    for start in range(0, len(ids), 5000):
        rows = conn.execute(
            select(events.c.event_id, events.c.content_hash, events.c.type, events.c.consumer_id).where(
                events.c.partner_id == partner_id, events.c.event_id.in_(ids[start : start + 5000])
            )
        )
        for event_id, digest, etype, consumer_id in rows:
            found[event_id] = (digest, etype, consumer_id)
    return found


def _target_problem(ev: Prepared, known: Known) -> tuple[Problem, ...] | None:
    field = "retracts_event_id" if ev.is_retraction else "corrects_event_id"
    target = known.get(ev.target_event_id)  # type: ignore[arg-type]
    if target is None:
        return _problem(
            ErrorCode.TARGET_NOT_FOUND,
            field,
            "earlier event of this partner",
            f"no event {ev.target_event_id!r} from this partner",
        )
    _, ttype, tconsumer = target
    if tconsumer != ev.consumer_id:
        return _problem(ErrorCode.TARGET_MISMATCH, field, "same consumer", "the target event is about another consumer")
    if ev.is_retraction and ttype == ev.type:
        return _problem(ErrorCode.TARGET_MISMATCH, field, "not a retraction", "a retraction cannot be retracted")
    if not ev.is_retraction and ttype != ev.type:
        return _problem(
            ErrorCode.TARGET_MISMATCH, field, "same event type", f"a correction must have the target's type {ttype}"
        )
    return None


def _check(
    ev: Prepared, allowed: list[str] | None, consent: dict[str, dict[str, ConsentState]], known: Known
) -> tuple[Problem, ...] | str | None:
    """Problems of one event against the store: None when it may be written."""
    if allowed is None:
        return _problem(ErrorCode.PARTNER_UNKNOWN, "partner_id", "registered partner", f"no partner {ev.partner_id!r}")
    if ev.type not in allowed:
        return _problem(
            ErrorCode.EVENT_TYPE_NOT_PERMITTED,
            "type",
            "partner's registered event types",
            f"partner {ev.partner_id!r} is not registered to report {ev.type}",
        )
    previous = known.get(ev.event_id)
    if previous is not None:
        if previous[0] == ev.content_hash:
            return "duplicate"
        return _problem(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            "event_id",
            "one content per (partner, event_id)",
            f"event {ev.event_id!r} was already received with different content; send a correction instead",
        )
    if ev.target_event_id is not None and (problem := _target_problem(ev, known)):
        return problem
    states = consent.get(ev.consumer_id)
    if ev.is_retraction:
        # Withdrawing a record only ever removes data, so it needs no consent.
        return None if states is not None else _consent_problem(None, False, ev.type)
    return _consent_problem(states.get(ev.type) if states else None, states is not None, ev.type)


def store_prepared(
    conn: Connection, prepared: Sequence[Prepared | Outcome], consent_cache: ConsentCache | None = None
) -> list[Outcome]:
    """Check prepared events against the store and insert the accepted ones."""
    outcomes: dict[int, Outcome] = {}
    by_partner: dict[str, list[Prepared]] = {}
    for item in prepared:
        if isinstance(item, Outcome):
            outcomes[item.index] = item
        else:
            by_partner.setdefault(item.partner_id, []).append(item)

    rows: list[tuple[Any, ...]] = []
    for pid, candidates in by_partner.items():
        allowed = conn.execute(select(partners.c.event_types).where(partners.c.id == pid)).scalar_one_or_none()
        consumer_ids = [c.consumer_id for c in candidates]
        consent = (
            consent_cache.states(conn, pid, consumer_ids)
            if consent_cache is not None
            else report_consent_states(conn, pid, consumer_ids)
        )
        wanted = {c.event_id for c in candidates}
        wanted.update(c.target_event_id for c in candidates if c.target_event_id)
        known = _existing(conn, pid, sorted(wanted))
        allowed_types = set(allowed or ())
        for ev in candidates:
            states = consent.get(ev.consumer_id)
            common_case = (  # permitted, new, not a correction, consented: no further checks
                ev.type in allowed_types and ev.target_event_id is None and ev.event_id not in known
                and states is not None and states.get(ev.type) is ConsentState.GIVEN
            )
            verdict = None if common_case else _check(ev, allowed, consent, known)
            if verdict == "duplicate":
                outcomes[ev.index] = Outcome(ev.index, ev.event_id, "duplicate")
            elif verdict:
                outcomes[ev.index] = Outcome(ev.index, ev.event_id, "rejected", verdict)  # type: ignore[arg-type]
            else:
                known[ev.event_id] = (ev.content_hash, ev.type, ev.consumer_id)
                rows.append(ev.row())
                outcomes[ev.index] = Outcome(ev.index, ev.event_id, "accepted")
    if rows:
        insert_events(conn, rows)
    return [outcomes[i] for i in sorted(outcomes)]


def store_with_retry(
    engine: Engine, prepared: Sequence[Prepared | Outcome], consent_cache: ConsentCache | None = None
) -> list[Outcome]:
    """Store one batch in its own transaction; retried once if a concurrent
    writer stored one of the same ids first (the retry then reports it as a
    duplicate or a conflict)."""
    for attempt in range(2):
        try:
            with engine.begin() as conn:
                return store_prepared(conn, prepared, consent_cache)
        except IntegrityError:
            if attempt == 1:
                raise
    raise AssertionError("unreachable")


def ingest_records(
    engine: Engine,
    records: Sequence[Any],
    *,
    partner_id: str | None = None,
    trusted_received_at: bool = False,
    now: Callable[[], datetime] = utcnow,
) -> list[Outcome]:
    """Validate and store one batch; answer per record, in order."""
    prepared = prepare_records(
        records, partner_id=partner_id, trusted_received_at=trusted_received_at, received_at=now()
    )
    return store_with_retry(engine, prepared)
