"""The consumer's score now, kept between reads: exactly what :func:`credo.service.scores.compute`
would return, without computing it on every read.

A kept score (``Service.kept_scores``, in the process, bounded) is served for a read at ``now``
only when nothing it was computed from can have changed:

* **The store's inputs.** One statement of index probes (:data:`_INPUTS`) reads, for the consumer:
  the highest event ``seq`` and the number of events (a new, corrected or retracted event has a
  higher ``seq``; the retention purge deletes rows), how many of those events a suppression
  excludes (dispute deadline passed, record retracted, retention), how many disputes and how many
  of them open (opening adds one, any resolution closes one), and whether the consumer is active.
  They are read before the computation, so a change committed during it makes the kept score look
  stale, never the reverse; and they are read from the store on every read, so writes by another
  process (another server worker, ``credo disputes sweep``, ``credo retention run``) are seen.
  The same statement says whether an open dispute is past its deadline: then it is swept first.
* **The model and the rules.** The serving bundle (the loaded object and its version), the serving
  model and the retention setting.
* **Time.** The read's as-of instant lies in ``[as_of, unchanged_until)`` of the kept computation
  (:func:`credo.features.horizon.unchanged_until`): the same UTC day, and before any window edge or
  cut-off reaches one of the consumer's event times. Features depend on time alone only there.

The kept result is then served with the read's own as-of instant, and equals a fresh computation
field for field (``tests/service/test_kept_score.py`` checks it after random sequences of events,
corrections, retractions, disputes, consent changes, retention runs and clock moves).

Consents to report do not change what counts (events already accepted stay; a withdrawal applies
to the next event), and consents to access only decide who may read, so neither is an input.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, select

from credo.features.events_table import suppressed_clause
from credo.service import disputes as disputes_service
from credo.service import scores as scoring
from credo.service.runtime import Service
from credo.store.prepared import Prepared
from credo.store.tables import consumers, disputes, events


def _inputs() -> Select:
    """What the consumer's score is computed from in the store, as counts and the highest seq; and
    how many open disputes are past their deadline at ``now``."""
    cid: Any = bindparam("consumer_id")
    own = events.c.consumer_id == cid
    mine = disputes.c.consumer_id == cid
    is_open = disputes.c.status == "open"
    return select(
        select(func.max(events.c.seq)).where(own).scalar_subquery().label("events_seq"),
        select(func.count()).select_from(events).where(own).scalar_subquery().label("events"),
        select(func.count()).select_from(events).where(own, suppressed_clause()).scalar_subquery()
        .label("suppressed"),
        select(func.count()).select_from(disputes).where(mine).scalar_subquery().label("disputes"),
        select(func.count()).select_from(disputes).where(mine, is_open).scalar_subquery().label("open_disputes"),
        select(consumers.c.status).where(consumers.c.id == cid).scalar_subquery().label("status"),
        select(func.count()).select_from(disputes)
        .where(mine, is_open, disputes.c.due_at <= bindparam("now", type_=disputes.c.due_at.type))
        .scalar_subquery().label("overdue"),
    )


_INPUTS = Prepared(_inputs())


@dataclass(frozen=True)
class _Entry:
    inputs: tuple[Any, ...]
    rules: tuple[Any, ...]
    result: scoring.ScoreResult


def _read_inputs(svc: Service, consumer_id: str, now: datetime) -> tuple[tuple[Any, ...], bool]:
    """The consumer's store inputs, and whether an open dispute is past its deadline."""
    with svc.engine.connect() as conn:
        row = _INPUTS.first(conn, consumer_id=consumer_id, now=now)
    assert row is not None  # an aggregate statement: always one row
    return tuple(row[:-1]), bool(row.overdue)


#: The retention settings in the environment (``CREDO_RETENTION_MONTHS``, and the replaced
#: ``CREDO_RETENTION_YEARS`` that :mod:`credo.policy.retention` refuses), matched as it reads them.
_RETENTION_PREFIX = "CREDO_RETENTION_"


def _rules(svc: Service) -> tuple[Any, ...]:
    """The model in force and the retention settings as written: any change to them recomputes.
    (:func:`credo.policy.retention.retention_months` would parse the settings on every read.)"""
    bundle = svc.model_bundle()
    retention = tuple(sorted((k.upper(), v) for k, v in os.environ.items() if k.upper().startswith(_RETENTION_PREFIX)))
    return id(bundle), bundle.version, svc.settings.serving_model, retention


def _served(svc: Service, consumer_id: str, now: datetime, inputs: tuple[Any, ...],
            rules: tuple[Any, ...]) -> scoring.ScoreResult | None:
    kept: _Entry | None = svc.kept_scores.get(consumer_id)
    if kept is None or kept.inputs != inputs or kept.rules != rules:
        return None
    as_of, until = scoring.online_as_of(now), kept.result.unchanged_until
    if kept.result.as_of <= as_of and until is not None and as_of < until:
        return _copy(kept.result, as_of)
    return None


def kept_only(svc: Service, consumer_id: str, now: datetime) -> scoring.ScoreResult | None:
    """The kept score if it can be served for a read at ``now`` as it is; None if the read needs a
    computation or an overdue dispute swept (nothing is written either way)."""
    rules = _rules(svc)
    inputs, overdue = _read_inputs(svc, consumer_id, now)
    return None if overdue else _served(svc, consumer_id, now, inputs, rules)


def score_now(svc: Service, consumer_id: str, now: datetime) -> tuple[scoring.ScoreResult, bool]:
    """The consumer's score read at ``now`` with its factor groups and reasons, after sweeping any of
    their disputes past its deadline; and whether it was computed for this read (False: the kept one
    was served, moved to this read's as-of instant)."""
    rules = _rules(svc)
    inputs, overdue = _read_inputs(svc, consumer_id, now)
    if overdue:
        disputes_service.sweep(svc, now, consumer_id)
        inputs, _ = _read_inputs(svc, consumer_id, now)
    served = _served(svc, consumer_id, now, inputs, rules)
    if served is not None:
        return served, False
    result = scoring.compute(svc, consumer_id, now)
    svc.kept_scores.put(consumer_id, _Entry(inputs, rules, _copy(result, result.as_of)))
    return result, True


def _copy(result: scoring.ScoreResult, as_of: datetime) -> scoring.ScoreResult:
    """A copy as of ``as_of`` that shares nothing mutable with the kept one."""
    return replace(result, as_of=as_of, reasons=list(result.reasons), groups=[dict(g) for g in result.groups],
                   features=dict(result.features))


def forget(svc: Service, consumer_id: str) -> None:
    """Drop the consumer's kept score (account closed: nothing about them stays in memory either)."""
    svc.kept_scores.drop(consumer_id)
