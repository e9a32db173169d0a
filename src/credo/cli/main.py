"""Entry point of the ``credo`` command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from credo.cli.progress import console, progress_bar
from credo.settings import get_settings

app = typer.Typer(
    help="Credo: an opt-in, explainable 350-950 credit score.", no_args_is_help=True, pretty_exceptions_show_locals=False
)

DbOption = Annotated[
    str | None, typer.Option("--db", help="SQLAlchemy URL of the store (default: $CREDO_DATABASE_URL or sqlite:///credo.db).")
]


def _engine(db: str | None):
    from credo.store import create_store_engine, upgrade_schema

    engine = create_store_engine(db or get_settings().database_url)
    upgrade_schema(engine)
    return engine


@app.command()
def schema(out: Annotated[Path, typer.Option(help="Directory for one JSON Schema file per event type.")] = Path("schemas")) -> None:
    """Write the JSON Schema of every event type."""
    from credo.events import EVENT_MODELS

    out.mkdir(parents=True, exist_ok=True)
    for name, model in EVENT_MODELS.items():
        (out / f"{name}.schema.json").write_bytes(orjson.dumps(model.model_json_schema(), option=orjson.OPT_INDENT_2))
    console.print(f"wrote {len(EVENT_MODELS)} schemas to {out}")


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines, CSV or Parquet file of events.")],
    db: DbOption = None,
    fmt: Annotated[str | None, typer.Option("--format", help="jsonl, csv or parquet (default: from the suffix).")] = None,
    chunk_size: Annotated[int, typer.Option(help="Events per committed transaction.")] = 50000,
    ack_log: Annotated[
        Path | None, typer.Option(help="Append 'acknowledged N' after each committed chunk (for resumable loads).")
    ] = None,
    workers: Annotated[
        int, typer.Option(help="Validation processes; 0 = one per core for large files, none for small ones.")
    ] = 0,
) -> None:
    """Ingest a file of events (streaming; each chunk committed before it is acknowledged)."""
    from credo.ingest.bulk import ingest_file
    from credo.ingest.files import count_records, detect_format

    fmt = fmt or detect_format(file)
    engine = _engine(db)
    total = count_records(file, fmt)
    with progress_bar(f"ingest {file.name}", total) as advance:
        on_chunk = advance if ack_log is None else _acknowledging(advance, ack_log)
        report = ingest_file(
            engine, file, fmt, chunk_size=chunk_size, workers=workers or _auto_workers(total), on_chunk=on_chunk
        )
    _print_report(report)
    if report.rejected:
        raise typer.Exit(code=2)


def _auto_workers(records: int | None) -> int:
    """Worker processes pay off only when start-up (about a second) is small beside the work."""
    return min(os.cpu_count() or 1, 4) if (records or 0) >= 100_000 else 1


def _acknowledging(advance, path: Path):  # noqa: ANN001, ANN202
    """Wrap ``advance`` to record, durably, how many records are committed."""
    done = 0

    def on_chunk(n: int) -> None:
        nonlocal done
        done += n
        with path.open("a") as log:
            log.write(f"acknowledged {done}\n")
            log.flush()
            os.fsync(log.fileno())
        advance(n)

    return on_chunk


def _print_report(report) -> None:  # noqa: ANN001
    console.print(
        f"accepted [green]{report.accepted}[/]  duplicates [yellow]{report.duplicates}[/]  rejected [red]{report.rejected}[/]"
    )
    if report.rejections_by_rule:
        table = Table("rejection (code:rule)", "events", title="Rejections by rule")
        for rule, count in report.rejections_by_rule.most_common():
            table.add_row(rule, str(count))
        console.print(table)


@app.command()
def simulate(
    consumers: Annotated[int, typer.Option(min=1)] = 1000,
    months: Annotated[int, typer.Option(min=1, max=240)] = 24,
    seed: int = 0,
    out: Annotated[Path | None, typer.Option(help="Write the population here (Parquet or JSON Lines).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="parquet or jsonl")] = "parquet",
    into_store: Annotated[bool, typer.Option("--into-store", help="Also load it into the store.")] = False,
    db: DbOption = None,
) -> None:
    """Simulate partners, consenting consumers and their event streams (same seed, same output)."""
    import tempfile

    from credo.simulate import SimulationConfig, simulate_to_directory

    config = SimulationConfig(consumers=consumers, months=months, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        target = out or Path(tmp)
        with progress_bar("simulate consumers", consumers) as advance:
            summary = simulate_to_directory(config, target, fmt=fmt, progress=advance)
        console.print(summary)
        if into_store:
            _load_world(_engine(db), target)


def _load_world(engine, directory: Path):  # noqa: ANN001, ANN202
    from credo.ingest.world import event_files, ingest_directory, load_registry
    from credo.ingest.files import count_records, detect_format

    with progress_bar("register consumers and consents", None) as advance:
        keys = load_registry(engine, directory, advance)
    total = sum(count_records(p, detect_format(p)) or 0 for p in event_files(directory))
    with progress_bar("ingest events", total) as advance:
        report = ingest_directory(engine, directory, workers=_auto_workers(total), on_chunk=advance)
    _print_report(report)
    return keys, report


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="Output file.")],
    db: DbOption = None,
    fmt: Annotated[str | None, typer.Option("--format", help="jsonl, csv or parquet (default: from the suffix).")] = None,
) -> None:
    """Export every stored event (of active consumers) in an ingestible format."""
    from credo.ingest.files import detect_format
    from credo.store.export import export_events

    engine = _engine(db)
    with progress_bar(f"export {out.name}", None) as advance:
        count = export_events(engine, out, fmt or detect_format(out), on_chunk=advance)
    console.print(f"exported {count} events to {out}")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    db: DbOption = None,
    workers: int = 1,
) -> None:
    """Run the API with uvicorn."""
    import uvicorn

    if db:
        os.environ["CREDO_DATABASE_URL"] = db
    _engine(db).dispose()
    uvicorn.run("credo.api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="warning")


@app.command()
def demo(
    db: Annotated[Path, typer.Option(help="SQLite file to create (replaced if it exists).")] = Path("credo-demo.db"),
    consumers: Annotated[int, typer.Option(min=10)] = 1000,
    months: Annotated[int, typer.Option(min=20, help="At least 20: 7 of history and 12 of outcomes.")] = 24,
    seed: int = 0,
) -> None:
    """Simulate a small population into a fresh SQLite store and summarise it."""
    from credo.cli.demo import run_demo

    run_demo(db, consumers=consumers, months=months, seed=seed)


def _date(text: str | None):  # noqa: ANN202
    from datetime import date

    return date.fromisoformat(text) if text else None


def _instant(text: str | None):  # noqa: ANN202
    from datetime import datetime, timezone

    if not text:
        return datetime.now(timezone.utc)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


ModelsOption = Annotated[Path | None, typer.Option("--models", help="Model bundle directory (default: $CREDO_MODEL_DIR or models).")]


@app.command()
def train(
    db: DbOption = None,
    models: ModelsOption = None,
    first: Annotated[str | None, typer.Option(help="First observation date (default: 6 months into the data).")] = None,
    last: Annotated[str | None, typer.Option(help="Last observation date (default: 12 months before the data ends).")] = None,
    horizon: Annotated[int, typer.Option(help="Months after an observation in which 90+ DPD or charge-off = bad.")] = 12,
    data: Annotated[Path | None, typer.Option(help="Train on your own CSV/Parquet table instead of the store.")] = None,
    target: Annotated[str | None, typer.Option(help="With --data: the 0/1 column (1 = bad).")] = None,
    special_values: Annotated[str | None, typer.Option(help="With --data: comma-separated special values, e.g. -9,-8,-7.")] = None,
    exclude: Annotated[str | None, typer.Option(help="With --data: comma-separated columns that must not be inputs.")] = None,
    labels: Annotated[Path | None, typer.Option(help="Parquet of consumer_id, bad: external labels for store events.")] = None,
    as_of: Annotated[str | None, typer.Option(help="With --labels: the as-of date of the features.")] = None,
    challenger: Annotated[bool, typer.Option(help="Also train the monotone LightGBM challenger.")] = True,
) -> None:
    """Train the champion scorecard (and the challenger), save them as JSON, write the report."""
    import pandas as pd

    from credo.scoring import ModelBundle, train_from_labels, train_from_store, train_from_table
    from credo.scoring.reports import report_html, save_validation

    directory = models or Path(get_settings().model_dir)
    with console.status("training"):
        if data is not None:
            if not target:
                raise typer.BadParameter("--data needs --target")
            frame = pd.read_parquet(data) if data.suffix == ".parquet" else pd.read_csv(data)
            specials = [float(v) for v in special_values.split(",")] if special_values else None
            run = train_from_table(frame, target, special_values=specials,
                                   exclude=[c for c in (exclude or "").split(",") if c], with_challenger=challenger)
        elif labels is not None:
            run = train_from_labels(_engine(db), pd.read_parquet(labels), _instant(as_of), with_challenger=challenger)
        else:
            from credo.scoring.training import default_observation_window

            engine = _engine(db)
            start, end = default_observation_window(engine)
            run = train_from_store(engine, first=_date(first) or start, last=_date(last) or end,
                                   horizon_months=horizon, with_challenger=challenger)
    run.bundle.save(directory)
    save_validation(run, directory)
    (directory / "report.html").write_text(report_html(ModelBundle.load(directory), directory))
    _print_validation(run.bundle.manifest, run.description)
    console.print(f"model {run.bundle.version} saved to {directory}/ (report: {directory / 'report.html'})")


def _print_validation(manifest: dict, description: str) -> None:
    table = Table("model", "AUC", "Gini", "KS", title=f"Validation — {description}")
    for name in ("champion", "challenger"):
        metrics = manifest.get("validation", {}).get(name)
        if metrics:
            table.add_row(name, f"{metrics['auc']:.4f}", f"{metrics['gini']:.4f}", f"{metrics['ks']:.4f}")
    console.print(table)


@app.command()
def report(
    models: ModelsOption = None,
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("credo-report.html"),
    title: str = "Credo score",
) -> None:
    """Write the HTML model report (metrics, ROC, calibration by band, PSI, points, model card)."""
    from credo.scoring import ModelBundle
    from credo.scoring.reports import report_html

    directory = models or Path(get_settings().model_dir)
    out.write_text(report_html(ModelBundle.load(directory), directory, title=title))
    console.print(f"report written to {out}")


@app.command()
def score(
    db: DbOption = None,
    models: ModelsOption = None,
    as_of: Annotated[str | None, typer.Option(help="Score as of this date/instant (default: now).")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the scores to this Parquet file.")] = None,
) -> None:
    """Score the whole population as of a date: to the store's score history and optionally Parquet."""
    from credo.scoring import ModelBundle, score_population

    settings = get_settings()
    bundle = ModelBundle.load(models or Path(settings.model_dir))
    engine = _engine(db)
    moment = _instant(as_of)
    with progress_bar("score and record", None) as advance:
        run_id, result = score_population(engine, bundle.model(settings.serving_model), bundle.version, moment,
                                          on_rows=advance)
    if out is not None:
        frame = result.reset_index()
        frame["reasons"] = frame["reasons"].map(list)
        frame.to_parquet(out)
    _print_score_distribution(result)
    console.print(f"run {run_id}: {len(result):,} consumers scored as of {moment:%Y-%m-%d} with {bundle.version}")


