"""Invitations to a circle, by link or short code: both sides say yes before anyone is a member.

1. A member invites (:func:`create`): a random code (:data:`credo.policy.circles.CODE_LENGTH`
   characters, only its SHA-256 kept), expiring, for one or a few people. The inviter's yes.
2. Whoever holds the code may look at what it opens (:func:`preview`: the circle's name, the inviter's
   name there, how many members) and ask to join under a name of their choice (:func:`accept`).
   Their yes.
3. The inviter confirms (:func:`confirm`) and only then is there a membership. A leaked code
   therefore never puts a stranger in a circle.

A code that opens nothing gets one answer whether it was mistyped, never existed, expired, was used
up or revoked: ``CIRCLE_INVITATION_INVALID``, and such failures are rate-limited per consumer, so a
code says nothing about who uses Credo and cannot be guessed. The inviter earns game points for each
member they brought in, for as long as that member stays (:mod:`credo.service.game`); never score.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from credo.errors import CredoError, ErrorCode
from credo.policy.circles import (
    CODE_ALPHABET,
    CODE_FAILURE_LIMIT,
    CODE_LENGTH,
    INVITATION_LIMIT,
    MAX_INVITATION_HOURS,
    MAX_MEMBERS,
    MAX_OPEN_INVITATIONS_PER_CIRCLE,
    MAX_USES,
    MIN_INVITATION_HOURS,
    NAME_MAX,
    format_code,
    normalise_code,
)
from credo.service import circle_limits, circles
from credo.service.runtime import Service, utc
from credo.store.tables import circle_invitations, circle_join_requests, circle_members
from credo.store.tables import circles as circles_table


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _invalid() -> CredoError:
    return CredoError(ErrorCode.CIRCLE_INVITATION_INVALID, "this code does not open an invitation: it may be "
                      "mistyped, expired, used up or withdrawn", "code", "a live invitation code")


def _live(row: Row, now: datetime) -> bool:
    return utc(row.expires_at) > now and row.uses < row.max_uses


def _size(conn: Connection, circle_id: str) -> int:
    return conn.execute(select(func.count()).select_from(circle_members)
                        .where(circle_members.c.circle_id == circle_id)).scalar_one()


def _full() -> CredoError:
    return CredoError(ErrorCode.CIRCLE_LIMIT_REACHED, f"a circle has at most {MAX_MEMBERS} members", "circle_id",
                      f"at most {MAX_MEMBERS} members")


def create(conn: Connection, consumer_id: str, circle_id: str, max_uses: int, hours: int,
           now: datetime) -> dict[str, Any]:
    """A new invitation to one of my circles; the code is shown here once and never again."""
    me = circles.member(conn, consumer_id, circle_id)
    if not 1 <= max_uses <= MAX_USES:
        raise CredoError(ErrorCode.INVALID_VALUE, f"an invitation is for 1 to {MAX_USES} people", "max_uses",
                         f"1 to {MAX_USES}")
    if not MIN_INVITATION_HOURS <= hours <= MAX_INVITATION_HOURS:
        raise CredoError(ErrorCode.INVALID_VALUE, f"an invitation lasts {MIN_INVITATION_HOURS} to "
                         f"{MAX_INVITATION_HOURS} hours", "hours", f"{MIN_INVITATION_HOURS} to {MAX_INVITATION_HOURS}")
    circle_limits.check(conn, consumer_id, INVITATION_LIMIT, now, "circle_id")
    if _size(conn, circle_id) >= MAX_MEMBERS:
        raise _full()
    live = [r for r in conn.execute(select(circle_invitations).where(circle_invitations.c.circle_id == circle_id))
            if _live(r, now)]
    if len(live) >= MAX_OPEN_INVITATIONS_PER_CIRCLE:
        raise CredoError(ErrorCode.CIRCLE_LIMIT_REACHED, f"a circle has at most {MAX_OPEN_INVITATIONS_PER_CIRCLE} "
                         "open invitations: withdraw one first", "circle_id",
                         f"at most {MAX_OPEN_INVITATIONS_PER_CIRCLE} open invitations")
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    invitation_id = circles.new_id()
    conn.execute(insert(circle_invitations).values(
        id=invitation_id, circle_id=circle_id, inviter_id=me.id, code_sha256=_digest(code), max_uses=max_uses,
        uses=0, created_at=now, expires_at=now + timedelta(hours=hours)))
    circle_limits.count(conn, consumer_id, INVITATION_LIMIT, now)
    return {**next(i for i in sent(conn, consumer_id, now) if i["id"] == invitation_id), "code": format_code(code)}


def sent(conn: Connection, consumer_id: str, now: datetime) -> list[dict[str, Any]]:
    """The invitations I made, each with the requests waiting for my yes."""
    inv, m, req = circle_invitations.c, circle_members.c, circle_join_requests.c
    blocked = circles.blocked_with(conn, consumer_id)
    rows = conn.execute(select(circle_invitations, circles_table.c.name)
                        .join(circle_members, m.id == inv.inviter_id)
                        .join(circles_table, circles_table.c.id == inv.circle_id)
                        .where(m.consumer_id == consumer_id).order_by(inv.created_at, inv.id)).all()
    out = []
    for r in rows:
        waiting = conn.execute(select(circle_join_requests).where(req.invitation_id == r.id)
                               .order_by(req.requested_at, req.id)).all()
        out.append({"id": r.id, "circle_id": r.circle_id, "circle_name": r.name, "max_uses": r.max_uses,
                    "uses": r.uses, "created_at": utc(r.created_at), "expires_at": utc(r.expires_at),
                    "live": _live(r, now),
                    "requests": [{"id": w.id, "display_name": w.display_name, "requested_at": utc(w.requested_at),
                                  "blocked": w.consumer_id in blocked} for w in waiting]})
    return out


def asked(conn: Connection, consumer_id: str) -> list[dict[str, Any]]:
    """My requests to join, waiting for the inviter's yes."""
    req = circle_join_requests.c
    rows = conn.execute(select(circle_join_requests, circles_table.c.name)
                        .join(circles_table, circles_table.c.id == req.circle_id)
                        .where(req.consumer_id == consumer_id).order_by(req.requested_at, req.id))
    return [{"id": r.id, "circle_name": r.name, "display_name": r.display_name,
             "requested_at": utc(r.requested_at)} for r in rows]


