"""The Taiwan dataset enters through the normal ingestion path; audit columns never become events."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow.parquet as pq
from sqlalchemy import select
from typer.testing import CliRunner

from credo.cli.main import app
from credo.importers.taiwan import AUDIT_COLUMNS
from credo.store import create_store_engine, events

DATA = Path(__file__).parent / "data" / "taiwan_default_credit_card.csv"


def test_import_taiwan_sample(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    out = tmp_path / "tw"
    result = CliRunner().invoke(app, ["import", "taiwan", str(DATA), "--out", str(out), "--db", db, "--limit", "200"])
    assert result.exit_code == 0, result.output
    assert "rejected 0" in result.output
    with create_store_engine(db).connect() as conn:
        payloads = [orjson.loads(p) for p in conn.execute(select(events.c.payload)).scalars()]
    assert {p["consumer_id"] for p in payloads} == {f"tw-{i:05d}" for i in range(1, 201)}
    first = [p for p in payloads if p["consumer_id"] == "tw-00001"]
    # Row 1: limit 20000, PAY_0 (September) = 2 months late, PAY_2 (August) = 2.
    assert {p["limit"] for p in first if p["type"] == "credit.opened"} == {"20000.00"}
    september = [p for p in first if p["type"] == "credit.status" and p["as_of_date"] == "2005-09-30"]
    assert september[0]["days_past_due"] == 60
    keys = {k.lower() for p in payloads for k in p}
    assert not keys & {c.lower() for c in AUDIT_COLUMNS}
    audit = pq.read_table(out / "audit.parquet").to_pandas()
    assert list(audit.columns) == ["consumer_id", *AUDIT_COLUMNS]
    labels = pq.read_table(out / "labels.parquet").to_pandas()
    assert len(labels) == 200 and set(labels["bad"]) <= {0, 1}
