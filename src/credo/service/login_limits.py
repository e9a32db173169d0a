"""Login rate limits: failed logins per username and per client address within a window.

Both counts are read before the password is checked (argon2 costs tens of milliseconds of CPU), so a
refused attempt is cheap. More than ``CREDO_LOGIN_MAX_FAILURES_PER_USERNAME`` failures for one
username, or ``CREDO_LOGIN_MAX_FAILURES_PER_CLIENT`` from one client address, within
``CREDO_LOGIN_WINDOW_MINUTES`` refuse further attempts with 429 ``RATE_LOGIN_LIMITED`` until the
oldest failure leaves the window; an unknown username is counted like a known one, so the limit says
nothing about which usernames exist. A successful login clears its username's failures. Usernames
and addresses are stored as SHA-256, in the store, so every server process shares the counts.
The client address is the connection's peer: behind a proxy, run uvicorn with ``--proxy-headers``
so it is the caller's.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select

from credo.errors import CredoError, ErrorCode
from credo.settings import Settings
from credo.store.tables import login_failures


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _failures(conn: Connection, column, value: str, since: datetime) -> int:  # noqa: ANN001
    return conn.execute(select(func.count()).select_from(login_failures)
                        .where(column == _digest(value), login_failures.c.failed_at > since)).scalar_one()


def check(conn: Connection, settings: Settings, username: str, client: str, now: datetime) -> None:
    """Refuse the attempt if the username or the client has used up its failures in the window."""
    window = settings.login_window_minutes
    since = now - timedelta(minutes=window)
    limits = ((login_failures.c.username_sha256, username, settings.login_max_failures_per_username, "username"),
              (login_failures.c.client_sha256, client, settings.login_max_failures_per_client, "client"))
    for column, value, limit, what in limits:
        if _failures(conn, column, value, since) >= limit:
            raise CredoError(ErrorCode.LOGIN_RATE_LIMITED, f"too many failed logins for this {what}: try again "
                             f"within {window} minutes", "username" if what == "username" else None,
                             f"at most {limit} failed logins per {what} in {window} minutes")


def record_failure(conn: Connection, settings: Settings, username: str, client: str, now: datetime) -> None:
    """Count a failed attempt; failures older than the window are dropped on the way."""
    conn.execute(delete(login_failures).where(
        login_failures.c.failed_at <= now - timedelta(minutes=settings.login_window_minutes)))
    conn.execute(insert(login_failures).values(username_sha256=_digest(username), client_sha256=_digest(client),
                                               failed_at=now))


def clear(conn: Connection, username: str) -> None:
    """A successful login forgives its username's failures."""
    conn.execute(delete(login_failures).where(login_failures.c.username_sha256 == _digest(username)))
