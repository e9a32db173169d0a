"""Friends circles (PRODUCT.md §1 "Play, if they want to"): membership, what each member shows, leaving,
blocking, and erasure with the account.

* A member is known in a circle only by a random member id and the name they chose there: never
  their username or consumer id.
* What the circle sees of a member's band is the member's choice per circle (``nothing`` by default,
  ``guess``, ``band``: :mod:`credo.policy.circles`), re-read in the transaction that shows it, so a
  change has immediate effect. Switching to ``nothing`` also deletes every guess about them there.
* Showing a member's band (or a badge) to another member is a disclosure: recorded in the shown
  member's access ledger, the viewer named by their member id (``member:<id>``).
* Leaving removes everything of the member's from that circle: the membership, their guesses and the
  guesses about them, their invitations and the requests made through them, and the points those
  carried (points are derived from guesses and invited members, never stored apart). A circle left
  without members is deleted. Closing the account does this for every circle (:func:`forget_consumer`).
* A block (either way) hides each one's band and badges from the other and stops guesses between
  them; existing guesses between them are deleted.

Nothing here reads or writes an event, a feature or a score: bands are read as a partner answer
would read them (:func:`band_of`), and never persisted.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, or_, select, update

from credo.errors import CredoError, ErrorCode
from credo.ledger import ActorKind
from credo.policy.circles import (
    BADGE_CODES,
    CIRCLE_NAME_MAX,
    DEFAULT_SHARING,
    MAX_CIRCLES_PER_CONSUMER,
    NAME_MAX,
    SHARING,
    valid_name,
)
from credo.service import access, badges, circle_limits, kept
from credo.service import scores as scoring
from credo.service.runtime import Service, utc
from credo.store.tables import (
    circle_blocks,
    circle_guesses,
    circle_invitations,
    circle_join_requests,
    circle_members,
    circles,
)

VIEW_PURPOSE = "circle_view"


def new_id() -> str:
    """A random public id (members, circles, invitations, requests, blocks)."""
    return secrets.token_hex(8)


def check_name(text: str, limit: int, field: str) -> str:
    if not valid_name(text, limit):
        raise CredoError(ErrorCode.INVALID_VALUE, f"give a name of 1 to {limit} printable characters", field,
                         f"1 to {limit} printable characters")
    return text.strip()


def viewer(member_id: str) -> access.Actor:
    """How a member who was shown something appears in the shown member's ledger."""
    return access.Actor(ActorKind.CONSUMER, f"member:{member_id}")


def band_of(svc: Service, consumer_id: str, now: datetime) -> str | None:
    """The band a circle sees, None for "not enough data to score": the member's score now, as their
    own score page shows it (the kept score when nothing moved it, :mod:`credo.service.kept`). Never
    written to the score history, and no overdue dispute is swept for it: a game read changes nothing."""
    result, _ = kept.score_now(svc, consumer_id, now)
    return result.band if result.status == scoring.SCORED else None


# ---------------------------------------------------------------- look-ups


def member(conn: Connection, consumer_id: str, circle_id: str) -> Row:
    """The consumer's membership of the circle; NOT_FOUND if there is none (or no such circle)."""
    row = conn.execute(select(circle_members).where(circle_members.c.circle_id == circle_id,
                                                    circle_members.c.consumer_id == consumer_id)).first()
    if row is None:
        raise CredoError(ErrorCode.NOT_FOUND, "no such circle among yours", "circle_id")
    return row


def other_member(conn: Connection, me: Row, member_id: str) -> Row:
    """Another member of ``me``'s circle; NOT_FOUND for anyone else."""
    row = conn.execute(select(circle_members).where(circle_members.c.id == member_id,
                                                    circle_members.c.circle_id == me.circle_id)).first()
    if row is None or row.id == me.id:
        raise CredoError(ErrorCode.NOT_FOUND, "no such other member in this circle", "member_id")
    return row


