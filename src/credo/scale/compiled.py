"""A bucket's features in one compiled pass: DuckDB resolves the events, numba does the rest.

The SQL feature query spends most of a bucket's time in its enrichment windows (each sorts its own
branch of event types) and in ~100 filtered aggregates (``docs/benchmarks.md``, "Where a bucket's
CPU goes"). Here DuckDB only scans the bucket once (:func:`scan_sql`: value columns, keys as hashes)
and runs the point-in-time resolution — the same query shape's
:attr:`~credo.features.builder.QueryShape.resolved_ctes` — on the few events a correction or
retraction touches (:func:`resolved_sql`), and hands both over as Arrow (:func:`fetch_bucket`). Then,
without sorting the events (:func:`bucket_features`):

* strings become codes of a sorted dictionary (:func:`sorted_codes`), consumers their position in
  the bucket's population (sorted by id, as the SQL's ``ORDER BY``; :func:`consumer_positions`), and
  a touched event's own row goes to a discarded slot (its record as of D is among the resolved rows);
* the enrichment of :attr:`~credo.features.builder.QueryShape.enriched_cte` is computed per group
  with numba (:func:`enriched_columns`): a bill's issued due date and first paid date, an account's
  opening limit and product and whether it ended, and which record is the latest of its account,
  tradeline or type, ties broken by the same keys as the SQL's ``ORDER BY``;
* the aggregates and each feature's expression run in the kernel :mod:`credo.scale.codegen` writes
  from the feature definitions' SQL.

The result equals :meth:`FeatureQuery.sql() <credo.features.builder.FeatureQuery.sql>` on the same
views, column for column (``tests/scale/test_compiled.py``; the out-of-core parity tests run
through it). The generated module is written once per kernel text under the kernel directory, where
numba caches its machine code (:func:`kernel_module`).
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from credo.features.builder import (
    ACCOUNT_TYPES,
    BILL_TYPES,
    PARAMETERS,
    RESOLUTION_COLUMNS,
    UNREVISED,
    FeatureQuery,
)
from credo.features.events_table import payload_columns
from credo.model.kernel import compiled as native
from credo.scale.events import RAW, RAW_EXPONENT, quote
from credo.scale.codegen import SHARED_DICTIONARY, KernelSource
from credo.scale.money import minor_units

#: Where generated kernel modules (and numba's cache of them) live; a temporary directory when unset
#: and the user cache is not writable.
KERNEL_DIR_ENV = "CREDO_KERNEL_DIR"
#: Key columns read only to group, rank and find consumers, never handed to the kernel as values.
KEYS = frozenset({"consumer_id", "partner_id", "ref", "event_id"})
#: The columns :func:`enriched_columns` reads besides keys.
ENRICHMENT_INPUTS = ("type", "occurred_at", "received_at", "due_date", "paid_date", "limit_minor", "product")
ENRICHED = ("bill_due_date", "bill_paid_date", "account_limit_minor", "account_product", "account_ended",
            "recency_rank", "type_recency_rank")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: 64-bit hashes of the keys, computed by DuckDB instead of moving the strings: the consumer's (matched
#: exactly to the population's) and two of ``(partner_id, ref)``, the first grouping the enrichment's
#: windows (with the consumer's position), the second checking each group (:func:`group_ids`). DuckDB's
#: ``hash`` has structured collisions on ids that differ in a few digits (5 % of the simulator's 254 M
#: event ids), so the check hashes the reversed reference: its bytes fall in other words of the hash,
#: and of 60.8 M simulated ids none collided under both (an MD5 check cost 1.3-1.6 s per 5 M-event bucket).
KEY_HASHES = (("_consumer_hash", "hash(consumer_id)"),
              ("_ref_hash", "hash(partner_id, ref)"),
              ("_ref_check", "hash(reverse(ref), partner_id)"))
#: Event types whose latest record the enrichment ranks (``recency_rank``, ``type_recency_rank``).
RANKED_TYPES = (*ACCOUNT_TYPES, "bureau.tradeline", "income.verified")
#: Event types each payload column is defined for (NULL on any other event), and the money columns.
PAYLOAD_TYPES = {p.name: p.types for p in payload_columns()}
MONEY = frozenset(p.name for p in payload_columns() if p.kind == "money")
#: Columns of the events view that the compiled pass derives instead of reading: ``occurred_date`` is the
#: UTC date of ``occurred_at`` (:func:`utc_dates`), and DuckDB's time-zone-aware cast of every event was
#: the dearest expression of the scan.
DERIVED = ("occurred_date",)


# ---------------------------------------------------------------- the generated module


def kernel_dir() -> Path:
    configured = os.environ.get(KERNEL_DIR_ENV)
    candidates = [Path(configured)] if configured else []
    candidates.append(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "credo" / "kernels")
    for path in candidates:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return path
    return Path(tempfile.mkdtemp(prefix="credo-kernels-"))


@lru_cache(maxsize=8)
def kernel_module(features: tuple, criteria: object | None) -> tuple[KernelSource, ModuleType]:
    """The kernel source for these features and its module, imported from a file named by the text's
    digest (written once, so numba's on-disk cache of it stays valid across processes)."""
    source = KernelSource(features, criteria)
    path = kernel_dir() / f"credo_features_{source.digest}.py"
    if not path.exists() or path.read_text() != source.text:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(source.text)
        tmp.replace(path)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # numba's cache finds the module's helpers by its name
    spec.loader.exec_module(module)
    return source, module


# ---------------------------------------------------------------- columns as arrays


def sorted_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(codes, null mask, dictionary): each string's position in its sorted distinct values (byte
    order, as DuckDB compares VARCHAR), 0 where NULL."""
    encoded = pc.dictionary_encode(column)
    chunks = [c for c in encoded.chunks if len(c)]
    if not chunks:
        return np.zeros(len(column), np.int64), np.ones(len(column), np.bool_), []
    dictionary = chunks[0].dictionary  # one dictionary for every chunk of an encoded ChunkedArray
    order = pc.sort_indices(dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    indices = pa.chunked_array([c.indices for c in chunks])
    nulls = null_mask(indices)
    if not len(rank):  # every value NULL
        return np.zeros(len(column), np.int64), nulls, []
    codes = np.take(rank, _values(indices, np.int32), mode="clip")  # under a NULL: any index, then 0
    if indices.null_count:
        codes[nulls] = 0
    return codes, nulls, dictionary.take(pa.array(order)).to_pylist()


def _bits(buffer: pa.Buffer, offset: int, length: int) -> np.ndarray:
    """``length`` bits of an Arrow bitmap from bit ``offset``, one bool each."""
    bits = np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), count=offset + length, bitorder="little")
    return bits[offset:].view(np.bool_)


def null_mask(column: pa.ChunkedArray) -> np.ndarray:
    """True where the column is NULL, from the chunks' validity bitmaps (a column without NULLs reads
    nothing)."""
    out = np.zeros(len(column), dtype=np.bool_)
    if not column.null_count:
        return out
    at = 0
    for chunk in column.chunks:
        n = len(chunk)
        if chunk.null_count == n:
            out[at:at + n] = True
        elif chunk.null_count:
            np.logical_not(_bits(chunk.buffers()[0], chunk.offset, n), out=out[at:at + n])
        at += n
    return out


def _values(column: pa.ChunkedArray, dtype: type) -> np.ndarray:
    """The value buffers of a fixed-width column, chunks concatenated (what lies under a NULL is
    unspecified: the kernel reads the null mask first)."""
    parts: list[np.ndarray] = [np.frombuffer(c.buffers()[1], dtype=dtype)[c.offset:c.offset + len(c)] for c in column.chunks
             if len(c)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def numeric(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(values, null mask): timestamps in microseconds, dates in days, booleans as bool."""
    typ = column.type
    nulls = null_mask(column)
    if pa.types.is_boolean(typ):
        values = np.concatenate([_bits(c.buffers()[1], c.offset, len(c)) for c in column.chunks if len(c)]
                                or [np.zeros(0, np.bool_)])
        return values & ~nulls, nulls
    if pa.types.is_timestamp(typ):
        micros = column if typ == pa.timestamp("us", tz="UTC") else pc.cast(column, pa.timestamp("us", tz="UTC"))
        return _values(micros, np.int64), nulls
    if pa.types.is_date32(typ):
        return _values(column, np.int32), nulls
    if pa.types.is_int64(typ):
        return _values(column, np.int64), nulls
    if pa.types.is_float64(typ):
        return _values(column, np.float64), nulls
    raise TypeError(f"the kernel does not read a {typ} column")


