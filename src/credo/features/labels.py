"""Bad-event labels as SQL: the one text both engines run (DuckDB as written, Spark through sqlglot).

What a bad event is, and how it is dated, is the published outcome definition
(:mod:`credo.policy.outcome`); this module holds its queries. :data:`SOURCES_SQL` has one query
per :data:`~credo.policy.outcome.BAD_EVENT_SOURCES` entry, each giving ``(consumer_id, bad_date)``
rows over ``effective_events``, the record of every event as of the moment the labels are built
(:meth:`~credo.features.builder.FeatureQuery.resolved_ctes`: corrections and retractions applied).
:func:`first_bad_dates_sql` assembles the complete query. :func:`snapshot_labels_sql` labels
observation snapshots from those first bad dates. :mod:`credo.features.training` runs both on
DuckDB, :mod:`credo.scale.spark_training` runs the same text transpiled to Spark SQL
(:func:`credo.features.builder.to_spark_sql`); the text keeps to what both dialects read the same
way (``DATE + INTEGER`` is a date that many days later in both, checked by the Spark parity tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone

from credo.features.builder import EVENTS_TABLE, AsOf, FeatureQuery, add_months, as_utc, date_literal
from credo.policy.outcome import BAD_DAYS_PAST_DUE, BAD_SOURCE_CODES

BadSource = str  # a code of credo.policy.outcome.BAD_EVENT_SOURCES
DEFAULT_BAD_SOURCES: tuple[BadSource, ...] = BAD_SOURCE_CODES
#: Events-table columns the label queries read beyond those the point-in-time resolution carries.
LABEL_COLUMNS = ("as_of_date", "days_past_due", "charged_off_date", "worst_days_past_due_24m", "status",
                 "instalment")
_DPD = BAD_DAYS_PAST_DUE
_DEROGATORY = "('charged_off', 'collection')"

#: One query per published bad-event source: ``(consumer_id, bad_date)`` rows over ``effective_events``.
SOURCES_SQL: dict[str, str] = {
    "credit_status": (
        "SELECT consumer_id, as_of_date AS bad_date FROM effective_events "
        f"WHERE type = 'credit.status' AND days_past_due >= {_DPD}"
    ),
    "charge_off": (
        "SELECT consumer_id, charged_off_date AS bad_date FROM effective_events "
        "WHERE type = 'credit.charged_off'"
    ),
    "bureau": (  # the first snapshot of each tradeline that reports it
        "SELECT consumer_id, MIN(as_of_date) AS bad_date FROM effective_events "
        f"WHERE type = 'bureau.tradeline' AND (worst_days_past_due_24m >= {_DPD} OR status IN {_DEROGATORY}) "
        "GROUP BY consumer_id, partner_id, ref"
    ),
    "bill": (  # unpaid by due + 90, or paid 90+ days late
        "SELECT b.consumer_id, b.due_date + {dpd} AS bad_date FROM effective_events AS b "
        "LEFT JOIN (SELECT consumer_id, partner_id, ref, MIN(paid_date) AS paid_date FROM effective_events "
        "WHERE type = 'bill.paid' GROUP BY consumer_id, partner_id, ref) AS p "
        "ON p.consumer_id = b.consumer_id AND p.partner_id = b.partner_id AND p.ref = b.ref "
        "WHERE b.type = 'bill.issued' AND (p.paid_date IS NULL OR p.paid_date >= b.due_date + {dpd})"
    ).format(dpd=_DPD),
    "order_instalment": (  # reported unpaid, or paid 90+ days late
        f"SELECT consumer_id, MIN(due_date) + {_DPD} AS bad_date FROM effective_events "
        "WHERE type = 'order.payment' GROUP BY consumer_id, partner_id, ref, instalment "
        f"HAVING MIN(paid_date) IS NULL OR MIN(paid_date) >= MIN(due_date) + {_DPD}"
    ),
    "rental_fee": (  # reported unpaid, and not reported paid before due + 90 (a bill's rule)
        "SELECT f.consumer_id, f.due_date + {dpd} AS bad_date FROM effective_events AS f "
        "LEFT JOIN (SELECT consumer_id, partner_id, ref, MIN(paid_date) AS paid_date FROM effective_events "
        "WHERE type = 'rental.fee_paid' GROUP BY consumer_id, partner_id, ref) AS p "
        "ON p.consumer_id = f.consumer_id AND p.partner_id = f.partner_id AND p.ref = f.ref "
        "WHERE f.type = 'rental.fee_unpaid' AND (p.paid_date IS NULL OR p.paid_date >= f.due_date + {dpd})"
    ).format(dpd=_DPD),
}
if set(SOURCES_SQL) != set(BAD_SOURCE_CODES):  # pragma: no cover - a policy change without its query
    raise RuntimeError("credo.features.labels.SOURCES_SQL must cover exactly policy.outcome.BAD_EVENT_SOURCES")


def check_sources(sources: Sequence[BadSource]) -> None:
    """Refuse a bad-event source the outcome definition does not publish."""
    unknown = sorted(set(sources) - set(BAD_SOURCE_CODES))
    if unknown:
        raise ValueError(f"unknown bad-event source(s) {', '.join(unknown)}; known: {', '.join(BAD_SOURCE_CODES)}")


def default_known_at(data_end: datetime | None) -> datetime:
    """When labels are built unless told: just after the last received event (everything received counts)."""
    return (data_end or datetime(1970, 1, 1, tzinfo=timezone.utc)) + timedelta(microseconds=1)


def resolution_query(known_at: datetime, *, events_table: str = EVENTS_TABLE) -> FeatureQuery:
    """The point-in-time resolution the labels read: no feature, the label columns carried."""
    return FeatureQuery(AsOf(as_utc(known_at)), (), events_table=events_table, extra_columns=LABEL_COLUMNS)


def first_bad_dates_sql(
    known_at: datetime,
    sources: Sequence[BadSource] = DEFAULT_BAD_SOURCES,
    *,
    events_table: str = EVENTS_TABLE,
) -> str:
    """The DuckDB-dialect query of each consumer's first bad-event date as known at ``known_at``.

    Reads the normalised events (:data:`~credo.features.events_table.EVENTS_SCHEMA`) in
    ``events_table``: those received before ``known_at``, every correction and retraction among
    them applied. A bad date after ``known_at``'s (UTC) date is not known yet and does not count.
    Rows: ``consumer_id``, ``first_bad_date`` (DATE), one per consumer with a bad event, ordered by
    ``consumer_id``.
    """
    check_sources(sources)
    if not sources:
        raise ValueError("at least one bad-event source is needed")
    query = resolution_query(known_at, events_table=events_table)
    ctes = ",\n".join(f"{name} AS ({sql})" for name, sql in query.resolved_ctes())
    union = " UNION ALL ".join(SOURCES_SQL[s] for s in sources)
    known_date = date_literal(as_utc(known_at).date())
    return (f"WITH {ctes}\nSELECT consumer_id, MIN(bad_date) AS first_bad_date FROM ({union}) AS bad "
            f"WHERE bad_date <= {known_date} GROUP BY consumer_id ORDER BY consumer_id")


# ---------------------------------------------------------------- observation snapshots


def horizon_end(observation_date: date, horizon_months: int) -> date:
    """The first day after an observation's horizon: a bad date before it (and on or after D) is bad."""
    return add_months(as_utc(observation_date), horizon_months).date()


