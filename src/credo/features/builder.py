"""A small typed SQL builder: every feature as of an instant D, for a whole population, in one pass.

The query is written once in DuckDB's dialect, run directly on DuckDB, and
transpiled to Spark SQL with sqlglot (:meth:`FeatureQuery.to_spark_sql`). The
rules of ``docs/research/scale-engines.md`` §6 are enforced here:

**Point in time.** A feature as of D uses only events whose event time
(``occurred_at``) and received time (``received_at``) are **both strictly
before D** (``< D``; an event stamped exactly D belongs to the next as-of).
Every cut-off (D itself, D − n months, the retention cut) is computed in
Python as a UTC instant and embedded as a ``TIMESTAMPTZ '…+00:00'`` literal;
windows are ``occurred_at >= cut AND occurred_at < D``. No interval arithmetic
appears in SQL. Calendar-day cut-offs (``due_date < as-of date``) are ``DATE``
literals, and "months since" is a calendar-month difference against a month
index literal computed in Python, so no engine's ``DATE_DIFF('month')``
semantics matter.

**Corrections and retractions as of D.** Among the events received before D:

* a retraction removes its target; retracting an original removes it and
  every correction of it, retracting a correction removes only that version;
* a correction replaces its target: every chain of corrections is grouped on
  its original (``root_event_id``) and the version received last (ties:
  highest ``event_id``) is the record as of D;
* a correction or retraction received at or after D changes nothing as of D.

**Retention.** Negative records (late or missed payments, days past due,
charge-offs, collections, unpaid fees) whose event time is older than the
retention period before D (:mod:`credo.policy.retention`, ``CREDO_RETENTION_MONTHS``,
default 60 calendar months) are ignored: every negative feature's window starts
at ``max(window cut, retention cut)`` (:meth:`AsOf.since` with ``negative=True``).
The purge (:mod:`credo.service.retention`) cuts at the same instant.

**One query text for every instant.** The SQL is written once against named
as-of parameters (``$as_of``, ``$since_12m_negative``, ``$as_of_date``, …;
:class:`AsOfParameters`), checked and linted once, and cached by its shape
(features, criteria, table names). A :class:`FeatureQuery` for an instant
renders it by putting each parameter's literal for that instant in its place
(:meth:`AsOfParameters.render`), which takes microseconds: an online score can be
computed as of the exact read time, and batch, online and Spark run the same
text a fresh build would produce.

**Nulls.** Counts over an empty window are 0 (``COUNT``/``COALESCE``), ratios
use ``NULLIF(den, 0)`` and are NULL when the denominator is empty, means are
NULL. Consumers of the population with no usable event get a row too (counts 0).

**Money** is aggregated as BIGINT minor units; a ratio is ``CAST(num AS DOUBLE)
/ NULLIF(CAST(den AS DOUBLE), 0)``, one division in a fixed order.

**Portable subset.** :func:`lint_sql` walks the sqlglot AST: only allow-listed
functions, no ``INTERVAL``, no ``/`` whose denominator is not ``NULLIF``,
``DATE_DIFF`` only in days and only on ``DATE`` operands.

**Data categories.** :func:`feature_column_problems` resolves every column a
feature expression reads against the schemas' data categories: a feature may
read scorable payload fields and event time, never an identifier, a reference
or a non-scorable field (``merchant_category``, any ``spending_insight``).
:meth:`FeatureQuery.sql` refuses to build a query that breaks a rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property, lru_cache
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Literal

import pyarrow as pa
import sqlglot
import sqlglot.expressions as exp

from credo.events.schemas import EVENT_MODELS
from credo.features.events_table import (
    EVENTS_SCHEMA,
    KEY_COLUMNS,
    TIME_COLUMNS,
    categories_of_field,
    is_scorable_category,
    payload_columns,
)
from credo.policy.retention import add_months, retention_cut
from credo.policy.retention import retention_months as configured_retention_months

if TYPE_CHECKING:
    from credo.features.definitions import Feature, ScoringCriteria

#: Kept for callers that pass ``retention_months=DEFAULT_RETENTION_MONTHS`` explicitly: ``None``
#: means the configured period (:func:`credo.policy.retention.retention_months`), read when an
#: :class:`AsOf` is built, so that a change of the one setting reaches every such caller.
DEFAULT_RETENTION_MONTHS: int | None = None

EVENTS_TABLE = "events"
POPULATION_TABLE = "population"


# ---------------------------------------------------------------- time


def as_utc(instant: datetime | date) -> datetime:
    """A UTC instant; a date means its midnight UTC; naive datetimes are rejected."""
    if not isinstance(instant, datetime):
        return datetime(instant.year, instant.month, instant.day, tzinfo=timezone.utc)
    if instant.tzinfo is None:
        raise ValueError("as-of instants must be timezone-aware")
    return instant.astimezone(timezone.utc)


def ts_literal(instant: datetime) -> str:
    """``TIMESTAMPTZ '2024-06-01 00:00:00+00:00'`` (microseconds when non-zero)."""
    u = as_utc(instant)
    text = u.strftime("%Y-%m-%d %H:%M:%S") + (f".{u.microsecond:06d}" if u.microsecond else "")
    return f"TIMESTAMPTZ '{text}+00:00'"


def date_literal(d: date) -> str:
    return f"DATE '{d.isoformat()}'"


@dataclass(frozen=True)
class AsOf:
    """The as-of instant D and the literals every feature embeds.

    All arithmetic happens here, in Python, in UTC; SQL sees only literals.
    ``retention_months`` defaults to the configured period (:mod:`credo.policy.retention`).
    """

    instant: datetime
    retention_months: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "instant", as_utc(self.instant))
        if self.retention_months is None:
            object.__setattr__(self, "retention_months", configured_retention_months())
        if self.retention_months < 1:  # type: ignore[operator]
            raise ValueError("retention_months must be >= 1")

    @property
    def at(self) -> str:
        """D as a TIMESTAMPTZ literal."""
        return ts_literal(self.instant)

    @property
    def day(self) -> date:
        """The UTC calendar date of D."""
        return self.instant.date()

    @property
    def today(self) -> str:
        """The UTC calendar date of D as a DATE literal (``due_date < today``: due before D's day)."""
        return date_literal(self.day)

    def days_before(self, days: int) -> str:
        return date_literal(date.fromordinal(self.day.toordinal() - days))

    def months_before(self, months: int) -> datetime:
        return add_months(self.instant, -months)

    @property
    def retention_cut(self) -> datetime:
        return retention_cut(self.instant, self.retention_months)

    def since(self, months: int | None, *, negative: bool = False) -> str:
        """Start of a window of ``months`` before D (``None``: unbounded), as a literal.

        ``negative=True`` clips the window to the retention period.
        """
        cut = self.months_before(months) if months is not None else None
        if negative and (cut is None or self.retention_cut > cut):
            cut = self.retention_cut
        if cut is None:
            raise ValueError("an unbounded window must be negative (retention-clipped) or omitted")
        return ts_literal(cut)

    def date_since(self, months: int) -> str:
        return date_literal(self.months_before(months).date())

    @property
    def month_index(self) -> int:
        """``year * 12 + month`` of D's UTC date: "months since x" is ``month_index - month_index(x)``."""
        return self.day.year * 12 + self.day.month

    def months_since(self, date_sql: str) -> str:
        return f"{self.month_index} - ({month_index_sql(date_sql)})"


_PARAMETER = re.compile(r"\$([a-z][a-z0-9_]*)")


class AsOfParameters:
    """The SQL-facing members of :class:`AsOf`, as named parameters instead of literals.

    Features are written against an as-of context (``Feature.sql(d)``); given this one they
    produce SQL that names each cut-off (``$since_12m_negative``) instead of embedding it, and the
    parameter remembers how to compute its literal from a concrete :class:`AsOf` and its SQL type
    (for the lint). :meth:`render` puts the literals in. Nothing here depends on an instant, so the
    SQL built against it serves every instant and every retention period.
    """

    def __init__(self) -> None:
        self._literal: dict[str, Callable[[AsOf], str]] = {}
        self._types: dict[str, str] = {}

    def _param(self, name: str, sql_type: str, literal: Callable[[AsOf], str]) -> str:
        self._literal.setdefault(name, literal)
        self._types.setdefault(name, sql_type)
        return f"${name}"

    @property
    def at(self) -> str:
        return self._param("as_of", "TIMESTAMPTZ", lambda d: d.at)

    @property
    def today(self) -> str:
        return self._param("as_of_date", "DATE", lambda d: d.today)

    def days_before(self, days: int) -> str:
        return self._param(f"date_minus_{days}d", "DATE", lambda d: d.days_before(days))

    def since(self, months: int | None, *, negative: bool = False) -> str:
        if months is None and not negative:
            raise ValueError("an unbounded window must be negative (retention-clipped) or omitted")
        name = ("since_retention" if months is None else f"since_{months}m") + ("_negative" if negative else "")
        return self._param(name, "TIMESTAMPTZ", lambda d: d.since(months, negative=negative))

    def date_since(self, months: int) -> str:
        return self._param(f"date_since_{months}m", "DATE", lambda d: d.date_since(months))

    @property
    def month_index(self) -> str:
        return self._param("month_index", "BIGINT", lambda d: str(d.month_index))

    def months_since(self, date_sql: str) -> str:
        return f"{self.month_index} - ({month_index_sql(date_sql)})"

    def types(self) -> dict[str, str]:
        """``$name`` → SQL type of every parameter handed out so far (for :func:`lint_sql`)."""
        return {f"${name}": t for name, t in self._types.items()}

    def render(self, sql: str, as_of: AsOf) -> str:
        """``sql`` with every parameter replaced by its literal as of ``as_of``."""
        literals: dict[str, str] = {}

        def literal(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in literals:
                if name not in self._literal:
                    raise ValueError(f"unknown as-of parameter ${name}")
                literals[name] = self._literal[name](as_of)
            return literals[name]

        return _PARAMETER.sub(literal, sql)


#: The one parameter set every query template is written against.
PARAMETERS = AsOfParameters()


# ---------------------------------------------------------------- expression helpers


def month_index_sql(date_sql: str) -> str:
    return f"YEAR({date_sql}) * 12 + MONTH({date_sql})"


def count_if(cond: str) -> str:
    """Number of rows meeting ``cond`` (0 when none)."""
    return f"COUNT(*) FILTER (WHERE {cond})"


def sum_if(value: str, cond: str) -> str:
    """Sum of ``value`` over rows meeting ``cond`` (0 when none)."""
    return f"COALESCE(SUM({value}) FILTER (WHERE {cond}), 0)"


def agg_if(func: Literal["MIN", "MAX", "AVG", "SUM"], value: str, cond: str) -> str:
    """``func`` of ``value`` over rows meeting ``cond`` (NULL when none)."""
    return f"{func}({value}) FILTER (WHERE {cond})"


def ratio(num: str, den: str) -> str:
    """``num / den`` as DOUBLE, NULL when ``den`` is 0 or NULL."""
    return f"CAST({num} AS DOUBLE) / NULLIF(CAST({den} AS DOUBLE), 0)"


def days_between(start_date: str, end_date: str) -> str:
    """Whole days from ``start_date`` to ``end_date`` (both DATE)."""
    return f"DATE_DIFF('day', {start_date}, {end_date})"


def is_type(*types: str) -> str:
    for t in types:
        if t not in EVENT_MODELS:
            raise ValueError(f"unknown event type {t!r}")
    if len(types) == 1:
        return f"type = '{types[0]}'"
    return "type IN (" + ", ".join(f"'{t}'" for t in types) + ")"


def in_list(column: str, values: Sequence[str]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def ordinal(column: str, values: Sequence[str]) -> str:
    """Ordinal 1..n of an enum value (NULL for anything else)."""
    whens = " ".join(f"WHEN '{v}' THEN {i}" for i, v in enumerate(values, start=1))
    return f"CASE {column} {whens} END"


def all_of(*conds: str) -> str:
    return " AND ".join(f"({c})" for c in conds)


def any_of(*conds: str) -> str:
    return "(" + " OR ".join(f"({c})" for c in conds) + ")"


# ---------------------------------------------------------------- columns the features may read


_SQL_TYPES = {
    pa.string(): "VARCHAR", pa.int64(): "BIGINT", pa.bool_(): "BOOLEAN", pa.date32(): "DATE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
}


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    categories: frozenset[str]  # data categories of the values; empty for keys and times
    role: Literal["key", "time", "value", "structural"]


def _event_columns() -> dict[str, Column]:
    cols: dict[str, Column] = {}
    payload = {c.name: c for c in payload_columns()}
    for f in EVENTS_SCHEMA:
        sql_type = _SQL_TYPES[f.type]
        if f.name in payload:
            cols[f.name] = Column(f.name, sql_type, payload[f.name].categories, "value")
        elif f.name in KEY_COLUMNS:
            cols[f.name] = Column(f.name, sql_type, frozenset({"envelope"}), "key")
        elif f.name in TIME_COLUMNS:
            cols[f.name] = Column(f.name, sql_type, frozenset({"envelope"}), "time")
        else:  # type
            cols[f.name] = Column(f.name, sql_type, frozenset(), "structural")
    return cols


#: Columns the enrichment step adds (per account / bill / snapshot), with the
#: categories of the values they carry.
ENRICHED_COLUMNS: dict[str, Column] = {
    "bill_due_date": Column("bill_due_date", "DATE", frozenset({"payment_behaviour"}), "value"),
    "bill_paid_date": Column("bill_paid_date", "DATE", frozenset({"payment_behaviour"}), "value"),
    "account_limit_minor": Column("account_limit_minor", "BIGINT", frozenset({"credit_capacity"}), "value"),
    "account_product": Column("account_product", "VARCHAR", frozenset({"account_history"}), "value"),
    "account_ended": Column("account_ended", "BOOLEAN", frozenset({"account_history", "payment_behaviour"}),
                            "value"),
    "recency_rank": Column("recency_rank", "BIGINT", frozenset(), "structural"),
    "type_recency_rank": Column("type_recency_rank", "BIGINT", frozenset(), "structural"),
}


def readable_columns() -> dict[str, Column]:
    """Every column of the enriched events relation the features aggregate over."""
    return {**_event_columns(), **ENRICHED_COLUMNS}


def column_types() -> dict[str, str]:
    return {name: c.sql_type for name, c in readable_columns().items()}


def feature_column_problems(name: str, expression: str) -> list[str]:
    """Why a feature expression reads a column it must not (empty list: fine).

    Resolves each column against the enriched events relation, else against the
    event schemas' field names. Allowed: scorable payload values, enrichment
    values, event type, event time. Refused: identifiers and references (keys),
    ``received_at`` (delivery time is not behaviour), non-scorable or unknown
    fields — whatever their name, the schema's data category decides.
    """
    problems: list[str] = []
    cols = readable_columns()
    tree = sqlglot.parse_one(f"SELECT {expression} AS x", read="duckdb")
    for node in tree.find_all(exp.Column):
        col = node.name
        known = cols.get(col)
        if known is None:
            cats = categories_of_field(col)
            bad = sorted(c for c in cats if not is_scorable_category(c)) or ["unknown column"]
            problems.append(f"{name}: column {col!r} is not scorable ({', '.join(bad)})")
        elif known.role == "key":
            problems.append(f"{name}: column {col!r} is an identifier/reference; keys only join and group")
        elif col == "received_at":
            problems.append(f"{name}: received_at is delivery time, used only for point-in-time cut-offs")
        elif known.role == "value" and not all(is_scorable_category(c) for c in known.categories):
            problems.append(f"{name}: column {col!r} has a non-scorable category {sorted(known.categories)}")
    return problems


# ---------------------------------------------------------------- lint


class LintError(ValueError):
    """SQL outside the portable subset."""


#: sqlglot expression classes allowed as functions in feature SQL.
ALLOWED_FUNCTIONS: frozenset[str] = frozenset({
    "And", "Or", "Count", "Sum", "Min", "Max", "Avg", "Coalesce", "Nullif", "Cast", "Case", "If",
    "Greatest", "Least", "Year", "Month", "DateDiff", "RowNumber",
})


def _operand_type(node: exp.Expression, types: Mapping[str, str]) -> str | None:
    if isinstance(node, exp.Column):
        return types.get(node.name)
    if isinstance(node, exp.Placeholder):
        return types.get(f"${node.name}")
    if isinstance(node, exp.Cast):
        return node.to.sql(dialect="duckdb").upper()
    if isinstance(node, exp.Paren):
        return _operand_type(node.this, types)
    return None


def lint_sql(sql: str, types: Mapping[str, str] | None = None) -> list[str]:
    """Problems that take a DuckDB-dialect query outside the portable subset (empty: fine)."""
    types = column_types() if types is None else types
    problems: list[str] = []
    for statement in sqlglot.parse(sql, read="duckdb"):
        if statement is None:
            continue
        for node in statement.walk():
            if isinstance(node, exp.Interval):
                problems.append(f"INTERVAL arithmetic is not allowed: {node.sql('duckdb')}")
            elif isinstance(node, exp.Div):
                if not isinstance(node.expression, exp.Nullif):
                    problems.append(f"division without NULLIF denominator: {node.sql('duckdb')}")
            elif isinstance(node, exp.DateDiff):
                unit = (node.unit.name if node.unit is not None else "").upper()
                if unit != "DAY":
                    problems.append(f"DATE_DIFF only in days: {node.sql('duckdb')}")
                for operand in (node.this, node.expression):
                    if _operand_type(operand, types) != "DATE":
                        problems.append(f"DATE_DIFF on a non-DATE operand {operand.sql('duckdb')}")
            if isinstance(node, exp.Func) and not isinstance(node, (exp.Window, exp.Filter)):
                if type(node).__name__ not in ALLOWED_FUNCTIONS:
                    problems.append(f"function not allowed: {type(node).__name__} in {node.sql('duckdb')}")
    return problems


def assert_portable(sql: str) -> None:
    problems = lint_sql(sql)
    if problems:
        raise LintError("; ".join(problems))


# ---------------------------------------------------------------- the query

#: Events that no correction or retraction touches: as of any D, such an event is its own record once
#: received and occurred before D (the resolution passes it through unchanged).
UNREVISED = "NOT revised AND type <> 'event.retraction'"
#: Columns the point-in-time resolution reads.
RESOLUTION_COLUMNS = ("consumer_id", "partner_id", "event_id", "type", "occurred_at", "received_at",
                      "target_event_id", "root_event_id", "revised", "ref", "occurred_date")
#: Columns the enrichment step reads.
ENRICHMENT_INPUTS = ("due_date", "paid_date", "limit_minor", "product")
BILL_TYPES = ("bill.issued", "bill.paid")
ACCOUNT_TYPES = ("credit.opened", "credit.statement", "credit.payment", "credit.status", "credit.closed",
                 "credit.charged_off")


def _referenced_columns(expression: str) -> set[str]:
    tree = sqlglot.parse_one(f"SELECT {expression} AS x", read="duckdb")
    return {c.name for c in tree.find_all(exp.Column)}


@dataclass(frozen=True)
class QueryShape:
    """What a feature query's text depends on: everything but the instant and the retention period.

    Its SQL is written against :data:`PARAMETERS` and built, checked and linted once per shape
    (:func:`query_shape` caches shapes), whatever the number of instants it is rendered for.
    """

    features: tuple[Feature, ...]
    criteria: ScoringCriteria | None = None
    events_table: str = EVENTS_TABLE
    population_table: str = POPULATION_TABLE
    #: Events-table columns to carry even when no feature reads them (e.g. for labels).
    extra_columns: tuple[str, ...] = ()

    # -- the resolved events as of D (``$as_of``)
    @cached_property
    def columns(self) -> tuple[str, ...]:
        """Events-table columns the query reads: keys, times, enrichment inputs, feature inputs."""
        wanted = set(RESOLUTION_COLUMNS) | set(ENRICHMENT_INPUTS) | set(self.extra_columns)
        for f in self.features:
            wanted |= _referenced_columns(f.sql(PARAMETERS))
        if self.criteria is not None:
            wanted |= _referenced_columns(self.criteria.sql(PARAMETERS))
        return tuple(c.name for c in EVENTS_SCHEMA if c.name in wanted)

    @cached_property
    def resolved_ctes(self) -> tuple[tuple[str, str], ...]:
        """CTEs ending in ``effective_events``: the record of every event as of D (``$as_of``)."""
        d = PARAMETERS.at
        ev = self.columns
        plain = ", ".join(ev)
        v_cols = ", ".join(f"v.{c}" for c in ev)
        key = "{a}.consumer_id = v.consumer_id AND {a}.partner_id = v.partner_id"
        return (
            ("visible_events", f"SELECT {plain} FROM {self.events_table} WHERE received_at < {d}"),
            ("retracted_ids",
             "SELECT DISTINCT consumer_id, partner_id, target_event_id AS retracted_id "
             "FROM visible_events WHERE type = 'event.retraction'"),
            ("corrected_roots",
             "SELECT DISTINCT consumer_id, partner_id, root_event_id FROM visible_events "
             "WHERE revised AND target_event_id IS NOT NULL AND type <> 'event.retraction'"),
            ("revised_versions",
             f"SELECT {v_cols}, ch.root_event_id IS NOT NULL AS in_chain "
             "FROM visible_events AS v "
             f"LEFT JOIN retracted_ids AS r1 ON {key.format(a='r1')} AND r1.retracted_id = v.event_id "
             f"LEFT JOIN retracted_ids AS r2 ON {key.format(a='r2')} AND r2.retracted_id = v.root_event_id "
             f"LEFT JOIN corrected_roots AS ch ON {key.format(a='ch')} AND ch.root_event_id = v.root_event_id "
             "WHERE v.revised AND v.type <> 'event.retraction' "
             "AND r1.retracted_id IS NULL AND r2.retracted_id IS NULL"),
            ("chain_heads",
             f"SELECT {plain} FROM (SELECT {plain}, ROW_NUMBER() OVER (PARTITION BY consumer_id, partner_id, "
             "root_event_id ORDER BY received_at DESC, event_id DESC) AS version_rank "
             "FROM revised_versions WHERE in_chain) AS chains WHERE version_rank = 1"),
            ("effective_events",
             f"SELECT {plain} FROM visible_events "
             f"WHERE {UNREVISED} AND occurred_at < {d} "
             f"UNION ALL SELECT {plain} FROM revised_versions WHERE NOT in_chain AND occurred_at < {d} "
             f"UNION ALL SELECT {plain} FROM chain_heads WHERE occurred_at < {d}"),
        )

    @cached_property
    def enriched_cte(self) -> tuple[str, str]:
        """``enriched_events``: effective events plus per-bill, per-account and latest-snapshot columns.

        Each window runs only over the event types it concerns (a UNION ALL of
        disjoint branches), so no window sorts the whole population.
        """
        ev = ", ".join(self.columns)
        per_ref = "PARTITION BY consumer_id, partner_id, ref"
        latest = ("ROW_NUMBER() OVER (PARTITION BY consumer_id, partner_id, type, ref "
                  "ORDER BY occurred_at DESC, received_at DESC, event_id DESC)")
        null = {
            "bill_due_date": "CAST(NULL AS DATE)", "bill_paid_date": "CAST(NULL AS DATE)",
            "account_limit_minor": "CAST(NULL AS BIGINT)", "account_product": "CAST(NULL AS VARCHAR)",
            "account_ended": "CAST(NULL AS BOOLEAN)", "recency_rank": "CAST(NULL AS BIGINT)",
            "type_recency_rank": "CAST(NULL AS BIGINT)",
        }

        def branch(where: str, **cols: str) -> str:
            values = ", ".join(f"{cols.get(name, default)} AS {name}" for name, default in null.items())
            return f"SELECT {ev}, {values} FROM effective_events WHERE {where}"

        handled = [*BILL_TYPES, *ACCOUNT_TYPES, "bureau.tradeline", "income.verified"]
        branches = [
            branch(
                is_type(*BILL_TYPES),
                bill_due_date=f"MIN(CASE WHEN type = 'bill.issued' THEN due_date END) OVER ({per_ref})",
                bill_paid_date=f"MIN(CASE WHEN type = 'bill.paid' THEN paid_date END) OVER ({per_ref})",
            ),
            branch(
                is_type(*ACCOUNT_TYPES),
                account_limit_minor=f"MAX(CASE WHEN type = 'credit.opened' THEN limit_minor END) OVER ({per_ref})",
                account_product=f"MAX(CASE WHEN type = 'credit.opened' THEN product END) OVER ({per_ref})",
                account_ended=(f"MAX(CASE WHEN type IN ('credit.closed', 'credit.charged_off') THEN 1 ELSE 0 END) "
                               f"OVER ({per_ref}) = 1"),
                recency_rank=latest,
            ),
            branch(is_type("bureau.tradeline"), recency_rank=latest),
            branch(
                is_type("income.verified"),
                type_recency_rank=("ROW_NUMBER() OVER (PARTITION BY consumer_id, type "
                                   "ORDER BY occurred_at DESC, received_at DESC, partner_id DESC, event_id DESC)"),
            ),
            branch("type NOT IN (" + ", ".join(f"'{t}'" for t in handled) + ")"),
        ]
        return ("enriched_events", "\n  UNION ALL\n  ".join(branches))

    def check(self) -> None:
        """Refuse features that read forbidden columns or break the portable subset."""
        problems: list[str] = []
        seen: set[str] = set()
        for f in self.features:
            if f.name in seen:
                problems.append(f"duplicate feature {f.name!r}")
            seen.add(f.name)
            problems += feature_column_problems(f.name, f.sql(PARAMETERS))
        if problems:
            raise LintError("; ".join(problems))

    @cached_property
    def sql(self) -> str:
        """The DuckDB-dialect query with named as-of parameters (checked and linted)."""
        self.check()
        ctes = [*self.resolved_ctes, self.enriched_cte]
        aggs = [f"{f.sql(PARAMETERS)} AS {f.name}" for f in self.features]
        if self.criteria is not None:
            aggs.append(f"{self.criteria.sql(PARAMETERS)} AS is_scorable")
        ctes.append(("features_agg", "SELECT consumer_id, " + ", ".join(aggs) +
                     " FROM enriched_events GROUP BY consumer_id"))
        outer = ["p.consumer_id AS consumer_id"]
        for f in self.features:
            value = f"COALESCE(a.{f.name}, 0)" if f.empty == "zero" else f"a.{f.name}"
            outer.append(f"CAST({value} AS {f.sql_type}) AS {f.name}")
        if self.criteria is not None:
            outer.append("COALESCE(a.is_scorable, FALSE) AS is_scorable")
        body = ",\n".join(f"{name} AS (\n  {q}\n)" for name, q in ctes)
        sql = (
            f"WITH {body}\nSELECT " + ",\n  ".join(outer) +
            f"\nFROM {self.population_table} AS p\nLEFT JOIN features_agg AS a ON a.consumer_id = p.consumer_id"
            "\nORDER BY p.consumer_id"
        )
        problems = lint_sql(sql, {**column_types(), **PARAMETERS.types()})
        if problems:
            raise LintError("; ".join(problems))
        return sql


@lru_cache(maxsize=32)
def query_shape(
    features: tuple[Feature, ...],
    criteria: ScoringCriteria | None = None,
    events_table: str = EVENTS_TABLE,
    population_table: str = POPULATION_TABLE,
    extra_columns: tuple[str, ...] = (),
) -> QueryShape:
    """The shared shape (and so the once-built SQL) of every query with these parts."""
    return QueryShape(features, criteria, events_table, population_table, extra_columns)


@dataclass(frozen=True)
class FeatureQuery:
    """All features as of D for every consumer of the population, in one pass.

    The text is its :class:`QueryShape`'s, built once, with D's literals rendered in.
    """

    as_of: AsOf
    features: tuple[Feature, ...]
    criteria: ScoringCriteria | None = None
    events_table: str = EVENTS_TABLE
    population_table: str = POPULATION_TABLE
    #: Events-table columns to carry even when no feature reads them (e.g. for labels).
    extra_columns: tuple[str, ...] = ()

    @property
    def shape(self) -> QueryShape:
        return query_shape(tuple(self.features), self.criteria, self.events_table, self.population_table,
                           tuple(self.extra_columns))

    def columns(self) -> list[str]:
        """Events-table columns the query reads: keys, times, enrichment inputs, feature inputs."""
        return list(self.shape.columns)

    def resolved_ctes(self) -> list[tuple[str, str]]:
        """CTEs ending in ``effective_events``: the record of every event as of D."""
        return [(name, PARAMETERS.render(sql, self.as_of)) for name, sql in self.shape.resolved_ctes]

    def enriched_cte(self) -> tuple[str, str]:
        return self.shape.enriched_cte

    def check(self) -> None:
        """Refuse features that read forbidden columns or break the portable subset."""
        self.shape.check()

    def template(self) -> str:
        """The query with named as-of parameters: the same text for every instant."""
        return self.shape.sql

    def sql(self) -> str:
        """The DuckDB-dialect query as of D (checked and linted)."""
        return PARAMETERS.render(self.shape.sql, self.as_of)

    def to_spark_sql(self, pretty: bool = True) -> str:
        """The same query in Spark SQL (sqlglot transpile, duckdb → spark)."""
        return to_spark_sql(self.sql(), pretty=pretty)


def to_spark_sql(sql: str, pretty: bool = True) -> str:
    return sqlglot.transpile(sql, read="duckdb", write="spark", pretty=pretty)[0]


def feature_query(
    as_of: datetime | date,
    *,
    retention_months: int | None = None,
    features: Sequence[Feature] | None = None,
    criteria: ScoringCriteria | None | Literal["default"] = "default",
    events_table: str = EVENTS_TABLE,
    population_table: str = POPULATION_TABLE,
) -> FeatureQuery:
    """The query for the published feature set (:mod:`credo.features.definitions`) as of ``as_of``.

    ``retention_months`` defaults to the configured period (:mod:`credo.policy.retention`).
    """
    from credo.features.definitions import FEATURES, SCORING_CRITERIA

    return FeatureQuery(
        AsOf(as_utc(as_of), retention_months),
        tuple(FEATURES if features is None else features),
        SCORING_CRITERIA if criteria == "default" else criteria,  # type: ignore[arg-type]
        events_table,
        population_table,
    )


__all__ = [
    "AsOf", "AsOfParameters", "Column", "FeatureQuery", "LintError", "PARAMETERS", "QueryShape", "ALLOWED_FUNCTIONS", "DEFAULT_RETENTION_MONTHS",
    "ENRICHED_COLUMNS", "RESOLUTION_COLUMNS", "UNREVISED", "add_months", "agg_if", "all_of", "any_of", "as_utc", "assert_portable",
    "column_types", "count_if", "date_literal", "days_between", "feature_column_problems", "feature_query",
    "in_list", "is_type", "lint_sql", "month_index_sql", "ordinal", "ratio", "readable_columns", "sum_if",
    "query_shape", "to_spark_sql", "ts_literal",
]