def _open(conn: Connection, consumer_id: str, code: str, now: datetime) -> Row | None:
    """The live invitation ``code`` opens; None (and one failure counted) for any other code."""
    circle_limits.check(conn, consumer_id, CODE_FAILURE_LIMIT, now, "code")
    canonical = normalise_code(code)
    row = None
    if len(canonical) == CODE_LENGTH and set(canonical) <= set(CODE_ALPHABET):
        row = conn.execute(select(circle_invitations)
                           .where(circle_invitations.c.code_sha256 == _digest(canonical))).first()
    if row is None or not _live(row, now):
        circle_limits.count(conn, consumer_id, CODE_FAILURE_LIMIT, now)
        return None
    return row


def preview(svc: Service, consumer_id: str, code: str, now: datetime) -> dict[str, Any]:
    """What a code opens: the circle's name, who invites (their name there), how many are in it."""
    with svc.engine.begin() as conn:
        row = _open(conn, consumer_id, code, now)
        if row is not None:
            name = conn.execute(select(circles_table.c.name).where(circles_table.c.id == row.circle_id)).scalar_one()
            inviter = conn.execute(select(circle_members.c.display_name)
                                   .where(circle_members.c.id == row.inviter_id)).scalar_one()
            return {"circle_name": name, "invited_by": inviter, "members": _size(conn, row.circle_id),
                    "expires_at": utc(row.expires_at)}
    raise _invalid()  # after the commit: the failure stays counted


def accept(svc: Service, consumer_id: str, code: str, display_name: str, now: datetime) -> dict[str, Any]:
    """My yes to an invitation, under the name I choose for that circle; a membership once the inviter says yes."""
    display_name = circles.check_name(display_name, NAME_MAX, "display_name")
    with svc.engine.begin() as conn:
        row = _open(conn, consumer_id, code, now)
        if row is not None:
            if conn.execute(select(circle_members.c.id).where(circle_members.c.circle_id == row.circle_id,
                                                              circle_members.c.consumer_id == consumer_id)).first():
                raise CredoError(ErrorCode.CIRCLE_ALREADY_MEMBER, "you are already in this circle", "code",
                                 "not already a member")
            circles.require_room_for(conn, consumer_id, "code")
            req = circle_join_requests.c
            conn.execute(delete(circle_join_requests).where(req.circle_id == row.circle_id,
                                                            req.consumer_id == consumer_id))
            request_id = circles.new_id()
            conn.execute(insert(circle_join_requests).values(
                id=request_id, invitation_id=row.id, circle_id=row.circle_id, consumer_id=consumer_id,
                display_name=display_name, requested_at=now))
            return next(r for r in asked(conn, consumer_id) if r["id"] == request_id)
    raise _invalid()


