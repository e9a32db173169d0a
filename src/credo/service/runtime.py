"""The service context: store engine, settings, model bundle, issuer keys and the clock.

One :class:`Service` per API app (``app.state.service``) or CLI command. Every
domain function takes it plus ``now`` (from the injected clock), never reading
the wall clock itself, so tests can move time.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, select

from credo.credentials import KeyRing
from credo.errors import CredoError, ErrorCode
from credo.registry import clock
from credo.scoring import ModelBundle
from credo.service.config import ServiceConfig
from credo.settings import Settings
from credo.store.tables import consumers


@dataclass
class Service:
    engine: Engine
    settings: Settings
    config: ServiceConfig = field(default_factory=ServiceConfig)
    clock: Callable[[], datetime] = clock.utcnow
    bundle: ModelBundle | None = None
    keyring: KeyRing | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _db_lock: threading.RLock = field(default_factory=threading.RLock, repr=False)  # type: ignore[valid-type]

    def serial(self) -> AbstractContextManager[object]:
        """Serialise this process's short store transactions on SQLite (one writer at a time anyway):
        threads queue on a lock instead of sleeping in SQLite's busy handler. No-op elsewhere."""
        return self._db_lock if self.engine.dialect.name == "sqlite" else nullcontext()

    def now(self) -> datetime:
        return self.clock()

    def model_bundle(self) -> ModelBundle:
        if self.bundle is None:
            with self._lock:
                if self.bundle is None:
                    try:
                        self.bundle = ModelBundle.load(Path(self.settings.model_dir))
                    except FileNotFoundError as exc:
                        raise CredoError(ErrorCode.MODEL_UNAVAILABLE, str(exc)) from exc
        return self.bundle

    def keys(self) -> KeyRing:
        if self.keyring is None:
            with self._lock:
                if self.keyring is None:
                    directory = Path(self.config.key_dir)
                    if (directory / "keyring.json").exists():
                        self.keyring = KeyRing.load(directory)
                    else:
                        ring = KeyRing.generate(self.now())
                        ring.save(directory)
                        self.keyring = ring
        return self.keyring

    @property
    def status_list_uri(self) -> str:
        return f"{self.config.issuer.rstrip('/')}/v1/credentials/status/1"


def is_active(conn: Connection, consumer_id: str) -> bool:
    status = conn.execute(select(consumers.c.status).where(consumers.c.id == consumer_id)).scalar_one_or_none()
    return status == "active"


def utc(value: datetime) -> datetime:
    """Datetimes read back from SQLite are naive UTC."""
    from datetime import timezone

    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
