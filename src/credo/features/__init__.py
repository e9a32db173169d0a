"""Features: declared once, point-in-time, engine-neutral (DuckDB SQL, transpiled to Spark).

* :mod:`credo.features.events_table` — the typed events table features run on;
* :mod:`credo.features.builder` — the SQL builder, point-in-time rules, lint, Spark transpile;
* :mod:`credo.features.definitions` — the features and the minimum scoring criteria;
* :mod:`credo.features.compute` — batch (population) and online (one consumer) computation;
* :mod:`credo.features.training` — observation snapshots, labels, out-of-time split.
"""

from credo.features.builder import AsOf, FeatureQuery, LintError, feature_query, lint_sql, to_spark_sql
from credo.features.compute import compute_features, consumer_features
from credo.features.definitions import (
    FEATURE_NAMES, FEATURES, INQUIRY_FEATURE, SCORING_CRITERIA, Feature, ScoringCriteria,
    monotone_constraints, reason_codes,
)
from credo.features.events_table import (
    EVENTS_SCHEMA, events_from_directory, events_from_files, events_from_store, normalise, record_events,
)

__all__ = [
    "AsOf", "FeatureQuery", "LintError", "feature_query", "lint_sql", "to_spark_sql",
    "compute_features", "consumer_features",
    "FEATURE_NAMES", "FEATURES", "INQUIRY_FEATURE", "SCORING_CRITERIA", "Feature", "ScoringCriteria",
    "monotone_constraints", "reason_codes",
    "EVENTS_SCHEMA", "events_from_directory", "events_from_files", "events_from_store", "normalise",
    "record_events",
]
