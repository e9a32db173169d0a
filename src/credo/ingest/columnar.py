"""Phase one for Arrow record batches, column by column.

The per-row path (``prepare.prepare_records``) validates each record with
pydantic and serialises it again: exact, but most of a bulk load's CPU. Here a
batch is checked one event type at a time with Arrow compute, following the
plans that ``ingest/plan.py`` derives from the schemas. A row that passes every
check is one pydantic would accept *unchanged*, so its stored JSON and content
digest are assembled from the input text, field by field in the schema's order
— byte for byte what ``event_json`` and ``content_digest`` produce (a test
compares both over whole simulated populations).

Every other row — invalid, or merely unusual (a non-canonical amount,
fractional seconds, an unknown column) — goes through the per-row path, so
rejections keep exactly their codes, fields and messages.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import TypeAdapter

from credo.events.schemas import digest_of_content
from credo.events.types import UtcDatetime, currency_exponent
from credo.ingest.batch import PreparedBatch
from credo.ingest.files import as_text, decode_arrow
from credo.ingest.outcomes import Outcome
from credo.ingest.plan import PARTNER_FIELD, RECEIVED_FIELD, FieldPlan, TypePlan, type_plans
from credo.ingest.prepare import Prepared, prepare_records
from credo.policy.event_time import EARLIEST, SCHEDULE_AHEAD, TimeRule
from credo.policy.protection import term_scan_pattern

_INSTANT = TypeAdapter(UtcDatetime)


def _plain(column: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if pa.types.is_large_string(column.type):
        column = column.cast(pa.string())
    return column


def _quoted(column: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise('"', column, '"', "")


def _or_null(column: pa.Array, check: pa.Array) -> pa.Array:
    """True where the value is null or passes ``check``."""
    return pc.or_kleene(pc.is_null(column), check).fill_null(False)


def _reject_values(column: pa.Array) -> tuple[pa.Array, pa.Array]:
    """A column of a type this path does not read: only its null rows can pass."""
    return pc.is_null(column), pa.nulls(len(column), pa.string())


def _identifiers(pattern: str, columns: list[pa.Array]) -> list[tuple[pa.Array, pa.Array]]:
    """Identifier columns checked together: Arrow compiles a regular expression on
    every call, and the forbidden-term scan is a large one."""
    strings = [c for c in columns if pa.types.is_string(c.type)]
    if not strings:
        return [_reject_values(c) for c in columns]
    values = pa.concat_arrays(strings)
    good = pc.and_(pc.match_substring_regex(values, pattern),
                   pc.invert(pc.match_substring_regex(values, term_scan_pattern())))
    results, offset = [], 0
    for column in columns:
        if not pa.types.is_string(column.type):
            results.append(_reject_values(column))
            continue
        results.append((_or_null(column, good.slice(offset, len(column))), _quoted(column)))
        offset += len(column)
    return results


#: Whole-second instants between these bounds are within the schema's (from 1970) and format as
#: four-digit years, as pydantic writes them.
_FIRST_SECOND = int(EARLIEST.timestamp())
_LAST_SECOND = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc).timestamp())
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def _instant(plan: FieldPlan, column: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Aware timestamps in whole seconds (years 1970-9999), written ``"…Z"`` exactly as pydantic does.

    Formatted from the naive UTC seconds: Arrow's time-zone-aware formatting
    costs some ten times more.
    """
    kind = column.type
    if not (pa.types.is_timestamp(kind) and kind.tz is not None):
        return _values(plan, column) if pa.types.is_string(column.type) else _reject_values(column)
    raw = column.view(pa.int64())
    per_second = _PER_SECOND[kind.unit]
    seconds = pc.divide(raw, per_second)
    whole = pc.and_(pc.equal(pc.multiply(seconds, per_second), raw),
                    pc.and_(pc.greater_equal(seconds, _FIRST_SECOND), pc.less_equal(seconds, _LAST_SECOND)))
    text = pc.utf8_replace_slice(seconds.view(pa.timestamp("s")).cast(pa.string()), 10, 11, "T")
    return _or_null(column, whole), pc.binary_join_element_wise('"', text, 'Z"', "")


