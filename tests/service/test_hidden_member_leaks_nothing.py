"""A member who hides their band leaks nothing through any endpoint.

Two circles are built alike: the same two observers, and one more member each — a high scorer in one,
a low scorer in the other — under the same name. The hidden member first plays "guess my band", both
observers guess (their points now differ between the circles: the test would see it), then hides.
After that, every call an observer can make about the circle — its view, the game, the leaderboard
(order, ranks, ties, points), invitations, guesses at the hidden member with every band, blocking —
answers the same in both circles: the same status, error code, body (ids aside) and body size."""

from __future__ import annotations

import json
import re
from typing import Any

from credo.policy.circles import BAND_NAMES
from tests.service.circle_helpers import bring_in, guess, ok, share, start
from tests.service.support import World

HEX = re.compile(r"\b[0-9a-f]{16}\b")


def _build(world: World, observers: list[dict[str, str]], hidden: dict[str, str], name: str) -> dict[str, Any]:
    first, second = observers
    circle = start(world, first, name, "Ann")
    bring_in(world, first, circle["id"], second, "Bea")
    hidden_id = bring_in(world, first, circle["id"], hidden, "Hid")
    share(world, first, circle["id"], "band")
    return {"id": circle["id"], "hidden": hidden_id}


def _calls(world: World, observers: list[dict[str, str]], circle: dict[str, Any]) -> list[tuple[int, str]]:
    """Everything the observers can ask about the circle, as (status, body with its ids masked)."""
    cid, hid = circle["id"], circle["hidden"]
    out = []

    def call(method: str, path: str, who: dict[str, str], body: Any = None, pick: Any = None) -> None:
        r = world.client.request(method, path, headers=who, json=body)
        text = json.dumps(pick(r.json())) if pick else r.text
        out.append((r.status_code, len(text), HEX.sub(lambda m: "#" * 16, text)))

    for who in observers:
        call("GET", "/v1/me/circles", who, pick=lambda j: [c for c in j if c["id"] == cid])
        call("GET", f"/v1/me/circles/{cid}", who)
        call("GET", f"/v1/me/game/circles/{cid}", who)
        call("GET", f"/v1/me/game/circles/{cid}/leaderboard", who)
        call("GET", "/v1/me/invitations", who, pick=lambda j: [i for i in j["sent"] if i["circle_id"] == cid])
        for band in BAND_NAMES:
            call("POST", "/v1/me/game/guesses", who, {"circle_id": cid, "member_id": hid, "band": band})
        call("POST", f"/v1/me/circles/{cid}/blocks", who, {"member_id": hid})
        call("GET", f"/v1/me/circles/{cid}", who)
        call("GET", f"/v1/me/game/circles/{cid}/leaderboard", who)
    return out


def test_a_member_who_hides_their_band_leaks_nothing(world: World) -> None:
    observers = [world.consumer_token(world.high(5)), world.consumer_token(world.high(6))]
    high, low = world.consumer_token(world.high()), world.consumer_token(world.low())
    bands = [ok(world.client.get("/v1/me/score", headers=h))["band"] for h in (high, low)]
    assert bands[0] != bands[1]
    circles = [_build(world, observers, high, "Circle A"), _build(world, observers, low, "Circle B")]
    for hidden, circle in zip((high, low), circles):
        share(world, hidden, circle["id"], "guess")
        for who, band in zip(observers, (bands[0], bands[1])):
            ok(guess(world, who, circle["id"], circle["hidden"], band), 201)
    boards = [ok(world.client.get(f"/v1/me/game/circles/{c['id']}/leaderboard", headers=observers[0]))
              for c in circles]
    assert [[e["points"] for e in b["entries"]] for b in boards][0] != \
        [[e["points"] for e in b["entries"]] for b in boards][1]  # while playing, points tell the bands apart
    for hidden, circle in zip((high, low), circles):
        share(world, hidden, circle["id"], "nothing")
    answers = [_calls(world, observers, c) for c in circles]
    assert len(answers[0]) == len(answers[1]) > 20
    for a, b in zip(*answers):
        assert a[0] == b[0], (a, b)  # status and error code
        assert a[1] == b[1], (a, b)  # size
        assert a[2].replace("Circle A", "Circle B") == b[2], (a, b)
    statuses = {a[0] for a in answers[0]}
    assert statuses == {200, 201, 409}, statuses  # guesses at the hidden member: refused, whatever the band
