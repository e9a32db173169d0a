"""Training snapshots and bad labels on Spark (local mode) equal the DuckDB path exactly.

The label SQL is one text (:mod:`credo.features.labels`): DuckDB runs it as written, Spark its sqlglot
transpile. Compared here: first bad dates (every published source, with corrections, retractions and
late-reported payments, and a replayed raw file), and the whole training frame (features, labels,
bad dates, out-of-time split; every column and dtype) over three observation dates.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pandas.testing as pdt
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from credo.features import training as duck
from credo.scale import spark as credo_spark
from credo.scale import spark_training
from tests.features.helpers import ev, table
from tests.features.test_training import CASES, DUE, KNOWN
from tests.scale.simulated import replayed_population
from tests.scale.test_spark_parity import spark  # noqa: F401  (the module-scoped local session)

DATES = [date(2023, 6, 1), date(2023, 10, 1), date(2024, 1, 1)]
BEYOND = date(2024, 6, 1)  # its 12-month horizon ends after the data (2025-01-01): dropped by both


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Simulated events: normalised in memory (DuckDB), and the raw files with a replayed one normalised by
    the out-of-core SQL (Parquet for Spark)."""
    root = tmp_path_factory.mktemp("spark_training")
    events = replayed_population(root, 200)
    raw = credo_spark.normalise_events(root / "sim", root / "raw.parquet")
    # the replayed file's copies are left out by the normaliser: one row per event, as in memory
    normalised = pq.read_table(raw)
    assert normalised.schema.names == events.schema.names
    assert normalised.num_rows == events.num_rows
    assert sum(pq.ParquetFile(f).metadata.num_rows for f in (root / "sim" / "events").glob("*.parquet")) > events.num_rows
    # the resolution has something to resolve: retractions and corrections are among the events
    assert pc.sum(pc.equal(events.column("type"), "event.retraction")).as_py() > 10
    assert pc.sum(events.column("revised")).as_py() > 50
    return {"root": root, "events": events, "raw": raw}


def _equal_series(got: pd.Series, expected: pd.Series) -> None:
    pdt.assert_series_equal(got, expected, check_exact=True)
    assert got.index.dtype == expected.index.dtype


def test_first_bad_dates_equal_duckdb_on_the_raw_files(spark, world):  # noqa: F811
    """From the raw files (a replayed one) normalised out of core, every source, default known-at."""
    got = spark_training.first_bad_dates(spark, world["raw"])
    expected = duck.first_bad_dates(world["events"])
    _equal_series(got, expected)
    assert len(expected) > 20 and len(set(expected)) > 10


def _hand_made() -> tuple[list[dict], dict[str, date]]:
    """Every published-definition case (one consumer each) and the resolution cases; expected first bad dates."""
    records, expected = [], {}
    for i, (_, records_of_case, bad) in enumerate(CASES.values()):
        consumer = f"case-{i:02d}"
        records += [{**r, "consumer_id": consumer, "event_id": f"{consumer}-{r['event_id']}"} for r in records_of_case]
        if bad is not None:
            expected[consumer] = bad
    at = lambda day: datetime(day.year, day.month, day.day, 9, tzinfo=timezone.utc)  # noqa: E731
    fee = dict(rental_ref="r-1", due_date=DUE.isoformat())
    paid = (DUE + timedelta(days=20)).isoformat()
    records += [
        # a bill paid 20 days late, the payment received 150 days after the due date: good, with hindsight
        ev("bill.issued", "late-i", at(DUE - timedelta(days=15)), consumer="late", bill_ref="b-1",
           due_date=DUE.isoformat()),
        ev("bill.paid", "late-p", at(DUE + timedelta(days=20)), at(DUE + timedelta(days=150)), consumer="late",
           bill_ref="b-1", paid_date=paid),
        # a fee's payment retracted: bad
        ev("rental.fee_unpaid", "rp-f", at(DUE + timedelta(days=1)), consumer="retracted-pay", **fee),
        ev("rental.fee_paid", "rp-p", at(DUE + timedelta(days=20)), consumer="retracted-pay", rental_ref="r-1",
           paid_date=paid),
        ev("event.retraction", "rp-x", at(DUE + timedelta(days=40)), consumer="retracted-pay",
           retracts_event_id="rp-p", reason="reported_in_error"),
        # the unpaid fee itself retracted: not bad
        ev("rental.fee_unpaid", "rf-f", at(DUE + timedelta(days=1)), consumer="retracted-fee", **fee),
        ev("event.retraction", "rf-x", at(DUE + timedelta(days=20)), consumer="retracted-fee",
           retracts_event_id="rf-f", reason="dispute_resolved"),
        # an instalment reported unpaid, corrected to paid 3 days late: not bad
        ev("order.payment", "cx-1", at(DUE + timedelta(days=30)), consumer="corrected", order_ref="o-1",
           instalment=2, due_date=DUE.isoformat()),
        ev("order.payment", "cx-2", at(DUE + timedelta(days=40)), consumer="corrected", order_ref="o-1",
           instalment=2, due_date=DUE.isoformat(), paid_date=(DUE + timedelta(days=3)).isoformat(),
           corrects_event_id="cx-1"),
    ]
    expected["retracted-pay"] = DUE + timedelta(days=90)
    return records, expected


