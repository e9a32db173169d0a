"""The SQL builder: lint, data categories, golden Spark SQL, feature catalogue."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlglot
import sqlglot.expressions as exp

from credo.events.schemas import EVENT_MODELS
from credo.features.builder import (
    AsOf,
    FeatureQuery,
    LintError,
    add_months,
    feature_column_problems,
    feature_query,
    lint_sql,
    readable_columns,
    ts_literal,
)
from credo.features.definitions import FEATURES, GROUPS, SCORING_CRITERIA, Feature, monotone_constraints, reason_codes
from credo.features.events_table import EVENTS_SCHEMA, KEY_COLUMNS, field_category, is_scorable_category
from credo.policy.protection import ALLOWED_DATA_CATEGORIES
from credo.policy.reasons import reason

GOLDEN = Path(__file__).parent / "golden" / "features_spark.sql"
GOLDEN_AS_OF = datetime(2024, 6, 1, tzinfo=timezone.utc)


def test_golden_spark_sql():
    """The transpiled Spark SQL is committed; a change (features, builder or sqlglot) fails here.

    Regenerate deliberately with ``CREDO_UPDATE_GOLDEN=1 pytest tests/features/test_builder.py``.
    """
    spark = feature_query(GOLDEN_AS_OF).to_spark_sql() + "\n"
    if os.environ.get("CREDO_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(spark)
    assert GOLDEN.read_text() == spark
    assert sqlglot.parse_one(spark, read="spark") is not None  # valid Spark SQL


def test_query_is_lint_clean_and_uses_only_literal_cutoffs():
    sql = feature_query(GOLDEN_AS_OF).sql()
    assert lint_sql(sql) == []
    tree = sqlglot.parse_one(sql, read="duckdb")
    assert not list(tree.find_all(exp.Interval))
    assert "CURRENT_" not in sql.upper() and "NOW(" not in sql.upper()
    assert "TIMESTAMPTZ '2024-06-01 00:00:00+00:00'" in sql
    assert "received_at < TIMESTAMPTZ '2024-06-01 00:00:00+00:00'" in sql  # strict <


@pytest.mark.parametrize("bad, why", [
    ("SELECT SUM(balance_minor) / COUNT(*) FROM t", "NULLIF"),
    ("SELECT COUNT(*) FROM t WHERE occurred_at >= TIMESTAMPTZ '2024-01-01 00:00:00+00:00' - INTERVAL 1 MONTH",
     "INTERVAL"),
    ("SELECT MAX(DATE_DIFF('day', occurred_at, paid_date)) FROM t", "non-DATE"),
    ("SELECT MAX(DATE_DIFF('month', due_date, paid_date)) FROM t", "in days"),
    ("SELECT STRFTIME(paid_date, '%Y') FROM t", "not allowed"),
    ("SELECT LIST(paid_date) FROM t", "not allowed"),
])
def test_lint_rejects_bad_expressions(bad, why):
    problems = lint_sql(bad)
    assert any(why in p for p in problems), problems


def test_lint_accepts_the_safe_forms():
    assert lint_sql("SELECT CAST(SUM(balance_minor) AS DOUBLE) / NULLIF(CAST(SUM(limit_minor) AS DOUBLE), 0), "
                    "MAX(DATE_DIFF('day', due_date, paid_date)) FROM t") == []


def _bad_feature(expr: str) -> Feature:
    return Feature("bad", "payment_history", "bad", "increasing", "R01", lambda d: expr)


@pytest.mark.parametrize("expr, why", [
    ("COUNT(*) FILTER (WHERE merchant_category = '5411')", "spending_insight"),
    ("COUNT(*) FILTER (WHERE currency = 'CNY')", "envelope"),
    ("COUNT(DISTINCT ref)", "identifier"),
    ("MAX(partner_id)", "identifier"),
    ("MAX(received_at)", "delivery time"),
    ("COUNT(*) FILTER (WHERE religion = 'x')", "unknown"),
    ("SUM(amount_minor) / COUNT(*)", "NULLIF"),
])
def test_query_refuses_forbidden_columns_and_unsafe_sql(expr, why):
    query = FeatureQuery(AsOf(GOLDEN_AS_OF), (*FEATURES, _bad_feature(expr)), SCORING_CRITERIA)
    with pytest.raises(LintError, match=why):
        query.sql()


def test_no_feature_reads_a_forbidden_category_by_ast_walk():
    """Walk every feature's SQL AST: each column resolves to a scorable category (or event type/time)."""
    d = AsOf(GOLDEN_AS_OF)
    cols = readable_columns()
    for f in FEATURES:
        assert feature_column_problems(f.name, f.sql(d)) == [], f.name
        for node in sqlglot.parse_one(f"SELECT {f.sql(d)}", read="duckdb").find_all(exp.Column):
            col = cols[node.name]
            assert col.role in ("value", "time", "structural"), (f.name, node.name)
            assert node.name not in KEY_COLUMNS
            assert all(ALLOWED_DATA_CATEGORIES[c] for c in col.categories if col.role == "value"), (f.name, node.name)


