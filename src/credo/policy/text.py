"""What text Credo takes from outside: no control characters.

Every string a request carries — identifiers, names, free text, path and query parameters, keys of
objects — and every string field of a reported event is refused if it holds a control character
(Unicode category Cc: NUL, the rest of C0, DEL, C1) other than tab, line feed and carriage return,
or an unpaired UTF-16 surrogate. Neither is ever meaningful in Credo's data; NUL cannot be stored
in PostgreSQL text at all and a lone surrogate cannot be encoded as UTF-8, so either used to reach
the store as a server error. The rejection names the field and :data:`RULE`, with
``INPUT_CONTROL_CHARACTER``.
"""

from __future__ import annotations

import re
from typing import Any

RULE = "no control characters"
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def control_character_at(text: str) -> int | None:
    """The position of the first forbidden character in ``text``, or None."""
    found = _FORBIDDEN.search(text)
    return None if found is None else found.start()


def _texts(value: Any, into: list[str]) -> list[str]:
    if isinstance(value, str):
        into.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                into.append(key)
            if isinstance(item, str):
                into.append(item)
            elif isinstance(item, dict | list | tuple):
                _texts(item, into)
    elif isinstance(value, list | tuple):
        for item in value:
            _texts(item, into)
    return into


def first_control_character(value: Any, path: tuple[str | int, ...] = ()) -> tuple[tuple[str | int, ...], int] | None:
    """Where the first forbidden character is in a JSON-like value (strings, and the keys and values
    of objects and arrays, however deep): ``(path within the value, position)``, or None. A key that
    holds one is its own path's last step. One search over all the text decides the common case
    (nothing found); only then is the place looked for."""
    if _FORBIDDEN.search("\n".join(_texts(value, []))) is None:
        return None
    return _locate(value, path)


def _locate(value: Any, path: tuple[str | int, ...]) -> tuple[tuple[str | int, ...], int] | None:
    if isinstance(value, str):
        at = control_character_at(value)
        return None if at is None else (path, at)
    if isinstance(value, dict):
        for key, item in value.items():
            found = _locate(key, (*path, key)) if isinstance(key, str) else None
            found = found or _locate(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _locate(item, (*path, index))
            if found is not None:
                return found
    return None
