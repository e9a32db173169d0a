"""The partners a consumer can choose from: who may report what, who may be granted access."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from credo.store.tables import partners


def partner_directory(conn: Connection) -> list[dict[str, Any]]:
    """Every registered partner: id, name, kind and the event types it may report, by name."""
    rows = conn.execute(select(partners.c.id, partners.c.name, partners.c.kind, partners.c.event_types)
                        .order_by(partners.c.name, partners.c.id)).mappings()
    return [{"id": r["id"], "name": r["name"], "kind": r["kind"], "event_types": list(r["event_types"])}
            for r in rows]
