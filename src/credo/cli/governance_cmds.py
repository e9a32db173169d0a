"""Model-governance commands: the registry (``credo model``), fairness audits (``credo fairness``) and drift
monitoring (``credo monitor``)."""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from credo.cli.progress import console
from credo.cli.store import store_engine

model_app = typer.Typer(help="The model registry: candidates, the serving model, the gate, the operator log.",
                        no_args_is_help=True)
fairness_app = typer.Typer(help="Fairness audits on the audit-only attributes.", invoke_without_command=True)

DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store.")]
OperatorOption = Annotated[str | None, typer.Option(
    "--operator", help="Who acts, recorded in the operator log (default: your login name).")]




def _operator(name: str | None) -> str:
    return (name or getpass.getuser()).strip()


def _now() -> datetime:
    from credo.registry.clock import utcnow

    return utcnow()


# ---------------------------------------------------------------- used by other commands


def load_audit_file(engine, path: Path, *, source: str) -> int:  # noqa: ANN001
    """Load a population directory's ``audit.parquet`` into the audit store (never as events)."""
    import pandas as pd

    from credo.fairness import attributes

    frame = pd.read_parquet(path)
    stored = attributes.load(engine, frame, source=source, now=_now())
    console.print(f"audit-only attributes: {stored:,} values of {len(frame):,} consumers kept in the audit store "
                  f"({', '.join(c for c in frame.columns if c != 'consumer_id')}), never events or features")
    return stored


def register_candidate(engine, run, *, table=None, audit_columns=(), source: str | None = None,  # noqa: ANN001
                       operator: str | None = None) -> str:
    """Register what ``credo train`` trained as a candidate; a table's ``--audit`` columns go to the audit store."""
    from credo.fairness import attributes
    from credo.governance import registry

    if table is not None and audit_columns:
        import pandas as pd

        frame = pd.DataFrame({"subject_id": [f"{source}#{i}" for i in range(1, len(table) + 1)]})
        for column in audit_columns:
            frame[column] = table[column].to_numpy()
        stored = attributes.load(engine, frame, source=str(source), now=_now(), subject="subject_id")
        console.print(f"audit-only columns {', '.join(audit_columns)}: {stored:,} values kept in the audit store")
    record = registry.register_run(engine, run, operator=_operator(operator), at=_now())
    console.print(f"candidate {record.version} registered in the store"
                  + (f" (not serving: `credo model publish {record.version} --reason ...` runs the gate)"
                     if record.servable else " (a table model: audited, never served)"), soft_wrap=True)
    return record.version


# ---------------------------------------------------------------- credo model


def _status(version: str, serving: str | None, refused: set[str], served: set[str]) -> str:
    if version == serving:
        return "[green]serving[/]"
    if version in served:
        return "served before"
    if version in refused:
        return "[red]refused[/]"
    return "candidate"


@model_app.command("list")
def list_models(db: DbOption = None) -> None:
    """Every registered model, newest first, with its status."""
    from credo.governance import gate, oplog, registry

    with store_engine(db).connect() as conn:
        records = registry.listing(conn)
        serving = registry.serving_version(conn)
        refused = {e.model_version for e in oplog.entries(conn, action=oplog.Action.REFUSE)}
        served = {v for v, _, _ in gate.serving_history(conn)}
    table = Table("version", "registered", "by", "kind", "status", "AUC (validation)", title="Registered models")
    table.columns[0].no_wrap = True
    for r in records:
        validation = r.manifest.get("validation", {})
        auc = ", ".join(f"{n} {validation[n]['score']['auc']:.4f}" for n in ("champion", "challenger") if n in validation)
        table.add_row(r.version, f"{r.registered_at:%Y-%m-%d %H:%M}", r.registered_by, r.kind,
                      _status(r.version, serving, refused, served), auc)
    console.print(table)


