"""The store every ``--db`` command works on: one option and one way to open (and migrate) it."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import Engine

DbOption = Annotated[
    str | None, typer.Option("--db", help="SQLAlchemy URL of the store (default: $CREDO_DATABASE_URL or sqlite:///credo.db).")
]


def store_engine(db: str | None) -> Engine:
    """The store at ``db`` (default: the configured store URL), its schema upgraded to this version."""
    from credo.settings import get_settings
    from credo.store import create_store_engine, upgrade_schema

    engine = create_store_engine(db or get_settings().store_url)
    upgrade_schema(engine)
    return engine


__all__ = ["DbOption", "store_engine"]
