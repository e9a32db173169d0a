"""What a consumer sees of their own score, each read recorded in their access ledger.

The API (``/v1/me/score…``) and the web pages call these, so both answer the same and both
leave the same ledger entry: who looked (the consumer), why (``self_view``) and what was shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from credo.ledger import ActorKind
from credo.service import access, disputes, kept, whatif
from credo.service import scores as scoring
from credo.service.runtime import Service


def _record(svc: Service, consumer_id: str, disclosed: str, now: datetime,
            result: scoring.ScoreResult | None = None) -> None:
    with svc.serial(), svc.engine.begin() as conn:
        if result is not None:
            scoring.persist(conn, result, now)
        access.record(conn, consumer_id=consumer_id, actor=access.Actor(ActorKind.CONSUMER, consumer_id),
                      purpose="self_view", disclosed=disclosed, now=now)


def score(svc: Service, consumer_id: str, now: datetime, *, cached_only: bool = False) -> dict[str, Any] | None:
    """The score now with its factor groups and reasons (the public form). Served from the kept
    score when nothing that moves it has changed (:mod:`credo.service.kept`), so it is a fresh
    computation's answer either way; a computed one is also a score-history row. With
    ``cached_only`` a read that needs a computation or a dispute sweep returns None, having written
    nothing (the API answers kept reads on the event loop and the rest in the thread pool)."""
    if cached_only:
        served = kept.kept_only(svc, consumer_id, now)
        if served is None:
            return None
        result, computed = served, False
    else:
        result, computed = kept.score_now(svc, consumer_id, now)
    _record(svc, consumer_id, "score+reasons", now, result if computed else None)
    return result.public()


def history(svc: Service, consumer_id: str, now: datetime) -> list[dict[str, Any]]:
    _record(svc, consumer_id, "score_history", now)
    with svc.engine.connect() as conn:
        return scoring.history(conn, consumer_id)


def what_if_inputs(svc: Service, consumer_id: str, now: datetime) -> dict[str, Any]:
    disputes.sweep(svc, now, consumer_id)
    out = whatif.inputs(svc, consumer_id, now)
    _record(svc, consumer_id, "what_if_inputs", now)
    return out


def what_if(svc: Service, consumer_id: str, now: datetime, changes: Mapping[str, float | None]) -> dict[str, Any]:
    disputes.sweep(svc, now, consumer_id)
    out = whatif.what_if(svc, consumer_id, now, changes)
    _record(svc, consumer_id, "what_if_estimate", now)
    return out
