"""Partner registration and API keys (shown once, stored as SHA-256 of the secret).

API keys are 256-bit random secrets, so a fast hash is the right tool: unlike
passwords they cannot be guessed, and argon2 on every request would cap the
ingestion rate for no gain.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update

from credo.errors import CredoError, ErrorCode
from credo.events import EVENT_TYPES
from credo.registry.clock import utcnow
from credo.store.prepared import Prepared
from credo.store.tables import api_keys, partners

#: Kinds in credit and deposit contexts, the only ones that may be given access consent, register perk
#: programmes and read eligibility, bands or scores (PRODUCT.md §3; EU AI Act Art. 5(1)(c) forbids scores
#: used outside the context the data came from). An allowlist: a kind added later reads nothing until it is
#: put here. ``credit``: lenders, card and BNPL issuers; ``telecom``: post-paid contracts and handsets on
#: instalments; ``utility``, ``landlord``, ``rental``: deposits and deposit waivers.
CREDIT_CONTEXT_KINDS = ("credit", "telecom", "utility", "landlord", "rental")
#: Kinds that may only verify credentials a consumer chose to present (and report events, as any partner):
#: a marketplace, a bureau or verifiers that furnish data, a dating or social service, a hotel, a visa or
#: immigration office.
VERIFY_ONLY_KINDS = ("commerce", "bureau", "identity", "income", "matchmaking", "social", "hotel", "visa_office")
PARTNER_KINDS = CREDIT_CONTEXT_KINDS + VERIFY_ONLY_KINDS
_KEY_PREFIX = "credo"


def register_partner(
    conn: Connection, partner_id: str, name: str, kind: str, event_types: Iterable[str]
) -> None:
    """Register a partner allowed to report ``event_types``."""
    types = sorted(set(event_types))
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise CredoError(ErrorCode.INVALID_REGISTRATION, f"unknown event types {unknown}", "event_types")
    if kind not in PARTNER_KINDS:
        raise CredoError(ErrorCode.INVALID_REGISTRATION, f"unknown kind {kind!r}: use one of {', '.join(PARTNER_KINDS)}",
                         "kind", "PARTNER_KINDS")
    conn.execute(
        insert(partners).values(id=partner_id, name=name, kind=kind, event_types=types, created_at=utcnow())
    )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_api_key(conn: Connection, partner_id: str) -> str:
    """Create an API key for a partner and return it; only its hash is kept."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    conn.execute(
        insert(api_keys).values(
            key_id=key_id, partner_id=partner_id, secret_sha256=_digest(secret), created_at=utcnow()
        )
    )
    return f"{_KEY_PREFIX}_{key_id}_{secret}"


def revoke_api_key(conn: Connection, key_id: str) -> bool:
    """Revoke a key by id: True if it was live, False if already revoked; NOT_FOUND for an unknown id."""
    if conn.execute(select(api_keys.c.key_id).where(api_keys.c.key_id == key_id)).first() is None:
        raise CredoError(ErrorCode.NOT_FOUND, f"no API key with id {key_id!r} (the part after 'credo_')", "key_id")
    return bool(conn.execute(update(api_keys).where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                             .values(revoked_at=utcnow())).rowcount)


_KEY_BY_ID = Prepared(select(api_keys.c.partner_id, api_keys.c.secret_sha256, api_keys.c.revoked_at).where(
    api_keys.c.key_id == bindparam("key_id")))


def authenticate_api_key(conn: Connection, api_key: str) -> str:
    """The partner id an API key belongs to; ``CredoError`` if unknown or revoked."""
    prefix, _, rest = api_key.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != _KEY_PREFIX or not key_id or not secret:
        raise CredoError(ErrorCode.AUTH_INVALID, "malformed API key", "X-API-Key")
    row = _KEY_BY_ID.first(conn, key_id=key_id)
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_sha256, _digest(secret)):
        raise CredoError(ErrorCode.AUTH_INVALID, "unknown or revoked API key", "X-API-Key")
    return row.partner_id


def key_id_of(api_key: str) -> str:
    """The public id part of an API key (``credo_<key id>_<secret>``)."""
    return api_key.partition("_")[2].partition("_")[0]


def list_api_keys(conn: Connection, partner_id: str) -> list[dict[str, object]]:
    """A partner's keys: id and dates only (the secret is never stored)."""
    rows = conn.execute(select(api_keys.c.key_id, api_keys.c.created_at, api_keys.c.revoked_at)
                        .where(api_keys.c.partner_id == partner_id).order_by(api_keys.c.created_at)).mappings()
    return [dict(r) for r in rows]


def revoke_own_api_key(conn: Connection, partner_id: str, key_id: str, now: datetime) -> None:
    """Revoke one of the partner's own keys; NOT_FOUND for a key that is not theirs or already revoked."""
    done = conn.execute(update(api_keys).where(api_keys.c.key_id == key_id, api_keys.c.partner_id == partner_id,
                                               api_keys.c.revoked_at.is_(None)).values(revoked_at=now)).rowcount
    if not done:
        raise CredoError(ErrorCode.NOT_FOUND, "no live API key with that id for this partner", "key_id")
