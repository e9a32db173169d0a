"""The population and event-stream simulator: determinism, validity, and behaviour."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from credo.events import EVENT_TYPES, parse_event
from credo.features.events_table import normalise
from credo.features.training import first_bad_dates
from credo.policy.protection import category_in_text
from credo.simulate import (
    EVENT_SCHEMA,
    SimulationConfig,
    iter_simulation,
    partners,
    simulate_chunk,
    simulate_to_directory,
)

SMALL = SimulationConfig(consumers=200, months=12, seed=3, chunk_size=200)
MEDIUM = SimulationConfig(consumers=4000, months=24, seed=11, chunk_size=4000)


@pytest.fixture(scope="module")
def small():
    return simulate_chunk(SMALL, 0)


@pytest.fixture(scope="module")
def medium():
    return simulate_chunk(MEDIUM, 0)


def _records(events: pa.Table) -> list[dict]:
    return [{k: v for k, v in row.items() if v is not None} for row in events.to_pylist()]


def _frame(chunk):
    return chunk.events.select(
        ["type", "event_id", "partner_id", "consumer_id", "occurred_at", "received_at",
         "corrects_event_id", "retracts_event_id", "days_past_due", "as_of_date", "charged_off_date"]
    ).to_pandas()


# --------------------------------------------------------------------------- determinism


def _tree(path):
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_same_seed_gives_byte_identical_output(tmp_path, fmt):
    config = SimulationConfig(consumers=150, months=6, seed=5, chunk_size=60)
    seen = []
    a = simulate_to_directory(config, tmp_path / "a", fmt=fmt, progress=seen.append)
    b = simulate_to_directory(config, tmp_path / "b", fmt=fmt)
    assert seen == [60, 60, 30]
    assert a.events == b.events > 0
    tree_a, tree_b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert set(tree_a) == {
        "partners.json", "consumers.parquet", "consents.parquet", "outcomes.parquet", "audit.parquet", "summary.json",
        f"events/part-00000.{fmt}", f"events/part-00001.{fmt}", f"events/part-00002.{fmt}",
    }
    assert tree_a == tree_b
    summary = orjson.loads(tree_a["summary.json"])
    assert summary["events"] == a.events and summary["consumers"] == 150


def test_chunks_are_independent_of_processing_order():
    config = SimulationConfig(consumers=250, months=6, seed=9, chunk_size=100)
    streamed = list(iter_simulation(config))
    assert [c.index for c in streamed] == [0, 1, 2]
    alone = simulate_chunk(config, 2)  # produced first, in isolation
    assert alone.events.equals(streamed[2].events)
    assert alone.consumers.equals(streamed[2].consumers)
    assert alone.consents.equals(streamed[2].consents)
    assert alone.outcomes.equals(streamed[2].outcomes)
    assert streamed[2].consumers.column("consumer_id")[0].as_py() == "c-000000200"


def test_a_different_seed_gives_a_different_population():
    a = simulate_chunk(SimulationConfig(consumers=50, months=3, seed=1), 0)
    b = simulate_chunk(SimulationConfig(consumers=50, months=3, seed=2), 0)
    assert not a.events.equals(b.events)


# --------------------------------------------------------------------------- validity


def test_every_record_validates_and_every_type_appears(small):
    assert small.events.schema == EVENT_SCHEMA
    failures = []
    seen = Counter()
    for rec in _records(small.events):
        try:
            parse_event(rec)
        except Exception as exc:  # noqa: BLE001 - collect, then report
            failures.append((rec, exc))
        seen[rec["type"]] += 1
    assert failures == []
    assert set(seen) == set(EVENT_TYPES), set(EVENT_TYPES) - set(seen)


def test_jsonl_lines_are_flat_records_with_utc_z_times(tmp_path):
    config = SimulationConfig(consumers=40, months=4, seed=4, chunk_size=40)
    simulate_to_directory(config, tmp_path, fmt="jsonl")
    lines = (tmp_path / "events" / "part-00000.jsonl").read_bytes().splitlines()
    assert lines
    for line in lines:
        rec = orjson.loads(line)
        assert None not in rec.values()
        assert rec["occurred_at"].endswith("Z") and rec["received_at"].endswith("Z")
        if "amount" in rec:
            assert isinstance(rec["amount"], str)
        parse_event(rec)


def test_amounts_respect_minor_units(small):
    pattern = re.compile(r"^\d+\.\d{2}$")
    for name in ("amount", "limit", "balance", "minimum_due", "credit_limit"):
        values = small.events.column(name).drop_null().to_pylist()
        assert values, name
        assert all(pattern.match(v) for v in values), name
    currencies = set(small.events.column("currency").drop_null().to_pylist())
    assert currencies == {"CNY"}


def test_currency_without_minor_units_is_whole_numbers():
    chunk = simulate_chunk(SimulationConfig(consumers=30, months=3, seed=2, currency="JPY"), 0)
    amounts = chunk.events.column("amount").drop_null().to_pylist()
    assert amounts and all(a.isdigit() for a in amounts)
    for rec in _records(chunk.events)[:500]:
        parse_event(rec)


def test_ids_and_refs_name_no_forbidden_category(small):
    cols = ["event_id", "partner_id", "consumer_id", "corrects_event_id", "retracts_event_id",
            "order_ref", "bill_ref", "account_ref", "application_ref", "rental_ref", "tradeline_ref"]
    values = set()
    for name in cols:
        values.update(pc.unique(small.events.column(name).drop_null()).to_pylist())
    values.update(p["partner_id"] for p in partners())
    offending = {v for v in values if category_in_text(v) is not None}
    assert offending == set()


def test_event_ids_are_unique_per_partner(medium):
    keys = pc.binary_join_element_wise(medium.events.column("partner_id"), medium.events.column("event_id"), "/")
    assert len(pc.unique(keys)) == medium.events.num_rows


def test_partners_cover_every_event_type():
    listed = {t for p in partners() for t in p["event_types"]}
    assert listed == set(EVENT_TYPES)
    assert partners() == partners()
    kinds = {p["kind"] for p in partners()}
    assert {"credit", "commerce", "utility", "telecom", "landlord", "rental", "bureau", "identity",
            "income"} <= kinds


# --------------------------------------------------------------------------- ordering, corrections, retractions


def test_events_sorted_by_received_at_and_received_after_occurring(medium):
    rec = medium.events.column("received_at").to_numpy()
    occ = medium.events.column("occurred_at").to_numpy()
    assert (np.diff(rec.astype("int64")) >= 0).all()
    assert (rec >= occ).all()
    assert MEDIUM.end == date(2025, 1, 1) and MEDIUM.start == date(2023, 1, 1)  # the deterministic default
    end = np.datetime64("2025-01-01T00:00:00")
    assert (occ.astype("datetime64[us]") < end).all()
    assert (rec.astype("datetime64[us]") < end).all()  # nothing arrives after the end: it does not exist yet
    late = (rec - occ) > np.timedelta64(3, "D")
    assert 0.005 < late.mean() < 0.2  # some late-arriving events


@pytest.mark.parametrize("end, months, start", [
    (date(2026, 11, 30), 7, date(2026, 4, 30)),
    (date(2025, 3, 31), 2, date(2025, 1, 31)),
    (date(2024, 3, 29), 13, date(2023, 2, 28)),
])
def test_the_data_ends_on_the_end_date(end, months, start):
    config = SimulationConfig(consumers=120, months=months, seed=4, end=end)
    assert config.start == start
    chunk = simulate_chunk(config, 0)
    occ = chunk.events.column("occurred_at").to_numpy().astype("datetime64[us]")
    rec = chunk.events.column("received_at").to_numpy().astype("datetime64[us]")
    limit = np.datetime64(end.isoformat())
    assert rec.max() < limit and occ.max() < limit
    assert rec.max() >= limit - np.timedelta64(2, "D")  # and runs right up to it
    recorded = chunk.events.filter(pc.equal(chunk.events.column("type"), "bill.issued"))
    first_bill = recorded.column("occurred_at").to_numpy().min().astype("datetime64[D]")
    assert np.datetime64(start.isoformat()) <= first_bill < np.datetime64(start.isoformat()) + np.timedelta64(28, "D")
    bad = chunk.outcomes.column("first_bad_date").drop_null().to_numpy(zero_copy_only=False)
    assert (bad.astype("datetime64[D]") < limit).all()


def test_the_end_date_is_validated():
    with pytest.raises(ValueError, match="end must be a calendar date"):
        SimulationConfig(consumers=1, months=3, seed=1, end="2025-01-01")


def test_same_config_same_population_and_another_end_moves_it():
    config = SimulationConfig(consumers=80, months=6, seed=3, end=date(2026, 11, 30))
    a, b = simulate_chunk(config, 0), simulate_chunk(config, 0)
    assert a.events.equals(b.events) and a.outcomes.equals(b.outcomes) and a.consents.equals(b.consents)
    later = simulate_chunk(SimulationConfig(consumers=80, months=6, seed=3, end=date(2026, 12, 31)), 0)
    assert not later.events.equals(a.events)


def _targets(df, ref_col):
    """Rows of ``df`` with a ``ref_col`` joined to the event they reference (same partner)."""
    df = df.assign(pos=np.arange(len(df)))
    refs = df[df[ref_col].notna()]
    targets = df[["partner_id", "event_id", "type", "consumer_id", "received_at", "pos"]]
    return refs.merge(targets, left_on=["partner_id", ref_col], right_on=["partner_id", "event_id"],
                      how="left", suffixes=("", "_target"), indicator=True)


def test_corrections_and_retractions_point_back_to_earlier_events(medium):
    df = _frame(medium)
    corr = _targets(df, "corrects_event_id")
    assert len(corr) > 50
    assert (corr._merge == "both").all()
    assert (corr.type_target == corr.type).all()
    assert (corr.consumer_id_target == corr.consumer_id).all()
    assert (corr.pos_target < corr.pos).all()
    assert (corr.received_at_target < corr.received_at).all()
    assert df[df.type == "event.retraction"].retracts_event_id.notna().all()
    assert df[df.type != "event.retraction"].retracts_event_id.isna().all()
    retr = _targets(df, "retracts_event_id")
    assert len(retr) > 30
    assert (retr._merge == "both").all()
    assert (retr.type_target != "event.retraction").all()
    assert (retr.consumer_id_target == retr.consumer_id).all()
    assert (retr.pos_target < retr.pos).all()


def test_consents_cover_every_event(medium):
    consents = medium.consents.to_pandas()
    assert not consents.duplicated(["consumer_id", "partner_id", "event_type"]).any()
    df = _frame(medium)
    retr = _targets(df, "retracts_event_id")
    needed = df[["consumer_id", "partner_id", "type"]].rename(columns={"type": "event_type"})
    needed = needed.drop_duplicates()
    via_retraction = retr[["consumer_id", "partner_id", "type_target"]].rename(
        columns={"type_target": "event_type"}).drop_duplicates()
    for frame in (needed, via_retraction):
        covered = frame.merge(consents, on=["consumer_id", "partner_id", "event_type"], how="left", indicator=True)
        assert (covered._merge == "both").all(), covered[covered._merge != "both"].head()
    # only partners the consumer uses, and only the types that partner reports
    used = set(zip(df.consumer_id, df.partner_id))
    assert set(zip(consents.consumer_id, consents.partner_id)) == used
    allowed = {p["partner_id"]: set(p["event_types"]) for p in partners()}
    assert all(t in allowed[p] for p, t in set(zip(consents.partner_id, consents.event_type)))
    assert consents.granted_at.notna().all()
    first_received = df.groupby(["consumer_id", "partner_id"]).received_at.min()
    granted = consents.groupby(["consumer_id", "partner_id"]).granted_at.min()
    assert (granted.reindex(first_received.index) < first_received).all()


# --------------------------------------------------------------------------- behaviour


def test_outcomes_follow_the_published_definition(medium):
    """outcomes.parquet is each consumer's first bad event of any source, with hindsight."""
    events = normalise(medium.events)
    ours = first_bad_dates(events).to_dict()
    outcomes = dict(zip(*(medium.outcomes.column(c).to_pylist() for c in ("consumer_id", "first_bad_date"))))
    assert len(outcomes) == MEDIUM.consumers
    assert {c: d for c, d in outcomes.items() if d is not None} == ours
    df = _frame(medium)
    co = df[df.type == "credit.charged_off"]
    for c, d in zip(co.consumer_id, co.charged_off_date):  # every charge-off makes its consumer bad by then
        assert outcomes[c] <= d


