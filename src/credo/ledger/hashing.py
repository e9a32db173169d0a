"""How Credo's hash chains hash an entry: SHA-256 over canonical JSON, times as fixed-width UTC text.

The access ledger (:mod:`credo.ledger.chain`) and the operator log (:mod:`credo.governance.oplog`)
chain their entries the same way: each entry's content includes its ``seq`` and the previous entry's
hash (:data:`GENESIS_HASH` before the first), and its hash is :func:`content_hash` of that content.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

#: The ``prev_hash`` of a chain's first entry.
GENESIS_HASH = "0" * 64


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime (SQLite hands stored times back naive, in UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def hash_time(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ``: the text a time is hashed as (both stores keep microseconds exactly)."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(content: Any) -> str:
    """Keys sorted, no whitespace, UTF-8 text kept as is: one serialisation per content."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(content: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_json` of ``content``."""
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


__all__ = ["GENESIS_HASH", "as_utc", "canonical_json", "content_hash", "hash_time"]