def test_first_bad_dates_equal_duckdb_case_by_case(spark, tmp_path):  # noqa: F811
    """Each source's rule, corrections, retractions, late reports; then a subset of sources known earlier."""
    records, expected = _hand_made()
    events = table(records)
    pq.write_table(events, tmp_path / "cases.parquet")
    path = tmp_path / "cases.parquet"
    got = spark_training.first_bad_dates(spark, path, known_at=KNOWN)
    _equal_series(got, duck.first_bad_dates(events, known_at=KNOWN))
    assert got.to_dict() == dict(sorted(expected.items()))
    early = datetime(2024, 5, 1, tzinfo=timezone.utc)  # before every due + 90 is known, some payments too
    sources = ("bill", "rental_fee", "order_instalment")
    got = spark_training.first_bad_dates(spark, path, known_at=early, sources=sources)
    _equal_series(got, duck.first_bad_dates(events, known_at=early, sources=sources))
    assert 0 < len(got) < len(expected)


def test_training_frame_equals_duckdb(spark, world):  # noqa: F811
    with pytest.warns(UserWarning, match="2024-06-01 dropped"):
        snapshots = spark_training.training_snapshots(spark, world["root"] / "events.parquet", [*DATES, BEYOND])
    with pytest.warns(UserWarning, match="2024-06-01 dropped"):
        expected = duck.training_frame(world["events"], [*DATES, BEYOND])
    declared = spark.createDataFrame([], spark_training.TRAINING_SCHEMA).schema
    assert [(f.name, f.dataType) for f in snapshots.schema] == [(f.name, f.dataType) for f in declared]
    got = spark_training.to_training_frame(snapshots)
    pdt.assert_frame_equal(got, expected, check_exact=True)  # every column, value, dtype and the row order
    assert list(got.columns) == list(duck.TRAINING_COLUMNS)
    # the compared frame is not trivial: every date, both labels, bad dates, both samples, NULL measures
    assert sorted(set(expected["observation_date"])) == DATES
    assert 0 < expected["label"].sum() < len(expected) and expected["bad_date"].notna().sum() > 0
    assert set(expected["sample"]) == {"train", "validation"}
    assert expected["months_since_last_delinquency"].isna().any()
    # consumers turned bad between the dates are left out of the later snapshots
    first = set(expected.loc[(expected["observation_date"] == DATES[0]) & (expected["label"] == 1), "consumer_id"])
    last = set(expected.loc[expected["observation_date"] == DATES[-1], "consumer_id"])
    assert first - last


def test_no_date_left_gives_the_duckdb_empty_frame(spark, world):  # noqa: F811
    with pytest.warns(UserWarning, match="dropped"):
        got = spark_training.training_frame(spark, world["root"] / "events.parquet", [BEYOND])
    with pytest.warns(UserWarning, match="dropped"):
        expected = duck.training_frame(world["events"], [BEYOND])
    pdt.assert_frame_equal(got, expected)
    assert got.empty and list(got.columns) == list(duck.TRAINING_COLUMNS)
    with pytest.raises(ValueError, match="unknown bad-event source"):
        spark_training.first_bad_dates(spark, world["raw"], sources=("bills",))