def utc_dates(micros: np.ndarray, nulls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(days since 1970-01-01, null mask) of UTC instants in microseconds: the events' ``occurred_date``
    (:data:`DERIVED`)."""
    return np.floor_divide(micros, 86_400_000_000).astype(np.int32), nulls


def parameter_value(name: str, query: FeatureQuery) -> int:
    """A ``$parameter``'s literal as of the query's D, as the kernel's integer (µs, days or a number)."""
    literal = PARAMETERS.render(f"${name}", query.as_of)
    match = re.fullmatch(r"(TIMESTAMPTZ|DATE) '([^']+)'", literal)
    if match is None:
        return int(literal)
    if match.group(1) == "DATE":
        return (date.fromisoformat(match.group(2)) - EPOCH.date()).days
    delta = datetime.fromisoformat(match.group(2)) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@native
def dense_ids(rows, key, check, extra):  # pragma: no cover - compiled
    """Dense ids of the ``rows``' ``(key, extra)`` pairs in order of first appearance, how many there
    are, and whether two rows with one pair disagree on ``check`` (a hash collision: the caller then
    groups exactly instead). A slot of the open-addressing table holds only the position of its
    pair's first row (4 bytes: the table of a 5 M-event bucket stays in a few MB of cache lines)."""
    n = rows.shape[0]
    size = 1
    while size < 2 * n + 2:
        size *= 2
    mask = np.uint64(size - 1)
    first = np.full(size, -1, dtype=np.int32)
    ids = np.empty(n, dtype=np.int64)
    count = 0
    collided = False
    for i in range(n):
        r = rows[i]
        h = (key[r] ^ (np.uint64(extra[r]) * np.uint64(0x9E3779B97F4A7C15))) * np.uint64(0xBF58476D1CE4E5B9)
        s = (h >> np.uint64(17)) & mask
        while True:
            j = first[s]
            if j < 0:
                first[s] = i
                ids[i] = count
                count += 1
                break
            q = rows[j]
            if key[q] == key[r] and extra[q] == extra[r]:
                if check[q] != check[r]:
                    collided = True
                ids[i] = ids[j]
                break
            s = (s + np.uint64(1)) & mask
    return ids, count, collided


class NeedsSQL(Exception):
    """The compiled pass cannot give this bucket's features: the caller runs the bucket's SQL instead,
    which gives them or raises the error that explains why not."""


class HashCollision(NeedsSQL):
    """Two keys of a bucket share a 64-bit hash."""


class NotMinorUnits(NeedsSQL):
    """A money string is not canonical for its currency: the SQL's own check names it and its event."""


def group_ids(rows: np.ndarray, key: np.ndarray, check: np.ndarray, extra: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense group ids of ``rows`` keyed by a 64-bit hash of their key strings and ``extra`` (arrays
    over every row); a second, independent hash of the same strings (``check``) must agree within
    every group."""
    if len(rows) >= 2**31:
        raise ValueError("a bucket holds fewer than 2**31 events")
    ids, count, collided = dense_ids(rows, key, check, extra)
    if collided:
        raise HashCollision
    return ids, count


# ---------------------------------------------------------------- enrichment (numba)


@native
def _group_extreme(rows, gid, ngroups, take, values, nulls, largest):  # pragma: no cover - compiled
    """Per group of ``rows``: the largest (or smallest) non-NULL value among the rows ``take`` marks."""
    best = np.zeros(ngroups, dtype=values.dtype)
    has = np.zeros(ngroups, dtype=np.bool_)
    for i in range(rows.shape[0]):
        r = rows[i]
        if take[r] and not nulls[r]:
            g = gid[i]
            if not has[g] or (values[r] > best[g] if largest else values[r] < best[g]):
                best[g] = values[r]
                has[g] = True
    return best, has


@native
def _spread(n, rows, gid, best, has):  # pragma: no cover - compiled
    """(values, nulls) over all ``n`` rows: each of ``rows`` gets its group's value (NULL where the group
    has none), every other row NULL."""
    values = np.zeros(n, dtype=best.dtype)
    nulls = np.ones(n, dtype=np.bool_)
    for i in range(rows.shape[0]):
        g = gid[i]
        values[rows[i]] = best[g]
        nulls[rows[i]] = not has[g]
    return values, nulls


@native
def _latest(gid, ngroups, k1, k2, k3):  # pragma: no cover - compiled
    """Per row: is it the group's greatest (k1, k2, k3); per group: how many rows share that maximum."""
    b1 = np.zeros(ngroups, dtype=np.int64)
    b2 = np.zeros(ngroups, dtype=np.int64)
    b3 = np.zeros(ngroups, dtype=np.int64)
    count = np.zeros(ngroups, dtype=np.int64)
    for i in range(gid.shape[0]):
        g = gid[i]
        if count[g] == 0 or (k1[i], k2[i], k3[i]) > (b1[g], b2[g], b3[g]):
            b1[g], b2[g], b3[g] = k1[i], k2[i], k3[i]
            count[g] = 1
        elif (k1[i], k2[i], k3[i]) == (b1[g], b2[g], b3[g]):
            count[g] += 1
    top = np.zeros(gid.shape[0], dtype=np.bool_)
    for i in range(gid.shape[0]):
        g = gid[i]
        top[i] = k1[i] == b1[g] and k2[i] == b2[g] and k3[i] == b3[g]
    return top, count


def _latest_rows(gid: np.ndarray, ngroups: int, keys: tuple[np.ndarray, ...], event_ids: pa.ChunkedArray,
                 rows: np.ndarray) -> np.ndarray:
    """Row-number-1 flags of ``rows`` (ordered by ``keys`` descending, then ``event_id`` descending)."""
    while len(keys) < 3:
        keys = (*keys, np.zeros(len(gid), dtype=np.int64))
    top, count = _latest(gid, ngroups, *keys)
    tied = top & (count[gid] > 1)
    if tied.any():
        top &= ~tied
        positions = np.flatnonzero(tied)
        ids = event_ids.take(pa.array(rows[positions])).to_pylist()
        best: dict[int, tuple[str, int]] = {}
        for pos, eid in zip(positions.tolist(), ids):
            g = int(gid[pos])
            if g not in best or eid > best[g][0]:
                best[g] = (eid, pos)
        top[[pos for _, pos in best.values()]] = True
    return top


def enriched_columns(cols: dict[str, tuple[np.ndarray, np.ndarray]], types: dict[str, int], cons: np.ndarray,
                     live: np.ndarray, events: pa.Table, wanted: set[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The enrichment columns of :attr:`~credo.features.builder.QueryShape.enriched_cte` over the
    ``live`` rows (NULL elsewhere and outside their branches). ``types`` maps an event type to its code
    in ``cols["type"]``; ``events`` has the
    tie-breaking strings and the two hashes of ``(consumer_id, partner_id, ref)`` (:data:`KEY_HASHES`)."""
    n = len(cons)
    type_code = cols["type"][0]
    hashes = tuple(_values(events.column(h), np.uint64) for h in ("_ref_hash", "_ref_check"))

    def of(*names: str) -> np.ndarray:
        lut = np.zeros(len(types) + 1, dtype=np.bool_)
        lut[[types[t] for t in names if t in types]] = True
        return lut[type_code] & live

    def groups(rows: np.ndarray, extra: np.ndarray) -> tuple[np.ndarray, int]:
        return group_ids(rows, hashes[0], hashes[1], extra)

    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for branch, specs in (
        (BILL_TYPES, (("bill_due_date", "bill.issued", "due_date", False),
                      ("bill_paid_date", "bill.paid", "paid_date", False))),
        (ACCOUNT_TYPES, (("account_limit_minor", "credit.opened", "limit_minor", True),
                         ("account_product", "credit.opened", "product", True))),
    ):
        rows = np.flatnonzero(of(*branch))
        gid, ngroups = groups(rows, cons)
        for name, source_type, column, largest in specs:
            if name not in wanted:
                continue
            values, nulls = cols[column]
            best, has = _group_extreme(rows, gid, ngroups, of(source_type), values, nulls, largest)
            out[name] = _spread(n, rows, gid, best, has)
        if branch == ACCOUNT_TYPES and "account_ended" in wanted:
            ended = of("credit.closed", "credit.charged_off")
            best, has = _group_extreme(rows, gid, ngroups, ended, ended, ~ended, True)
            out["account_ended"] = _spread(n, rows, gid, has, np.ones(ngroups, np.bool_))
    occurred, received = cols["occurred_at"][0], cols["received_at"][0]
    event_ids = events.column("_tie_event_id")
    if "recency_rank" in wanted:
        rows = np.flatnonzero(of(*ACCOUNT_TYPES, "bureau.tradeline"))
        gid, ngroups = groups(rows, cons * (len(types) + 1) + type_code)
        top = _latest_rows(gid, ngroups, (occurred[rows], received[rows]), event_ids, rows)
        out["recency_rank"] = _spread(n, rows, np.arange(len(rows)), top, np.ones(len(rows), np.bool_))
    if "type_recency_rank" in wanted:
        rows = np.flatnonzero(of("income.verified"))
        zero = np.zeros(n, dtype=np.uint64)
        gid, ngroups = group_ids(rows, zero, zero, cons)
        partner = sorted_codes(events.column("_tie_partner_id").take(pa.array(rows)))[0]
        top = _latest_rows(gid, ngroups, (occurred[rows], received[rows], partner), event_ids, rows)
        out["type_recency_rank"] = _spread(n, rows, np.arange(len(rows)), top, np.ones(len(rows), np.bool_))
    return out


# ---------------------------------------------------------------- one bucket


#: An event some correction or retraction touches (the complement of ``UNREVISED``; NULL counts as not).
TOUCHED = f"coalesce(NOT ({UNREVISED}), FALSE)"


def _keys_sql() -> list[str]:
    ranked = ", ".join(quote(t) for t in RANKED_TYPES)
    return [f"{sql} AS {name}" for name, sql in KEY_HASHES] + [
        f"CASE WHEN type IN ({ranked}) THEN event_id END AS _tie_event_id",
        "CASE WHEN type = 'income.verified' THEN partner_id END AS _tie_partner_id",
    ]


def _carried(values: Sequence[str]) -> list[str]:
    """The columns the resolution reads that touched rows carry besides ``values`` (the derived ones
    are derived from them)."""
    return [c for c in RESOLUTION_COLUMNS if c not in values and c not in DERIVED]


def scan_sql(query: FeatureQuery, values: Sequence[str], raw: bool = False) -> str:
    """One pass over the ``events`` view as of D: the value columns, the keys as hashes
    (:data:`KEY_HASHES`) and, only on the rows the latest-record ranks order, the strings that break
    their ties. Untouched events (``UNREVISED``) are their own record and stream through when they
    occurred before D; touched ones (``_touched``) also carry the columns the resolution reads, for
    :func:`resolved_sql`. With ``raw``, payload columns come as the view also holds them
    (:func:`~credo.scale.events.raw_payload_select`: not masked by event type, money as strings, with
    the currencies' exponents), for :func:`value_arrays`."""
    d = query.as_of.at
    resolution = _carried(values)
    touched = [f"CASE WHEN {TOUCHED} THEN {c} END AS {c}" for c in resolution]
    payload = PAYLOAD_TYPES.keys() if raw else ()
    read = [f"{RAW}{c} AS {c}" if c in payload else c for c in values]
    if raw and any(c in MONEY for c in values):
        read.append(RAW_EXPONENT)
    select = ", ".join([*read, *_keys_sql(), *touched, f"{TOUCHED} AS _touched"])
    return (f"SELECT {select} FROM {query.events_table} WHERE received_at < {d} "
            f"AND (coalesce({UNREVISED}, FALSE) AND occurred_at < {d} OR {TOUCHED})")


def resolved_sql(query: FeatureQuery, values: Sequence[str], raw: bool = False) -> str:
    """The records as of D of the touched events in table ``touched_events`` (the query's own
    point-in-time resolution CTEs), with :func:`scan_sql`'s columns. The resolution's outcome for
    touched events depends only on touched events (retractions among them), so running it on them
    alone gives what it gives over the whole bucket. With ``raw`` money strings, each record's currency
    exponent comes back from its touched row (one per ``(partner_id, event_id)``)."""
    own = replace(query, events_table="touched_events")
    body = ",\n".join(f"{name} AS (\n  {sql}\n)" for name, sql in own.resolved_ctes())
    resolution = _carried(values)
    select = ", ".join([*values, *_keys_sql(), *resolution, "FALSE AS _touched"])
    if not (raw and any(c in MONEY for c in values)):
        return f"WITH {body}\nSELECT {select} FROM effective_events"
    return (f"WITH {body}\nSELECT e.*, t.{RAW_EXPONENT} FROM (SELECT {select} FROM effective_events) AS e "
            "LEFT JOIN touched_events AS t ON t.partner_id = e.partner_id AND t.event_id = e.event_id")


@native
def _positions(population_hashes, event_hashes):  # pragma: no cover - compiled
    """Each event hash's position among the population's (-1: absent), and whether two population
    hashes are equal."""
    size = 1
    while size < 2 * population_hashes.shape[0] + 2:
        size *= 2
    mask = np.uint64(size - 1)
    keys = np.zeros(size, dtype=np.uint64)
    slot = np.full(size, -1, dtype=np.int64)
    for k in range(population_hashes.shape[0]):
        h = population_hashes[k]
        s = (h * np.uint64(0xBF58476D1CE4E5B9) >> np.uint64(17)) & mask
        while slot[s] >= 0:
            if keys[s] == h:
                return np.empty(0, dtype=np.int64), True
            s = (s + np.uint64(1)) & mask
        keys[s] = h
        slot[s] = k
    out = np.empty(event_hashes.shape[0], dtype=np.int64)
    for i in range(event_hashes.shape[0]):
        h = event_hashes[i]
        s = (h * np.uint64(0xBF58476D1CE4E5B9) >> np.uint64(17)) & mask
        out[i] = -1
        while slot[s] >= 0:
            if keys[s] == h:
                out[i] = slot[s]
                break
            s = (s + np.uint64(1)) & mask
    return out, False


def consumer_positions(event_hashes: np.ndarray, population_hashes: np.ndarray) -> np.ndarray:
    """Each event's consumer as a position in the population, matched by a 64-bit hash of the id: exact
    when the population's hashes are distinct (every event's consumer is in the population)."""
    positions, repeated = _positions(population_hashes, event_hashes)
    if repeated:
        raise HashCollision
    if len(positions) and positions.min() < 0:
        raise ValueError("an effective event's consumer is not in the population")
    return positions


@dataclass(frozen=True)
class BucketEvents:
    """What DuckDB hands over for one bucket: its population (sorted, with id hashes) and the value
    columns and key hashes of its scanned and resolved events (:func:`scan_sql`, :func:`resolved_sql`)."""

    population: pa.Table
    events: pa.Table
    values: tuple[str, ...]
    raw: bool = False  # payload columns as read (:func:`scan_sql`), for :func:`value_arrays`


def fetch_bucket(con: duckdb.DuckDBPyConnection, query: FeatureQuery, raw: bool = False) -> BucketEvents:
    """The current ``events``/``population`` views' bucket, resolved as of the query's D (DuckDB's part):
    one scan of the bucket, then the resolution of its few touched events, appended. ``raw``: the view
    also has the payload columns as read (:attr:`~credo.scale.events.EventSource.raw_payload`), and the
    scan reads those."""
    source, _ = kernel_module(tuple(query.features), query.criteria)
    population = con.sql(f"SELECT consumer_id, hash(consumer_id) AS h FROM {query.population_table} "
                         "ORDER BY consumer_id").to_arrow_table()
    needed = (set(source.columns) | set(ENRICHMENT_INPUTS)) - KEYS - set(DERIVED)
    values = tuple(c for c in query.columns() if c in needed)
    scanned = con.sql(scan_sql(query, values, raw)).to_arrow_table()
    touched = scanned.filter(scanned.column("_touched"))
    touched = touched.append_column("occurred_date", pc.cast(touched.column("occurred_at"), pa.date32()))  # UTC
    con.register("touched_events", touched)
    try:
        resolved = con.sql(resolved_sql(query, values, raw)).to_arrow_table()
    finally:
        con.unregister("touched_events")
    return BucketEvents(population, pa.concat_tables([scanned, resolved.select(scanned.column_names).cast(scanned.schema)]), values, raw)


def features_table(con: duckdb.DuckDBPyConnection, query: FeatureQuery, raw: bool = False) -> pa.Table:
    """What ``con.sql(query.sql())`` returns over the current ``events`` and ``population`` views
    (``raw``: as :func:`fetch_bucket`)."""
    try:
        return bucket_features(fetch_bucket(con, query, raw), query)
    except NeedsSQL:
        return con.sql(query.sql()).to_arrow_table()


@native
def _null_outside(type_codes, defined, nulls):  # pragma: no cover - compiled
    """Mark NULL every row whose event type (a code) ``defined`` does not list."""
    for i in range(nulls.shape[0]):
        if not nulls[i] and not defined[type_codes[i]]:
            nulls[i] = True


def _is_string(column: pa.ChunkedArray) -> bool:
    return pa.types.is_string(column.type) or pa.types.is_large_string(column.type)


def value_arrays(events: pa.Table, values: Sequence[str], raw: bool
                 ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, list[str]]]:
    """Each value column as (values, null mask) — strings as codes of their sorted dictionary — and those
    dictionaries. ``raw`` payload columns (:func:`scan_sql`) become what the normalised view holds: NULL
    outside their event types, and money strings exact minor units (:func:`~credo.scale.money.minor_units`;
    :class:`NotMinorUnits` on one that is not canonical for its currency)."""
    dictionaries: dict[str, list[str]] = {}
    cols: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    type_codes, type_nulls, dictionaries["type"] = sorted_codes(events.column("type"))
    cols["type"] = (type_codes, type_nulls)
    type_index = {t: k for k, t in enumerate(dictionaries["type"])}
    narrow = type_codes.astype(np.min_scalar_type(len(type_index)))  # read once per payload column
    exponents = None
    if raw and RAW_EXPONENT in events.column_names:
        exponent_values, exponent_nulls = numeric(events.column(RAW_EXPONENT).cast(pa.int64()))
        exponents = np.where(exponent_nulls, -1, exponent_values)
    for name in values:
        if name == "type":
            continue
        column = events.column(name)
        if raw and name in MONEY and _is_string(column):
            nulls = null_mask(column)
        elif _is_string(column):
            codes, nulls, dictionaries[name] = sorted_codes(column)
        else:
            codes, nulls = numeric(column)
        if raw and name in PAYLOAD_TYPES:
            defined = np.zeros(len(type_index) + 1, dtype=np.bool_)
            defined[[type_index[t] for t in PAYLOAD_TYPES[name] if t in type_index]] = True
            _null_outside(narrow, defined, nulls)
        if raw and name in MONEY and _is_string(column):
            assert exponents is not None
            codes, bad = minor_units(column, exponents, nulls)
            if bad >= 0:
                raise NotMinorUnits(name)
        cols[name] = (codes, nulls)
    return cols, dictionaries


def bucket_features(bucket: BucketEvents, query: FeatureQuery) -> pa.Table:
    """The features of a fetched bucket (no DuckDB: runs beside the next bucket's fetch). Raises
    :class:`NeedsSQL` (two keys share a hash, or a money string is not canonical); the caller then runs
    the bucket's SQL."""
    source, module = kernel_module(tuple(query.features), query.criteria)
    population, events, values = bucket.population, bucket.events, bucket.values
    wanted = set(source.columns)
    n_pop = population.num_rows
    cons = consumer_positions(_values(events.column("_consumer_hash"), np.uint64),
                              population.column("h").to_numpy())
    # a touched event's own row stands for nothing (its record as of D is appended): an extra consumer
    # slot takes what the kernel adds up for those rows, and the enrichment leaves them out
    live = ~numeric(events.column("_touched"))[0]
    cons[~live] = n_pop

    cols, dictionaries = value_arrays(events, values, bucket.raw)
    if "occurred_date" in wanted:
        cols["occurred_date"] = utc_dates(*cols["occurred_at"])
    type_index = {t: k for k, t in enumerate(dictionaries["type"])}
    cols.update(enriched_columns(cols, type_index, cons, live, events, {c for c in ENRICHED if c in wanted}))
    for name, shared in SHARED_DICTIONARY.items():
        if name in wanted:
            dictionaries[name] = dictionaries[shared]

    def literal_code(column: str, value: str) -> int:
        return {v: k for k, v in enumerate(dictionaries[column])}.get(value, -1)

    slots = n_pop + 1
    seen = np.zeros(slots, dtype=np.bool_)
    accs: list[np.ndarray] = []
    for a in source.aggregates:
        accs.append(np.zeros(slots, dtype=np.float64 if a.kind == "float" and a.func in ("min", "max") else np.int64))
        if a.func in ("sum", "min", "max"):
            accs.append(np.zeros(slots, dtype=np.bool_))
        if a.func == "avg":
            accs.append(np.zeros(slots, dtype=np.int64))
    params = [parameter_value(name, query) for name in source.parameters]
    literals = [literal_code(col, value) for col, value in source.literals]
    col_args = [array for name in source.columns for array in cols[name]]
    module.accumulate(cons, *col_args, *params, *literals, seen, *accs)
    outs = [np.zeros(slots, dtype={"zero": np.int64, "null": np.float64}.get(empty, np.bool_))
            for _, _, empty in source.outputs]
    module.finalise(seen, *params, *accs, *outs)
    data: dict[str, pa.Array] = {"consumer_id": population.column("consumer_id").combine_chunks().cast(pa.string())}
    for (name, _, empty), slot_values in zip(source.outputs, outs):
        out = slot_values[:n_pop]
        data[name] = pa.array(out, type=pa.float64(), from_pandas=True) if empty == "null" else pa.array(out)
    return pa.table(data)


__all__ = ["BucketEvents", "ENRICHED", "HashCollision", "NeedsSQL", "NotMinorUnits", "bucket_features", "fetch_bucket", "KERNEL_DIR_ENV", "KEY_HASHES", "RANKED_TYPES", "consumer_positions", "dense_ids", "enriched_columns", "features_table",
           "group_ids", "kernel_dir", "kernel_module", "null_mask", "numeric", "parameter_value", "value_arrays", "utc_dates", "resolved_sql", "scan_sql", "sorted_codes"]
