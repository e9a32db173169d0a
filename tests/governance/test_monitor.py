"""`credo monitor` on two simulated scoring runs: when one partner's data shifts between them (the card
issuer starts reporting statement balances three times too high), it flags the inputs computed from those
statements and nothing else; with no shift it flags nothing. The report reaches the operator pages."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import and_, select, update
from typer.testing import CliRunner

from credo.cli.main import app as cli
from credo.monitoring import runs
from credo.service import console
from credo.store.tables import events
from tests.service.support import World

runner = CliRunner()
#: The inputs computed from credit statements' balances (and nothing else the card issuer reports).
FROM_STATEMENT_BALANCES = {"revolving_utilisation", "balance_to_limit", "average_utilisation_6m",
                           "payment_to_balance_3m", "payment_to_balance_6m"}
RUN_1, RUN_2 = "2024-08-01", "2024-09-01"


def _score(world: World, as_of: str) -> str:
    url = world.engine.url.render_as_string(hide_password=False)
    result = runner.invoke(cli, ["score", "--db", url, "--models", world.svc.settings.model_dir, "--as-of", as_of])
    assert result.exit_code == 0, result.output
    return re.search(r"run ([0-9a-f]{32})", result.output).group(1)


def _monitor(world: World, *args: str):  # noqa: ANN202
    url = world.engine.url.render_as_string(hide_password=False)
    return runner.invoke(cli, ["monitor", "--db", url, "--operator", "ops-lin", *args])


def _shift_card_statements(world: World) -> int:
    """The card issuer's statements of the second run's month, as it now reports them: balances x3."""
    with world.engine.begin() as conn:
        rows = conn.execute(select(events.c.seq, events.c.payload).where(and_(
            events.c.partner_id == "p-card", events.c.type == "credit.statement",
            events.c.occurred_at >= RUN_1))).all()
        for seq, payload in rows:
            body = json.loads(payload)
            body["balance"] = f"{float(body['balance']) * 3:.2f}"
            conn.execute(update(events).where(events.c.seq == seq).values(payload=json.dumps(body)))
    return len(rows)


def test_a_partners_shift_is_flagged_on_its_inputs_only(world: World, tmp_path) -> None:  # noqa: ANN001
    first = _score(world, RUN_1)
    _score(world, RUN_2)
    calm = _monitor(world)
    assert calm.exit_code == 0, calm.output
    with world.engine.connect() as conn:
        report = runs.latest(conn)
    assert report["previous_run_id"] == first and report["flagged"] == [] and report["level"] == "ok"

    assert _shift_card_statements(world) > 50
    shifted = _score(world, RUN_2)
    out = tmp_path / "drift.html"
    alarmed = _monitor(world, "--run", shifted, "--previous", first, "--out", str(out))
    assert alarmed.exit_code == 3, alarmed.output  # an alert
    with world.engine.connect() as conn:
        report = runs.latest(conn)
    flagged = set(report["flagged"])
    assert flagged <= FROM_STATEMENT_BALANCES
    assert {"revolving_utilisation", "balance_to_limit", "payment_to_balance_3m"} <= flagged
    by_feature = {f["feature"]: f for f in report["features"]}
    assert all(f["level_previous"] == "ok" for name, f in by_feature.items() if name not in FROM_STATEMENT_BALANCES)
    assert report["score_psi"]["previous"] > 0.1 and report["migration"]
    assert sum(sum(row.values()) for row in report["migration"].values()) > 200  # consumers scored in both runs
    assert "outcomes not known yet" in report["outcome_note"]
    assert "revolving_utilisation" in out.read_text()

    with world.engine.begin() as conn:
        console.add_operator(conn, "ops-lin", "a long operator passphrase", world.clock[0])
    client = TestClient(world.client.app)
    client.post("/operator/login", data={"username": "ops-lin", "password": "a long operator passphrase"})
    page = client.get("/operator/monitor")
    assert page.status_code == 200
    shown = re.search(r'data-testid="drift-flagged">([^<]*)<', page.text).group(1)
    assert set(shown.split(", ")) == flagged
