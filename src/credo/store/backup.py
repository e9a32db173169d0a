"""Backups of the store and their restore, consistent while the server writes.

SQLite: the online backup API (:meth:`sqlite3.Connection.backup`) copies the whole database in one
step, inside one read transaction; under WAL the server's writers go on meanwhile, and the copy is
the database as of that transaction. (Copying in several steps would restart whenever another
connection writes between two of them, so under load it might never end.)

PostgreSQL: ``pg_dump --format=custom`` of the store's schema (the first of the URL's
``search_path``, ``public`` by default), run on a snapshot that a REPEATABLE READ transaction exports:
what ``inspect`` reads in that transaction is exactly what the archive holds. A restore is
``pg_restore`` piped into ``psql --single-transaction``, so it commits whole or not at all, the
dropping of the replaced tables included. Owners and privileges are not restored: the objects belong
to the role of the target URL.

Nothing here prints: progress goes to ``on_progress`` (one short line at a time).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TypeVar

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, inspect, literal, select, table, text

from credo.store.db import alembic_config, read_only

T = TypeVar("T")
Progress = Callable[[str], None]

#: Tables the migrations fill by themselves: rows there do not make a store "in use".
SEEDED_TABLES = frozenset({"alembic_version", "registry_version"})
#: Tables whose presence marks a Credo store (in a backup, or in the file given to restore).
MARKER_TABLES = frozenset({"alembic_version", "access_ledger", "events"})


class BackupRefused(Exception):
    """The request cannot be carried out as asked; nothing was written."""


class BackupFailed(Exception):
    """A backup or restore was attempted and failed (a tool's error, a damaged file)."""


def _quiet(_line: str) -> None:
    return None


# ----------------------------------------------------------------------------------- what is there


def tables_with_rows(engine: Engine) -> list[str]:
    """The store's tables (in its schema) that hold rows, beyond those the migrations seed."""
    names = sorted(set(inspect(engine).get_table_names()) - SEEDED_TABLES)
    with read_only(engine) as conn:
        return [name for name in names
                if conn.execute(select(literal(1)).select_from(table(name)).limit(1)).first() is not None]


def known_revision(engine: Engine, revision: str) -> bool:
    """Whether this version of Credo has the migration ``revision`` (so it can upgrade from it)."""
    scripts = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False)))
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


# ----------------------------------------------------------------------------------------- backup


def backup(engine: Engine, dest: Path, inspect_copy: Callable[[Connection], T],
           on_progress: Progress = _quiet) -> T:
    """Write a backup of the store to ``dest`` (which must not exist) and return ``inspect_copy`` of
    a connection that sees exactly what the backup holds. The file appears only once complete."""
    if dest.exists():
        raise BackupRefused(f"{dest} exists: a backup never overwrites a file; name a new one")
    if not dest.parent.is_dir():
        raise BackupRefused(f"{dest.parent} is not a directory")
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    try:
        if engine.dialect.name == "sqlite":
            result = _backup_sqlite(engine, partial, inspect_copy, on_progress)
        elif engine.dialect.name == "postgresql":
            result = _backup_postgres(engine, partial, inspect_copy, on_progress)
        else:
            raise BackupRefused(f"no backup method for a {engine.dialect.name} store (SQLite and PostgreSQL only)")
        os.replace(partial, dest)
        return result
    finally:
        partial.unlink(missing_ok=True)


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupRefused("an in-memory SQLite store has no file to back up or restore into")
    return Path(database)


def _backup_sqlite(engine: Engine, partial: Path, inspect_copy: Callable[[Connection], T],
                   on_progress: Progress) -> T:
    path = _sqlite_path(engine)
    if not path.is_file():
        raise BackupRefused(f"no SQLite store at {path}")
    on_progress(f"copying {path} ({path.stat().st_size / 1e6:,.1f} MB) in one read transaction")
    source = sqlite3.connect(path)
    copy = sqlite3.connect(partial)
    try:
        source.execute("PRAGMA busy_timeout=30000")
        source.backup(copy)  # one step: one consistent read transaction, writers not blocked under WAL
        copy.execute("PRAGMA journal_mode=DELETE")  # the backup is one self-contained file
        on_progress("checking the copy (PRAGMA quick_check)")
        verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.Error as exc:
        raise BackupFailed(f"SQLite backup of {path} failed: {exc}") from exc
    finally:
        copy.close()
        source.close()
    if verdict != "ok":
        raise BackupFailed(f"the copy of {path} fails SQLite's quick_check: {verdict}")
    with _plain_sqlite(partial) as conn:
        return inspect_copy(conn)


