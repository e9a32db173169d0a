"""Rate limits on circle actions: invitations made and guesses per day, invitation codes that opened
nothing per hour (:data:`credo.policy.circles.LIMITS`).

Counted in the store (``circle_actions``), so every server process shares the counts; a count is read
before the action and the action recorded in the same transaction as its effect. Rows older than the
longest window are dropped on the way.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select

from credo.errors import CredoError, ErrorCode
from credo.policy.circles import CODE_FAILURE_LIMIT, GUESS_LIMIT, INVITATION_LIMIT, LIMITS, Limit
from credo.store.tables import circle_actions

_CODE_OF = {INVITATION_LIMIT.kind: (ErrorCode.INVITATIONS_RATE_LIMITED, "invitations"),
            GUESS_LIMIT.kind: (ErrorCode.GUESSES_RATE_LIMITED, "guesses"),
            CODE_FAILURE_LIMIT.kind: (ErrorCode.INVITATION_CODES_RATE_LIMITED, "invitation codes that did not work")}
_LONGEST = max(limit.window for limit in LIMITS)


def check(conn: Connection, consumer_id: str, limit: Limit, now: datetime, field: str | None = None) -> None:
    """Refuse the action if the consumer has used up ``limit`` in its window."""
    used = conn.execute(select(func.count()).select_from(circle_actions).where(
        circle_actions.c.consumer_id == consumer_id, circle_actions.c.kind == limit.kind,
        circle_actions.c.at > now - limit.window)).scalar_one()
    if used >= limit.count:
        code, what = _CODE_OF[limit.kind]
        raise CredoError(code, f"too many {what}: try again later", field, f"{what}: {limit.rule}")


def count(conn: Connection, consumer_id: str, limit: Limit, now: datetime) -> None:
    """Record one action of ``limit``'s kind."""
    conn.execute(delete(circle_actions).where(circle_actions.c.at <= now - _LONGEST))
    conn.execute(insert(circle_actions).values(consumer_id=consumer_id, kind=limit.kind, at=now))


def forget(conn: Connection, consumer_id: str) -> None:
    conn.execute(delete(circle_actions).where(circle_actions.c.consumer_id == consumer_id))