def members_of(conn: Connection, circle_id: str) -> list[Row]:
    """The circle's members in the order they joined (then by name)."""
    m = circle_members.c
    return list(conn.execute(select(circle_members).where(m.circle_id == circle_id)
                             .order_by(m.joined_at, m.display_name, m.id)))


def blocked_with(conn: Connection, consumer_id: str) -> set[str]:
    """The consumers with a block between them and ``consumer_id``, either way."""
    b = circle_blocks.c
    rows = conn.execute(select(b.blocker_id, b.blocked_id).where(
        or_(b.blocker_id == consumer_id, b.blocked_id == consumer_id)))
    return {blocked if blocker == consumer_id else blocker for blocker, blocked in rows}


def count_circles(conn: Connection, consumer_id: str) -> int:
    return conn.execute(select(func.count()).select_from(circle_members)
                        .where(circle_members.c.consumer_id == consumer_id)).scalar_one()


def require_room_for(conn: Connection, consumer_id: str, field: str) -> None:
    if count_circles(conn, consumer_id) >= MAX_CIRCLES_PER_CONSUMER:
        raise CredoError(ErrorCode.CIRCLE_LIMIT_REACHED, f"at most {MAX_CIRCLES_PER_CONSUMER} circles each",
                         field, f"at most {MAX_CIRCLES_PER_CONSUMER} circles per person")


def add_member(conn: Connection, circle_id: str, consumer_id: str, display_name: str, now: datetime,
               invited_by: str | None = None) -> str:
    member_id = new_id()
    conn.execute(insert(circle_members).values(
        id=member_id, circle_id=circle_id, consumer_id=consumer_id, display_name=display_name,
        sharing=DEFAULT_SHARING, badges=[], invited_by=invited_by, joined_at=now))
    return member_id


def _mine(row: Row) -> dict[str, Any]:
    return {"member_id": row.id, "display_name": row.display_name, "sharing": row.sharing,
            "badges": list(row.badges), "joined_at": utc(row.joined_at)}


# ---------------------------------------------------------------- circles


def create(conn: Connection, consumer_id: str, name: str, display_name: str, now: datetime) -> dict[str, Any]:
    """A new circle with its creator as the only member."""
    name = check_name(name, CIRCLE_NAME_MAX, "name")
    display_name = check_name(display_name, NAME_MAX, "display_name")
    require_room_for(conn, consumer_id, "name")
    circle_id = new_id()
    conn.execute(insert(circles).values(id=circle_id, name=name, created_at=now))
    add_member(conn, circle_id, consumer_id, display_name, now)
    return next(c for c in my_circles(conn, consumer_id) if c["id"] == circle_id)


def my_circles(conn: Connection, consumer_id: str) -> list[dict[str, Any]]:
    sizes = (select(circle_members.c.circle_id, func.count().label("members"))
             .group_by(circle_members.c.circle_id).subquery())
    rows = conn.execute(
        select(circle_members, circles.c.name, sizes.c.members)
        .join(circles, circles.c.id == circle_members.c.circle_id)
        .join(sizes, sizes.c.circle_id == circle_members.c.circle_id)
        .where(circle_members.c.consumer_id == consumer_id)
        .order_by(circle_members.c.joined_at, circles.c.name, circle_members.c.id))
    return [{"id": r.circle_id, "name": r.name, "members": r.members, "me": _mine(r)} for r in rows]


def view(svc: Service, consumer_id: str, circle_id: str, now: datetime) -> dict[str, Any]:
    """The circle as the consumer sees it: each member with what they show this consumer. Every band or
    badge shown is recorded in that member's ledger, in the transaction that re-reads what they share."""
    with svc.engine.connect() as conn:
        member(conn, consumer_id, circle_id)
        blocked = blocked_with(conn, consumer_id)
        others = [r for r in members_of(conn, circle_id) if r.consumer_id != consumer_id
                  and r.consumer_id not in blocked]
        earned = {r.id: badges.earned(conn, r.consumer_id, now) for r in others if r.badges}
    bands = {r.id: band_of(svc, r.consumer_id, now) for r in others if r.sharing == "band"}
    with svc.engine.begin() as conn:
        me = member(conn, consumer_id, circle_id)
        name = conn.execute(select(circles.c.name).where(circles.c.id == circle_id)).scalar_one()
        blocked = blocked_with(conn, consumer_id)
        shown = [_shown(conn, me, r, r.consumer_id in blocked, bands, earned, now)
                 for r in members_of(conn, circle_id)]
    return {"id": circle_id, "name": name, "me": _mine(me), "members": shown}