@contextmanager
def _plain_sqlite(path: Path) -> Iterator[Connection]:
    """A connection to a backup file that changes nothing about it (the store engine would switch it to WAL)."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _backup_postgres(engine: Engine, partial: Path, inspect_copy: Callable[[Connection], T],
                     on_progress: Progress) -> T:
    conninfo, env = _libpq(engine)
    tool = _tool("pg_dump")
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        conn.execute(text("SET TRANSACTION READ ONLY"))
        schema = _current_schema(conn)
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        result = inspect_copy(conn)
        on_progress(f"pg_dump of schema {schema} (custom format)")
        _run([tool, "--format=custom", f"--snapshot={snapshot}", f"--schema={_pattern(schema)}", "--verbose",
              f"--file={partial}", f"--dbname={conninfo}"], env, on_progress, "dumping contents of table")
    return result


# ---------------------------------------------------------------------------------------- restore


def backup_revision(engine: Engine, source: Path) -> str:
    """The schema revision a backup file holds, after checking it is a Credo store of ``engine``'s kind."""
    if not source.is_file():
        raise BackupRefused(f"no backup file at {source}")
    if engine.dialect.name == "sqlite":
        return _sqlite_backup_revision(source)
    if engine.dialect.name == "postgresql":
        _dump_schema(source)
        return _pg_backup_revision(source)
    raise BackupRefused(f"no restore method for a {engine.dialect.name} store (SQLite and PostgreSQL only)")


def restore(engine: Engine, source: Path, *, replace: bool, on_progress: Progress = _quiet) -> None:
    """Replace the store's contents with the backup ``source``.

    Refused (nothing changed) unless the store holds no rows beyond what the migrations seed, or
    ``replace`` is given; a backup must match the store's kind (a SQLite file, a PostgreSQL archive)."""
    backup_revision(engine, source)
    if engine.dialect.name == "postgresql":
        _current_schema_of(engine)  # the target schema must exist before anything else is looked at
    in_use = tables_with_rows(engine)
    if in_use and not replace:
        shown = ", ".join(in_use[:6]) + (f" and {len(in_use) - 6} more" if len(in_use) > 6 else "")
        raise BackupRefused(f"the store is not empty ({shown} hold rows): restore into an empty store, or pass "
                            "--replace to discard its contents")
    if engine.dialect.name == "sqlite":
        _restore_sqlite(engine, source, on_progress)
    else:
        _restore_postgres(engine, source, on_progress)
    engine.dispose()  # pooled connections knew the old schema


def _sqlite_tables(conn: sqlite3.Connection) -> set[str]:
    return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _sqlite_backup_revision(source: Path) -> str:
    try:
        conn = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        try:
            if not MARKER_TABLES <= _sqlite_tables(conn):
                raise BackupRefused(f"{source} is a SQLite file but not a Credo store")
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(f"{source} is not a SQLite backup of a Credo store ({exc})") from None
    if row is None:
        raise BackupRefused(f"{source} has no schema revision")
    return str(row[0])


def _restore_sqlite(engine: Engine, source: Path, on_progress: Progress) -> None:
    target = _sqlite_path(engine)
    backup_file = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    store = sqlite3.connect(target)
    try:
        on_progress(f"checking {source} (PRAGMA quick_check)")
        verdict = backup_file.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise BackupRefused(f"{source} is damaged (SQLite's quick_check: {verdict}); nothing was changed")
        on_progress(f"copying {source} ({source.stat().st_size / 1e6:,.1f} MB) over {target}")
        store.execute("PRAGMA busy_timeout=30000")
        backup_file.backup(store)  # one transaction on the store: all of it or none
    except sqlite3.Error as exc:
        raise BackupFailed(f"restoring {source} into {target} failed: {exc}") from exc
    finally:
        store.close()
        backup_file.close()


#: Lines of ``pg_restore --list``: ``<id>; <oid> <oid> <KIND> <schema> <name> <owner>``.
_TABLE_ENTRY = re.compile(r"^\d+; \d+ \d+ TABLE (?P<schema>\S+) (?P<name>\S+) \S+$")
_SCHEMA_ENTRY = re.compile(r"^\d+; \d+ \d+ (SCHEMA|COMMENT - SCHEMA) ")


def _toc(source: Path) -> list[str]:
    try:
        listing = subprocess.run([_tool("pg_restore"), "--list", str(source)], capture_output=True, text=True,
                                 check=False)
    except OSError as exc:
        raise BackupFailed(f"pg_restore could not run: {exc}") from exc
    if listing.returncode != 0:
        raise BackupRefused(f"{source} is not a pg_dump archive in custom format ({_last_line(listing.stderr)})")
    return listing.stdout.splitlines()


def _dump_schema(source: Path) -> str:
    """The one schema a Credo archive's tables are in (refused if it is not a Credo store)."""
    tables: dict[str, set[str]] = {}
    for line in _toc(source):
        entry = _TABLE_ENTRY.match(line)
        if entry:
            tables.setdefault(entry["schema"], set()).add(entry["name"])
    if len(tables) != 1 or not MARKER_TABLES <= next(iter(tables.values())):
        raise BackupRefused(f"{source} is a PostgreSQL archive but not of one Credo store "
                            f"(tables in schemas: {', '.join(sorted(tables)) or 'none'})")
    return next(iter(tables))


