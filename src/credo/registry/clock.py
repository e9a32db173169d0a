"""The one place Credo reads the wall clock, so tests can inject time."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