def _shown(conn: Connection, me: Row, r: Row, blocked: bool, bands: dict[str, str | None],
           earned: dict[str, set[str]], now: datetime) -> dict[str, Any]:
    """One member as ``me`` sees them now, and the ledger entry of what that shows. A band is shown only
    if it was read for this view (a member who began showing it meanwhile is shown from the next view)."""
    if r.id == me.id:
        return {**_mine(r), "you": True, "band": None}
    sharing = "nothing" if blocked else r.sharing
    band = (bands[r.id] or "not_enough_data") if sharing == "band" and r.id in bands else None
    badges_shown = [] if blocked else sorted(set(r.badges) & earned.get(r.id, set()))
    disclosed = (["band"] if band else []) + [f"badge:{b}" for b in badges_shown]
    if disclosed:
        access.record(conn, consumer_id=r.consumer_id, actor=viewer(me.id), purpose=VIEW_PURPOSE,
                      disclosed=",".join(disclosed)[:200], now=now)
    return {"member_id": r.id, "display_name": r.display_name, "joined_at": utc(r.joined_at), "you": False,
            "sharing": sharing, "band": band, "badges": badges_shown}


def update_membership(conn: Connection, consumer_id: str, circle_id: str, now: datetime, *,
                      sharing: str | None = None, badges_shown: list[str] | None = None,
                      display_name: str | None = None) -> dict[str, Any]:
    """Change what the circle sees of me (immediate effect), which badges I show, or my name there.
    Showing ``nothing`` deletes every guess about me in this circle, and the points they gave."""
    me = member(conn, consumer_id, circle_id)
    values: dict[str, Any] = {}
    if display_name is not None:
        values["display_name"] = check_name(display_name, NAME_MAX, "display_name")
    if sharing is not None:
        if sharing not in SHARING:
            raise CredoError(ErrorCode.INVALID_VALUE, f"sharing must be one of {list(SHARING)}", "sharing",
                             f"one of {list(SHARING)}")
        values["sharing"] = sharing
        if sharing == "nothing":
            conn.execute(delete(circle_guesses).where(circle_guesses.c.target_id == me.id))
    if badges_shown is not None:
        unknown = sorted(set(badges_shown) - set(BADGE_CODES))
        if unknown:
            raise CredoError(ErrorCode.INVALID_VALUE, f"no such badge {unknown[0]!r}", "badges",
                             f"badges from {list(BADGE_CODES)}")
        missing = sorted(set(badges_shown) - badges.earned(conn, consumer_id, now))
        if missing:
            raise CredoError(ErrorCode.CIRCLE_BADGE_NOT_EARNED, f"you have not earned {missing[0]!r} (yet)",
                             "badges", "only badges you have earned")
        values["badges"] = sorted(set(badges_shown))
    if values:
        conn.execute(update(circle_members).where(circle_members.c.id == me.id).values(**values))
    return _mine(member(conn, consumer_id, circle_id))


# ---------------------------------------------------------------- leaving, blocking, erasure


def _remove(conn: Connection, row: Row) -> None:
    """Everything of one membership out of its circle; the circle too if nobody is left."""
    g, m, inv, req = circle_guesses.c, circle_members.c, circle_invitations.c, circle_join_requests.c
    conn.execute(delete(circle_guesses).where(or_(g.guesser_id == row.id, g.target_id == row.id)))
    theirs = select(inv.id).where(inv.inviter_id == row.id).scalar_subquery()
    conn.execute(delete(circle_join_requests).where(req.invitation_id.in_(theirs)))
    conn.execute(delete(circle_invitations).where(inv.inviter_id == row.id))
    conn.execute(update(circle_members).where(m.invited_by == row.id).values(invited_by=None))
    conn.execute(delete(circle_members).where(m.id == row.id))
    if conn.execute(select(m.id).where(m.circle_id == row.circle_id).limit(1)).first() is None:
        conn.execute(delete(circle_join_requests).where(req.circle_id == row.circle_id))
        conn.execute(delete(circle_invitations).where(inv.circle_id == row.circle_id))
        conn.execute(delete(circles).where(circles.c.id == row.circle_id))