def _pg_backup_revision(source: Path) -> str:
    script = subprocess.run([_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(source)],
                            capture_output=True, text=True, check=False)
    lines = script.stdout.splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.startswith("COPY ") and "alembic_version" in line and lines[i + 1] != "\\.":
            return lines[i + 1].strip()
    raise BackupRefused(f"{source} has no schema revision ({_last_line(script.stderr) or 'alembic_version is empty'})")


def _restore_postgres(engine: Engine, source: Path, on_progress: Progress) -> None:
    dumped, schema = _dump_schema(source), _current_schema_of(engine)
    if dumped != schema:
        raise BackupRefused(f"the backup holds schema {dumped!r} and the store's schema is {schema!r}: restore "
                            f"into a URL whose search_path is {dumped} (pg_restore keeps schema names)")
    conninfo, env = _libpq(engine)
    existing = inspect(engine).get_table_names()
    with tempfile.TemporaryDirectory() as tmp:
        # The schema itself exists already: restore what is in it, not the CREATE SCHEMA.
        listing = Path(tmp, "toc.list")
        listing.write_text("\n".join(line for line in _toc(source) if not _SCHEMA_ENTRY.match(line)) + "\n")
        drop = ["-c", "DROP TABLE IF EXISTS " + ", ".join(f"{_ident(schema)}.{_ident(t)}" for t in existing)
                + " CASCADE"] if existing else []
        errors = Path(tmp, "psql.err")
        on_progress(f"pg_restore into schema {schema}, one transaction"
                    + (f" (dropping its {len(existing)} tables first)" if existing else ""))
        with errors.open("w") as err:
            psql = subprocess.Popen([_tool("psql"), "-X", "-q", "--single-transaction", "-v", "ON_ERROR_STOP=1",
                                     *drop, "-f", "-", f"--dbname={conninfo}"], stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=err, env=env)
            assert psql.stdin is not None
            try:
                _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--verbose", f"--use-list={listing}",
                      "--file=-", str(source)], env, on_progress, "processing data for table", stdout=psql.stdin)
            except BaseException:
                # psql must never read an end of input here: it would COMMIT what it was given so far.
                refused = psql.poll()
                psql.kill()
                psql.wait()
                if refused:  # psql stopped first (and pg_restore then failed to write to it): psql's is the cause
                    raise BackupFailed(f"psql refused the restore (exit {refused}; nothing was changed): "
                                       f"{_last_line(errors.read_text())}") from None
                raise
            psql.stdin.close()
            code = psql.wait()
        if code != 0:
            raise BackupFailed(f"psql refused the restore (exit {code}; nothing was changed): "
                               f"{_last_line(errors.read_text())}")


# ------------------------------------------------------------------------------------- PostgreSQL


def _current_schema(conn: Connection) -> str:
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    if schema is None:
        search_path = conn.execute(text("SHOW search_path")).scalar_one()
        raise BackupRefused(f"no schema of the store's search_path ({search_path}) exists: create it first")
    return str(schema)


def _current_schema_of(engine: Engine) -> str:
    with read_only(engine) as conn:
        return _current_schema(conn)


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """The store URL for libpq tools, and their environment: the password goes in ``PGPASSWORD``,
    never on a command line that ``ps`` shows."""
    env = dict(os.environ)
    if engine.url.password is not None:
        env["PGPASSWORD"] = str(engine.url.password)
    url = engine.url.set(drivername="postgresql", password=None)
    return url.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupRefused(f"{name} is not on PATH: install the PostgreSQL client of the server's major version "
                            "(Debian: postgresql-client)")
    return path


def _pattern(name: str) -> str:
    """A pg_dump name pattern matching exactly ``name`` (quoted: no wildcards, case kept)."""
    return '"' + name.replace('"', '""') + '"'


_ident = _pattern  # an SQL identifier is quoted the same way


def _last_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _run(command: list[str], env: dict[str, str], on_progress: Progress, marker: str,
         stdout: IO[bytes] | None = None) -> None:
    """Run a pg tool, passing its ``--verbose`` lines that contain ``marker`` to ``on_progress``."""
    name = Path(command[0]).name
    try:
        process = subprocess.Popen(command, stdout=stdout if stdout is not None else subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True, env=env)
    except OSError as exc:
        raise BackupFailed(f"{name} could not run: {exc}") from exc
    assert process.stderr is not None
    said: list[str] = []
    for line in process.stderr:
        said.append(line)
        if marker in line:
            on_progress(line.split(marker, 1)[1].strip().strip('"'))
    if process.wait() != 0:
        problems = [line for line in said if "error" in line.lower()] or said
        raise BackupFailed(f"{name} failed (exit {process.returncode}): {_last_line(''.join(problems))}")
