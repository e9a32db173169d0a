"""The band-guessing game and its leaderboard of game points (never of scores or bands).

* A member who shows ``guess`` in a circle may be guessed by each other member once per period
  (:func:`credo.policy.circles.period_of`); the guesser learns only how close they were
  (``exact`` / ``one_off`` / ``miss``, or ``no_band`` if there is not enough data to score the
  member), and that feedback is a disclosure recorded in the guessed member's ledger.
* The guessed member sees the guesses about them only in aggregate: how many, and by band only from
  :data:`credo.policy.circles.MIN_AGGREGATE` guesses up; never who guessed what.
* Points are derived, never stored apart: the points of a member's guesses in the circle, and
  :data:`credo.policy.circles.POINTS_PER_INVITED_MEMBER` for each member still there whom they invited.
  When a member leaves or stops showing their band, the guesses about them go, and with them the
  points: the leaderboard keeps nothing derived from a band its owner no longer shows.

Nothing here writes an event, a feature or a score.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select

from credo.errors import CredoError, ErrorCode
from credo.policy.circles import (
    BAND_NAMES,
    GUESS_LIMIT,
    MIN_AGGREGATE,
    POINTS,
    POINTS_PER_INVITED_MEMBER,
    feedback,
    period_of,
)
from credo.service import access, circle_limits, circles
from credo.service.runtime import Service, utc
from credo.store.tables import circle_guesses, circle_members

GAME_PURPOSE = "circle_game"


def _guessable(conn: Connection, me: Row, target: Row, period: str) -> None:
    """Refuse a guess ``me`` may not make now. A member who shows nothing (or their band, or has a block
    with me) gets the same answer whatever their band: nothing about it is in the refusal."""
    if target.sharing != "guess" or target.consumer_id in circles.blocked_with(conn, me.consumer_id):
        raise CredoError(ErrorCode.GAME_NOT_GUESSABLE, "this member does not take guesses from you",
                         "member_id", "the member plays \"guess my band\"")
    g = circle_guesses.c
    if conn.execute(select(g.id).where(g.guesser_id == me.id, g.target_id == target.id, g.period == period)).first():
        raise CredoError(ErrorCode.GAME_ALREADY_GUESSED, f"you already guessed this member's band in {period}",
                         "member_id", "one guess per member per month")


def _pair(conn: Connection, consumer_id: str, circle_id: str, member_id: str) -> tuple[Row, Row]:
    me = circles.member(conn, consumer_id, circle_id)
    return me, circles.other_member(conn, me, member_id)


def guess(svc: Service, consumer_id: str, circle_id: str, member_id: str, band: str, now: datetime) -> dict[str, Any]:
    """Guess another member's band: how close it was and the points it earned."""
    if band not in BAND_NAMES:
        raise CredoError(ErrorCode.INVALID_VALUE, f"guess one of {list(BAND_NAMES)}", "band",
                         f"one of {list(BAND_NAMES)}")
    period = period_of(now)
    with svc.engine.connect() as conn:
        me, target = _pair(conn, consumer_id, circle_id, member_id)
        circle_limits.check(conn, consumer_id, GUESS_LIMIT, now, "member_id")
        _guessable(conn, me, target, period)
    outcome = feedback(band, circles.band_of(svc, target.consumer_id, now))
    with svc.engine.begin() as conn:
        me, target = _pair(conn, consumer_id, circle_id, member_id)  # a change meanwhile takes effect at once
        circle_limits.check(conn, consumer_id, GUESS_LIMIT, now, "member_id")
        _guessable(conn, me, target, period)
        conn.execute(insert(circle_guesses).values(
            circle_id=circle_id, guesser_id=me.id, target_id=target.id, period=period, guessed_band=band,
            feedback=outcome, points=POINTS[outcome], guessed_at=now))
        circle_limits.count(conn, consumer_id, GUESS_LIMIT, now)
        access.record(conn, consumer_id=target.consumer_id, actor=circles.viewer(me.id), purpose=GAME_PURPOSE,
                      disclosed=f"band_guess:{outcome}", now=now)
    return {"member_id": target.id, "display_name": target.display_name, "guessed_band": band,
            "feedback": outcome, "points": POINTS[outcome], "period": period}