@model_app.command("show")
def show_model(version: Annotated[str, typer.Argument(help="A registered version.")], db: DbOption = None) -> None:
    """A registered model: where it came from, its validation, and every operator-log entry about it."""
    from credo.governance import oplog, registry

    with store_engine(db).connect() as conn:
        record = registry.get(conn, version)
        entries = oplog.entries(conn, model_version=version)
        serving = registry.serving(conn)
    m = record.manifest
    console.print(f"[bold]{record.version}[/] ({record.kind}), trained {m.get('trained_at')}, registered "
                  f"{record.registered_at:%Y-%m-%d %H:%M} by {record.registered_by}; digest {record.digest[:16]}…",
                  soft_wrap=True)
    console.print(f"source: {m.get('source')}", soft_wrap=True, markup=False)
    if serving is not None and serving.version == version:
        console.print(f"[green]serving[/] ({serving.model}) since {serving.since:%Y-%m-%d %H:%M}")
    for entry in entries:
        console.print(f"#{entry.seq} {entry.occurred_at:%Y-%m-%d %H:%M} {entry.action} by {entry.operator}: "
                      f"{entry.reason}", soft_wrap=True, markup=False)
        if entry.action in (oplog.Action.PUBLISH, oplog.Action.REFUSE):
            print_gate_results(entry.detail.get("rules", []))


def print_gate_results(rules: list[dict[str, Any]]) -> None:
    table = Table("rule", "result", "finding")
    table.columns[0].no_wrap = table.columns[1].no_wrap = True
    for r in rules:
        verdict = "[green]pass[/]" if r["passed"] else "[red]FAIL[/]"
        if r["passed"] and r.get("override"):
            verdict = "[yellow]pass (override)[/]"
        table.add_row(r["rule"], verdict, r["summary"] + (f"\noverride: {r['override']}" if r.get("override") else ""))
    console.print(table)


@model_app.command("publish")
def publish_model(
    version: Annotated[str, typer.Argument(help="The candidate to publish.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, recorded in the operator log.")],
    db: DbOption = None,
    operator: OperatorOption = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="champion or challenger (default: CREDO_SERVING_MODEL).")] = None,
    justify_fairness: Annotated[str | None, typer.Option(
        "--justify-fairness", help="A written justification for an adverse impact ratio below the rule, recorded.")] = None,
    rescaling: Annotated[str | None, typer.Option(
        "--rescaling", help="The rescaling decision that accepts a score PSI above the limit, recorded.")] = None,
) -> None:
    """Run the publication gate on a candidate: publish it (the server switches to it, no restart) or refuse,
    naming each failed rule. Either way the decision is in the operator log. Exit 1 when refused."""
    from credo.governance import gate
    from credo.settings import get_settings

    which = model or get_settings().serving_model
    if which not in ("champion", "challenger"):
        raise typer.BadParameter("champion or challenger", param_hint="--model")
    with console.status(f"running the gate on {version} ({which})"):
        decision = gate.publish(store_engine(db), version, model=which, operator=_operator(operator), reason=reason,
                                at=_now(), justification=justify_fairness, rescaling=rescaling)
    print_gate_results([r.record() for r in decision.report.results])
    if decision.published:
        console.print(f"[green]published[/] {version} ({which}): it serves now (operator log #{decision.entry.seq})")
        return
    failed = ", ".join(r.rule for r in decision.report.failed)
    console.print(f"[red]refused[/] {version}: failed {failed} (operator log #{decision.entry.seq})", soft_wrap=True)
    raise typer.Exit(1)


@model_app.command("rollback")
def rollback_model(
    reason: Annotated[str, typer.Option("--reason", help="Why, recorded in the operator log.")],
    to: Annotated[str | None, typer.Option("--to", help="A model that served before (default: the previous one).")] = None,
    db: DbOption = None,
    operator: OperatorOption = None,
) -> None:
    """Serve again the model that served before the current one (it passed the gate when published)."""
    from credo.governance import gate

    entry = gate.rollback(store_engine(db), operator=_operator(operator), reason=reason, at=_now(), to=to)
    console.print(f"rolled back: {entry.model_version} serves again (operator log #{entry.seq})")


