"""The what-if simulator: the inputs a consumer may change, in human units, and the estimate.

:func:`inputs` lists every feature the simulator accepts, with the consumer's
current value (as computed for their score now) and the accepted range, in the
unit a person reads: ratios as percentages, money in major units of the
currency the amounts were reported in (ISO 4217 exponents: 12 345 fen are
CNY 123.45, 12 345 yen are JPY 12,345), counts, days, months, levels by name.
:func:`what_if` takes changes in those same units, converts them to the
model's (shares, minor units) and runs the production model on a copy: an
estimate, never a score.

Raising a feature that means taking on debt, credit or applications
(:data:`DEBT_FEATURES`) is never suggested: those may only be lowered, and
one with nothing to lower is listed as refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import orjson
import pandas as pd
from sqlalchemy import select

from credo.errors import CredoError, ErrorCode
from credo.events.types import currency_exponent
from credo.features.definitions import FEATURES, FEATURES_BY_NAME, IDENTITY_LEVELS, INCOME_BANDS
from credo.policy.reasons import FACTOR_GROUPS
from credo.service import scores as scoring
from credo.service.runtime import Service
from credo.store.tables import events

#: Features whose increase means taking on debt or applying for credit: the what-if refuses raising them.
DEBT_FEATURES: frozenset[str] = frozenset({
    "revolving_utilisation", "balance_to_limit", "open_credit_lines", "new_accounts_6m", "inquiries_6m",
    "inquiries_12m", "total_credit_limit",
})
ESTIMATE_LABEL = "Estimate only: a simulation on the production model, not your score."
UNITS_NOTE = ("Values are in the unit shown for each input: percentages 0-100, money in major units of the "
              "currency shown, whole counts, days and months, levels by number. POST /v1/me/score/what-if "
              "takes the same units.")

Kind = Literal["count", "days", "months", "percent", "money", "level"]


@dataclass(frozen=True)
class Unit:
    """How a feature reads to a person. ``max_percent`` bounds a share (100 %); levels carry labels."""

    kind: Kind
    whole: bool = True
    max_percent: float | None = None
    levels: tuple[str, ...] = ()
    #: Event types whose amounts a money feature sums (their currency is the feature's).
    money_from: tuple[str, ...] = ()


_SHARE = Unit("percent", whole=False, max_percent=100.0)
_RATIO = Unit("percent", whole=False)  # utilisation or payments over balance: may exceed 100 %
_LEVEL_LABELS = {
    "income_band": tuple(b.replace("_", " ") for b in INCOME_BANDS),
    "identity_level": ("none", *IDENTITY_LEVELS),
}

#: The human unit of every published feature (tests check that none is missing).
UNITS: dict[str, Unit] = {
    "late_payments_12m": Unit("count"), "late_payments_24m": Unit("count"), "late_payments_3m": Unit("count"),
    "missed_payments_12m": Unit("count"), "derogatory_records": Unit("count"),
    "worst_days_past_due_24m": Unit("days"), "worst_days_past_due_3m": Unit("days"),
    "days_past_due_now": Unit("days"),
    "months_since_last_delinquency": Unit("months"), "months_since_oldest_account": Unit("months"),
    "average_account_age_months": Unit("months", whole=False), "tenure_months": Unit("months"),
    "revolving_utilisation": _RATIO, "balance_to_limit": _RATIO, "average_utilisation_6m": _RATIO,
    "payment_to_balance_3m": _RATIO, "payment_to_balance_6m": _RATIO,
    "bills_on_time_share_12m": _SHARE, "rent_on_time_share_12m": _SHARE, "rental_returns_on_time_share_12m": _SHARE,
    "credit_payments_3m": Unit("money", whole=False, money_from=("credit.payment",)),
    "total_credit_limit": Unit("money", whole=False, money_from=("credit.opened", "bureau.tradeline")),
    "income_band": Unit("level", levels=_LEVEL_LABELS["income_band"]),
    "identity_level": Unit("level", levels=_LEVEL_LABELS["identity_level"]),
    "open_credit_lines": Unit("count"), "new_accounts_6m": Unit("count"), "inquiries_6m": Unit("count"),
    "inquiries_12m": Unit("count"), "unpaid_rental_fees_12m": Unit("count"),
}


def unit_of(name: str) -> Unit:
    try:
        return UNITS[name]
    except KeyError:
        raise LookupError(f"feature {name!r} has no human unit in credo.service.whatif.UNITS") from None


# ---------------------------------------------------------------- money


def minor_to_major(minor: float, currency: str) -> Decimal:
    """An amount in minor units (what features sum) in major units: 12345 CNY fen → 123.45, 12345 JPY → 12345."""
    exact = Decimal(int(minor)) if float(minor).is_integer() else Decimal(str(minor))
    return exact.scaleb(-currency_exponent(currency))


def major_to_minor(major: float | Decimal, currency: str) -> int:
    """An amount in major units as whole minor units; ``ValueError`` when it is finer than the currency allows."""
    exponent = currency_exponent(currency)
    scaled = Decimal(str(major)).scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{currency} amounts have at most {exponent} decimal place(s)")
    return int(scaled)


def format_money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.{currency_exponent(currency)}f} {currency}"


def money_currencies(svc: Service, consumer_id: str) -> dict[str, set[str]]:
    """Money feature → the currencies of the consumer's events its amounts come from."""
    types = {t for u in UNITS.values() for t in u.money_from}
    with svc.engine.connect() as conn:
        rows = conn.execute(select(events.c.type, events.c.payload)
                            .where(events.c.consumer_id == consumer_id, events.c.type.in_(types))).all()
    by_type: dict[str, set[str]] = {}
    for event_type, payload in rows:
        currency = orjson.loads(payload).get("currency")
        if currency:
            by_type.setdefault(event_type, set()).add(currency)
    return {name: set().union(*(by_type.get(t, set()) for t in u.money_from))
            for name, u in UNITS.items() if u.kind == "money"}