def _with_outcome(chunk) -> pd.DataFrame:
    cons = chunk.consumers.to_pandas()
    cons["bad"] = chunk.outcomes.column("first_bad_date").is_valid().to_numpy(zero_copy_only=False)
    return cons


def test_bad_rate_is_realistic_and_driven_by_creditworthiness(medium):
    cons = _with_outcome(medium)
    scorable = cons[~cons.thin_file]
    rate = scorable.bad.mean()
    assert 0.1 <= rate <= 0.35, rate  # ever bad in 24 months
    quartile = np.searchsorted(np.quantile(scorable.latent_creditworthiness, [0.25, 0.5, 0.75]),
                               scorable.latent_creditworthiness)
    by_q = scorable.groupby(quartile).bad.mean().to_numpy()
    assert (np.diff(by_q) < 0).all(), by_q  # worse z, more bad
    assert by_q[0] > 2.5 * by_q[3]
    # ... but not a verdict: life shocks make some of the most creditworthy bad too
    assert by_q[3] > 0.01


def test_non_borrowers_share_the_latent_risk_and_can_be_bad(medium):
    cons = _with_outcome(medium)
    non = cons[cons.segment == "non_borrower"]
    borrowers = cons[cons.segment == "borrower"]
    # the same latent scale (a slightly riskier mix), and a bad rate of the same order
    assert abs(non.latent_creditworthiness.mean() - borrowers.latent_creditworthiness.mean()) < 0.3
    assert 0.5 * borrowers.bad.mean() < non.bad.mean() < 2 * borrowers.bad.mean()
    low = non.latent_creditworthiness < non.latent_creditworthiness.median()
    assert non[low].bad.mean() > 1.5 * non[~low].bad.mean()


