"""The operational store: migrations are the schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from credo.fairness.attributes import audit_metadata
from credo.store import metadata, upgrade_schema


def test_migrations_match_the_table_definitions(engine) -> None:  # noqa: ANN001
    """The store's tables and the audit store's (declared apart, on a metadata of its own) both."""
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), [metadata, audit_metadata])
    assert diff == []


def test_upgrade_is_idempotent(engine) -> None:  # noqa: ANN001
    upgrade_schema(engine)
    assert {"events", "partners", "api_keys", "consumers", "report_consents"} <= set(inspect(engine).get_table_names())


def test_sqlite_runs_wal_with_foreign_keys(engine) -> None:  # noqa: ANN001
    if engine.dialect.name != "sqlite":
        assert engine.dialect.name == "postgresql"
        return
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1


def test_postgres_sessions_read_times_back_in_utc(engine, monkeypatch) -> None:  # noqa: ANN001
    """A client or server default time zone other than UTC must not leak into what the store returns."""
    if engine.dialect.name != "postgresql":
        return
    from datetime import datetime, timezone

    from credo.store import create_store_engine

    monkeypatch.setenv("PGTZ", "America/Los_Angeles")  # libpq's default session time zone
    other = create_store_engine(engine.url.render_as_string(hide_password=False))
    try:
        with other.connect() as conn:
            assert conn.execute(text("SHOW TimeZone")).scalar_one() == "UTC"
            at = conn.execute(text("SELECT CAST('2024-09-06 23:30:00+00' AS timestamptz)")).scalar_one()
    finally:
        other.dispose()
    assert at == datetime(2024, 9, 6, 23, 30, tzinfo=timezone.utc) and at.utcoffset().total_seconds() == 0


def test_read_only_connections_read_beside_a_writer_without_its_lock(engine) -> None:  # noqa: ANN001
    """A look-up (API key, session) must not queue behind, or block, a writer in another process."""
    from datetime import datetime, timezone

    from credo.store import partners, read_only

    with engine.begin() as writer:
        writer.execute(partners.insert().values(id="p1", name="P", kind="credit", event_types=[],
                                                created_at=datetime.now(timezone.utc)))
        with read_only(engine) as reader:
            # a snapshot from before the writer's commit, taken without waiting for its lock
            assert reader.execute(text("SELECT count(*) FROM partners")).scalar_one() == 0
    with read_only(engine) as reader:
        assert reader.execute(text("SELECT count(*) FROM partners")).scalar_one() == 1
