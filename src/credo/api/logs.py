"""JSON log lines for the server (logger ``credo``), one object per line on stderr.

Each record carries its message and the fields passed as ``extra`` (request id, route, status,
outcome, caller kind, latency, …). What goes into ``extra`` is chosen by the callers
(:mod:`credo.api.middleware`), which never pass secrets, tokens, bodies or query strings.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import orjson

#: Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        line.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")})
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: str) -> None:
    """JSON lines at ``level`` on the ``credo`` logger; idempotent (one handler however many apps are built)."""
    logger = logging.getLogger("credo")
    logger.setLevel(level)
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
