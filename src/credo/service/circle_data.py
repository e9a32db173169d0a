"""What the circles hold about one consumer, for their data export (``GET /v1/me/export``): their
memberships and what each shows, the guesses they made, how many guesses there are about them (never
who guessed what: that is the guessers' own), their invitations and requests to join, their blocks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from credo.service import circles, game, invitations


def export(conn: Connection, consumer_id: str, now: datetime) -> dict[str, Any]:
    return {"memberships": circles.my_circles(conn, consumer_id),
            "guesses_made": game.guesses_made(conn, consumer_id),
            "guesses_about_me": game.guesses_about(conn, consumer_id),
            "invitations": invitations.sent(conn, consumer_id, now),
            "requests": invitations.asked(conn, consumer_id),
            "blocks": circles.blocks(conn, consumer_id)}
