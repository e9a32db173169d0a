"""The flat column layout shared by every event type, for CSV and Parquet files.

Derived from the schemas, never typed by hand: the union of all event fields,
with exact types kept exact (amounts and times as strings, ISO 8601).
"""

from __future__ import annotations

import types
import typing
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

import pyarrow as pa
from pydantic import AwareDatetime

from credo.events.schemas import EVENT_MODELS


def _base_type(annotation: object) -> object:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _base_type(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _base_type(args[0])
    return annotation


def _arrow_type(annotation: object) -> pa.DataType:
    base = _base_type(annotation)
    if base is bool:
        return pa.bool_()
    if base is int:
        return pa.int64()
    if base in (str, Decimal, datetime, date, AwareDatetime) or typing.get_origin(base) is typing.Literal:
        return pa.string()
    raise TypeError(f"no flat column type for {annotation!r}")


@lru_cache(maxsize=1)
def flat_schema() -> pa.Schema:
    """Arrow schema holding any event record: ``type`` first, then every field once."""
    columns: dict[str, pa.DataType] = {"type": pa.string()}
    for model in EVENT_MODELS.values():
        for name, info in model.model_fields.items():
            if name != "type":
                columns.setdefault(name, _arrow_type(info.annotation))
    return pa.schema(list(columns.items()))
