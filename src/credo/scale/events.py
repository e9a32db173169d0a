"""Raw event Parquet → normalised events, in DuckDB SQL (no Python table of every event).

:meth:`EventSource.normalised` does what :func:`credo.features.events_table.normalise` does to
an Arrow table, as SQL over ``read_parquet(...)``: envelope columns, the partner reference
(``ref_kind``/``ref``), the UTC ``occurred_date``, typed payload fields kept only for the event
types whose data category is scorable, and money as exact ``int64`` minor units. It is a query,
not a copy: each consumer bucket reads the raw files with its filter pushed into the Parquet
scan, and DuckDB prunes every column the feature query does not read.

Money must be a *canonical* decimal string for its currency (``"12.30"`` for a two-digit
currency: digits, a point, exactly the currency's exponent of digits). The in-memory path
converts anything :class:`~decimal.Decimal` parses; here any other spelling stops the build
with an error naming the value, so the two paths never silently differ.

``root_event_id`` and ``revised`` depend on correction chains that may cross files. Only
corrections and retractions carry a target, and they are few: :func:`revisions` reads just
those rows, deduplicates them and derives their keys with the in-memory code
(:func:`~credo.features.events_table.derive_keys`); every other event joins that small table
on ``(partner_id, event_id)``. Each row also carries ``_seq`` (file index, row number): the read
order that deduplication by ``(partner_id, event_id)`` — first received wins, as
:func:`~credo.features.events_table.dedupe` — breaks ties with.

A replayed ``(partner_id, event_id)`` may sit in any file and under any consumer id, so the copies
to drop are found once for all the files (:func:`replayed_copies`), not per consumer bucket: a
bucket alone cannot see that its row repeats another consumer's earlier one, and the in-memory
path keeps only the first received across the whole population.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from credo.events.types import currency_exponent
from credo.features.events_table import (
    ENVELOPE_COLUMNS,
    EVENTS_SCHEMA,
    RETRACTION,
    PayloadColumn,
    dedupe,
    derive_keys,
    payload_columns,
    ref_fields,
)
from credo.scale.repeats import repeated_values

SEQ = "_seq"
#: A raw row's ``_seq``: its file's index in the read, then its row number in the file.
SEQ_OF_ROW = "CAST((file_index << 40) | file_row_number AS BIGINT)"
ENVELOPE_TYPES = dict(ENVELOPE_COLUMNS)
#: Envelope columns that must be present on every event.
REQUIRED = ("consumer_id", "partner_id", "event_id", "type", "occurred_at", "received_at")
SQL_TYPE = {
    pa.string(): "VARCHAR", pa.int64(): "BIGINT", pa.bool_(): "BOOLEAN", pa.date32(): "DATE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
}


def event_files(directory: Path) -> list[Path]:
    """The event Parquet files of a simulator directory (``events/part-*.parquet``), in name order."""
    base = Path(directory) / "events"
    files = sorted(base.glob("part-*"))
    if not files:
        raise FileNotFoundError(f"no events/part-* files in {directory}")
    other = [f.name for f in files if f.suffix != ".parquet"]
    if other:
        raise ValueError(f"the out-of-core build reads Parquet event files only, not {other[0]} "
                         "(write the population with --format parquet)")
    return files


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A SQL identifier, quoted (raw fields include reserved words such as ``limit``)."""
    return '"' + name.replace('"', '""') + '"'


def source(files: Sequence[Path]) -> str:
    """``read_parquet`` over the files, by column name (``file_index`` and ``file_row_number`` are
    its virtual columns)."""
    paths = ", ".join(quote(str(f)) for f in files)
    return f"read_parquet([{paths}], union_by_name = true)"


