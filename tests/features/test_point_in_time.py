"""Point in time: corrections, retractions, late arrivals, retention and null handling as of D."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credo.features import compute_features, events_from_directory, feature_query
from credo.features.definitions import FEATURE_NAMES
from credo.features.events_table import derive_keys
from credo.simulate import SimulationConfig, simulate_to_directory
from tests.features.helpers import D, at, base_history, ev, table


def feats(records, as_of=D, **kw) -> pd.Series:
    return compute_features(table(records), as_of, **kw).loc["c-1"]


def late_payment(event_id: str, received, paid_days_late: int = 5, **kw):
    return ev("order.payment", event_id, at(40), received, order_ref="o-9", due_date=at(45).date().isoformat(),
              paid_date=(at(45) + timedelta(days=paid_days_late)).date().isoformat(), **kw)


def test_base_history_is_scorable_and_clean():
    f = feats(base_history())
    assert bool(f.is_scorable)
    assert f.late_payments_12m == 0 and f.missed_payments_12m == 0 and f.derogatory_records == 0
    assert np.isnan(f.months_since_last_delinquency)
    assert f.bills_on_time_share_12m == 1.0
    assert f.identity_level == 2
    assert f.revolving_utilisation == pytest.approx(1000 / 10000)  # latest statement: 1000.00 / 10000.00
    assert f.open_credit_lines == 1


def test_event_received_after_d_is_ignored_and_received_at_d_too():
    base = feats(base_history())
    for received in (D, D + timedelta(days=3)):
        late = feats(base_history() + [late_payment("late-1", received)])
        pdt.assert_series_equal(late, base)
    early = feats(base_history() + [late_payment("late-1", D - timedelta(microseconds=1))])
    assert early.late_payments_12m == 1


def test_event_occurring_after_d_is_ignored():
    rec = ev("credit.inquiry", "q-late", D + timedelta(hours=1), D - timedelta(days=1))  # clock skew
    pdt.assert_series_equal(feats(base_history() + [rec]), feats(base_history()))


def test_correction_applies_only_once_received():
    on_time = late_payment("pay-1", at(39), paid_days_late=-2)
    fix = late_payment("pay-1-fix", at(2), paid_days_late=10, corrects_event_id="pay-1")
    assert feats(base_history() + [on_time]).late_payments_12m == 0
    assert feats(base_history() + [on_time, fix]).late_payments_12m == 1
    # as of a D before the correction arrived: the original record stands
    assert feats(base_history() + [on_time, fix], as_of=at(3)).late_payments_12m == 0


def test_late_arriving_correction_changes_nothing_as_of_d():
    on_time = late_payment("pay-1", at(39), paid_days_late=-2)
    fix = late_payment("pay-1-fix", D + timedelta(days=1), paid_days_late=10, corrects_event_id="pay-1")
    pdt.assert_series_equal(feats(base_history() + [on_time, fix]), feats(base_history() + [on_time]))


def test_latest_correction_wins_and_chains_resolve():
    orig = late_payment("pay-1", at(39), paid_days_late=-2)
    fix1 = late_payment("pay-1-a", at(20), paid_days_late=10, corrects_event_id="pay-1")
    fix2 = late_payment("pay-1-b", at(10), paid_days_late=-1, corrects_event_id="pay-1")
    assert feats(base_history() + [orig, fix1, fix2]).late_payments_12m == 0
    assert feats(base_history() + [orig, fix1, fix2], as_of=at(15)).late_payments_12m == 1
    chained = late_payment("pay-1-c", at(5), paid_days_late=20, corrects_event_id="pay-1-b")
    f = feats(base_history() + [orig, fix1, fix2, chained])
    assert f.late_payments_12m == 1  # one record, not three
    assert f.worst_days_past_due_24m == 20


def test_retraction_as_of_d():
    co = ev("credit.charged_off", "co-1", at(60), account_ref="a-1", charged_off_date=at(60).date().isoformat())
    late_ret = ev("event.retraction", "ret-1", at(1), D + timedelta(days=2), retracts_event_id="co-1",
                  reason="dispute_resolved")
    early_ret = ev("event.retraction", "ret-1", at(1), at(1) + timedelta(hours=1), retracts_event_id="co-1",
                   reason="dispute_resolved")
    assert feats(base_history() + [co]).derogatory_records == 1
    pdt.assert_series_equal(feats(base_history() + [co, late_ret]), feats(base_history() + [co]))
    retracted = feats(base_history() + [co, early_ret])
    assert retracted.derogatory_records == 0
    assert retracted.open_credit_lines == 1  # the account is no longer ended by the charge-off
    pdt.assert_series_equal(retracted, feats(base_history()))


def test_retracting_original_removes_corrections_retracting_correction_restores_original():
    orig = late_payment("pay-1", at(39), paid_days_late=3)
    fix = late_payment("pay-1-fix", at(20), paid_days_late=30, corrects_event_id="pay-1")
    ret_orig = ev("event.retraction", "r-o", at(10), retracts_event_id="pay-1", reason="reported_in_error")
    ret_fix = ev("event.retraction", "r-f", at(10), retracts_event_id="pay-1-fix", reason="reported_in_error")
    assert feats(base_history() + [orig, fix]).worst_days_past_due_24m == 30
    assert feats(base_history() + [orig, fix, ret_orig]).late_payments_12m == 0
    restored = feats(base_history() + [orig, fix, ret_fix])
    assert restored.late_payments_12m == 1 and restored.worst_days_past_due_24m == 3


def test_negative_records_age_out_after_retention():
    def charge_off(days):
        return ev("credit.charged_off", "co-old", at(days), account_ref="a-9",
                  charged_off_date=at(days).date().isoformat())

    inside = feats(base_history() + [charge_off(59 * 30.4)])
    outside = feats(base_history() + [charge_off(61 * 30.5)])
    assert inside.derogatory_records == 1 and not np.isnan(inside.months_since_last_delinquency)
    assert outside.derogatory_records == 0 and np.isnan(outside.months_since_last_delinquency)
    short = feats(base_history() + [charge_off(400)], retention_months=12)
    assert short.derogatory_records == 0
    assert feats(base_history() + [charge_off(300)], retention_months=12).derogatory_records == 1


def test_one_query_text_serves_every_instant_to_the_microsecond():
    """The query is built once; an instant only renders its literals, so a read can be as of any microsecond."""
    t = D + timedelta(hours=13, minutes=7, seconds=5, microseconds=123456)
    a, b = feature_query(t), feature_query(t + timedelta(microseconds=1))
    assert a.template() is b.template() and "$as_of" in a.template()
    assert "TIMESTAMPTZ '2024-06-01 13:07:05.123456+00:00'" in a.sql()
    assert "TIMESTAMPTZ '2024-06-01 13:07:05.123457+00:00'" in b.sql() and "$" not in b.sql()
    # an event received (and occurred) at exactly t is not in the features as of t, and is as of t + 1 µs
    late = ev("order.payment", "pay-at-t", t, t, order_ref="o-9", due_date=at(45).date().isoformat(),
              paid_date=at(40).date().isoformat())
    assert feats(base_history() + [late], t).late_payments_12m == 0
    assert feats(base_history() + [late], t + timedelta(microseconds=1)).late_payments_12m == 1


def test_the_retention_period_is_one_setting(monkeypatch):
    """Without an explicit period the features read CREDO_RETENTION_MONTHS (policy/retention.py)."""
    def charge_off(days):
        return ev("credit.charged_off", "co-old", at(days), account_ref="a-9",
                  charged_off_date=at(days).date().isoformat())

    monkeypatch.delenv("CREDO_RETENTION_MONTHS", raising=False)
    assert feats(base_history() + [charge_off(400)]).derogatory_records == 1
    monkeypatch.setenv("CREDO_RETENTION_MONTHS", "12")
    assert feats(base_history() + [charge_off(400)]).derogatory_records == 0
    assert feats(base_history() + [charge_off(300)]).derogatory_records == 1
    assert feats(base_history() + [charge_off(400)], retention_months=24).derogatory_records == 1


def test_null_handling_empty_windows():
    only_identity = [ev("identity.verified", "id-1", at(10), level="contact")]
    out = compute_features(table(only_identity), D, consumers=["c-1", "c-nobody"])
    assert list(out.index) == ["c-1", "c-nobody"]
    for cid in out.index:
        row = out.loc[cid]
        assert row.late_payments_12m == 0 and row.inquiries_6m == 0 and row.open_credit_lines == 0
        for name in ("revolving_utilisation", "balance_to_limit", "bills_on_time_share_12m",
                     "rent_on_time_share_12m", "rental_returns_on_time_share_12m", "income_band",
                     "months_since_oldest_account", "months_since_last_delinquency"):
            assert np.isnan(row[name]), name
        assert not row.is_scorable
    assert out.loc["c-1", "identity_level"] == 1 and out.loc["c-nobody", "identity_level"] == 0
    assert np.isnan(out.loc["c-nobody", "tenure_months"]) and out.loc["c-1", "tenure_months"] == 1  # calendar months: May → June
    zero_cols = [c for c in FEATURE_NAMES if out[c].dtype == np.int64]
    assert zero_cols and all(out[c].notna().all() for c in zero_cols)


def test_unpaid_bill_counts_against_on_time_share_and_as_missed():
    recs = base_history() + [ev("bill.issued", "b-unpaid", at(70), bill_ref="b-x",
                                due_date=at(60).date().isoformat())]
    f = feats(recs)
    assert f.missed_payments_12m == 1
    assert f.bills_on_time_share_12m == pytest.approx(6 / 7)


# ---------------------------------------------------------------- property test on simulated data


@pytest.fixture(scope="module")
def sim_events(tmp_path_factory):
    out = tmp_path_factory.mktemp("pit_sim")
    simulate_to_directory(SimulationConfig(consumers=60, months=12, seed=5), out)
    return events_from_directory(out)


def test_simulated_features_equal_features_of_events_received_before_d(sim_events):
    from datetime import datetime, timezone
    d = datetime(2023, 9, 10, 6, tzinfo=timezone.utc)
    before = sim_events.filter(pc.less(sim_events["received_at"], d))
    ids = sorted(set(sim_events["consumer_id"].to_pylist()))
    pdt.assert_frame_equal(compute_features(sim_events, d, consumers=ids),
                           compute_features(derive_keys(before), d, consumers=ids), check_exact=True)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=st.integers(min_value=60, max_value=360), seed=st.integers(0, 2**32 - 1),
       share=st.floats(0.05, 0.6), shift_days=st.integers(0, 60))
def test_property_received_after_d_never_changes_features(sim_events, day, seed, share, shift_days):
    """Delay any subset of events (corrections and retractions included) to arrive at or after D:
    the features as of D equal those computed without those events at all."""
    import pyarrow as pa
    from datetime import datetime, timezone
    d = datetime(2023, 1, 1, tzinfo=timezone.utc) + timedelta(days=day, hours=seed % 24)
    rng = np.random.default_rng(seed)
    received = sim_events["received_at"].to_numpy()
    delay = rng.random(len(received)) < share
    late_at = np.datetime64(d.replace(tzinfo=None), "us") + np.timedelta64(shift_days, "D")
    new_received = np.where(delay, np.maximum(received, late_at), received)
    shifted = sim_events.set_column(sim_events.schema.get_field_index("received_at"), "received_at",
                                    pa.array(new_received, pa.timestamp("us", tz="UTC")))
    kept = shifted.filter(pc.less(shifted["received_at"], d))
    ids = sorted(set(sim_events["consumer_id"].to_pylist()))
    pdt.assert_frame_equal(compute_features(shifted, d, consumers=ids),
                           compute_features(derive_keys(kept), d, consumers=ids), check_exact=True)
