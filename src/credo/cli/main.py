"""Entry point of the ``credo`` command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, NoReturn

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from credo.cli import scale_cmds
from credo.cli.errors import CredoGroup
from credo.cli.progress import console, progress_bar
from credo.cli.reports import print_ingest_report, print_score_distribution, print_validation
from credo.cli.world import auto_workers, load_world
from credo.settings import get_settings
from credo.cli.store import DbOption, store_engine

error_console = Console(stderr=True)

app = typer.Typer(
    help="Credo: an opt-in, explainable 350-950 credit score.", no_args_is_help=True, pretty_exceptions_show_locals=False,
    cls=CredoGroup,
)



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
    engine = store_engine(db)
    total = count_records(file, fmt)
    with progress_bar(f"ingest {file.name}", total) as advance:
        on_chunk = advance if ack_log is None else _acknowledging(advance, ack_log)
        report = ingest_file(
            engine, file, fmt, chunk_size=chunk_size, workers=workers or auto_workers(total), on_chunk=on_chunk
        )
    print_ingest_report(report)
    if report.rejected:
        raise typer.Exit(code=2)


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


@app.command()
def simulate(
    consumers: Annotated[int, typer.Option(min=1)] = 1000,
    months: Annotated[int, typer.Option(min=1, max=240)] = 24,
    seed: int = 0,
    out: Annotated[Path | None, typer.Option(help="Write the population here (Parquet or JSON Lines).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="parquet or jsonl")] = "parquet",
    into_store: Annotated[bool, typer.Option("--into-store", help="Also load it into the store.")] = False,
    db: DbOption = None,
    end: Annotated[str | None, typer.Option(
        help="The data ends on this date, YYYY-MM-DD (default: today); it starts MONTHS earlier.")] = None,
) -> None:
    """Simulate partners, consenting consumers and their event streams (same seed and end, same output)."""
    import tempfile
    from datetime import date

    from credo.simulate import SimulationConfig, simulate_to_directory

    try:
        last = date.fromisoformat(end) if end else date.today()
    except ValueError:
        raise typer.BadParameter(f"{end!r} is not a date (YYYY-MM-DD)", param_hint="--end") from None
    config = SimulationConfig(consumers=consumers, months=months, seed=seed, end=last)
    with tempfile.TemporaryDirectory() as tmp:
        target = out or Path(tmp)
        with progress_bar("simulate consumers", consumers) as advance:
            summary = simulate_to_directory(config, target, fmt=fmt, progress=advance)
        console.print(summary)
        if into_store:
            load_world(store_engine(db), target, audit_source=f"credo simulate --seed {seed} (synthetic groups)")


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="Output file.")],
    db: DbOption = None,
    fmt: Annotated[str | None, typer.Option("--format", help="jsonl, csv or parquet (default: from the suffix).")] = None,
) -> None:
    """Export every stored event (of active consumers) in an ingestible format."""
    from credo.ingest.files import detect_format
    from credo.store.export import export_events

    engine = store_engine(db)
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
    """Run the API with uvicorn. Refuses without CREDO_LEDGER_SECRET and an absolute CREDO_KEY_DIR
    (see the README's deployment settings) unless CREDO_DEV_MODE=1."""
    import uvicorn

    from credo.registry.clock import utcnow
    from credo.service.issuer_keys import open_keyring
    from credo.settings import load_settings

    if db:
        os.environ["CREDO_DATABASE_URL"] = db
    settings = load_settings()
    settings.require_serving()
    engine = store_engine(db)
    open_keyring(engine, settings.key_directory, utcnow())  # refuses a key ring the store never signed with
    engine.dispose()
    console.print(f"Credo is listening on http://{host}:{port}/ (web app; API under /v1, docs at /docs). "
                  "One log line per request: method, route, status, latency.")
    uvicorn.run("credo.api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="warning")


@app.command()
def demo(
    db: Annotated[Path, typer.Option(help="SQLite file to create (replaced if it exists).")] = Path("credo-demo.db"),
    consumers: Annotated[int, typer.Option(min=10)] = 2000,
    months: Annotated[int, typer.Option(min=20, help="At least 20: 7 of history and 12 of outcomes.")] = 24,
    seed: int = 0,
    host: Annotated[str, typer.Option(help="Interface the web app listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the web app.")] = 8000,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the web app after scoring.")] = True,
    challenger: Annotated[bool, typer.Option(
        "--challenger/--no-challenger",
        help="Also train the LightGBM challenger and compare it (about twice the demo's time).")] = False,
) -> None:
    """Simulate a population into a fresh SQLite store, train, score, and open the web app with
    ready demo logins (development mode: a throwaway store). The champion scorecard serves; the
    challenger, which only competes with it, is trained with --challenger."""
    from credo.cli.demo import run_demo

    run_demo(db, consumers=consumers, months=months, seed=seed, host=host, port=port if serve else None,
             with_challenger=challenger)


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
SepOption = Annotated[str | None, typer.Option(
    help="With --data: the CSV separator (a character, or tab / whitespace; default: sniffed from the file).")]
NoHeaderOption = Annotated[bool, typer.Option(
    "--no-header", help="With --data: the CSV has no header row; columns are named c1..cN.")]


@app.command()
def train(
    db: DbOption = None,
    models: ModelsOption = None,
    first: Annotated[str | None, typer.Option(help="First observation date (default: 6 months into the data).")] = None,
    last: Annotated[str | None, typer.Option(help="Last observation date (default: 12 months before the data ends).")] = None,
    horizon: Annotated[int, typer.Option(help="Months after an observation in which 90+ DPD or charge-off = bad.")] = 12,
    data: Annotated[Path | None, typer.Option(help="Train on your own CSV/Parquet table instead of the store.")] = None,
    target: Annotated[str | None, typer.Option(help="With --data: the outcome column (0/1 with 1 = bad, or see --bad-value).")] = None,
    bad_value: Annotated[str | None, typer.Option(help="With --data: the target value that means bad (every other value is good).")] = None,
    sep: SepOption = None,
    no_header: NoHeaderOption = False,
    special_values: Annotated[str | None, typer.Option(help="With --data: comma-separated special values, e.g. -9,-8,-7.")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="With --data: columns that must not be inputs (repeatable or comma-separated).")] = None,
    allow_column: Annotated[list[str] | None, typer.Option(help="With --data: use a column a rule leaves out (repeatable; each needs a --because).")] = None,
    because: Annotated[list[str] | None, typer.Option(help="The reason for the matching --allow-column (recorded in the model card).")] = None,
    labels: Annotated[Path | None, typer.Option(help="Parquet of consumer_id, bad: external labels for store events.")] = None,
    as_of: Annotated[str | None, typer.Option(help="With --labels: the as-of date of the features.")] = None,
    challenger: Annotated[bool, typer.Option(help="Also train the monotone LightGBM challenger.")] = True,
    audit: Annotated[list[str] | None, typer.Option(help=(
        "With --data and --db: protected columns kept apart in the store's audit store to test fairness, never "
        "inputs (repeatable or comma-separated).")) ] = None,
) -> None:
    """Train the champion scorecard (and the challenger), save them as JSON, write the report, and register
    the result in the store as a candidate (`credo model publish` makes a candidate serve)."""
    import pandas as pd

    from credo.cli.governance_cmds import register_candidate
    from credo.scoring import ModelBundle, train_from_labels, train_from_store
    from credo.scoring.reports import report_html, save_validation

    directory = models or Path(get_settings().model_dir)
    audit_columns = [c.strip() for option in (audit or []) for c in option.split(",") if c.strip()]
    if audit_columns and (data is None or db is None):
        _fail("--audit keeps columns of a --data table in the store's audit store: give --data and --db")
    table = None
    with console.status("training"):
        if data is not None:
            run, table = _train_on_table(data, target, bad_value=bad_value, read=_read_options(sep, no_header),
                                         special_values=special_values, exclude=exclude or [],
                                         allowed=_allowed(allow_column or [], because or []),
                                         with_challenger=challenger, audit=audit_columns)
        elif labels is not None:
            run = train_from_labels(store_engine(db), pd.read_parquet(labels), _instant(as_of), with_challenger=challenger)
        else:
            from credo.scoring.training import default_observation_window

            engine = store_engine(db)
            start, end = default_observation_window(engine)
            run = train_from_store(engine, first=_date(first) or start, last=_date(last) or end,
                                   horizon_months=horizon, with_challenger=challenger)
    if audit_columns:
        run.bundle.manifest["audit_columns"] = audit_columns
    run.bundle.save(directory)
    save_validation(run, directory)
    (directory / "report.html").write_text(report_html(ModelBundle.load(directory), directory))
    print_validation(run.bundle.manifest, run.description)
    _print_fit_checks(run.bundle.manifest)
    console.print(f"model {run.bundle.version} saved to {directory}/ (report: {directory / 'report.html'})")
    if data is None or db is not None:
        register_candidate(store_engine(db), run, table=table, audit_columns=audit_columns,
                           source=data.name if data is not None else None)
    else:
        console.print("not registered (a table model without --db): it scores files with credo score --data")


def _print_fit_checks(manifest: dict) -> None:
    """Flag what an analyst must look at: inputs whose points run against their bad rates, inputs the
    fit gave no weight."""
    exceptions = manifest.get("direction_exceptions", [])
    for item in exceptions:
        console.print(f"[yellow]flag[/] {item['feature']}: points run against the bad rates in "
                      f"{item['exceptions']} bin pair(s), e.g. {item['example']}")
    if not exceptions:
        console.print("every input's points follow its bad rates (no bin with more bad and more points)")
    zeroed = manifest.get("zeroed_features", [])
    if zeroed:
        console.print(f"[yellow]note[/] the fit gave no weight to: {', '.join(zeroed)}")


def _fail(message: str) -> NoReturn:
    """Bad input: one line on stderr naming the problem, exit code 2, never a traceback."""
    error_console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)
    raise typer.Exit(2)


