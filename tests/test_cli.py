"""The ``credo`` command: schema export, file ingest in every format, the demo."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from credo.cli.main import app
from credo.events import EVENT_TYPES
from credo.events.columns import flat_schema
from credo.store import create_store_engine, events, upgrade_schema
from tests.factories import all_examples, example, populate

runner = CliRunner()


def test_schema_writes_every_event_type(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = {p.name.removesuffix(".schema.json") for p in tmp_path.glob("*.schema.json")}
    assert written == set(EVENT_TYPES)
    schema = json.loads((tmp_path / "order.placed.schema.json").read_text())
    assert schema["additionalProperties"] is False
    assert schema["properties"]["merchant_category"]["data_category"] == "spending_insight"


def _write(path: Path, records: list[dict], fmt: str) -> None:
    """Write records with the flat columns plus any extra column a record smuggles in."""
    extras = sorted({k for r in records for k in r} - set(flat_schema().names))
    if fmt == "jsonl":
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    elif fmt == "csv":
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=flat_schema().names + extras)
            writer.writeheader()
            writer.writerows(records)
    else:
        schema = flat_schema()
        for name in extras:
            schema = schema.append(pa.field(name, pa.string()))
        pq.write_table(pa.Table.from_pylist(records, schema=schema), path)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_ingest_file_reports_and_stores(tmp_path: Path, fmt: str) -> None:
    db = tmp_path / "s.db"
    engine = create_store_engine(f"sqlite:///{db}")
    upgrade_schema(engine)
    populate(engine)
    records = [{**r, "partner_id": "p-all"} for r in all_examples()]
    records.append(example("bill.paid", event_id="bad", partner_id="p-all", gender="x"))
    path = tmp_path / f"events.{fmt}"
    _write(path, records, fmt)
    result = runner.invoke(app, ["ingest", str(path), "--db", f"sqlite:///{db}", "--chunk-size", "7"])
    assert result.exit_code == 2, result.output  # some rejected
    assert f"accepted {len(EVENT_TYPES)}" in result.output
    assert "POLICY_FORBIDDEN_CATEGORY:FC06" in result.output
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == len(EVENT_TYPES)
    again = runner.invoke(app, ["ingest", str(path), "--db", f"sqlite:///{db}"])
    assert f"duplicates {len(EVENT_TYPES)}" in again.output


def test_malformed_jsonl_line_is_reported_not_fatal(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    engine = create_store_engine(f"sqlite:///{db}")
    upgrade_schema(engine)
    populate(engine)
    path = tmp_path / "e.jsonl"
    path.write_bytes(b'{"broken": \n' + orjson.dumps(example("bill.paid", partner_id="p-all")) + b"\n")
    result = runner.invoke(app, ["ingest", str(path), "--db", f"sqlite:///{db}"])
    assert "accepted 1" in result.output and "REQ_MALFORMED" in result.output


def test_demo_runs_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["demo", "--consumers", "300", "--months", "20", "--no-serve"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "consumers 301" in result.output  # 300 simulated + the demo's consumer without consent
    assert "POLICY_FORBIDDEN_CATEGORY:FC03" in result.output
    assert "CONSENT_NOT_GIVEN" in result.output
    assert "Score distribution" in result.output and "not enough data" in result.output
    assert (tmp_path / "credo-demo.db").exists()
    assert (tmp_path / "credo-demo.models" / "champion.json").exists()
    assert (tmp_path / "credo-demo.models" / "report.html").read_text().count("<img") == 3
    _printed_demo_logins_work(tmp_path, result.output)


def _printed_demo_logins_work(tmp_path: Path, output: str) -> None:
    """Every login the demo prints signs in: the consumers see what their label says, the partner's
    console shows the perk at 650, the operator's pages open."""
    import re

    from fastapi.testclient import TestClient

    from credo.api import create_app
    from credo.settings import Settings

    settings = Settings(dev_mode=True, database_url=f"sqlite:///{tmp_path / 'credo-demo.db'}",
                        model_dir=str(tmp_path / "credo-demo.models"), key_dir=(tmp_path / "credo-demo.keys"))
    logins = dict(re.findall(r"username (\S+)\s+password (\S+)", output))
    key = re.search(r"API key (credo_\S+)", output).group(1)
    assert set(logins) == {"good-score", "poor-score", "thin-file", "operator"}
    with TestClient(create_app(settings)) as client:
        for username in ("good-score", "poor-score", "thin-file"):
            client.cookies.clear()
            page = client.post("/login", data={"username": username, "password": logins[username]})
            assert page.status_code == 200 and page.url.path == "/me", username
            number = re.search(r'data-testid="score">(\d+)<', page.text)
            if username == "thin-file":
                assert number is None and "Not enough data to score you yet" in page.text
            elif username == "good-score":
                assert int(number.group(1)) >= 650 and "Nothing is lowering this score." in page.text
            else:
                assert int(number.group(1)) < 650 and page.text.count("What would help:") >= 1
        client.cookies.clear()
        console = client.post("/partner/login", data={"api_key": key})
        assert console.url.path == "/partner" and "deposit-free-650" in console.text and ">650<" in console.text
        client.cookies.clear()
        operator = client.post("/operator/login", data={"username": "operator", "password": logins["operator"]})
        assert operator.url.path == "/operator"
