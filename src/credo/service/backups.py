"""``credo backup`` / ``credo restore``: a copy of the whole store, described by what it holds, and a
restore that upgrades the schema and proves the access ledger still verifies.

The copy itself is :mod:`credo.store.backup` (SQLite's online backup, ``pg_dump``/``pg_restore``). The
issuer key ring (``CREDO_KEY_DIR``) and ``CREDO_LEDGER_SECRET`` are not in the store: keep them with
the backups (see docs/operations.md), or the restored store's credentials and pseudonyms cannot be used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import ColumnElement, Connection, Engine, Table, func, select

from credo.ledger import VerificationReport, head, verify_chain
from credo.store import backup as copies
from credo.store.backup import Progress
from credo.store.db import read_only, upgrade_schema
from credo.store.tables import access_ledger, events, issued_credentials, scores


@dataclass(frozen=True)
class StoreSummary:
    """What a store (or a backup, seen in its own snapshot) holds, in the numbers an operator checks."""

    revision: str | None
    events: int
    scores: int
    ledger_entries: int
    ledger_head: tuple[int, str]
    credentials: int
    revoked_credentials: int

    def describe(self) -> str:
        seq, digest = self.ledger_head
        return (f"{self.events:,} events, {self.scores:,} scores, {self.ledger_entries:,} ledger entries "
                f"(head {seq} {digest[:16]}…), {self.credentials:,} credentials ({self.revoked_credentials:,} "
                f"revoked), schema {self.revision}")


def _count(conn: Connection, of: Table, *where: ColumnElement[bool]) -> int:
    return int(conn.execute(select(func.count()).select_from(of).where(*where)).scalar_one())


def summarise(conn: Connection) -> StoreSummary:
    return StoreSummary(
        revision=MigrationContext.configure(conn).get_current_revision(),
        events=_count(conn, events), scores=_count(conn, scores), ledger_entries=_count(conn, access_ledger),
        ledger_head=head(conn), credentials=_count(conn, issued_credentials),
        revoked_credentials=_count(conn, issued_credentials, issued_credentials.c.revoked_at.is_not(None)))


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size_bytes: int
    seconds: float
    summary: StoreSummary


@dataclass(frozen=True)
class RestoreReport:
    size_bytes: int
    seconds: float
    upgraded_from: str | None  #: the backup's schema revision, when it was older than this Credo's
    summary: StoreSummary
    ledger: VerificationReport


def backup_store(engine: Engine, dest: Path, on_progress: Progress = lambda _line: None) -> BackupReport:
    """Copy the store to ``dest`` while it keeps serving; the summary is of the copy itself."""
    started = time.perf_counter()
    summary = copies.backup(engine, dest, summarise, on_progress)
    return BackupReport(dest, dest.stat().st_size, time.perf_counter() - started, summary)


def restore_store(engine: Engine, source: Path, *, replace: bool = False,
                  on_progress: Progress = lambda _line: None) -> RestoreReport:
    """Restore ``source`` into the store (refused over a store with rows unless ``replace``), bring its
    schema to this version's head, and walk the whole access ledger."""
    started = time.perf_counter()
    revision = copies.backup_revision(engine, source)
    if not copies.known_revision(engine, revision):
        raise copies.BackupRefused(f"{source} is at schema revision {revision}, which this version of Credo does "
                                   "not know (a newer one made it): restore it with that version")
    copies.restore(engine, source, replace=replace, on_progress=on_progress)
    try:
        upgrade_schema(engine)
    except CommandError as exc:
        raise copies.BackupFailed(f"restored {source}, but its schema ({revision}) could not be upgraded: "
                                  f"{exc}") from exc
    on_progress("verifying the access ledger")
    with read_only(engine) as conn:
        summary = summarise(conn)
        ledger = verify_chain(conn)
    return RestoreReport(source.stat().st_size, time.perf_counter() - started,
                         revision if revision != summary.revision else None, summary, ledger)
