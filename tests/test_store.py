"""The operational store: migrations are the schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from credo.store import metadata, upgrade_schema


def test_migrations_match_the_table_definitions(engine) -> None:  # noqa: ANN001
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
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
