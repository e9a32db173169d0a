"""Stream a simulation chunk by chunk, to a caller or to a directory of files."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from credo.simulate.assemble import TIMESTAMP_FIELDS
from credo.simulate.config import SimulationChunk, SimulationConfig, SimulationSummary
from credo.simulate.engine import AUDIT_SCHEMA, CONSENT_SCHEMA, CONSUMER_SCHEMA, OUTCOME_SCHEMA, simulate_chunk
from credo.simulate.partners import partners

#: Columns worth dictionary-encoding in Parquet (low cardinality); ids and refs are not.
_DICT_COLUMNS = [
    "type", "partner_id", "consumer_id", "currency", "bill_kind", "rental_kind", "account_kind",
    "merchant_category", "status", "product", "reason", "level", "band", "income_band", "segment", "event_type",
]
_PARQUET_OPTS = {"compression": "zstd", "compression_level": 1, "row_group_size": 1 << 20,
                 "use_dictionary": _DICT_COLUMNS}


def iter_simulation(config: SimulationConfig) -> Iterator[SimulationChunk]:
    """Yield the population chunk by chunk (chunk ``i`` is independent of the others)."""
    for i in range(config.n_chunks):
        yield simulate_chunk(config, i)


def _iso_timestamps(table: pa.Table) -> pa.Table:
    for name in table.column_names:
        if name in TIMESTAMP_FIELDS or name == "granted_at":
            i = table.schema.get_field_index(name)
            col = pc.cast(table.column(i), pa.timestamp("s", tz="UTC"))
            table = table.set_column(i, name, pc.strftime(col, format="%Y-%m-%dT%H:%M:%SZ"))
    return table


def write_jsonl(table: pa.Table, path: Path) -> None:
    """One flat JSON object per line; null fields omitted; ISO-8601 UTC times with ``Z``."""
    table = _iso_timestamps(table)
    with open(path, "wb") as fh:
        for batch in table.to_batches(max_chunksize=65_536):
            for row in batch.to_pylist():
                fh.write(orjson.dumps({k: v for k, v in row.items() if v is not None}))
                fh.write(b"\n")


def _write(table: pa.Table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        pq.write_table(table, path, **_PARQUET_OPTS)
    else:
        write_jsonl(table, path)


def simulate_to_directory(
    config: SimulationConfig,
    out_dir: Path,
    fmt: Literal["parquet", "jsonl"] = "parquet",
    progress: Callable[[int], None] | None = None,
) -> SimulationSummary:
    """Simulate ``config`` into ``out_dir``, one chunk at a time (bounded memory).

    Layout: ``partners.json``, ``consumers.parquet``, ``consents.parquet``,
    ``events/part-00000.parquet`` … (or ``.jsonl``), ``outcomes.parquet``,
    ``audit.parquet`` (synthetic audit-only attributes, loaded apart from events for fairness tests),
    ``summary.json``. ``progress`` is called with the number of consumers
    finished after each chunk (an increment, not a total).
    """
    if fmt not in ("parquet", "jsonl"):
        raise ValueError(f"unknown format {fmt!r}")
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    events_dir = out_dir / "events"
    events_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "partners.json").write_text(json.dumps(partners(), indent=2) + "\n")

    writers: dict[str, pq.ParquetWriter] = {}
    by_type: Counter[str] = Counter()
    files = ["partners.json", "consumers.parquet", "consents.parquet", "outcomes.parquet", "audit.parquet",
             "summary.json"]
    totals = Counter()
    try:
        for chunk in iter_simulation(config):
            for name in ("consumers", "consents", "outcomes", "audit"):
                table = getattr(chunk, name)
                if name not in writers:
                    writers[name] = pq.ParquetWriter(out_dir / f"{name}.parquet", table.schema, **{
                        k: v for k, v in _PARQUET_OPTS.items() if k != "row_group_size"})
                writers[name].write_table(table, row_group_size=_PARQUET_OPTS["row_group_size"])
            part = f"events/part-{chunk.index:05d}.{fmt}"
            _write(chunk.events, out_dir / part, fmt)
            files.append(part)
            counts = pc.value_counts(chunk.events.column("type")).to_pylist()
            by_type.update({c["values"]: c["counts"] for c in counts})
            cons = chunk.consumers
            never = cons.column("never_borrows")
            borrower = pc.invert(never)
            bad = pc.is_valid(chunk.outcomes.column("first_bad_date"))
            totals["events"] += chunk.events.num_rows
            totals["consents"] += chunk.consents.num_rows
            totals["borrowers"] += pc.sum(borrower).as_py() or 0
            totals["bad"] += pc.sum(bad).as_py() or 0
            totals["bad_never"] += pc.sum(pc.and_(never, bad)).as_py() or 0
            totals["thin"] += pc.sum(cons.column("thin_file")).as_py() or 0
            totals["never"] += pc.sum(never).as_py() or 0
            n = cons.num_rows
            del chunk, cons, counts
            if progress is not None:
                progress(n)
    finally:
        for w in writers.values():
            w.close()
    for name, schema in (("consumers", CONSUMER_SCHEMA), ("consents", CONSENT_SCHEMA),
                         ("outcomes", OUTCOME_SCHEMA), ("audit", AUDIT_SCHEMA)):
        if name not in writers:  # no consumers: still write empty, typed tables
            pq.write_table(schema.empty_table(), out_dir / f"{name}.parquet", **_PARQUET_OPTS)

    summary = SimulationSummary(
        consumers=config.consumers, months=config.months, seed=config.seed,
        start=config.start.isoformat(), end=config.end.isoformat(),
        currency=config.currency, chunk_size=config.chunk_size, chunks=config.n_chunks,
        events=totals["events"], consents=totals["consents"], events_by_type=dict(by_type),
        borrowers=totals["borrowers"], bad=totals["bad"], bad_non_borrowers=totals["bad_never"],
        thin_file=totals["thin"],
        never_borrows=totals["never"], out_dir=out_dir, format=fmt, files=files,
    )
    (out_dir / "summary.json").write_text(json.dumps(summary.to_json_dict(), indent=2) + "\n")
    summary.elapsed_seconds = time.perf_counter() - t0
    return summary
