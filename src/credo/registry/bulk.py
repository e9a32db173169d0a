"""Bulk registration of partners, consumers and consents (simulated or migrated populations).

Rows go in with executemany in chunks; every consent is still checked against
the partner's registered event types, exactly as a single grant would be.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import Engine, insert, select

from credo.errors import CredoError, ErrorCode
from credo.registry.clock import utcnow
from credo.registry.consents import bump_registry_version
from credo.registry.partners import issue_api_key, register_partner
from credo.store.tables import consumers, partners, report_consents


def register_partners(engine: Engine, partner_specs: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Register partners not yet known; returns partner id → new API key (shown once)."""
    keys: dict[str, str] = {}
    with engine.begin() as conn:
        known = set(conn.execute(select(partners.c.id)).scalars())
        for spec in partner_specs:
            if spec["partner_id"] in known:
                continue
            register_partner(conn, spec["partner_id"], spec["name"], spec["kind"], spec["event_types"])
            keys[spec["partner_id"]] = issue_api_key(conn, spec["partner_id"])
    return keys


def load_consumers_and_consents(
    engine: Engine,
    consumer_chunks: Iterator[list[str]],
    consent_chunks: Iterator[list[tuple[str, str, str]]],
    on_rows: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Enrol consumers and record their explicit (consumer, partner, type) grants."""
    now = utcnow()
    enrolled = granted = 0
    with engine.connect() as conn:
        allowed = {pid: set(types) for pid, types in conn.execute(select(partners.c.id, partners.c.event_types))}
    for chunk in consumer_chunks:
        with engine.begin() as conn:
            conn.execute(insert(consumers), [{"id": c, "status": "active", "enrolled_at": now} for c in chunk])
            bump_registry_version(conn)
        enrolled += len(chunk)
        if on_rows:
            on_rows(len(chunk))
    for chunk in consent_chunks:
        for consumer_id, partner_id, event_type in chunk:
            if event_type not in allowed.get(partner_id, ()):
                raise CredoError(
                    ErrorCode.EVENT_TYPE_NOT_PERMITTED,
                    f"partner {partner_id!r} does not report {event_type} (consumer {consumer_id})",
                    "event_type",
                )
        with engine.begin() as conn:
            conn.execute(
                insert(report_consents),
                [
                    {"consumer_id": c, "partner_id": p, "event_type": t, "granted_at": now}
                    for c, p, t in chunk
                ],
            )
            bump_registry_version(conn)
        granted += len(chunk)
        if on_rows:
            on_rows(len(chunk))
    return enrolled, granted
