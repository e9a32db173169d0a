"""``credo backup FILE`` and ``credo restore FILE``: a consistent copy of the store, taken while the
server runs, and its restore into an empty store (or over one, with ``--replace``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from credo.cli.errors import print_error
from credo.cli.progress import console

DbOption = Annotated[str | None, typer.Option(
    "--db", help="SQLAlchemy URL of the store (default: $CREDO_DATABASE_URL or sqlite:///credo.db).")]


def _store(db: str | None):  # noqa: ANN202
    """The store's engine, as it is: a backup neither creates nor upgrades a store."""
    from credo.settings import get_settings
    from credo.store import create_store_engine

    return create_store_engine(db or get_settings().store_url)


def backup(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="The backup file to write (must not exist).")],
    db: DbOption = None,
) -> None:
    """Back up the whole store to FILE while it keeps serving: SQLite's online backup (one consistent
    read transaction), or pg_dump in custom format on one snapshot for PostgreSQL. Exit 2 if refused
    (FILE exists, no store, no pg_dump), 1 if the copy failed."""
    from credo.service.backups import backup_store
    from credo.store.backup import BackupFailed, BackupRefused

    engine = _store(db)
    try:
        with console.status(f"backing up to {file}") as status:
            report = backup_store(engine, file, lambda line: status.update(f"backing up: {line}"))
    except BackupRefused as exc:
        print_error(f"backup to {file} refused: {exc}")
        raise typer.Exit(2) from None
    except BackupFailed as exc:
        print_error(f"backup to {file} failed: {exc}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    console.print(f"backed up {engine.dialect.name} store to {report.path}: {report.size_bytes / 1e6:,.1f} MB in "
                  f"{report.seconds:.2f} s", soft_wrap=True)
    console.print(f"the backup holds {report.summary.describe()}", soft_wrap=True, markup=False)


def restore(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A file written by credo backup.")],
    db: DbOption = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Discard the store's contents (refused without it if any table holds rows).")] = False,
) -> None:
    """Restore a backup into the store (stop the server first), upgrade its schema to this version, and
    walk the whole access ledger. Exit 2 if refused (the store holds rows and no --replace, not a
    backup of a Credo store, a schema this version does not know), 1 if the restore failed or the
    restored ledger does not verify."""
    from credo.service.backups import restore_store
    from credo.store.backup import BackupFailed, BackupRefused

    engine = _store(db)
    try:
        with console.status(f"restoring {file}") as status:
            report = restore_store(engine, file, replace=replace,
                                   on_progress=lambda line: status.update(f"restoring: {line}"))
    except BackupRefused as exc:
        print_error(f"restore of {file} refused: {exc}")
        raise typer.Exit(2) from None
    except BackupFailed as exc:
        print_error(f"restore of {file} failed: {exc}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    console.print(f"restored {file} ({report.size_bytes / 1e6:,.1f} MB) into the {engine.dialect.name} store in "
                  f"{report.seconds:.2f} s" + (f"; schema upgraded from {report.upgraded_from}"
                                                if report.upgraded_from else ""), soft_wrap=True)
    console.print(f"the store holds {report.summary.describe()}", soft_wrap=True, markup=False)
    ledger = report.ledger
    if not ledger.ok:
        print_error(f"the restored ledger does NOT verify at entry {ledger.first_bad_seq}: "
                    f"{ledger.problem.value if ledger.problem else ''} {ledger.detail}")
        raise typer.Exit(1)
    console.print(f"ledger ok: {ledger.entries_checked:,} entries, head {ledger.head_seq} {ledger.head_hash}",
                  soft_wrap=True)
