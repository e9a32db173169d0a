"""Training snapshots and labels: the published outcome definition, source by source, and
checked against the simulator's outcomes.parquet."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pandas.testing as pdt
import pyarrow.parquet as pq
import pytest

from credo.features import compute_features, events_from_directory
from credo.features.builder import add_months, as_utc
from credo.features.definitions import FEATURE_NAMES
from credo.features.labels import SOURCES_SQL
from credo.features.training import first_bad_dates, monthly_dates, out_of_time_split, training_frame
from credo.policy.outcome import BAD_DAYS_PAST_DUE, BAD_EVENT_SOURCES, BAD_SOURCE_CODES, HORIZON_MONTHS
from credo.simulate import SimulationConfig, simulate_to_directory
from tests.features.helpers import ev, table

HORIZON = 6


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("training_sim")
    simulate_to_directory(SimulationConfig(consumers=400, months=18, seed=21), out)
    outcomes = pq.read_table(out / "outcomes.parquet").to_pandas().set_index("consumer_id")["first_bad_date"]
    return events_from_directory(out), outcomes


@pytest.fixture(scope="module")
def frame(sim):
    events, _ = sim
    return training_frame(events, monthly_dates(date(2023, 7, 1), date(2024, 1, 1)), horizon_months=HORIZON)


def test_first_bad_dates_match_simulator_outcomes(sim):
    """The simulator dates its outcomes by the same published definition, every source."""
    events, outcomes = sim
    ours = first_bad_dates(events)
    truth = outcomes.dropna()
    assert len(truth) > 0
    assert ours.to_dict() == truth.to_dict()


def test_labels_consistent_with_outcomes(sim, frame):
    _, outcomes = sim
    assert set(frame.columns) == {"consumer_id", "observation_date", *FEATURE_NAMES, "label", "bad_date", "sample"}
    assert frame["label"].sum() > 0
    for row in frame[["consumer_id", "observation_date", "label"]].itertuples(index=False):
        first_bad = outcomes.get(row.consumer_id)
        first_bad = None if first_bad is None or pd.isna(first_bad) else first_bad
        horizon_end = add_months(as_utc(row.observation_date), HORIZON).date()
        # nobody already bad at the observation date is kept
        assert first_bad is None or first_bad >= row.observation_date
        if row.label == 1:  # a consumer labelled bad has a first_bad_date inside the horizon
            assert first_bad is not None and row.observation_date <= first_bad < horizon_end
        else:
            assert first_bad is None or first_bad >= horizon_end


def test_only_scorable_consumers_and_features_as_of_the_date(sim, frame):
    events, _ = sim
    d = date(2023, 10, 1)
    snap = frame[frame["observation_date"] == d].set_index("consumer_id")
    full = compute_features(events, as_utc(d))
    scorable = full[full["is_scorable"]]
    assert set(snap.index) <= set(scorable.index)
    pdt.assert_frame_equal(snap[list(FEATURE_NAMES)], scorable.loc[snap.index, list(FEATURE_NAMES)],
                           check_exact=True, check_names=False)


def test_out_of_time_split(frame):
    train = frame[frame["sample"] == "train"]["observation_date"]
    valid = frame[frame["sample"] == "validation"]["observation_date"]
    assert len(train) and len(valid) and train.max() < valid.min()
    two = out_of_time_split(frame, validation_dates=2)
    assert sorted(frame.loc[two == "validation", "observation_date"].unique()) == [date(2023, 12, 1), date(2024, 1, 1)]


def test_incomplete_horizons_are_dropped(sim):
    events, _ = sim
    with pytest.warns(UserWarning, match="dropped"):
        out = training_frame(events, [date(2024, 1, 1), date(2024, 2, 1)], horizon_months=6)
    # the data ends on 2024-07-01 (exclusive): 2024-01-01's horizon ends on its last day, 2024-02-01's after it
    assert set(out["observation_date"]) == {date(2024, 1, 1)}


# --------------------------------------------------------------------------- the published definition, by source

KNOWN = datetime(2024, 12, 1, tzinfo=timezone.utc)
DUE = date(2024, 1, 10)
AFTER_90 = DUE + timedelta(days=BAD_DAYS_PAST_DUE)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=timezone.utc)


def _first_bad(records, known_at=KNOWN, sources=BAD_SOURCE_CODES):
    return first_bad_dates(table(records), known_at=known_at, sources=sources).get("c-1")


def test_every_published_source_has_its_query():
    assert set(SOURCES_SQL) == set(BAD_SOURCE_CODES) == {s.code for s in BAD_EVENT_SOURCES}
    assert HORIZON_MONTHS == 12 and BAD_DAYS_PAST_DUE == 90
    assert all(s.description and s.event_types for s in BAD_EVENT_SOURCES)


def _bill(kind="utility", paid_days_late=None, ref="b-1"):
    recs = [ev("bill.issued", f"{ref}-i", _at(DUE - timedelta(days=15)), bill_ref=ref, bill_kind=kind,
               due_date=DUE.isoformat())]
    if paid_days_late is not None:
        paid = DUE + timedelta(days=paid_days_late)
        recs.append(ev("bill.paid", f"{ref}-p", _at(paid), bill_ref=ref, bill_kind=kind, paid_date=paid.isoformat()))
    return recs


def _instalment(paid_days_late=None):
    fields = {"order_ref": "o-1", "instalment": 2, "due_date": DUE.isoformat()}
    if paid_days_late is None:  # reported unpaid
        return [ev("order.payment", "op-1", _at(DUE + timedelta(days=30)), **fields)]
    paid = DUE + timedelta(days=paid_days_late)
    return [ev("order.payment", "op-1", _at(paid), paid_date=paid.isoformat(), **fields)]


def _fee(paid_days_late=None, partner="p-all", ref="r-1"):
    """A fee reported unpaid the day after it fell due, then (maybe) reported paid by ``partner``."""
    recs = [ev("rental.fee_unpaid", "f-1", _at(DUE + timedelta(days=1)), rental_ref="r-1", due_date=DUE.isoformat())]
    if paid_days_late is not None:
        paid = DUE + timedelta(days=paid_days_late)
        recs.append(ev("rental.fee_paid", "f-1-p", _at(paid), partner=partner, rental_ref=ref,
                       paid_date=paid.isoformat()))
    return recs


def _tradeline(snapshots):
    return [ev("bureau.tradeline", f"t-{i}", _at(day), tradeline_ref="t-1", status=status, as_of_date=day.isoformat(),
               worst_days_past_due_24m=worst)
            for i, (day, status, worst) in enumerate(snapshots)]


CASES = {
    # source, records, expected first bad date (None: not bad)
    "credit status 90 days": ("credit_status", [ev("credit.status", "s-1", _at(DUE), as_of_date=DUE.isoformat(),
                                                   days_past_due=90)], DUE),
    "credit status 60 days": ("credit_status", [ev("credit.status", "s-1", _at(DUE), as_of_date=DUE.isoformat(),
                                                   days_past_due=60)], None),
    "charge-off": ("charge_off", [ev("credit.charged_off", "co-1", _at(DUE), charged_off_date=DUE.isoformat())], DUE),
    "bureau newly 90+": ("bureau", _tradeline([(date(2023, 10, 5), "open", 30), (date(2024, 1, 5), "open", 120),
                                               (date(2024, 4, 5), "open", 150)]), date(2024, 1, 5)),
    "bureau collection": ("bureau", _tradeline([(date(2023, 10, 5), "open", 0), (date(2024, 1, 5), "collection", 0)]),
                          date(2024, 1, 5)),
    "bureau late but under 90": ("bureau", _tradeline([(date(2024, 1, 5), "open", 60)]), None),
    "utility bill never paid": ("bill", _bill(), AFTER_90),
    "rent never paid": ("bill", _bill(kind="rent"), AFTER_90),
    "bill paid 100 days late": ("bill", _bill(paid_days_late=100), AFTER_90),
    "bill paid 89 days late": ("bill", _bill(paid_days_late=89), None),
    "instalment reported unpaid": ("order_instalment", _instalment(), AFTER_90),
    "instalment paid 95 days late": ("order_instalment", _instalment(paid_days_late=95), AFTER_90),
    "instalment paid 10 days late": ("order_instalment", _instalment(paid_days_late=10), None),
    "rental fee never paid": ("rental_fee", _fee(), AFTER_90),
    "rental fee paid 20 days late": ("rental_fee", _fee(paid_days_late=20), None),
    "rental fee paid 89 days late": ("rental_fee", _fee(paid_days_late=89), None),
    "rental fee paid 90 days late": ("rental_fee", _fee(paid_days_late=90), AFTER_90),
    "rental fee paid 120 days late": ("rental_fee", _fee(paid_days_late=120), AFTER_90),
    # a payment settles only the fee it names: the same partner's report for the same rental
    "rental fee paid for another rental": ("rental_fee", _fee(paid_days_late=20, ref="r-2"), AFTER_90),
    "rental fee paid to another partner": ("rental_fee", _fee(paid_days_late=20, partner="p-other"), AFTER_90),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_source_follows_the_published_definition(case):
    source, records, expected = CASES[case]
    assert _first_bad(records, sources=(source,)) == expected
    assert _first_bad(records) == expected  # and the full definition finds the same
    others = tuple(s for s in BAD_SOURCE_CODES if s != source)
    assert _first_bad(records, sources=others) is None  # no other source claims it


def test_a_bad_date_not_reached_by_the_data_is_not_known_yet():
    records = _bill()
    assert _first_bad(records, known_at=_at(AFTER_90 - timedelta(days=1))) is None
    assert _first_bad(records, known_at=_at(AFTER_90)) == AFTER_90


def test_a_payment_reported_later_but_before_90_days_keeps_it_good():
    """The bill's payment arrives long after it was made: labels read it with hindsight."""
    records = _bill()
    paid = DUE + timedelta(days=20)
    records.append(ev("bill.paid", "b-1-p", _at(paid), _at(DUE + timedelta(days=150)), bill_ref="b-1",
                      paid_date=paid.isoformat()))
    assert _first_bad(records) is None


