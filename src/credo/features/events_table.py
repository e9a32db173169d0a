"""The typed *events table* every feature runs on (one ``pyarrow.Table``).

Built from the operational store (:func:`events_from_store`), from a simulator
output directory or a Parquet / JSON Lines export (:func:`events_from_directory`,
:func:`events_from_files`), or from any flat Arrow table (:func:`normalise`).
Whatever the source, the result has exactly :data:`EVENTS_SCHEMA`:

* envelope: ``consumer_id``, ``partner_id``, ``event_id``, ``type``,
  ``occurred_at`` and ``received_at`` (``timestamp[us, UTC]``),
  ``target_event_id`` (``corrects_event_id`` of a correction,
  ``retracts_event_id`` of a retraction);
* derived keys: ``root_event_id`` (the original event a chain of corrections
  replaces; the event's own id otherwise), ``revised`` (the event is a
  correction, or a correction or retraction anywhere in the table targets it
  or its original: only those rows need the as-of-D version resolution —
  recompute with :func:`derive_keys` after concatenating tables), ``ref_kind`` / ``ref`` (the
  partner's reference field and value: ``account_ref``, ``bill_ref`` …) and
  ``occurred_date`` (the UTC calendar date of ``occurred_at``, so no SQL ever
  casts a timestamp to a date in a session time zone);
* payload: every event field whose data category may be scored
  (:data:`credo.policy.protection.ALLOWED_DATA_CATEGORIES`), typed — money as
  ``int64`` **minor units** named ``<field>_minor``, dates ``date32``, integers
  ``int64``, booleans, instants ``timestamp[us, UTC]``, enums as strings.
  A field is filled only for the event types where its category is scorable
  (``reason`` of a retraction is envelope and stays null).

Fields whose category is not scorable (``spending_insight`` such as
``merchant_category``; ``envelope`` such as ``currency``) never enter the
table. That list is read from the schemas' ``data_category`` annotations,
never typed by hand. Identifiers and references are kept only as join and
grouping keys (``ref``, ``root_event_id``…); :mod:`credo.features.builder`
checks that no feature *value* reads them.

DuckDB cannot load its SQLite extension here, so reading the store is a plain
SQLAlchemy select of the canonical payload JSON, parsed by Arrow's JSON reader.
"""

from __future__ import annotations

import io
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq
from pydantic import AwareDatetime
from sqlalchemy import Engine, and_, exists, or_, select

from credo.events.columns import _base_type
from credo.events.schemas import EVENT_MODELS
from credo.events.types import currency_exponent, to_minor_units
from credo.policy.protection import ALLOWED_DATA_CATEGORIES
from credo.store.tables import consumers, events, suppressions

TS = pa.timestamp("us", tz="UTC")
RETRACTION = "event.retraction"

#: Envelope columns kept, in order (keys and times only).
ENVELOPE_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("consumer_id", pa.string()),
    ("partner_id", pa.string()),
    ("event_id", pa.string()),
    ("type", pa.string()),
    ("occurred_at", TS),
    ("received_at", TS),
    ("target_event_id", pa.string()),
)
#: Columns derived while building the table (keys and the UTC event date).
DERIVED_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("root_event_id", pa.string()),
    ("revised", pa.bool_()),
    ("ref_kind", pa.string()),
    ("ref", pa.string()),
    ("occurred_date", pa.date32()),
)


def field_category(event_type: str, name: str) -> str | None:
    """Data category a schema declares for ``name`` in ``event_type`` (None: no such field)."""
    info = EVENT_MODELS[event_type].model_fields.get(name)
    if info is None:
        return None
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    return extra.get("data_category")  # type: ignore[return-value]


def categories_of_field(name: str) -> frozenset[str]:
    """Every data category the schemas declare for a field name, across event types."""
    cats = {field_category(t, name) for t in EVENT_MODELS}
    return frozenset(c for c in cats if c is not None)


def is_scorable_category(category: str | None) -> bool:
    return category is not None and ALLOWED_DATA_CATEGORIES.get(category, False)


@dataclass(frozen=True)
class PayloadColumn:
    """One typed payload column of the events table."""

    name: str  # column name in the table
    source: str  # schema field name
    kind: str  # "money" | "date" | "int" | "bool" | "instant" | "string"
    arrow_type: pa.DataType
    types: frozenset[str]  # event types whose value is kept
    categories: frozenset[str]  # data categories of the field in those types