def test_most_unpaid_rental_fees_are_paid_later_and_only_the_rest_go_bad(medium):
    """A fee reported unpaid is usually paid (sooner by the more creditworthy); only a fee still
    unpaid 90 days after its due date makes its consumer bad through the rental-fee source."""
    df = medium.events.select(["type", "partner_id", "consumer_id", "rental_ref", "amount", "due_date",
                               "paid_date"]).to_pandas(date_as_object=False)
    key = ["partner_id", "consumer_id", "rental_ref"]
    unpaid = df[df.type == "rental.fee_unpaid"].drop_duplicates(key)
    paid = df[df.type == "rental.fee_paid"].drop_duplicates(key)
    fees = unpaid.merge(paid[[*key, "amount", "paid_date"]], on=key, how="left", suffixes=("", "_paid"),
                        validate="one_to_one")
    assert len(paid) == fees.paid_date_paid.notna().sum()  # every payment settles a reported fee ...
    settled = fees[fees.paid_date_paid.notna()]
    assert (settled.paid_date_paid > settled.due_date + pd.Timedelta(days=1)).all()  # ... after its report
    assert (settled.amount_paid == settled.amount).all()
    in_time = (fees.paid_date_paid - fees.due_date).dt.days < 90  # NaT (never paid): False
    assert 0.6 < in_time.mean() < 0.95, in_time.mean()
    z = fees.consumer_id.map(medium.consumers.to_pandas().set_index("consumer_id").latent_creditworthiness)
    assert in_time[z > z.median()].mean() > in_time[z <= z.median()].mean() + 0.05

    bad = first_bad_dates(normalise(medium.events), sources=("rental_fee",))
    end = pd.Timestamp(MEDIUM.end) - pd.Timedelta(days=90)  # a fee due since cannot be 90 days past due yet
    overdue = fees[fees.due_date < end]
    never_late = set(overdue.consumer_id) - set(overdue.consumer_id[~in_time.loc[overdue.index]])
    assert len(bad) > 0 and never_late and not never_late & set(bad.index)


