"""Population scale (issue 13): event Parquet → features → scores, beside a plain DuckDB scan.

    .venv/bin/python bench/scale.py [--events DIR ...] [--consumers 40000] [--months 24] [--data-dir /tmp]

For each simulator directory (``--events``, repeatable; default: ``DATA_DIR/credo-scale-<consumers>``,
written with ``credo simulate --consumers N --months M`` when absent), in the same run:

* **scan** (the baseline): one DuckDB query over the same Parquet columns the features read,
  grouped by consumer — ``count(*)``, the sum of every money column (exact minor units) and
  the maximum of every other column;
* **features**: the shipped ``credo features build --events DIR --as-of D --out F`` (defaults:
  DuckDB, 4 GB memory limit);
* **score**: the shipped ``credo score --features F --out S`` with a scorecard bundle fitted
  here on a 50k-consumer sample of those features (outcomes from the simulator's
  ``outcomes.parquet``) and saved to a model directory, as ``credo train`` would publish it.

Each step is a fresh process; its wall time and the peak RSS of its whole process tree (sampled
from ``/proc`` every 50 ms) are printed with events/s and the ratio to the scan. As-of D is the
simulation's end date (every event before it). Target (issue 13): features within 3x the scan;
features + score at >= 1.5 M events/s with peak RSS <= 6 GB for 1 M consumers x 24 months.
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

from measured import print_markdown, run_measured  # noqa: E402  (bench/, the script's own folder)

CREDO = [sys.executable, "-m", "credo"]


def ensure_population(directory: Path, consumers: int, months: int) -> None:
    if (directory / "summary.json").exists():
        return
    print(f"generating {directory} (credo simulate --consumers {consumers} --months {months}) ...", flush=True)
    subprocess.run([*CREDO, "simulate", "--consumers", str(consumers), "--months", str(months),
                    "--out", str(directory)], check=True, stdout=subprocess.DEVNULL)


SCAN = """
import sys
from datetime import date
from pathlib import Path
from credo.features.builder import feature_query
from credo.features.events_table import payload_columns
from credo.scale.events import event_files, ident, source
from credo.scale.features import session
files = event_files(Path(sys.argv[1]))
read = set(feature_query(date.fromisoformat(sys.argv[2])).columns())
money = {c.name: c.source for c in payload_columns() if c.kind == "money"}
sources = {c.name: c.source for c in payload_columns()}
aggs = ["count(*)"]
for name in sorted(read - {"consumer_id", "root_event_id", "revised", "ref_kind", "occurred_date"}):
    if name in money:
        aggs.append(f"sum(CAST(replace({ident(money[name])}, '.', '') AS BIGINT))")
    elif name == "target_event_id":
        aggs += ["max(corrects_event_id)", "max(retracts_event_id)"]
    elif name == "ref":
        aggs += ["max(account_ref)", "max(bill_ref)"]
    else:
        aggs.append(f"max({ident(sources.get(name, name))})")
con = session()
con.execute(f"COPY (SELECT consumer_id, {', '.join(aggs)} FROM {source(files)} GROUP BY consumer_id) "
            f"TO '{sys.argv[3]}' (FORMAT parquet)")
"""


def fit_models(directory: Path, features: Path, models: Path) -> None:
    """A scorecard bundle fitted on a sample of the built features (the bench needs a published model)."""
    from datetime import date

    import pyarrow as pa
    import pyarrow.parquet as pq

    from credo.features.builder import feature_query
    from credo.features.compute import to_frame
    from credo.features.definitions import FEATURE_NAMES, model_settings
    from credo.scoring.training import fit_bundle

    sample = next(pq.ParquetFile(features).iter_batches(batch_size=50_000))
    frame = to_frame(pa.Table.from_batches([sample]), feature_query(date(2000, 1, 1)))  # as-of: only the types
    outcomes = pq.read_table(directory / "outcomes.parquet", columns=["consumer_id", "first_bad_date"]).to_pandas()
    bad = outcomes.set_index("consumer_id")["first_bad_date"].notna()
    train = frame[frame["is_scorable"]]
    bundle = fit_bundle(train[list(FEATURE_NAMES)], bad.reindex(train.index).fillna(False).astype(int),
                        features=FEATURE_NAMES, source="bench/scale.py sample", with_challenger=False,
                        **model_settings())
    bundle.save(models)


def machine() -> str:
    """Cores, memory, load and commit: what a reader needs to compare a run."""
    with open("/proc/meminfo") as fh:
        mem = int(fh.readline().split()[1]) / 2**20
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    return f"{os.cpu_count()} cores, {mem:.1f} GiB, load {load}, commit {commit}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=Path, action="append", help="Simulator directory (repeatable).")
    ap.add_argument("--consumers", type=int, default=40_000, help="Population to generate when --events is absent.")
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()))
    args = ap.parse_args()
    directories = args.events or [args.data_dir / f"credo-scale-{args.consumers}"]
    print(f"start: {machine()}", flush=True)
    rows = []
    for directory in directories:
        ensure_population(directory, args.consumers, args.months)
        summary = json.loads((directory / "summary.json").read_text())
        events, as_of = int(summary["events"]), summary["end"]
        with tempfile.TemporaryDirectory(prefix="credo-bench-", dir=args.data_dir) as work:
            w = Path(work)
            scan = run_measured([sys.executable, "-c", SCAN, str(directory), as_of, str(w / "scan.parquet")])
            build = run_measured([*CREDO, "features", "build", "--events", str(directory), "--as-of", as_of,
                                  "--out", str(w / "features.parquet")])
            fit_models(directory, w / "features.parquet", w / "models")
            score = run_measured([*CREDO, "score", "--features", str(w / "features.parquet"), "--models",
                                  str(w / "models"), "--out", str(w / "scores.parquet")])
        total = (build[0] + score[0], max(build[1], score[1]))
        name = f"{summary['consumers']:,} consumers x {summary['months']} months"
        for step, (wall, peak, *_) in (("scan (baseline)", scan), ("features build", build), ("score", score),
                                   ("features + score", total)):
            rows.append((name, f"{events / 1e6:.1f} M", step, f"{wall:.1f}", f"{events / wall / 1e6:.2f}",
                         f"{peak / 2**30:.2f}", f"{wall / scan[0]:.2f}x"))
            print("  " + " | ".join(rows[-1]), flush=True)
    print(f"end: {machine()}")
    header = ("population", "events", "step", "wall s", "M events/s", "peak RSS GiB", "vs scan")
    print_markdown(header, rows)


if __name__ == "__main__":
    main()