def _kind(annotation: object) -> tuple[str, pa.DataType]:
    base = _base_type(annotation)
    if base is bool:
        return "bool", pa.bool_()
    if base is int:
        return "int", pa.int64()
    if base is Decimal:
        return "money", pa.int64()
    if base is date:
        return "date", pa.date32()
    if base in (datetime, AwareDatetime):
        return "instant", TS
    if base is str or typing.get_origin(base) is typing.Literal:
        return "string", pa.string()
    raise TypeError(f"no events-table type for {annotation!r}")


@lru_cache(maxsize=1)
def payload_columns() -> tuple[PayloadColumn, ...]:
    """Scorable payload fields, derived from the schemas' data categories."""
    found: dict[str, dict[str, object]] = {}
    for etype, model in EVENT_MODELS.items():
        for name, info in model.model_fields.items():
            if name == "type" or not is_scorable_category(field_category(etype, name)):
                continue
            kind, arrow_type = _kind(info.annotation)
            entry = found.setdefault(name, {"kind": kind, "arrow": arrow_type, "types": set(), "cats": set()})
            if entry["kind"] != kind:
                raise TypeError(f"field {name!r} has different types across events")
            entry["types"].add(etype)  # type: ignore[union-attr]
            entry["cats"].add(field_category(etype, name))  # type: ignore[union-attr]
    return tuple(
        PayloadColumn(
            f"{name}_minor" if e["kind"] == "money" else name, name, e["kind"], e["arrow"],  # type: ignore[arg-type]
            frozenset(e["types"]), frozenset(e["cats"]),  # type: ignore[arg-type]
        )
        for name, e in found.items()
    )


@lru_cache(maxsize=1)
def ref_fields() -> tuple[str, ...]:
    """Envelope reference fields (``*_ref``): partner references, used as grouping keys only."""
    names: list[str] = []
    for etype, model in EVENT_MODELS.items():
        for name in model.model_fields:
            if name.endswith("_ref") and field_category(etype, name) == "envelope" and name not in names:
                names.append(name)
    return tuple(names)


@lru_cache(maxsize=1)
def events_schema() -> pa.Schema:
    cols = [*ENVELOPE_COLUMNS, *DERIVED_COLUMNS, *((c.name, c.arrow_type) for c in payload_columns())]
    return pa.schema([pa.field(n, t) for n, t in cols])


EVENTS_SCHEMA: pa.Schema = events_schema()

#: Columns that are keys (identifiers, references): never a feature value.
KEY_COLUMNS: frozenset[str] = frozenset(
    {"consumer_id", "partner_id", "event_id", "target_event_id", "root_event_id", "revised", "ref_kind", "ref"}
)
#: Envelope columns used only as time anchors (point-in-time filters, windows, recency).
TIME_COLUMNS: frozenset[str] = frozenset({"occurred_at", "received_at", "occurred_date"})


# ---------------------------------------------------------------- normalising


def _money_minor(values: pa.Array, currency: pa.Array) -> pa.Array:
    """Canonical decimal strings ("12.30") → int64 minor units, exact; Python fallback otherwise."""
    values = pc.cast(values, pa.string())
    out = np.zeros(len(values), dtype=np.int64)
    valid = np.asarray(pc.is_valid(values).to_numpy(zero_copy_only=False), dtype=bool)
    done = ~valid
    cur = pc.fill_null(pc.cast(currency, pa.string()), "")
    for code in pc.unique(pc.filter(cur, pc.is_valid(values))).to_pylist():
        if not code:
            continue
        exponent = currency_exponent(code)
        pattern = rf"^[0-9]+\.[0-9]{{{exponent}}}$" if exponent else r"^[0-9]+$"
        mask = pc.and_(pc.equal(cur, code), pc.fill_null(pc.match_substring_regex(values, pattern), False))
        mask_np = np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
        if mask_np.any():
            digits = pc.replace_substring(pc.filter(values, mask), ".", "")
            out[mask_np] = pc.cast(digits, pa.int64()).to_numpy()
            done |= mask_np
    rest = np.flatnonzero(~done)
    if rest.size:
        vals = values.take(pa.array(rest)).to_pylist()
        curs = cur.take(pa.array(rest)).to_pylist()
        for i, v, c in zip(rest, vals, curs):
            if not c:
                raise ValueError(f"amount {v!r} without a currency")
            out[i] = to_minor_units(Decimal(v), c)
    return pa.array(out, type=pa.int64(), mask=~valid)