# ---------------------------------------------------------------- model units <-> human units


def to_human(name: str, value: float | None, currency: str | None) -> float | None:
    """A feature value as a person reads it (``None``: no data, or money in no single currency)."""
    if value is None:
        return None
    unit = unit_of(name)
    if unit.kind == "percent":
        return value * 100
    if unit.kind == "money":
        if currency:
            return float(minor_to_major(value, currency))
        return 0.0 if value == 0 else None  # nothing is 0 in any currency; a mix has no single amount
    return value


def display(name: str, value: float | None, currency: str | None, currencies: set[str] | None = None) -> str:
    """The value as text: "83.4 %", "1,234.50 CNY", "3", "45 days", "14 months", a level's name, "no data"."""
    unit = unit_of(name)
    if value is None:
        return "no data"
    if unit.kind == "percent":
        return f"{value * 100:.1f} %"
    if unit.kind == "money":
        if currency:
            return format_money(minor_to_major(value, currency), currency)
        if currencies:
            return f"not shown: amounts in several currencies ({', '.join(sorted(currencies))})"
        return "0" if value == 0 else "no currency reported"
    if unit.kind == "level":
        return unit.levels[int(value) - _level_range(unit)[0]]
    number = f"{int(value):,}" if unit.whole else f"{value:,.1f}"
    return {"days": f"{number} days", "months": f"{number} months"}.get(unit.kind, number)


def _level_range(unit: Unit) -> tuple[int, int]:
    first = 0 if unit.levels[0] == "none" else 1
    return first, first + len(unit.levels) - 1


def _bounds(unit: Unit) -> tuple[float, float | None]:
    """(min, max) any value of the unit may take, in human units; ``max`` None when unbounded."""
    if unit.kind == "level":
        low, high = _level_range(unit)
        return float(low), float(high)
    return 0.0, unit.max_percent


def _human_range(name: str, current: float | None, currency: str | None) -> tuple[float, float | None]:
    """(min, max) the what-if accepts for the consumer, in human units: debt-like features only go down."""
    low, high = _bounds(unit_of(name))
    return (low, to_human(name, current, currency)) if name in DEBT_FEATURES else (low, high)


_WHOLE = {"count": "a whole number", "days": "whole days", "months": "whole months", "level": "a level number"}


def _to_model(name: str, value: float | None, currencies: set[str], current: float | None) -> float | None:
    """A change given in human units, checked, in the model's units; ``CredoError`` naming the change."""
    where = f"changes.{name}"
    unit = unit_of(name)
    if value is None:
        if FEATURES_BY_NAME[name].empty != "null":
            raise CredoError(ErrorCode.WHAT_IF_INVALID, f"{name} cannot be empty", where, "a value")
        return None
    if not math.isfinite(value):
        raise CredoError(ErrorCode.WHAT_IF_INVALID, f"{name}: give a finite number", where, "finite number")
    if unit.whole and not float(value).is_integer():
        raise CredoError(ErrorCode.WHAT_IF_INVALID, f"{name} takes {_WHOLE[unit.kind]}", where, "whole number")
    low, high = _bounds(unit)
    if value < low or (high is not None and value > high):
        sign = " %" if unit.kind == "percent" else ""
        bound = f"{low:g}{sign} to {high:g}{sign}" if high is not None else f"at least {low:g}{sign}"
        raise CredoError(ErrorCode.WHAT_IF_INVALID, f"{name}: {value:g}{sign} is outside {bound}", where, "accepted range")
    if unit.kind == "percent":
        model = value / 100
    elif unit.kind == "money":
        if not currencies:
            raise CredoError(ErrorCode.WHAT_IF_INVALID, f"{name}: no amounts reported yet, so no currency to give "
                             "one in", where, "known currency")
        if len(currencies) > 1:
            raise CredoError(ErrorCode.WHAT_IF_INVALID, f"{name}: your amounts are in several currencies "
                             f"({', '.join(sorted(currencies))})", where, "one currency")
        try:
            model = float(major_to_minor(value, next(iter(currencies))))
        except ValueError as exc:
            raise CredoError(ErrorCode.WHAT_IF_INVALID, f"{name}: {exc}", where, "ISO 4217 minor units") from None
    else:
        model = float(value)
    if name in DEBT_FEATURES and (current is None or model > current):
        raise CredoError(ErrorCode.WHAT_IF_ADDS_DEBT, f"{name}: the simulator never suggests taking on more "
                         "debt, credit or applications", where, "no added debt")
    return model


