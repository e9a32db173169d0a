"""The consumer's kept score (credo.service.kept) is exactly a fresh computation, read after read.

Three layers: the time rule (features.horizon: parameters move with the instant, features over the
same events do not change before the horizon), the store inputs (after random sequences of events,
corrections, retractions, disputes, resolutions, sweeps, retention, consent changes and clock
moves, the served score equals scoring.compute's), and the API (the second read is served kept,
still recorded in the ledger, and equal to a fresh computation)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from credo.api.schemas import ScoreOut
from credo.errors import CredoError
from credo.features import compute_features, events_from_store, feature_query
from credo.features.builder import PARAMETERS
from credo.features.horizon import instant_comparisons, next_utc_midnight, parameter_instant, unchanged_until
from credo.ingest import ingest_records
from credo.ingest.prepare import utc_text
from credo.registry import grant_report_consent, withdraw_report_consent
from credo.service import disputes, kept, retention
from credo.service import scores as scoring
from credo.store.tables import access_ledger, events, insert_events, scores
from tests.service.support import NOW, World, make_world

INSTANTS = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 12, 31), timezones=st.just(UTC))


def _kind(name: str) -> str:
    return PARAMETERS.types()[f"${name}"]


# ---------------------------------------------------------------- the time rule


@settings(max_examples=300, deadline=None)
@given(start=INSTANTS, fraction=st.floats(0, 1, exclude_max=True), months=st.integers(1, 1200))
def test_instant_parameters_move_with_the_instant_and_calendar_ones_hold_for_the_day(
        start: datetime, fraction: float, months: int) -> None:
    midnight = next_utc_midnight(start)
    later = min(start + (midnight - start) * fraction, midnight - timedelta(microseconds=1))
    a, b = feature_query(start, retention_months=months), feature_query(later, retention_months=months)
    a.template()  # every parameter handed out
    names = [n[1:] for n in PARAMETERS.types()]
    assert {"as_of", "as_of_date", "month_index", "since_retention_negative"} <= set(names)
    for name in names:
        if _kind(name) == "TIMESTAMPTZ":
            assert parameter_instant(name, b) - parameter_instant(name, a) == later - start, name
        else:
            assert PARAMETERS.render(f"${name}", b.as_of) == PARAMETERS.render(f"${name}", a.as_of), name


def test_the_published_features_compare_instants_only_with_event_times() -> None:
    pairs = instant_comparisons(feature_query(NOW).template())
    assert pairs is not None  # else nothing could be kept past the instant it was computed
    assert {("as_of", "received_at"), ("as_of", "occurred_at"), ("since_retention_negative", "occurred_at")} <= pairs


def test_an_instant_parameter_used_any_other_way_keeps_nothing() -> None:
    assert instant_comparisons("SELECT COUNT(*) FROM events WHERE occurred_at >= $since_12m") is not None
    assert instant_comparisons("SELECT MIN(occurred_at) < $since_6m FROM events") is not None
    assert instant_comparisons("SELECT GREATEST($as_of, occurred_at) FROM events") is None
    assert instant_comparisons("SELECT COUNT(*) FROM events WHERE due_back_at - $as_of > 0") is None
    assert instant_comparisons("SELECT COUNT(*) FROM events WHERE $since_3m < $as_of") is None


def _same_features(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return a.equals(b)


@pytest.fixture
def sqlite_world(tmp_path, tmp_path_factory) -> Iterator[World]:  # noqa: ANN001
    """The time rule is store-independent: these run once, on SQLite (not parametrised, so never skipped)."""
    world = make_world(tmp_path, tmp_path_factory.getbasetemp() / "service-world", backend="sqlite")
    yield world
    world.close()


def test_features_over_the_same_events_do_not_change_before_the_horizon(sqlite_world: World) -> None:
    world = sqlite_world
    people = [world.high(), world.low(), world.high(40), world.low(40), "newcomer"]
    tables = {cid: events_from_store(world.engine, cid) for cid in people}
    reached: list[timedelta] = []

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(who=st.sampled_from(people), start=st.datetimes(min_value=datetime(2023, 6, 1), max_value=datetime(2026, 1, 1),
                                                           timezones=st.just(UTC)),
           where=st.one_of(st.floats(0, 1, exclude_max=True), st.sampled_from(["last"])))
    def check(who: str, start: datetime, where: float | str) -> None:
        table = tables[who]
        horizon = unchanged_until(feature_query(start), table)
        assert start <= horizon <= next_utc_midnight(start)
        if horizon == start:
            return
        reached.append(horizon - start)
        later = horizon - timedelta(microseconds=1) if where == "last" else start + (horizon - start) * where
        later = max(start, min(later, horizon - timedelta(microseconds=1)))
        assert _same_features(compute_features(table, start, consumers=[who]),
                              compute_features(table, later, consumers=[who]))

    check()
    assert reached, "no horizon ever lay after its instant: the test would prove nothing"


def test_the_horizon_is_where_a_window_edge_reaches_an_event(sqlite_world: World) -> None:
    """Not a loose bound: for an active consumer, features a microsecond past the horizon often differ
    (an event time equal to a cut-off still counts; one microsecond later it does not)."""
    world = sqlite_world
    cid = world.high()
    table = events_from_store(world.engine, cid)
    differ = 0
    for hours in range(0, 24 * 20, 7):
        start = NOW + timedelta(hours=hours, minutes=13)
        horizon = unchanged_until(feature_query(start), table)
        if horizon < next_utc_midnight(start):
            differ += not _same_features(compute_features(table, start, consumers=[cid]),
                                         compute_features(table, horizon + timedelta(microseconds=1), consumers=[cid]))
    assert differ > 0


# ---------------------------------------------------------------- served == fresh, after anything


def _served_equals_fresh(world: World, cid: str) -> bool:
    """The read path (sweep, then the kept score) against a fresh computation at the same instant."""
    now = world.clock[0]
    disputes.sweep(world.svc, now, cid)
    served, computed = kept.score_now(world.svc, cid, now)
    fresh = scoring.compute(world.svc, cid, now)
    assert served.public() == fresh.public()
    assert served.features == fresh.features
    return not computed


def _records(world: World, cid: str) -> list[Any]:
    return [r for r in world.events_of(cid) if r.type != "event.retraction"]


def _ingest(world: World, partner_id: str, record: dict[str, Any]) -> None:
    outcome, = ingest_records(world.engine, [record], partner_id=partner_id, now=lambda: world.clock[0])
    assert outcome.status in ("accepted", "rejected"), outcome


def _step(world: World, cid: str, step: tuple[Any, ...], counter: list[int]) -> None:
    kind, arg = step
    now = world.clock[0]
    counter[0] += 1
    uid = f"k{counter[0]}-{now.timestamp():.0f}"
    if kind == "wait":
        world.at(now + timedelta(seconds=arg))
    elif kind == "to_horizon":
        entry = world.svc.kept_scores.get(cid)
        until = entry.result.unchanged_until if entry is not None else None
        if until is not None:  # the last read that keeps it is at until - 2 µs (as of one µs later)
            world.at(until - timedelta(microseconds=2 - arg))
    elif kind == "inquiry":
        _ingest(world, "lender", {"type": "credit.inquiry", "event_id": uid, "consumer_id": cid,
                                  "occurred_at": (now - timedelta(minutes=arg)).isoformat(),
                                  "application_ref": uid, "product": "instalment_loan"})
    elif kind in ("retract", "correct", "dispute"):
        records = _records(world, cid)
        if not records:
            return
        rec = records[arg % len(records)]
        if kind == "retract":
            _ingest(world, rec.partner_id, {"type": "event.retraction", "event_id": uid, "consumer_id": cid,
                                            "occurred_at": now.isoformat(), "retracts_event_id": rec.event_id,
                                            "reason": "reported_in_error"})
        elif kind == "correct":
            body = orjson.loads(rec.payload)
            body.pop("received_at", None)
            body.pop("corrects_event_id", None)
            body.update(event_id=uid, corrects_event_id=rec.event_id)
            _ingest(world, rec.partner_id, body)
        else:
            try:
                disputes.open_dispute(world.svc, cid, rec.partner_id, rec.event_id, "not mine", now)
            except CredoError:
                pass  # already disputed, or a correction: refused, nothing changes
    elif kind == "resolve":
        with world.engine.connect() as conn:
            open_ = [d for d in disputes.consumer_disputes(conn, cid) if d["status"] == "open"]
        if open_:
            d = open_[arg % len(open_)]
            disputes.resolve(world.svc, d["partner_id"], d["id"], ("verify", "retract", "correct")[arg % 3], None, now)
    elif kind == "withdraw":
        with world.engine.begin() as conn:
            withdraw_report_consent(conn, cid, "lender")
    elif kind == "grant":
        with world.engine.begin() as conn:
            grant_report_consent(conn, cid, "lender", ["credit.inquiry"])
    elif kind == "old_negative":
        records = [r for r in _records(world, cid) if retention.is_negative(r.type, orjson.loads(r.payload))]
        if records:
            rec, old = records[0], now - timedelta(days=arg)
            with world.engine.begin() as conn:
                insert_events(conn, [(rec.partner_id, uid, cid, rec.type, utc_text(old), utc_text(old), None,
                                      uid.ljust(32, "0"), rec.payload)])
    elif kind == "retention":
        retention.run(world.svc, now)


_WAIT = st.tuples(st.just("wait"), st.one_of(
    st.sampled_from([0, 1, 59, 3600, 6 * 3600, 86_399, 86_400, 31 * 86_400, -3600]), st.integers(0, 3 * 86_400)))
_RECORD = st.tuples(st.sampled_from(["retract", "correct", "dispute"]), st.integers(0, 10_000))
#: Steps, weighted by repetition (``one_of`` picks a branch uniformly): moves of the clock and the
#: changes that need another change first (a resolution needs an open dispute) come up more often.
STEPS = st.one_of(
    _WAIT, _WAIT,
    st.tuples(st.just("to_horizon"), st.integers(0, 2)), st.tuples(st.just("to_horizon"), st.integers(0, 2)),
    st.tuples(st.just("inquiry"), st.integers(0, 60 * 24 * 40)),
    _RECORD, _RECORD,
    st.tuples(st.just("dispute"), st.integers(0, 10_000)),
    st.tuples(st.just("resolve"), st.integers(0, 10_000)), st.tuples(st.just("resolve"), st.integers(0, 10_000)),
    st.tuples(st.sampled_from(["withdraw", "grant"]), st.just(0)),
    st.tuples(st.just("old_negative"), st.integers(365 * 5 - 40, 365 * 5 + 40)),
    st.tuples(st.just("retention"), st.just(0)),
)


def test_the_served_score_is_a_fresh_computation_after_any_sequence(sqlite_world: World) -> None:
    world = sqlite_world
    people = [world.high(), world.low(), world.high(60), world.low(3)]
    with world.engine.begin() as conn:
        for cid in people:
            grant_report_consent(conn, cid, "lender", ["credit.inquiry"])
    counter, served = [0], [0]

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(who=st.sampled_from(people), steps=st.lists(STEPS, min_size=1, max_size=12))
    def check(who: str, steps: list[tuple[Any, ...]]) -> None:
        served[0] += _served_equals_fresh(world, who)
        for step in steps:
            _step(world, who, step, counter)
            served[0] += _served_equals_fresh(world, who)
        served[0] += _served_equals_fresh(world, who)  # nothing changed: served kept, and still equal

    check()
    assert served[0] > 0


# ---------------------------------------------------------------- what invalidates, one by one


def _read(world: World, cid: str) -> bool:
    """Whether a read now was served from the kept score (and it equals a fresh computation)."""
    return _served_equals_fresh(world, cid)


def test_each_kind_of_change_makes_the_next_read_compute(world: World) -> None:
    cid = world.low(2)
    with world.engine.begin() as conn:
        grant_report_consent(conn, cid, "lender", ["credit.inquiry"])
    assert _read(world, cid) is False
    assert _read(world, cid) is True
    counter = [0]
    for step in [("inquiry", 0), ("correct", 3), ("retract", 5), ("dispute", 7), ("resolve", 1), ("wait", 86_400)]:
        if step[0] == "resolve":
            _step(world, cid, ("dispute", 11), counter)
            assert _read(world, cid) is False
        _step(world, cid, step, counter)
        assert _read(world, cid) is False, step
        assert _read(world, cid) is True, step
    world.svc.bundle = copy.deepcopy(world.svc.bundle)  # a model reloaded: same version, another object
    assert _read(world, cid) is False
    assert _read(world, cid) is True


def test_the_read_instant_moves_and_the_day_changing_recomputes(world: World) -> None:
    cid = world.high(5)
    world.at(datetime(2024, 9, 1, 23, 59, 58, tzinfo=UTC))
    assert _read(world, cid) is False
    world.at(world.clock[0] + timedelta(seconds=1))
    entry = world.svc.kept_scores.get(cid)
    if entry.result.unchanged_until <= scoring.online_as_of(world.clock[0]):
        pytest.skip("a window edge falls in the last second of the day for this consumer")
    assert _read(world, cid) is True
    world.at(datetime(2024, 9, 2, tzinfo=UTC))
    assert _read(world, cid) is False


def test_a_suppression_by_another_process_is_seen(world: World) -> None:
    """The inputs are read from the store each time: a dispute sweep or a purge run elsewhere counts."""
    cid = world.low(4)
    rec = _records(world, cid)[0]
    world.at(NOW)
    disputes.open_dispute(world.svc, cid, rec.partner_id, rec.event_id, "x", NOW)
    assert _read(world, cid) is False
    world.at(NOW + timedelta(days=31))
    disputes.sweep(world.svc, world.clock[0])  # as `credo disputes sweep` would, for everyone
    served, computed = kept.score_now(world.svc, cid, world.clock[0])
    assert computed
    assert served.public() == scoring.compute(world.svc, cid, world.clock[0]).public()


# ---------------------------------------------------------------- through the API


def test_the_api_serves_the_kept_score_records_every_read_and_equals_a_fresh_computation(world: World) -> None:
    cid = world.high(2)
    me = world.consumer_token(cid)

    def ledger_reads() -> int:
        with world.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(access_ledger).where(
                access_ledger.c.consumer_ref == cid, access_ledger.c.disclosed == "score+reasons")).scalar_one()

    def history_rows() -> int:
        with world.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(scores).where(scores.c.consumer_id == cid)).scalar_one()

    rows = history_rows()
    first = world.client.get("/v1/me/score", headers=me)
    assert first.status_code == 200, first.text
    assert history_rows() == rows + 1  # computed: a score-history row
    world.at(NOW + timedelta(seconds=30))
    second = world.client.get("/v1/me/score", headers=me)
    assert second.status_code == 200
    assert history_rows() == rows + 1  # served kept: no new computation to record
    assert ledger_reads() == 2  # but every read is in the consumer's ledger
    fresh = ScoreOut.model_validate(scoring.compute(world.svc, cid, world.clock[0]).public()).model_dump(mode="json")
    assert second.json() == fresh
    assert second.json()["as_of"] != first.json()["as_of"]  # as of this read, not the first
    assert {k: v for k, v in second.json().items() if k != "as_of"} == \
        {k: v for k, v in first.json().items() if k != "as_of"}


def test_closing_the_account_forgets_the_kept_score(world: World) -> None:
    cid = world.high(3)
    me = world.consumer_token(cid)
    assert world.client.get("/v1/me/score", headers=me).status_code == 200
    assert world.svc.kept_scores.get(cid) is not None
    from tests.service.support import PASSWORD

    assert world.client.post("/v1/me/close", headers=me, json={"password": PASSWORD}).status_code == 200
    assert world.svc.kept_scores.get(cid) is None
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events).where(events.c.consumer_id == cid)).scalar() == 0


def test_a_kept_only_read_declines_without_writing_when_it_would_compute_or_sweep(world: World) -> None:
    """The API's inline attempt (selfview.score with cached_only): None, and nothing written, when the
    score must be computed or an overdue dispute swept; the kept answer, recorded, otherwise."""
    from credo.service import selfview
    from credo.store.tables import suppressions

    cid = world.low(6)

    def written() -> tuple[int, int, int]:
        with world.engine.connect() as conn:
            return tuple(conn.execute(select(func.count()).select_from(t).where(c == cid)).scalar_one()
                         for t, c in ((access_ledger, access_ledger.c.consumer_ref), (scores, scores.c.consumer_id),
                                      (suppressions, suppressions.c.consumer_id)))  # type: ignore[return-value]

    before = written()
    assert selfview.score(world.svc, cid, NOW, cached_only=True) is None  # nothing kept yet
    assert written() == before
    full = selfview.score(world.svc, cid, NOW)
    assert written() == (before[0] + 1, before[1] + 1, before[2])
    inline = selfview.score(world.svc, cid, NOW, cached_only=True)
    assert inline == full and written() == (before[0] + 2, before[1] + 1, before[2])
    rec = _records(world, cid)[0]
    disputes.open_dispute(world.svc, cid, rec.partner_id, rec.event_id, "not mine", NOW)
    selfview.score(world.svc, cid, NOW)
    due = NOW + timedelta(days=31)
    after_open = written()
    assert selfview.score(world.svc, cid, due, cached_only=True) is None  # overdue: the sweep must run first
    assert written() == after_open
    swept = selfview.score(world.svc, cid, due)
    assert written()[2] == after_open[2] + 1  # suppressed by the full read's sweep
    assert swept == scoring.compute(world.svc, cid, due).public()
