"""Consent to access (partner × purpose × scope × expiry) and the ledger entry of every read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import Connection, and_, bindparam, insert, select, update

from credo.errors import CredoError, ErrorCode
from credo.ledger import ActorKind, Outcome, append_entry
from credo.registry.partners import CREDIT_CONTEXT_KINDS
from credo.service.runtime import is_active, utc
from credo.store.prepared import Prepared
from credo.store.tables import access_consents, consumers, partners

#: The closed list of purposes a partner may read for (a permissible purpose each).
Purpose = Literal["credit_application", "deposit_waiver", "rental", "account_review"]
PURPOSES: tuple[str, ...] = get_args(Purpose)
#: Scopes, each covering the ones before it.
Scope = Literal["eligibility", "band", "score_with_reasons"]
SCOPES: tuple[str, ...] = get_args(Scope)
MAX_CONSENT_DAYS = 366


def covers(granted: str, needed: str) -> bool:
    return SCOPES.index(granted) >= SCOPES.index(needed)


@dataclass(frozen=True)
class Actor:
    """Who made a read: a consumer (themselves), a partner, an operator, or an anonymous verifier of a
    credential the consumer presented."""

    kind: ActorKind
    id: str


def record(conn: Connection, *, consumer_id: str, actor: Actor, purpose: str, disclosed: str, now: datetime,
           consent_id: int | str | None = None, denied: ErrorCode | None = None) -> None:
    """Append the ledger entry of one read (in the caller's transaction)."""
    append_entry(conn, consumer_id=consumer_id, actor=actor.id, actor_kind=actor.kind, purpose=purpose,
                 disclosed=disclosed, outcome=Outcome.DENIED if denied else Outcome.ALLOWED, at=now,
                 consent_id=consent_id, reason_code=denied.value if denied else None)


def record_denial(engine, consumer_id: str, actor: Actor, purpose: str, disclosed: str, now: datetime,  # noqa: ANN001
                  error: CredoError) -> None:
    """A denied read, recorded in its own transaction (only for an active consumer: a closed or
    unknown id never enters the ledger in clear)."""
    with engine.begin() as conn:
        if is_active(conn, consumer_id):
            record(conn, consumer_id=consumer_id, actor=actor, purpose=purpose, disclosed=disclosed, now=now,
                   denied=error.code)


_PARTNER_KIND = Prepared(select(partners.c.kind).where(partners.c.id == bindparam("partner_id")))


def partner_kind(conn: Connection, partner_id: str) -> str:
    row = _PARTNER_KIND.first(conn, partner_id=partner_id)
    if row is None:
        raise CredoError(ErrorCode.PARTNER_UNKNOWN, f"no partner {partner_id!r}", "partner_id")
    return row.kind


def require_credit_partner(conn: Connection, partner_id: str) -> None:
    require_credit_kind(partner_kind(conn, partner_id))


def require_credit_kind(kind: str) -> None:
    """Only partners in credit and deposit contexts query consumers (an allowlist of kinds)."""
    if kind not in CREDIT_CONTEXT_KINDS:
        raise CredoError(ErrorCode.PARTNER_NON_CREDIT, "partners outside credit and deposit contexts cannot "
                         "query consumers; they may only verify credentials consumers present", "kind")


def grant(conn: Connection, consumer_id: str, partner_id: str, purpose: str, scope: str, expires_at: datetime,
          now: datetime) -> dict[str, object]:
    if purpose not in PURPOSES:
        raise CredoError(ErrorCode.INVALID_VALUE, f"purpose must be one of {PURPOSES}", "purpose")
    if scope not in SCOPES:
        raise CredoError(ErrorCode.INVALID_VALUE, f"scope must be one of {SCOPES}", "scope")
    if not now < expires_at <= now + timedelta(days=MAX_CONSENT_DAYS):
        raise CredoError(ErrorCode.INVALID_VALUE, f"expiry must be in the future and within {MAX_CONSENT_DAYS} days",
                         "expires_at")
    kind = conn.execute(select(partners.c.kind).where(partners.c.id == partner_id)).scalar_one_or_none()
    if kind is None:
        raise CredoError(ErrorCode.PARTNER_UNKNOWN, f"no partner {partner_id!r}", "partner_id")
    if kind not in CREDIT_CONTEXT_KINDS:
        raise CredoError(ErrorCode.PARTNER_NON_CREDIT, "this partner may only verify credentials you present",
                         "partner_id")
    cid = conn.execute(insert(access_consents).values(
        consumer_id=consumer_id, partner_id=partner_id, purpose=purpose, scope=scope, granted_at=now,
        expires_at=expires_at).returning(access_consents.c.id)).scalar_one()
    return consent_row(conn, cid)


def consent_row(conn: Connection, consent_id: int) -> dict[str, object]:
    r = conn.execute(select(access_consents).where(access_consents.c.id == consent_id)).mappings().one()
    return _public(r)


def _public(r) -> dict[str, object]:  # noqa: ANN001
    return {"id": r["id"], "partner_id": r["partner_id"], "purpose": r["purpose"], "scope": r["scope"],
            "granted_at": utc(r["granted_at"]), "expires_at": utc(r["expires_at"]),
            "revoked_at": utc(r["revoked_at"]) if r["revoked_at"] else None}


def list_consents(conn: Connection, consumer_id: str) -> list[dict[str, object]]:
    rows = conn.execute(select(access_consents).where(access_consents.c.consumer_id == consumer_id)
                        .order_by(access_consents.c.id)).mappings()
    return [_public(r) for r in rows]


def revoke(conn: Connection, consumer_id: str, consent_id: int, now: datetime) -> dict[str, object]:
    row = conn.execute(select(access_consents.c.id).where(access_consents.c.id == consent_id,
                                                          access_consents.c.consumer_id == consumer_id)).first()
    if row is None:
        raise CredoError(ErrorCode.NOT_FOUND, "no such consent", "consent_id")
    conn.execute(update(access_consents).where(access_consents.c.id == consent_id,
                                               access_consents.c.revoked_at.is_(None)).values(revoked_at=now))
    return consent_row(conn, consent_id)


#: The consumer's status and their access consents to one partner, in one statement built once
#: (it is on every partner read); no row means no such consumer.
_STATUS_AND_CONSENTS = Prepared(select(
    consumers.c.status, access_consents.c.id, access_consents.c.purpose, access_consents.c.scope,
    access_consents.c.granted_at, access_consents.c.expires_at, access_consents.c.revoked_at,
).select_from(consumers.outerjoin(access_consents, and_(
    access_consents.c.consumer_id == consumers.c.id, access_consents.c.partner_id == bindparam("partner_id"),
))).where(consumers.c.id == bindparam("consumer_id")))


def check(conn: Connection, consumer_id: str, partner_id: str, purpose: str, needed: str, now: datetime) -> int:
    """The id of a valid consent covering (partner, purpose, scope) now; else the most specific refusal."""
    found = _STATUS_AND_CONSENTS.all(conn, consumer_id=consumer_id, partner_id=partner_id)
    rows = [r for r in found if r.id is not None and r.status == "active"]
    if not rows:
        raise CredoError(ErrorCode.ACCESS_CONSENT_MISSING, "no access consent from this consumer", "consumer_id")
    same_purpose = [r for r in rows if r.purpose == purpose]
    if not same_purpose:
        raise CredoError(ErrorCode.ACCESS_CONSENT_WRONG_PURPOSE, f"no consent for purpose {purpose!r}", "purpose")
    wide = [r for r in same_purpose if covers(r.scope, needed)]
    if not wide:
        raise CredoError(ErrorCode.ACCESS_CONSENT_WRONG_SCOPE, f"consent does not cover {needed!r}", "scope")
    live = [r for r in wide if r.revoked_at is None]
    if not live:
        raise CredoError(ErrorCode.ACCESS_CONSENT_REVOKED, "the consumer revoked this consent", "consent")
    valid = [r for r in live if utc(r.expires_at) > now and utc(r.granted_at) <= now]
    if not valid:
        raise CredoError(ErrorCode.ACCESS_CONSENT_EXPIRED, "the consent has expired", "consent")
    return int(max(r.id for r in valid))
