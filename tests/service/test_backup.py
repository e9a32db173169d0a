"""``credo backup`` / ``credo restore`` on SQLite and PostgreSQL: a round trip keeps every row (events,
scores, credentials and so the status list's bits) and a ledger that verifies to the same head; a
backup taken while a writer commits holds exactly a prefix of its transactions, each whole; a restore
over a store in use is refused without ``--replace``; a damaged backup changes nothing."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, select, text
from typer.testing import CliRunner

from credo.cli.main import app as cli
from credo.credentials import HolderKey
from credo.ingest.prepare import prepare_records
from credo.ingest.service import store_prepared
from credo.ledger import ActorKind, verify_chain
from credo.registry import grant_report_consent, register_partner
from credo.service import access, sharing
from credo.service.issuer_keys import open_keyring
from credo.store import create_store_engine, metadata, upgrade_schema
from credo.store.tables import access_ledger, events
from tests.factories import example
from tests.service.support import NOW, PASSWORD, POSTGRES_URL, World

runner = CliRunner()


def _url(world: World) -> str:
    return world.engine.url.render_as_string(hide_password=False)


@contextmanager
def _empty_store(world: World, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty store of the world's kind: a new SQLite file, or a new PostgreSQL database
    whose search_path schema has the world's schema name (a restore keeps schema names)."""
    if world.engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    assert POSTGRES_URL
    with world.engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    name = f"bk_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = make_url(POSTGRES_URL).set(database=name)
    fresh = create_engine(database)
    with fresh.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    fresh.dispose()
    try:
        yield f"{database.render_as_string(hide_password=False)}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
                    for t in metadata.sorted_tables}
    finally:
        engine.dispose()


def _use_the_service(world: World) -> None:
    """Scores read, credentials issued, one consumer's revoked by closing the account (which also
    pseudonymises their ledger entries): every kind of row a backup must carry."""
    tokens = {cid: world.consumer_token(cid) for cid in (world.high(0), world.high(1))}
    for me in tokens.values():
        assert world.client.get("/v1/me/score", headers=me).status_code == 200
        r = world.client.post("/v1/me/credentials", headers=me, json={"holder_jwk": HolderKey().public_jwk()})
        assert r.status_code == 201, r.text
    closing = tokens[world.high(1)]
    assert world.client.post("/v1/me/close", headers=closing, json={"password": PASSWORD}).status_code == 200


def _backup(url: str, file: Path) -> str:
    result = runner.invoke(cli, ["backup", str(file), "--db", url])
    assert result.exit_code == 0, result.output
    return result.output


def _restore(url: str, file: Path, *extra: str) -> Any:
    return runner.invoke(cli, ["restore", str(file), "--db", url, *extra])


def test_round_trip_keeps_every_row_the_status_list_and_a_verifiable_ledger(world: World, tmp_path: Path) -> None:
    _use_the_service(world)
    with world.engine.connect() as conn:
        ledger = verify_chain(conn)
        status = sharing.status_issuer(conn, world.svc.status_list_uri)
    assert ledger.ok and ledger.entries_checked >= 5
    assert status.allocated and any(status.is_revoked(i) for i in status.allocated)
    before = _contents(_url(world))
    assert all(before[t] for t in ("events", "scores", "access_ledger", "issued_credentials"))

    file = tmp_path / "credo.backup"
    said = _backup(_url(world), file)
    assert f"{ledger.entries_checked:,} ledger entries (head {ledger.head_seq} {ledger.head_hash[:16]}" in said
    with _empty_store(world, tmp_path) as target:
        result = _restore(target, file)
        assert result.exit_code == 0, result.output
        assert f"ledger ok: {ledger.entries_checked:,} entries, head {ledger.head_seq} {ledger.head_hash}" in \
            result.output.replace("\n", " ")
        assert _contents(target) == before
        restored = create_store_engine(target)
        try:
            with restored.connect() as conn:
                assert verify_chain(conn, expected_head=(ledger.head_seq, ledger.head_hash)).ok
                bits = sharing.status_issuer(conn, world.svc.status_list_uri)
            assert bits.list.to_bytes() == status.list.to_bytes() and bits.allocated == status.allocated
            # the deployment's key ring is still the restored store's: the server would start on it
            open_keyring(restored, world.svc.settings.key_directory, NOW)
        finally:
            restored.dispose()


