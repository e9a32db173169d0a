"""Phase two of ingestion: check against the store and write, in one transaction.

Each prepared event is checked against the partner's permitted types and the
consumer's consent, and de-duplicated on (partner, event_id): the same content
again is a ``duplicate``; different content under the same id is a conflict
and is never written. Rejected events write nothing at all. When the
transaction commits the accepted events are acknowledged; if it does not,
nothing of the batch is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from credo.errors import ErrorCode
from credo.ingest.batch import PreparedBatch
from credo.ingest.outcomes import Outcome, Problem
from credo.ingest.prepare import Prepared, prepare_records
from credo.registry.clock import utcnow
from credo.registry.consents import ConsentCache, ConsentState, report_consent_states
from credo.store.tables import insert_events, partners, stored_events

Known = dict[str, tuple[str, str, str]]  # event_id → (content hash, type, consumer), see stored_events


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
    ev: Prepared, allowed: list[str] | None, consent: Mapping[str, dict[str, ConsentState] | None], known: Known
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


@dataclass(slots=True)
class StoreResult:
    """One stored batch: how many events were accepted, and every other outcome in input order."""

    accepted: int
    others: list[Outcome]

    def outcomes(self, batch: PreparedBatch) -> list[Outcome]:
        """Every event's outcome, in input order (the API answers per event)."""
        answered = {o.index: o for o in self.others}
        for index, event_id in zip(batch.index, batch.event_id):
            answered.setdefault(index, Outcome(index, event_id, "accepted"))
        return [answered[i] for i in sorted(answered)]


def _all_common(
    event_ids: list[str], consumer_ids: list[str], types: list[str], targets: list[str | None],
    allowed_types: set[str], consent: Mapping[str, dict[str, ConsentState] | None], known: Known,
) -> bool:
    """Whether every event of a partner's run is the common case — permitted, new
    (also within the run), not a correction, consented — checked set by set
    rather than event by event. False only means: check them one by one."""
    if not allowed_types.issuperset(types) or targets.count(None) != len(targets):
        return False
    if len(set(event_ids)) != len(event_ids) or not known.keys().isdisjoint(event_ids):
        return False
    given = ConsentState.GIVEN
    for consumer_id, etype in set(zip(consumer_ids, types)):
        states = consent.get(consumer_id)
        if states is None or states.get(etype) is not given:
            return False
    return True


def store_batch(conn: Connection, batch: PreparedBatch, consent_cache: ConsentCache | None = None) -> StoreResult:
    """Check a batch's valid events against the store and insert the accepted ones.

    Each partner's events are checked in input order, so a duplicate, conflict
    or correction inside the batch sees the events before it.
    """
    others: list[Outcome] = list(batch.rejected)
    rows: list[tuple[Any, ...]] = []
    given = ConsentState.GIVEN
    for pid, start, end in batch.partner_runs():
        allowed = conn.execute(select(partners.c.event_types).where(partners.c.id == pid)).scalar_one_or_none()
        consumer_ids = batch.consumer_id[start:end]
        consent = (
            consent_cache.states(conn, pid, consumer_ids)
            if consent_cache is not None
            else report_consent_states(conn, pid, consumer_ids)
        )
        event_ids, targets, types = batch.event_id[start:end], batch.target_event_id[start:end], batch.type[start:end]
        known = stored_events(conn, pid, [*event_ids, *(t for t in targets if t)])
        allowed_types = set(allowed or ())
        if _all_common(event_ids, consumer_ids, types, targets, allowed_types, consent, known):
            rows += batch.rows(start, end)
            continue
        for i, event_id, consumer_id, etype, target, digest in zip(
            range(start, end), event_ids, consumer_ids, types, targets, batch.content_hash[start:end]
        ):
            states = consent.get(consumer_id)
            common_case = (  # permitted, new, not a correction, consented: no further checks
                etype in allowed_types and target is None and event_id not in known
                and states is not None and states.get(etype) is given
            )
            verdict = None if common_case else _check(batch.event(i), allowed, consent, known)
            if verdict is None:
                known[event_id] = (digest, etype, consumer_id)
                rows.append(batch.event(i).row())
            elif verdict == "duplicate":
                others.append(Outcome(batch.index[i], event_id, "duplicate"))
            else:
                others.append(Outcome(batch.index[i], event_id, "rejected", verdict))  # type: ignore[arg-type]
    if rows:
        insert_events(conn, rows)
    others.sort(key=lambda o: o.index)
    return StoreResult(len(rows), others)


def store_prepared(
    conn: Connection, prepared: Sequence[Prepared | Outcome], consent_cache: ConsentCache | None = None
) -> list[Outcome]:
    """Check prepared events against the store and insert the accepted ones."""
    batch = PreparedBatch.from_items(prepared)
    return store_batch(conn, batch, consent_cache).outcomes(batch)


def store_batch_with_retry(
    engine: Engine, batch: PreparedBatch, consent_cache: ConsentCache | None = None
) -> StoreResult:
    """Store one batch in its own transaction; retried once if a concurrent
    writer stored one of the same ids first (the retry then reports it as a
    duplicate or a conflict)."""
    for attempt in range(2):
        try:
            with engine.begin() as conn:
                return store_batch(conn, batch, consent_cache)
        except IntegrityError:
            if attempt == 1:
                raise
    raise AssertionError("unreachable")


def store_with_retry(
    engine: Engine, prepared: Sequence[Prepared | Outcome], consent_cache: ConsentCache | None = None
) -> list[Outcome]:
    """:func:`store_batch_with_retry` for per-row results, answering per event."""
    batch = PreparedBatch.from_items(prepared)
    return store_batch_with_retry(engine, batch, consent_cache).outcomes(batch)


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