@model_app.command("log")
def operator_log(
    db: DbOption = None,
    verify: Annotated[bool, typer.Option("--verify", help="Check the hash chain; exit 1 if it is broken.")] = False,
    expect_head: Annotated[str | None, typer.Option(
        "--expect-head", help="SEQ:HASH noted earlier (by a previous --verify): also proves no entry was cut.")] = None,
    limit: Annotated[int, typer.Option(help="Entries to list, newest first.")] = 20,
) -> None:
    """The operator log: who registered, published, refused or rolled back what, when and why."""
    from credo.governance import oplog

    with store_engine(db).connect() as conn:
        entries = oplog.entries(conn, newest_first=True, limit=limit)
        report = None
        if verify:
            head = None
            if expect_head:
                seq, _, digest = expect_head.partition(":")
                head = (int(seq), digest)
            report = oplog.verify(conn, expected_head=head)
    table = Table("#", "when", "operator", "action", "model", "reason", title="Operator log (newest first)")
    for e in entries:
        table.add_row(str(e.seq), f"{e.occurred_at:%Y-%m-%d %H:%M:%S}", e.operator, e.action, e.model_version or "",
                      e.reason)
    console.print(table)
    if report is not None:
        if report.ok:
            console.print(f"operator log verified: {report.entries_checked} entries, head "
                          f"{report.head_seq}:{report.head_hash}")
        else:
            console.print(f"[red]operator log broken[/]: {report.problem.value if report.problem else '?'} at entry "
                          f"{report.first_bad_seq}: {report.detail}", soft_wrap=True)
            raise typer.Exit(1)


# ---------------------------------------------------------------- credo fairness


def _model_and_rows(conn, version: str | None, population: str):  # noqa: ANN001, ANN202
    """The registered model (default: the serving one) and the rows of the asked population."""
    from credo.errors import CredoError, ErrorCode
    from credo.governance import registry

    if version is None:
        version = registry.serving_version(conn)
        if version is None:
            raise CredoError(ErrorCode.MODEL_NOT_FOUND, "no model serves: name one with --model-version",
                             field="model_version")
    record = registry.get(conn, version)
    return record, registry.load_bundle(conn, version), registry.evaluation(conn, version, population)


VersionOption = Annotated[str | None, typer.Option(
    "--model-version", help="A registered model (default: the serving one).")]
WhichOption = Annotated[str, typer.Option("--model", help="champion or challenger.")]


@fairness_app.callback()
def fairness(
    ctx: typer.Context,
    version: VersionOption = None,
    which: WhichOption = "champion",
    population: Annotated[str, typer.Option(help=(
        "validation (the model's out-of-time rows, outcomes known) or train (its training sample).")) ] = "validation",
    out: Annotated[Path, typer.Option(help="Directory for fairness.html and fairness.json.")] = Path("fairness"),
    title: Annotated[str | None, typer.Option(help="Title of the report.")] = None,
    db: DbOption = None,
    operator: OperatorOption = None,
) -> None:
    """Audit a model on a population with the audit-only attributes: approval rate and adverse impact ratio by
    group at every registered perk threshold and band edge, true-positive-rate gap, calibration by band and
    group, standardised mean difference, reasons at the same score. Writes an HTML report and a JSON summary;
    the run (and its read of the audit store) is recorded in the operator log."""
    if ctx.invoked_subcommand is not None:
        return
    from credo.fairness import attributes
    from credo.fairness.audit import run_audit
    from credo.fairness.report import write_report
    from credo.governance import oplog
    from credo.governance.gate import registered_thresholds

    if population not in ("validation", "train"):
        raise typer.BadParameter("validation or train", param_hint="--population")
    who, at = _operator(operator), _now()
    engine = store_engine(db)
    with engine.begin() as conn:
        record, bundle, rows = _model_and_rows(conn, version, population)
        audit = attributes.read(conn, rows["subject_id"], reader=who, at=at, model_version=record.version,
                                purpose=f"fairness report of {record.version} ({population})")
        registered, origin = registered_thresholds(conn)
    if not len(audit.columns):
        console.print(f"no audit-only attributes for the {population} rows of {record.version}: nothing to audit")
        raise typer.Exit(1)
    with console.status("auditing"):
        result = run_audit(bundle.model(which), rows, audit, registered=registered, registered_from=origin,  # type: ignore[arg-type]
                           published_bands=bundle.published(which).get("bands"), version=record.version,  # type: ignore[arg-type]
                           which=which, population=population)
        html, summary = write_report(result, out, title or f"Fairness of {record.version} ({which})")
    data = result.summary()
    with engine.begin() as conn:
        oplog.append(conn, operator=who, action=oplog.Action.FAIRNESS, at=at, model_version=record.version,
                     reason=f"fairness report ({population}) written to {html}",
                     detail={"attributes": {a: {"lowest_air_registered": v["lowest_air_registered"],
                                                "lowest_air_any_cutoff": v["lowest_air_any_cutoff"]}
                                            for a, v in data["attributes"].items()}})
    _print_audit(data)
    console.print(f"report: {html}; summary: {summary}")


