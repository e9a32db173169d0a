"""Browser sessions of the partner console and the operator pages.

A partner signs in to the console with one of its API keys: the session remembers which key,
so revoking that key ends the session at once. Operators (read-only platform staff) sign in with
a username and an argon2id password. Tokens are random and stored as SHA-256, like consumer
sessions (:mod:`credo.service.accounts`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, insert, select, update

from credo.errors import CredoError, ErrorCode
from credo.registry.partners import authenticate_api_key, key_id_of
from credo.service import login_limits
from credo.service.runtime import Service, utc
from credo.store.tables import api_keys, console_sessions, operators

PARTNER, OPERATOR = "partner", "operator"
MIN_OPERATOR_PASSWORD = 12
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("credo-dummy-operator-password")


@dataclass(frozen=True)
class ConsolePrincipal:
    """Who a console session belongs to: a partner (its id) or an operator (their id)."""

    role: str
    subject: str
    token_sha256: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _open(svc: Service, conn: Connection, role: str, subject: str, api_key_id: str | None,
          now: datetime) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(minutes=svc.settings.session_ttl_minutes)
    conn.execute(insert(console_sessions).values(token_sha256=_digest(token), role=role, subject=subject,
                                                 api_key_id=api_key_id, created_at=now, expires_at=expires_at))
    return token, expires_at


def partner_login(svc: Service, api_key: str, now: datetime, client: str = "unknown") -> tuple[str, datetime]:
    """A console session (token, expiry) for the partner whose (live) API key this is; failed
    sign-ins are limited per key id and per client like consumer logins (:mod:`login_limits`)."""
    attempt = f"partner-key:{key_id_of(api_key)}"
    with svc.engine.connect() as conn:
        login_limits.check(conn, svc.settings, attempt, client, now)
    try:
        with svc.engine.begin() as conn:
            partner_id = authenticate_api_key(conn, api_key)
            login_limits.clear(conn, attempt)
            return _open(svc, conn, PARTNER, partner_id, key_id_of(api_key), now)
    except CredoError:
        with svc.engine.begin() as conn:
            login_limits.record_failure(conn, svc.settings, attempt, client, now)
        raise


def add_operator(conn: Connection, username: str, password: str, now: datetime) -> str:
    """Create an operator account; its id."""
    if len(password) < MIN_OPERATOR_PASSWORD or password.lower() == username.lower():
        raise CredoError(ErrorCode.PASSWORD_TOO_WEAK, f"use at least {MIN_OPERATOR_PASSWORD} characters, not the "
                         "username", "password", f"min length {MIN_OPERATOR_PASSWORD}")
    if conn.execute(select(operators.c.id).where(operators.c.username == username)).first():
        raise CredoError(ErrorCode.ACCOUNT_EXISTS, "that operator username is taken", "username")
    operator_id = secrets.token_hex(8)
    conn.execute(insert(operators).values(id=operator_id, username=username, password_hash=_hasher.hash(password),
                                          created_at=now))
    return operator_id


def operator_login(svc: Service, username: str, password: str, now: datetime,
                   client: str = "unknown") -> tuple[str, datetime]:
    """A console session (token, expiry) for an operator; AUTH_INVALID for any wrong detail (one message, one
    timing); failed sign-ins limited per username and client (:mod:`login_limits`)."""
    attempt = f"operator:{username}"
    with svc.engine.connect() as conn:
        login_limits.check(conn, svc.settings, attempt, client, now)
        row = conn.execute(select(operators.c.id, operators.c.password_hash)
                           .where(operators.c.username == username)).first()
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
        ok = row is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None:
        with svc.engine.begin() as conn:
            login_limits.record_failure(conn, svc.settings, attempt, client, now)
        raise CredoError(ErrorCode.AUTH_INVALID, "wrong username or password", "password")
    with svc.engine.begin() as conn:
        login_limits.clear(conn, attempt)
        return _open(svc, conn, OPERATOR, row.id, None, now)


def authenticate(conn: Connection, token: str, now: datetime) -> ConsolePrincipal:
    """The principal of a live console session; a partner's session dies with the key it used."""
    digest = _digest(token)
    row = conn.execute(select(console_sessions).where(console_sessions.c.token_sha256 == digest)).first()
    if row is None or row.revoked_at is not None or utc(row.expires_at) <= now:
        raise CredoError(ErrorCode.AUTH_INVALID, "unknown, expired or revoked console session", "session")
    if row.role == PARTNER:
        revoked = conn.execute(select(api_keys.c.revoked_at).where(api_keys.c.key_id == row.api_key_id)).first()
        if revoked is None or revoked.revoked_at is not None:
            raise CredoError(ErrorCode.AUTH_INVALID, "the API key this session signed in with was revoked", "session")
    return ConsolePrincipal(row.role, row.subject, digest)


def logout(svc: Service, principal: ConsolePrincipal, now: datetime) -> None:
    with svc.engine.begin() as conn:
        conn.execute(update(console_sessions).where(console_sessions.c.token_sha256 == principal.token_sha256)
                     .values(revoked_at=now))


def operator_name(conn: Connection, operator_id: str) -> str | None:
    return conn.execute(select(operators.c.username).where(operators.c.id == operator_id)).scalar_one_or_none()