def _read_options(sep: str | None, no_header: bool):  # noqa: ANN202
    from credo.tabular import ReadOptions, separator

    return ReadOptions(sep=separator(sep), header=not no_header)


def _read(data: Path, options):  # noqa: ANN001, ANN202
    from credo.tabular import TableError, read_table

    try:
        return read_table(data, options)
    except TableError as exc:
        _fail(str(exc))


def _allowed(columns: list[str], reasons: list[str]) -> dict[str, str]:
    """Pair each --allow-column with its --because, in order."""
    if len(columns) != len(reasons):
        _fail(f"{len(columns)} --allow-column but {len(reasons)} --because: give one reason per allowed column")
    return dict(zip(columns, reasons))


def _train_on_table(data: Path, target: str | None, *, bad_value: str | None, read, special_values: str | None,  # noqa: ANN001
                    exclude: list[str], allowed: dict[str, str], with_challenger: bool,
                    audit: list[str] | None = None):  # noqa: ANN202
    """Read the table, print its column report and notices, then fit (bad input: one-line error).
    Returns the run and the table as read."""
    from credo.scoring import train_from_table
    from credo.tabular import TableError, column_report, notices, plan_table

    if not target:
        _fail("--data needs --target (the outcome column)")
    try:
        specials = [float(v) for v in special_values.split(",") if v.strip()] if special_values else None
    except ValueError:
        _fail(f"--special-values {special_values!r}: give numbers separated by commas, e.g. -9,-8,-7")
    frame = _read(data, read)
    try:
        plan = plan_table(frame, target, bad_value=bad_value, source=data.name, allowed=allowed,
                          exclude=[c.strip() for option in exclude for c in option.split(",") if c.strip()],
                          audit=audit or [])
        console.print(column_report(plan))
        for line in notices(plan):
            console.print(line, soft_wrap=True, markup=False, highlight=False)
        run = train_from_table(frame, target, plan=plan, special_values=specials, with_challenger=with_challenger)
        return run, frame
    except TableError as exc:
        _fail(str(exc))


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
    try:
        page = report_html(ModelBundle.load(directory), directory, title=title)
    except (FileNotFoundError, ValueError) as exc:
        _fail(f"cannot report on {directory}: {exc}")
    out.write_text(page)
    console.print(f"report written to {out}")