def _as(values: pa.ChunkedArray | pa.Array, kind: str, arrow_type: pa.DataType) -> pa.Array:
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if arr.type == arrow_type:
        return arr
    if kind == "instant" or arrow_type == TS:
        if pa.types.is_timestamp(arr.type):
            if arr.type.tz is None:  # naive values are UTC wall times (SQLite)
                arr = pc.assume_timezone(arr, "UTC")
            return pc.cast(arr, TS)
        return pc.cast(pc.cast(arr, pa.string()), TS)
    if kind == "date" and pa.types.is_string(arr.type):
        return pc.cast(pc.utf8_slice_codeunits(arr, 0, 10), pa.date32())
    if kind == "bool" and pa.types.is_string(arr.type):
        low = pc.utf8_lower(arr)
        return pc.if_else(pc.is_in(low, pa.array(["true", "1"])), True,
                          pc.if_else(pc.is_in(low, pa.array(["false", "0"])), False, pa.scalar(None, pa.bool_())))
    return pc.cast(arr, arrow_type)


def _type_mask(types: pa.Array, allowed: Iterable[str]) -> pa.Array:
    return pc.fill_null(pc.is_in(types, pa.array(sorted(allowed), pa.string())), False)


def _roots(partner: pa.Array, event_id: pa.Array, target: pa.Array, is_correction: pa.Array) -> pa.Array:
    """Follow ``corrects_event_id`` chains to the original event (per partner); own id otherwise."""
    sel = pc.fill_null(is_correction, False)
    idx = np.flatnonzero(np.asarray(sel.to_numpy(zero_copy_only=False), dtype=bool))
    if idx.size == 0:
        return event_id
    take = pa.array(idx)
    keys = list(zip(partner.take(take).to_pylist(), event_id.take(take).to_pylist()))
    parent = dict(zip(keys, target.take(take).to_pylist()))
    roots = []
    for p, e in keys:
        node, hops = e, 0
        while (p, node) in parent and hops < 1000:
            node = parent[(p, node)]
            hops += 1
        roots.append(node)
    mask = np.zeros(len(event_id), dtype=bool)
    mask[idx] = True
    full = np.empty(len(event_id), dtype=object)
    full[idx] = roots
    replaced = pa.array(full, pa.string(), mask=~mask)
    return pc.if_else(pa.array(mask), replaced, event_id)


def normalise(table: pa.Table) -> pa.Table:
    """Turn a flat event table (simulator, export or parsed payloads) into :data:`EVENTS_SCHEMA`.

    Accepts either ``target_event_id`` or the schema's ``corrects_event_id`` /
    ``retracts_event_id``; money as canonical decimal strings with ``currency``
    (or already as ``<field>_minor`` integers); dates, times and booleans as
    typed columns or ISO strings. Columns not in the schema are ignored.
    """
    n = table.num_rows
    names = set(table.column_names)

    def col(name: str) -> pa.Array:
        if name in names:
            return table.column(name)
        return pa.nulls(n, pa.string())

    etype = _as(col("type"), "string", pa.string())
    out: dict[str, pa.Array] = {}
    for name, arrow_type in ENVELOPE_COLUMNS:
        if name == "target_event_id":
            is_retraction = pc.fill_null(pc.equal(etype, RETRACTION), False)
            from_fields = pc.if_else(is_retraction, _as(col("retracts_event_id"), "string", pa.string()),
                                     _as(col("corrects_event_id"), "string", pa.string()))
            out[name] = pc.coalesce(_as(col(name), "string", pa.string()), from_fields)
            continue
        out[name] = _as(col(name), "instant" if arrow_type == TS else "string", arrow_type)
    for name in ("consumer_id", "partner_id", "event_id", "type", "occurred_at", "received_at"):
        if out[name].null_count:
            raise ValueError(f"events table: column {name!r} has nulls")

    out["root_event_id"] = out["event_id"]  # placeholders: derive_keys computes both
    out["revised"] = pa.nulls(n, pa.bool_())
    ref_kind = pa.nulls(n, pa.string())
    ref = pa.nulls(n, pa.string())
    for field_name in ref_fields():
        if field_name not in names:
            continue
        values = _as(col(field_name), "string", pa.string())
        has = pc.fill_null(pc.and_(pc.is_valid(values), pc.is_null(ref)), False)
        ref_kind = pc.if_else(has, pa.scalar(field_name), ref_kind)
        ref = pc.if_else(has, values, ref)
    out["ref_kind"], out["ref"] = ref_kind, ref
    out["occurred_date"] = pc.cast(out["occurred_at"], pa.date32())  # UTC: the type's time zone

    currency = _as(col("currency"), "string", pa.string())
    for pcol in payload_columns():
        if pcol.name in names and pcol.kind == "money":
            values = _as(col(pcol.name), "int", pa.int64())
        elif pcol.source in names:
            raw = col(pcol.source)
            values = _money_minor(raw.combine_chunks() if isinstance(raw, pa.ChunkedArray) else raw, currency) \
                if pcol.kind == "money" else _as(raw, pcol.kind, pcol.arrow_type)
        else:
            values = pa.nulls(n, pcol.arrow_type)
        keep = _type_mask(etype, pcol.types)
        out[pcol.name] = pc.if_else(keep, values, pa.scalar(None, pcol.arrow_type))
    return derive_keys(pa.table([out[f.name] for f in EVENTS_SCHEMA], schema=EVENTS_SCHEMA))


