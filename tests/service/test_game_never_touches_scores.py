"""No invitation, circle or game action changes any event, feature or score (PRODUCT.md §3: friends'
scores and social connections are never score inputs; game rewards never change the score).

A scripted session drives every circle, invitation and game endpoint, and the circle pages, over the
trained world. The whole population's features and scores, computed before and after exactly as a
batch run computes them, are byte-identical, and so are the stored events, score history, suppressions,
disputes and consents. A control at the end shows the comparison does see a single new event."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from credo.features import compute_features, events_from_store
from credo.policy.circles import BAND_NAMES
from credo.scoring import score_frame
from credo.service import scores as scoring
from credo.store.tables import (
    access_consents,
    circle_guesses,
    consumers,
    disputes,
    events,
    report_consents,
    scores,
    suppressions,
)
from credo.web.security import CONSUMER_COOKIE
from tests.service.circle_helpers import bring_in, guess, invite, ok, share, start
from tests.service.support import NOW, World

SCORE_TABLES = (events, scores, suppressions, disputes, consumers, report_consents, access_consents)


def _population(world: World) -> tuple[bytes, bytes, dict[str, list[str]], Any]:
    feats = compute_features(events_from_store(world.engine), scoring.online_as_of(NOW))
    scored = score_frame(world.svc.model_bundle().model(world.svc.settings.serving_model), feats)
    with world.engine.connect() as conn:
        stored = {t.name: sorted(repr(tuple(r)) for r in conn.execute(select(t))) for t in SCORE_TABLES}
    return feats.to_csv().encode(), scored.to_csv().encode(), stored, feats


def _page(world: World, token: dict[str, str], method: str, path: str, **form: Any) -> None:
    world.client.cookies.set(CONSUMER_COOKIE, token["Authorization"].removeprefix("Bearer "))
    try:
        r = world.client.request(method, path, data=form or None, follow_redirects=False)
        assert r.status_code in (200, 303), (path, r.status_code, r.text[:300])
    finally:
        world.client.cookies.clear()


def _session(world: World, players: list[dict[str, str]], thin: dict[str, str]) -> None:
    p0, p1, p2, p3 = players
    club = start(world, p0, "Club", "Zero")
    ids = {i: bring_in(world, p0, club["id"], p, f"P{i}") for i, p in enumerate(players[1:], 1)}
    ids[0] = club["me"]["member_id"]
    ids["thin"] = bring_in(world, p0, club["id"], thin, "Thin")
    second = start(world, p1, "Second", "One")
    bring_in(world, p1, second["id"], p0, "Zero")
    for who, sharing in ((p0, "band"), (p1, "guess"), (p2, "guess"), (p3, "nothing"), (thin, "guess")):
        share(world, who, club["id"], sharing)
    ok(world.client.patch(f"/v1/me/circles/{club['id']}/membership", headers=p0,
                          json={"badges": [b["code"] for b in ok(world.client.get("/v1/me/game/badges", headers=p0))[
                              "badges"] if b["earned"]]}))
    for who in (*players, thin):
        ok(world.client.get(f"/v1/me/circles/{club['id']}", headers=who))
        ok(world.client.get("/v1/me/circles", headers=who))
        ok(world.client.get(f"/v1/me/game/circles/{club['id']}", headers=who))
        ok(world.client.get(f"/v1/me/game/circles/{club['id']}/leaderboard", headers=who))
        ok(world.client.get("/v1/me/game/badges", headers=who))
        ok(world.client.get("/v1/me/invitations", headers=who))
    for who, target, band in ((p0, 1, BAND_NAMES[0]), (p2, 1, BAND_NAMES[4]), (p3, 1, BAND_NAMES[2]),
                              (p0, 2, BAND_NAMES[3]), (p1, 2, BAND_NAMES[1]), (p1, "thin", BAND_NAMES[2])):
        assert guess(world, who, club["id"], ids[target], band).status_code == 201
    assert guess(world, p0, club["id"], ids[3], "good").status_code == 409  # shows nothing
    assert guess(world, p0, club["id"], ids[1], "good").status_code == 409  # once a month
    pending = invite(world, p0, club["id"], max_uses=3)
    ok(world.client.post("/v1/me/invitations/preview", headers=p3, json={"code": "WXYZ-WXYZ-WXYZ"}), 404)
    ok(world.client.post("/v1/me/invitations/preview", headers=p3, json={"code": pending["code"]}))
    request = ok(world.client.post("/v1/me/invitations/accept", headers=p3,
                                   json={"code": invite(world, p1, second["id"])["code"], "display_name": "Three"}),
                 202)
    assert world.client.delete(f"/v1/me/invitations/requests/{request['id']}", headers=p1).status_code == 204
    blocked = ok(world.client.post(f"/v1/me/circles/{club['id']}/blocks", headers=p2, json={"member_id": ids[3]}),
                 201)
    assert world.client.delete(f"/v1/me/circles/blocked/{blocked['id']}", headers=p2).status_code == 204
    # the pages do the same through forms
    _page(world, p2, "GET", "/me/circles")
    _page(world, p2, "GET", f"/me/circles/{club['id']}")
    _page(world, p2, "POST", f"/me/circles/{club['id']}/guess", member_id=ids["thin"], band="fair")
    _page(world, p2, "GET", f"/me/circles/{club['id']}/leaderboard")
    _page(world, p2, "GET", "/me/badges")
    _page(world, p2, "POST", f"/me/circles/{club['id']}/settings", sharing="band", display_name="P2")
    _page(world, p0, "GET", f"/me/circles/{club['id']}")
    share(world, p1, club["id"], "nothing")
    assert world.client.delete(f"/v1/me/invitations/{pending['id']}", headers=p0).status_code == 204
    assert world.client.delete(f"/v1/me/circles/{club['id']}/membership", headers=p3).status_code == 204
    assert world.client.delete(f"/v1/me/circles/{second['id']}/membership", headers=p1).status_code == 204


def test_a_game_session_changes_no_event_feature_or_score(world: World) -> None:
    players = [world.consumer_token(c) for c in (world.high(), world.low(), world.high(1), world.low(1))]
    thin = world.consumer_token("newcomer")
    for who in (*players, thin):  # each has seen their own score once: a score-history row, before the session
        assert world.client.get("/v1/me/score", headers=who).status_code == 200
    before = _population(world)
    _session(world, players, thin)
    with world.engine.connect() as conn:
        assert conn.execute(select(circle_guesses)).first() is not None  # the session did play
    after = _population(world)
    assert after[0] == before[0], "features changed"
    assert after[1] == before[1], "scores changed"
    for table in before[2]:
        assert after[2][table] == before[2][table], f"{table} changed"
    # control: the comparison sees a single new event
    ok(world.client.post("/v1/me/report-consents", headers=players[0],
                         json={"partner_id": "lender", "event_types": ["credit.inquiry"]}), 201)
    r = world.client.post("/v1/events", headers=world.partner("lender"), json={"events": [{
        "type": "credit.inquiry", "event_id": "control-1", "consumer_id": world.high(),
        "occurred_at": "2024-08-30T10:00:00Z", "application_ref": "app-1", "product": "credit_card"}]})
    assert ok(r)["accepted"] == 1
    cid = world.high()
    one = compute_features(events_from_store(world.engine, cid), scoring.online_as_of(NOW), consumers=[cid])
    assert one.loc[[cid]].to_csv().encode() != before[3].loc[[cid]].to_csv().encode()
