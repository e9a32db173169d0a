"""Legal requirements as tests (research §3 and §5.5): disputes, adverse action, reasons, thresholds,
probing, not-enough-data, ledger tampering, erasure and retention."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from sqlalchemy import inspect, select, text, update
from typer.testing import CliRunner

from credo.cli.main import app as cli
from credo.credentials import HolderKey, present
from credo.features import events_from_store
from credo.policy.reasons import INQUIRY_REASON
from credo.scoring import score_population
from credo.service import retention, scores as scoring
from credo.ingest.prepare import utc_text
from credo.store.tables import access_ledger, disputes, events, insert_events, scores, suppressions
from tests.service.support import NOW, PASSWORD, World

runner = CliRunner()


def consent(world: World, me: dict, partner: str = "lender", purpose: str = "credit_application",
            scope: str = "score_with_reasons", days: int = 30) -> int:
    r = world.client.post("/v1/me/access-consents", headers=me, json={
        "partner_id": partner, "purpose": purpose, "scope": scope,
        "expires_at": (world.clock[0] + timedelta(days=days)).isoformat()})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def programme(world: World, threshold: int, pid: str | None = None, partner: str = "lender",
              purpose: str = "credit_application") -> None:
    r = world.client.post("/v1/partners/programmes", headers=world.partner(partner), json={
        "id": pid or f"{partner}-{threshold}", "name": f"perk {threshold}", "purpose": purpose, "threshold": threshold})
    assert r.status_code == 201, r.text


def ledger(world: World, consumer_id: str) -> list[dict]:
    with world.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(access_ledger).where(access_ledger.c.consumer_ref == consumer_id)
                                              .order_by(access_ledger.c.seq)).mappings()]


def negative_record(world: World, consumer_id: str):  # noqa: ANN201
    for r in world.events_of(consumer_id):
        if retention.is_negative(r.type, orjson.loads(r.payload)):
            return r
    return None


def low_with_negative(world: World):  # noqa: ANN201
    for k in range(60):
        cid = world.low(k)
        rec = negative_record(world, cid)
        if rec is not None:
            return cid, rec
    pytest.skip("no low consumer with a negative record")


# ---------------------------------------------------------------- disputes


def test_partner_payload_marks_disputed_item(world: World) -> None:
    cid, rec = low_with_negative(world)
    me = world.consumer_token(cid)
    consent(world, me)
    programme(world, 600)
    r = world.client.post("/v1/me/disputes", headers=me, json={"partner_id": rec.partner_id, "event_id": rec.event_id,
                                                                "reason": "I paid on time"})
    assert r.status_code == 201, r.text
    for resp in (world.client.post("/v1/eligibility", headers=world.partner("lender"),
                                   json={"consumer_id": cid, "threshold": 600}),
                 world.client.get(f"/v1/partners/consumers/{cid}/band", params={"purpose": "credit_application"},
                                  headers=world.partner("lender"))):
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["disputed"] is True
        assert body["disputed_records"][0]["record_type"] == rec.type
        assert "event_id" not in body["disputed_records"][0]  # never another partner's record ids
    assert any(x["disputed"] for x in world.client.get("/v1/me/records", headers=me).json())


def test_dispute_day_30_unverified_item_suppressed_and_rescored(world: World) -> None:
    cid, rec = low_with_negative(world)
    me = world.consumer_token(cid)
    r = world.client.post("/v1/me/disputes", headers=me, json={"partner_id": rec.partner_id, "event_id": rec.event_id,
                                                                "reason": "not mine"})
    dispute_id = r.json()["id"]
    world.at(NOW + timedelta(days=29, hours=23))
    assert world.client.get("/v1/me/disputes", headers=me).json()[0]["status"] == "open"
    with world.engine.connect() as conn:
        before = conn.execute(select(scores.c.id).where(scores.c.consumer_id == cid)).all()
    world.at(NOW + timedelta(days=30))
    queue = world.client.get("/v1/partners/disputes", params={"status": "suppressed"},
                             headers={"X-API-Key": _partner_key(world, rec.partner_id)}).json()
    assert [d["id"] for d in queue] == [dispute_id]
    with world.engine.connect() as conn:
        assert conn.execute(select(suppressions.c.reason).where(suppressions.c.event_id == rec.event_id)).scalar() \
            == "dispute"
        after = conn.execute(select(scores.c.id).where(scores.c.consumer_id == cid)).all()
    assert len(after) == len(before) + 1  # rescored at the deadline
    ids = set(events_from_store(world.engine, cid).column("event_id").to_pylist())
    assert rec.event_id not in ids
    marked = [x for x in world.client.get("/v1/me/records", headers=me).json() if x["event_id"] == rec.event_id]
    assert marked[0]["suppressed"] == "dispute"


def _partner_key(world: World, partner_id: str) -> str:
    from credo.registry import issue_api_key

    with world.engine.begin() as conn:
        return issue_api_key(conn, partner_id)


def test_partner_verifies_or_retracts_from_its_queue(world: World) -> None:
    cid, rec = low_with_negative(world)
    me = world.consumer_token(cid)
    d = world.client.post("/v1/me/disputes", headers=me, json={"partner_id": rec.partner_id,
                                                                "event_id": rec.event_id, "reason": "x"}).json()
    key = {"X-API-Key": _partner_key(world, rec.partner_id)}
    assert [q["id"] for q in world.client.get("/v1/partners/disputes", headers=key).json()] == [d["id"]]
    other = world.client.get("/v1/partners/disputes", headers=world.partner("lender")).json()
    assert other == []
    r = world.client.post(f"/v1/partners/disputes/{d['id']}/resolution", headers=world.partner("lender"),
                          json={"action": "verify"})
    assert r.status_code == 404
    r = world.client.post(f"/v1/partners/disputes/{d['id']}/resolution", headers=key, json={"action": "retract"})
    assert r.status_code == 200 and r.json()["status"] == "retracted"
    r = world.client.post(f"/v1/partners/disputes/{d['id']}/resolution", headers=key, json={"action": "verify"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "DISPUTE_CLOSED"
    assert rec.event_id not in set(events_from_store(world.engine, cid).column("event_id").to_pylist())


def test_filing_a_dispute_never_lowers_the_score(world: World) -> None:
    checked = raised = 0
    for k in (0, 3, 10, 40, 80):
        cid = world.low(k) if k < 40 else world.high(k - 40)
        base = scoring.compute(world.svc, cid, NOW, with_groups=False)
        recs = [r for r in world.events_of(cid) if r.type in ("bill.paid", "credit.payment", "order.payment",
                                                               "rental.returned", "credit.status")][:6]
        for rec in recs:
            with world.engine.begin() as conn:
                conn.execute(disputes.insert().values(
                    consumer_id=cid, partner_id=rec.partner_id, event_id=rec.event_id, event_type=rec.type,
                    reason="t", status="open", opened_at=NOW, due_at=NOW + timedelta(days=30)))
            during = scoring.compute(world.svc, cid, NOW, with_groups=False)
            assert during.score >= base.score, (cid, rec.type)
            raised += during.dispute_adjusted
            checked += 1
            with world.engine.begin() as conn:
                conn.execute(disputes.delete().where(disputes.c.consumer_id == cid))
    assert checked >= 20
    # and through the API
    cid, rec = low_with_negative(world)
    me = world.consumer_token(cid)
    before = world.client.get("/v1/me/score", headers=me).json()["score"]
    world.client.post("/v1/me/disputes", headers=me, json={"partner_id": rec.partner_id, "event_id": rec.event_id,
                                                            "reason": "x"})
    assert world.client.get("/v1/me/score", headers=me).json()["score"] >= before


def _open(world: World, me: dict, rec) -> dict:  # noqa: ANN001
    r = world.client.post("/v1/me/disputes", headers=me, json={"partner_id": rec.partner_id,
                                                                "event_id": rec.event_id, "reason": "not right"})
    assert r.status_code == 201, r.text
    return r.json()


def _info(world: World, me: dict, dispute_id: int, text_: str = "bank statement shows it was paid on time"):  # noqa: ANN202
    return world.client.post(f"/v1/me/disputes/{dispute_id}/information", headers=me, json={"information": text_})


def _status(world: World, dispute_id: int) -> str:
    with world.engine.connect() as conn:
        return conn.execute(select(disputes.c.status).where(disputes.c.id == dispute_id)).scalar_one()


def scored_with_negative(world: World):  # noqa: ANN201
    """A consumer scored above the floor (so a lower score would show) with a negative record."""
    mid = world.scored[(world.scored["score"] > 450) & (world.scored["score"] < 700)]
    for cid in mid.index[:80]:
        rec = negative_record(world, str(cid))
        if rec is not None:
            return str(cid), rec
    pytest.skip("no mid-scored consumer with a negative record")


def test_extension_only_if_consumer_supplied_info_and_max_45_days(world: World) -> None:
    cid, neg = scored_with_negative(world)
    others = [r for r in world.events_of(cid) if r.event_id != neg.event_id][:1]
    me = world.consumer_token(cid)
    plain = _open(world, me, others[0])  # no information → suppressed at day 30
    extended = _open(world, me, neg)  # information on day 20 → suppressed only at day 45
    assert plain["due_at"] == extended["due_at"] == (NOW + timedelta(days=30)).isoformat().replace("+00:00", "Z")

    world.at(NOW + timedelta(days=20))
    r = _info(world, me, extended["id"], "   ")
    assert r.status_code == 422 and r.json()["error"]["field"] == "information"
    assert _status(world, extended["id"]) == "open"
    r = _info(world, me, extended["id"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["extended"] is True and body["information_at"].startswith("2024-09-21")
    assert body["due_at"].startswith((NOW + timedelta(days=45)).date().isoformat())
    # a second extension is refused, and writes nothing
    r = _info(world, me, extended["id"], "and more")
    assert r.status_code == 409 and r.json()["error"]["code"] == "DISPUTE_ALREADY_EXTENDED"
    with world.engine.connect() as conn:
        info = conn.execute(select(disputes.c.information).where(disputes.c.id == extended["id"])).scalar_one()
    assert info == "bank statement shows it was paid on time"
    # another consumer cannot add to it
    them = world.consumer_token(world.high())
    r = _info(world, them, extended["id"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"

    # day 30: information is too late for the plain dispute (even before any sweep ran) ...
    world.at(NOW + timedelta(days=30, hours=1))
    r = _info(world, me, plain["id"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "DISPUTE_INFORMATION_TOO_LATE"
    # ... and the sweep job suppresses it, but not the extended one
    result = runner.invoke(cli, ["disputes", "sweep", "--db", world.svc.settings.store_url,
                                 "--at", world.clock[0].isoformat()])
    assert result.exit_code == 0 and "1 records suppressed" in result.output, result.output
    assert (_status(world, plain["id"]), _status(world, extended["id"])) == ("suppressed", "open")
    r = _info(world, me, plain["id"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "DISPUTE_CLOSED"

    world.at(NOW + timedelta(days=31))
    mine = {d["id"]: d for d in world.client.get("/v1/me/disputes", headers=me).json()}
    assert mine[extended["id"]]["status"] == "open"
    world.at(NOW + timedelta(days=44, hours=23))
    mine = {d["id"]: d for d in world.client.get("/v1/me/disputes", headers=me).json()}
    assert mine[extended["id"]]["status"] == "open"
    with world.engine.connect() as conn:
        assert not conn.execute(select(suppressions).where(suppressions.c.event_id == neg.event_id)).first()

    # after day 45: suppressed and rescored, never below the score while disputed
    world.at(NOW + timedelta(days=45, minutes=1))
    during = scoring.compute(world.svc, cid, world.clock[0], with_groups=False)
    with world.engine.connect() as conn:
        n_scores = len(conn.execute(select(scores.c.id).where(scores.c.consumer_id == cid)).all())
    mine = {d["id"]: d for d in world.client.get("/v1/me/disputes", headers=me).json()}  # sweeps first
    assert mine[extended["id"]]["status"] == "suppressed"
    assert mine[extended["id"]]["resolution_note"].startswith("not verified within 45 days")
    with world.engine.connect() as conn:
        rescored = conn.execute(select(scores.c.score).where(scores.c.consumer_id == cid)
                                .order_by(scores.c.id)).scalars().all()
    assert len(rescored) == n_scores + 1 and rescored[-1] >= during.score > 350


def test_furnisher_notified_within_5_business_days(world: World) -> None:
    from credo.service.disputes import add_business_days

    # Mon..Sun 2-8 Sep 2024: +5 business days
    for day, due in ((2, 9), (4, 11), (6, 13), (7, 13), (8, 13)):
        start = NOW.replace(day=day, hour=17)
        assert add_business_days(start, 5) == NOW.replace(day=due, hour=17), day
    cid, rec = low_with_negative(world)
    me = world.consumer_token(cid)
    friday = NOW.replace(day=6, hour=16, minute=30)
    assert friday.weekday() == 4
    world.at(friday)
    d = _open(world, me, rec)
    key = {"X-API-Key": _partner_key(world, rec.partner_id)}
    notices = world.client.get("/v1/partners/dispute-notices", headers=key)
    assert notices.status_code == 200, notices.text
    [n] = [x for x in notices.json() if x["dispute_id"] == d["id"]]
    assert n["recipient"] == "furnisher" and n["kind"] == "opened"
    assert n["notified_at"] == d["opened_at"]  # notified as the dispute opened, in the same transaction
    assert n["due_by"] == "2024-09-13T16:30:00Z"  # the next Friday
    assert n["body"]["consumer_id"] == cid and n["body"]["event_id"] == rec.event_id
    assert n["body"]["consumer_reason"] == "not right" and n["body"]["respond_by"].startswith("2024-10-06")
    # the queue carries the same notice; another partner sees none of it
    [q] = [x for x in world.client.get("/v1/partners/disputes", headers=key).json() if x["id"] == d["id"]]
    assert q["notices"] == [n] and q["consumer_id"] == cid
    assert world.client.get("/v1/partners/dispute-notices", headers=world.partner("dating")).json() == []
    # the consumer's added information is forwarded in a second notice
    world.at(friday + timedelta(days=3))
    assert _info(world, me, d["id"], "receipt attached").status_code == 200
    latest = world.client.get("/v1/partners/dispute-notices", headers=key,
                              params={"dispute_id": d["id"]}).json()
    assert [x["kind"] for x in latest] == ["information", "opened"]
    assert latest[0]["body"]["consumer_information"] == "receipt attached"
    assert latest[0]["body"]["respond_by"].startswith("2024-10-21")
    assert latest[0]["due_by"] == "2024-09-16T16:30:00Z"
    # the consumer sees that (and when) the partner was notified
    mine = world.client.get("/v1/me/disputes", headers=me).json()[0]
    assert [x["kind"] for x in mine["notices"]] == ["opened", "information"] and mine["result"] is None


def test_consumer_gets_results_of_every_resolution_in_list_and_export(world: World) -> None:
    cid, neg = low_with_negative(world)
    recs = [neg] + [r for r in world.events_of(cid) if r.event_id != neg.event_id and r.partner_id == neg.partner_id][:3]
    assert len(recs) == 4
    me = world.consumer_token(cid)
    opened = [_open(world, me, r) for r in recs]
    key = {"X-API-Key": _partner_key(world, neg.partner_id)}
    world.at(NOW + timedelta(days=3))
    for d, action in zip(opened, ("verify", "correct", "retract")):
        r = world.client.post(f"/v1/partners/disputes/{d['id']}/resolution", headers=key,
                              json={"action": action, "note": f"{action} done"})
        assert r.status_code == 200, r.text
    mine = {d["id"]: d for d in world.client.get("/v1/me/disputes", headers=me).json()}
    assert mine[opened[3]["id"]]["result"] is None  # still open: no results yet
    world.at(NOW + timedelta(days=30))
    mine = {d["id"]: d for d in world.client.get("/v1/me/disputes", headers=me).json()}  # sweeps first
    expected = ("verified", "corrected", "retracted", "suppressed")
    for d, outcome in zip(opened, expected):
        got = mine[d["id"]]
        assert got["status"] == outcome
        res = got["result"]
        assert res["recipient"] == "consumer" and res["kind"] == "result" and res["body"]["outcome"] == outcome
        assert res["notified_at"] == got["resolved_at"] and res["body"]["event_id"] == d["event_id"]
        assert res["body"]["record"] and res["body"]["your_rights"]
    assert mine[opened[0]["id"]]["result"]["body"]["note"] == "verify done"
    # results go out at once: well within 5 business days of completion
    res = mine[opened[3]["id"]]["result"]
    assert res["due_by"] == "2024-10-08T12:00:00Z"  # Tue 1 Oct + 5 business days
    export = world.client.get("/v1/me/export", headers=me).json()
    assert {d["id"]: d["result"]["body"]["outcome"] for d in export["disputes"]} == \
        {d["id"]: o for d, o in zip(opened, expected)}
    # ... and they are the consumer's notices, in the API and the export alike
    results = {n["body"]["dispute_id"]: n["body"]["outcome"] for n in world.client.get("/v1/me/notices", headers=me)
               .json() if n["kind"] == "dispute_result"}
    assert results == {d["id"]: o for d, o in zip(opened, expected)}
    assert {n["reference"] for n in export["notices"]} == {f"dr_{mine[d['id']]['result']['id']}" for d in opened}
    # the suppression is also reported to the furnisher
    kinds = [(n["dispute_id"], n["kind"], n["body"].get("outcome"))
             for n in world.client.get("/v1/partners/dispute-notices", headers=key).json()]
    assert (opened[3]["id"], "result", "suppressed") in kinds


# ---------------------------------------------------------------- eligibility and adverse action


# The adverse-action notice of a "no" goes to the consumer: tests/service/test_adverse_action_notices.py.


def test_key_factors_at_most_4_plus_inquiry_exception(world: World) -> None:
    for reasons in world.scored["reasons"]:
        assert len(reasons) <= 5
        if len(reasons) == 5:
            assert reasons[4] == INQUIRY_REASON
        assert len(set(reasons)) == len(reasons) or INQUIRY_REASON in reasons


def test_unregistered_or_off_ladder_threshold_rejected(world: World) -> None:
    cid = world.high()
    me = world.consumer_token(cid)
    consent(world, me)
    programme(world, 650)
    r = world.client.post("/v1/partners/programmes", headers=world.partner("lender"),
                          json={"id": "odd", "name": "odd", "purpose": "credit_application", "threshold": 625})
    assert r.status_code == 422 and r.json()["error"]["code"] == "PERK_THRESHOLD_NOT_ON_LADDER"
    r = world.client.post("/v1/eligibility", headers=world.partner("lender"), json={"consumer_id": cid,
                                                                                   "threshold": 600})
    assert r.status_code == 422 and r.json()["error"]["code"] == "PERK_THRESHOLD_NOT_REGISTERED"
    assert ledger(world, cid)[-1]["reason_code"] == "PERK_THRESHOLD_NOT_REGISTERED"


def test_probe_detection_after_k_distinct_thresholds(world: World) -> None:
    cid = world.high()
    me = world.consumer_token(cid)
    consent(world, me)
    for t in (500, 550, 600, 650):
        programme(world, t)
    for t in (500, 550, 600):
        assert world.client.post("/v1/eligibility", headers=world.partner("lender"),
                                 json={"consumer_id": cid, "threshold": t}).status_code == 200
    r = world.client.post("/v1/eligibility", headers=world.partner("lender"), json={"consumer_id": cid,
                                                                                   "threshold": 650})
    assert r.status_code == 429 and r.json()["error"]["code"] == "RATE_PROBING_DETECTED"
    last = ledger(world, cid)[-1]
    assert last["outcome"] == "denied" and last["reason_code"] == "RATE_PROBING_DETECTED"
    assert last["disclosed"].startswith("probing_flagged")
    # repeated checks of one threshold are capped too; a new window resets
    world.at(NOW + timedelta(days=2))
    for _ in range(world.svc.settings.probe_max_checks):
        assert world.client.post("/v1/eligibility", headers=world.partner("lender"),
                                 json={"consumer_id": cid, "threshold": 500}).status_code == 200
    assert world.client.post("/v1/eligibility", headers=world.partner("lender"),
                             json={"consumer_id": cid, "threshold": 500}).status_code == 429


def test_not_enough_data_is_distinct_from_no(world: World) -> None:
    me = world.consumer_token("newcomer")
    consent(world, me, scope="eligibility")
    programme(world, 500)
    body = world.client.post("/v1/eligibility", headers=world.partner("lender"),
                             json={"consumer_id": "newcomer", "threshold": 500}).json()
    assert body["result"] == "not_enough_data"
    assert body["notice"] is None and body["scoring_criteria"]
    own = world.client.get("/v1/me/score", headers=me).json()
    assert own["status"] == "not_enough_data" and own["score"] is None and own["how_to_become_scorable"]


def test_what_if_is_an_estimate_and_never_suggests_debt(world: World) -> None:
    cid = world.low()
    me = world.consumer_token(cid)
    r = world.client.post("/v1/me/score/what-if", headers=me, json={"changes": {"inquiries_6m": 9}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "WHATIF_ADDS_DEBT"
    r = world.client.post("/v1/me/score/what-if", headers=me, json={"changes": {
        "late_payments_12m": 0, "late_payments_24m": 0, "missed_payments_12m": 0}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["estimate"] is True and "Estimate" in body["label"]
    assert body["estimated"]["score"] >= body["current"]["score"]
    r = world.client.post("/v1/me/score/what-if", headers=me, json={"changes": {"no_such": 1}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "WHATIF_INVALID_CHANGE"


def test_score_history_grows_per_scoring_run(world: World) -> None:
    cid = world.high()
    me = world.consumer_token(cid)
    world.client.get("/v1/me/score", headers=me)
    world.at(NOW + timedelta(days=1))
    world.client.get("/v1/me/score", headers=me)
    hist = world.client.get("/v1/me/score/history", headers=me).json()
    assert [h["kind"] for h in hist][-2:] == ["online", "online"]


# ---------------------------------------------------------------- ledger


def test_ledger_tamper_detected_via_api_and_cli(world: World, tmp_path) -> None:  # noqa: ANN001
    cid = world.high()
    me = world.consumer_token(cid)
    for _ in range(3):
        world.client.get("/v1/me/score", headers=me)
    assert world.client.get("/v1/ledger/verify", headers=me).json()["ok"] is True
    db = world.svc.settings.store_url
    assert runner.invoke(cli, ["ledger", "verify", "--db", db]).exit_code == 0
    with world.engine.begin() as conn:
        conn.execute(update(access_ledger).where(access_ledger.c.seq == 2).values(disclosed="band"))
    report = world.client.get("/v1/ledger/verify", headers=me).json()
    assert report["ok"] is False and report["first_bad_seq"] == 2 and report["problem"] == "LEDGER_ENTRY_EDITED"
    result = runner.invoke(cli, ["ledger", "verify", "--db", db])
    assert result.exit_code == 1 and "LEDGER_ENTRY_EDITED" in result.output


# ---------------------------------------------------------------- erasure and retention


def test_erasure_leaves_nothing_behind(world: World, tmp_path) -> None:  # noqa: ANN001
    cid, rec = low_with_negative(world)
    me = world.consumer_token(cid)
    consent(world, me, scope="band")
    world.client.post("/v1/me/disputes", headers=me, json={"partner_id": rec.partner_id, "event_id": rec.event_id,
                                                            "reason": "x"})
    world.client.get(f"/v1/partners/consumers/{cid}/band", params={"purpose": "credit_application"},
                     headers=world.partner("lender"))
    holder = HolderKey()
    cred = world.client.post("/v1/me/credentials", headers=me, json={"holder_jwk": holder.public_jwk()}).json()
    r = world.client.post("/v1/me/close", headers=me, json={"password": "wrong password!"})
    assert r.status_code == 401
    r = world.client.post("/v1/me/close", headers=me, json={"password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["credentials_revoked"] == 1 and r.json()["ledger_entries_pseudonymised"] >= 3
    # the consumer id appears nowhere, in any column of any table
    with world.engine.connect() as conn:
        for table in inspect(world.engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                assert cid not in " ".join(str(v) for v in row), table
    assert world.client.get("/v1/ledger/verify", headers=world.partner("lender")).json()["ok"] is True
    assert world.client.get("/v1/me", headers=me).status_code == 401
    assert world.client.post("/v1/sessions", json={"username": f"u-{cid}", "password": PASSWORD}).status_code == 401
    r = world.client.get(f"/v1/partners/consumers/{cid}/band", params={"purpose": "credit_application"},
                         headers=world.partner("lender"))
    assert r.status_code == 403
    # absent from batch runs and exports
    _, batch = score_population(world.engine, world.svc.model_bundle().champion, "v", NOW, write=False)
    assert cid not in batch.index
    out = tmp_path / "export.jsonl"
    assert runner.invoke(cli, ["export", "--db", world.svc.settings.store_url, str(out)]).exit_code == 0
    assert cid not in out.read_text()
    # the credential now verifies as revoked
    token = present(cred["credential"], disclose=["band"], holder_key=holder, audience="https://shop", nonce="n1",
                    now=NOW)
    v = world.client.post("/v1/credentials/verify", json={"token": token, "audience": "https://shop", "nonce": "n1"})
    assert v.json()["valid"] is False and v.json()["reason"] == "CRED_REVOKED"


def test_retention_excludes_then_purges_old_negative_records(world: World) -> None:
    cid, rec = low_with_negative(world)
    with world.engine.connect() as conn:
        row = conn.execute(select(events).where(events.c.event_id == rec.event_id,
                                                events.c.partner_id == rec.partner_id)).mappings().one()
    old, recent = NOW - timedelta(days=365 * 6), NOW - timedelta(days=365 * 4)
    with world.engine.begin() as conn:
        insert_events(conn, [
            (row["partner_id"], "old-neg", cid, row["type"], utc_text(old), utc_text(old), None, "x" * 32,
             row["payload"]),
            (row["partner_id"], "recent-neg", cid, row["type"], utc_text(recent), utc_text(recent), None, "y" * 32,
             row["payload"]),
        ])
    result = runner.invoke(cli, ["retention", "run", "--db", world.svc.settings.store_url,
                                 "--at", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    with world.engine.connect() as conn:
        ids = set(conn.execute(select(events.c.event_id).where(events.c.consumer_id == cid)).scalars())
        tomb = conn.execute(select(suppressions.c.reason).where(suppressions.c.event_id == "old-neg")).scalar()
    assert "old-neg" not in ids and "recent-neg" in ids and tomb == "retention"
