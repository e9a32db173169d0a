"""The service context: store engine, settings, model bundle, issuer keys and the clock.

One :class:`Service` per API app (``app.state.service``) or CLI command. Every
domain function takes it plus ``now`` (from the injected clock), never reading
the wall clock itself, so tests can move time.
"""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import AbstractContextManager, nullcontext
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from credo.credentials import KeyRing
from credo.errors import CredoError
from credo.registry import clock
from credo.scoring import ModelBundle
from credo.service.issuer_keys import open_keyring
from credo.service.lru import LruMap
from credo.service.serving import ServingModel, pinned, pinned_bundle
from credo.settings import Settings
from credo.store.tables import consumers


class SerialWriter:
    """One writer at a time on a SQLite store: a re-entrant lock across threads and an exclusive
    ``flock`` on ``<file>.writer-lock`` across processes (``credo serve --workers N``).

    Waiting writers sleep in the kernel and wake the moment the lock is released, where SQLite's
    busy handler would poll with sleeps of 1, 2, 5 … 100 ms; the lock dies with its process, so a
    crashed worker never leaves it held. An in-memory store has no file and needs only the thread lock.
    """

    def __init__(self, database: str | None) -> None:
        self._threads = threading.RLock()
        self._depth = 0
        self._path = f"{database}.writer-lock" if database and database != ":memory:" else None
        self._fd: int | None = None

    def __enter__(self) -> SerialWriter:
        self._threads.acquire()
        self._depth += 1
        if self._depth == 1 and self._path is not None:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


#: Consumers whose latest score a process keeps between reads (:mod:`credo.service.kept`).
KEPT_SCORES = 4096


@dataclass
class Service:
    engine: Engine
    settings: Settings
    clock: Callable[[], datetime] = clock.utcnow
    bundle: ModelBundle | None = None
    keyring: KeyRing | None = None
    #: Each consumer's latest score with its factor groups and reasons (:mod:`credo.service.kept`).
    kept_scores: LruMap = field(default_factory=lambda: LruMap(KEPT_SCORES), repr=False)
    #: The published model, following the registry's serving pointer (when ``bundle`` is not given).
    serving: ServingModel = field(default_factory=ServingModel, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _writer: SerialWriter | None = field(default=None, repr=False)

    def serial(self) -> AbstractContextManager[object]:
        """Serialise short store transactions on SQLite (one writer at a time anyway) across this
        process's threads and the other server processes on the same file. No-op elsewhere."""
        if self.engine.dialect.name != "sqlite":
            return nullcontext()
        if self._writer is None:
            with self._lock:
                if self._writer is None:
                    self._writer = SerialWriter(self.engine.url.database)
        return self._writer

    def now(self) -> datetime:
        return self.clock()

    def model_bundle(self) -> ModelBundle:
        """The bundle to score with: the one pinned for this request (:meth:`one_model`), else the bundle
        the service was given (tests, embedding), else the published one, following the registry's serving
        pointer (:mod:`credo.service.serving`; ``SCORE_MODEL_UNAVAILABLE`` until a model is published)."""
        held = pinned_bundle()
        if held is not None:
            return held
        if self.bundle is not None:
            return self.bundle
        return self.serving.get(self.engine, self.settings.serving_model)

    def refresh_model(self) -> bool:
        """Follow the registry's serving pointer now; True when the serving model changed."""
        return self.bundle is None and self.serving.refresh(self.engine, self.settings.serving_model)

    def one_model(self) -> AbstractContextManager[None]:
        """Pin the serving bundle for one request: every ``model_bundle()`` inside sees the same one."""
        try:
            bundle = self.model_bundle()
        except CredoError:
            bundle = None  # none published: reads inside raise SCORE_MODEL_UNAVAILABLE as they would
        return pinned(bundle)

    def keys(self) -> KeyRing:
        """The issuer key ring, opened once and held to the keys the store signed with
        (:func:`credo.service.issuer_keys.open_keyring`)."""
        if self.keyring is None:
            with self._lock:
                if self.keyring is None:
                    self.keyring = open_keyring(self.engine, self.settings.key_directory, self.now())
        return self.keyring

    @property
    def status_list_uri(self) -> str:
        return f"{self.settings.issuer.rstrip('/')}/v1/credentials/status/1"


def is_active(conn: Connection, consumer_id: str) -> bool:
    status = conn.execute(select(consumers.c.status).where(consumers.c.id == consumer_id)).scalar_one_or_none()
    return status == "active"


def utc(value: datetime) -> datetime:
    """Datetimes read back from SQLite are naive UTC."""
    from datetime import timezone

    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