def _print_audit(data: dict[str, Any]) -> None:
    from credo.policy.governance import AIR_MIN

    table = Table("attribute", "groups (n)", "lowest AIR, registered", "lowest AIR, any cut-off", "TPR gap flagged",
                  title=f"Fairness of {data['model_version']} on {data['rows']:,} rows ({data['population']})")
    for name, a in data["attributes"].items():
        def air(x: dict | None) -> str:
            if not x:
                return "-"
            text = f"{x['air']:.3f} ({x['group']} at {x['threshold']})"
            return f"[red]{text}[/]" if x["air"] < AIR_MIN else text
        table.add_row(name, ", ".join(f"{g} ({n})" for g, n in a["groups"].items()), air(a["lowest_air_registered"]),
                      air(a["lowest_air_any_cutoff"]), ", ".join(map(str, a.get("tpr_gap_flagged", []))) or "-")
    console.print(table)


@fairness_app.command("search")
def fairness_search(
    version: VersionOption = None,
    which: WhichOption = "champion",
    attribute: Annotated[str | None, typer.Option(help="Audit attribute to search on (default: the worst).")] = None,
    choose: Annotated[str | None, typer.Option(help=(
        "Register this alternative of the model's latest search as a candidate (a registrable name it listed); "
        "the search is not run again.")) ] = None,
    reason: Annotated[str | None, typer.Option(help="With --choose: why, recorded in the operator log.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the search's JSON here.")] = None,
    db: DbOption = None,
    operator: OperatorOption = None,
) -> None:
    """Less discriminatory alternatives: refit documented variants of the model (drop or coarsen the input
    that drives the gap, coarser bins, a different scaling anchor) and report each one's AUC beside its
    adverse impact ratio (recorded in the operator log); --choose then records the operator's choice among
    them and registers it as a candidate for the gate."""
    from credo.errors import CredoError, ErrorCode
    from credo.fairness import attributes, search
    from credo.governance import oplog, registry
    from credo.governance.gate import registered_thresholds

    who, at = _operator(operator), _now()
    engine = store_engine(db)
    if choose is not None:
        _choose(engine, version, which, choose, reason, who, at)
        return
    with engine.begin() as conn:
        record, bundle, valid = _model_and_rows(conn, version, "validation")
        train = registry.evaluation(conn, record.version, "train")
        audit = attributes.read(conn, valid["subject_id"], reader=who, at=at, model_version=record.version,
                                purpose=f"less discriminatory alternative search on {record.version}")
        registered, _ = registered_thresholds(conn)
    if not len(audit.columns):
        raise CredoError(ErrorCode.INVALID_VALUE, f"no audit-only attributes for the rows of {record.version}: "
                         "nothing to search against", field="model_version", rule="a search needs audit data")
    with console.status("refitting the alternatives"):
        result = search.search(bundle, which, train, valid, audit, registered, attribute=attribute)
    table = Table("alternative", "AUC", "lowest AIR, registered", "lowest AIR, any cut-off", "worst", "registrable",
                  title=f"Alternatives to {record.version} ({which}), gap: {result.attribute}={result.group} "
                        f"against {result.reference}")
    table.columns[0].overflow = table.columns[4].overflow = "fold"
    for a in result.alternatives:
        table.add_row(a.name, f"{a.auc:.4f}", "-" if a.lowest_air_registered is None else f"{a.lowest_air_registered:.3f}",
                      "-" if a.lowest_air_any is None else f"{a.lowest_air_any:.3f}", a.worst,
                      "yes" if a.registrable else "no")
    console.print(table)
    if result.drivers:
        console.print("inputs driving the gap (points more for the reference group): " + ", ".join(
            f"{f} {v:+.1f}" for f, v in result.drivers[:5]), soft_wrap=True)
    if out is not None:
        _dump(out, result.record())
    with engine.begin() as conn:
        entry = oplog.append(conn, operator=who, action=oplog.Action.SEARCH, at=at, model_version=record.version,
                             reason=f"alternative search on {result.attribute}", detail=result.record())
    console.print(f"recorded as operator log #{entry.seq}; choose with --choose NAME --reason \"...\"")


