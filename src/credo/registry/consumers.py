"""Consumer enrolment. Enrolling grants nothing: every consent is a separate act."""

from __future__ import annotations

from sqlalchemy import Connection, insert

from credo.registry.clock import utcnow
from credo.registry.consents import bump_registry_version
from credo.store.tables import consumers


def enrol_consumer(conn: Connection, consumer_id: str) -> None:
    conn.execute(insert(consumers).values(id=consumer_id, status="active", enrolled_at=utcnow()))
    bump_registry_version(conn)
