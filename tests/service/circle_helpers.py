"""Driving circles through the API in tests: start a circle, bring people in (both yeses), set what
they show, and read back every row the circle tables hold."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from credo.store.tables import (
    circle_actions,
    circle_blocks,
    circle_guesses,
    circle_invitations,
    circle_join_requests,
    circle_members,
    circles,
)
from tests.service.support import World

CIRCLE_TABLES = (circles, circle_members, circle_invitations, circle_join_requests, circle_guesses, circle_blocks,
                 circle_actions)
Headers = dict[str, str]


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def start(world: World, owner: Headers, name: str = "Friends", display_name: str = "Owner") -> dict[str, Any]:
    return ok(world.client.post("/v1/me/circles", headers=owner, json={"name": name, "display_name": display_name}),
              201)


def invite(world: World, inviter: Headers, circle_id: str, **body: Any) -> dict[str, Any]:
    return ok(world.client.post("/v1/me/invitations", headers=inviter, json={"circle_id": circle_id, **body}), 201)


def bring_in(world: World, inviter: Headers, circle_id: str, joiner: Headers, display_name: str) -> str:
    """Invite, the joiner's yes, the inviter's yes: the new member's id."""
    code = invite(world, inviter, circle_id)["code"]
    request = ok(world.client.post("/v1/me/invitations/accept", headers=joiner,
                                   json={"code": code, "display_name": display_name}), 202)
    return ok(world.client.post(f"/v1/me/invitations/requests/{request['id']}/confirm", headers=inviter))["member_id"]


def share(world: World, who: Headers, circle_id: str, sharing: str) -> None:
    ok(world.client.patch(f"/v1/me/circles/{circle_id}/membership", headers=who, json={"sharing": sharing}))


def guess(world: World, who: Headers, circle_id: str, member_id: str, band: str) -> Any:
    return world.client.post("/v1/me/game/guesses", headers=who,
                             json={"circle_id": circle_id, "member_id": member_id, "band": band})


def circle_rows(world: World) -> dict[str, list[dict[str, Any]]]:
    with world.engine.connect() as conn:
        return {t.name: [dict(r) for r in conn.execute(select(t)).mappings()] for t in CIRCLE_TABLES}


def mentions(rows: dict[str, list[dict[str, Any]]], *values: str) -> list[tuple[str, dict[str, Any]]]:
    """Every row of the circle tables with a column equal to one of ``values``."""
    wanted = set(values)
    return [(table, r) for table, found in rows.items() for r in found if wanted & {v for v in r.values()
                                                                                    if isinstance(v, str)}]
