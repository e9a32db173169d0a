"""An eligibility "no" tells the partner no, never the score; the adverse-action notice goes to the
consumer, and a printable copy opens only in the consumer's own session (issue 11, finding 1)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from credo.credentials.jose import CompactJWS, key_from_jwk
from credo.service import notices
from credo.store.tables import access_ledger, adverse_action_notices
from tests.service.support import PASSWORD, World

ADVERSE_FIELDS = {"score_used", "score_range", "key_factors", "inquiries_were_a_key_factor", "score_date",
                  "score_source", "cra", "cra_did_not_decide", "free_report", "right_to_dispute"}
PARTNER_FIELDS = {"check_id", "consumer_id", "partner_id", "programme_id", "threshold", "purpose", "result", "as_of",
                  "checked_at", "consent_id", "disputed", "disputed_records", "notice", "scoring_criteria",
                  "signature"}


def _declined(world: World) -> tuple[str, dict[str, str], dict]:
    """A low scorer who consented to eligibility checks only, checked against 750: a no."""
    cid = world.low()
    me = world.consumer_token(cid)
    r = world.client.post("/v1/me/access-consents", headers=me, json={
        "partner_id": "lender", "purpose": "credit_application", "scope": "eligibility",
        "expires_at": (world.clock[0] + timedelta(days=30)).isoformat()})
    assert r.status_code == 201, r.text
    r = world.client.post("/v1/partners/programmes", headers=world.partner("lender"), json={
        "id": "lender-750", "name": "Gold card", "purpose": "credit_application", "threshold": 750})
    assert r.status_code == 201, r.text
    r = world.client.post("/v1/eligibility", headers=world.partner("lender"),
                          json={"consumer_id": cid, "programme_id": "lender-750"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["result"] == "no"
    return cid, me, body


def _ledger(world: World, cid: str) -> list[dict]:
    with world.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(access_ledger).where(access_ledger.c.consumer_ref == cid)
                                              .order_by(access_ledger.c.seq)).mappings()]


def test_the_partner_learns_no_and_a_reference_never_the_score(world: World) -> None:
    cid, _, body = _declined(world)
    assert set(body) == PARTNER_FIELDS
    assert set(body["notice"]) == {"reference", "link"} and body["notice"]["reference"].startswith("aan_")
    text = str(body)
    for leak in ("score_used", "key_factors", "reasons", "adverse_action"):
        assert leak not in text, leak
    with world.engine.connect() as conn:
        score_used = conn.execute(select(adverse_action_notices.c.body)).scalar_one()["score_used"]
    assert str(score_used) not in {str(v) for v in body.values()}
    # still signed over every other field, verifiable with the published keys
    jws = CompactJWS(body["signature"])
    jwk = next(k for k in world.client.get("/v1/.well-known/jwks.json").json()["keys"] if k["kid"] == jws.header["kid"])
    assert jws.verify(key_from_jwk(jwk)) and jws.payload == {k: v for k, v in body.items() if k != "signature"}


def test_the_consumer_gets_the_full_notice_and_the_ledger_says_who_learnt_what(world: World) -> None:
    cid, me, body = _declined(world)
    listed = world.client.get("/v1/me/notices", headers=me)
    assert listed.status_code == 200, listed.text
    (notice,) = [n for n in listed.json() if n["kind"] == "adverse_action"]
    assert notice["reference"] == body["notice"]["reference"] and notice["partner_id"] == "lender"
    aa = notice["body"]
    assert ADVERSE_FIELDS <= set(aa)
    assert aa["score_range"] == {"min": 350, "max": 950} and 350 <= aa["score_used"] < 750 == aa["threshold"]
    assert set(aa["cra"]) == {"name", "address", "phone"} and all(aa["cra"].values())
    assert "did not make this decision" in aa["cra_did_not_decide"] and "dispute" in aa["right_to_dispute"]
    assert aa["free_report"]["within_days"] == 60 and aa["partner"] == {"id": "lender", "name": "Lender Bank"}
    assert 1 <= len(aa["key_factors"]) <= 5 and all(f["text"] and f["action"] for f in aa["key_factors"])
    with world.engine.connect() as conn:  # the service function the web pages call answers the same
        assert [n["reference"] for n in notices.consumer_notices(conn, cid)] == [n["reference"] for n in listed.json()]
    entries = [(e["actor_kind"], e["actor_ref"], e["purpose"], e["disclosed"], e["outcome"]) for e in _ledger(world, cid)]
    ref = body["notice"]["reference"]
    assert ("partner", "lender", "credit_application", "eligibility:750:no", "allowed") in entries
    assert ("consumer", cid, "adverse_action", f"adverse_action_notice:{ref}", "allowed") in entries
    export = world.client.get("/v1/me/export", headers=me).json()
    assert [n["reference"] for n in export["notices"]] == [ref]


def test_the_printable_link_opens_only_in_the_consumers_session(world: World) -> None:
    cid, me, body = _declined(world)
    link = body["notice"]["link"]
    path, _, token = link.partition("?token=")
    assert path == f"/v1/me/notices/{body['notice']['reference']}" and len(token) >= 40
    other = world.consumer_token(world.low(1))
    # the partner holding the link, and anyone it is forwarded to, get nothing
    assert world.client.get(link, headers=world.partner("lender")).status_code == 401
    assert world.client.get(link).status_code == 401
    refused = [world.client.get(link, headers=other), world.client.get(f"{path}?token={token[:-2]}xx", headers=me),
               world.client.get(f"/v1/me/notices/aan_{'0' * 32}?token={token}", headers=me)]
    assert {(r.status_code, r.content) for r in refused} == {(refused[0].status_code, refused[0].content)}
    assert refused[0].status_code == 404 and refused[0].json()["error"]["code"] == "NOT_FOUND"
    before = len(_ledger(world, cid))
    opened = world.client.get(link, headers=me)
    assert opened.status_code == 200, opened.text
    assert opened.json()["reference"] == body["notice"]["reference"] and opened.json()["body"]["score_used"]
    (entry,) = _ledger(world, cid)[before:]
    assert (entry["actor_kind"], entry["purpose"], entry["disclosed"]) == (
        "consumer", "self_view", f"adverse_action_notice:{body['notice']['reference']}:printable")


def test_closing_the_account_erases_the_notices(world: World) -> None:
    cid, me, _ = _declined(world)
    assert world.client.post("/v1/me/close", headers=me, json={"password": PASSWORD}).status_code == 200
    with world.engine.connect() as conn:
        assert conn.execute(select(adverse_action_notices).where(adverse_action_notices.c.consumer_id == cid)).all() \
            == []
