"""The publication gate: the only way a model comes to serve, and the only way back.

:func:`publish` runs every rule of :data:`credo.policy.governance.GATE_RULES` on the candidate (the
model of its bundle that will serve: champion or challenger) against its registered out-of-time rows, the
serving model, the audit store and the registered perk thresholds, in one transaction:

* every rule passes (a failed adverse-impact or stability rule counts as passed only with the operator's
  written justification or rescaling decision, recorded): the serving pointer moves to the candidate and a
  ``publish`` entry with every rule's result is appended to the operator log;
* any rule fails: nothing moves and a ``refuse`` entry names each failed rule with its findings.

There is no way around it: no ``--force``, and the server serves only what the pointer names
(:class:`credo.service.serving.ServingModel`). The first publish of a store (nothing serving yet) runs the
gate too; the rules that compare with a serving model then have nothing to compare with and say so.

:func:`rollback` puts back the model that served before the current one (or an earlier one that was
published, with ``to``): it passed the gate when it was published, so the gate is not run again, and the
rollback is recorded with who, when and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from credo.credentials import THRESHOLD_LADDER
from credo.errors import CredoError, ErrorCode
from credo.fairness import attributes
from credo.governance import checks, oplog, registry
from credo.governance.checks import RuleResult
from credo.store.tables import perk_programmes


@dataclass(frozen=True)
class GateReport:
    version: str
    model: str
    serving_version: str | None
    thresholds: list[int]
    thresholds_from: str
    results: list[RuleResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed]

    def record(self) -> dict[str, Any]:
        return {"model": self.model, "serving_before": self.serving_version, "thresholds": self.thresholds,
                "thresholds_from": self.thresholds_from, "passed": self.passed,
                "rules": [r.record() for r in self.results]}


@dataclass(frozen=True)
class Decision:
    """What a publish did: the gate's report and the operator-log entry (``publish`` or ``refuse``)."""

    report: GateReport
    entry: oplog.LogEntry

    @property
    def published(self) -> bool:
        return self.entry.action == oplog.Action.PUBLISH


def registered_thresholds(conn: Connection) -> tuple[list[int], str]:
    """The thresholds of the registered perk programmes; with none registered, the whole ladder."""
    found = sorted(set(conn.execute(select(perk_programmes.c.threshold).distinct()).scalars()))
    if found:
        return [int(t) for t in found], "registered perk programmes"
    return list(THRESHOLD_LADDER), "no programme registered: the whole threshold ladder"


def run_gate(conn: Connection, version: str, *, model: str, operator: str, at: datetime,
             justification: str | None = None, rescaling: str | None = None) -> GateReport:
    """Every gate rule on ``version``'s ``model`` (reads the audit store as ``operator``, logged)."""
    bundle = registry.load_bundle(conn, version)
    candidate = bundle.model(model)  # type: ignore[arg-type]
    evaluation = registry.evaluation(conn, version, "validation")
    current = registry.serving(conn)
    serving = None
    if current is not None and current.version != version:
        serving = registry.load_bundle(conn, current.version).model(current.model)  # type: ignore[arg-type]
    audit = attributes.read(conn, evaluation["subject_id"], reader=operator, at=at, model_version=version,
                            purpose=f"publication gate of {version}")
    names = attributes.attribute_names(conn)
    sources = list(bundle.manifest.get("audit_columns", []))
    thresholds, origin = registered_thresholds(conn)
    store = registry.kind_of(bundle) == registry.STORE
    results = [
        checks.check_monotone(candidate, evaluation),
        checks.check_reasons(candidate, evaluation),
        checks.check_inputs(candidate, evaluation, audit, names, sources, store=store),
        checks.check_auc(candidate, serving, evaluation),
        checks.check_adverse_impact(candidate, evaluation, audit, thresholds, justification),
        checks.check_stability(candidate, serving, evaluation, rescaling),
    ]
    return GateReport(version, model, current.version if current else None, thresholds, origin, results)


def _required(reason: str | None, what: str) -> str:
    if not reason or not reason.strip():
        raise CredoError(ErrorCode.MODEL_REASON_REQUIRED, f"{what} needs a reason (--reason), recorded in the "
                         "operator log", field="reason", rule="every publish and rollback says why")
    return reason.strip()