def leave(conn: Connection, consumer_id: str, circle_id: str) -> None:
    _remove(conn, member(conn, consumer_id, circle_id))


def block(conn: Connection, consumer_id: str, circle_id: str, member_id: str, now: datetime) -> dict[str, Any]:
    """Block another member of one of my circles, everywhere: see :func:`blocked_with`."""
    me = member(conn, consumer_id, circle_id)
    them = other_member(conn, me, member_id)
    b = circle_blocks.c
    block_id = conn.execute(select(b.id).where(b.blocker_id == consumer_id,
                                               b.blocked_id == them.consumer_id)).scalar_one_or_none()
    if block_id is None:
        block_id = new_id()
        conn.execute(insert(circle_blocks).values(id=block_id, blocker_id=consumer_id, blocked_id=them.consumer_id,
                                                  label=them.display_name, blocked_at=now))
    mine = select(circle_members.c.id).where(circle_members.c.consumer_id == consumer_id).scalar_subquery()
    theirs = select(circle_members.c.id).where(circle_members.c.consumer_id == them.consumer_id).scalar_subquery()
    g = circle_guesses.c
    conn.execute(delete(circle_guesses).where(or_(g.guesser_id.in_(mine) & g.target_id.in_(theirs),
                                                  g.guesser_id.in_(theirs) & g.target_id.in_(mine))))
    return next(x for x in blocks(conn, consumer_id) if x["id"] == block_id)


def blocks(conn: Connection, consumer_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(circle_blocks).where(circle_blocks.c.blocker_id == consumer_id)
                        .order_by(circle_blocks.c.blocked_at, circle_blocks.c.id))
    return [{"id": r.id, "label": r.label, "blocked_at": utc(r.blocked_at)} for r in rows]


def unblock(conn: Connection, consumer_id: str, block_id: str) -> None:
    done = conn.execute(delete(circle_blocks).where(circle_blocks.c.id == block_id,
                                                    circle_blocks.c.blocker_id == consumer_id)).rowcount
    if not done:
        raise CredoError(ErrorCode.NOT_FOUND, "no such block of yours", "block_id")


def forget_consumer(conn: Connection, consumer_id: str) -> None:
    """Account closure: every membership removed as by leaving, and every request, block (either way)
    and rate-limit count of the consumer deleted. No circle keeps a trace of them."""
    for row in conn.execute(select(circle_members).where(circle_members.c.consumer_id == consumer_id)).all():
        _remove(conn, row)
    conn.execute(delete(circle_join_requests).where(circle_join_requests.c.consumer_id == consumer_id))
    conn.execute(delete(circle_blocks).where(or_(circle_blocks.c.blocker_id == consumer_id,
                                                 circle_blocks.c.blocked_id == consumer_id)))
    circle_limits.forget(conn, consumer_id)


def co_member_names(conn: Connection, consumer_id: str) -> dict[str, str]:
    """How the members of my circles appear in my ledger (``member:<id>``) → their name and circle."""
    mine = select(circle_members.c.circle_id).where(circle_members.c.consumer_id == consumer_id).scalar_subquery()
    rows = conn.execute(select(circle_members.c.id, circle_members.c.display_name, circles.c.name)
                        .join(circles, circles.c.id == circle_members.c.circle_id)
                        .where(circle_members.c.circle_id.in_(mine), circle_members.c.consumer_id != consumer_id))
    return {viewer(r.id).id: f"{r.display_name} ({r.name})" for r in rows}