@app.command()
def score(
    db: DbOption = None,
    models: ModelsOption = None,
    as_of: Annotated[str | None, typer.Option(help="Score the store as of this date/instant (default: now).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Write the scores here: Parquet for the store; .csv or .parquet with --data (required then).")] = None,
    data: Annotated[Path | None, typer.Option(
        help="Score your own CSV/Parquet table with a bundle trained on one (`credo train --data`).")] = None,
    sep: SepOption = None,
    no_header: NoHeaderOption = False,
    scale_engine: scale_cmds.EngineOption = scale_cmds.ScaleEngine.duckdb,
    features: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="Score a features Parquet (`credo features build`) into --out FILE.parquet.")] = None,
    events: Annotated[Path | None, typer.Option(
        exists=True, file_okay=False, help="Build features from event Parquet as of --as-of, then score into --out.")] = None,
    memory_limit: scale_cmds.MemoryOption = "4GB",
) -> None:
    """Score the whole population as of a date (to the store's score history), a table with --data,
    or a population's Parquet with --features / --events (out of core, to Parquet)."""
    from credo.scoring import ModelBundle, score_population

    settings = get_settings()
    directory = models or Path(settings.model_dir)
    try:
        bundle = ModelBundle.load(directory)
    except FileNotFoundError as exc:
        _fail(str(exc))
    if features is not None or events is not None:
        scale_cmds.score_parquet(bundle, settings.serving_model, engine=scale_engine, features=features, events=events,
                                 as_of=as_of, out=out, memory_limit=memory_limit)
        return
    if data is not None:
        if as_of is not None:
            _fail("--as-of applies to scoring the store; a table is scored as it is")
        _score_table(bundle, settings.serving_model, data, out, _read_options(sep, no_header))
        return
    if "inputs" in bundle.manifest:
        _fail(f"model {bundle.version} was trained on a table ({bundle.manifest['inputs']['source']}); "
              "score tables with --data FILE --out FILE")
    engine = store_engine(db)
    moment = _instant(as_of)
    with progress_bar("score and record", None) as advance:
        run_id, result = score_population(engine, bundle.model(settings.serving_model), bundle.version, moment,
                                          on_rows=advance)
    if out is not None:
        frame = result.reset_index()
        frame["reasons"] = frame["reasons"].map(list)
        frame.to_parquet(out)
    print_score_distribution(result)
    console.print(f"run {run_id}: {len(result):,} consumers scored as of {moment:%Y-%m-%d} with {bundle.version}")
    if not (result["status"] == "scored").any():
        _explain_nobody_scorable(engine, moment, len(result))