def derive_keys(table: pa.Table) -> pa.Table:
    """(Re)compute ``root_event_id`` and ``revised`` over the whole table.

    Needed whenever tables are concatenated: a correction and its target may
    come from different files or chunks.
    """
    if table.num_rows == 0:
        return table
    table = table.combine_chunks()
    partner, event_id = table.column("partner_id").chunk(0), table.column("event_id").chunk(0)
    target, etype = table.column("target_event_id"), table.column("type")
    target = target.chunk(0) if target.num_chunks else pa.nulls(table.num_rows, pa.string())
    etype = etype.chunk(0)
    is_retraction = pc.fill_null(pc.equal(etype, RETRACTION), False)
    is_correction = pc.and_(pc.is_valid(target), pc.invert(is_retraction))
    roots = _roots(partner, event_id, target, is_correction)
    # partner|id keys of every targeted event and of every corrected original
    sep = "\x1f"
    targeted = pc.filter(pc.binary_join_element_wise(partner, target, sep), pc.is_valid(target))
    corrected_roots = pc.filter(pc.binary_join_element_wise(partner, roots, sep), is_correction)
    touched = pa.concat_arrays([targeted, corrected_roots]).unique()
    revised = pc.or_(
        pc.fill_null(is_correction, False),
        pc.or_(pc.is_in(pc.binary_join_element_wise(partner, event_id, sep), touched),
               pc.is_in(pc.binary_join_element_wise(partner, roots, sep), touched)),
    )
    table = table.set_column(table.schema.get_field_index("root_event_id"), "root_event_id", roots)
    return table.set_column(table.schema.get_field_index("revised"), "revised", revised)


def empty_events() -> pa.Table:
    return EVENTS_SCHEMA.empty_table()


# ---------------------------------------------------------------- sources


def _flat_read_columns(available: Sequence[str]) -> list[str]:
    """The columns of a flat file worth reading: never the non-scorable payload fields."""
    wanted = {n for n, _ in ENVELOPE_COLUMNS} | {"corrects_event_id", "retracts_event_id", "currency"}
    wanted |= set(ref_fields())
    wanted |= {c.source for c in payload_columns()} | {c.name for c in payload_columns()}
    return [c for c in available if c in wanted]


def events_from_files(paths: Sequence[Path]) -> pa.Table:
    """Events table from Parquet or JSON Lines event files (simulator parts or an export)."""
    tables = []
    for path in paths:
        path = Path(path)
        if path.suffix == ".parquet":
            pf = pq.ParquetFile(path)
            tables.append(normalise(pf.read(columns=_flat_read_columns(pf.schema_arrow.names))))
        elif path.suffix in (".jsonl", ".json", ".ndjson"):
            tables.append(_from_json_lines(path.read_bytes()))
        else:
            raise ValueError(f"unsupported events file {path}")
    if not tables:
        return empty_events()
    return derive_keys(dedupe(pa.concat_tables(tables).combine_chunks()))


def dedupe(table: pa.Table) -> pa.Table:
    """Keep one row per ``(partner_id, event_id)`` — the first received — as the store's
    idempotent ingestion does (a replayed file row is not a second event)."""
    keys = table.select(["partner_id", "event_id"])
    if keys.group_by(["partner_id", "event_id"]).aggregate([]).num_rows == table.num_rows:
        return table
    indexed = table.append_column("__row", pa.array(np.arange(table.num_rows)))
    ordered = indexed.sort_by([("received_at", "ascending"), ("__row", "ascending")])
    first = ordered.group_by(["partner_id", "event_id"], use_threads=False).aggregate([("__row", "first")])
    keep = np.sort(first.column("__row_first").to_numpy())
    return table.take(pa.array(keep))