def test_whole_query_never_mentions_a_non_scorable_field():
    sql = feature_query(GOLDEN_AS_OF).sql()
    names = {c.name for c in sqlglot.parse_one(sql, read="duckdb").find_all(exp.Column)}
    for etype, model in EVENT_MODELS.items():
        for name in model.model_fields:
            category = field_category(etype, name)
            if category is not None and not is_scorable_category(category) and category != "envelope":
                assert name not in names, name
    assert "merchant_category" not in names and "currency" not in names


def test_events_table_holds_no_non_scorable_payload_field():
    for f in EVENTS_SCHEMA:
        source = f.name.removesuffix("_minor")
        if f.name in KEY_COLUMNS or f.name in ("type", "occurred_at", "received_at", "occurred_date"):
            continue
        cats = {field_category(t, source) for t in EVENT_MODELS} - {None}
        assert cats and any(is_scorable_category(c) for c in cats), f.name
    assert "merchant_category" not in EVENTS_SCHEMA.names and "currency" not in EVENTS_SCHEMA.names


def test_feature_catalogue():
    assert 15 <= len(FEATURES) <= 30
    assert {f.group for f in FEATURES} == set(GROUPS)
    for f in FEATURES:
        assert reason(f.reason_code).group == f.group
        assert f.direction in ("increasing", "decreasing")
    assert set(reason_codes()) == set(monotone_constraints()) == {f.name for f in FEATURES}
    assert set(monotone_constraints().values()) == {1, -1}


def test_feature_rejects_a_reason_from_another_group():
    with pytest.raises(ValueError, match="not in group"):
        Feature("x", "identity", "x", "increasing", "R01", lambda d: "COUNT(*)")


def test_time_literals_are_computed_in_python():
    d = AsOf(datetime(2024, 3, 31, 15, 30, tzinfo=timezone.utc), retention_months=60)
    assert d.since(1) == "TIMESTAMPTZ '2024-02-29 15:30:00+00:00'"
    assert d.since(1, negative=True) == d.since(1)
    assert d.since(None, negative=True) == "TIMESTAMPTZ '2019-03-31 15:30:00+00:00'"
    assert AsOf(d.instant, retention_months=3).since(12, negative=True) == "TIMESTAMPTZ '2023-12-31 15:30:00+00:00'"
    assert d.today == "DATE '2024-03-31'"
    assert add_months(datetime(2024, 1, 31, tzinfo=timezone.utc), 1).day == 29
    assert ts_literal(datetime(2024, 1, 1, 8, tzinfo=timezone(__import__("datetime").timedelta(hours=8)))) == \
        "TIMESTAMPTZ '2024-01-01 00:00:00+00:00'"
    with pytest.raises(ValueError):
        AsOf(datetime(2024, 1, 1))  # naive
