"""The partner-read hot path: answered from the day's cached score, or not at all (nothing written).

The API answers eligibility checks and band/score reads inline from the cached score and falls back
to the thread pool when a score must be computed; the inline attempt must leave no trace when it
declines, and the two paths must give the same answer.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from credo.ingest.prepare import utc_text
from credo.service import perks, scores as scoring
from credo.store.tables import access_ledger, eligibility_checks, events, insert_events, scores
from tests.service.support import World
from tests.service.test_legal import consent, programme


def _counts(world: World, consumer_id: str) -> tuple[int, int, int]:
    with world.engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t).where(col == consumer_id)).scalar_one()
                     for t, col in ((access_ledger, access_ledger.c.consumer_ref),
                                    (eligibility_checks, eligibility_checks.c.consumer_id),
                                    (scores, scores.c.consumer_id)))  # type: ignore[return-value]


def test_cached_only_read_declines_without_writing_until_the_days_score_is_cached(world: World) -> None:
    cid = world.low()
    me = world.consumer_token(cid)
    consent(world, me)
    programme(world, 600)
    now = world.clock[0]
    before = _counts(world, cid)
    assert perks.check(world.svc, "lender", cid, "lender-600", None, now, cached_only=True) is None
    assert perks.partner_read(world.svc, "lender", cid, "credit_application", "band", now, cached_only=True) is None
    assert _counts(world, cid) == before

    full = world.client.post("/v1/eligibility", headers=world.partner("lender"),
                             json={"consumer_id": cid, "programme_id": "lender-600"})
    assert full.status_code == 200, full.text
    ledger_n, checks_n, scores_n = _counts(world, cid)
    # a "no" also delivers the adverse-action notice to the consumer: a second ledger entry (to the consumer)
    told = 2 if full.json()["result"] == "no" else 1
    assert (ledger_n, checks_n, scores_n) == (before[0] + told, before[1] + 1, before[2] + 1)

    fast = perks.check(world.svc, "lender", cid, "lender-600", None, now, cached_only=True)
    assert fast is not None
    differs = {"check_id", "signature", "notice"}  # each "no" delivers its own notice
    assert {k: v for k, v in fast.items() if k not in differs} == \
        {k: v for k, v in full.json().items() if k not in differs}
    assert _counts(world, cid) == (ledger_n + told, checks_n + 1, scores_n)  # answered from the cache: no new score

    # the next day the cached score is stale: the cache declines, writing nothing, and the full path rescores
    now += timedelta(days=1)
    world.at(now)
    tomorrow = _counts(world, cid)
    assert perks.check(world.svc, "lender", cid, "lender-600", None, now, cached_only=True) is None
    assert _counts(world, cid) == tomorrow
    r = world.client.post("/v1/eligibility", headers=world.partner("lender"),
                          json={"consumer_id": cid, "programme_id": "lender-600"})
    assert r.status_code == 200 and r.json()["as_of"].startswith(now.date().isoformat())
    assert _counts(world, cid) == (tomorrow[0] + told, tomorrow[1] + 1, tomorrow[2] + 1)


def test_an_event_stored_after_the_score_makes_it_stale_whatever_its_received_time(world: World) -> None:
    """Freshness is by event sequence, so even a record loaded with a historical received time (a
    back-fill) invalidates the day's cached score."""
    cid = world.high()
    me = world.consumer_token(cid)
    consent(world, me)
    programme(world, 600)
    now = world.clock[0]
    r = world.client.post("/v1/eligibility", headers=world.partner("lender"),
                          json={"consumer_id": cid, "programme_id": "lender-600"})
    assert r.status_code == 200, r.text
    assert perks.check(world.svc, "lender", cid, "lender-600", None, now, cached_only=True) is not None
    with world.engine.connect() as conn:
        row = conn.execute(select(events).where(events.c.consumer_id == cid).limit(1)).mappings().one()
    past = now - timedelta(days=40)
    with world.engine.begin() as conn:
        insert_events(conn, [(row["partner_id"], "backfilled-1", cid, row["type"], utc_text(past), utc_text(past),
                              None, "z" * 32, row["payload"])])
    assert perks.check(world.svc, "lender", cid, "lender-600", None, now, cached_only=True) is None
    fresh, was_fresh = scoring.current(world.svc, cid, now)
    assert was_fresh and fresh.events_seq is not None
