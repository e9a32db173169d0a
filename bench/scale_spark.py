"""Population scale on Spark (issue 13): the Spark local feature build beside the DuckDB build, same events.

    .venv/bin/python bench/scale_spark.py [--events DIR ...] [--no-raw] [--consumers 40000] [--months 24] [--data-dir /tmp]

On each simulator directory (``--events``, repeatable; default ``DATA_DIR/credo-scale-<consumers>``, written with
``credo simulate --consumers N --months M --end END`` when absent), in the same run, each step a fresh
process whose wall time and whole-process-tree peak RSS (JVM included; ``/proc`` every 50 ms) are
printed with events/s and the ratio to the baseline:

* **duckdb** (the baseline): ``credo features build --events DIR --as-of D --out F`` (shipped defaults);
* **spark, raw files**: the same command with ``--engine spark`` (shipped ``credo.scale.spark.session``:
  ``local[*]``, ``LOCAL_DRIVER_MEMORY``), which normalises the raw files with DuckDB into a scratch
  Parquet, then builds on Spark;
* **normalise**: that normalisation alone (``credo.scale.spark.normalise_events``), done once;
* **spark, normalised**: the Spark build from the normalised Parquet, as on a cluster whose event store
  already holds normalised events; the child reports its session start and build time apart.

Then the Spark and DuckDB feature files are compared row for row (DuckDB ``EXCEPT ALL`` both ways).
As-of D is the simulation's end (every event before it; ``summary.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from measured import run_measured  # noqa: E402  (bench/, the script's own folder)

CREDO = [sys.executable, "-m", "credo"]
END = "2026-11-01"


def event_count(events: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in sorted((events / "events").glob("part-*.parquet")))


def differing_rows(a: Path, b: Path) -> int:
    """Rows of one features file missing from the other, both ways (0: the same table)."""
    import duckdb

    with duckdb.connect() as con:
        q = f"SELECT count(*) FROM (SELECT * FROM '{a}' EXCEPT ALL SELECT * FROM '{b}')"
        r = f"SELECT count(*) FROM (SELECT * FROM '{b}' EXCEPT ALL SELECT * FROM '{a}')"
        return int(con.execute(q).fetchall()[0][0]) + int(con.execute(r).fetchall()[0][0])


SPARK_CHILD = """
import json, sys, time
from datetime import date
t = time.perf_counter()
from credo.scale.spark import build_features_to_parquet, session
spark = session("credo-bench")
started = time.perf_counter() - t
t = time.perf_counter()
build_features_to_parquet(sys.argv[1], date.fromisoformat(sys.argv[2]), sys.argv[3], spark=spark)
print(json.dumps({"session_s": started, "build_s": time.perf_counter() - t}))
"""


def as_of(events: Path) -> str:
    """The simulation's end (every event before it), from its summary; END for older directories."""
    summary = events / "summary.json"
    return json.loads(summary.read_text())["end"] if summary.exists() else END


def measure(events: Path, work: Path, raw: bool) -> tuple[int, list[tuple[str, float, int, str]], int]:
    """Events, the measured steps and the differing rows for one simulator directory."""
    n, d = event_count(events), as_of(events)
    rows: list[tuple[str, float, int, str]] = []

    def done(name: str, wall: float, peak: int, note: str = "") -> None:
        """Record a step, and say so at once (a long curve keeps what it measured if stopped)."""
        rows.append((name, wall, peak, note))
        print(f"  {events.name}: {name}: {wall:.1f} s, peak {peak / 1e9:.2f} GB {note}", file=sys.stderr, flush=True)

    duck_out, spark_out, norm_out = work / "duck.parquet", work / "spark.parquet", work / "spark2.parquet"
    wall, peak, _ = run_measured([*CREDO, "features", "build", "--events", str(events), "--as-of", d,
                                  "--out", str(duck_out)])
    done("duckdb features build (baseline)", wall, peak)
    diff = 0
    if raw:
        wall, peak, _ = run_measured([*CREDO, "features", "build", "--events", str(events), "--as-of", d,
                                      "--out", str(spark_out), "--engine", "spark"])
        done("spark local, raw files (CLI --engine spark)", wall, peak)
        diff += differing_rows(duck_out, spark_out)
    normalised = work / "events-normalised.parquet"
    wall, peak, _ = run_measured([sys.executable, "-c", "import sys; from credo.scale.spark import normalise_events; "
                                  "normalise_events(sys.argv[1], sys.argv[2])", str(events), str(normalised)])
    done("normalise raw files to Parquet (DuckDB, once)", wall, peak)
    wall, peak, out = run_measured([sys.executable, "-c", SPARK_CHILD, str(normalised), d, str(norm_out)])
    parts = json.loads(out.strip().splitlines()[-1])
    done("spark local, normalised Parquet", wall, peak,
         f"session {parts['session_s']:.1f} s + build {parts['build_s']:.1f} s")
    diff += differing_rows(duck_out, norm_out)
    return n, rows, diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=Path, action="append",
                        help="Simulator directory (repeatable: one scaling curve in one run).")
    parser.add_argument("--consumers", type=int, default=40_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--no-raw", dest="raw", action="store_false",
                        help="Skip the CLI run from raw files (it repeats the normalising and the build).")
    args = parser.parse_args()
    directories = args.events or [args.data_dir / f"credo-scale-{args.consumers}"]
    for events in directories:
        if not (events / "events").is_dir():
            subprocess.run([*CREDO, "simulate", "--consumers", str(args.consumers), "--months", str(args.months),
                            "--end", END, "--out", str(events)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    print(f"{os.cpu_count()} cores; Spark: credo.scale.spark.session() defaults (local[*])")
    print("| events | step | wall s | M events/s | peak RSS GB | wall / duckdb | RSS / duckdb | note |")
    print("|---|---|---|---|---|---|---|---|")
    for events in directories:
        with open("/proc/loadavg") as fh:
            load = " ".join(fh.read().split()[:3])
        with tempfile.TemporaryDirectory(prefix="credo-bench-spark-", dir=args.data_dir) as scratch:
            n, rows, diff = measure(events, Path(scratch), args.raw)
        base_wall, base_peak = rows[0][1], rows[0][2]
        for name, wall, peak, note in rows:
            print(f"| {n / 1e6:.1f} M | {name} | {wall:.1f} | {n / wall / 1e6:.3f} | {peak / 1e9:.2f} | "
                  f"{wall / base_wall:.1f}x | {peak / base_peak:.1f}x | {note} |", flush=True)
        print(f"| {n / 1e6:.1f} M | rows differing, Spark vs DuckDB: {diff} | | | | | | "
              f"{events}, as of {as_of(events)}, load before {load} |", flush=True)


if __name__ == "__main__":
    main()
