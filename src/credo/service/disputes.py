"""Disputes: the consumer contests a record; the reporting partner verifies, corrects or retracts.

* Open → the record is flagged ``disputed`` in every partner answer at once
  (:func:`flags`), and the score is the higher of with/without it
  (:func:`credo.service.scores.compute`): filing never lowers a score.
* The reporting partner (the furnisher) is notified in the same transaction: a
  ``dispute_notices`` row with ``notified_at`` and ``due_by`` = 5 business days
  (Mon-Fri, UTC; public holidays not modelled) from opening, FCRA §611(a)(2).
* Within the first 30 days the consumer may add information once
  (:func:`add_information`): the furnisher gets it in a second notice and
  ``due_at`` moves by 15 days, to at most 45 days from opening (§611(a)(1)(B)).
  ``due_at`` is always the deadline in force, so :func:`due` and :func:`sweep`
  need no extra query for the extension.
* Not resolved by ``due_at`` → the record is suppressed (the feature
  layer skips suppressed records, :func:`credo.features.events_table.events_from_store`)
  and the consumer rescored. The sweep runs before every read of the consumer's
  score and as a job (``credo disputes sweep``).
* Every resolution (verified, corrected, retracted, suppressed) sends the consumer
  a results notice (§611(a)(6)) in the resolving transaction; a suppression also
  tells the furnisher.
* A resolution that lowers the band revokes the consumer's live credentials.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, bindparam, insert, select, update

from credo.errors import CredoError, ErrorCode
from credo.service import scores as scoring
from credo.service.runtime import Service, utc
from credo.store.prepared import Prepared
from credo.store.tables import dispute_notices, disputes, events, suppressions

Resolution = Literal["verify", "correct", "retract"]
_STATUS = {"verify": "verified", "correct": "corrected", "retract": "retracted"}
#: What each outcome did to the record, in the consumer's results notice.
_RECORD_AFTER = {
    "verified": "kept: the reporting partner verified it as accurate",
    "corrected": "corrected by the reporting partner",
    "retracted": "deleted: the reporting partner retracted it",
    "suppressed": "deleted: it was not verified by the deadline",
}
FURNISHER, CONSUMER = "furnisher", "consumer"


def add_business_days(start: datetime, days: int) -> datetime:
    """``start`` plus ``days`` business days (Monday to Friday, in UTC; public holidays are not modelled),
    at the same time of day: opened on a Friday (or a Saturday) → due the next Friday for 5 days."""
    out, added = start, 0
    while added < days:
        out += timedelta(days=1)
        if out.weekday() < 5:
            added += 1
    return out


def _public(r: Any) -> dict[str, Any]:
    return {"id": r["id"], "partner_id": r["partner_id"], "event_id": r["event_id"], "event_type": r["event_type"],
            "reason": r["reason"], "status": r["status"], "opened_at": utc(r["opened_at"]),
            "due_at": utc(r["due_at"]), "resolved_at": utc(r["resolved_at"]) if r["resolved_at"] else None,
            "resolution_note": r["resolution_note"], "information": r["information"],
            "information_at": utc(r["information_at"]) if r["information_at"] else None,
            "extended": r["information_at"] is not None}


def _notice_public(n: Any) -> dict[str, Any]:
    return {"id": n["id"], "dispute_id": n["dispute_id"], "partner_id": n["partner_id"],
            "recipient": n["recipient"], "kind": n["kind"], "notified_at": utc(n["notified_at"]),
            "due_by": utc(n["due_by"]), "body": n["body"]}


def _notices(conn: Connection, dispute_ids: list[int], recipient: str | None = None) -> dict[int, list[dict[str, Any]]]:
    """Notices per dispute, oldest first (one query)."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in dispute_ids}
    if not dispute_ids:
        return out
    q = select(dispute_notices).where(dispute_notices.c.dispute_id.in_(dispute_ids)).order_by(dispute_notices.c.id)
    if recipient is not None:
        q = q.where(dispute_notices.c.recipient == recipient)
    for n in conn.execute(q).mappings():
        out[n["dispute_id"]].append(_notice_public(n))
    return out


