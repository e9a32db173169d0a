"""The out-of-core feature build equals the in-memory path exactly (every column, every NULL)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import duckdb
import pytest

from credo.features.builder import feature_query
from credo.features.compute import compute_features, to_frame
from credo.features.events_table import events_from_directory
from credo.scale.events import (
    HASH_BYTES_PER_PASS,
    SEQ,
    event_files,
    null_counts,
    prepare,
    raw_columns,
    replayed_copies,
)
from credo.scale.features import build_features
from credo.simulate import SimulationConfig, simulate_to_directory
from tests.features.helpers import D, at, base_history, ev


AS_OF_SHARDS = date(2024, 12, 1)


def out_of_core(directory: Path, as_of, tmp_path: Path, **kwargs) -> pd.DataFrame:
    tmp_path.mkdir(parents=True, exist_ok=True)
    out = tmp_path / "features.parquet"
    build_features(directory, as_of, out, **kwargs)
    frame = to_frame(pq.read_table(out), feature_query(as_of, retention_months=kwargs.get("retention_months")))
    return frame.sort_index()


def in_memory(directory: Path, as_of, **kwargs) -> pd.DataFrame:
    return compute_features(events_from_directory(directory), as_of, **kwargs)


@pytest.fixture(scope="module")
def population(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("sim")
    simulate_to_directory(SimulationConfig(consumers=900, months=24, seed=13, chunk_size=300), directory)
    return directory


def test_population_has_what_the_parity_needs(population):
    types = pc.value_counts(pa.concat_tables(
        pq.read_table(f, columns=["type", "corrects_event_id"]) for f in sorted((population / "events").glob("*"))
    ).column("type")).to_pylist()
    counts = {c["values"]: c["counts"] for c in types}
    assert len(list((population / "events").glob("part-*.parquet"))) == 3
    assert counts.get("event.retraction", 0) > 0
    corrections = pq.read_table(population / "events", columns=["corrects_event_id"]).column(0)
    assert corrections.null_count < len(corrections)


@pytest.mark.parametrize("as_of", [date(2024, 7, 15), date(2025, 1, 1)])
def test_simulated_population_matches_in_memory(population, tmp_path, as_of):
    # several buckets and write groups, so buckets and month pruning are exercised
    got = out_of_core(population, as_of, tmp_path, rows_per_bucket=60_000)
    want = in_memory(population, as_of)
    assert len(got) == 900
    assert got["is_scorable"].any() and not got["is_scorable"].all()
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_retention_matches_in_memory(population, tmp_path):
    got = out_of_core(population, date(2025, 1, 1), tmp_path, retention_months=6)
    want = in_memory(population, date(2025, 1, 1), retention_months=6)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    longer = in_memory(population, date(2025, 1, 1), retention_months=60)
    assert not longer.equals(want)  # the retention cut really changes features here


def write_parts(directory: Path, parts: list[list[dict]]) -> Path:
    (directory / "events").mkdir(parents=True)
    for i, records in enumerate(parts):
        keys = list(dict.fromkeys(k for r in records for k in r))  # every field of the part, not the first row's
        table = pa.table({k: [r.get(k) for r in records] for k in keys})
        pq.write_table(table, directory / "events" / f"part-{i:05d}.parquet")
    return directory


def status(event_id: str, consumer: str, days: int, dpd: int, received, corrects: str) -> dict:
    return ev("credit.status", event_id, at(days), received, consumer=consumer, account_ref="a-1",
              corrects_event_id=corrects, as_of_date=at(days).date().isoformat(), days_past_due=dpd)


def test_corrections_and_retractions_across_part_files(tmp_path):
    c1, c2 = base_history("c-1"), base_history("c-2")
    parts = [
        c1 + c2[:5],
        [  # targets in part 0 and part 2, a replayed row, a correction received after D, a future consumer
            status("fix-1", "c-1", 30, 30, at(2), "c-1-ss1"),
            ev("event.retraction", "ret-1", at(1), consumer="c-1", retracts_event_id="c-1-id",
               reason="reported_in_error"),
            ev("event.retraction", "ret-2", at(1), consumer="c-2", retracts_event_id="c2-fix",
               reason="reported_in_error"),
            dict(c2[6], balance="4321.00"),  # replayed (again in part 2): the first read wins on a tie
            status("fix-late", "c-1", 60, 90, D + timedelta(days=3), "c-1-ss2"),
            ev("bill.issued", "future", D + timedelta(days=40), consumer="c-3", bill_ref="b-9",
               due_date=(D + timedelta(days=50)).date().isoformat()),
        ],
        c2[5:] + [  # a correction of a correction (the chain's root is in part 0), a retracted correction
            status("fix-2", "c-1", 30, 60, at(1), "fix-1"),
            status("c2-fix", "c-2", 30, 95, at(3), "c-2-ss1"),
        ],
    ]
    directory = write_parts(tmp_path / "hand", parts)
    for as_of in (D, D + timedelta(days=60)):
        got = out_of_core(directory, as_of, tmp_path, rows_per_bucket=10)
        want = in_memory(directory, as_of)
        assert sorted(got.index) == ["c-1", "c-2", "c-3"]
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    got = out_of_core(directory, D, tmp_path)
    plain = in_memory(write_parts(tmp_path / "plain", [c1 + c2]), D)
    assert got.loc["c-1", "worst_days_past_due_3m"] == 60  # the head of the chain, across files
    assert plain.loc["c-1", "identity_level"] > 0 and got.loc["c-1", "identity_level"] == 0  # retracted
    assert got.loc["c-2", "worst_days_past_due_3m"] == plain.loc["c-2", "worst_days_past_due_3m"] == 0


def test_revisions_filed_under_another_consumer_match_in_memory(tmp_path):
    # each bucket joins only the revisions that matter for its consumers (scale.events.revisions): rows that
    # target another consumer's events, and a chain that crosses consumers, must still resolve as in memory
    c2 = base_history("c-2")
    c1 = [dict(r, days_past_due=120) if r["event_id"] == "c-1-ss2" else r for r in base_history("c-1")]
    parts = [
        c1,
        c2 + [
            status("x-fix", "c-2", 30, 45, at(2), "c-1-ss1"),  # c-2's correction of c-1's status
            ev("event.retraction", "x-ret", at(1), consumer="c-2", retracts_event_id="c-1-id",
               reason="reported_in_error"),  # c-2's retraction of c-1's identity
            status("c2-fix", "c-2", 60, 100, at(3), "c-1-ss2"),  # corrected again by c-1 below
        ],
        [status("c1-fix", "c-1", 60, 0, at(1), "c2-fix")],  # roots c-1's chain at c-1-ss2, through c-2's row
    ]
    directory = write_parts(tmp_path / "crossed", parts)
    want = in_memory(directory, D)
    plain = in_memory(write_parts(tmp_path / "plain", [base_history("c-1"), c2]), D)
    assert want.loc["c-1", "identity_level"] == plain.loc["c-1", "identity_level"] > 0  # not c-2's to retract
    assert want.loc["c-1", "worst_days_past_due_3m"] == 0  # the chain's head, not the original's 120
    for rows_per_bucket in (10, 8_000_000):  # a bucket per consumer, and one for all
        got = out_of_core(directory, D, tmp_path / str(rows_per_bucket), rows_per_bucket=rows_per_bucket)
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def replays(tmp_path: Path) -> Path:
    """c-1 and c-2 in part 0; part 1 replays c-2's event under c-2 and c-2's and c-1's under other consumers
    (received later, so the originals win); part 2 holds c-0's copy of c-1's event, received first."""
    c1, c2 = base_history("c-1"), base_history("c-2")
    first = at(500)  # before every original was received
    return write_parts(tmp_path / "replayed", [
        c1 + c2,
        [dict(c2[3]), dict(c2[4], consumer_id="c-9"), dict(c1[5], consumer_id="c-9")],
        [dict(c1[7], consumer_id="c-0", received_at=first.isoformat())],
    ])


def test_replayed_copies_are_found_across_files_and_consumers(tmp_path):
    directory = replays(tmp_path)
    c1, c2 = len(base_history("c-1")), len(base_history("c-2"))
    for bytes_per_pass in (HASH_BYTES_PER_PASS, 16):  # one pass, and one per two events
        with duckdb.connect() as con:
            files = event_files(directory)
            found = replayed_copies(con, files, raw_columns(con, files), c1 + c2 + 4, bytes_per_pass)
        # the three later copies in part 1, and c-1's own row 7 (c-0's copy in part 2 was received first)
        assert sorted(found.column(SEQ).to_pylist()) == [7, (1 << 40) | 0, (1 << 40) | 1, (1 << 40) | 2]
    clean = write_parts(tmp_path / "clean", [base_history("c-1"), base_history("c-2")])
    with duckdb.connect() as con:
        source = prepare(con, event_files(clean))
    assert source.replayed == 0


def test_a_replay_under_another_consumer_matches_in_memory(tmp_path):
    directory = replays(tmp_path)
    want = in_memory(directory, D)
    assert sorted(want.index) == ["c-0", "c-1", "c-2"]  # c-9's rows are all replays
    for rows_per_bucket in (10, 8_000_000):  # a bucket per consumer, and one for all
        got = out_of_core(directory, D, tmp_path / str(rows_per_bucket), rows_per_bucket=rows_per_bucket)
        pd.testing.assert_frame_equal(got, want, check_exact=True)


@pytest.mark.parametrize("statistics", [True, False])
def test_a_null_or_missing_required_column_is_refused_from_footers_or_a_scan(tmp_path, statistics):
    c1, c2 = base_history("c-1"), base_history("c-2")
    directory = write_parts(tmp_path, [c1, c2])
    part = directory / "events" / "part-00001.parquet"
    table = pq.read_table(part)
    partner = table.column("partner_id").to_pylist()
    partner[3] = None
    table = table.set_column(table.schema.get_field_index("partner_id"), "partner_id", pa.array(partner, pa.string()))
    pq.write_table(table, part, write_statistics=statistics)
    with duckdb.connect() as con:
        files = event_files(directory)
        assert null_counts(con, files, ["partner_id", "event_id"]) == {"partner_id": 1, "event_id": 0}
        with pytest.raises(ValueError, match="column 'partner_id' has nulls \\(1 rows\\)"):
            prepare(con, files)
        pq.write_table(table.drop_columns(["partner_id"]), part, write_statistics=statistics)  # a part without it
        assert null_counts(con, files, ["partner_id"]) == {"partner_id": len(c2)}


def test_non_canonical_money_is_refused_not_converted(tmp_path):
    records = base_history("c-1")
    records[2]["balance"] = "1000.5"  # the in-memory path would read 100050 minor units
    directory = write_parts(tmp_path / "loose", [records])
    with pytest.raises(Exception, match=r"balance 1000\.5 in CNY is not a canonical decimal string"):
        build_features(directory, D, tmp_path / "f.parquet")
    assert not (tmp_path / "f.parquet").exists()
    assert not list(tmp_path.glob("credo-features-*"))  # the scratch dataset is removed


def test_money_without_a_currency_column_is_refused(tmp_path):
    records = [{k: v for k, v in r.items() if k != "currency"} for r in base_history("c-1")]
    directory = write_parts(tmp_path / "nocurrency", [records])
    with pytest.raises(Exception, match=r"[0-9.]+ in no currency is not a canonical decimal string"):
        build_features(directory, D, tmp_path / "f.parquet")


def test_consumer_range_shards_together_equal_one_build(population, tmp_path):
    """Builds of id ranges that partition the consumers (one machine each) give exactly one build's rows."""
    from credo.scale.buckets import Shard

    whole = out_of_core(population, AS_OF_SHARDS, tmp_path / "whole")
    ids = sorted(whole.index)
    cuts = [ids[len(ids) // 3], ids[2 * len(ids) // 3] + "-between"]  # one an id, one between two ids
    shards = [Shard(None, cuts[0]), Shard(cuts[0], cuts[1]), Shard(cuts[1], None)]
    parts = [out_of_core(population, AS_OF_SHARDS, tmp_path / f"s{i}", shard=s, rows_per_bucket=60_000)
             for i, s in enumerate(shards)]
    assert all(len(p) > 0 for p in parts)
    for part, shard in zip(parts, shards):
        assert all((shard.low is None or c >= shard.low) and (shard.high is None or c < shard.high) for c in part.index)
    pd.testing.assert_frame_equal(pd.concat(parts).sort_index(), whole, check_exact=True)
    with pytest.raises(ValueError, match="is not before"):
        Shard(cuts[1], cuts[0])


def test_sessions_are_utc_and_leave_progress_to_the_cli():
    """DuckDB's own progress bar would print to stdout beside the CLI's (seen while normalising for Spark).
    Checked in a fresh interpreter: DuckDB turns its bar off by itself under pytest."""
    code = ("from credo.scale.features import session\n"
            "with session() as con:\n"
            "    print(con.sql(\"SELECT current_setting('TimeZone'), current_setting('enable_progress_bar')\").fetchall())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[('UTC', False)]"


def test_payload_fields_on_event_types_without_them_are_ignored(tmp_path):
    """A raw field set on an event type that does not define it is NULL there, as in the normalised
    table: not counted, and a money string there is not checked (the compiled scan reads the fields
    unmasked and masks them itself)."""
    def noisy(money: str) -> list[dict]:
        records = base_history("c-1") + base_history("c-2")
        for record in records:
            if record["consumer_id"] == "c-1" and record["type"] == "credit.status":
                record.update(amount=money, limit="99999999.00", product="mortgage", currency="CNY")
            if record["consumer_id"] == "c-1" and record["type"] == "credit.statement":
                record.update(days_past_due=120, level="document", amount=money)
        return records

    plain = out_of_core(write_parts(tmp_path / "plain", [base_history("c-1") + base_history("c-2")]), D,
                        tmp_path / "plain-out")
    valid = write_parts(tmp_path / "valid", [noisy("700.00")])
    got = out_of_core(valid, D, tmp_path / "valid-out")
    pd.testing.assert_frame_equal(got, in_memory(valid, D), check_exact=True)
    pd.testing.assert_frame_equal(got, plain, check_exact=True)
    garbage = out_of_core(write_parts(tmp_path / "garbage", [noisy("not money")]), D, tmp_path / "garbage-out")
    pd.testing.assert_frame_equal(garbage, plain, check_exact=True)
