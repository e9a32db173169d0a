"""Disputes: the consumer contests a record; the reporting partner verifies, corrects or retracts.

* Open → the record is flagged ``disputed`` in every partner answer at once
  (:func:`flags`), and the score is the higher of with/without it
  (:func:`credo.service.scores.compute`): filing never lowers a score.
* Not resolved by ``due_at`` (30 days) → the record is suppressed (the feature
  layer skips suppressed records, :func:`credo.features.events_table.events_from_store`)
  and the consumer rescored. The sweep runs before every read of the consumer's
  score and as a job (``credo disputes sweep``).
* A resolution that lowers the band revokes the consumer's live credentials.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, insert, select, update

from credo.errors import CredoError, ErrorCode
from credo.service import scores as scoring
from credo.service.runtime import Service, utc
from credo.store.tables import disputes, events, suppressions

Resolution = Literal["verify", "correct", "retract"]
_STATUS = {"verify": "verified", "correct": "corrected", "retract": "retracted"}


def _public(r: Any) -> dict[str, Any]:
    return {"id": r["id"], "partner_id": r["partner_id"], "event_id": r["event_id"], "event_type": r["event_type"],
            "reason": r["reason"], "status": r["status"], "opened_at": utc(r["opened_at"]),
            "due_at": utc(r["due_at"]), "resolved_at": utc(r["resolved_at"]) if r["resolved_at"] else None,
            "resolution_note": r["resolution_note"]}


def suppress(conn: Connection, partner_id: str, event_id: str, consumer_id: str | None, reason: str,
             now: datetime) -> None:
    exists = conn.execute(select(suppressions.c.event_id).where(suppressions.c.partner_id == partner_id,
                                                                suppressions.c.event_id == event_id)).first()
    if not exists:
        conn.execute(insert(suppressions).values(partner_id=partner_id, event_id=event_id, consumer_id=consumer_id,
                                                 reason=reason, suppressed_at=now))


def rescore(svc: Service, consumer_id: str, now: datetime) -> scoring.ScoreResult | None:
    """Recompute and record the score after a change; revoke credentials if the band fell."""
    from credo.service import sharing

    try:
        result = scoring.compute(svc, consumer_id, now, with_groups=False)
    except CredoError as exc:
        if exc.code is ErrorCode.MODEL_UNAVAILABLE:
            return None
        raise
    with svc.engine.begin() as conn:
        scoring.persist(conn, result, now)
        sharing.revoke_if_band_dropped(conn, consumer_id, result.band, now)
    return result


def open_dispute(svc: Service, consumer_id: str, partner_id: str, event_id: str, reason: str,
                 now: datetime) -> dict[str, Any]:
    with svc.engine.begin() as conn:
        ev = conn.execute(select(events.c.type).where(events.c.partner_id == partner_id,
                                                      events.c.event_id == event_id,
                                                      events.c.consumer_id == consumer_id)).first()
        if ev is None:
            raise CredoError(ErrorCode.NOT_FOUND, "no such record about you", "event_id")
        if conn.execute(select(disputes.c.id).where(disputes.c.partner_id == partner_id,
                                                    disputes.c.event_id == event_id,
                                                    disputes.c.status == "open")).first():
            raise CredoError(ErrorCode.DISPUTE_ALREADY_OPEN, "this record is already disputed", "event_id")
        did = conn.execute(insert(disputes).values(
            consumer_id=consumer_id, partner_id=partner_id, event_id=event_id, event_type=ev.type, reason=reason,
            status="open", opened_at=now, due_at=now + timedelta(days=svc.config.dispute_days),
        ).returning(disputes.c.id)).scalar_one()
        row = conn.execute(select(disputes).where(disputes.c.id == did)).mappings().one()
    rescore(svc, consumer_id, now)
    return _public(row)


def consumer_disputes(conn: Connection, consumer_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(disputes).where(disputes.c.consumer_id == consumer_id).order_by(disputes.c.id))
    return [_public(r) for r in rows.mappings()]


def partner_queue(conn: Connection, partner_id: str, status: str | None = "open") -> list[dict[str, Any]]:
    q = select(disputes).where(disputes.c.partner_id == partner_id).order_by(disputes.c.due_at, disputes.c.id)
    if status:
        q = q.where(disputes.c.status == status)
    return [{**_public(r), "consumer_id": r["consumer_id"]} for r in conn.execute(q).mappings()]


def resolve(svc: Service, partner_id: str, dispute_id: int, action: str, note: str | None,
            now: datetime) -> dict[str, Any]:
    if action not in _STATUS:
        raise CredoError(ErrorCode.INVALID_VALUE, f"action must be one of {tuple(_STATUS)}", "action")
    with svc.engine.begin() as conn:
        row = conn.execute(select(disputes).where(disputes.c.id == dispute_id,
                                                  disputes.c.partner_id == partner_id)).mappings().first()
        if row is None:
            raise CredoError(ErrorCode.NOT_FOUND, "no such dispute in your queue", "dispute_id")
        if row["status"] != "open":
            raise CredoError(ErrorCode.DISPUTE_CLOSED, f"dispute already {row['status']}", "dispute_id")
        conn.execute(update(disputes).where(disputes.c.id == dispute_id).values(
            status=_STATUS[action], resolved_at=now, resolution_note=note))
        if action == "retract":
            suppress(conn, partner_id, row["event_id"], row["consumer_id"], "retracted", now)
        out = conn.execute(select(disputes).where(disputes.c.id == dispute_id)).mappings().one()
    rescore(svc, row["consumer_id"], now)
    return _public(out)


def sweep(svc: Service, now: datetime, consumer_id: str | None = None) -> int:
    """Suppress every record whose dispute is still open at its deadline; rescore those consumers."""
    q = select(disputes.c.id, disputes.c.consumer_id, disputes.c.partner_id, disputes.c.event_id).where(
        disputes.c.status == "open", disputes.c.due_at <= now)
    if consumer_id is not None:
        q = q.where(disputes.c.consumer_id == consumer_id)
    with svc.engine.connect() as conn:
        due = conn.execute(q).all()
    if not due:
        return 0
    with svc.engine.begin() as conn:
        for d in due:
            conn.execute(update(disputes).where(disputes.c.id == d.id, disputes.c.status == "open").values(
                status="suppressed", resolved_at=now,
                resolution_note=f"not verified within {svc.config.dispute_days} days: record suppressed"))
            suppress(conn, d.partner_id, d.event_id, d.consumer_id, "dispute", now)
    for cid in sorted({d.consumer_id for d in due}):
        rescore(svc, cid, now)
    return len(due)


def due(conn: Connection, consumer_id: str, now: datetime) -> bool:
    """Whether the consumer has an open dispute past its deadline (the sweep must run first)."""
    return conn.execute(select(disputes.c.id).where(disputes.c.consumer_id == consumer_id, disputes.c.status == "open",
                                                    disputes.c.due_at <= now).limit(1)).first() is not None


def flags(conn: Connection, consumer_id: str) -> list[dict[str, Any]]:
    """What partner answers carry about open disputes (never another partner's record ids)."""
    rows = conn.execute(select(disputes.c.id, disputes.c.event_type, disputes.c.opened_at).where(
        disputes.c.consumer_id == consumer_id, disputes.c.status == "open").order_by(disputes.c.id))
    return [{"dispute_id": r.id, "record_type": r.event_type, "status": "disputed", "opened_at": utc(r.opened_at)}
            for r in rows]