def _for_consumer(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    """The consumer's view: every notice sent about the dispute, and the results notice once resolved."""
    notes = _notices(conn, [r["id"] for r in rows])
    return [{**_public(r), "notices": notes[r["id"]],
             "result": next((n for n in notes[r["id"]] if n["recipient"] == CONSUMER and n["kind"] == "result"),
                            None)} for r in rows]


def _for_partner(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    """The furnisher's view: the dispute, the consumer, and the notices sent to the furnisher."""
    notes = _notices(conn, [r["id"] for r in rows], FURNISHER)
    return [{**_public(r), "consumer_id": r["consumer_id"], "notices": notes[r["id"]]} for r in rows]


def notify(conn: Connection, svc: Service, dispute: Any, recipient: str, kind: str, now: datetime,
           body: dict[str, Any]) -> None:
    """Record a notice as sent now, due (at the latest) ``notice_business_days`` business days from now."""
    conn.execute(insert(dispute_notices).values(
        dispute_id=dispute["id"], consumer_id=dispute["consumer_id"], partner_id=dispute["partner_id"],
        recipient=recipient, kind=kind, notified_at=now,
        due_by=add_business_days(now, svc.settings.notice_business_days), body=body))


def _furnisher_body(d: Any, due_at: datetime, **extra: Any) -> dict[str, Any]:
    return {"consumer_id": d["consumer_id"], "event_id": d["event_id"], "event_type": d["event_type"],
            "consumer_reason": d["reason"], "respond_by": utc(due_at).isoformat(), **extra}


def _results_body(d: Any, status: str, note: str | None, now: datetime) -> dict[str, Any]:
    return {"outcome": status, "partner_id": d["partner_id"], "event_id": d["event_id"],
            "event_type": d["event_type"], "record": _RECORD_AFTER[status], "note": note,
            "completed_at": now.isoformat(),
            "summary": "The reinvestigation of your dispute is complete and your score has been recalculated.",
            "your_rights": ["add a statement about this record", "ask how the record was verified",
                            "dispute the record again with new information"]}


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
            status="open", opened_at=now, due_at=now + timedelta(days=svc.settings.dispute_days),
        ).returning(disputes.c.id)).scalar_one()
        row = conn.execute(select(disputes).where(disputes.c.id == did)).mappings().one()
        notify(conn, svc, row, FURNISHER, "opened", now, _furnisher_body(row, row["due_at"]))
        out = _for_consumer(conn, [row])[0]
    rescore(svc, consumer_id, now)
    return out


def add_information(svc: Service, consumer_id: str, dispute_id: int, information: str,
                    now: datetime) -> dict[str, Any]:
    """The consumer adds relevant information to their open dispute within its first ``dispute_days``:
    forwarded to the furnisher, and the deadline extended once by ``dispute_extension_days``."""
    if not information.strip():
        raise CredoError(ErrorCode.MALFORMED_REQUEST, "information must not be blank", "information", "not_blank")
    with svc.engine.begin() as conn:
        row = conn.execute(select(disputes).where(disputes.c.id == dispute_id,
                                                  disputes.c.consumer_id == consumer_id)).mappings().first()
        if row is None:
            raise CredoError(ErrorCode.NOT_FOUND, "no such dispute of yours", "dispute_id", "own_dispute")
        if row["status"] != "open":
            raise CredoError(ErrorCode.DISPUTE_CLOSED, f"dispute already {row['status']}", "dispute_id",
                             "dispute_open")
        if row["information_at"] is not None:
            raise CredoError(ErrorCode.DISPUTE_ALREADY_EXTENDED,
                             "information was already added and the deadline extended once", "dispute_id",
                             "one_extension")
        due_at = utc(row["due_at"])
        if now >= due_at:
            raise CredoError(ErrorCode.DISPUTE_INFORMATION_TOO_LATE,
                             f"information extends a dispute only within its first {svc.settings.dispute_days} days",
                             "dispute_id", "within_dispute_days")
        extended = due_at + timedelta(days=svc.settings.dispute_extension_days)
        done = conn.execute(update(disputes).where(
            disputes.c.id == dispute_id, disputes.c.status == "open", disputes.c.information_at.is_(None),
        ).values(information=information, information_at=now, due_at=extended)).rowcount
        if done != 1:  # a concurrent request extended or resolved it first
            raise CredoError(ErrorCode.DISPUTE_ALREADY_EXTENDED, "the dispute changed meanwhile", "dispute_id",
                             "one_extension")
        row = conn.execute(select(disputes).where(disputes.c.id == dispute_id)).mappings().one()
        notify(conn, svc, row, FURNISHER, "information", now,
               _furnisher_body(row, extended, consumer_information=information))
        return _for_consumer(conn, [row])[0]


