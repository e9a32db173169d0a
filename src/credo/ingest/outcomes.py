"""What ingestion answers for each event: accepted, duplicate or rejected (and why)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from credo.errors import ErrorCode

Status = Literal["accepted", "duplicate", "rejected"]


@dataclass(frozen=True, slots=True)
class MalformedRecord:
    """A line of a bulk file that could not even be parsed as a record."""

    message: str


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule: stable code, the field it concerns, the rule and a message."""

    code: ErrorCode
    field: str | None
    rule: str
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code.value, "field": self.field, "rule": self.rule, "message": self.message}


@dataclass(slots=True)
class Outcome:
    index: int
    event_id: str | None
    status: Status
    problems: tuple[Problem, ...] = field(default=())

    @property
    def code(self) -> ErrorCode | None:
        return self.problems[0].code if self.problems else None

    def as_dict(self) -> dict:
        return {
            "index": self.index,
            "event_id": self.event_id,
            "status": self.status,
            "errors": [p.as_dict() for p in self.problems],
        }
