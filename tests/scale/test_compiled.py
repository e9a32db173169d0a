"""The compiled bucket pass (:mod:`credo.scale.compiled`) returns exactly what the feature SQL returns.

Each test puts one events table and its population behind the ``events``/``population`` views and
compares :func:`features_table` with ``con.sql(query.sql())`` on the same views, column for column,
NULL for NULL.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credo.features.builder import FeatureQuery, agg_if, count_if, feature_query, ratio
from credo.features.compute import connect
from credo.features.definitions import FEATURES, SCORING_CRITERIA, Feature
from credo.features.events_table import EVENTS_SCHEMA, events_from_directory
from credo.scale import compiled
from credo.scale import features as scale_features
from credo.scale.codegen import KernelSource, UnsupportedSQL
from credo.scale.compiled import HashCollision, consumer_positions, dense_ids, features_table
from credo.simulate import SimulationConfig, simulate_to_directory
from tests.features.helpers import D, at, ev, table


def both(events: pa.Table, query: FeatureQuery) -> tuple[pa.Table, pa.Table]:
    """(the SQL's result, the compiled pass's result) over the same views."""
    con = connect()
    try:
        con.register("events", events.select(EVENTS_SCHEMA.names).cast(EVENTS_SCHEMA))
        ids = sorted(set(events.column("consumer_id").to_pylist()) | {"c-nobody"})
        con.register("population", pa.table({"consumer_id": pa.array(ids, pa.string())}))
        return con.sql(query.sql()).to_arrow_table(), features_table(con, query)
    finally:
        con.close()


def assert_same(want: pa.Table, got: pa.Table) -> None:
    assert got.column_names == want.column_names
    for name in want.column_names:
        w, g = want.column(name).combine_chunks(), got.column(name).combine_chunks()
        assert g.type == w.type, name
        assert g.to_pylist() == w.to_pylist(), name


@pytest.fixture(scope="module")
def simulated_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("compiled_sim")
    simulate_to_directory(SimulationConfig(consumers=300, months=24, seed=21, chunk_size=100), out)
    return out


@pytest.fixture(scope="module")
def simulated(simulated_dir) -> pa.Table:
    return events_from_directory(simulated_dir)


@pytest.mark.parametrize("as_of", [date(2023, 3, 10), date(2024, 7, 15), date(2025, 1, 1), date(2026, 12, 1)])
def test_simulated_population_equals_the_sql(simulated, as_of):
    """Early in the history (few scorable), in the middle, at its end and long after (everything aged out)."""
    want, got = both(simulated, feature_query(as_of))
    assert want.num_rows == 301  # and the consumer without events
    assert_same(want, got)


def test_the_population_is_varied_enough_to_tell(simulated):
    _, got = both(simulated, feature_query(date(2025, 1, 1)))
    rows = got.to_pylist()
    assert 0 < sum(r["is_scorable"] for r in rows) < len(rows)
    for name in ("late_payments_12m", "days_past_due_now", "derogatory_records", "open_credit_lines"):
        assert len({r[name] for r in rows}) > 2, name
    for name in ("revolving_utilisation", "income_band", "months_since_last_delinquency"):
        values = [r[name] for r in rows]
        assert None in values and len(set(values)) > 2, name


def test_a_short_retention_period_equals_the_sql(simulated):
    assert_same(*both(simulated, feature_query(date(2025, 1, 1), retention_months=3)))


def test_latest_record_ties_are_broken_by_event_id_as_in_sql():
    """Two statuses of one account at the same instant, received together: the higher event id is the
    latest (ORDER BY occurred_at DESC, received_at DESC, event_id DESC), whatever the input order."""
    same = at(10)
    records = [
        ev("credit.opened", "open", at(300), account_ref="a-1", opened_date=at(300).date().isoformat()),
        ev("credit.status", "s-b", same, same, account_ref="a-1", days_past_due=0),
        ev("credit.status", "s-c", same, same, account_ref="a-1", days_past_due=45),
        ev("credit.status", "s-a", same, same, account_ref="a-1", days_past_due=90),
        ev("income.verified", "i-1", same, same, partner="p-1", band="under_2k"),
        ev("income.verified", "i-2", same, same, partner="p-2", band="20k_plus"),
    ]
    want, got = both(table(records), feature_query(D))
    assert_same(want, got)
    row = got.to_pylist()[0]
    assert row["days_past_due_now"] == 45  # s-c
    assert row["income_band"] == 5.0  # partner p-2 before p-1


def test_a_hash_collision_falls_back_to_the_sql(simulated, monkeypatch):
    # every account of a consumer with a partner now shares one grouping hash, which the check tells apart
    monkeypatch.setattr(compiled, "KEY_HASHES", (
        ("_consumer_hash", "hash(consumer_id)"), ("_ref_hash", "hash(partner_id)"),
        ("_ref_check", "hash(ref || '|' || partner_id)")))
    query = feature_query(date(2025, 1, 1))
    con = connect()
    try:
        con.register("events", simulated.select(EVENTS_SCHEMA.names).cast(EVENTS_SCHEMA))
        con.register("population", pa.table({"consumer_id": pa.array(sorted(set(
            simulated.column("consumer_id").to_pylist())), pa.string())}))
        with pytest.raises(HashCollision):
            compiled.bucket_features(compiled.fetch_bucket(con, query), query)
        assert_same(con.sql(query.sql()).to_arrow_table(), features_table(con, query))
    finally:
        con.close()


def test_a_build_falls_back_per_bucket_and_fetches_each_bucket_once(simulated_dir, tmp_path, monkeypatch):
    as_of = date(2025, 1, 1)
    want = tmp_path / "want.parquet"
    scale_features.build_features(simulated_dir, as_of, want, rows_per_bucket=20_000)
    fetched = []

    def counted(con, query, raw=False):
        fetched.append(1)
        return compiled.fetch_bucket(con, query, raw)

    monkeypatch.setattr(scale_features, "fetch_bucket", counted)
    monkeypatch.setattr(compiled, "KEY_HASHES", (
        ("_consumer_hash", "hash(consumer_id)"), ("_ref_hash", "hash(partner_id)"),
        ("_ref_check", "hash(ref || '|' || partner_id)")))
    got = scale_features.build_features(simulated_dir, as_of, tmp_path / "got.parquet", rows_per_bucket=20_000)
    assert got.buckets >= 3 and len(fetched) == got.buckets
    assert_same(pq.read_table(want), pq.read_table(got.out))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.booleans()), max_size=40), min_size=1, max_size=4),
       st.integers(0, 9), st.sampled_from([pa.bool_(), pa.int64(), pa.string()]))
def test_null_masks_and_booleans_read_from_the_bitmaps_equal_arrows(chunks, cut, typ):
    def typed(values):
        return [None if v is None else (v if typ == pa.bool_() else str(v) if typ == pa.string() else int(v))
                for v in values]
    arrays = [pa.array(typed(c), typ) for c in chunks]
    arrays = [a.slice(min(cut, len(a))) for a in arrays]  # chunks that start inside their bitmaps
    column = pa.chunked_array(arrays, typ)
    want_nulls = column.is_null().to_numpy(zero_copy_only=False)
    assert compiled.null_mask(column).tolist() == want_nulls.tolist()
    if typ == pa.bool_():
        values, nulls = compiled.numeric(column)
        assert nulls.tolist() == want_nulls.tolist()
        assert values.tolist() == [bool(v) for v in pc.fill_null(column, False).to_pylist()]


def test_utc_dates_are_duckdbs_dates_of_the_instants():
    instants = ["1969-12-31 23:59:59.999999+00", "1970-01-01 00:00:00+00", "2024-02-29 23:59:59.999999+00",
                "2024-03-01 00:00:00+00", "1900-01-01 00:00:00.000001+00"]
    con = connect()
    try:
        got = con.sql("SELECT epoch_us(t), CAST(t AS DATE) - DATE '1970-01-01' FROM (SELECT unnest(?::TIMESTAMPTZ[]) AS t)",
                      params=[instants]).fetchall()
    finally:
        con.close()
    micros = np.array([m for m, _ in got], dtype=np.int64)
    days, nulls = compiled.utc_dates(micros, np.zeros(len(micros), np.bool_))
    assert days.tolist() == [d for _, d in got] and days.dtype == np.int32 and not nulls.any()


def test_consumers_are_found_by_hash_and_a_repeated_population_hash_is_refused():
    population = np.array([11, 5, 99], dtype=np.uint64)
    assert consumer_positions(np.array([99, 11, 11, 5], dtype=np.uint64), population).tolist() == [2, 0, 0, 1]
    with pytest.raises(ValueError, match="not in the population"):
        consumer_positions(np.array([12], dtype=np.uint64), population)
    with pytest.raises(HashCollision):
        consumer_positions(np.array([5], dtype=np.uint64), np.array([5, 7, 5], dtype=np.uint64))


def test_dense_ids_number_groups_in_order_and_catch_a_disagreeing_check():
    key = np.array([7, 3, 7, 3, 7], dtype=np.uint64)
    extra = np.array([0, 0, 0, 1, 0], dtype=np.int64)
    rows = np.arange(len(key))
    ids, count, collided = dense_ids(rows, key, key * np.uint64(3), extra)
    assert ids.tolist() == [0, 1, 0, 2, 0] and count == 3 and not collided
    check = key.copy()
    check[4] = 8
    assert dense_ids(rows, key, check, extra)[2]
    assert not dense_ids(rows[:4], key, check, extra)[2]  # only the rows given count
    assert dense_ids(rows[[3, 1]], key, check, extra)[:2][0].tolist() == [0, 1]


# ---------------------------------------------------------------- three-valued logic, on random histories

NULLABLE = (
    Feature("t_not_late", "payment_history", "NOT over NULLs", "increasing", "R01",
            lambda d: count_if("NOT (paid_date > due_date)")),
    Feature("t_or", "payment_history", "OR over NULLs", "increasing", "R01",
            lambda d: count_if("(paid_date > due_date) OR (days_past_due >= 30) OR on_time")),
    Feature("t_and_null", "payment_history", "AND with an unknown side", "increasing", "R01",
            lambda d: count_if("(paid_date IS NULL) AND NOT (due_date < paid_date)")),
    Feature("t_greatest", "payment_history", "GREATEST ignores NULLs", "increasing", "R02",
            lambda d: "COALESCE(MAX(GREATEST(days_past_due, worst_days_past_due_24m)), 0)"),
    Feature("t_ratio", "payment_history", "a ratio that may be NULL", "increasing", "R01",
            lambda d: ratio(count_if("on_time"), count_if("type = 'rental.returned'")), empty="null"),
    Feature("t_min_date", "payment_history", "MIN of a date", "increasing", "R02",
            lambda d: d.months_since(agg_if("MIN", "due_date", "bill_paid_date IS NOT NULL")), empty="null"),
)

TYPES = ("credit.opened", "credit.statement", "credit.status", "credit.closed", "credit.charged_off",
         "bureau.tradeline", "income.verified", "bill.issued", "bill.paid", "order.payment",
         "rental.returned", "identity.verified", "credit.inquiry")
DAYS = (3, 40, 100, 200, 700, 2000)


def _fields(kind: str, draw, ref: str) -> dict:
    day = draw(st.sampled_from(DAYS))
    when = (D - timedelta(days=day)).date().isoformat()
    maybe = draw(st.sampled_from([when, None, (D - timedelta(days=day - 20)).date().isoformat()]))
    return {
        "credit.opened": {"account_ref": ref, "product": draw(st.sampled_from(["credit_card", "bnpl_line", "car_loan"])),
                          "limit": f"{draw(st.integers(0, 9000))}.00", "opened_date": when},
        "credit.statement": {"account_ref": ref, "balance": f"{draw(st.integers(0, 9000))}.00", "statement_date": when,
                             "due_date": when},
        "credit.status": {"account_ref": ref, "days_past_due": draw(st.sampled_from([0, 15, 45, 90])), "as_of_date": when},
        "credit.closed": {"account_ref": ref, "closed_date": when},
        "credit.charged_off": {"account_ref": ref, "charged_off_date": when},
        "bureau.tradeline": {"tradeline_ref": ref, "status": draw(st.sampled_from(["open", "closed", "charged_off", "collection"])),
                             "opened_date": when, "as_of_date": when, "credit_limit": f"{draw(st.integers(0, 9000))}.00",
                             "balance": f"{draw(st.integers(0, 9000))}.00",
                             "worst_days_past_due_24m": draw(st.sampled_from([0, 30, 60]))},
        "income.verified": {"band": draw(st.sampled_from(["under_2k", "5k_10k", "20k_plus"]))},
        "bill.issued": {"bill_ref": ref, "bill_kind": draw(st.sampled_from(["utility", "telecom", "rent"])), "due_date": when},
        "bill.paid": {"bill_ref": ref, "paid_date": when},
        "order.payment": {"due_date": when, "paid_date": maybe},
        "rental.returned": {"on_time": draw(st.booleans())},
        "identity.verified": {"level": draw(st.sampled_from(["contact", "document", "in_person"]))},
        "credit.inquiry": {},
    }[kind]


@st.composite
def histories(draw) -> list[dict]:
    records: list[dict] = []
    for i in range(draw(st.integers(1, 40))):
        kind = draw(st.sampled_from(TYPES))
        occurred = D - timedelta(days=draw(st.sampled_from(DAYS)))
        received = occurred + timedelta(hours=draw(st.sampled_from([0, 1])))
        ref = draw(st.sampled_from(["r-1", "r-2"]))
        event_id = f"{draw(st.sampled_from('xyz'))}-{i}"  # event ids in no particular order
        records.append(ev(kind, event_id, occurred, received, consumer=draw(st.sampled_from(["c-1", "c-2"])),
                          partner=draw(st.sampled_from(["p-1", "p-2"])), **_fields(kind, draw, ref)))
    for target in draw(st.lists(st.sampled_from(records), max_size=3)):  # retractions and corrections
        occurred = D - timedelta(days=1)
        if draw(st.booleans()):
            records.append(ev("event.retraction", f"ret-{len(records)}", occurred, consumer=target["consumer_id"],
                              partner=target["partner_id"], retracts_event_id=target["event_id"]))
        else:
            fixed = dict(target, event_id=f"fix-{len(records)}", corrects_event_id=target["event_id"])
            records.append(fixed)
    return records


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=histories())
def test_property_the_compiled_pass_equals_the_sql(records):
    """Random small histories with NULLs, ties, corrections and retractions: every published feature,
    the scoring criteria and a few expressions built to exercise three-valued logic agree."""
    query = FeatureQuery(feature_query(D).as_of, (*FEATURES, *NULLABLE), SCORING_CRITERIA)
    assert_same(*both(table(records), query))


def test_sql_outside_the_kernels_subset_is_refused_when_compiled():
    later = Feature("t_rank2", "payment_history", "second latest", "increasing", "R01",
                    lambda d: count_if("recency_rank = 2"))
    with pytest.raises(UnsupportedSQL, match="recency_rank"):
        KernelSource((later,), None)
    floating = Feature("t_sum_double", "payment_history", "a float sum", "increasing", "R01",
                       lambda d: "COALESCE(SUM(CAST(amount_minor AS DOUBLE)), 0)", empty="null")
    with pytest.raises(UnsupportedSQL, match="DOUBLE"):
        KernelSource((floating,), None)


def test_duckdb_hash_collides_on_near_ids_so_the_keys_do_not_rest_on_it_alone():
    """Two of the simulator's event ids that DuckDB's ``hash`` maps to one value (found in its 254 M-event
    population): the replay check's key hash and the enrichment's group check tell them apart."""
    from credo.scale.events import KEY_HASH

    con = connect()
    rows = "(VALUES ('p-pwr', 'p-pwr-22-2145652'), ('p-pwr', 'p-pwr-25-2145657')) AS t(partner_id, event_id)"
    plain = con.sql(f"SELECT DISTINCT hash(partner_id, event_id) FROM {rows}").fetchall()
    assert len(plain) == 1  # the weakness
    assert len(con.sql(f"SELECT DISTINCT {KEY_HASH} FROM {rows}").fetchall()) == 2
    keys = dict(compiled.KEY_HASHES)
    refs = "(VALUES ('p-pwr', 'p-pwr-22-2145652'), ('p-pwr', 'p-pwr-25-2145657')) AS t(partner_id, ref)"
    assert len(con.sql(f"SELECT DISTINCT {keys['_ref_hash']} FROM {refs}").fetchall()) == 1
    assert len(con.sql(f"SELECT DISTINCT {keys['_ref_check']} FROM {refs}").fetchall()) == 2


def test_raw_payload_is_null_outside_its_event_types_before_money_is_read():
    """What the compiled scan reads with ``raw`` (fields as in the files, money as strings) becomes what the
    normalised view holds: NULL on event types that do not define the field, and such a value is never
    parsed; a non-canonical amount where it counts sends the bucket to its SQL."""
    events = pa.table({
        "type": ["order.payment", "credit.status", "credit.status", "bill.paid"],
        "amount_minor": ["12.30", "not money", None, "7.00"],
        "days_past_due": pa.array([5, 30, None, 9], pa.int64()),
        compiled.RAW_EXPONENT: pa.array([2, None, 2, 2], pa.int32()),
    })
    cols, dictionaries = compiled.value_arrays(events, ("type", "amount_minor", "days_past_due"), raw=True)
    units, unit_nulls = cols["amount_minor"]
    assert unit_nulls.tolist() == [False, True, True, False]
    assert units[[0, 3]].tolist() == [1230, 700]
    assert cols["days_past_due"][1].tolist() == [True, False, True, True]  # credit.status only
    assert dictionaries["type"] == ["bill.paid", "credit.status", "order.payment"]
    normalised = events.drop_columns([compiled.RAW_EXPONENT]).set_column(1, "amount_minor", pa.array([1, None, None, 2]))
    assert compiled.value_arrays(normalised, ("type", "days_past_due"), raw=False)[0]["days_past_due"][1].tolist() == [
        False, False, True, False]  # a normalised table is taken as it is
    wrong = events.set_column(1, "amount_minor", pa.array(["12.3", None, None, "7.00"]))
    with pytest.raises(compiled.NotMinorUnits):
        compiled.value_arrays(wrong, ("type", "amount_minor"), raw=True)