def consumer_disputes_now(svc: Service, consumer_id: str, now: datetime) -> list[dict[str, Any]]:
    """The consumer's disputes as of ``now``: any past its deadline is swept (suppressed) first."""
    sweep(svc, now, consumer_id)
    with svc.engine.connect() as conn:
        return consumer_disputes(conn, consumer_id)


def consumer_disputes(conn: Connection, consumer_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(disputes).where(disputes.c.consumer_id == consumer_id).order_by(disputes.c.id))
    return _for_consumer(conn, list(rows.mappings()))


def partner_queue(conn: Connection, partner_id: str, status: str | None = "open") -> list[dict[str, Any]]:
    q = select(disputes).where(disputes.c.partner_id == partner_id).order_by(disputes.c.due_at, disputes.c.id)
    if status:
        q = q.where(disputes.c.status == status)
    return _for_partner(conn, list(conn.execute(q).mappings()))


def partner_notices(conn: Connection, partner_id: str, dispute_id: int | None = None,
                    limit: int = 500) -> list[dict[str, Any]]:
    """Notices sent to the partner as furnisher, newest first."""
    q = select(dispute_notices).where(dispute_notices.c.partner_id == partner_id,
                                      dispute_notices.c.recipient == FURNISHER)
    if dispute_id is not None:
        q = q.where(dispute_notices.c.dispute_id == dispute_id)
    return [_notice_public(n) for n in conn.execute(q.order_by(dispute_notices.c.id.desc()).limit(limit)).mappings()]


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
        notify(conn, svc, row, CONSUMER, "result", now, _results_body(row, _STATUS[action], note, now))
        out = _for_partner(conn, [conn.execute(select(disputes).where(disputes.c.id == dispute_id)).mappings().one()])
    rescore(svc, row["consumer_id"], now)
    return out[0]


def sweep(svc: Service, now: datetime, consumer_id: str | None = None) -> int:
    """Suppress every record whose dispute is still open at its deadline in force (``due_at``, extended
    if the consumer added information); tell the consumer and the furnisher; rescore those consumers."""
    q = select(disputes).where(disputes.c.status == "open", disputes.c.due_at <= now)
    if consumer_id is not None:
        q = q.where(disputes.c.consumer_id == consumer_id)
    with svc.engine.connect() as conn:
        due = list(conn.execute(q).mappings())
    if not due:
        return 0
    done: set[str] = set()
    count = 0
    with svc.engine.begin() as conn:
        for d in due:
            days = (utc(d["due_at"]) - utc(d["opened_at"])).days
            note = f"not verified within {days} days: record suppressed"
            if conn.execute(update(disputes).where(disputes.c.id == d["id"], disputes.c.status == "open").values(
                    status="suppressed", resolved_at=now, resolution_note=note)).rowcount != 1:
                continue  # resolved meanwhile
            suppress(conn, d["partner_id"], d["event_id"], d["consumer_id"], "dispute", now)
            notify(conn, svc, d, CONSUMER, "result", now, _results_body(d, "suppressed", note, now))
            notify(conn, svc, d, FURNISHER, "result", now,
                   _furnisher_body(d, d["due_at"], outcome="suppressed", note=note))
            done.add(d["consumer_id"])
            count += 1
    for cid in sorted(done):
        rescore(svc, cid, now)
    return count


#: On every partner read, so built once.
_OPEN = Prepared(select(disputes.c.id, disputes.c.event_type, disputes.c.opened_at, disputes.c.due_at).where(
    disputes.c.consumer_id == bindparam("consumer_id"), disputes.c.status == "open").order_by(disputes.c.id))


def open_state(conn: Connection, consumer_id: str, now: datetime) -> tuple[bool, list[dict[str, Any]]]:
    """Whether an open dispute of the consumer is past its deadline (then the sweep must run
    first), and the flags partner answers carry about the open ones (never another partner's
    record ids)."""
    rows = _OPEN.all(conn, consumer_id=consumer_id)
    overdue = any(utc(r.due_at) <= now for r in rows)
    return overdue, [{"dispute_id": r.id, "record_type": r.event_type, "status": "disputed",
                      "opened_at": utc(r.opened_at)} for r in rows]