def test_a_fee_payment_reported_after_90_days_but_made_before_keeps_it_good():
    """Like a bill's: the label reads the payment with hindsight; the feature as of a date before
    the payment arrived still counts the fee as unpaid."""
    records = _fee()
    paid = DUE + timedelta(days=30)
    records.append(ev("rental.fee_paid", "f-1-p", _at(paid), _at(DUE + timedelta(days=150)), rental_ref="r-1",
                      paid_date=paid.isoformat()))
    assert _first_bad(records) is None
    assert _first_bad(records, known_at=_at(DUE + timedelta(days=120))) == AFTER_90  # not received yet then


def test_a_retracted_fee_payment_does_not_settle_the_fee():
    retraction = ev("event.retraction", "x-1", _at(DUE + timedelta(days=40)), retracts_event_id="f-1-p",
                    reason="reported_in_error")
    assert _first_bad([*_fee(paid_days_late=20), retraction]) == AFTER_90


def test_a_retracted_or_corrected_report_is_not_bad():
    fee = ev("rental.fee_unpaid", "f-1", _at(DUE + timedelta(days=1)), due_date=DUE.isoformat())
    retraction = ev("event.retraction", "r-1", _at(DUE + timedelta(days=20)), retracts_event_id="f-1",
                    reason="dispute_resolved")
    assert _first_bad([fee, retraction]) is None
    unpaid = _instalment()[0]
    paid = DUE + timedelta(days=3)
    correction = ev("order.payment", "op-1b", _at(DUE + timedelta(days=40)), order_ref="o-1", instalment=2,
                    due_date=DUE.isoformat(), paid_date=paid.isoformat(), corrects_event_id="op-1")
    assert _first_bad([unpaid, correction]) is None


