"""Consent to report: per consumer, per partner, per event type, opt-in only.

There is no default and no wildcard: a partner may report an event type about
a consumer only while an explicit, unwithdrawn grant for exactly that
(consumer, partner, event type) exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from sqlalchemy import Connection, and_, insert, select, update

from credo.errors import CredoError, ErrorCode
from credo.registry.clock import utcnow
from credo.store.tables import consumers, partners, report_consents


class ConsentState(Enum):
    GIVEN = "given"
    WITHDRAWN = "withdrawn"


def grant_report_consent(conn: Connection, consumer_id: str, partner_id: str, event_types: Iterable[str]) -> None:
    """Record the consumer's explicit grant for each listed event type."""
    allowed = conn.execute(select(partners.c.event_types).where(partners.c.id == partner_id)).scalar_one_or_none()
    if allowed is None:
        raise CredoError(ErrorCode.PARTNER_UNKNOWN, f"no partner {partner_id!r}", "partner_id")
    types = sorted(set(event_types))
    outside = [t for t in types if t not in allowed]
    if outside:
        raise CredoError(
            ErrorCode.EVENT_TYPE_NOT_PERMITTED, f"partner does not report {outside}", "event_types"
        )
    current = report_consent_states(conn, partner_id, [consumer_id]).get(consumer_id, {})
    now = utcnow()
    new = [t for t in types if current.get(t) is not ConsentState.GIVEN]
    if new:
        conn.execute(
            insert(report_consents),
            [dict(consumer_id=consumer_id, partner_id=partner_id, event_type=t, granted_at=now) for t in new],
        )


def withdraw_report_consent(
    conn: Connection, consumer_id: str, partner_id: str, event_types: Iterable[str] | None = None
) -> int:
    """Withdraw consent (all types of that partner when ``event_types`` is None).

    Takes effect for the next event ingested: ingestion reads consent inside
    the same transaction that writes the events.
    """
    condition = and_(
        report_consents.c.consumer_id == consumer_id,
        report_consents.c.partner_id == partner_id,
        report_consents.c.withdrawn_at.is_(None),
    )
    if event_types is not None:
        condition = and_(condition, report_consents.c.event_type.in_(list(event_types)))
    return conn.execute(update(report_consents).where(condition).values(withdrawn_at=utcnow())).rowcount


def report_consent_states(
    conn: Connection, partner_id: str, consumer_ids: Iterable[str]
) -> dict[str, dict[str, ConsentState]]:
    """consumer → event type → state, for the consumers that are enrolled and active.

    Consumers absent from the result are not enrolled (or closed).
    """
    ids = list(set(consumer_ids))
    states: dict[str, dict[str, ConsentState]] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for (cid,) in conn.execute(
            select(consumers.c.id).where(consumers.c.id.in_(chunk), consumers.c.status == "active")
        ):
            states[cid] = {}
        rows = conn.execute(
            select(report_consents.c.consumer_id, report_consents.c.event_type, report_consents.c.withdrawn_at).where(
                report_consents.c.partner_id == partner_id, report_consents.c.consumer_id.in_(chunk)
            )
        )
        for cid, etype, withdrawn_at in rows:
            if cid not in states:
                continue
            if withdrawn_at is None:
                states[cid][etype] = ConsentState.GIVEN
            else:
                states[cid].setdefault(etype, ConsentState.WITHDRAWN)
    return states
