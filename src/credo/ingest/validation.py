"""Turn a raw record into a validated event, or into precise problems.

Every pydantic error becomes a :class:`Problem` naming the field and the rule;
anything that touches a forbidden category is reported as such (with the
category's code) rather than as a generic unknown field.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from credo.errors import ErrorCode
from credo.events.schemas import EVENT_MODELS, EventBase, MoneyPrecisionError, parse_event
from credo.events.types import time_rule_of
from credo.ingest.outcomes import MalformedRecord, Problem
from credo.policy.event_time import RULE_RECEIVED, latest, latest_received, rule_text
from credo.policy.protection import ForbiddenCategory, category_in_text, category_of_name
from credo.policy.text import RULE as TEXT_RULE, first_control_character


def _field_path(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if not (isinstance(p, str) and p in EVENT_MODELS)]
    return ".".join(parts) or None


def _forbidden(field: str | None, code: str, name: str, rationale: str) -> Problem:
    return Problem(
        ErrorCode.FORBIDDEN_CATEGORY,
        field,
        code,
        f"field {field!r} carries a forbidden data category ({name}); nothing of this event is stored. {rationale}",
    )


def _nested_category(value: Any) -> tuple[str, ForbiddenCategory] | None:
    """The first forbidden category named anywhere inside a nested value (an object's keys, any text),
    with its path below the field; None for a scalar or a clean value. Walked without recursion."""
    if not isinstance(value, dict | list):
        return None
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                here = f"{path}.{key}" if path else str(key)
                category = category_of_name(str(key))
                if category is not None:
                    return here, category
                stack.append((here, inner))
        elif isinstance(item, list):
            stack.extend((f"{path}.{i}" if path else str(i), inner) for i, inner in enumerate(item))
        elif isinstance(item, str) and (category := category_in_text(item)) is not None:
            return path, category
    return None


def problems_from_validation(exc: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        kind = err["type"]
        field = _field_path(err["loc"])
        if kind == "union_tag_invalid":
            problems.append(Problem(ErrorCode.UNKNOWN_EVENT_TYPE, "type", "type in EVENT_TYPES", err["msg"]))
        elif kind == "union_tag_not_found":
            problems.append(Problem(ErrorCode.MISSING_FIELD, "type", "required", "every event needs a 'type'"))
        elif (nested := _nested_category(err.get("input"))) is not None:
            # a value with fields of its own (never valid in a flat event) that names a forbidden category
            where, category = nested
            problems.append(_forbidden(".".join(filter(None, (field, where))), category.code, category.name,
                                       category.rationale))
        elif kind == "extra_forbidden":
            name = str(err["loc"][-1])
            value = err.get("input")
            category = category_of_name(name) or (category_in_text(value) if isinstance(value, str) else None)
            if category is not None:
                problems.append(_forbidden(field, category.code, category.name, category.rationale))
            else:
                problems.append(
                    Problem(ErrorCode.UNKNOWN_FIELD, field, "extra=forbid", f"{name!r} is not a field of this event")
                )
        elif kind == "forbidden_category":
            ctx = err.get("ctx", {})
            problems.append(_forbidden(field, ctx["rule"], ctx["name"], ctx["rationale"]))
        elif kind == "time_out_of_range":
            rule = err.get("ctx", {})["rule"]
            problems.append(Problem(ErrorCode.TIME_OUT_OF_RANGE, field, rule, f"{field!r} must be {rule}"))
        elif kind == "missing":
            problems.append(Problem(ErrorCode.MISSING_FIELD, field, "required", f"{field!r} is required"))
        else:
            problems.append(Problem(ErrorCode.INVALID_VALUE, field, kind, err["msg"]))
    problems.sort(key=lambda p: p.code is not ErrorCode.FORBIDDEN_CATEGORY)
    return problems


def validate_record(
    record: Any,
    *,
    partner_id: str | None,
    trusted_received_at: bool,
    default_received_at: datetime | None = None,
) -> EventBase | list[Problem]:
    """Validate one record. ``partner_id`` comes from the caller's credentials, if any.

    Only trusted bulk back-fills (the operator's ``credo ingest``) may set
    ``received_at``; partners calling the API get it assigned by the server.
    """
    if isinstance(record, MalformedRecord):
        return [Problem(ErrorCode.MALFORMED_REQUEST, None, "valid JSON", record.message)]
    if not isinstance(record, dict):
        return [Problem(ErrorCode.MALFORMED_REQUEST, None, "object", "each event must be a JSON object")]
    control = first_control_character(record)
    if control is not None:
        path, position = control
        field = ".".join(str(p) for p in path) or None
        return [Problem(ErrorCode.CONTROL_CHARACTER, field, TEXT_RULE,
                        f"{field!r} has a control character at position {position}: {TEXT_RULE}")]
    if not trusted_received_at and record.get("received_at") is not None:
        return [
            Problem(
                ErrorCode.RECEIVED_AT_SERVER_ASSIGNED,
                "received_at",
                "server-assigned",
                "received_at is set by Credo when the event arrives",
            )
        ]
    if partner_id is not None:
        claimed = record.get("partner_id")
        if claimed is not None and claimed != partner_id:
            return [
                Problem(
                    ErrorCode.PARTNER_MISMATCH,
                    "partner_id",
                    "matches API key",
                    f"partner_id {claimed!r} is not the partner of this API key",
                )
            ]
        record = {**record, "partner_id": partner_id}
    elif record.get("partner_id") is None:
        return [Problem(ErrorCode.MISSING_FIELD, "partner_id", "required", "bulk records must name their partner")]
    if default_received_at is not None and record.get("received_at") is None:
        record = {**record, "received_at": default_received_at}
    try:
        event = parse_event(record)
    except ValidationError as exc:
        return problems_from_validation(exc)
    except MoneyPrecisionError as exc:
        return [Problem(ErrorCode.MONEY_PRECISION, exc.field_name, "ISO 4217 minor units", str(exc))]
    return _late_times(event, default_received_at) or event


def _late_times(event: EventBase, ingested_at: datetime | None) -> list[Problem]:
    """Times later than their rule allows (credo.policy.event_time): ``received_at`` against the
    moment of ingestion, then every other date or time against ``received_at``."""
    received = event.received_at
    if received is None:
        return []
    if ingested_at is not None and received > latest_received(ingested_at):
        return [Problem(ErrorCode.TIME_OUT_OF_RANGE, "received_at", RULE_RECEIVED,
                        f"'received_at' must be {RULE_RECEIVED}")]
    problems = []
    for name, info in type(event).model_fields.items():
        rule = time_rule_of(info)
        value = getattr(event, name)
        if rule is None or value is None:
            continue
        is_date = not isinstance(value, datetime) and isinstance(value, date)
        if value > latest(rule, received, is_date=is_date):
            text = rule_text(rule, is_date=is_date)
            problems.append(Problem(ErrorCode.TIME_OUT_OF_RANGE, name, text, f"{name!r} must be {text}"))
    return problems