#: A consumer whose first bad date is before the observation date is already bad: left out.
ALREADY_BAD_SQL = "COALESCE(first_bad_date < observation_date, FALSE)"
#: 1 when the first bad date falls in ``[observation_date, horizon_end)``, else 0 (no bad date: 0).
LABEL_SQL = ("CAST(CASE WHEN first_bad_date >= observation_date AND first_bad_date < horizon_end "
             "THEN 1 ELSE 0 END AS BIGINT)")
#: The first bad date when it is before the horizon's end, else NULL.
BAD_DATE_SQL = "CASE WHEN first_bad_date < horizon_end THEN first_bad_date END"


def snapshot_labels_sql(table: str, columns: Sequence[str] = ("consumer_id",),
                        order_by: Sequence[str] = ()) -> str:
    """The DuckDB-dialect query labelling observation snapshots.

    ``table`` has one row per (consumer, observation) with ``observation_date``, ``horizon_end``
    (:func:`horizon_end`) and ``first_bad_date`` (NULL when never bad). The query keeps ``columns``
    of every row not already bad and adds ``label`` (BIGINT) and ``bad_date`` (DATE).
    """
    keep = ", ".join(columns)
    order = f" ORDER BY {', '.join(order_by)}" if order_by else ""
    return (f"SELECT {keep}, {LABEL_SQL} AS label, {BAD_DATE_SQL} AS bad_date FROM {table} "
            f"WHERE NOT {ALREADY_BAD_SQL}{order}")


__all__ = [
    "ALREADY_BAD_SQL", "BAD_DATE_SQL", "BadSource", "DEFAULT_BAD_SOURCES", "LABEL_COLUMNS", "LABEL_SQL",
    "SOURCES_SQL", "check_sources", "default_known_at", "first_bad_dates_sql", "horizon_end",
    "resolution_query", "snapshot_labels_sql",
]