def _money(plan: FieldPlan, column: pa.Array, exponents: pa.Array | None) -> tuple[pa.Array, pa.Array]:
    """Amounts already canonical for their currency: no sign, no leading zero, exactly its decimals."""
    if exponents is None or not pa.types.is_string(column.type):
        return _reject_values(column)
    whole = rf"^(?:0|[1-9][0-9]{{0,{plan.max_int_digits - 1}}})"
    fits = pa.nulls(len(column), pa.bool_()).fill_null(False)
    for exponent in pc.unique(exponents).drop_null().to_pylist():
        pattern = whole + (rf"\.[0-9]{{{exponent}}}$" if exponent else "$")
        this = pc.and_(pc.equal(exponents, exponent), pc.match_substring_regex(column, pattern))
        fits = pc.or_(fits, this.fill_null(False))
    return _or_null(column, fits), _quoted(column)


class _SharedChecks:
    """Checks that depend only on a column (identifiers, instants, amounts), run once
    over a whole batch and sliced for each event type."""

    def __init__(self, table: pa.Table, plans: list[TypePlan]) -> None:
        self.columns = {n: _plain(c.combine_chunks()) for n, c in zip(table.column_names, table.columns)
                        if c.null_count < table.num_rows}
        self.exponents = _exponents(self.columns.get("currency"))
        self.results: dict[tuple[Any, ...], tuple[pa.Array, pa.Array]] = {}
        identifiers: dict[str, set[str]] = {}
        for plan in plans:
            for field in plan.fields:
                if field.kind == "identifier" and field.name in self.columns:
                    identifiers.setdefault(field.pattern, set()).add(field.name)  # type: ignore[arg-type]
        for pattern, names in identifiers.items():
            ordered = sorted(names)
            checked = _identifiers(pattern, [self.columns[n] for n in ordered])
            self.results.update({self._key(n, "identifier", pattern): r for n, r in zip(ordered, checked)})

    @staticmethod
    def _key(name: str, kind: str, detail: Any) -> tuple[Any, ...]:
        return (name, kind, detail)

    def get(self, field: FieldPlan, start: int, length: int) -> tuple[pa.Array, pa.Array]:
        detail = field.pattern if field.kind == "identifier" else field.max_int_digits
        key = self._key(field.name, field.kind, detail)
        if key not in self.results:
            column = self.columns[field.name]
            self.results[key] = (_instant(field, column) if field.kind == "instant"
                                 else _money(field, column, self.exponents))
        valid, text = self.results[key]
        return valid.slice(start, length), text.slice(start, length)


def _expected_json(value: Any) -> bytes | None:
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, str):
        return b'"' + value.encode() + b'"'
    return None


