"""``credo features build``, the Parquet side of ``credo score`` and ``credo scores load``: population scale."""

from __future__ import annotations

import tempfile
from datetime import date
from enum import Enum
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from credo.cli.progress import console, progress_bar
from credo.cli.store import DbOption, store_engine

if TYPE_CHECKING:
    from credo.scale.buckets import Shard

features_app = typer.Typer(help="Features of a whole population over event Parquet.", no_args_is_help=True)


class ScaleEngine(str, Enum):
    duckdb = "duckdb"
    spark = "spark"


EngineOption = Annotated[ScaleEngine, typer.Option(
    "--engine", help="duckdb (this machine, out of core) or spark (credo.scale.spark; PySpark installed).")]
MemoryOption = Annotated[str, typer.Option(
    "--memory-limit", help="DuckDB memory limit; beyond it DuckDB spills to a scratch directory beside --out.")]


def fail(message: str) -> NoReturn:
    console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(2)


def as_of_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"--as-of {text!r} is not a date (YYYY-MM-DD)")


def spark_function(name: str) -> Any:
    """``credo.scale.spark.<name>``, or a clear exit 2 when the Spark backend is not available."""
    try:
        module = import_module("credo.scale.spark")
    except ImportError as exc:
        fail(f"the Spark engine is not available here ({exc}); use --engine duckdb")
    function = getattr(module, name, None)
    if function is None:
        fail(f"the Spark engine has no {name} yet; use --engine duckdb")
    return function


def build_into(events: Path, as_of: date, out: Path, engine: ScaleEngine, memory_limit: str,
               shard: Shard | None = None) -> None:
    """Features of every consumer in ``events`` (or of a :class:`~credo.scale.buckets.Shard`) into ``out``."""
    from credo.scale.buckets import EVERYONE
    from credo.scale.features import build_features, planned_work

    shard = shard or EVERYONE
    if engine is ScaleEngine.spark and not shard.everyone:
        fail("--consumers-from/--consumers-to shard the DuckDB build; Spark partitions the work itself")
    if engine is ScaleEngine.spark:
        spark_function("build_features_to_parquet")(events, as_of, out)
        console.print(f"features as of {as_of} written to {out} (spark)")
        return
    try:
        total = planned_work(events, shard)
        with progress_bar("features (events)", total) as advance:
            result = build_features(events, as_of, out, memory_limit=memory_limit, on_rows=advance, shard=shard)
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    except Exception as exc:  # DuckDB's errors name the offending value (non-canonical money, nulls)
        if type(exc).__module__.startswith(("duckdb", "_duckdb")):
            fail(str(exc).splitlines()[0])
        raise
    who = "" if shard.everyone else f" with ids in [{shard.low or 'first'}, {shard.high or 'last'})"
    console.print(f"{result.consumers:,} consumers{who} ({result.events:,} events in the files), {result.buckets} "
                  f"bucket(s): features as of {as_of} written to {out}")


@features_app.command("build")
def build(
    events: Annotated[Path, typer.Option(exists=True, file_okay=False, help="Simulator directory (events/part-*.parquet).")],
    as_of: Annotated[str, typer.Option(help="Features as of this date (midnight UTC).")],
    out: Annotated[Path, typer.Option(help="Features Parquet to write (one row per consumer).")],
    engine: EngineOption = ScaleEngine.duckdb,
    memory_limit: MemoryOption = "4GB",
    consumers_from: Annotated[str | None, typer.Option(
        help="Only consumers whose id is at or after this one (a shard: one build per id range, one machine each).")] = None,
    consumers_to: Annotated[str | None, typer.Option(help="Only consumers whose id is before this one.")] = None,
) -> None:
    """Compute every feature of every consumer (or of an id range) as of a date, out of core, into Parquet."""
    from credo.scale.buckets import Shard

    try:
        shard = Shard(consumers_from, consumers_to)
    except ValueError as exc:
        fail(f"--consumers-from/--consumers-to: {exc}")
    build_into(events, as_of_date(as_of), out, engine, memory_limit, shard)


def score_parquet(bundle: Any, which: str, *, engine: ScaleEngine, features: Path | None, events: Path | None,
                  as_of: str | None, out: Path | None, memory_limit: str) -> None:
    """``credo score --features FILE | --events DIR``: scores of a whole population into Parquet."""
    from credo.scale.score import features_as_of, score_features

    if out is None or out.suffix.lower() != ".parquet":
        fail("--features/--events need --out FILE.parquet for the scores")
    if (features is None) == (events is None):
        fail("give exactly one of --features FILE.parquet and --events DIR")
    if events is not None and as_of is None:
        fail("--events needs --as-of DATE")
    model = bundle.model(which)
    with tempfile.TemporaryDirectory(prefix="credo-score-", dir=out.parent) as scratch:
        if events is not None:
            features = Path(scratch) / "features.parquet"
            build_into(events, as_of_date(as_of or ""), features, engine, memory_limit)
        assert features is not None
        if engine is ScaleEngine.spark:
            spark_function("score_features")(features, model, bundle.version, out)
            console.print(f"scores written to {out} (spark)")
            return
        moment = as_of_date(as_of) if as_of is not None else features_as_of(features)
        if moment is None:
            fail(f"{features} does not record its as-of date: pass --as-of")
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(features).metadata.num_rows
        try:
            with progress_bar("score", rows) as advance:
                result = score_features(features, model, bundle.version, out, as_of=moment, on_rows=advance)
        except ValueError as exc:
            fail(str(exc))
    console.print(f"{result.consumers:,} consumers ({result.scored:,} scored, "
                  f"{result.consumers - result.scored:,} not enough data) with {bundle.version} into {out}")


scores_app = typer.Typer(help="Batch scores (Parquet) and the store's score history.", no_args_is_help=True)


@scores_app.command("load")
def load(
    scores: Annotated[Path, typer.Argument(exists=True, help=(
        "Scores Parquet (`credo score --features … --out`), or a directory of parts (Spark's scores/as_of=D/)."))],
    db: DbOption = None,
) -> None:
    """Write a scores Parquet into the store's score history: one run, one transaction, checked row by row."""
    from credo.errors import CredoError
    from credo.scale.load import load_scores, planned_rows

    engine = store_engine(db)
    try:
        with progress_bar("load scores", planned_rows(scores)) as advance:
            result = load_scores(engine, scores, on_rows=advance)
    except CredoError as exc:
        fail(f"{exc.code.value}: {exc.message} (nothing written)")
    console.print(f"run {result.run_id}: {result.written:,} scores as of {result.as_of:%Y-%m-%d} with "
                  f"{result.model_version} written in one transaction; {result.not_active:,} row(s) of consumers "
                  "not active in the store left out")