def _explain_nobody_scorable(engine, moment, consumers: int) -> None:  # noqa: ANN001
    """Why no one got a score: the minimum scoring criteria and where the data lies against the as-of date."""
    from sqlalchemy import func, select

    from credo.features.definitions import SCORING_CRITERIA
    from credo.store.tables import events

    with engine.connect() as conn:
        first, last = conn.execute(select(func.min(events.c.occurred_at), func.max(events.c.occurred_at))).one()
    if consumers == 0:
        why = "the store has no active consumers."
    elif first is None:
        why = "the store holds no events."
    else:
        why = (f"events run from {first:%Y-%m-%d} to {last:%Y-%m-%d}; scoring as of {moment:%Y-%m-%d %H:%M} UTC "
               f"(use --as-of for another date).")
    console.print(f"Nobody is scorable as of {moment:%Y-%m-%d}: {why}", soft_wrap=True, markup=False)
    console.print(f"Minimum scoring criteria: {SCORING_CRITERIA.describe()}", soft_wrap=True, markup=False)


def _score_table(bundle, which: str, data: Path, out: Path | None, read) -> None:  # noqa: ANN001
    """Score a table row by row into a CSV or Parquet file, in the input's order."""
    from credo.policy.bands import BANDS
    from credo.scoring import score_table
    from credo.tabular import TableError

    if out is None or out.suffix.lower() not in (".csv", ".parquet"):
        _fail("--data needs --out FILE.csv or FILE.parquet for the scores")
    frame = _read(data, read)
    try:
        scored = score_table(bundle, frame, which)
    except TableError as exc:
        _fail(str(exc))
    if out.suffix.lower() == ".csv":
        scored.to_csv(out, index=False)
    else:
        scored.to_parquet(out, index=False)
    table = Table("band", "range", "rows", "share", title=f"Scores of {data.name}")
    for band in BANDS:
        n = int((scored["band"] == band.name).sum())
        table.add_row(band.name, f"{band.lower}-{band.upper}", f"{n:,}", f"{n / len(scored):.1%}")
    n = int(scored["score"].isna().sum())
    table.add_row("not scorable", "-", f"{n:,}", f"{n / len(scored):.1%}")
    console.print(table)
    console.print(f"{len(scored):,} rows scored with {bundle.version} ({which}) into {out}")


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
    they are written to OUT/audit.parquet and loaded into the store's audit store, for fairness
    audits only.
    """
    from credo.importers.taiwan import read_dataset, write_population

    frame = read_dataset(path)
    if limit:
        frame = frame.head(limit)
    counts = write_population(frame, out)
    console.print(f"wrote {counts['consumers']} consumers and {counts['events']} events to {out}")
    load_world(store_engine(db), out, audit_source=f"UCI Taiwan {path.name} (credo import taiwan)")


app.add_typer(import_app, name="import")
app.add_typer(scale_cmds.features_app, name="features")
app.add_typer(scale_cmds.scores_app, name="scores")

from credo.cli import admin  # noqa: E402  (registers sub-commands)

app.add_typer(admin.partner_app, name="partner")
app.add_typer(admin.consumer_app, name="consumer")
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.operator_app, name="operator")

from credo.cli import service_cmds  # noqa: E402  (score-service commands)
from credo.cli import governance_cmds  # noqa: E402  (model governance commands)

app.command("verify")(service_cmds.verify)
app.add_typer(service_cmds.ledger_app, name="ledger")
app.add_typer(service_cmds.retention_app, name="retention")
app.add_typer(service_cmds.disputes_app, name="disputes")
app.add_typer(governance_cmds.model_app, name="model")
app.add_typer(governance_cmds.fairness_app, name="fairness")
app.command("monitor")(governance_cmds.monitor)

from credo.cli import backup_cmds  # noqa: E402  (backup and restore)

app.command("backup")(backup_cmds.backup)
app.command("restore")(backup_cmds.restore)
