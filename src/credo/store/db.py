"""Engines for the operational store and schema upgrades through Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI hook
    dbapi_connection.isolation_level = None  # let SQLAlchemy's begin hook issue BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB: index pages stay hot during bulk loads
    # Checkpoint every ~400 MB of WAL rather than ~80 MB: a bulk load rewrites the
    # same index pages in many commits, and each checkpoint writes them (and syncs)
    # once; at 5,000-event commits this cut the store's time per event by a quarter.
    # The file is cut back to 64 MiB after each checkpoint.
    cursor.execute("PRAGMA wal_autocheckpoint=100000")
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.close()


def _postgres_utc(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI hook
    """Sessions in UTC, whatever the server's or client's (PGTZ) default: timestamptz values then read
    back as UTC like SQLite's naive-UTC ones, so API output, dates and day windows agree on both."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True  # outside a transaction, so the pool's reset cannot roll it back
    cursor = dbapi_connection.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    dbapi_connection.autocommit = autocommit


_READ_ONLY = "credo_read_only"


def _begin(connection) -> None:  # noqa: ANN001 - SQLAlchemy hook
    """Straight on the driver connection: through ``exec_driver_sql`` the BEGIN cost ~25 µs of
    SQLAlchemy's execution machinery, on every transaction (two per eligibility check)."""
    deferred = connection.get_execution_options().get(_READ_ONLY)
    connection.connection.driver_connection.execute("BEGIN" if deferred else "BEGIN IMMEDIATE")


def read_only(engine: Engine) -> Connection:
    """A connection for look-ups that write nothing (``with read_only(engine) as conn``).

    On SQLite its transactions begin DEFERRED: a read snapshot that takes no write lock, so
    an API-key or session look-up neither waits for nor holds up a writer in another
    process. Elsewhere it is a plain connection."""
    return engine.connect().execution_options(**{_READ_ONLY: True})


def create_store_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout.

    ``synchronous=NORMAL`` under WAL keeps every committed transaction across a
    process crash (kill -9); only an OS crash can lose the last commits.
    Transactions start with ``BEGIN IMMEDIATE`` so a writer never fails to
    upgrade a read lock halfway through a batch (:func:`read_only` connections excepted).
    ``hide_parameters``: a database error's text never carries the statement's values (event
    payloads, usernames, password hashes), so it can be logged.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin)
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, hide_parameters=True)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgres_utc)
    return engine


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_schema(engine: Engine) -> None:
    """Bring the store's schema to the latest migration (idempotent)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def schema_is_current(engine: Engine) -> bool:
    """Whether the store's schema is at the latest migration (a read; nothing is upgraded)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False))).get_current_head()
    with read_only(engine) as conn:
        return MigrationContext.configure(conn).get_current_revision() == head
