"""Column-wise validation plans, derived from the event schemas.

For each event type and each of its fields this module says how a whole Arrow
column can be checked at once, taking every rule from the schema itself — the
field's annotation, its constraints and default, the model's money fields — and
from the data-protection policy, never from a second hand-written table:

``identifier``  the schema's own ``Ref`` pattern, plus the forbidden-term scan;
``instant``     ``UtcDatetime``: a timezone-aware Arrow timestamp in whole seconds, not before 1970;
``money``       an amount already written canonically for its currency's
                ISO 4217 exponent, inside the field's ``ge``/``le`` bounds;
``values``      anything else (codes, enums, dates, counts, flags): each distinct
                value of the column goes through the field's own pydantic
                validator once.

A plan only ever *accepts* values that pydantic would accept unchanged (valid
and already canonical), so the stored JSON can be assembled from the input
text; anything else is left to the per-row path. A field's time rule
(``credo.policy.event_time``) comes with its plan, for the same reason.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal

import annotated_types
from pydantic import AllowInfNan, TypeAdapter
from pydantic.fields import FieldInfo

from credo.events.schemas import DELIVERY_FIELDS, EVENT_MODELS, EventBase, Ref
from credo.events.types import UtcDatetime, time_rule_of
from credo.ingest.prepare import target_field
from credo.policy.event_time import TimeRule

Kind = Literal["identifier", "instant", "money", "values"]

#: Fields the per-row path fills in or requires beyond the schema (see validation.validate_record).
PARTNER_FIELD = "partner_id"
RECEIVED_FIELD = "received_at"


@dataclass(frozen=True)
class FieldPlan:
    name: str
    kind: Kind
    required: bool
    #: JSON of a default that is not None (included when the column is null), else None.
    default_json: str | None
    in_digest: bool
    #: identifier: the schema's regular expression.
    pattern: str | None = None
    #: money: most digits before the decimal point that stay within ``le``.
    max_int_digits: int = 0
    #: The field's own validator and serialiser (for ``values``, and instants given as text).
    adapter: TypeAdapter[Any] | None = None
    #: How late a date or time may be, relative to ``received_at`` (None: not a bounded time).
    time_rule: TimeRule | None = None


@dataclass(frozen=True)
class TypePlan:
    event_type: str
    #: Every field, ``type`` included, in the schema's order (the order of the stored JSON).
    fields: tuple[FieldPlan, ...]
    #: The field that names an earlier event (corrections and retractions).
    target_field: str

    @property
    def names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)


def _without_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _full_annotation(info: FieldInfo) -> Any:
    """The field's type with its constraints, as one ``Annotated`` (None removed)."""
    base = _without_none(info.annotation)
    return Annotated[(base, *info.metadata)] if info.metadata else base  # type: ignore[return-value]


def _string_pattern(annotation: Any) -> str:
    for meta in typing.get_args(annotation)[1:]:
        if getattr(meta, "pattern", None):
            return meta.pattern
    raise TypeError(f"{annotation!r} declares no pattern")


def _money_digits(info: FieldInfo) -> int:
    """Integer digits an amount may have so that it is surely within the bounds.

    Only the constraints ``Amount`` declares are understood; anything else makes
    the plan refuse the type (all its rows then take the per-row path).
    """
    ge = le = None
    for meta in info.metadata:
        if isinstance(meta, annotated_types.Ge):
            ge = meta.ge
        elif isinstance(meta, annotated_types.Le):
            le = meta.le
        elif not (isinstance(meta, AllowInfNan) and not meta.allow_inf_nan):
            raise TypeError(f"unsupported money constraint {meta!r}")
    if _without_none(info.annotation) is not Decimal or ge != 0 or le is None:
        raise TypeError("money fields must be non-negative, bounded Decimals")
    return len(str(int(Decimal(le)))) - 1


def _field_plan(model: type[EventBase], name: str, info: FieldInfo) -> FieldPlan:
    annotation = _full_annotation(info)
    default = None if info.is_required() else info.default
    common = {
        "name": name,
        "required": info.is_required(),
        "default_json": None if default is None else TypeAdapter(annotation).dump_json(default).decode(),
        "in_digest": name not in DELIVERY_FIELDS,
        "adapter": TypeAdapter(annotation),
        "time_rule": time_rule_of(info),
    }
    if annotation == Ref:
        return FieldPlan(kind="identifier", pattern=_string_pattern(annotation), **common)
    if annotation == UtcDatetime:
        return FieldPlan(kind="instant", **common)
    if name in model.money_fields:
        return FieldPlan(kind="money", max_int_digits=_money_digits(info), **common)
    return FieldPlan(kind="values", **common)


def _type_plan(event_type: str, model: type[EventBase]) -> TypePlan | None:
    decorators = model.__pydantic_decorators__
    if decorators.model_validators or decorators.field_validators or decorators.field_serializers:
        return None  # rules outside the field annotations: only pydantic itself knows them
    try:
        fields = tuple(_field_plan(model, n, i) for n, i in model.model_fields.items())
    except TypeError:
        return None
    return TypePlan(event_type, fields, target_field(event_type))


@lru_cache(maxsize=1)
def type_plans() -> dict[str, TypePlan | None]:
    """Every event type's plan; None for a type only the per-row path can check."""
    return {t: _type_plan(t, m) for t, m in EVENT_MODELS.items()}
