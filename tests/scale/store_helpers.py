"""Store rows the scores loader reads: enrolled consumers and the serving model."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine, insert

from credo.governance.registry import SERVING_SLOT
from credo.store.tables import consumers, model_serving, models

ENROLLED = datetime(2020, 1, 1, tzinfo=timezone.utc)


def enrol(engine: Engine, *ids: str, status: str = "active") -> None:
    with engine.begin() as conn:
        conn.execute(insert(consumers), [{"id": i, "status": status, "enrolled_at": ENROLLED} for i in ids])


def serve(engine: Engine, version: str) -> None:
    """Register ``version`` (placeholder files: the loader reads only the version) and point serving at it."""
    with engine.begin() as conn:
        conn.execute(insert(models).values(version=version, registered_at=ENROLLED, registered_by="test", kind="store",
                                           digest="0" * 64, manifest="{}", champion="{}"))
        conn.execute(insert(model_serving).values(slot=SERVING_SLOT, version=version, model="champion",
                                                  since=ENROLLED, log_seq=1))