# ---------------------------------------------------------------- the two endpoints


def _single(currencies: set[str]) -> str | None:
    return next(iter(currencies)) if len(currencies) == 1 else None


def inputs(svc: Service, consumer_id: str, now: datetime) -> dict[str, Any]:
    """Every feature the what-if accepts, with the current value and accepted range in human units,
    and the features whose every change it refuses (debt-like, with nothing to lower), with why."""
    base = scoring.compute(svc, consumer_id, now, with_groups=False)
    in_model = set(svc.model_bundle().model(svc.settings.serving_model).features_)
    currencies = money_currencies(svc, consumer_id)
    group_names = {g.code: g.name for g in FACTOR_GROUPS}
    accepted, refused = [], []
    for feature in FEATURES:
        name, unit = feature.name, unit_of(feature.name)
        value = base.features.get(name)
        currency = _single(currencies.get(name, set())) if unit.kind == "money" else None
        item: dict[str, Any] = {
            "name": name, "description": feature.description, "group": feature.group,
            "group_name": group_names.get(feature.group, feature.group), "in_model": name in in_model,
            "unit": unit.kind, "currency": currency, "value": value,
            "current": to_human(name, value, currency),
            "display": display(name, value, currency, currencies.get(name)),
        }
        if name in DEBT_FEATURES and not value:
            refused.append({**item, "rule": "It can only be lowered here, and there is nothing to lower: raising it "
                                            "means taking on debt, credit or applications, which the simulator "
                                            "never suggests."})
            continue
        if unit.kind == "money" and value and currency is None:
            refused.append({**item, "rule": "Your amounts are reported in several currencies, so no single amount "
                                            "can be shown or changed."})
            continue
        low, high = _human_range(name, value, currency)
        accepted.append({**item, "min": low, "max": high, "whole_numbers": unit.whole,
                         "can_be_empty": feature.empty == "null", "lower_only": name in DEBT_FEATURES,
                         "levels": [{"value": i, "label": label}
                                    for i, label in enumerate(unit.levels, start=_level_range(unit)[0])]
                         if unit.kind == "level" else None})
    return {"estimate": True, "label": ESTIMATE_LABEL, "units": UNITS_NOTE, "as_of": base.as_of,
            "current": {"status": base.status, "score": base.score, "band": base.band},
            "inputs": accepted, "refused": refused}


def what_if(svc: Service, consumer_id: str, now: datetime, changes: Mapping[str, float | None]) -> dict[str, Any]:
    """Apply hypothetical values, given in the units :func:`inputs` lists, to a copy of the consumer's
    features and run the production model (an estimate)."""
    if not changes:
        raise CredoError(ErrorCode.WHAT_IF_INVALID, "give at least one change", "changes", "at least one change")
    unknown = sorted(set(changes) - set(FEATURES_BY_NAME))
    if unknown:
        raise CredoError(ErrorCode.WHAT_IF_INVALID, f"unknown feature {unknown[0]!r} (GET /v1/me/score/what-if "
                         "lists the inputs)", f"changes.{unknown[0]}", "known input")
    base = scoring.compute(svc, consumer_id, now, with_groups=False)
    row = dict(base.features)
    money = [n for n in changes if unit_of(n).kind == "money"]
    currencies = money_currencies(svc, consumer_id) if money else {}
    for name, value in changes.items():
        model = _to_model(name, value, currencies.get(name, set()), row.get(name))
        row[name] = model if model is not None else np.nan
    frame = pd.DataFrame([row], index=pd.Index([consumer_id], name="consumer_id"))
    for name in FEATURES_BY_NAME:
        frame[name] = frame[name].astype(float)
    frame["is_scorable"] = bool(row.get("is_scorable", False))
    est = scoring.result_from_features(svc, consumer_id, base.as_of, frame, with_groups=True)
    return {"estimate": True, "label": ESTIMATE_LABEL, "units": UNITS_NOTE,
            "current": {"status": base.status, "score": base.score, "band": base.band},
            "estimated": est.public(), "changes": dict(changes)}


__all__ = ["DEBT_FEATURES", "UNITS", "Unit", "display", "inputs", "major_to_minor", "minor_to_major",
           "money_currencies", "to_human", "unit_of", "what_if"]
