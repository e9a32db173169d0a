"""The ledger check through the service: GET /v1/ledger/verify is authenticated, read-only and walks only
what came after the newest signed checkpoint (finding 2); checkpoints are signed as they fall due and
each export carries the one covering the consumer's entries, which `credo ledger verify --anchor`
checks (finding 11). SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, event, func, select
from typer.testing import CliRunner

from credo.cli.main import app as cli
from credo.credentials.jose import CompactJWS, key_from_jwk
from credo.ledger import append_entry
from credo.ledger.checkpoints import CHECKPOINT_TYP
from credo.service import ledger_check
from credo.settings import get_settings
from credo.store.tables import access_ledger, ledger_checkpoints
from tests.service.support import TEST_LEDGER_SECRET, World


def _append(world: World, n: int) -> None:
    with world.engine.begin() as conn:
        for i in range(n):
            append_entry(conn, consumer_id=world.high(), actor="lender", actor_kind="partner", purpose="rental",
                         disclosed="band", outcome="allowed", at=world.clock[0] + timedelta(seconds=i))


@contextmanager
def _statements(world: World) -> Iterator[list[str]]:
    """Every SQL statement SQLite runs meanwhile (the driver's own trace)."""
    seen: list[str] = []
    traced = []

    def trace(dbapi_connection, _record, _proxy) -> None:  # noqa: ANN001
        dbapi_connection.set_trace_callback(seen.append)
        traced.append(dbapi_connection)
    event.listen(world.engine, "checkout", trace)
    try:
        yield seen
    finally:
        event.remove(world.engine, "checkout", trace)
        for connection in traced:
            connection.set_trace_callback(None)


def test_the_check_needs_a_caller_and_takes_no_write_lock(world: World) -> None:
    _append(world, 5)
    assert world.client.get("/v1/ledger/verify").status_code == 401
    if world.engine.dialect.name == "sqlite":
        world.engine.dispose()  # every connection checked out afresh, so traced
        with _statements(world) as seen:
            r = world.client.get("/v1/ledger/verify", headers=world.partner("lender"))
        assert seen and not [s for s in seen if s.startswith(("BEGIN IMMEDIATE", "INSERT", "UPDATE", "DELETE"))]
    else:
        r = world.client.get("/v1/ledger/verify", headers=world.partner("lender"))
    assert r.status_code == 200 and r.json()["ok"] is True


def test_the_api_walks_only_what_came_after_the_newest_checkpoint(world: World) -> None:
    world.svc.settings = world.svc.settings.model_copy(update={"ledger_checkpoint_every": 50})
    _append(world, 49)
    assert ledger_check.checkpoint_if_due(world.svc, world.clock[0]) is None  # not due yet
    _append(world, 1)
    signed = ledger_check.checkpoint_if_due(world.svc, world.clock[0])
    assert signed is not None and signed.seq == 50
    _append(world, 7)
    report = world.client.get("/v1/ledger/verify", headers=world.partner("lender")).json()
    assert report == {**report, "ok": True, "entries_checked": 7, "checkpoint_seq": 50, "head_seq": 57}
    published = world.client.get("/v1/ledger/checkpoint").json()
    assert published["seq"] == 50 and published["hash"] == signed.hash


def _cli_env(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads its settings from the environment: the world's key ring and secret."""
    monkeypatch.setenv("CREDO_KEY_DIR", str(world.svc.settings.key_dir))
    monkeypatch.setenv("CREDO_LEDGER_SECRET", TEST_LEDGER_SECRET)
    get_settings.cache_clear()


def test_the_export_carries_a_checkpoint_covering_the_consumers_entries(world: World, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    cid = world.high()
    me = world.consumer_token(cid)
    world.client.get("/v1/me/score", headers=me)
    export = world.client.get("/v1/me/export", headers=me).json()
    kept = export["ledger_checkpoint"]
    assert kept["seq"] >= max(e["seq"] for e in export["ledger"])  # the export's own entry included
    jws = CompactJWS(kept["signature"])
    jwk = next(k for k in world.client.get("/v1/.well-known/jwks.json").json()["keys"] if k["kid"] == jws.header["kid"])
    assert jws.verify(key_from_jwk(jwk)) and jws.header["typ"] == CHECKPOINT_TYP
    assert (jws.payload["seq"], jws.payload["hash"]) == (kept["seq"], kept["hash"])
    saved = tmp_path / "export.json"
    saved.write_text(json.dumps(export))

    _cli_env(world, monkeypatch)
    try:
        db = world.svc.settings.store_url
        runner = CliRunner()
        ok = runner.invoke(cli, ["ledger", "verify", "--db", db, "--anchor", str(saved)])
        assert ok.exit_code == 0, ok.output
        signed = runner.invoke(cli, ["ledger", "checkpoint", "--db", db])
        assert signed.exit_code == 0 and '"signature"' in signed.output, signed.output
        # an operator cuts the consumer's last entries, and the stored checkpoints with them
        with world.engine.begin() as conn:
            conn.execute(delete(ledger_checkpoints))
            conn.execute(delete(access_ledger).where(access_ledger.c.seq >= export["ledger"][-1]["seq"]))
            left = conn.execute(select(func.count()).select_from(access_ledger)).scalar_one()
        assert left > 0
        assert runner.invoke(cli, ["ledger", "verify", "--db", db]).exit_code == 0  # the store alone cannot tell
        cut = runner.invoke(cli, ["ledger", "verify", "--db", db, "--anchor", str(saved)])
        assert cut.exit_code == 1 and "LEDGER_ENTRY_MISSING" in cut.output, cut.output
    finally:
        get_settings.cache_clear()
