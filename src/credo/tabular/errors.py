"""The one error a user's table can raise: a one-line message naming the problem."""

from __future__ import annotations


class TableError(ValueError):
    """Bad input in a user's table or options; the message is shown as is, without a traceback."""


__all__ = ["TableError"]