def _print_score_distribution(result) -> None:  # noqa: ANN001
    from credo.policy.bands import BANDS

    table = Table("band", "range", "consumers", "share", title="Score distribution")
    total = len(result)
    for band in BANDS:
        n = int((result["band"] == band.name).sum())
        table.add_row(band.name, f"{band.lower}-{band.upper}", f"{n:,}", f"{n / max(total, 1):.1%}")
    n = int((result["status"] == "not_enough_data").sum())
    table.add_row("not enough data", "-", f"{n:,}", f"{n / max(total, 1):.1%}")
    console.print(table)


import_app = typer.Typer(help="Bring an external dataset in as ordinary events.", no_args_is_help=True)


@import_app.command("taiwan")
def import_taiwan(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="default_of_credit_card_clients.csv")],
    out: Annotated[Path, typer.Option(help="Population directory to write (events, labels, audit).")] = Path(
        "taiwan-population"
    ),
    db: DbOption = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N customers.")] = None,
) -> None:
    """Each customer becomes a consenting consumer of one card issuer, with credit-line events.

    The audit-only columns (SEX, EDUCATION, MARRIAGE, AGE) never become events:
    they are written to OUT/audit.parquet for fairness reports only.
    """
    from credo.importers.taiwan import read_dataset, write_population

    frame = read_dataset(path)
    if limit:
        frame = frame.head(limit)
    counts = write_population(frame, out)
    console.print(f"wrote {counts['consumers']} consumers and {counts['events']} events to {out}")
    _load_world(_engine(db), out)


app.add_typer(import_app, name="import")

from credo.cli import admin  # noqa: E402  (registers sub-commands)

app.add_typer(admin.partner_app, name="partner")
app.add_typer(admin.consumer_app, name="consumer")
app.add_typer(admin.db_app, name="db")

from credo.cli import service_cmds  # noqa: E402  (score-service commands)

app.command("verify")(service_cmds.verify)
app.add_typer(service_cmds.ledger_app, name="ledger")
app.add_typer(service_cmds.retention_app, name="retention")
app.add_typer(service_cmds.disputes_app, name="disputes")
