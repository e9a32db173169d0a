"""``credo demo``: a simulated population, end to end, on a fresh SQLite file."""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.table import Table
from sqlalchemy import func, select

from credo.cli.progress import console, progress_bar
from credo.ingest.service import ingest_records
from credo.registry import enrol_consumer
from credo.store.tables import consumers as consumers_table
from credo.store.tables import events, partners, report_consents


def _misbehaving_batch(engine) -> list[dict]:  # noqa: ANN001
    """Events a careless partner might send, to show every rule firing once."""
    with engine.connect() as conn:
        row = conn.execute(
            select(report_consents.c.consumer_id, report_consents.c.partner_id)
            .where(report_consents.c.event_type == "bill.issued")
            .limit(1)
        ).first()
        other = conn.execute(select(partners.c.id).where(partners.c.id != row.partner_id).limit(1)).scalar_one()
    with engine.begin() as conn:
        enrol_consumer(conn, "demo-no-consent")
    consumer, partner = row.consumer_id, row.partner_id
    base = {
        "type": "bill.issued", "partner_id": partner, "consumer_id": consumer,
        "occurred_at": "2024-03-01T09:00:00+08:00", "bill_ref": "demo-b-1", "bill_kind": "utility",
        "amount": "88.00", "currency": "CNY", "due_date": "2024-03-20",
    }
    return [
        {**base, "event_id": "demo-1"},
        {**base, "event_id": "demo-1"},
        {**base, "event_id": "demo-1", "amount": "99.00"},
        {**base, "event_id": "demo-2", "religion": "declared"},
        {**base, "event_id": "demo-3", "note": "customer gender: female"},
        {**base, "event_id": "demo-4", "amount": "1.005"},
        {**base, "event_id": "demo-5", "partner_id": other},
        {**base, "event_id": "demo-6", "consumer_id": "demo-no-consent"},
        {**base, "event_id": "demo-7", "consumer_id": "not-enrolled"},
    ]


def run_demo(db: Path, *, consumers: int, months: int, seed: int, host: str = "127.0.0.1",
             port: int | None = 8000, with_challenger: bool = False) -> None:  # noqa: C901
    from datetime import date

    from credo.cli.reports import print_ingest_report
    from credo.cli.world import load_world
    from credo.cli.store import store_engine
    from credo.simulate import SimulationConfig, simulate_to_directory

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    engine = store_engine(f"sqlite:///{db}")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        config = SimulationConfig(consumers=consumers, months=months, seed=seed, end=date.today())
        with progress_bar("simulate consumers", consumers) as advance:
            simulate_to_directory(config, directory, fmt="parquet", progress=advance)
        _, report = load_world(engine, directory, audit_source=f"credo demo --seed {seed} (synthetic groups)")

    console.rule("a careless partner")
    outcomes = ingest_records(engine, _misbehaving_batch(engine), trusted_received_at=True)
    for outcome in outcomes:
        detail = outcome.problems[0] if outcome.problems else None
        console.print(
            f"  {outcome.event_id}: [bold]{outcome.status}[/]"
            + (f" - {detail.code.value} ({detail.rule}) on {detail.field!r}" if detail else "")
        )
    report.add(outcomes)

    console.rule(f"store {db}")
    with engine.connect() as conn:
        n_consumers = conn.execute(select(func.count()).select_from(consumers_table)).scalar_one()
        n_partners = conn.execute(select(func.count()).select_from(partners)).scalar_one()
        by_type = conn.execute(
            select(events.c.type, func.count()).group_by(events.c.type).order_by(events.c.type)
        ).all()
    console.print(f"consumers [bold]{n_consumers}[/], partners [bold]{n_partners}[/]")
    table = Table("event type", "events", title="Events by type")
    for etype, count in by_type:
        table.add_row(etype, str(count))
    table.add_row("[bold]total", f"[bold]{sum(c for _, c in by_type)}")
    console.print(table)
    print_ingest_report(report)
    models = db.with_suffix(".models")
    result, version = _train_and_score(engine, models, with_challenger)
    engine.dispose()
    _open_the_web_app(db, models, result, version, host, port)


