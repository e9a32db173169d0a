"""Alembic environment: runs on a connection handed in by ``upgrade_schema``
or on the URL in the config (``alembic`` command line)."""

from alembic import context
from sqlalchemy import create_engine

from credo.store.tables import metadata

config = context.config


def _run(connection) -> None:  # noqa: ANN001
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    with create_engine(config.get_main_option("sqlalchemy.url")).begin() as conn:
        _run(conn)