def test_thin_file_consumers_have_few_events(medium):
    df = _frame(medium)
    cons = medium.consumers.to_pandas()
    thin = set(cons.consumer_id[cons.thin_file])
    assert 0.04 < len(thin) / len(cons) < 0.12
    counts = df.groupby("consumer_id").size()
    thin_counts = counts.reindex(list(thin), fill_value=0)
    assert thin_counts.max() <= 15
    assert counts.drop(list(thin), errors="ignore").median() > 10 * thin_counts.median()
    thin_types = set(df[df.consumer_id.isin(thin)].type)
    assert thin_types <= {"identity.verified", "order.placed", "order.payment", "order.refund",
                          "order.chargeback", "event.retraction"}


def test_never_borrowers_have_no_credit_events(medium):
    df = _frame(medium)
    cons = medium.consumers.to_pandas()
    never = set(cons.consumer_id[cons.never_borrows])
    assert cons.never_borrows.mean() > 0.15
    of_never = df[df.consumer_id.isin(never)]
    assert not of_never.type.str.startswith("credit.").any()
    assert of_never.type.str.startswith("bill.").any() and of_never.type.str.startswith("order.").any()
    # and the retractions of never-borrowers never target a credit event
    assert (cons.segment == "thin_file").sum() == cons.thin_file.sum()
    assert set(cons.segment) == {"borrower", "non_borrower", "thin_file"}


