"""Field types shared by the event schemas: identifiers, UTC times, money, codes.

Every field is declared through :func:`field`, which records the data category
(one of :data:`credo.policy.protection.ALLOWED_DATA_CATEGORIES`) in the JSON
Schema, so a test can walk every field and prove none is a forbidden category.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any

import iso4217
import iso18245
from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints
from pydantic_core import PydanticCustomError

from credo.policy.event_time import EARLIEST, EARLIEST_DATE, RULE_EARLIEST, RULE_UTC, TimeRule
from credo.policy.merchant_categories import sensitive_group
from credo.policy.protection import ALLOWED_DATA_CATEGORIES

#: Largest amount any money field accepts (in major units): 1e12.
MAX_AMOUNT = Decimal("1000000000000")


def field(category: str, description: str, *, time_rule: TimeRule | None = None, **kwargs: Any) -> Any:
    """A pydantic ``Field`` that carries its data category in the schema, and for a date or
    time its :class:`~credo.policy.event_time.TimeRule` (how late it may be)."""
    if category not in ALLOWED_DATA_CATEGORIES:
        raise ValueError(f"unknown data category {category!r}")
    extra = dict(kwargs.pop("json_schema_extra", {}) or {})
    extra["data_category"] = category
    if time_rule is not None:
        extra["time_rule"] = TimeRule(time_rule).value
    return Field(description=description, json_schema_extra=extra, **kwargs)


def time_rule_of(info: Any) -> TimeRule | None:
    """The time rule a field declares (a pydantic ``FieldInfo``), if any."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    rule = extra.get("time_rule")
    return None if rule is None else TimeRule(rule)


def _too_early() -> PydanticCustomError:
    return PydanticCustomError("time_out_of_range", "must be {rule}", {"rule": RULE_EARLIEST})


def _to_utc(value: datetime) -> datetime:
    """UTC, and not before 1970 (a year-1 or year-9999 time with an offset has no UTC form at all)."""
    try:
        moment = value.astimezone(timezone.utc)
    except OverflowError:
        raise _too_early() if value.year < EARLIEST.year else PydanticCustomError(
            "time_out_of_range", "must be {rule}", {"rule": RULE_UTC}) from None
    if moment < EARLIEST:
        raise _too_early()
    return moment


def _not_too_early(value: date) -> date:
    if value < EARLIEST_DATE:
        raise _too_early()
    return value


#: A timezone-aware instant, normalised to UTC, not before 1970. Naive times are rejected.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
#: A calendar date, not before 1970.
EventDate = Annotated[date, AfterValidator(_not_too_early)]

#: Partner-chosen identifiers and references: short, printable, no spaces.
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")]

#: A non-negative exact amount in major units ("12.34"); precision is checked
#: against the currency's ISO 4217 exponent by the event model.
Amount = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]


@lru_cache(maxsize=512)
def currency_exponent(code: str) -> int:
    """Minor-unit exponent of an ISO 4217 currency; ValueError if not a money currency."""
    try:
        exponent = iso4217.Currency(code).exponent
    except ValueError:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code") from None
    if exponent is None:
        raise ValueError(f"{code!r} is not a currency with minor units (ISO 4217)")
    return exponent


def _check_currency(code: str) -> str:
    currency_exponent(code)
    return code


@lru_cache(maxsize=10000)
def _check_mcc(code: str) -> str:
    # iso18245 scans its CSV on every lookup; the code space is small, so cache.
    try:
        iso18245.get_mcc(code)
    except (iso18245.MCCNotFound, iso18245.InvalidMCC):
        raise ValueError(f"{code!r} is not an ISO 18245 merchant category code") from None
    return code


CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), AfterValidator(_check_currency)]
def _not_sensitive_mcc(code: str) -> str:
    """Refuse a code that reveals a forbidden category (:mod:`credo.policy.merchant_categories`)."""
    group = sensitive_group(code)
    if group is not None:
        raise PydanticCustomError("forbidden_category", "merchant category {code} reveals {name}: {rationale}",
                                  {"rule": group.rule, "name": group.name, "rationale": group.rationale, "code": code})
    return code


#: An ISO 18245 merchant category code that reveals nothing Credo refuses to hold.
MerchantCategory = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$"), AfterValidator(_check_mcc),
                             AfterValidator(_not_sensitive_mcc)]


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Exact integer minor units (cents, fen, …) of an amount in a currency."""
    return int(amount.scaleb(currency_exponent(currency)))
