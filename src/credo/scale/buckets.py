"""Consumer buckets planned from the Parquet footers, so a bucket reads only its row groups.

A bucket is a ``consumer_id`` range, optionally split further by a hash of ``consumer_id``. The
ranges always partition every possible id (the first is open below, the last open above, and
hash parts cover their range), so *which* buckets are planned never changes a result — only how
much each bucket reads and holds.

The plan reads each row group's ``consumer_id`` min/max statistics. Row groups whose ranges
overlap form one block; a range boundary is only put between blocks, where no row group
straddles it, so DuckDB prunes every row group of the other blocks from a bucket's scan. Input
clustered by consumer (``credo simulate`` writes whole consumers per file; so does an export
sorted by consumer) is therefore read about once in all. A block larger than ``rows_per_bucket``
(input not clustered by consumer: one block) is split into hash parts, each of which reads
the whole block: correct, bounded in memory, but read once per part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from credo.scale.events import quote


@dataclass(frozen=True)
class Bucket:
    low: str | None  # inclusive; None: unbounded
    high: str | None  # exclusive; None: unbounded
    parts: int = 1  # hash parts of the range
    part: int = 0
    rows: int = 0  # events planned (from the footers)

    def where(self, column: str = "consumer_id") -> str:
        """SQL predicate over the raw ``consumer_id`` selecting this bucket's consumers."""
        key = f"CAST({column} AS VARCHAR)"
        conds = []
        if self.low is not None:
            conds.append(f"{key} >= {quote(self.low)}")
        if self.high is not None:
            conds.append(f"{key} < {quote(self.high)}")
        if self.parts > 1:
            conds.append(f"hash({key}) % {self.parts} = {self.part}")
        return " AND ".join(conds) or "TRUE"


@dataclass(frozen=True)
class _Block:
    low: str | None
    rows: int


def _blocks(stats: Sequence[tuple[str | None, str | None, int]]) -> list[_Block]:
    """Runs of row groups with overlapping consumer ranges, in id order (one block when unknown)."""
    if not stats or any(lo is None or hi is None for lo, hi, _ in stats):
        return [_Block(None, sum(n for _, _, n in stats))]
    blocks: list[_Block] = []
    top: str | None = None
    for lo, hi, n in sorted(stats, key=lambda s: (s[0], s[1])):
        assert lo is not None and hi is not None
        if top is not None and lo > top:
            blocks.append(_Block(lo, n))
        elif blocks:
            blocks[-1] = _Block(blocks[-1].low, blocks[-1].rows + n)
        else:
            blocks.append(_Block(None, n))
        top = hi if top is None or hi > top else top
    return blocks


def plan(stats: Sequence[tuple[str | None, str | None, int]], rows_per_bucket: int) -> list[Bucket]:
    """Buckets of about ``rows_per_bucket`` events from row-group ``(min, max, rows)`` statistics."""
    limit = max(1, rows_per_bucket)
    blocks = _blocks(stats)
    groups: list[list[_Block]] = []
    for block in blocks:
        if groups and sum(b.rows for b in groups[-1]) + block.rows <= limit:
            groups[-1].append(block)
        else:
            groups.append([block])
    buckets: list[Bucket] = []
    for i, group in enumerate(groups):
        low = group[0].low if i else None
        high = groups[i + 1][0].low if i + 1 < len(groups) else None
        rows = sum(b.rows for b in group)
        parts = max(1, -(-rows // limit))
        buckets += [Bucket(low, high, parts, p, rows // parts + (1 if p < rows % parts else 0))
                    for p in range(parts)]
    return buckets


def row_group_stats(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> list[tuple[str | None, str | None, int]]:
    """``(min, max, rows)`` of ``consumer_id`` per row group (min/max None when not recorded)."""
    paths = ", ".join(quote(str(f)) for f in files)
    return [(lo, hi, int(n)) for lo, hi, n in con.sql(
        f"SELECT stats_min_value, stats_max_value, row_group_num_rows FROM parquet_metadata([{paths}]) "
        "WHERE path_in_schema = 'consumer_id'").fetchall()]


@dataclass(frozen=True)
class Shard:
    """The consumers one build covers: ``consumer_id`` from ``low`` (inclusive) to ``high`` (exclusive),
    None for no bound. Builds of shards that partition the ids, each on its own machine, together give
    exactly the features of one build of everyone (docs/deployment-spark.md, "Sizing")."""

    low: str | None = None
    high: str | None = None

    def __post_init__(self) -> None:
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError(f"consumer range: {self.low!r} is not before {self.high!r}")

    @property
    def everyone(self) -> bool:
        return self.low is None and self.high is None

    def where(self) -> str:
        """SQL predicate over the raw ``consumer_id``."""
        return Bucket(self.low, self.high).where()

    def overlaps(self, lo: str | None, hi: str | None) -> bool:
        """Whether ids between ``lo`` and ``hi`` (inclusive; None: unknown) can be in the shard."""
        return ((lo is None or self.high is None or lo < self.high)
                and (hi is None or self.low is None or hi >= self.low))


#: The shard of a build that covers every consumer.
EVERYONE = Shard()


def plan_files(con: duckdb.DuckDBPyConnection, files: Sequence[Path], rows_per_bucket: int,
               consumer_type: str, shard: Shard | None = None) -> list[Bucket]:
    """Buckets for raw event files, over the row groups that can hold the shard's consumers (default:
    everyone); ranges only when ``consumer_id`` is stored as text (its statistics then order as the
    SQL comparison does)."""
    stats = row_group_stats(con, files)
    if consumer_type != "VARCHAR":
        stats = [(None, None, n) for _, _, n in stats]
    if shard is not None:
        stats = [s for s in stats if shard.overlaps(s[0], s[1])]
    return plan(stats, rows_per_bucket)


__all__ = ["Bucket", "EVERYONE", "Shard", "plan", "plan_files", "row_group_stats"]