def test_latent_columns_stay_out_of_events(small):
    latent = {"latent_creditworthiness", "income_band", "thin_file", "never_borrows", "segment"}
    assert latent <= set(small.consumers.column_names)
    assert not latent & set(small.events.column_names)


def test_written_directory_reads_back(tmp_path):
    config = SimulationConfig(consumers=80, months=6, seed=8, chunk_size=50, end=date(2024, 9, 1))
    summary = simulate_to_directory(config, tmp_path)
    written = orjson.loads((tmp_path / "summary.json").read_bytes())
    assert (written["start"], written["end"]) == ("2024-03-01", "2024-09-01")
    outcomes = pq.read_table(tmp_path / "outcomes.parquet").column("first_bad_date")
    assert written["bad"] == summary.bad == len(outcomes) - outcomes.null_count
    events = pq.read_table(tmp_path / "events")
    assert events.num_rows == summary.events
    assert pq.read_table(tmp_path / "consumers.parquet").num_rows == 80
    assert pq.read_table(tmp_path / "outcomes.parquet").num_rows == 80
    assert pq.read_table(tmp_path / "consents.parquet").num_rows == summary.consents
    first = events.column("occurred_at").to_numpy().min()
    assert first >= np.datetime64("2013-03-01")  # accounts opened at most 11 years before the start
    assert summary.events_by_type and sum(summary.events_by_type.values()) == summary.events


def test_empty_population_writes_empty_tables(tmp_path):
    summary = simulate_to_directory(SimulationConfig(consumers=0, months=3, seed=1), tmp_path)
    assert summary.events == 0
    assert pq.read_table(tmp_path / "consumers.parquet").num_rows == 0


def test_times_are_whole_seconds(medium):
    for name in ("occurred_at", "received_at", "due_back_at", "returned_at"):
        values = medium.events.column(name).drop_null().cast(pa.int64()).to_numpy()
        assert (values % 1_000_000 == 0).all(), name