def test_restore_over_a_store_in_use_needs_replace_and_then_brings_the_backup_back(world: World,
                                                                                  tmp_path: Path) -> None:
    file = tmp_path / "credo.backup"
    _backup(_url(world), file)
    backed_up = _contents(_url(world))
    assert world.client.get("/v1/me/score", headers=world.consumer_token(world.low(0))).status_code == 200
    changed = _contents(_url(world))
    assert changed != backed_up

    refused = _restore(_url(world), file)
    assert refused.exit_code == 2
    assert "the store is not empty" in refused.output and "--replace" in refused.output
    assert "access_ledger" in refused.output and "events" in refused.output
    assert _contents(_url(world)) == changed

    world.engine.dispose()
    replaced = _restore(_url(world), file, "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert _contents(_url(world)) == backed_up


def _write_one(world: World, consumer_id: str, i: int) -> None:
    """One transaction: a partner's event and a ledger entry that names it."""
    record = example("bill.paid", event_id=f"bk-{i}", consumer_id=consumer_id, bill_ref=f"bk-{i}")
    with world.svc.serial(), world.engine.begin() as conn:
        prepared = prepare_records([record], partner_id="bk-writer", trusted_received_at=False, received_at=NOW)
        [outcome] = store_prepared(conn, prepared)
        assert outcome.status == "accepted", outcome
        access.record(conn, consumer_id=consumer_id, actor=access.Actor(ActorKind.PARTNER, "bk-writer"),
                      purpose="backup_test", disclosed=f"writer:{i}", now=NOW)


def test_a_backup_taken_while_a_writer_commits_holds_a_prefix_of_whole_transactions(world: World,
                                                                                      tmp_path: Path) -> None:
    cid = world.high()
    with world.engine.begin() as conn:
        register_partner(conn, "bk-writer", "Writer Utility", "utility", ["bill.paid"])
        grant_report_consent(conn, cid, "bk-writer", ["bill.paid"])
    committed: list[int] = []
    progress = threading.Condition()
    stop = threading.Event()
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(50_000):  # bounded; stopped long before
                if stop.is_set():
                    return
                _write_one(world, cid, i)
                with progress:
                    committed.append(i)
                    progress.notify_all()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)
            with progress:
                progress.notify_all()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with progress:
            assert progress.wait_for(lambda: len(committed) >= 20 or failures, timeout=120)
        first = len(committed)
        file = tmp_path / "during.backup"
        _backup(_url(world), file)
        last = len(committed)
        with progress:  # the writer went on after the backup: it was running all along
            assert progress.wait_for(lambda: len(committed) >= last + 20 or failures, timeout=120)
    finally:
        stop.set()
        thread.join(timeout=120)
    assert not failures, failures

    with _empty_store(world, tmp_path) as target:
        result = _restore(target, file)
        assert result.exit_code == 0, result.output
        assert "ledger ok" in result.output
        restored = create_store_engine(target)
        try:
            with restored.connect() as conn:
                assert verify_chain(conn).ok
                stored = {int(e[3:]) for e in conn.execute(
                    select(events.c.event_id).where(events.c.partner_id == "bk-writer")).scalars()}
                named = {int(d.split(":")[1]) for d in conn.execute(
                    select(access_ledger.c.disclosed).where(access_ledger.c.purpose == "backup_test")).scalars()}
        finally:
            restored.dispose()
    assert stored == named  # each transaction whole: its event and its ledger entry, or neither
    assert stored == set(range(len(stored)))  # a prefix of the writer's commits: one point in time
    # at least what was committed when the backup began; at most what was, when it ended (plus the
    # one commit that may have returned but not yet been counted)
    assert first <= len(stored) <= last + 1


def test_a_damaged_backup_changes_nothing(world: World, tmp_path: Path) -> None:
    file = tmp_path / "credo.backup"
    _backup(_url(world), file)
    whole = file.read_bytes()
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(whole[: len(whole) * 2 // 3])
    before = _contents(_url(world))
    world.engine.dispose()
    result = _restore(_url(world), damaged, "--replace")
    assert result.exit_code in (1, 2), result.output  # refused (a check saw the damage) or failed midway
    assert "damaged.backup" in result.output
    assert _contents(_url(world)) == before


def test_backup_refuses_an_existing_file_and_a_missing_store(tmp_path: Path) -> None:
    existing = tmp_path / "kept.backup"
    existing.write_text("precious")
    store = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade_schema(create_store_engine(store))
    result = runner.invoke(cli, ["backup", str(existing), "--db", store])
    assert result.exit_code == 2 and "exists" in result.output and existing.read_text() == "precious"
    missing = tmp_path / "nowhere.db"
    result = runner.invoke(cli, ["backup", str(tmp_path / "new.backup"), "--db", f"sqlite:///{missing}"])
    assert result.exit_code == 2 and "no SQLite store" in result.output
    assert not missing.exists() and not (tmp_path / "new.backup").exists()


def test_restore_refuses_what_is_not_a_backup_of_a_credo_store(tmp_path: Path) -> None:
    junk = tmp_path / "junk.backup"
    junk.write_text("not a database")
    target = tmp_path / "store.db"
    result = runner.invoke(cli, ["restore", str(junk), "--db", f"sqlite:///{target}"])
    assert result.exit_code == 2 and "not a SQLite backup of a Credo store" in result.output


@pytest.mark.postgres
def test_postgres_restore_refuses_another_schema_name(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured (set CREDO_TEST_POSTGRES_URL)")
    admin = create_engine(POSTGRES_URL)
    names = [f"bk_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    with admin.begin() as conn:
        for name in names:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        source, target = (f"{POSTGRES_URL}?options=-csearch_path%3D{name}" for name in names)
        upgrade_schema(create_store_engine(source))
        file = tmp_path / "pg.backup"
        _backup(source, file)
        result = runner.invoke(cli, ["restore", str(file), "--db", target])
        assert result.exit_code == 2 and f"the backup holds schema '{names[0]}'" in result.output
    finally:
        with admin.begin() as conn:
            for name in names:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()
