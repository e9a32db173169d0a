"""Issuer keys: a server never signs with a key ring its store has not signed with, and never makes one
silently over an existing deployment (issue 11, finding 6)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select
from typer.testing import CliRunner

from credo.api import create_app
from credo.cli.main import app as cli
from credo.credentials import KeyRing
from credo.service import Service
from credo.service.issuer_keys import open_keyring, recorded_kids
from credo.settings import SettingsError
from credo.store import upgrade_schema
from credo.store.db import alembic_config
from credo.store.tables import issued_credentials, issuer_keys
from tests.service.support import TEST_LEDGER_SECRET, deployment_settings

NOW = datetime(2024, 9, 1, 12, 0, tzinfo=timezone.utc)


def test_a_fresh_store_gets_one_ring_and_the_same_one_on_every_start(engine: Engine, tmp_path: Path) -> None:
    ring = open_keyring(engine, tmp_path / "keys", NOW)
    assert recorded_kids(engine) == [ring.active.kid]
    again = open_keyring(engine, tmp_path / "keys", NOW + timedelta(days=1))
    assert again.kids == ring.kids and recorded_kids(engine) == [ring.active.kid]


def test_another_directory_is_refused_not_filled_with_a_new_key(engine: Engine, tmp_path: Path) -> None:
    ring = open_keyring(engine, tmp_path / "keys", NOW)
    elsewhere = tmp_path / "started-elsewhere" / "keys"
    with pytest.raises(SettingsError, match=f"CREDO_KEY_DIR .* holds no key ring, .* {ring.active.kid}"):
        open_keyring(engine, elsewhere, NOW)
    assert not elsewhere.exists()
    KeyRing.generate(NOW).save(tmp_path / "other-ring")
    with pytest.raises(SettingsError, match=f"does not hold issuer key {ring.active.kid}"):
        open_keyring(engine, tmp_path / "other-ring", NOW)
    assert recorded_kids(engine) == [ring.active.kid]


def test_a_rotated_and_pruned_ring_stays_the_deployments(engine: Engine, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    first = open_keyring(engine, keys, NOW).active.kid
    ring = KeyRing.load(keys)
    second = ring.rotate(NOW + timedelta(days=1)).kid
    ring.save(keys)
    assert open_keyring(engine, keys, NOW + timedelta(days=1)).active.kid == second
    assert recorded_kids(engine) == [second, first]
    ring.prune(NOW + timedelta(days=5))
    ring.save(keys)
    assert open_keyring(engine, keys, NOW + timedelta(days=5)).kids == [second]


def test_servers_starting_together_on_a_fresh_store_make_one_ring(engine: Engine, tmp_path: Path) -> None:
    barrier = threading.Barrier(4)
    kids: list[str] = []

    def start() -> None:
        barrier.wait()
        kids.append(open_keyring(engine, tmp_path / "keys", NOW).active.kid)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(kids) == 4 and len(set(kids)) == 1 and recorded_kids(engine) == kids[:1]


def test_the_migration_records_the_keys_of_credentials_already_issued(engine: Engine) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
    with engine.begin() as conn:
        conn.execute(insert(issued_credentials).values(id="c1", consumer_id=None, status_idx=7, band="good",
                                                       kid="old-kid", issued_at=NOW, expires_at=NOW))
    upgrade_schema(engine)
    with engine.connect() as conn:
        assert conn.execute(select(issuer_keys.c.kid)).scalars().all() == ["old-kid"]


def test_the_app_and_credo_serve_refuse_to_start_on_the_wrong_ring(engine: Engine, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    open_keyring(engine, tmp_path / "keys", NOW)
    url = engine.url.render_as_string(hide_password=False)
    settings = deployment_settings(url, key_dir=tmp_path / "moved")
    app = create_app(settings, engine, Service(engine, settings, clock=lambda: NOW))
    with pytest.raises(SettingsError, match="holds no key ring"), TestClient(app):
        pass
    monkeypatch.setenv("CREDO_LEDGER_SECRET", TEST_LEDGER_SECRET)
    monkeypatch.setenv("CREDO_KEY_DIR", str(tmp_path / "moved"))
    result = CliRunner().invoke(cli, ["serve", "--db", url])
    assert result.exit_code == 2 and "holds no key ring" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "moved").exists()
