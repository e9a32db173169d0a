"""The published scorecard as SQL: one engine-neutral CASE expression per feature, in DuckDB's dialect.

The same text runs on DuckDB and, transpiled by sqlglot (:func:`to_spark`), on Spark, so a
population is scored inside the engine as a column expression (no Python per row). It
reproduces :meth:`credo.model.Scorecard.score` exactly:

* **bins** (:class:`credo.model.binning.FeatureBinning`): a missing value (NULL *or* NaN) takes
  the missing bin; a special value its own bin; otherwise the regular bin ``i`` is the number
  of cut points ``<= x`` (``x < s_i`` for the first such ``i``). Missing is routed explicitly,
  before any comparison: both engines sort NaN above +inf and ``NaN = NaN`` is true in both
  (research P9). A feature with a ``null_values`` entry scores its missing values as that
  value's bin, as the scorecard fills them before binning;
* **literals** (research P12): cut points and special values are ``CAST('<repr>' AS DOUBLE)``,
  which both engines parse correctly rounded, so the double compared is the model's own (a bare
  ``0.1`` is a DECIMAL in both engines); features are compared as ``DOUBLE`` as numpy does;
  points are integer literals summed as ``BIGINT``, so no engine rounds anything;
* **clamp** to ``SCORE_MIN..SCORE_MAX`` (:mod:`credo.policy.bands`) after the sum, and the band
  from :data:`credo.policy.bands.BANDS`;
* **status** as :func:`credo.scoring.batch.score_frame`: a consumer who fails the minimum scoring
  criteria (``is_scorable`` false or NULL) is ``not_enough_data`` with no score and no band.

Only numerical binnings have a SQL form here: the feature set is numeric, and a categorical
bin's ``str(value)`` lookup has no engine-neutral spelling (refused with the feature named).
"""

from __future__ import annotations

from collections.abc import Sequence

from credo.features.builder import to_spark_sql
from credo.model import Scorecard
from credo.policy.bands import BANDS, SCORE_MAX, SCORE_MIN
from credo.scoring.batch import NOT_ENOUGH_DATA, SCORED


def ident(name: str) -> str:
    """A quoted SQL identifier (DuckDB dialect; sqlglot turns it into Spark's backticks)."""
    return '"' + name.replace('"', '""') + '"'


def double(value: float) -> str:
    """A DOUBLE literal that is exactly ``value`` in both engines (a string both parse correctly rounded)."""
    return f"CAST('{float(value)!r}' AS DOUBLE)"


def points_sql(model: Scorecard, feature: str, value: str) -> str:
    """The integer points of ``feature`` for ``value`` (an SQL expression of type DOUBLE)."""
    binning = model.binnings_[feature]
    if binning.dtype != "numerical":
        raise ValueError(f"feature {feature!r}: only numerical binnings have a SQL form (it is {binning.dtype})")
    points = [int(p) for p in model.points_[feature]]
    fill = (model.null_values or {}).get(feature)
    # a missing value is scored as the scorecard scores it: as its fill value's bin, else the missing bin
    missing = points[binning.missing_bin] if fill is None else points[int(binning.bin_index([float(fill)])[0])]
    whens = [f"WHEN {value} IS NULL OR isnan({value}) THEN {missing}"]
    whens += [f"WHEN {value} = {double(sv)} THEN {points[binning.special_bin(j)]}"
              for j, sv in enumerate(binning.specials)]
    whens += [f"WHEN {value} < {double(cut)} THEN {points[i]}" for i, cut in enumerate(binning.splits)]
    return "CASE " + " ".join(whens) + f" ELSE {points[len(binning.splits)]} END"


def total_sql(model: Scorecard, column: dict[str, str] | None = None) -> str:
    """The points total before the clamp (``BIGINT``); ``column`` maps a feature to its DOUBLE expression."""
    column = column or {}
    parts = [f"CAST({int(model.base_points_)} AS BIGINT)"]
    parts += [f"({points_sql(model, f, column.get(f, ident(f)))})" for f in model.features_]
    return " + ".join(parts)


def clamp_sql(total: str) -> str:
    """``total`` clamped to the published range."""
    return f"LEAST(GREATEST({total}, {SCORE_MIN}), {SCORE_MAX})"


def band_sql(score: str) -> str:
    """The band name of an integer ``score`` in the published range."""
    whens = " ".join(f"WHEN {score} >= {b.lower} THEN '{b.name}'"
                     for b in sorted(BANDS, key=lambda b: b.lower, reverse=True)[:-1])
    return f"CASE {whens} ELSE '{min(BANDS, key=lambda b: b.lower).name}' END"


def outcome_sql(score_select: str, key: Sequence[str]) -> str:
    """Status, score and band over ``score_select``, a query giving ``key``, ``credo_ok`` and ``credo_score``."""
    keys = ", ".join(f"s.{ident(k)}" for k in key)
    return (
        f"SELECT {keys}, CASE WHEN s.credo_ok THEN '{SCORED}' ELSE '{NOT_ENOUGH_DATA}' END AS status, "
        "CASE WHEN s.credo_ok THEN s.credo_score END AS score, "
        f"CASE WHEN s.credo_ok THEN {band_sql('s.credo_score')} END AS band\n"
        f"FROM (\n{score_select}\n) AS s"
    )


def scorable_sql(scorable: str | None) -> str:
    """``credo_ok``: the minimum scoring criteria column, NULL read as not met; every row when ``None``."""
    return "TRUE" if scorable is None else f"COALESCE(f.{ident(scorable)}, FALSE)"


def scoring_sql(
    model: Scorecard,
    table: str = "features",
    *,
    key: Sequence[str] = ("consumer_id",),
    scorable: str | None = "is_scorable",
) -> str:
    """``key``, ``status``, ``score`` (BIGINT, NULL when not scorable) and ``band`` of every row of ``table``.

    ``table`` holds one column per model feature (NULL or NaN for missing) and ``scorable``.
    """
    casts = ", ".join(f"CAST(f.{ident(f)} AS DOUBLE) AS {ident(f)}" for f in model.features_)
    keys = ", ".join(f"f.{ident(k)}" for k in key)
    inner = f"SELECT {keys}, {scorable_sql(scorable)} AS credo_ok, {casts} FROM {ident(table)} AS f"
    passthrough = ", ".join(f"c.{ident(k)}" for k in [*key, "credo_ok"])
    score_select = f"SELECT {passthrough}, {clamp_sql(total_sql(model))} AS credo_score FROM ({inner}) AS c"
    return outcome_sql(score_select, key)


def to_spark(sql: str) -> str:
    """The same query in Spark SQL (the transpile every feature query uses)."""
    return to_spark_sql(sql, pretty=False)


__all__ = ["band_sql", "clamp_sql", "double", "ident", "outcome_sql", "points_sql", "scorable_sql", "scoring_sql",
           "to_spark", "total_sql"]