def _request(conn: Connection, request_id: str) -> Row | None:
    req, inv = circle_join_requests.c, circle_invitations.c
    return conn.execute(select(circle_join_requests, circle_invitations.c.inviter_id, inv.max_uses, inv.uses,
                               inv.expires_at, circle_members.c.consumer_id.label("inviter_consumer"))
                        .join(circle_invitations, inv.id == req.invitation_id)
                        .join(circle_members, circle_members.c.id == inv.inviter_id)
                        .where(req.id == request_id)).first()


def _no_request() -> CredoError:
    return CredoError(ErrorCode.NOT_FOUND, "no such request to join", "request_id")


def confirm(conn: Connection, consumer_id: str, request_id: str, now: datetime) -> dict[str, Any]:
    """The inviter's yes: the requester becomes a member (invited by me), the invitation one use fuller."""
    r = _request(conn, request_id)
    if r is None or r.inviter_consumer != consumer_id:
        raise _no_request()
    if not _live(r, now):
        raise CredoError(ErrorCode.CIRCLE_INVITATION_INVALID, "that invitation has expired or is used up: invite "
                         "them again", "request_id", "a live invitation")
    if r.consumer_id in circles.blocked_with(conn, consumer_id):
        raise CredoError(ErrorCode.CIRCLE_MEMBER_BLOCKED, "there is a block between you and this person: unblock "
                         "first, or decline", "request_id", "no block between inviter and invited")
    already = conn.execute(select(circle_members.c.id).where(circle_members.c.circle_id == r.circle_id,
                                                             circle_members.c.consumer_id == r.consumer_id)).first()
    if already:
        conn.execute(delete(circle_join_requests).where(circle_join_requests.c.id == r.id))
        raise CredoError(ErrorCode.CIRCLE_ALREADY_MEMBER, "they are already in this circle", "request_id",
                         "not already a member")
    if _size(conn, r.circle_id) >= MAX_MEMBERS:
        raise _full()
    circles.require_room_for(conn, r.consumer_id, "request_id")
    member_id = circles.add_member(conn, r.circle_id, r.consumer_id, r.display_name, now, invited_by=r.inviter_id)
    conn.execute(update(circle_invitations).where(circle_invitations.c.id == r.invitation_id)
                 .values(uses=circle_invitations.c.uses + 1))
    conn.execute(delete(circle_join_requests).where(circle_join_requests.c.id == r.id))
    return {"member_id": member_id, "circle_id": r.circle_id, "display_name": r.display_name, "joined_at": now}


def drop_request(conn: Connection, consumer_id: str, request_id: str) -> None:
    """The requester withdraws their request, or the inviter declines it."""
    r = _request(conn, request_id)
    if r is None or consumer_id not in (r.consumer_id, r.inviter_consumer):
        raise _no_request()
    conn.execute(delete(circle_join_requests).where(circle_join_requests.c.id == r.id))


def withdraw(conn: Connection, consumer_id: str, invitation_id: str) -> None:
    """Withdraw an invitation I made (its code opens nothing from now on; waiting requests go too)."""
    inv = circle_invitations.c
    row = conn.execute(select(inv.id).join(circle_members, circle_members.c.id == inv.inviter_id)
                       .where(inv.id == invitation_id, circle_members.c.consumer_id == consumer_id)).first()
    if row is None:
        raise CredoError(ErrorCode.NOT_FOUND, "no such invitation of yours", "invitation_id")
    conn.execute(delete(circle_join_requests).where(circle_join_requests.c.invitation_id == invitation_id))
    conn.execute(delete(circle_invitations).where(inv.id == invitation_id))
