"""The governance operator pages: the registry with the gate's last decision, and the operator log with its
verification, which names a tampered entry."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from credo.governance import oplog
from credo.policy import governance as rules
from credo.service import console
from credo.store import metadata
from credo.store.tables import operator_log
from tests.governance.support import candidate, publish, register_programme
from tests.service.support import NOW, World

OPERATOR, PASSWORD = "ops-ines", "a long operator passphrase"


def _signed_in(world: World) -> TestClient:
    with world.engine.begin() as conn:
        console.add_operator(conn, OPERATOR, PASSWORD, world.clock[0])
    client = TestClient(world.client.app)
    r = client.post("/operator/login", data={"username": OPERATOR, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303
    return client


def _counts(world: World) -> dict[str, int]:
    with world.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in metadata.sorted_tables}


def test_registry_page_shows_what_serves_and_the_gates_rules(world: World) -> None:
    client = _signed_in(world)
    page = client.get("/operator/models").text
    version = candidate(world)
    assert "No model is published" in page and f'data-version="{version}"' in page
    register_programme(world)
    assert publish(world, version, at=NOW).published
    before = _counts(world)
    page = client.get("/operator/models").text
    assert _counts(world) == before  # reading writes nothing
    assert f"Serving: <span class=\"code\">{version}</span> (champion)" in page
    assert re.search(rf'<tr data-version="{version}">.*?<td class="model-status">serving</td>', page, re.S)
    for rule in rules.GATE_RULES:
        assert f'<tr data-rule="{rule.id}">' in page
    assert 'href="/operator/log"' in page and 'href="/operator/monitor"' in page


def test_log_page_lists_entries_and_names_a_tampered_one(world: World) -> None:
    register_programme(world)
    version = candidate(world)
    publish(world, version, at=NOW)
    client = _signed_in(world)
    page = client.get("/operator/log").text
    with world.engine.connect() as conn:
        entries = oplog.entries(conn)
    verdict = html.unescape(re.search(r'data-testid="oplog-verdict">(.*?)</p>', page, re.S).group(1))
    assert f"Intact: {len(entries)} entries checked" in verdict and entries[-1].hash in verdict
    assert all(f'<tr data-seq="{e.seq}">' in page for e in entries)
    with world.engine.begin() as conn:
        conn.execute(update(operator_log).where(operator_log.c.seq == 2).values(operator="nobody"))
    page = client.get("/operator/log").text
    verdict = html.unescape(re.search(r'data-testid="oplog-verdict">(.*?)</p>', page, re.S).group(1))
    assert "Broken at entry 2 [OPLOG_ENTRY_EDITED]" in verdict
    assert client.get("/operator/monitor").status_code == 200  # no report yet: says so
