"""The band-guessing game, its leaderboard of game points, and my streaks and badges."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from credo.api.text import Clean
from credo.api.deps import ConsumerDep, NowDep, ServiceDep
from credo.api.problems import AUTH, errors
from credo.api.schemas import GameOut, GuessIn, GuessOut, HabitsOut, LeaderboardOut
from credo.service import badges, game

router = APIRouter(prefix="/v1/me/game", tags=["circles"])
Id = Annotated[str, Clean, Path(pattern=r"^[0-9a-f]{16}$")]


@router.post("/guesses", response_model=GuessOut, status_code=201, responses=errors(401, 404, 409, 422, 429, 503),
             summary="Guess a member's band (once a month): how close, and the points")
def guess(body: GuessIn, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    """Only members who play "guess my band" can be guessed; anyone else gets GAME_NOT_GUESSABLE, whatever
    their band. The feedback is recorded in the guessed member's access ledger. Points never touch a score."""
    return game.guess(svc, me.consumer_id, body.circle_id, body.member_id, body.band, now)


@router.get("/badges", response_model=HabitsOut, responses=AUTH,
            summary="My streaks and badges, from my own records (visible only to me)")
def my_badges(me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    with svc.engine.connect() as conn:
        return badges.habits(conn, me.consumer_id, now).public()


@router.get("/circles/{circle_id}", response_model=GameOut, responses=errors(401, 404, 422),
            summary="My game in a circle: whom I can guess, my guesses, and the guesses about me in aggregate")
def my_game(circle_id: Id, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    with svc.engine.connect() as conn:
        return game.state(conn, me.consumer_id, circle_id, now)


@router.get("/circles/{circle_id}/leaderboard", response_model=LeaderboardOut, responses=errors(401, 404, 422),
            summary="The circle's leaderboard of game points (never of scores or bands)")
def leaderboard(circle_id: Id, me: ConsumerDep, svc: ServiceDep) -> Any:
    with svc.engine.connect() as conn:
        return game.leaderboard(conn, me.consumer_id, circle_id)
