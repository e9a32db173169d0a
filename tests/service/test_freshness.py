"""An event accepted now counts in the next online score read, at the same instant of the injected
clock: no minute (or second) of delay, no stale cached score, and the same answer as a batch run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd

from credo.features import compute_features, events_from_store
from credo.ingest import ingest_records
from credo.registry import grant_report_consent
from credo.scoring import score_frame
from credo.service import scores as scoring
from tests.service.support import NOW, World


def _inputs(world: World, me: dict[str, str]) -> dict[str, Any]:
    """Every feature's current value as the consumer sees it (GET /v1/me/score/what-if)."""
    r = world.client.get("/v1/me/score/what-if", headers=me)
    assert r.status_code == 200, r.text
    body = r.json()
    return {i["name"]: i["value"] for i in body["inputs"] + body["refused"]}


def _inquiry(cid: str, event_id: str) -> dict[str, Any]:
    # occurred and reported at the very instant of the read that follows
    return {"type": "credit.inquiry", "event_id": event_id, "consumer_id": cid, "occurred_at": NOW.isoformat(),
            "application_ref": event_id, "product": "instalment_loan"}


def _batch_score(world: World, cid: str) -> int | None:
    """The serving model on a fresh batch feature computation over the whole store, as of the online read."""
    feats = compute_features(events_from_store(world.engine), scoring.online_as_of(NOW))
    row = score_frame(world.svc.model_bundle().model(world.svc.settings.serving_model), feats.loc[[cid]]).iloc[0]
    return None if pd.isna(row["score"]) else int(row["score"])


def test_an_event_accepted_through_the_api_counts_in_the_next_read_at_the_same_instant(world: World) -> None:
    cid = world.high()
    me = world.consumer_token(cid)
    first = world.client.get("/v1/me/score", headers=me)  # computed, and cached as a history row
    assert first.status_code == 200, first.text
    assert scoring.current(world.svc, cid, NOW)[1] is False  # a partner read now would use that row
    before = _inputs(world, me)
    r = world.client.post("/v1/me/report-consents", headers=me,
                          json={"partner_id": "lender", "event_types": ["credit.inquiry"]})
    assert r.status_code == 201, r.text
    r = world.client.post("/v1/events", headers=world.partner("lender"), json={"events": [_inquiry(cid, "q-now")]})
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    # same instant of the clock: the consumer's next read already counts the inquiry
    after = _inputs(world, me)
    assert after["inquiries_6m"] == before["inquiries_6m"] + 1
    assert after["inquiries_12m"] == before["inquiries_12m"] + 1
    assert {k: v for k, v in after.items() if not k.startswith("inquiries_")} == \
        {k: v for k, v in before.items() if not k.startswith("inquiries_")}
    # the partner path does not serve the row cached before the event, and recomputes with it
    result, fresh = scoring.current(world.svc, cid, NOW)
    assert fresh and result.features["inquiries_6m"] == after["inquiries_6m"]
    # the consumer's score read is the batch answer over the same events at the same instant
    score = world.client.get("/v1/me/score", headers=me).json()
    assert score["score"] == _batch_score(world, cid) and score["score"] == result.score


def test_an_event_ingested_by_the_service_counts_and_the_cache_then_serves_it(world: World) -> None:
    cid = world.high(1)
    with world.engine.begin() as conn:
        grant_report_consent(conn, cid, "lender", ["credit.inquiry"])
    base = scoring.compute(world.svc, cid, NOW, with_groups=False)
    with world.engine.begin() as conn:
        scoring.persist(conn, base, NOW)
    outcome, = ingest_records(world.engine, [_inquiry(cid, "q-svc")], partner_id="lender", now=world.svc.clock)
    assert outcome.status == "accepted"
    with world.engine.connect() as conn:
        stale = scoring.cached(world.svc, conn, cid, NOW)
    assert stale is None  # an event arrived after the cached score: never served
    fresh = scoring.compute(world.svc, cid, NOW, with_groups=False)
    assert fresh.features["inquiries_6m"] == base.features["inquiries_6m"] + 1
    assert fresh.events_seq is not None and fresh.events_seq > (base.events_seq or 0)
    with world.engine.begin() as conn:
        scoring.persist(conn, fresh, NOW)
    with world.engine.connect() as conn:
        hit = scoring.cached(world.svc, conn, cid, NOW)
    assert hit is not None and hit.score == fresh.score and hit.events_seq == fresh.events_seq


def test_an_event_received_after_the_read_is_not_in_it(world: World) -> None:
    cid = world.high(2)
    with world.engine.begin() as conn:
        grant_report_consent(conn, cid, "lender", ["credit.inquiry"])
    later = NOW + timedelta(microseconds=2)
    outcome, = ingest_records(world.engine, [_inquiry(cid, "q-later")], partner_id="lender", now=lambda: later)
    assert outcome.status == "accepted"
    then = scoring.compute(world.svc, cid, NOW, with_groups=False)  # a read at NOW: the event is not received yet
    now = scoring.compute(world.svc, cid, later, with_groups=False)
    assert now.features["inquiries_6m"] == then.features["inquiries_6m"] + 1
