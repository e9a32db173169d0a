"""The rule of ``credo.policy.text`` at the API's schema boundary: the base model of every request
body, and the type of every text path or query parameter.

Both check before any other constraint (a pattern, a length, a closed list), so a control character
is always reported as itself: ``INPUT_CONTROL_CHARACTER``, naming the field and the rule.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, field_validator
from pydantic_core import PydanticCustomError

from credo.policy.text import RULE, first_control_character

#: The pydantic error type a control character raises (``api.problems`` maps it to its code).
CONTROL_CHARACTER = "control_character"


def no_control_characters(value: Any) -> Any:
    found = first_control_character(value)
    if found is not None:
        inner, position = found
        where = "".join(f"[{p!r}]" for p in inner)
        raise PydanticCustomError(CONTROL_CHARACTER, "control character at position {position}{where}: {rule}",
                                  {"position": position, "where": f" of {where}" if where else "", "rule": RULE})
    return value


class ApiModel(BaseModel):
    """Base of every request body: no field, at any depth, holds a control character."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return no_control_characters(value)


#: The check, to put in the ``Annotated`` of a path or query parameter of another type (a closed list).
Clean = BeforeValidator(no_control_characters)
#: Text in a path or query parameter.
CleanStr = Annotated[str, Clean]
