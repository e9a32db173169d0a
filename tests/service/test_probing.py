"""Probing limits hold per consumer across partners, not only per partner (issue 11, finding 10)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from credo.credentials import THRESHOLD_LADDER
from credo.registry import issue_api_key, register_partner
from credo.store.tables import access_ledger
from tests.service.support import NOW, World

PARTNERS = ("lender", "lender-2", "lender-3")


def _setup(world: World) -> str:
    cid = world.high()
    me = world.consumer_token(cid)
    with world.engine.begin() as conn:
        for p in PARTNERS[1:]:
            register_partner(conn, p, p, "credit", [])
            world.keys[p] = issue_api_key(conn, p)
    for p in PARTNERS:
        r = world.client.post("/v1/me/access-consents", headers=me, json={
            "partner_id": p, "purpose": "credit_application", "scope": "eligibility",
            "expires_at": (world.clock[0] + timedelta(days=30)).isoformat()})
        assert r.status_code == 201, r.text
        for t in THRESHOLD_LADDER:
            r = world.client.post("/v1/partners/programmes", headers=world.partner(p), json={
                "id": f"{p}-{t}", "name": "perk", "purpose": "credit_application", "threshold": t})
            assert r.status_code == 201, r.text
    return cid


def _check(world: World, partner: str, cid: str, threshold: int) -> int:
    return world.client.post("/v1/eligibility", headers=world.partner(partner),
                             json={"consumer_id": cid, "threshold": threshold}).status_code


def test_partners_together_cannot_walk_the_ladder(world: World) -> None:
    cid = _setup(world)
    limit = world.svc.settings.probe_max_thresholds_all_partners
    assert world.svc.settings.probe_max_thresholds < limit < len(THRESHOLD_LADDER)
    asked = [t for t in THRESHOLD_LADDER[:world.svc.settings.probe_max_thresholds]]
    assert [_check(world, "lender", cid, t) for t in asked] == [200] * len(asked)
    rest = [t for t in THRESHOLD_LADDER if t not in asked]
    # a second partner may ask thresholds already answered, and new ones up to the limit across partners
    assert _check(world, "lender-2", cid, asked[0]) == 200
    allowed_new = limit - len(asked)
    assert [_check(world, "lender-2", cid, t) for t in rest[:allowed_new]] == [200] * allowed_new
    # ... but no partner gets one more rung, and the attempt is flagged in the consumer's ledger
    for partner in ("lender-2", "lender-3"):
        assert _check(world, partner, cid, rest[allowed_new]) == 429
        with world.engine.connect() as conn:
            last = conn.execute(select(access_ledger).where(access_ledger.c.consumer_ref == cid)
                                .order_by(access_ledger.c.seq.desc()).limit(1)).mappings().one()
        assert (last["actor_ref"], last["outcome"], last["reason_code"]) == (partner, "denied", "RATE_PROBING_DETECTED")
        assert last["disclosed"] == f"probing_flagged:{rest[allowed_new]}"
    # refused checks disclosed nothing and count for nothing; a new window starts afresh
    assert _check(world, "lender-3", cid, asked[1]) == 200
    world.at(NOW + timedelta(days=2))
    assert _check(world, "lender-3", cid, rest[allowed_new]) == 200