def test_the_first_bad_event_across_sources_counts():
    records = [*_bill(), ev("credit.status", "s-1", _at(date(2024, 3, 1)), as_of_date="2024-03-01",
                            days_past_due=90)]
    assert _first_bad(records) == date(2024, 3, 1)
    with pytest.raises(ValueError, match="unknown bad-event source"):
        _first_bad(records, sources=("bills",))


# --------------------------------------------------------------------------- on the simulated population


def test_non_borrowers_are_labelled_bad_through_each_non_credit_source(sim, frame):
    events, _ = sim
    credit = _consumers_with(events, "credit.")
    for source in ("bill", "order_instalment", "rental_fee"):
        bad = first_bad_dates(events, sources=(source,))
        assert len(set(bad.index) - credit) > 0, source
    bad_rows = frame[(frame["label"] == 1) & ~frame["consumer_id"].isin(credit)]
    assert len(bad_rows) > 0
    assert frame[~frame["consumer_id"].isin(credit)]["label"].mean() > 0.02


def _consumers_with(events, type_prefix: str) -> set[str]:
    """Consumers with at least one event whose type starts with ``type_prefix``."""
    kinds = events.select(["consumer_id", "type"]).to_pandas()
    return set(kinds.loc[kinds["type"].str.startswith(type_prefix), "consumer_id"])


def _rate(frame, mask) -> float:
    return float(frame.loc[mask, "label"].mean())


def test_outcome_follows_the_directions_an_analyst_expects(frame):
    """More late payments, higher utilisation: riskier; longer history: safer."""
    late = frame["late_payments_12m"]
    assert _rate(frame, late >= 2) > _rate(frame, late == 0) + 0.03
    util = frame["revolving_utilisation"]
    lo, hi = util.quantile([1 / 3, 2 / 3])
    assert _rate(frame, util >= hi) > _rate(frame, util <= lo) + 0.02
    age = frame["months_since_oldest_account"]
    short, long = age.quantile([1 / 3, 2 / 3])
    assert _rate(frame, age <= short) > _rate(frame, age >= long) + 0.02
    assert 0.04 < frame["label"].mean() < 0.2
