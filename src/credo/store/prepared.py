"""Statements on the partner-read hot path, compiled once and run straight on the driver's cursor.

SQLAlchemy's execution machinery (execution context, event dispatch, result objects) costs about
30 µs of Python per statement, more than SQLite needs to answer an indexed look-up, and an
eligibility check runs about ten statements. :class:`Prepared` keeps everything SQLAlchemy decides
— the SQL text for the dialect, the parameter order, the type conversions of each bind parameter
and result column (SQLite's DateTime text, JSON) — and skips only that per-call machinery. Use it
for a handful of hot statements; everything else goes through ``Connection.execute`` as usual.

Driver errors surface as the driver's own exceptions (``sqlite3.Error``, ``psycopg.Error``), not
wrapped in ``sqlalchemy.exc``.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.sql import Delete, Insert, Select, Update

Statement = Select | Insert | Update | Delete


@dataclass(frozen=True)
class _Plan:
    sql: str
    compiled: Any
    order: tuple[str, ...] | None  # bind names in SQL order for positional paramstyles, else None
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]  # only the parameters that need converting
    results: tuple[Callable[[Any], Any] | None, ...] | None  # None: the statement returns no rows
    row: type | None

    def parameters(self, values: dict[str, Any]) -> Any:
        params = self.compiled.construct_params(values)
        for name, process in self.binds:
            value = params[name]
            if value is not None:
                params[name] = process(value)
        return params if self.order is None else tuple(params[name] for name in self.order)

    def make_row(self, raw: tuple[Any, ...]) -> Any:
        assert self.row is not None and self.results is not None
        return self.row._make(v if p is None or v is None else p(v) for p, v in zip(self.results, raw))


def _plan(statement: Statement, dialect: Dialect) -> _Plan:
    compiled = statement.compile(dialect=dialect)
    binds = []
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds.append((name, process))
    results = row = None
    if isinstance(statement, Select):
        columns = list(statement.selected_columns)
        results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
        row = namedtuple("Row", list(statement.selected_columns.keys()), rename=True)  # noqa: PYI024
    order = tuple(compiled.positiontup) if compiled.positional else None
    return _Plan(compiled.string, compiled, order, tuple(binds), results, row)


class Prepared:
    """A Core statement (select, insert, update or delete with named ``bindparam``s) run on the
    DBAPI cursor of a connection, in its transaction (begun as ``Connection.execute`` would).
    Select rows come back as named tuples (attribute access by column key), with the same Python
    values as through ``Connection.execute``."""

    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}

    def _plan_for(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = _plan(self.statement, dialect)
        return plan

    def _run(self, conn: Connection, values: dict[str, Any]) -> tuple[_Plan, Any]:
        if not conn.in_transaction():
            conn.begin()  # what Connection.execute's autobegin does
        plan = self._plan_for(conn.dialect)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(plan.sql, plan.parameters(values))
        return plan, cursor

    def all(self, conn: Connection, **values: Any) -> list[Any]:
        plan, cursor = self._run(conn, values)
        try:
            return [plan.make_row(raw) for raw in cursor.fetchall()]
        finally:
            cursor.close()

    def first(self, conn: Connection, **values: Any) -> Any | None:
        plan, cursor = self._run(conn, values)
        try:
            raw = cursor.fetchone()
            return None if raw is None else plan.make_row(raw)
        finally:
            cursor.close()

    def run(self, conn: Connection, **values: Any) -> int:
        """Execute a statement that returns no rows; the number of rows it touched."""
        _plan, cursor = self._run(conn, values)
        try:
            return cursor.rowcount
        finally:
            cursor.close()
