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
from sqlalchemy.exc import DBAPIError, IntegrityError

from credo.errors import ErrorCode
from credo.ingest.batch import PreparedBatch
from credo.ingest.outcomes import Outcome, Problem
from credo.ingest.prepare import Prepared, prepare_records
from credo.registry.clock import utcnow
from credo.registry.consents import ConsentCache, ConsentState, given_pairs, report_consent_states
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
    ev: Prepared, allowed: list[str] | None, consent: Mapping[str, dict[str, ConsentState] | None],
    given: set[tuple[str, str]], known: Known,
) -> tuple[Problem, ...] | str | None:
    """Problems of one event against the store: None when it may be written. ``given`` holds
    (consumer, type) pairs with consent given; ``consent`` the full states of the others."""
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
    if (ev.consumer_id, ev.type) in given:
        return None
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


def _exceptions(
    event_ids: list[str], consumer_ids: list[str], types: list[str], targets: list[str | None],
    allowed_types: set[str], given: set[tuple[str, str]], known: Known,
) -> list[int]:
    """Offsets, within a partner's run, of the events that are not plainly the
    common case — a type not permitted, a correction or retraction, an id already
    known or repeated in the run, no consent — found set by set rather than event
    by event. Every other event of the run is accepted as it is."""
    odd: set[int] = set()
    if not allowed_types.issuperset(types):
        odd.update(i for i, t in enumerate(types) if t not in allowed_types)
    if targets.count(None) != len(targets):
        odd.update(i for i, t in enumerate(targets) if t is not None)
    ids = set(event_ids)
    clashing = ids & known.keys()
    if len(ids) != len(event_ids):
        seen: set[str] = set()
        clashing.update(e for e in event_ids if e in seen or seen.add(e))  # type: ignore[func-returns-value]
    if clashing:
        odd.update(i for i, e in enumerate(event_ids) if e in clashing)
    unconsented = set(zip(consumer_ids, types)) - given
    if unconsented:
        odd.update(i for i, pair in enumerate(zip(consumer_ids, types)) if pair in unconsented)
    return sorted(odd)


def _decide(
    conn: Connection, batch: PreparedBatch, consent_cache: ConsentCache | None, *, look_up_ids: bool
) -> tuple[list[tuple[Any, ...]], list[Outcome]]:
    """The rows to insert and every other outcome. Each partner's events are
    decided in input order, so a duplicate, conflict or correction inside the
    batch sees the events before it. Without ``look_up_ids`` only correction and
    retraction targets are read from the store (see :func:`store_batch`)."""
    others: list[Outcome] = list(batch.rejected)
    rows: list[tuple[Any, ...]] = []
    for pid, start, end in batch.partner_runs():
        allowed = conn.execute(select(partners.c.event_types).where(partners.c.id == pid)).scalar_one_or_none()
        consumer_ids = batch.consumer_id[start:end]
        consent: Mapping[str, dict[str, ConsentState] | None]
        if consent_cache is not None:
            given = consent_cache.given_for(conn, pid, consumer_ids)
        else:
            consent = report_consent_states(conn, pid, consumer_ids)
            given = given_pairs(consent)
        event_ids, targets, types = batch.event_id[start:end], batch.target_event_id[start:end], batch.type[start:end]
        wanted = [t for t in targets if t]
        known = stored_events(conn, pid, [*event_ids, *wanted] if look_up_ids else wanted)
        odd = _exceptions(event_ids, consumer_ids, types, targets, set(allowed or ()), given, known)
        if consent_cache is not None:  # full states only where consent is not plainly given
            unplain = [consumer_ids[o] for o in odd if (consumer_ids[o], types[o]) not in given]
            consent = consent_cache.states(conn, pid, unplain) if unplain else {}
        plain_from = 0  # the plain events since the last exception, accepted as they are
        for offset in odd:
            rows += batch.rows(start + plain_from, start + offset)
            known.update(zip(event_ids[plain_from:offset], zip(
                batch.content_hash[start + plain_from : start + offset], types[plain_from:offset],
                consumer_ids[plain_from:offset])))
            plain_from = offset + 1
            ev = batch.event(start + offset)
            verdict = _check(ev, allowed, consent, given, known)
            if verdict is None:
                known[ev.event_id] = (ev.content_hash, ev.type, ev.consumer_id)
                rows.append(ev.row())
            elif verdict == "duplicate":
                others.append(Outcome(ev.index, ev.event_id, "duplicate"))
            else:
                others.append(Outcome(ev.index, ev.event_id, "rejected", verdict))  # type: ignore[arg-type]
        rows += batch.rows(start + plain_from, end)
    others.sort(key=lambda o: o.index)
    return rows, others


