"""Verifiable sharing: band credentials (SD-JWT VC, Ed25519), JWKS, status list, online verification.

The status list is derived from ``issued_credentials`` (every allocated index;
revoked ones set). Rows survive account closure with the consumer id removed,
so a closed account's credentials stay revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from credo.credentials import (
    DISCLOSABLE_CLAIMS,
    KeyRing,
    RevocationReason,
    StatusListIssuer,
    StatusRef,
    issue_score_band,
    verify_presentation,
)
from credo.credentials.jose import SIGNING_ALG, CompactJWS, JoseError, key_from_jwk
from credo.credentials.sdjwt import SdJwtParts
from credo.credentials.status import DEFAULT_SIZE
from credo.credentials.verify import DEFAULT_LEEWAY, DEFAULT_MAX_PRESENTATION_AGE
from credo.errors import CredoError, ErrorCode
from credo.ledger import ActorKind
from credo.policy.bands import BANDS
from credo.service import access
from credo.service import scores as scoring
from credo.service.runtime import Service, is_active, utc
from credo.store.tables import issued_credentials, used_nonces

_BAND_RANK = {b.name: i for i, b in enumerate(BANDS)}


def status_issuer(conn: Connection, uri: str) -> StatusListIssuer:
    issuer = StatusListIssuer(uri, DEFAULT_SIZE)
    for idx, revoked_at, reason in conn.execute(select(issued_credentials.c.status_idx, issued_credentials.c.revoked_at,
                                                       issued_credentials.c.revoke_reason)):
        issuer.allocated.add(idx)
        if revoked_at is not None:
            issuer.revoke(idx, reason or RevocationReason.FRAUD, 0)
    return issuer


def issue(svc: Service, consumer_id: str, holder_jwk: dict[str, Any], now: datetime,
          ttl_minutes: int | None = None) -> dict[str, Any]:
    """Issue a band credential to the consumer (never carrying the number); ledger entry included."""
    try:
        key_from_jwk(holder_jwk)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise CredoError(ErrorCode.INVALID_VALUE, f"holder_jwk: {exc}", "holder_jwk") from exc
    ttl = timedelta(minutes=ttl_minutes or svc.settings.credential_ttl_minutes)
    result = scoring.compute(svc, consumer_id, now, with_groups=False)
    me = access.Actor(ActorKind.CONSUMER, consumer_id)
    if result.status != scoring.SCORED or result.score is None:
        error = CredoError(ErrorCode.NOT_SCORABLE, "not enough data to score: no credential can be issued")
        access.record_denial(svc.engine, consumer_id, me, "credential_issue", "credential:band", now, error)
        raise error
    ring = svc.keys()
    for _ in range(20):
        idx = secrets.randbelow(DEFAULT_SIZE)
        cred = issue_score_band(ring, score=result.score, issuer=svc.settings.issuer, now=now, ttl=ttl,
                                holder_jwk=holder_jwk, status=StatusRef(idx, svc.status_list_uri),
                                as_of=now.date(), model_version=result.model_version)
        try:
            with svc.engine.begin() as conn:
                cid = secrets.token_hex(12)
                conn.execute(insert(issued_credentials).values(
                    id=cid, consumer_id=consumer_id, status_idx=idx, band=result.band, kid=cred.kid, issued_at=now,
                    expires_at=datetime.fromtimestamp(cred.expires_at, now.tzinfo)))
                scoring.persist(conn, result, now)
                access.record(conn, consumer_id=consumer_id, actor=me, purpose="credential_issue",
                              disclosed="credential:band", now=now)
        except IntegrityError:
            continue
        return {"id": cid, "credential": cred.sd_jwt, "kid": cred.kid, "band": result.band,
                "expires_at": datetime.fromtimestamp(cred.expires_at, now.tzinfo),
                "disclosable_claims": list(DISCLOSABLE_CLAIMS)}
    raise RuntimeError("could not allocate a status-list index")


def list_credentials(conn: Connection, consumer_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(issued_credentials).where(issued_credentials.c.consumer_id == consumer_id)
                        .order_by(issued_credentials.c.issued_at)).mappings()
    return [{"id": r["id"], "band": r["band"], "issued_at": utc(r["issued_at"]), "expires_at": utc(r["expires_at"]),
             "revoked_at": utc(r["revoked_at"]) if r["revoked_at"] else None, "revoke_reason": r["revoke_reason"]}
            for r in rows]


def revoke_all(conn: Connection, consumer_id: str, reason: RevocationReason, now: datetime) -> int:
    return conn.execute(update(issued_credentials).where(
        issued_credentials.c.consumer_id == consumer_id, issued_credentials.c.revoked_at.is_(None),
    ).values(revoked_at=now, revoke_reason=reason.value)).rowcount


def revoke_if_band_dropped(conn: Connection, consumer_id: str, band: str | None, now: datetime) -> int:
    """Revoke live credentials claiming a better band than the consumer now has."""
    rank = _BAND_RANK.get(band, -1) if band else -1
    rows = conn.execute(select(issued_credentials.c.id, issued_credentials.c.band).where(
        issued_credentials.c.consumer_id == consumer_id, issued_credentials.c.revoked_at.is_(None),
        issued_credentials.c.expires_at > now)).all()
    ids = [r.id for r in rows if _BAND_RANK.get(r.band, -1) > rank]
    if ids:
        conn.execute(update(issued_credentials).where(issued_credentials.c.id.in_(ids)).values(
            revoked_at=now, revoke_reason=RevocationReason.DISPUTE_LOWERED_BAND.value))
    return len(ids)


def status_token(svc: Service, now: datetime) -> str:
    with svc.engine.connect() as conn:
        return status_issuer(conn, svc.status_list_uri).token(svc.keys(), now)


def _holder_status_idx(token: str, ring: KeyRing) -> int | None:
    """The status-list index of a credential the issuer really signed; None for anything else,
    so a forged or tampered token names nobody and writes into nobody's ledger."""
    try:
        jws = CompactJWS(SdJwtParts.parse(token).issuer_jwt)
        key = ring.get(jws.header.get("kid"))
        if key is None or jws.alg != SIGNING_ALG or not jws.verify(key.public_key):
            return None
        idx = jws.payload["status"]["status_list"]["idx"]
        return idx if isinstance(idx, int) else None
    except (JoseError, KeyError, TypeError, ValueError):
        return None


