"""Bucket plans: ranges between non-overlapping row groups, hash parts otherwise; always a partition."""

from __future__ import annotations

import duckdb

from credo.scale.buckets import Bucket, plan


def owner(buckets: list[Bucket], consumer: str) -> list[int]:
    """Indexes of the buckets whose predicate selects ``consumer`` (exactly one, for a partition)."""
    con = duckdb.connect()
    return [i for i, b in enumerate(buckets)
            if con.sql(f"SELECT {b.where('c')} FROM (SELECT '{consumer}' AS c)").fetchall()[0][0]]


def test_clustered_row_groups_become_ranges_cut_between_them():
    stats = [("c-10", "c-19", 40), ("c-00", "c-09", 50), ("c-00", "c-09", 50), ("c-20", "c-29", 60)]
    buckets = plan(stats, rows_per_bucket=100)
    assert [(b.low, b.high, b.parts, b.rows) for b in buckets] == [
        (None, "c-10", 1, 100), ("c-10", None, 1, 100)]  # the last two blocks fit one bucket
    for consumer, expected in (("c-05", 0), ("c-10", 1), ("c-195", 1), ("c-20", 1), ("a", 0), ("z", 1)):
        assert owner(buckets, consumer) == [expected]


def test_overlapping_or_unknown_ranges_are_split_by_hash():
    for stats in ([("c-00", "c-50", 90), ("c-10", "c-99", 90)], [(None, None, 90), (None, None, 90)]):
        buckets = plan(stats, rows_per_bucket=50)
        assert len(buckets) == 4 and {b.parts for b in buckets} == {4}
        assert sum(b.rows for b in buckets) == 180
        for consumer in ("c-01", "c-42", "c-77", "x"):
            assert len(owner(buckets, consumer)) == 1


def test_no_row_groups_is_one_bucket_of_everything():
    assert plan([], rows_per_bucket=10) == [Bucket(None, None, 1, 0, 0)]
    assert Bucket(None, None).where() == "TRUE"