class _Raced(Exception):
    """Another transaction committed one of the batch's ids after it was looked up."""


def _store(conn: Connection, batch: PreparedBatch, consent_cache: ConsentCache | None,
           look_up_ids: bool) -> StoreResult:
    rows, others = _decide(conn, batch, consent_cache, look_up_ids=look_up_ids)
    if rows and insert_events(conn, rows) < len(rows):
        raise _Raced
    return StoreResult(len(rows), others)


def store_batch(
    conn: Connection, batch: PreparedBatch, consent_cache: ConsentCache | None = None, *, optimistic: bool = False
) -> StoreResult:
    """Check a batch's valid events against the store and insert the accepted ones.

    ``optimistic`` suits bulk loads, whose events are mostly new: the batch's
    own ids are not looked up first, since inserting them looks them up in the
    unique (partner, event_id) index anyway. If an id turns out to be stored
    already, that insert is undone (a savepoint) and the batch decided again
    with every id looked up, so the answer is always the same.

    On PostgreSQL another transaction may commit one of the batch's ids between the
    look-up and the insert (``insert_events`` skips it): the batch's writes are undone
    the same way and it is decided again, now seeing that id — a duplicate, or a
    conflict. Each round sees at least one more of the batch's ids, so it ends.
    """
    if not optimistic and conn.dialect.name == "sqlite":  # one writer at a time: nothing can race
        return _store(conn, batch, consent_cache, look_up_ids=True)
    look_up_ids = not optimistic
    for _round in range(len(batch) + 2):
        try:
            with conn.begin_nested():
                return _store(conn, batch, consent_cache, look_up_ids)
        except (IntegrityError, _Raced):
            look_up_ids = True
    raise RuntimeError("the batch's ids kept being stored by others")  # pragma: no cover


def store_prepared(
    conn: Connection, prepared: Sequence[Prepared | Outcome], consent_cache: ConsentCache | None = None
) -> list[Outcome]:
    """Check prepared events against the store and insert the accepted ones."""
    batch = PreparedBatch.from_items(prepared)
    return store_batch(conn, batch, consent_cache).outcomes(batch)


#: SQLSTATEs after which a transaction may simply run again: serialization failure, deadlock.
_RETRYABLE = frozenset({"40001", "40P01"})
_ATTEMPTS = 5


def _retryable(exc: DBAPIError) -> bool:
    return isinstance(exc, IntegrityError) or getattr(exc.orig, "sqlstate", None) in _RETRYABLE


def store_batch_with_retry(
    engine: Engine, batch: PreparedBatch, consent_cache: ConsentCache | None = None, *, optimistic: bool = False
) -> StoreResult:
    """Store one batch in its own transaction. A transaction the database aborted as a
    serialization failure or a deadlock, or that lost a unique-key race it could not see
    coming, is run again (up to five times): it then reports what the other writer stored
    as duplicates or conflicts."""
    for attempt in range(_ATTEMPTS):
        try:
            with engine.begin() as conn:
                return store_batch(conn, batch, consent_cache, optimistic=optimistic)
        except DBAPIError as exc:
            if attempt == _ATTEMPTS - 1 or not _retryable(exc):
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
