"""Leaving a circle removes everything of the member's from it; a closed account leaves no trace in any
circle.

"Everything of theirs": the membership, their guesses and the guesses about them, their invitations and
the requests made through them, their points (guesses and the members they invited), and the link from
the members they invited. The rest of the circle stays as it was."""

from __future__ import annotations

from typing import Any

from credo.policy.circles import BAND_NAMES
from tests.service.circle_helpers import bring_in, circle_rows, guess, invite, mentions, ok, share, start
from tests.service.support import PASSWORD, World


def _board(world: World, who: dict[str, str], circle_id: str) -> dict[str, int]:
    board = ok(world.client.get(f"/v1/me/game/circles/{circle_id}/leaderboard", headers=who))
    return {e["display_name"]: e["points"] for e in board["entries"]}


def _busy_circle(world: World, owner: dict[str, str], leaver: dict[str, str], others: list[dict[str, str]],
                 name: str) -> dict[str, Any]:
    """A circle where the leaver invited someone, guessed and was guessed, and has invitations open with a
    request waiting on one."""
    circle = start(world, owner, name, "Owner")
    leaver_id = bring_in(world, owner, circle["id"], leaver, "Leaver")
    friend_id = bring_in(world, leaver, circle["id"], others[0], "Friend")  # invited by the leaver
    for who in (owner, leaver, others[0]):
        share(world, who, circle["id"], "guess")
    for who, target in ((leaver, circle["me"]["member_id"]), (leaver, friend_id), (owner, leaver_id),
                        (others[0], leaver_id), (owner, friend_id)):
        assert guess(world, who, circle["id"], target, BAND_NAMES[4]).status_code == 201
    pending = invite(world, leaver, circle["id"], max_uses=2)
    ok(world.client.post("/v1/me/invitations/accept", headers=others[1],
                         json={"code": pending["code"], "display_name": "Waiting"}), 202)
    return {"id": circle["id"], "leaver": leaver_id, "friend": friend_id, "invitation": pending["id"]}


def _guess_points(world: World, who: dict[str, str], circle_id: str) -> dict[str, int]:
    game = ok(world.client.get(f"/v1/me/game/circles/{circle_id}", headers=who))
    return {g["member_id"]: g["points"] for g in game["guesses"]}


def test_leaving_removes_everything_of_the_member_from_that_circle_only(world: World) -> None:
    owner, leaver, friend, waiting = (world.consumer_token(world.high(k)) for k in range(4))
    circle = _busy_circle(world, owner, leaver, [friend, waiting], "Club")
    other = _busy_circle(world, owner, leaver, [friend, waiting], "Other")
    board = _board(world, owner, circle["id"])
    assert board["Leaver"] >= 2 and set(board) == {"Owner", "Leaver", "Friend"}  # 2 for inviting the friend
    owner_guesses = _guess_points(world, owner, circle["id"])
    assert circle["leaver"] in owner_guesses
    before = circle_rows(world)
    assert world.client.delete(f"/v1/me/circles/{circle['id']}/membership", headers=leaver).status_code == 204
    after = circle_rows(world)

    def of(rows: dict[str, list[dict[str, Any]]], circle_id: str) -> dict[str, list[dict[str, Any]]]:
        return {t: [r for r in found if r.get("circle_id") == circle_id] for t, found in rows.items()}

    # nothing in the circle names the leaver, their membership, their invitation or the request through it
    assert mentions(of(after, circle["id"]), world.high(1), circle["leaver"], circle["invitation"]) == []
    assert mentions(after, circle["invitation"]) == []
    assert [r["invited_by"] for r in after["circle_members"] if r["id"] == circle["friend"]] == [None]
    # their points are off the board, and so are the points others earned guessing them
    assert _guess_points(world, owner, circle["id"]) == {
        m: p for m, p in owner_guesses.items() if m != circle["leaver"]}
    assert _board(world, owner, circle["id"]) == {"Owner": sum(owner_guesses.values()) -
                                                  owner_guesses[circle["leaver"]], "Friend": 0}
    # the waiting request went with the invitation; the one to the other circle stays
    assert [r["circle_name"] for r in ok(world.client.get("/v1/me/invitations", headers=waiting))["asked"]] == \
        ["Other"]
    # the other circle is exactly as it was
    assert of(after, other["id"]) == of(before, other["id"])
    # and the leaver sees the circle no more
    assert world.client.get(f"/v1/me/circles/{circle['id']}", headers=leaver).status_code == 404
    assert [c["name"] for c in ok(world.client.get("/v1/me/circles", headers=leaver))] == ["Other"]


def test_the_last_member_out_takes_the_circle_with_them(world: World) -> None:
    alone = world.consumer_token(world.high())
    circle = start(world, alone)
    invite(world, alone, circle["id"])
    assert world.client.delete(f"/v1/me/circles/{circle['id']}/membership", headers=alone).status_code == 204
    assert all(rows == [] for name, rows in circle_rows(world).items() if name != "circle_actions")


def test_a_closed_account_leaves_no_trace_in_any_circle(world: World) -> None:
    closer_id = world.high(1)
    owner, closer, friend, waiting = (world.consumer_token(world.high(k)) for k in range(4))
    circles = [_busy_circle(world, owner, closer, [friend, waiting], name) for name in ("Club", "Other")]
    own = start(world, closer, "Mine", "Closer")  # a circle they started, with a friend in it
    friend_there = bring_in(world, closer, own["id"], friend, "Friend")
    outside = start(world, friend, "Outside", "Friend")  # a circle they only asked to join
    ok(world.client.post("/v1/me/invitations/accept", headers=closer,
                         json={"code": invite(world, friend, outside["id"])["code"], "display_name": "Asker"}), 202)
    ok(world.client.post("/v1/me/invitations/preview", headers=closer, json={"code": "ZZZZ-ZZZZ-ZZZZ"}), 404)
    ok(world.client.post(f"/v1/me/circles/{own['id']}/blocks", headers=closer, json={"member_id": friend_there}),
       201)  # a block by them ...
    ok(world.client.post(f"/v1/me/circles/{circles[0]['id']}/blocks", headers=owner,
                         json={"member_id": circles[0]["leaver"]}), 201)  # ... and of them
    before = circle_rows(world)
    theirs = [r["id"] for r in before["circle_members"] if r["consumer_id"] == closer_id]
    assert len(theirs) == 3 and mentions(before, closer_id)
    assert world.client.post("/v1/me/close", headers=closer, json={"password": PASSWORD}).status_code == 200
    after = circle_rows(world)
    assert mentions(after, closer_id, *theirs, circles[0]["invitation"], circles[1]["invitation"]) == []
    assert after["circle_blocks"] == [] and after["circle_join_requests"] == [
        r for r in before["circle_join_requests"] if r["consumer_id"] != closer_id and r["invitation_id"] not in
        (circles[0]["invitation"], circles[1]["invitation"])]
    # the circles go on without them; the one they started lives on with the friend
    for c in circles:
        assert set(_board(world, owner, c["id"])) == {"Owner", "Friend"}
    seen = ok(world.client.get(f"/v1/me/circles/{own['id']}", headers=friend))
    assert [m["display_name"] for m in seen["members"]] == ["Friend"]