def _values(plan: FieldPlan, column: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Each distinct value once through the field's own validator; keep those it leaves unchanged."""
    text = as_text(column)  # the values the per-row path would see
    kind = text.type
    if not (pa.types.is_string(kind) or pa.types.is_integer(kind) or pa.types.is_boolean(kind)):
        return _reject_values(column)
    canonical = []
    for value in pc.unique(text).drop_null().to_pylist():
        try:
            dumped = plan.adapter.dump_json(plan.adapter.validate_python(value))
        except ValueError:  # pydantic's ValidationError included
            continue
        if dumped == _expected_json(value):
            canonical.append(value)
    valid = _or_null(text, pc.is_in(text, pa.array(canonical, kind)))
    return valid, _quoted(text) if pa.types.is_string(kind) else text.cast(pa.string())


def _utc_text(instant_json: pa.Array) -> pa.Array:
    """``"YYYY-MM-DDTHH:MM:SS[.ffffff]Z"`` → ``YYYY-MM-DD HH:MM:SS.ffffff+00:00`` (see prepare.utc_text)."""
    fraction = pc.if_else(pc.equal(pc.utf8_length(instant_json), 22), pa.scalar(".000000"),
                          pc.utf8_slice_codeunits(instant_json, 20, 27))
    return pc.binary_join_element_wise(pc.utf8_slice_codeunits(instant_json, 1, 11), " ",
                                       pc.utf8_slice_codeunits(instant_json, 12, 20), fraction, "+00:00", "")


def _exponents(column: pa.Array | None) -> pa.Array | None:
    """Each row's ISO 4217 minor-unit exponent (null where the currency is not valid)."""
    if column is None or not pa.types.is_string(column.type):
        return None
    codes = pc.unique(column).drop_null().to_pylist()
    known: dict[str, int] = {}
    for code in codes:
        try:
            known[code] = currency_exponent(code)
        except ValueError:
            pass
    names = pa.array(list(known), pa.string())
    return pc.take(pa.array(list(known.values()), pa.int8()), pc.index_in(column, names))


def _check_type(
    plan: TypePlan, shared: _SharedChecks, start: int, rows: int, received_json: str
) -> tuple[pa.Array, dict[str, pa.Array]] | None:
    """Rows ``start:start+rows`` (all of one event type) that pass every check, and
    the output columns; None if no row can."""
    sliced = ((n, c.slice(start, rows)) for n, c in shared.columns.items())
    present = {n: c for n, c in sliced if c.null_count < rows}
    checks = [pc.is_null(present[n]) for n in present.keys() - plan.names]  # unknown fields
    payload: list[pa.Array] = []
    content: list[pa.Array] = []
    texts: dict[str, pa.Array] = {}
    for field in plan.fields:
        column = present.get(field.name)
        needed = field.required or field.name == PARTNER_FIELD
        if column is None:
            if needed:
                return None
            text = None
        else:
            if needed:
                checks.append(pc.is_valid(column))
            valid, text = _values(field, column) if field.kind == "values" else shared.get(field, start, rows)
            checks.append(valid)
        fill = received_json if field.name == RECEIVED_FIELD else field.default_json
        if fill is not None:
            text = pa.array([fill] * rows, pa.string()) if text is None else text.fill_null(fill)
        if text is None:
            continue
        texts[field.name] = text
        piece = pc.binary_join_element_wise(f'"{field.name}":', text, "")
        payload.append(piece)
        if field.in_digest:
            content.append(piece)
    checks += _surely_in_time(plan, texts, received_json)
    ok = pa.nulls(rows, pa.bool_()).fill_null(True)
    for check in checks:
        ok = pc.and_(ok, check)

    def document(pieces: list[pa.Array]) -> pa.Array:
        body = pc.binary_join_element_wise(*pieces, ",", null_handling="skip")
        return pc.binary_join_element_wise("{", body, "}", "")

    target = present.get(plan.target_field)
    out = {
        "partner_id": present[PARTNER_FIELD],
        "event_id": present["event_id"],
        "consumer_id": present["consumer_id"],
        "type": present["type"],
        "occurred_at": _utc_text(texts["occurred_at"]),
        "received_at": _utc_text(texts[RECEIVED_FIELD]),
        "target_event_id": target if target is not None else pa.nulls(rows, pa.string()),
        "content": document(content),
        "payload": document(payload),
    }
    return ok, out


#: Whole years a scheduled date may surely be after the receipt's year (the rest go row by row).
_YEARS_AHEAD = SCHEDULE_AHEAD.days // 366 - 1


def _year(text: pa.Array) -> pa.Array:
    return pc.cast(pc.utf8_slice_codeunits(text, 1, 5), pa.int32())


def _surely_in_time(plan: TypePlan, texts: dict[str, pa.Array], now_json: str) -> list[pa.Array]:
    """Rows whose times surely keep their rules (credo.policy.event_time), compared on the JSON text
    (``"YYYY-MM-DD…"``, four-digit years): ``received_at`` no later than the second of ingestion, a
    time that has happened no later than the second (a date: the day) of receipt, a scheduled one
    less than ``_YEARS_AHEAD`` calendar years after it. Each is stricter than its rule; a row that
    fails one takes the per-row path, which applies the rule exactly."""
    received = texts[RECEIVED_FIELD]
    received_second = pc.utf8_slice_codeunits(received, 1, 20)
    checks = [pc.less_equal(received_second, pa.scalar(now_json[1:20])).fill_null(False)]
    for field in plan.fields:
        text = texts.get(field.name)
        if field.time_rule is None or text is None:
            continue
        if field.time_rule is TimeRule.SCHEDULED:
            ok = pc.less_equal(pc.subtract(_year(text), _year(received)), _YEARS_AHEAD)
        elif field.kind != "instant":  # a date: '"YYYY-MM-DD"'
            ok = pc.less_equal(pc.utf8_slice_codeunits(text, 1, 11), pc.utf8_slice_codeunits(received, 1, 11))
        else:
            ok = pc.less_equal(pc.utf8_slice_codeunits(text, 1, 20), received_second)
        checks.append(_or_null(text, ok))
    return checks


def _slow(batch: pa.RecordBatch, positions: pa.Array, first_index: int, received_at: datetime) -> list[Prepared | Outcome]:
    """The per-row path, on exactly the records the row decoder gives for these rows."""
    positions = pc.take(positions, pc.sort_indices(positions))
    records = decode_arrow(batch.take(positions))
    indices = [first_index + p for p in positions.to_pylist()]
    return prepare_records(records, partner_id=None, trusted_received_at=True, received_at=received_at,
                           indices=indices)


def _table_of(prepared: list[Prepared]) -> pa.Table:
    columns = list(zip(*prepared)) if prepared else [[] for _ in Prepared._fields]
    data = dict(zip(Prepared._fields, columns))
    return pa.table({
        "index": pa.array(data["index"], pa.int64()),
        **{name: pa.array(data[name], pa.string()) for name in Prepared._fields[1:]},
    })


def prepare_arrow(batch: pa.RecordBatch, *, first_index: int, received_at: datetime) -> PreparedBatch:
    """Phase one of a bulk batch (records trusted to carry their partner and receipt time)."""
    rows = batch.num_rows
    types = batch.column("type") if "type" in batch.schema.names else None
    fast: list[pa.Table] = []
    slow: list[pa.Array] = []
    if types is None or not pa.types.is_string(_plain(types).type):
        slow.append(pa.array(range(rows), pa.int64()))
    else:
        order = pc.sort_indices(_plain(types))
        table = pa.Table.from_batches([batch]).take(order)
        received_json = _INSTANT.dump_json(received_at).decode()
        sorted_types = _plain(table.column("type").combine_chunks())
        ends = pc.run_end_encode(sorted_types).run_ends.to_pylist()
        starts = [0, *ends[:-1]]
        plans = [type_plans().get(sorted_types[s].as_py()) if sorted_types[s].is_valid else None for s in starts]
        shared = _SharedChecks(table, [p for p in plans if p is not None])
        for start, end, plan in zip(starts, ends, plans):
            positions = order.slice(start, end - start)
            checked = _check_type(plan, shared, start, end - start, received_json) if plan is not None else None
            if checked is None:
                slow.append(positions)
            else:
                ok, out = checked
                index = pc.add(positions.cast(pa.int64()), first_index)
                fast.append(pa.table({"index": index, **out}).filter(ok))
                slow.append(positions.filter(pc.invert(ok)))
    slow_positions = pa.concat_arrays([p.cast(pa.int64()) for p in slow]) if slow else pa.array([], pa.int64())
    per_row = _slow(batch, slow_positions, first_index, received_at) if len(slow_positions) else []
    rejected = [item for item in per_row if isinstance(item, Outcome)]
    return _grouped(fast, [item for item in per_row if not isinstance(item, Outcome)], rejected)


def _grouped(fast: list[pa.Table], slow: list[Prepared], rejected: list[Outcome]) -> PreparedBatch:
    """Fast and per-row events together, grouped by partner as the store wants them."""
    tables = [t.drop_columns(["content"]).append_column("content_hash", _digests(t.column("content")))
              .select(list(Prepared._fields)) for t in fast if t.num_rows]
    tables.append(_table_of(slow))
    valid = pa.concat_tables(tables).combine_chunks()
    in_order = valid.take(pc.sort_indices(valid.column("index")))
    partners = in_order.column("partner_id")
    rank = pc.index_in(partners, pc.unique(partners))
    ranked = in_order.append_column("rank", rank)
    grouped = ranked.take(pc.sort_indices(ranked, sort_keys=[("rank", "ascending"), ("index", "ascending")]))
    return PreparedBatch(*(grouped.column(name).to_pylist() for name in Prepared._fields), rejected=rejected)


def _digests(content: pa.ChunkedArray) -> pa.Array:
    """The content digest of each canonical content text (as ``content_digest`` takes it)."""
    return pa.array([digest_of_content(text) for text in content.cast(pa.binary()).to_pylist()], pa.string())