def _choose(engine, version: str | None, which: str, choose: str, reason: str | None, who: str,  # noqa: ANN001
            at: datetime) -> None:
    """Register the chosen alternative of the model's latest recorded search, and record the choice."""
    from credo.errors import CredoError, ErrorCode
    from credo.fairness import search
    from credo.governance import oplog, registry

    if not (reason and reason.strip()):
        raise CredoError(ErrorCode.MODEL_REASON_REQUIRED, "--choose needs --reason, recorded in the operator log",
                         field="reason", rule="every choice says why")
    with engine.connect() as conn:
        record, bundle, _ = _model_and_rows(conn, version, "validation")
        train = registry.evaluation(conn, record.version, "train")
        searches = oplog.entries(conn, model_version=record.version, action=oplog.Action.SEARCH, newest_first=True,
                                 limit=1)
    offered = {a["name"]: a for a in searches[0].detail["alternatives"]} if searches else {}
    chosen = offered.get(choose)
    if chosen is None or not chosen["registrable"] or searches[0].detail.get("model") != which:
        names = ", ".join(n for n, a in offered.items() if a["registrable"]) or "none (run the search first)"
        raise CredoError(ErrorCode.INVALID_VALUE, f"{choose!r} is not a registrable alternative of the latest "
                         f"search on {record.version} ({which}): {names}", field="choose",
                         rule="choose an alternative the search refitted")
    with console.status(f"refitting {choose}"):
        alternative = search.refit(bundle, which, train, choose)
    with engine.begin() as conn:
        evaluation = registry.evaluation_samples(conn, record.version)
        registered_model = registry.register(conn, alternative, evaluation, operator=who, at=at,
                                             reason=f"alternative {choose} of {record.version}: {reason}",
                                             detail={"alternative_of": record.version})
        oplog.append(conn, operator=who, action=oplog.Action.CHOOSE, at=at, model_version=registered_model.version,
                     reason=reason.strip(), detail={"chosen": chosen, "of": record.version,
                                                    "search_entry": searches[0].seq})
    console.print(f"chose {choose}: candidate {registered_model.version} registered (publish it through the gate)")


# ---------------------------------------------------------------- credo monitor


def monitor(
    run: Annotated[str | None, typer.Option("--run", help="The batch run to check (default: the latest).")] = None,
    previous: Annotated[str | None, typer.Option("--previous", help="The run to compare with (default: the one "
                                                                   "before).")] = None,
    which: WhichOption = "champion",
    out: Annotated[Path | None, typer.Option(help="Also write the report as HTML here.")] = None,
    db: DbOption = None,
    operator: OperatorOption = None,
) -> None:
    """Drift of a scoring run against the model's training population and the previous run: PSI of the score
    and of every input, band migration, bad rate by band where outcomes have arrived, with warning and alert
    levels. The report is kept for the operator pages (/operator/monitor). Exit 3 on an alert."""
    from credo.governance import oplog
    from credo.monitoring import runs
    from credo.monitoring.report import render_html

    engine = store_engine(db)
    with console.status("recomputing the runs' inputs"):
        report = runs.monitor(engine, run, previous, which=which)
    at = _now()
    with engine.begin() as conn:
        report_id = runs.save(conn, report, at)
        oplog.append(conn, operator=_operator(operator), action=oplog.Action.MONITOR, at=at,
                     model_version=report.model_version, reason=f"drift report {report_id} of run {report.run_id}",
                     detail={"level": report.level, "flagged": report.flagged,
                             "score_psi": report.summary()["score_psi"]})
    summary = report.summary()
    table = Table("input", "PSI vs training", "PSI vs previous", "flagged", title=f"Drift of run {report.run_id} "
                  f"({report.level})")
    for f in summary["features"]:
        table.add_row(f["feature"], f"{f['psi_training']:.4f} {f['level_training']}",
                      "-" if f["psi_previous"] is None else f"{f['psi_previous']:.4f} {f['level_previous']}",
                      "[red]yes[/]" if f["flagged"] else "")
    console.print(table)
    console.print("score PSI: " + ", ".join(f"{k} {v:.4f}" for k, v in summary["score_psi"].items() if v is not None))
    console.print(f"flagged: {', '.join(report.flagged) or 'none'}; {report.outcome_note}", soft_wrap=True)
    if out is not None:
        out.write_text(render_html(summary))
        console.print(f"report: {out}")
    if report.level == "alert":
        raise typer.Exit(3)


__all__ = ["fairness_app", "load_audit_file", "model_app", "monitor", "print_gate_results", "register_candidate"]


def _dump(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