def raw_columns(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> dict[str, str]:
    """Column name → DuckDB type of the raw files (union by name)."""
    return {row[0]: row[1] for row in con.sql(f"DESCRIBE SELECT * FROM {source(files)}").fetchall()}


# ---------------------------------------------------------------- column expressions


def _typed(name: str, raw_type: str | None, target: pa.DataType) -> str:
    """``name`` (a raw column of ``raw_type``) as the events table's type; NULL when absent."""
    sql_type = SQL_TYPE[target]
    name = ident(name)
    if raw_type is None:
        return f"CAST(NULL AS {sql_type})"
    if raw_type == "VARCHAR" and sql_type == "DATE":
        return f"CAST(substr({name}, 1, 10) AS DATE)"
    if raw_type == "VARCHAR" and sql_type == "BOOLEAN":
        return (f"CASE WHEN lower({name}) IN ('true', '1') THEN TRUE "
                f"WHEN lower({name}) IN ('false', '0') THEN FALSE END")
    return f"CAST({name} AS {sql_type})"


def _money(name: str, source_field: str, currencies: Sequence[str], currency: str) -> str:
    """Exact minor units of a canonical decimal string, by currency; an error for anything else."""
    whens = []
    for code in currencies:
        exponent = currency_exponent(code)
        pattern = rf"[0-9]+\.[0-9]{{{exponent}}}" if exponent else "[0-9]+"
        whens.append(f"WHEN {currency} = {quote(code)} AND regexp_full_match({name}, {quote(pattern)}) "
                     f"THEN CAST(replace({name}, '.', '') AS BIGINT)")
    problem = (f"'events: {source_field} ' || {name} || ' in ' || coalesce({currency}, 'no currency') || "
               "' is not a canonical decimal string for its currency (event ' || CAST(event_id AS VARCHAR) || ')'")
    return f"CASE WHEN {name} IS NULL THEN NULL {' '.join(whens)} ELSE error({problem}) END"


def _type_in(types: frozenset[str]) -> str:
    return "type IN (" + ", ".join(quote(t) for t in sorted(types)) + ")"


def normalised_select(columns: dict[str, str], currencies: Sequence[str]) -> list[tuple[str, str]]:
    """(name, SQL expression over the raw columns) for every :data:`EVENTS_SCHEMA` column.

    ``root_event_id`` and ``revised`` are the event's own: :meth:`EventSource.normalised` joins the
    revisions in. The required envelope columns are checked for nulls once, by :func:`prepare`.
    """
    def raw(name: str, target: pa.DataType | None = None) -> str:
        return _typed(name, columns.get(name), pa.string() if target is None else target)

    out: dict[str, str] = {}
    for name, arrow_type in ENVELOPE_COLUMNS:
        if name == "target_event_id":
            out[name] = (f"coalesce({raw('target_event_id')}, CASE WHEN type = {quote(RETRACTION)} "
                         f"THEN {raw('retracts_event_id')} ELSE {raw('corrects_event_id')} END)")
        else:
            out[name] = raw(name, arrow_type)
    out["root_event_id"] = "event_id"
    out["revised"] = "FALSE"
    refs = [f for f in ref_fields() if f in columns]
    out["ref_kind"] = ("CASE " + " ".join(f"WHEN {ident(f)} IS NOT NULL THEN {quote(f)}" for f in refs) + " END"
                       if refs else "CAST(NULL AS VARCHAR)")
    out["ref"] = f"coalesce({', '.join(raw(f) for f in refs)})" if refs else "CAST(NULL AS VARCHAR)"
    out["occurred_date"] = f"CAST({raw('occurred_at', ENVELOPE_TYPES['occurred_at'])} AS DATE)"  # session: UTC
    for pcol in payload_columns():
        value, is_string = _payload_read(pcol, columns)
        if is_string:
            value = _money(value, pcol.source, currencies, raw("currency"))
        out[pcol.name] = f"CASE WHEN {_type_in(pcol.types)} THEN {value} END"
    return [(f.name, out[f.name]) for f in EVENTS_SCHEMA]


def _payload_read(pcol: PayloadColumn, columns: dict[str, str]) -> tuple[str, bool]:
    """(SQL reading a payload column's raw field as its type, whether that is a money string still to
    convert to minor units)."""
    if pcol.kind == "money" and pcol.name in columns:
        return _typed(pcol.name, columns[pcol.name], pa.int64()), False
    if pcol.kind == "money" and pcol.source in columns:
        return _typed(pcol.source, columns[pcol.source], pa.string()), True
    return _typed(pcol.source, columns.get(pcol.source), pcol.arrow_type), False


#: Prefix of the view columns the compiled scan reads instead of the normalised payload columns
#: (:func:`raw_payload_select`): ``_raw_amount_minor`` is the ``amount`` string as read.
RAW = "_raw_"
#: The view column with the exponent of each event's currency (NULL without one), for the money strings.
RAW_EXPONENT = "_raw_exponent"


def raw_payload_select(columns: dict[str, str], currencies: Sequence[str]) -> list[tuple[str, str]]:
    """(name, SQL expression) of the compiled scan's payload inputs: every payload column as read
    (:data:`RAW` and its name), not yet NULL outside its event types and, for money strings, neither
    checked nor converted (:mod:`credo.scale.compiled` does both, as :func:`normalised_select` would),
    and :data:`RAW_EXPONENT`."""
    out = [(f"{RAW}{pcol.name}", _payload_read(pcol, columns)[0]) for pcol in payload_columns()]
    currency = _typed("currency", columns.get("currency"), pa.string())
    whens = " ".join(f"WHEN {quote(code)} THEN {currency_exponent(code)}" for code in currencies)
    out.append((RAW_EXPONENT, f"CASE {currency} {whens} END" if whens else "CAST(NULL AS INTEGER)"))
    return out


def _envelope(columns: dict[str, str]) -> str:
    """The raw envelope (renamed to the events table's names) every other expression reads."""
    parts = []
    for name, arrow_type in ENVELOPE_COLUMNS:
        if name in REQUIRED:
            parts.append(f"{_typed(name, columns.get(name), arrow_type)} AS {name}")
    return ", ".join(parts)


# ---------------------------------------------------------------- revisions


def revisions(con: duckdb.DuckDBPyConnection, files: Sequence[Path], columns: dict[str, str]) -> pa.Table:
    """``(partner_id, event_id, root_event_id, revised, consumer_id)`` of every event a correction chain
    touches, sorted by ``consumer_id``.

    Reads only the rows that carry a target (corrections and retractions), deduplicated as the
    in-memory path does, and derives their keys with :func:`derive_keys`; adds every targeted
    or corrected original as ``(id, id, revised)``. Events not listed keep their own id, unrevised, so
    a listed row that says just that (a retraction itself) is left out: those were a fifth of the
    table in the simulated population.

    ``consumer_id`` is the consumer a row matters for, so that each bucket joins only its own rows
    (:meth:`EventSource.normalised`): a listed row's own consumer, and for an original, the consumer
    of each row that targets it or roots a chain at it (one row each). That is exact. Every step of
    the point-in-time resolution that reads ``revised`` matches an event with rows of its *own*
    consumer (:attr:`~credo.features.builder.QueryShape.resolved_ctes`), so an original that only
    other consumers' rows target has the same record as of D whether it is marked revised or not.
    """
    target_cols = [c for c in ("target_event_id", "corrects_event_id", "retracts_event_id") if c in columns]
    empty = pa.table({"partner_id": pa.array([], pa.string()), "event_id": pa.array([], pa.string()),
                      "root_event_id": pa.array([], pa.string()), "revised": pa.array([], pa.bool_()),
                      "consumer_id": pa.array([], pa.string())})
    if not target_cols:
        return empty
    expr = dict(normalised_select(columns, []))["target_event_id"]
    small = con.sql(
        f"SELECT consumer_id, partner_id, event_id, type, received_at, target_event_id FROM ("
        f"SELECT {_envelope(columns)}, {expr} AS target_event_id, file_index, file_row_number "
        f"FROM {source(files)} WHERE " + " OR ".join(f"{ident(c)} IS NOT NULL" for c in target_cols) +
        ") ORDER BY file_index, file_row_number"
    ).to_arrow_table()
    if small.num_rows == 0:
        return empty
    small = dedupe(small)
    small = small.append_column("root_event_id", small.column("event_id"))
    small = small.append_column("revised", pa.nulls(small.num_rows, pa.bool_()))
    keyed = derive_keys(small)
    # originals: every targeted event, and every corrected chain's root, that is not itself listed
    is_correction = pc.and_(pc.is_valid(keyed.column("target_event_id")),
                            pc.not_equal(keyed.column("type"), RETRACTION))
    partner, consumer = keyed.column("partner_id"), keyed.column("consumer_id")
    originals = pa.concat_tables([
        pa.table({"partner_id": partner, "event_id": keyed.column("target_event_id"), "consumer_id": consumer})
        .filter(pc.is_valid(keyed.column("target_event_id"))),
        pa.table({"partner_id": partner, "event_id": keyed.column("root_event_id"), "consumer_id": consumer})
        .filter(is_correction),
    ]).group_by(["partner_id", "event_id", "consumer_id"]).aggregate([])
    listed = keyed.select(["partner_id", "event_id", "root_event_id", "revised", "consumer_id"])
    con.register("__listed", listed)
    con.register("__originals", originals)
    try:
        return con.sql(
            "SELECT partner_id, event_id, root_event_id, revised, consumer_id FROM __listed "
            "WHERE root_event_id <> event_id OR revised UNION ALL "
            "SELECT o.partner_id, o.event_id, o.event_id, TRUE, o.consumer_id FROM __originals AS o "
            "ANTI JOIN __listed AS l ON l.partner_id = o.partner_id AND l.event_id = o.event_id "
            "ORDER BY consumer_id"
        ).to_arrow_table()
    finally:
        con.unregister("__listed")
        con.unregister("__originals")


# ---------------------------------------------------------------- replayed copies

#: Bytes of key hashes :func:`replayed_copies` holds at once (8 an event): 254 M events fit in one
#: pass; more events take more passes over the two key columns, each over a share of the hashes.
HASH_BYTES_PER_PASS = 2 << 30
_BATCH = 1 << 20


def _repeated_hashes(con: duckdb.DuckDBPyConnection, query: str, capacity: int) -> np.ndarray:
    """The values that occur more than once in the one ``UBIGINT`` column of ``query``, read in
    batches into one buffer (grown if ``capacity`` is short) and found in place
    (:func:`~credo.scale.repeats.repeated_values`)."""
    buffer = np.empty(capacity, dtype=np.uint64)
    filled = 0
    for batch in con.sql(query).to_arrow_reader(_BATCH):
        values = batch.column(0).to_numpy()
        if filled + len(values) > len(buffer):
            buffer = np.resize(buffer, max(2 * len(buffer), filled + len(values)))
        buffer[filled:filled + len(values)] = values
        filled += len(values)
    return repeated_values(buffer[:filled])


#: The 64-bit hash replayed copies are first found by. DuckDB's ``hash(partner_id, event_id)`` alone has
#: structured collisions on ids that differ in a few digits (13.4 M of the simulator's 254 M event ids,
#: each a false candidate for the exact pass); hashing the reversed id too puts those digits in other
#: words of the hash and left none in 60.8 M (docs/benchmarks.md).
KEY_HASH = "hash(partner_id, event_id, reverse(event_id))"


def replayed_copies(con: duckdb.DuckDBPyConnection, files: Sequence[Path], columns: dict[str, str], rows: int,
                    bytes_per_pass: int = HASH_BYTES_PER_PASS) -> pa.Table:
    """``_seq`` of every raw row whose ``(partner_id, event_id)`` an earlier row already carries, in any
    file and under any consumer id: first received wins, then read order, as
    :func:`~credo.features.events_table.dedupe` keeps it.

    A 64-bit hash of each key is read from the two key columns alone and sorted; only keys whose hash
    repeats are read again and compared exactly, so a hash collision costs a little reading and never
    drops a row. Memory is 8 bytes an event, at most ``bytes_per_pass`` at once: beyond that, each
    pass takes one residue of the hash.
    """
    key = KEY_HASH
    passes = max(1, -(-rows * 8 // bytes_per_pass))
    capacity = rows // passes + rows // (10 * passes) + _BATCH
    repeated = [
        _repeated_hashes(con, f"SELECT {key} FROM {source(files)}"
                              + (f" WHERE {key} % {passes} = {p}" if passes > 1 else ""), capacity)
        for p in range(passes)
    ]
    candidates = pa.table({"h": pa.array(np.concatenate(repeated), pa.uint64())})
    if candidates.num_rows == 0:
        return pa.table({SEQ: pa.array([], pa.int64())})
    con.register("__repeated", candidates)
    try:
        return con.sql(
            f"SELECT {SEQ} FROM (SELECT {SEQ}, row_number() OVER (PARTITION BY partner_id, event_id "
            f"ORDER BY received_at, {SEQ}) AS copy FROM (SELECT {_envelope(columns)}, "
            f"{SEQ_OF_ROW} AS {SEQ} FROM {source(files)} "
            f"WHERE {key} IN (SELECT h FROM __repeated))) WHERE copy > 1"
        ).to_arrow_table()
    finally:
        con.unregister("__repeated")


# ---------------------------------------------------------------- the normalised relation


def null_counts(con: duckdb.DuckDBPyConnection, files: Sequence[Path], names: Sequence[str]) -> dict[str, int]:
    """NULLs per column over every row of the files. Read from the footers' statistics when every
    row group of every file records them for the column (a scan of 254 M events saved: 15 s here);
    counted by a scan for the columns where any is missing, or a file lacks the column."""
    paths = ", ".join(quote(str(f)) for f in files)
    wanted = ", ".join(quote(n) for n in names)
    footers = {name: (int(nulls or 0), int(covered or 0)) for name, nulls, covered in con.sql(
        "SELECT path_in_schema, sum(stats_null_count), sum(row_group_num_rows) FILTER (WHERE stats_null_count "
        f"IS NOT NULL) FROM parquet_metadata([{paths}]) WHERE path_in_schema IN ({wanted}) GROUP BY 1").fetchall()}
    rows = count_rows(con, files)
    counts = {name: footers[name][0] for name in names if name in footers and footers[name][1] == rows}
    scanned = [name for name in names if name not in counts]
    if scanned:
        found = con.sql("SELECT " + ", ".join(f"count(*) FILTER (WHERE {ident(c)} IS NULL)" for c in scanned) +
                        f" FROM {source(files)}").fetchall()[0]
        counts.update(zip(scanned, (int(n) for n in found)))
    return {name: counts[name] for name in names}


def count_rows(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> int:
    """Rows in Parquet files, from their footers."""
    if not files:
        return 0
    paths = ", ".join(quote(str(f)) for f in files)
    return int(con.sql(f"SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata([{paths}])").fetchall()[0][0])


@dataclass(frozen=True)
class EventSource:
    """Raw event files prepared for normalised reads: their columns, currencies and revisions table.

    :func:`prepare` checks what applies to every row once (required columns present and never
    null, known currencies) and loads the revisions into the session as :data:`REVISIONS` and the
    replayed copies (:func:`replayed_copies`) as :data:`REPLAYED`.
    """

    files: tuple[Path, ...]
    columns: dict[str, str]
    currencies: tuple[str, ...]
    rows: int
    replayed: int = 0  # raw rows that repeat an earlier (partner_id, event_id), left out of every read

    def received_before(self, instant_sql: str) -> str:
        """A raw filter the Parquet reader can push down: received before the instant (TRUE when the
        raw column is not a UTC timestamp, and the query's own filter does the work)."""
        if self.columns.get("received_at") == "TIMESTAMP WITH TIME ZONE":
            return f"received_at < {instant_sql}"
        return "TRUE"

    def population(self, where: str) -> str:
        """Every consumer of the raw rows meeting ``where`` (whatever the dates of their events), but
        the replayed copies: a consumer whose only rows repeat another's earlier events has none."""
        consumer = "CAST(consumer_id AS VARCHAR) AS consumer_id"
        if not self.replayed:
            return f"SELECT DISTINCT {consumer} FROM {source(self.files)} WHERE {where}"
        return (f"SELECT DISTINCT n.consumer_id FROM (SELECT {consumer}, {SEQ_OF_ROW} AS {SEQ} "
                f"FROM {source(self.files)} WHERE {where}) AS n ANTI JOIN {REPLAYED} AS d ON d.{SEQ} = n.{SEQ}")

    @property
    def raw_payload(self) -> tuple[str, ...]:
        """The columns :meth:`normalised` adds for the compiled scan (:func:`raw_payload_select`); a query
        that does not read them does not compute them."""
        return tuple(name for name, _ in raw_payload_select(self.columns, self.currencies))

    def normalised(self, where: str, consumers: str = "TRUE") -> str:
        """:data:`EVENTS_SCHEMA` columns (then :attr:`raw_payload` and ``_seq``) of the raw rows meeting
        ``where``, but the replayed copies: one row per ``(partner_id, event_id)``. ``consumers`` (a
        predicate over ``consumer_id`` that every row meeting ``where`` meets) limits the revisions
        joined to those that matter for these consumers (:func:`revisions`): a consumer bucket's join then
        hashes its own few thousand revision rows, not every bucket's."""
        body = ", ".join(f"{expr} AS {ident(name)}" for name, expr in
                         [*normalised_select(self.columns, self.currencies),
                          *raw_payload_select(self.columns, self.currencies)])
        select = ", ".join(
            f"coalesce(r.{name}, n.{name}) AS {name}" if name in ("root_event_id", "revised") else f"n.{ident(name)}"
            for name in (*EVENTS_SCHEMA.names, *self.raw_payload)
        )
        replayed = f"ANTI JOIN {REPLAYED} AS d ON d.{SEQ} = n.{SEQ} " if self.replayed else ""
        return (f"SELECT {select}, n.{SEQ} FROM (SELECT {body}, {SEQ_OF_ROW} AS {SEQ} "
                f"FROM {source(self.files)} WHERE {where}) AS n {replayed}"
                f"LEFT JOIN (SELECT DISTINCT partner_id, event_id, root_event_id, revised FROM {REVISIONS} "
                f"WHERE {consumers}) AS r ON r.partner_id = n.partner_id AND r.event_id = n.event_id")


#: The session tables :func:`prepare` loads the revisions and the replayed copies' ``_seq`` into.
REVISIONS = "credo_revisions"
REPLAYED = "credo_replayed"


def _load(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    con.register("__load", table)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM __load")
    finally:
        con.unregister("__load")


def prepare(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> EventSource:
    """Check the raw files and load their revisions (:func:`revisions`) and replayed copies
    (:func:`replayed_copies`) into ``con``."""
    columns = raw_columns(con, files)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ValueError(f"events: column {missing[0]} is missing from the event files")
    for name, n in null_counts(con, files, REQUIRED).items():
        if n:
            raise ValueError(f"events table: column {name!r} has nulls ({n:,} rows)")
    currencies: list[str] = []
    if "currency" in columns:
        currencies = [r[0] for r in con.sql(
            f"SELECT DISTINCT currency FROM {source(files)} WHERE currency IS NOT NULL ORDER BY 1").fetchall()]
    for code in currencies:
        currency_exponent(code)  # an unknown code is an error here, naming it
    _load(con, REVISIONS, revisions(con, files, columns))
    rows = count_rows(con, files)
    replayed = replayed_copies(con, files, columns, rows)
    _load(con, REPLAYED, replayed)
    return EventSource(tuple(files), columns, tuple(currencies), rows, replayed.num_rows)


__all__ = ["EventSource", "HASH_BYTES_PER_PASS", "RAW", "RAW_EXPONENT", "REPLAYED", "REVISIONS", "SEQ", "SEQ_OF_ROW", "SQL_TYPE",
           "count_rows", "event_files", "ident", "normalised_select", "null_counts", "prepare", "quote", "raw_columns", "raw_payload_select", "replayed_copies", "revisions", "source"]
