"""How long features as of an instant D stay what they are, given the events they were computed from.

A feature query reads D only through the named as-of parameters of
:data:`credo.features.builder.PARAMETERS`, and time alone changes features in two ways:

* **Calendar parameters** (``DATE`` and ``BIGINT``: D's date, days or months before it, the month
  index) are functions of D's UTC date: constant until the next UTC midnight.
* **Instant parameters** (``TIMESTAMPTZ``: D itself, calendar months before D, the retention cut,
  the later of two) keep D's time of day, so within D's UTC day each moves exactly as D does:
  ``p(D + δ) = p(D) + δ``. In the query template each is compared with an event timestamp column
  or the MIN/MAX of one, and nothing else (checked here on the SQL's AST, once per template). A
  comparison between an event time ``v`` and ``p`` can change only when ``p`` reaches ``v``: at
  ``D + (v - p(D))`` for every ``v >= p(D)``.

:func:`unchanged_until` is the earliest of those instants: as of any D' in ``[D, H)`` the same
events give exactly the features they give as of D. New, corrected, retracted or suppressed
events are a different input, which the caller must detect itself. If the template ever uses an
instant parameter any other way, the answer is D (nothing is known to hold after D).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
import sqlglot.expressions as exp

from credo.features.builder import PARAMETERS, FeatureQuery, column_types

_COMPARISONS = (exp.LT, exp.LTE, exp.GT, exp.GTE, exp.EQ, exp.NEQ)
_LITERAL = re.compile(r"^TIMESTAMPTZ '(.+)'$")


def _event_time(node: exp.Expression, instant_columns: frozenset[str]) -> str | None:
    """The event timestamp column ``node`` is, or takes the MIN/MAX of (its value is then one of
    the column's); None for anything else."""
    node = _unwrap(node)
    if isinstance(node, (exp.Min, exp.Max)):
        return _event_time(node.this, instant_columns)
    if isinstance(node, exp.Column) and node.name in instant_columns:
        return node.name
    return None


def _unwrap(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


@lru_cache(maxsize=8)
def instant_comparisons(template: str) -> frozenset[tuple[str, str]] | None:
    """Every (``TIMESTAMPTZ`` parameter, event timestamp column) pair ``template`` compares, if
    each such parameter is only ever compared with an event timestamp (or the MIN/MAX of one);
    ``None`` if one is used any other way."""
    instants = frozenset(name[1:] for name, t in PARAMETERS.types().items() if t == "TIMESTAMPTZ")
    instant_columns = frozenset(c for c, t in column_types().items() if t == "TIMESTAMPTZ")
    pairs: set[tuple[str, str]] = set()
    for statement in sqlglot.parse(template, read="duckdb"):
        if statement is None:
            continue
        for node in statement.find_all(exp.Placeholder):
            if node.name not in instants:
                continue
            parent = node.parent
            while isinstance(parent, exp.Paren):
                parent = parent.parent
            if not isinstance(parent, _COMPARISONS):
                return None
            other = parent.expression if _unwrap(parent.this) is node else parent.this
            column = _event_time(other, instant_columns)
            if column is None:
                return None
            pairs.add((node.name, column))
    return frozenset(pairs)


def parameter_instant(name: str, query: FeatureQuery) -> datetime:
    """The instant a ``TIMESTAMPTZ`` parameter stands for in ``query`` (its rendered literal)."""
    literal = PARAMETERS.render(f"${name}", query.as_of)
    match = _LITERAL.match(literal)
    if match is None:
        raise ValueError(f"${name} is not an instant: {literal}")
    return datetime.fromisoformat(match.group(1)).astimezone(UTC)


def next_utc_midnight(instant: datetime) -> datetime:
    return datetime.combine(instant.astimezone(UTC).date() + timedelta(days=1), time(), tzinfo=UTC)


def unchanged_until(query: FeatureQuery, events: pa.Table) -> datetime:
    """The earliest instant after ``query``'s as-of D at which its features over ``events`` could
    differ from those as of D (see the module's docstring); D itself if that cannot be shown."""
    start = query.as_of.instant
    pairs = instant_comparisons(query.template())
    if pairs is None:
        return start
    horizon = next_utc_midnight(start)
    for name, column_name in sorted(pairs):
        p = parameter_instant(name, query)
        column = events.column(column_name)
        ahead = pc.min(column.filter(pc.greater_equal(column, pa.scalar(p, column.type)))).as_py()
        if ahead is not None:
            horizon = min(horizon, start + (ahead.astimezone(UTC) - p))
    return horizon
