"""Database errors never carry the statement's values, so they can be logged (issue 11, finding 12)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError

from credo.registry import enrol_consumer
from credo.store.tables import accounts


def test_an_integrity_error_hides_the_row(engine: Engine) -> None:
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:
        enrol_consumer(conn, "c-1")
        enrol_consumer(conn, "c-2")
        conn.execute(insert(accounts).values(id="a-1", username="alice.private", password_hash="argon2-hash-one",
                                             consumer_id="c-1", created_at=now))
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(insert(accounts).values(id="a-2", username="bob.private", password_hash="argon2-hash-two",
                                             consumer_id="c-1", created_at=now))
    text = str(caught.value)
    assert "SQL parameters hidden" in text
    for value in ("bob.private", "argon2-hash-two", "a-2"):
        assert value not in text