def publish(engine: Engine, version: str, *, model: str, operator: str, reason: str, at: datetime,
            justification: str | None = None, rescaling: str | None = None) -> Decision:
    """Run the gate on ``version``; publish it if every rule passes, else record the refusal.

    Raises :class:`CredoError` (and records nothing) for a model that cannot be considered at all: unknown,
    trained on a table, already serving, or no reason given."""
    why = _required(reason, "a publish")
    with engine.begin() as conn:
        record = registry.get(conn, version)
        if not record.servable:
            raise CredoError(ErrorCode.MODEL_NOT_SERVABLE, f"model {version} was trained on a table "
                             f"({record.manifest.get('source')}): it scores files (credo score --data), never the "
                             "store's consumers", field="version", rule="only models trained on the store serve")
        current = registry.serving(conn)
        if current is not None and current.version == version and current.model == model:
            raise CredoError(ErrorCode.MODEL_ALREADY_SERVING, f"model {version} ({model}) already serves",
                             field="version", rule="publish a candidate")
        report = run_gate(conn, version, model=model, operator=operator, at=at, justification=justification,
                          rescaling=rescaling)
        detail = report.record()
        if justification:
            detail["fairness_justification"] = justification
        if rescaling:
            detail["rescaling_decision"] = rescaling
        if report.passed:
            entry = oplog.append(conn, operator=operator, action=oplog.Action.PUBLISH, reason=why, at=at,
                                 model_version=version, detail=detail)
            registry.set_serving(conn, version, model, at=at, log_seq=entry.seq)
        else:
            detail["failed_rules"] = [r.rule for r in report.failed]
            entry = oplog.append(conn, operator=operator, action=oplog.Action.REFUSE, reason=why, at=at,
                                 model_version=version, detail=detail)
    return Decision(report, entry)


def serving_history(conn: Connection) -> list[tuple[str, str, int]]:
    """``(version, model, log seq)`` of every model that came to serve, in order (publishes and rollbacks)."""
    history = []
    for entry in oplog.entries(conn):
        if entry.action in (oplog.Action.PUBLISH, oplog.Action.ROLLBACK):
            history.append((str(entry.model_version), str(entry.detail.get("model", "champion")), entry.seq))
    return history


def rollback(engine: Engine, *, operator: str, reason: str, at: datetime, to: str | None = None) -> oplog.LogEntry:
    """Serve again the model that served before the current one (or ``to``, a model that served before)."""
    why = _required(reason, "a rollback")
    with engine.begin() as conn:
        current = registry.serving(conn)
        if current is None:
            raise CredoError(ErrorCode.MODEL_NO_ROLLBACK, "no model serves: nothing to roll back",
                             field="serving", rule="a rollback returns to a model that served")
        served = [(v, m) for v, m, _ in serving_history(conn)]
        earlier = [(v, m) for v, m in served if (v, m) != (current.version, current.model)]
        if to is not None:
            matches = [(v, m) for v, m in earlier if v == to]
            if not matches:
                raise CredoError(ErrorCode.MODEL_NO_ROLLBACK, f"model {to} never served (or serves now): a rollback "
                                 "returns only to a model that passed the gate and served", field="to",
                                 rule="a rollback returns to a model that served")
            target = matches[-1]
        else:
            before = [(v, m) for v, m in served[:-1] if (v, m) != (current.version, current.model)]
            if not before:
                raise CredoError(ErrorCode.MODEL_NO_ROLLBACK, f"model {current.version} is the first that served: "
                                 "there is nothing to roll back to", field="serving",
                                 rule="a rollback returns to a model that served")
            target = before[-1]
        entry = oplog.append(conn, operator=operator, action=oplog.Action.ROLLBACK, reason=why, at=at,
                             model_version=target[0], detail={"model": target[1], "serving_before": current.version,
                                                              "serving_model_before": current.model})
        registry.set_serving(conn, target[0], target[1], at=at, log_seq=entry.seq)
    return entry


__all__ = ["Decision", "GateReport", "publish", "registered_thresholds", "rollback", "run_gate", "serving_history"]
