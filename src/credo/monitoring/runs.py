"""Monitor the store's batch runs: pick the runs, read them, compare, keep the report.

A batch run is a ``credo score`` run: its rows in ``scores`` share a ``run_id`` and an ``as_of`` (online
scores, ``online-…``, are not runs). By default the latest run is compared with the run before it and with
the training sample of the model that scored it (from the model registry). Each report is kept in
``monitor_reports`` (its JSON summary), the newest shown in the operator pages.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select

from credo.errors import CredoError, ErrorCode
from credo.features import events_from_store
from credo.governance import registry
from credo.ledger.hashing import as_utc
from credo.monitoring.drift import DriftReport, compare, outcomes_by_band, run_data
from credo.store.tables import monitor_reports, scores


def batch_runs(conn: Connection) -> list[tuple[str, datetime, str, datetime]]:
    """``(run_id, as_of, model_version, scored_at)`` of every batch run, oldest first."""
    rows = conn.execute(
        select(scores.c.run_id, func.min(scores.c.as_of), func.min(scores.c.model_version), func.min(scores.c.scored_at))
        .where(~scores.c.run_id.like("online-%")).group_by(scores.c.run_id)
        .order_by(func.min(scores.c.scored_at), func.min(scores.c.as_of), scores.c.run_id)).all()
    return [(r[0], as_utc(r[1]), r[2], as_utc(r[3])) for r in rows]


def _scored(conn: Connection, run_id: str) -> pd.DataFrame:
    rows = conn.execute(select(scores.c.consumer_id, scores.c.score, scores.c.band)
                        .where(scores.c.run_id == run_id, scores.c.status == "scored")).all()
    return pd.DataFrame(rows, columns=["consumer_id", "score", "band"])


def monitor(engine: Engine, run_id: str | None = None, previous_run_id: str | None = None, *,
            which: str = "champion") -> DriftReport:
    """Compare a batch run (default: the latest) with the previous one (default: the run before it) and
    with the training sample of the registered model that scored it."""
    with engine.connect() as conn:
        runs = batch_runs(conn)
        by_id = {r[0]: r for r in runs}
        if not runs:
            raise CredoError(ErrorCode.MONITOR_RUN_NOT_FOUND, "no batch run to monitor: credo score makes one",
                             field="run")
        if run_id is not None and run_id not in by_id:
            raise CredoError(ErrorCode.MONITOR_RUN_NOT_FOUND, f"no batch run {run_id!r}", field="run")
        current = by_id[run_id] if run_id else runs[-1]
        previous: tuple[str, datetime, str, datetime] | None
        if previous_run_id is not None:
            if previous_run_id not in by_id:
                raise CredoError(ErrorCode.MONITOR_RUN_NOT_FOUND, f"no batch run {previous_run_id!r}", field="previous")
            previous = by_id[previous_run_id]
        else:
            earlier = [r for r in runs if r[3] < current[3] and r[0] != current[0]]
            previous = earlier[-1] if earlier else None
        bundle = registry.load_bundle(conn, current[2])
        training = registry.evaluation(conn, current[2], "train")
        scored_now = _scored(conn, current[0])
        scored_before = _scored(conn, previous[0]) if previous else None
    model = bundle.model(which)  # type: ignore[arg-type]
    inputs = list(model.features_)
    events = events_from_store(engine)
    now = run_data(events, current[0], current[1], current[2], scored_now, inputs)
    before = run_data(events, previous[0], previous[1], previous[2], scored_before, inputs) if previous else None
    outcomes, note = outcomes_by_band(events, now, bundle.published(which).get("bands"))  # type: ignore[arg-type]
    reference_scores = model.score(training[inputs]).to_numpy()
    return compare(training[inputs], reference_scores, now, before, inputs=inputs, outcomes=outcomes,
                   outcome_note=note)


def save(conn: Connection, report: DriftReport, at: datetime) -> str:
    report_id = uuid.uuid4().hex
    conn.execute(insert(monitor_reports).values(
        id=report_id, created_at=as_utc(at), run_id=report.run_id, previous_run_id=report.previous_run_id,
        model_version=report.model_version, level=report.level, summary=report.summary()))
    return report_id


def latest(conn: Connection) -> dict[str, Any] | None:
    """The newest kept report: its summary with when it was made."""
    row = conn.execute(select(monitor_reports).order_by(monitor_reports.c.created_at.desc()).limit(1)).first()
    if row is None:
        return None
    return {"id": row.id, "created_at": as_utc(row.created_at), **row.summary}


__all__ = ["batch_runs", "latest", "monitor", "save"]
