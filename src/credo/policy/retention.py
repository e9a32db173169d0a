"""Retention of negative records: one period, in calendar months, for the features and the purge.

Late or missed payments, days past due, charge-offs, collections and unpaid
fees older than the retention period before an instant D stop counting in every
feature as of D (batch, online and training; :class:`credo.features.builder.AsOf`),
and ``credo retention run`` suppresses, then deletes, the same records
(:mod:`credo.service.retention`). Both read the period here, and both cut at
the same instant, :func:`retention_cut`: a record counts while its event time
is at or after the cut.

The period is one setting, ``CREDO_RETENTION_MONTHS`` (default 60: five
years), read at each use so that a feature computation and a purge in the same
process always agree. Periods are calendar months: 60 months before
2029-02-28 is 2024-02-28, and 1 month before 31 March is the last day of
February (the day is clamped to the month's end).
"""

from __future__ import annotations

import calendar
import os
from datetime import datetime

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The retention period when ``CREDO_RETENTION_MONTHS`` is not set (five years).
DEFAULT_RETENTION_MONTHS = 60
ENV_VAR = "CREDO_RETENTION_MONTHS"
#: The setting this one replaced; refused rather than ignored, so that a deployment that set a longer
#: period is never purged on the default without notice.
_REPLACED_ENV_VAR = "CREDO_RETENTION_YEARS"


class RetentionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CREDO_", extra="ignore")

    retention_months: int = Field(DEFAULT_RETENTION_MONTHS, ge=1, le=1200, description=(
        "Calendar months a negative record counts in features; older records are excluded, then purged."))


def retention_months() -> int:
    """The configured retention period in calendar months (``CREDO_RETENTION_MONTHS``).

    Raises ``ValueError`` with a one-line message naming the setting when it is not a whole
    number of months in 1..1200, or when the replaced ``CREDO_RETENTION_YEARS`` is still set.
    """
    if _REPLACED_ENV_VAR in os.environ:
        raise ValueError(f"{_REPLACED_ENV_VAR} is no longer read: set {ENV_VAR} (calendar months, "
                         f"e.g. {ENV_VAR}={12 * 5} for five years) and unset {_REPLACED_ENV_VAR}")
    try:
        return RetentionSettings().retention_months
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"]
        raise ValueError(f"{ENV_VAR}={os.environ.get(ENV_VAR)!r}: {problem}") from None


def add_months(d: datetime, months: int) -> datetime:
    """Calendar month arithmetic (day clamped to the month's end), in Python, never in SQL."""
    total = d.year * 12 + (d.month - 1) + months
    year, month = divmod(total, 12)
    day = min(d.day, calendar.monthrange(year, month + 1)[1])
    return d.replace(year=year, month=month + 1, day=day)


def retention_cut(instant: datetime, months: int | None = None) -> datetime:
    """The oldest event time a negative record may have and still count as of ``instant``.

    ``months`` defaults to the configured period (:func:`retention_months`).
    """
    period = retention_months() if months is None else months
    if period < 1:
        raise ValueError("retention_months must be >= 1")
    return add_months(instant, -period)


__all__ = ["DEFAULT_RETENTION_MONTHS", "ENV_VAR", "RetentionSettings", "add_months", "retention_cut",
           "retention_months"]
