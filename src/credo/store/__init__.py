"""Operational store: SQLAlchemy tables, engines and Alembic migrations."""

from credo.store.db import create_store_engine, read_only, upgrade_schema
from credo.store.tables import api_keys, consumers, events, metadata, partners, registry_version, report_consents, scores

__all__ = [
    "api_keys", "consumers", "create_store_engine", "events", "metadata",
    "partners", "read_only", "registry_version", "report_consents", "scores", "upgrade_schema",
]
