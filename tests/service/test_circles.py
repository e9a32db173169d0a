"""Circles, invitations and the guessing game through the API: both sides say yes, codes that open
nothing all look alike and are rate-limited, guesses are once a month with feedback only, every band
shown is in the shown member's ledger, blocks, and badges read from the member's own records."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from credo.policy.circles import BAND_NAMES, CODE_ALPHABET, CODE_LENGTH, format_code, normalise_code
from credo.registry import issue_api_key, register_partner
from credo.store.tables import access_ledger
from tests.service.circle_helpers import bring_in, guess, invite, ok, share, start
from tests.service.support import NOW, World


def _ledger(world: World, consumer_id: str) -> list[Any]:
    with world.engine.connect() as conn:
        return conn.execute(select(access_ledger).where(access_ledger.c.consumer_ref == consumer_id)
                            .order_by(access_ledger.c.seq)).mappings().all()


def _band(world: World, me: dict[str, str]) -> str:
    return ok(world.client.get("/v1/me/score", headers=me))["band"]


def test_both_sides_say_yes_before_anyone_is_a_member(world: World) -> None:
    owner, joiner, stranger = (world.consumer_token(world.high(k)) for k in range(3))
    circle = start(world, owner)
    code = invite(world, owner, circle["id"])["code"]
    request = ok(world.client.post("/v1/me/invitations/accept", headers=joiner,
                                   json={"code": code, "display_name": "Joiner"}), 202)
    # the joiner's yes alone makes no member
    assert world.client.get(f"/v1/me/circles/{circle['id']}", headers=joiner).status_code == 404
    assert ok(world.client.get("/v1/me/invitations", headers=joiner))["asked"][0]["circle_name"] == "Friends"
    waiting = ok(world.client.get("/v1/me/invitations", headers=owner))["sent"][0]["requests"]
    assert [w["display_name"] for w in waiting] == ["Joiner"]
    # only the inviter can say the second yes
    for who in (joiner, stranger):
        r = world.client.post(f"/v1/me/invitations/requests/{request['id']}/confirm", headers=who)
        assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
    ok(world.client.post(f"/v1/me/invitations/requests/{request['id']}/confirm", headers=owner))
    seen = ok(world.client.get(f"/v1/me/circles/{circle['id']}", headers=joiner))
    assert [m["display_name"] for m in seen["members"]] == ["Joiner", "Owner"]  # joined together: by name
    # a single-use invitation is now used up
    r = world.client.post("/v1/me/invitations/preview", headers=stranger, json={"code": code})
    assert r.status_code == 404 and r.json()["error"]["code"] == "CIRCLE_INVITATION_INVALID"


def test_a_code_that_opens_nothing_gets_one_answer_and_a_code_names_nobody(world: World) -> None:
    owner_id = world.high()
    owner, joiner, other = world.consumer_token(owner_id, "owner.name"), world.consumer_token(world.high(1)), \
        world.consumer_token(world.high(2))
    circle = start(world, owner, "Family", "Mum")
    live = invite(world, owner, circle["id"], max_uses=2)
    shown = ok(world.client.post("/v1/me/invitations/preview", headers=joiner, json={"code": live["code"]}))
    assert set(shown) == {"circle_name", "invited_by", "members", "expires_at"}
    assert (shown["circle_name"], shown["invited_by"], shown["members"]) == ("Family", "Mum", 1)
    text = world.client.post("/v1/me/invitations/preview", headers=joiner, json={"code": live["code"]}).text
    assert owner_id not in text and "owner.name" not in text
    used = invite(world, owner, circle["id"])["code"]
    bring_in_request = ok(world.client.post("/v1/me/invitations/accept", headers=other,
                                            json={"code": used, "display_name": "Other"}), 202)
    ok(world.client.post(f"/v1/me/invitations/requests/{bring_in_request['id']}/confirm", headers=owner))
    withdrawn = invite(world, owner, circle["id"])
    assert world.client.delete(f"/v1/me/invitations/{withdrawn['id']}", headers=owner).status_code == 204
    expiring = invite(world, owner, circle["id"], hours=1)["code"]
    world.at(NOW + timedelta(hours=1))
    mistyped = live["code"][:-1] + ("0" if live["code"][-1] != "0" else "1")
    answers = set()
    asker = world.consumer_token(world.high(3))  # each has 10 codes that open nothing an hour
    for code in (used, withdrawn["code"], expiring, mistyped, "AAAA-BBBB-CCCC", "not a code at all!"):
        for path, body, who in (("preview", {"code": code}, joiner),
                                ("accept", {"code": code, "display_name": "Me"}, asker)):
            r = world.client.post(f"/v1/me/invitations/{path}", headers=who, json=body)
            answers.add((path, r.status_code, r.text))
    assert len(answers) == 2, answers  # one answer per endpoint, whatever the reason
    assert {(p, s) for p, s, _ in answers} == {("preview", 404), ("accept", 404)}


@settings(max_examples=200, deadline=None)
@given(st.text(CODE_ALPHABET, min_size=CODE_LENGTH, max_size=CODE_LENGTH), st.data())
def test_a_code_reads_the_same_however_it_is_typed(code: str, data: st.DataObject) -> None:
    shown = format_code(code)
    typed = "".join(data.draw(st.sampled_from([c, c.lower(), c.lower() if c.isalpha() else c]))
                    + data.draw(st.sampled_from(["", "", " ", "-"])) for c in shown.replace("-", ""))
    typed = typed.replace("0", data.draw(st.sampled_from(["0", "O", "o"]))).replace(
        "1", data.draw(st.sampled_from(["1", "I", "l", "L"])))
    assert normalise_code(typed) == code == normalise_code(shown)


def test_codes_that_open_nothing_are_rate_limited_per_consumer(world: World) -> None:
    owner, prober = world.consumer_token(world.high()), world.consumer_token(world.high(1))
    circle = start(world, owner)
    code = invite(world, owner, circle["id"], hours=168)["code"]
    for i in range(10):
        r = world.client.post("/v1/me/invitations/preview", headers=prober, json={"code": f"ZZZZ-ZZZZ-{i:04d}"})
        assert r.status_code == 404
    r = world.client.post("/v1/me/invitations/preview", headers=prober, json={"code": code})
    assert r.status_code == 429, r.text  # even a good code, until the window has passed
    assert r.json()["error"] == {"code": "RATE_INVITATION_CODES_LIMITED", "field": "code",
                                 "rule": "invitation codes that did not work: at most 10 per 1 hours",
                                 "message": "too many invitation codes that did not work: try again later"}
    assert ok(world.client.post("/v1/me/invitations/preview", headers=owner, json={"code": code}))  # others: fine
    world.at(NOW + timedelta(hours=1, seconds=1))
    assert ok(world.client.post("/v1/me/invitations/preview", headers=prober, json={"code": code}))


def test_invitations_are_rate_limited_and_open_ones_capped(world: World) -> None:
    owner = world.consumer_token(world.high())
    circle = start(world, owner)
    made = [invite(world, owner, circle["id"]) for _ in range(10)]
    r = world.client.post("/v1/me/invitations", headers=owner, json={"circle_id": circle["id"]})
    assert r.status_code == 429 and r.json()["error"]["code"] == "RATE_INVITATIONS_LIMITED"
    assert world.client.delete(f"/v1/me/invitations/{made[0]['id']}", headers=owner).status_code == 204
    r = world.client.post("/v1/me/invitations", headers=owner, json={"circle_id": circle["id"]})
    assert r.status_code == 429  # withdrawing does not give the day's invitations back
    world.at(NOW + timedelta(hours=24, seconds=1))
    assert len(ok(world.client.get("/v1/me/invitations", headers=owner))["sent"]) == 9
    invite(world, owner, circle["id"])  # the tenth open one
    r = world.client.post("/v1/me/invitations", headers=owner, json={"circle_id": circle["id"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "CIRCLE_LIMIT_REACHED"


def test_guesses_feedback_points_once_a_month_and_the_aggregate_about_me(world: World) -> None:
    players = [world.consumer_token(world.high(k)) for k in range(5)]
    target, guessers = players[0], players[1:]
    band = _band(world, target)
    circle = start(world, target, display_name="Target")
    ids = [bring_in(world, target, circle["id"], g, f"Guesser {i}") for i, g in enumerate(guessers)]
    target_id = circle["me"]["member_id"]
    # not playing yet: refused, like any member who shows nothing
    r = guess(world, guessers[0], circle["id"], target_id, band)
    assert r.status_code == 409 and r.json()["error"]["code"] == "GAME_NOT_GUESSABLE"
    share(world, target, circle["id"], "guess")
    i = BAND_NAMES.index(band)
    picks = [band, BAND_NAMES[i - 1] if i else BAND_NAMES[1], BAND_NAMES[(i + 2) % 5] if i < 3 else BAND_NAMES[0]]
    before = len(_ledger(world, world.high()))
    results = [ok(guess(world, g, circle["id"], target_id, pick), 201) for g, pick in zip(guessers, picks)]
    assert [(x["feedback"], x["points"]) for x in results] == [("exact", 3), ("one_off", 1), ("miss", 0)]
    assert all(set(x) == {"member_id", "display_name", "guessed_band", "feedback", "points", "period"}
               for x in results)  # how close, never the band itself
    new = _ledger(world, world.high())[before:]
    assert [(e["actor_kind"], e["actor_ref"], e["purpose"], e["disclosed"]) for e in new] == [
        ("consumer", f"member:{m}", "circle_game", f"band_guess:{x['feedback']}") for m, x in zip(ids, results)]
    again = guess(world, guessers[0], circle["id"], target_id, band)
    assert again.status_code == 409 and again.json()["error"]["code"] == "GAME_ALREADY_GUESSED"
    mine = ok(world.client.get(f"/v1/me/game/circles/{circle['id']}", headers=target))
    assert mine["about_me"]["guesses"] == 3
    assert mine["about_me"]["by_band"] == {b: picks.count(b) for b in BAND_NAMES}
    assert "guesser" not in str(mine["about_me"]).lower()
    board = ok(world.client.get(f"/v1/me/game/circles/{circle['id']}/leaderboard", headers=guessers[3]))
    assert [(e["display_name"], e["points"], e["rank"]) for e in board["entries"]] == [
        ("Target", 8, 1), ("Guesser 0", 3, 2), ("Guesser 1", 1, 3), ("Guesser 2", 0, 4), ("Guesser 3", 0, 4)]
    # one guess: the target sees only that one was made
    world.at(NOW + timedelta(days=30))  # October: a new month, guess again
    ok(guess(world, guessers[3], circle["id"], target_id, band), 201)
    about = ok(world.client.get(f"/v1/me/game/circles/{circle['id']}", headers=target))["about_me"]
    assert about == {"guesses": 1, "by_band": None, "shown_from": 3}
    ok(guess(world, guessers[0], circle["id"], target_id, band), 201)
    # a member who shows the band itself is not a guessing target; nor is oneself
    share(world, target, circle["id"], "band")
    r = guess(world, guessers[1], circle["id"], target_id, band)
    assert r.status_code == 409 and r.json()["error"]["code"] == "GAME_NOT_GUESSABLE"
    assert guess(world, target, circle["id"], target_id, band).status_code == 404


def test_a_band_shown_is_in_the_shown_members_ledger_and_nothing_else_is(world: World) -> None:
    shower_id = world.low()
    shower, viewer, quiet = world.consumer_token(shower_id), world.consumer_token(world.high()), \
        world.consumer_token(world.high(1))
    band = _band(world, shower)
    circle = start(world, viewer, display_name="Viewer")
    shower_member = bring_in(world, viewer, circle["id"], shower, "Shower")
    bring_in(world, viewer, circle["id"], quiet, "Quiet")
    share(world, shower, circle["id"], "band")
    before = {c: len(_ledger(world, c)) for c in (shower_id, world.high(1))}
    seen = ok(world.client.get(f"/v1/me/circles/{circle['id']}", headers=viewer))
    assert {m["display_name"]: (m["sharing"], m["band"]) for m in seen["members"]} == {
        "Viewer": ("nothing", None), "Shower": ("band", band), "Quiet": ("nothing", None)}
    new = _ledger(world, shower_id)[before[shower_id]:]
    assert [(e["actor_ref"], e["purpose"], e["disclosed"]) for e in new] == [
        (f"member:{circle['me']['member_id']}", "circle_view", "band")]
    assert len(_ledger(world, world.high(1))) == before[world.high(1)]
    # the ledger page names the viewer by their name in the circle, never an id
    listed = ok(world.client.get("/v1/me/ledger", headers=shower))
    assert listed[-1]["actor"] == f"member:{circle['me']['member_id']}"
    # immediate effect: hidden from the next read, and nothing more recorded
    share(world, shower, circle["id"], "nothing")
    seen = ok(world.client.get(f"/v1/me/circles/{circle['id']}", headers=viewer))
    assert [m["band"] for m in seen["members"] if m["member_id"] == shower_member] == [None]
    assert len(_ledger(world, shower_id)) == before[shower_id] + 1


def test_a_block_hides_both_ways_stops_guesses_and_keeps_them_out(world: World) -> None:
    a, b, c = (world.consumer_token(world.high(k)) for k in range(3))
    circle = start(world, a, display_name="A")
    b_id = bring_in(world, a, circle["id"], b, "B")
    bring_in(world, a, circle["id"], c, "C")
    a_id = circle["me"]["member_id"]
    for who in (a, b):
        share(world, who, circle["id"], "guess")
    ok(guess(world, b, circle["id"], a_id, "good"), 201)
    ok(guess(world, a, circle["id"], b_id, "good"), 201)
    blocked = ok(world.client.post(f"/v1/me/circles/{circle['id']}/blocks", headers=a, json={"member_id": b_id}), 201)
    assert blocked["label"] == "B"
    # the guesses between them are gone, with their points; neither can guess the other
    board = ok(world.client.get(f"/v1/me/game/circles/{circle['id']}/leaderboard", headers=c))
    assert {e["display_name"]: e["points"] for e in board["entries"]} == {"A": 4, "B": 0, "C": 0}
    for who, target in ((b, a_id), (a, b_id)):
        r = guess(world, who, circle["id"], target, "good")
        assert r.status_code == 409 and r.json()["error"]["code"] == "GAME_NOT_GUESSABLE"
    share(world, a, circle["id"], "band")
    seen = {m["display_name"]: (m["sharing"], m["band"])
            for m in ok(world.client.get(f"/v1/me/circles/{circle['id']}", headers=b))["members"]}
    assert seen["A"] == ("nothing", None)
    assert ok(world.client.get(f"/v1/me/game/circles/{circle['id']}", headers=b))["targets"] == []
    # B left and asks back in: A cannot say yes while the block stands
    assert world.client.delete(f"/v1/me/circles/{circle['id']}/membership", headers=b).status_code == 204
    code = invite(world, a, circle["id"])["code"]
    request = ok(world.client.post("/v1/me/invitations/accept", headers=b, json={"code": code, "display_name": "B"}),
                 202)
    waiting = ok(world.client.get("/v1/me/invitations", headers=a))["sent"]
    assert [r["blocked"] for i in waiting for r in i["requests"]] == [True]
    r = world.client.post(f"/v1/me/invitations/requests/{request['id']}/confirm", headers=a)
    assert r.status_code == 409 and r.json()["error"]["code"] == "CIRCLE_MEMBER_BLOCKED"
    assert world.client.delete(f"/v1/me/circles/blocked/{blocked['id']}", headers=a).status_code == 204
    ok(world.client.post(f"/v1/me/invitations/requests/{request['id']}/confirm", headers=a))


def _bill(cid: str, n: int, due: date, paid: date | None, suffix: str = "") -> list[dict[str, Any]]:
    issued = {"type": "bill.issued", "event_id": f"bi-{n}{suffix}", "consumer_id": cid, "currency": "CNY",
              "occurred_at": f"{due - timedelta(days=15)}T08:00:00Z", "bill_ref": f"b-{n}", "bill_kind": "utility",
              "amount": "80.00", "due_date": str(due)}
    out = [issued]
    if paid is not None:
        out.append({"type": "bill.paid", "event_id": f"bp-{n}{suffix}", "consumer_id": cid, "currency": "CNY",
                    "occurred_at": f"{paid}T09:00:00Z", "bill_ref": f"b-{n}", "bill_kind": "utility",
                    "amount": "80.00", "paid_date": str(paid)})
    return out


def test_streaks_and_badges_come_from_the_members_own_records(world: World) -> None:
    cid = "newcomer"
    me = world.consumer_token(cid)
    types = ["bill.issued", "bill.paid", "credit.opened", "credit.statement", "event.retraction"]
    with world.engine.begin() as conn:
        register_partner(conn, "power", "Power Co", "utility", types)
        key = {"X-API-Key": issue_api_key(conn, "power")}
    ok(world.client.post("/v1/me/report-consents", headers=me, json={"partner_id": "power", "event_types": types}), 201)

    def send(*evs: dict[str, Any]) -> None:
        r = ok(world.client.post("/v1/events", headers=key, json={"events": list(evs)}))
        assert r["accepted"] == len(evs), r

    def habits() -> dict[str, Any]:
        return ok(world.client.get("/v1/me/game/badges", headers=me))

    assert habits()["bills_on_time_months"] == 0 and not any(b["earned"] for b in habits()["badges"])
    bills = [ev for n, month in enumerate(range(2, 9)) for ev in _bill(cid, n, date(2024, month, 20),
                                                                         date(2024, month, 18))]
    send(*bills, *_bill(cid, 99, date(2024, 9, 10), None))  # due later this month: not counted yet
    assert habits()["bills_on_time_months"] == 7  # February to August
    assert {b["code"] for b in habits()["badges"] if b["earned"]} == {"bills_on_time_3", "bills_on_time_6"}
    send(*_bill(cid, 50, date(2024, 6, 25), date(2024, 6, 28)))  # June: a bill paid three days late
    assert habits()["bills_on_time_months"] == 2  # July, August
    send({"type": "bill.paid", "event_id": "bp-50-fix", "consumer_id": cid, "currency": "CNY",
          "occurred_at": "2024-06-24T09:00:00Z", "bill_ref": "b-50", "bill_kind": "utility", "amount": "80.00",
          "paid_date": "2024-06-24", "corrects_event_id": "bp-50"})  # the partner corrects the date
    assert habits()["bills_on_time_months"] == 7
    send({"type": "event.retraction", "event_id": "r-7", "consumer_id": cid, "occurred_at": "2024-08-30T09:00:00Z",
          "retracts_event_id": "bi-6", "reason": "reported_in_error"})  # August's only bill was never due
    assert habits()["bills_on_time_months"] == 0  # a month with no bill shows nothing on time
    # utilisation: 50 % in May, 20 % in August
    send({"type": "credit.opened", "event_id": "co-1", "consumer_id": cid, "currency": "CNY",
          "occurred_at": "2023-01-02T09:00:00Z", "account_ref": "card-1", "product": "credit_card",
          "limit": "10000.00", "opened_date": "2023-01-02"},
         *({"type": "credit.statement", "event_id": f"cs-{m}", "consumer_id": cid, "currency": "CNY",
            "occurred_at": f"2024-{m:02d}-05T09:00:00Z", "account_ref": "card-1", "statement_date": f"2024-{m:02d}-05",
            "balance": balance, "minimum_due": "100.00", "due_date": f"2024-{m:02d}-25"}
           for m, balance in ((5, "5000.00"), (8, "2000.00"))))
    got = habits()
    assert got["utilisation"] == {"latest": {"month": "2024-08", "percent": 20.0},
                                  "before": {"month": "2024-05", "percent": 50.0}}
    assert {b["code"] for b in got["badges"] if b["earned"]} == {"utilisation_down"}
    # shown in a circle only when chosen, only if earned, and recorded like a band
    other = world.consumer_token(world.high())
    circle = start(world, other, display_name="Other")
    bring_in(world, other, circle["id"], me, "New")
    r = world.client.patch(f"/v1/me/circles/{circle['id']}/membership", headers=me,
                           json={"badges": ["bills_on_time_3"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "CIRCLE_BADGE_NOT_EARNED"
    seen = ok(world.client.get(f"/v1/me/circles/{circle['id']}", headers=other))
    assert [m["badges"] for m in seen["members"] if m["display_name"] == "New"] == [[]]
    ok(world.client.patch(f"/v1/me/circles/{circle['id']}/membership", headers=me,
                          json={"badges": ["utilisation_down"]}))
    before = len(_ledger(world, cid))
    seen = ok(world.client.get(f"/v1/me/circles/{circle['id']}", headers=other))
    assert [(m["badges"], m["band"]) for m in seen["members"] if m["display_name"] == "New"] == [
        (["utilisation_down"], None)]
    assert [e["disclosed"] for e in _ledger(world, cid)[before:]] == ["badge:utilisation_down"]


def test_the_export_carries_what_the_circles_hold_about_me_and_nothing_of_who_guessed(world: World) -> None:
    me, friend = world.consumer_token(world.high()), world.consumer_token(world.high(1))
    circle = start(world, me, "Mine", "Me")
    friend_id = bring_in(world, me, circle["id"], friend, "Friend")
    for who in (me, friend):
        share(world, who, circle["id"], "guess")
    ok(guess(world, me, circle["id"], friend_id, "good"), 201)
    ok(guess(world, friend, circle["id"], circle["me"]["member_id"], "poor"), 201)
    ok(world.client.post(f"/v1/me/circles/{circle['id']}/blocks", headers=me, json={"member_id": friend_id}), 201)
    held = ok(world.client.get("/v1/me/export", headers=me))["circles"]
    assert [m["name"] for m in held["memberships"]] == ["Mine"]
    assert held["guesses_made"] == []  # the block took the guesses between us away
    assert held["guesses_about_me"] == {} and [b["label"] for b in held["blocks"]] == ["Friend"]
    assert len(held["invitations"]) == 1 and held["requests"] == []
    assert world.client.delete(f"/v1/me/circles/blocked/{held['blocks'][0]['id']}", headers=me).status_code == 204
    ok(guess(world, friend, circle["id"], circle["me"]["member_id"], "fair"), 201)
    ok(guess(world, me, circle["id"], friend_id, "fair"), 201)
    held = ok(world.client.get("/v1/me/export", headers=me))["circles"]
    assert [(g["display_name"], g["guessed_band"]) for g in held["guesses_made"]] == [("Friend", "fair")]
    assert held["guesses_about_me"] == {circle["id"]: 1}
    assert "fair" not in str(held["guesses_about_me"]) and friend_id not in str(held["guesses_about_me"])


def test_guesses_are_rate_limited_per_guesser(world: World, monkeypatch: Any) -> None:
    from credo.policy.circles import Limit
    from credo.service import game

    monkeypatch.setattr(game, "GUESS_LIMIT", Limit("guess", 2, timedelta(hours=24)))  # the rule, made small
    players = [world.consumer_token(world.high(k)) for k in range(4)]
    circle = start(world, players[0], display_name="Guesser")
    targets = [bring_in(world, players[0], circle["id"], p, f"T{i}") for i, p in enumerate(players[1:])]
    for p in players[1:]:
        share(world, p, circle["id"], "guess")
    for target in targets[:2]:
        ok(guess(world, players[0], circle["id"], target, "good"), 201)
    r = guess(world, players[0], circle["id"], targets[2], "good")
    assert r.status_code == 429 and r.json()["error"]["code"] == "RATE_GUESSES_LIMITED"
    assert r.json()["error"]["rule"] == "guesses: at most 2 per 24 hours"
    world.at(NOW + timedelta(hours=24, seconds=1))
    ok(guess(world, players[0], circle["id"], targets[2], "good"), 201)
