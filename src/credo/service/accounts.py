"""Consumer accounts: argon2id password hashes, random bearer session tokens stored hashed."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, bindparam, insert, select, update

from credo.errors import CredoError, ErrorCode
from credo.registry import enrol_consumer
from credo.service import login_limits
from credo.service.runtime import Service, is_active, utc
from credo.store.prepared import Prepared
from credo.store.tables import accounts, consumers, sessions

_hasher = PasswordHasher()
#: Verified against when the username is unknown, so timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("credo-dummy-password")
MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class Principal:
    """An authenticated consumer."""

    account_id: str
    consumer_id: str
    token_sha256: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def register(svc: Service, username: str, password: str, *, consumer_id: str | None = None,
             now: datetime | None = None) -> dict[str, str]:
    """Create an account. Without ``consumer_id`` a new consumer is enrolled; with it the account
    links to that enrolled consumer (an operator/identity-verified step, not exposed over HTTP)."""
    now = now or svc.now()
    if len(password) < MIN_PASSWORD_LENGTH or password.lower() == username.lower():
        raise CredoError(ErrorCode.PASSWORD_TOO_WEAK, f"use at least {MIN_PASSWORD_LENGTH} characters, "
                         "not your username", "password", f"min length {MIN_PASSWORD_LENGTH}")
    password_hash = _hasher.hash(password)
    with svc.engine.begin() as conn:
        if conn.execute(select(accounts.c.id).where(accounts.c.username == username)).first():
            raise CredoError(ErrorCode.ACCOUNT_EXISTS, "that username is taken", "username")
        if consumer_id is None:
            consumer_id = f"c-{secrets.token_hex(8)}"
            enrol_consumer(conn, consumer_id)
        else:
            if not is_active(conn, consumer_id):
                raise CredoError(ErrorCode.NOT_FOUND, "no such enrolled consumer", "consumer_id")
            if conn.execute(select(accounts.c.id).where(accounts.c.consumer_id == consumer_id)).first():
                raise CredoError(ErrorCode.ACCOUNT_EXISTS, "that consumer already has an account", "consumer_id")
        account_id = secrets.token_hex(8)
        conn.execute(insert(accounts).values(id=account_id, username=username, password_hash=password_hash,
                                             consumer_id=consumer_id, created_at=now))
    return {"account_id": account_id, "consumer_id": consumer_id}


def login(svc: Service, username: str, password: str, *, now: datetime | None = None,
          client: str = "unknown") -> tuple[str, datetime]:
    """A new bearer token and its expiry; AUTH_INVALID for any wrong detail (same message);
    RATE_LOGIN_LIMITED once the username or the client has failed too often (:mod:`login_limits`)."""
    now = now or svc.now()
    with svc.engine.connect() as conn:
        login_limits.check(conn, svc.settings, username, client, now)
        row = conn.execute(select(accounts.c.id, accounts.c.password_hash, accounts.c.closed_at)
                           .where(accounts.c.username == username)).first()
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
        ok = row is not None and row.closed_at is None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None:
        with svc.engine.begin() as conn:
            login_limits.record_failure(conn, svc.settings, username, client, now)
        raise CredoError(ErrorCode.AUTH_INVALID, "wrong username or password", "password")
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(minutes=svc.settings.session_ttl_minutes)
    with svc.engine.begin() as conn:
        login_limits.clear(conn, username)
        conn.execute(insert(sessions).values(token_sha256=_digest(token), account_id=row.id, created_at=now,
                                             expires_at=expires))
    return token, expires


def confirm_password(svc: Service, principal: Principal, password: str) -> None:
    """Step-up check before an irreversible act (closing the account): AUTH_INVALID on the
    ``password`` field unless it is the account's. Creates no session."""
    with svc.engine.connect() as conn:
        stored = conn.execute(select(accounts.c.password_hash)
                              .where(accounts.c.id == principal.account_id)).scalar_one_or_none()
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
        ok = stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok:
        raise CredoError(ErrorCode.AUTH_INVALID, "confirm with your password", "password")


#: The session behind a bearer token: on every consumer request, so built once (store.prepared).
_SESSION = Prepared(
    select(sessions.c.expires_at, sessions.c.revoked_at, accounts.c.id, accounts.c.consumer_id, accounts.c.closed_at)
    .join(accounts, accounts.c.id == sessions.c.account_id)
    .where(sessions.c.token_sha256 == bindparam("digest")))


def authenticate(conn: Connection, token: str, now: datetime) -> Principal:
    digest = _digest(token)
    row = _SESSION.first(conn, digest=digest)
    if row is None or row.revoked_at is not None or row.closed_at is not None or utc(row.expires_at) <= now:
        raise CredoError(ErrorCode.AUTH_INVALID, "unknown, expired or revoked session token", "Authorization")
    return Principal(row.id, row.consumer_id, digest)


def logout(svc: Service, principal: Principal, now: datetime) -> None:
    with svc.engine.begin() as conn:
        conn.execute(update(sessions).where(sessions.c.token_sha256 == principal.token_sha256)
                     .values(revoked_at=now))


def revoke_all_sessions(conn: Connection, account_id: str, now: datetime) -> None:
    conn.execute(update(sessions).where(sessions.c.account_id == account_id, sessions.c.revoked_at.is_(None))
                 .values(revoked_at=now))


def account_info(conn: Connection, principal: Principal) -> dict[str, object]:
    row = conn.execute(select(accounts.c.username, accounts.c.created_at, consumers.c.enrolled_at)
                       .join(consumers, consumers.c.id == accounts.c.consumer_id)
                       .where(accounts.c.id == principal.account_id)).one()
    return {"account_id": principal.account_id, "consumer_id": principal.consumer_id, "username": row.username,
            "created_at": utc(row.created_at), "enrolled_at": utc(row.enrolled_at)}