def events_from_directory(directory: Path) -> pa.Table:
    """Events table of a simulator output directory (``events/part-*``)."""
    files = sorted((Path(directory) / "events").glob("part-*"))
    if not files:
        raise FileNotFoundError(f"no events/part-* files in {directory}")
    return events_from_files(files)


@lru_cache(maxsize=1)
def _json_schema() -> pa.Schema:
    """Explicit JSON schema: everything as text, so Arrow never guesses a type."""
    fields: dict[str, pa.DataType] = {"type": pa.string()}
    for name in _flat_read_columns(
        [n for m in EVENT_MODELS.values() for n in m.model_fields] + ["target_event_id"]
    ):
        fields.setdefault(name, pa.string())
    for pcol in payload_columns():
        if pcol.kind == "int":
            fields[pcol.source] = pa.int64()
        elif pcol.kind == "bool":
            fields[pcol.source] = pa.bool_()
    return pa.schema(list(fields.items()))


def _read_json_raw(data: bytes) -> pa.Table:
    return pajson.read_json(
        io.BytesIO(data),
        parse_options=pajson.ParseOptions(explicit_schema=_json_schema(), unexpected_field_behavior="ignore"),
    )


def _from_json_lines(data: bytes) -> pa.Table:
    if not data.strip():
        return empty_events()
    return normalise(_read_json_raw(data))


def events_from_store(
    engine: Engine, consumer_id: str | None = None, *, chunk: int = 50_000
) -> pa.Table:
    """Events of every active consumer (or of one active consumer) from the operational store.

    Envelope columns come from the ``events`` table (authoritative times, the
    ingestion-resolved ``target_event_id``); the payload from its canonical JSON.
    """
    query = (
        select(events.c.consumer_id, events.c.partner_id, events.c.event_id, events.c.type,
               events.c.occurred_at, events.c.received_at, events.c.target_event_id, events.c.payload)
        .join(consumers, consumers.c.id == events.c.consumer_id)
        .where(consumers.c.status == "active")
        .where(~suppressed_clause())
        .order_by(events.c.seq)
    )
    if consumer_id is not None:
        query = query.where(events.c.consumer_id == consumer_id)
    parts: list[pa.Table] = []
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=chunk).execute(query)
        for rows in result.partitions(chunk):
            parts.append(_store_rows_to_table(rows))
    if not parts:
        return empty_events()
    return derive_keys(pa.concat_tables(parts).combine_chunks())


def suppressed_clause():  # noqa: ANN201 - SQL expression
    """Suppressed records (unverified disputes, retractions, retention) and the corrections or
    retractions that target them: never features, never disclosed (credo.service.disputes)."""
    s = suppressions.c
    return exists().where(
        s.partner_id == events.c.partner_id,
        or_(s.event_id == events.c.event_id, and_(events.c.target_event_id.is_not(None),
                                                  s.event_id == events.c.target_event_id)),
    )


def _utc(values: list[datetime]) -> pa.Array:
    return pa.array([v if v.tzinfo is not None else v.replace(tzinfo=timezone.utc) for v in values], TS)


def _store_rows_to_table(rows: Sequence[typing.Any]) -> pa.Table:
    cols = list(zip(*rows))
    raw = _read_json_raw(b"\n".join(p.encode() if isinstance(p, str) else p for p in cols[7]))
    envelope = {
        "consumer_id": pa.array(cols[0], pa.string()),
        "partner_id": pa.array(cols[1], pa.string()),
        "event_id": pa.array(cols[2], pa.string()),
        "type": pa.array(cols[3], pa.string()),
        "occurred_at": _utc(list(cols[4])),
        "received_at": _utc(list(cols[5])),
        "target_event_id": pa.array(cols[6], pa.string()),
    }
    table = raw
    for name, values in envelope.items():  # the store's envelope columns are authoritative
        i = table.schema.get_field_index(name)
        table = table.append_column(name, values) if i < 0 else table.set_column(i, name, values)
    return normalise(table)


def record_events(records: Iterable[dict[str, typing.Any]]) -> pa.Table:
    """Events table from flat event records (dicts as ``event_to_record`` gives them)."""
    return _from_json_lines(b"\n".join(orjson.dumps(r, default=str) for r in records))


__all__ = [
    "EVENTS_SCHEMA", "KEY_COLUMNS", "TIME_COLUMNS", "PayloadColumn", "payload_columns", "ref_fields",
    "field_category", "categories_of_field", "is_scorable_category", "normalise", "derive_keys", "empty_events", "dedupe",
    "events_from_files", "events_from_directory", "events_from_store", "record_events",
]
