"""My data (every record with its source and dates), the full JSON export, and account closure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select, update

from credo.credentials import RevocationReason
from credo.errors import CredoError, ErrorCode
from credo.fairness import attributes
from credo.governance import registry
from credo.ledger import ActorKind, entries_for, pseudonymise
from credo.registry.consents import bump_registry_version
from credo.service import access, circle_data, circles, disputes, kept, ledger_check, notices, sharing
from credo.service import scores as scoring
from credo.service.accounts import Principal
from credo.service.runtime import Service, utc
from credo.store.tables import (
    access_consents,
    accounts,
    adverse_action_notices,
    consumers,
    dispute_notices,
    eligibility_checks,
    events,
    partners,
    report_consents,
    scores,
    sessions,
    suppressions,
)


def records(conn: Connection, consumer_id: str) -> list[dict[str, Any]]:
    """Every record held about the consumer, with the reporting partner and dates (suppressed ones marked)."""
    suppressed = {(p, e): r for p, e, r in conn.execute(
        select(suppressions.c.partner_id, suppressions.c.event_id, suppressions.c.reason)
        .where(suppressions.c.consumer_id == consumer_id))}
    open_disputes = {(d["partner_id"], d["event_id"]) for d in disputes.consumer_disputes(conn, consumer_id)
                     if d["status"] == "open"}
    rows = conn.execute(select(events, partners.c.name.label("partner_name"))
                        .join(partners, partners.c.id == events.c.partner_id)
                        .where(events.c.consumer_id == consumer_id).order_by(events.c.seq)).mappings()
    out = []
    for r in rows:
        key = (r["partner_id"], r["event_id"])
        out.append({"partner_id": r["partner_id"], "partner_name": r["partner_name"], "event_id": r["event_id"],
                    "type": r["type"], "occurred_at": utc(r["occurred_at"]), "received_at": utc(r["received_at"]),
                    "target_event_id": r["target_event_id"], "payload": orjson.loads(r["payload"]),
                    "disputed": key in open_disputes, "suppressed": suppressed.get(key)})
    return out


def consents_to_report(conn: Connection, consumer_id: str) -> list[dict[str, Any]]:
    """The consumer's consents to report, each (partner, event type) with when given and withdrawn."""
    rows = conn.execute(select(report_consents).where(report_consents.c.consumer_id == consumer_id)
                        .order_by(report_consents.c.id)).mappings()
    return [{"partner_id": r["partner_id"], "event_type": r["event_type"], "granted_at": utc(r["granted_at"]),
             "withdrawn_at": utc(r["withdrawn_at"]) if r["withdrawn_at"] else None} for r in rows]


def ledger_entries(conn: Connection, consumer_id: str) -> list[dict[str, Any]]:
    return [{"seq": e.seq, "at": e.occurred_at, "actor_kind": e.actor_kind, "actor": e.actor, "purpose": e.purpose,
             "consent_id": e.consent_id, "disclosed": e.disclosed, "outcome": e.outcome,
             "reason_code": e.reason_code, "hash": e.hash} for e in entries_for(conn, consumer_id)]


def export(svc: Service, consumer_id: str, now: datetime) -> dict[str, Any]:
    """Everything about the consumer as JSON: events, features now, scores, consents, disputes, notices,
    ledger, and a signed checkpoint of the ledger covering all its entries (this export's included).

    Reading the features and score for the export is itself a read: it is recorded."""
    try:
        features: dict[str, Any] | None = scoring.compute(svc, consumer_id, now, with_groups=False).features
    except CredoError as exc:
        if exc.code is not ErrorCode.MODEL_UNAVAILABLE:
            raise
        features = None  # no model trained yet: the export still carries every record
    ring = svc.keys()  # before the transaction: opening the ring may write to the store
    with svc.engine.begin() as conn:
        access.record(conn, consumer_id=consumer_id, actor=access.Actor(ActorKind.CONSUMER, consumer_id),
                      purpose="data_export", disclosed="export:all", now=now)
        checkpoint = ledger_check.sign_checkpoint(ring, conn, now)
        assert checkpoint is not None  # the export's own entry is in the ledger
        return {
            "consumer_id": consumer_id, "exported_at": now,
            "events": records(conn, consumer_id),
            "features": features,
            "scores": scoring.history(conn, consumer_id),
            "report_consents": consents_to_report(conn, consumer_id),
            "access_consents": access.list_consents(conn, consumer_id),
            "disputes": disputes.consumer_disputes(conn, consumer_id),
            "credentials": sharing.list_credentials(conn, consumer_id),
            "notices": notices.consumer_notices(conn, consumer_id),
            "ledger": ledger_entries(conn, consumer_id),
            "circles": circle_data.export(conn, consumer_id, now),
            "ledger_checkpoint": checkpoint.public(),
        }


def close_account(svc: Service, principal: Principal, now: datetime) -> dict[str, Any]:
    """Erase: events, features (derived, never stored), scores, consents, disputes and their notices, adverse-action
    notices, checks, audit-only attributes and the model registry's evaluation rows about them,
    sessions, the account and the consumer row deleted; credentials revoked (their status-list rows kept without the
    consumer id, so they stay revoked); the ledger pseudonymised (entries kept, hash chain intact)."""
    cid = principal.consumer_id
    with svc.engine.begin() as conn:
        circles.forget_consumer(conn, cid)  # no trace left in any circle
        revoked = sharing.revoke_all(conn, cid, RevocationReason.ACCOUNT_CLOSED, now)
        conn.execute(update(sharing.issued_credentials).where(sharing.issued_credentials.c.consumer_id == cid)
                     .values(consumer_id=None, band=None))
        deleted = conn.execute(delete(events).where(events.c.consumer_id == cid)).rowcount
        conn.execute(delete(scores).where(scores.c.consumer_id == cid))
        conn.execute(delete(suppressions).where(suppressions.c.consumer_id == cid))
        conn.execute(delete(dispute_notices).where(dispute_notices.c.consumer_id == cid))
        conn.execute(delete(adverse_action_notices).where(adverse_action_notices.c.consumer_id == cid))
        conn.execute(delete(disputes.disputes).where(disputes.disputes.c.consumer_id == cid))
        conn.execute(delete(access_consents).where(access_consents.c.consumer_id == cid))
        conn.execute(delete(report_consents).where(report_consents.c.consumer_id == cid))
        conn.execute(delete(eligibility_checks).where(eligibility_checks.c.consumer_id == cid))
        attributes.forget(conn, cid)
        registry.forget_subject(conn, cid)
        conn.execute(delete(sessions).where(sessions.c.account_id == principal.account_id))
        conn.execute(delete(accounts).where(accounts.c.id == principal.account_id))
        conn.execute(delete(consumers).where(consumers.c.id == cid))
        bump_registry_version(conn)
        result = pseudonymise(conn, cid, svc.settings.ledger_key, at=now)
    kept.forget(svc, cid)
    return {"closed_at": now, "events_deleted": deleted, "credentials_revoked": revoked,
            "ledger_entries_pseudonymised": result.entries_pseudonymised}
