"""What the operator pages read of model governance: the registry with each model's status, the operator
log with its verification, and the newest drift report (read-only)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from credo.governance import gate, oplog, registry
from credo.monitoring import runs
from credo.service.runtime import Service


@dataclass(frozen=True)
class ModelRow:
    version: str
    registered_at: datetime
    registered_by: str
    kind: str
    status: str
    auc: dict[str, float]
    source: str


@dataclass(frozen=True)
class Registry:
    models: list[ModelRow]
    serving: registry.Serving | None
    #: The newest publish or refusal: its gate results, rule by rule.
    last_decision: oplog.LogEntry | None


def registry_view(svc: Service) -> Registry:
    with svc.engine.connect() as conn:
        records = registry.listing(conn)
        serving = registry.serving(conn)
        refused = {e.model_version for e in oplog.entries(conn, action=oplog.Action.REFUSE)}
        served = {v for v, _, _ in gate.serving_history(conn)}
        decisions = [e for e in oplog.entries(conn, newest_first=True, limit=50)
                     if e.action in (oplog.Action.PUBLISH, oplog.Action.REFUSE)]
    rows = []
    for r in records:
        if serving is not None and r.version == serving.version:
            status = "serving"
        elif r.version in served:
            status = "served before"
        elif r.version in refused:
            status = "refused"
        else:
            status = "candidate" if r.servable else "table model (audit only)"
        validation = r.manifest.get("validation", {})
        rows.append(ModelRow(r.version, r.registered_at, r.registered_by, r.kind, status,
                             {n: validation[n]["score"]["auc"] for n in ("champion", "challenger") if n in validation},
                             str(r.manifest.get("source", ""))))
    return Registry(rows, serving, decisions[0] if decisions else None)


@dataclass(frozen=True)
class OperatorLog:
    entries: list[oplog.LogEntry]
    check: oplog.LogVerification
    seconds: float


def operator_log(svc: Service, limit: int = 50) -> OperatorLog:
    with svc.engine.connect() as conn:
        entries = oplog.entries(conn, newest_first=True, limit=limit)
        started = time.perf_counter()
        check = oplog.verify(conn)
    return OperatorLog(entries, check, time.perf_counter() - started)


def latest_drift(svc: Service) -> dict[str, Any] | None:
    with svc.engine.connect() as conn:
        return runs.latest(conn)


__all__ = ["ModelRow", "OperatorLog", "Registry", "latest_drift", "operator_log", "registry_view"]