def _points(conn: Connection, circle_id: str) -> dict[str, int]:
    """Each member's game points in the circle: their guesses, and the members they brought in."""
    g, m = circle_guesses.c, circle_members.c
    points: Counter[str] = Counter()
    for guesser, total in conn.execute(select(g.guesser_id, func.sum(g.points)).where(g.circle_id == circle_id)
                                       .group_by(g.guesser_id)):
        points[guesser] += int(total or 0)
    for inviter, count in conn.execute(select(m.invited_by, func.count()).where(
            m.circle_id == circle_id, m.invited_by.is_not(None)).group_by(m.invited_by)):
        points[inviter] += POINTS_PER_INVITED_MEMBER * int(count)
    return points


def state(conn: Connection, consumer_id: str, circle_id: str, now: datetime) -> dict[str, Any]:
    """My game in one circle this period: whom I can guess, my guesses, my points, and the guesses
    about me in aggregate."""
    me = circles.member(conn, consumer_id, circle_id)
    period = period_of(now)
    blocked = circles.blocked_with(conn, consumer_id)
    g = circle_guesses.c
    mine = {r.target_id: r for r in conn.execute(select(circle_guesses).where(g.guesser_id == me.id,
                                                                             g.period == period))}
    others = [r for r in circles.members_of(conn, circle_id) if r.id != me.id]
    names = {r.id: r.display_name for r in others}
    targets = [{"member_id": r.id, "display_name": r.display_name, "guessed": r.id in mine}
               for r in others if r.sharing == "guess" and r.consumer_id not in blocked]
    about_me = [r.guessed_band for r in conn.execute(select(g.guessed_band).where(g.target_id == me.id,
                                                                                   g.period == period))]
    by_band = {b: about_me.count(b) for b in BAND_NAMES} if len(about_me) >= MIN_AGGREGATE else None
    return {
        "circle_id": circle_id, "period": period, "sharing": me.sharing, "points": _points(conn, circle_id)[me.id],
        "targets": targets,
        "guesses": [{"member_id": t, "display_name": names.get(t, ""), "guessed_band": r.guessed_band,
                     "feedback": r.feedback, "points": r.points, "guessed_at": utc(r.guessed_at)}
                    for t, r in mine.items()],
        "about_me": {"guesses": len(about_me), "by_band": by_band, "shown_from": MIN_AGGREGATE},
    }


def leaderboard(conn: Connection, consumer_id: str, circle_id: str) -> dict[str, Any]:
    """Every member by game points, most first; equal points share a rank (1, 1, 3), then by name."""
    me = circles.member(conn, consumer_id, circle_id)
    points = _points(conn, circle_id)
    rows = sorted(circles.members_of(conn, circle_id), key=lambda r: (-points[r.id], r.display_name, r.id))
    entries: list[dict[str, Any]] = []
    for i, r in enumerate(rows):
        tied = entries and entries[-1]["points"] == points[r.id]
        entries.append({"rank": entries[-1]["rank"] if tied else i + 1, "member_id": r.id,
                        "display_name": r.display_name, "points": points[r.id], "you": r.id == me.id})
    return {"circle_id": circle_id, "entries": entries}


def guesses_made(conn: Connection, consumer_id: str) -> list[dict[str, Any]]:
    """Every guess the consumer made, in every circle they are in (for their data export)."""
    g, m = circle_guesses.c, circle_members.c
    target = circle_members.alias("target")
    rows = conn.execute(select(circle_guesses, target.c.display_name)
                        .join(circle_members, m.id == g.guesser_id).join(target, target.c.id == g.target_id)
                        .where(m.consumer_id == consumer_id).order_by(g.guessed_at, g.id))
    return [{"circle_id": r.circle_id, "member_id": r.target_id, "display_name": r.display_name,
             "period": r.period, "guessed_band": r.guessed_band, "feedback": r.feedback, "points": r.points,
             "guessed_at": utc(r.guessed_at)} for r in rows]


def guesses_about(conn: Connection, consumer_id: str) -> dict[str, int]:
    """How many guesses there are about the consumer, per circle: never who guessed what."""
    g, m = circle_guesses.c, circle_members.c
    rows = conn.execute(select(m.circle_id, func.count()).select_from(circle_guesses)
                        .join(circle_members, m.id == g.target_id)
                        .where(m.consumer_id == consumer_id).group_by(m.circle_id))
    return {circle_id: int(n) for circle_id, n in rows}