#: How long a used nonce is remembered: past it, any presentation carrying it is stale anyway (its KB-JWT
#: ``iat`` may be up to the leeway ahead, and is accepted for the maximum age plus the leeway).
NONCE_MEMORY = timedelta(seconds=DEFAULT_MAX_PRESENTATION_AGE + 2 * DEFAULT_LEEWAY)


def _first_use(conn: Connection, audience: str, nonce: str, now: datetime) -> bool:
    """Record (audience, nonce) as used; False if it already was (a replayed presentation). Concurrent
    verifications of one presentation: the insert waits for the other's commit and then does nothing."""
    digest = hashlib.sha256(f"{audience}\x00{nonce}".encode("utf-8", "surrogatepass")).hexdigest()
    conn.execute(delete(used_nonces).where(used_nonces.c.expires_at <= now))
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    done = conn.execute(dialect.insert(used_nonces).values(digest=digest, used_at=now, expires_at=now + NONCE_MEMORY)
                        .on_conflict_do_nothing(index_elements=["digest"]).returning(used_nonces.c.digest))
    return done.first() is not None


def verify_online(svc: Service, token: str, audience: str, nonce: str, actor: access.Actor,
                  now: datetime) -> dict[str, Any]:
    """Verify a presentation against the live keys and status list; the read lands in the holder's ledger."""
    with svc.engine.begin() as conn:
        issuer = status_issuer(conn, svc.status_list_uri)
        result = verify_presentation(token, jwks=svc.keys(), audience=audience, nonce=nonce, now=now,
                                     status_list={svc.status_list_uri: issuer.list}, issuer=svc.settings.issuer)
        if result.ok and not _first_use(conn, audience, nonce, now):
            result = replace(result, ok=False, reason=ErrorCode.CRED_PRESENTATION_REPLAYED, disclosed={},
                             detail="a presentation with this audience and nonce was already verified")
        idx = _holder_status_idx(token, svc.keys())
        holder = None
        if idx is not None:
            holder = conn.execute(select(issued_credentials.c.consumer_id)
                                  .where(issued_credentials.c.status_idx == idx)).scalar_one_or_none()
        if holder is not None and is_active(conn, holder):
            shown = ",".join(sorted(result.disclosed)) or "none"
            access.record(conn, consumer_id=holder, actor=actor, purpose="credential_verification",
                          disclosed=f"credential:{shown}"[:200], now=now,
                          denied=None if result.ok else result.reason)
    return {"valid": result.ok, "reason": result.reason.value if result.reason else None, "detail": result.detail,
            "disclosed": result.disclosed if result.ok else {}, "kid": result.kid}
