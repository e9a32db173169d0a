"""Population scale on Spark (issue 13): the Spark local feature build beside the DuckDB build, same events.

    .venv/bin/python bench/scale_spark.py [--events DIR] [--consumers 40000] [--months 24] [--data-dir /tmp]

On one simulator directory (``--events``; default ``DATA_DIR/credo-scale-<consumers>``, written with
``credo simulate --consumers N --months M --end END`` when absent), in the same run, each step a fresh
process whose wall time and whole-process-tree peak RSS (JVM included; ``/proc`` every 50 ms) are
printed with events/s and the ratio to the baseline:

* **duckdb** (the baseline): ``credo features build --events DIR --as-of D --out F`` (shipped defaults);
* **spark, raw files**: the same command with ``--engine spark`` (shipped ``credo.scale.spark.session``:
  ``local[*]``, Spark's default driver memory), which normalises the raw files with DuckDB into a scratch
  Parquet, then builds on Spark;
* **normalise**: that normalisation alone (``credo.scale.spark.normalise_events``), done once;
* **spark, normalised**: the Spark build from the normalised Parquet, as on a cluster whose event store
  already holds normalised events; the child reports its session start and build time apart.

Then the Spark and DuckDB feature files are compared row for row (DuckDB ``EXCEPT ALL`` both ways).
As-of D is the simulation's end (every event before it).
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=Path)
    parser.add_argument("--consumers", type=int, default=40_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    events = args.events or args.data_dir / f"credo-scale-{args.consumers}"
    if not (events / "events").is_dir():
        subprocess.run([*CREDO, "simulate", "--consumers", str(args.consumers), "--months", str(args.months),
                        "--end", END, "--out", str(events)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    n = event_count(events)
    with open("/proc/loadavg") as fh:
        load = fh.read().split()[:3]
    print(f"{n:,} events in {events}; as of {END}; {os.cpu_count()} cores; load average {' '.join(load)}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="credo-bench-spark-", dir=args.data_dir) as scratch:
        work = Path(scratch)
        duck_out, spark_out, norm_out = work / "duck.parquet", work / "spark.parquet", work / "spark2.parquet"
        wall, peak, _ = run_measured([*CREDO, "features", "build", "--events", str(events), "--as-of", END,
                             "--out", str(duck_out)])
        rows.append(("duckdb features build (baseline)", wall, peak, ""))
        wall, peak, _ = run_measured([*CREDO, "features", "build", "--events", str(events), "--as-of", END,
                             "--out", str(spark_out), "--engine", "spark"])
        rows.append(("spark local, raw files (CLI --engine spark)", wall, peak, ""))
        normalised = work / "events-normalised.parquet"
        wall, peak, _ = run_measured([sys.executable, "-c", "import sys; from credo.scale.spark import normalise_events; "
                             "normalise_events(sys.argv[1], sys.argv[2])", str(events), str(normalised)])
        rows.append(("normalise raw files to Parquet (DuckDB, once)", wall, peak, ""))
        wall, peak, out = run_measured([sys.executable, "-c", SPARK_CHILD, str(normalised), END, str(norm_out)])
        parts = json.loads(out.strip().splitlines()[-1])
        rows.append(("spark local, normalised Parquet", wall, peak,
                     f"session {parts['session_s']:.1f} s + build {parts['build_s']:.1f} s"))
        diff = differing_rows(duck_out, spark_out) + differing_rows(duck_out, norm_out)
    base_wall, base_peak = rows[0][1], rows[0][2]
    print("\n| step | wall s | M events/s | peak RSS GB | wall / duckdb | RSS / duckdb | note |")
    print("|---|---|---|---|---|---|---|")
    for name, wall, peak, note in rows:
        print(f"| {name} | {wall:.1f} | {n / wall / 1e6:.2f} | {peak / 1e9:.2f} | {wall / base_wall:.1f}x | "
              f"{peak / base_peak:.1f}x | {note} |")
    print(f"\nrows differing between the Spark and DuckDB feature files: {diff}")


if __name__ == "__main__":
    main()