def _train_and_score(engine, models: Path, with_challenger: bool):  # noqa: ANN001, ANN202
    """Train on the simulated outcomes and register the candidate, score everyone, show a few explained
    scores; the scores and the candidate's version."""
    from datetime import datetime, time, timedelta, timezone

    from credo.cli.governance_cmds import register_candidate
    from credo.cli.reports import print_score_distribution, print_validation
    from credo.policy.reasons import reason
    from credo.scoring import score_population, train_from_store
    from credo.scoring.reports import report_html, save_validation
    from credo.scoring.training import default_observation_window

    console.rule("train and score")
    first, last = default_observation_window(engine)
    with console.status("training the scorecard" + (" and the challenger" if with_challenger else "")):
        run = train_from_store(engine, first=first, last=last, with_challenger=with_challenger)
    run.bundle.save(models)
    save_validation(run, models)
    (models / "report.html").write_text(report_html(run.bundle, models))
    print_validation(run.bundle.manifest, run.description)
    register_candidate(engine, run, operator="demo")
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(events.c.received_at))).scalar_one()
    as_of = datetime.combine(latest.date() + timedelta(days=1), time(), tzinfo=timezone.utc)
    _, result = score_population(engine, run.bundle.champion, run.bundle.version, as_of)
    print_score_distribution(result)
    _print_published(run.bundle)
    table = Table("consumer", "score", "band", "principal reasons", title=f"A few consumers as of {as_of:%Y-%m-%d}")
    scored = result[result["status"] == "scored"].sort_values("score")
    picks = [scored.index[0], scored.index[len(scored) // 10], scored.index[len(scored) // 2], scored.index[-1]]
    for cid in picks:
        row = result.loc[cid]
        reasons = "\n".join(f"{c}: {reason(c).text}" for c in row["reasons"]) or "nothing is lowering this score"
        table.add_row(cid, str(row["score"]), row["band"], reasons)
    thin = result[result["status"] != "scored"]
    if len(thin):
        table.add_row(thin.index[0], "-", "not enough data", "too little history to score (never a low score)")
    console.print(table)
    console.print(f"model {run.bundle.version} and its report are in {models}/")
    return result, run.bundle.version


#: What the demo records when the synthetic audit groups show adverse impact (they are drawn with a gap,
#: so that the audit has something to find); a deployment's operator writes their own.
DEMO_JUSTIFICATION = ("Demo store: the synthetic audit groups are drawn with a built-in gap (income and history "
                      "length differ by group) so that the fairness audit has something to find; this model serves "
                      "a throwaway demonstration, not decisions.")


def _publish_through_the_gate(engine, version: str) -> None:  # noqa: ANN001
    """Publish the demo's first model through the gate, as any model is, and show the gate's verdicts."""
    from credo.cli.governance_cmds import print_gate_results
    from credo.governance import gate
    from credo.registry.clock import utcnow

    console.rule("the publication gate")
    decision = gate.publish(engine, version, model="champion", operator="demo", at=utcnow(),
                            reason="the demo store's first model", justification=DEMO_JUSTIFICATION)
    print_gate_results([r.record() for r in decision.report.results])
    if decision.published:
        console.print(f"published {version}: the web app scores with it (operator log #{decision.entry.seq})")
    else:
        console.print(f"[red]refused[/] {version}: "
                      f"{', '.join(r.rule for r in decision.report.failed)}; scores are unavailable", soft_wrap=True)


def _open_the_web_app(db: Path, models: Path, result, version: str, host: str,  # noqa: ANN001
                      port: int | None) -> None:
    """Create the demo logins, publish the model through the gate, print the logins, and serve the web
    app and API (unless ``port`` is None).

    The demo runs in development mode on its own throwaway store: its ledger secret is the
    development placeholder and its issuer keys live beside the store (``<db>.keys``)."""
    import shutil

    from credo.api import create_app
    from credo.cli.demo_logins import create_demo_logins
    from credo.service import Service
    from credo.settings import Settings
    from credo.store import create_store_engine

    keys = db.with_suffix(".keys").resolve()
    shutil.rmtree(keys, ignore_errors=True)
    settings = Settings(dev_mode=True, database_url=f"sqlite:///{db}", model_dir=str(models), key_dir=keys)
    engine = create_store_engine(f"sqlite:///{db}")
    svc = Service(engine, settings)
    logins = create_demo_logins(svc, result, svc.now())
    _publish_through_the_gate(engine, version)
    base = f"http://{host}:{port or 8000}"
    console.rule("the web app")
    console.print(f"Demo logins, new for every demo run (sign in at {base}/):", soft_wrap=True)
    for who, username, password, consumer_id in logins.consumers:
        console.print(f"  consumer with a {who} ({consumer_id}): {base}/login  username [bold]{username}[/]  "
                      f"password [bold]{password}[/]", soft_wrap=True)
    console.print(f"  partner Swift Car Rental, deposit-free rental at 650: {base}/partner/login  "
                  f"API key [bold]{logins.partner_key}[/]", soft_wrap=True)
    console.print(f"  operator: {base}/operator/login  username [bold]{logins.operator[0]}[/]  "
                  f"password [bold]{logins.operator[1]}[/]", soft_wrap=True)
    if port is None:
        console.print("--no-serve: stopping here. To serve this store: CREDO_DEV_MODE=1 CREDO_DATABASE_URL=sqlite:///"
                      f"{db} CREDO_MODEL_DIR={models} CREDO_KEY_DIR={keys} credo serve", soft_wrap=True)
        engine.dispose()
        return
    import uvicorn

    app = create_app(settings, engine, svc)
    console.print(f"[bold]Credo is running at {base}/[/] (API docs at {base}/docs). Press Ctrl+C to stop.")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _print_published(bundle) -> None:  # noqa: ANN001
    """The serving model's published scaling, expected bad rate per band and factor weights."""
    from credo.policy.reasons import FACTOR_GROUPS

    published = bundle.published("champion")
    console.print(f"scaling: {bundle.champion.scaling_.describe()}")
    table = Table("band", "expected bad rate", title="Published expected bad rate per band (champion)")
    for row in published["bands"]:
        table.add_row(row["band"], f"{row['expected_bad_rate']:.2%}")
    console.print(table)
    weights = bundle.factor_weights("champion")
    console.print("factor weights (share of the model's point range): " + ", ".join(
        f"{g.name} {weights.get(g.code, 0):.0f} %" for g in FACTOR_GROUPS))
