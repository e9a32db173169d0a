"""Model-quality benchmark: what `credo train --data` ships, against default peers.

    .venv/bin/python bench/quality.py [--data-dir DIR] [--datasets gmsc,heloc,taiwan,german]
                                      [--seeds 0,1,2,3,4] [--markdown FILE] [--jobs N]

Data directory: ``--data-dir``, else ``$CREDO_DATA_DIR``, else ``../shared/data``
relative to the repository root (layout: ``../shared/data/README.md``).

Protocol
* Credo's models come from ``credo.scoring.training.train_from_table``, the code
  path of ``credo train --data``, with its defaults. Each dataset gets only what a
  user would type on the command line for it (:data:`DATASETS`): the target and
  its bad value, the special values, and the columns to exclude (row ids and
  audit-only traits). No model setting exists in this file, so none can have
  been chosen by looking at a test split.
* ``train_from_table(..., seed=s)`` makes the stratified 70/30 split for each
  seed ``s``; the peers are fitted on the same training rows and the same input
  columns Credo's models see (``run.X_train.columns``, i.e. after the shipped
  column guard) and judged on the same test rows.
* Credo is judged on the shipped 350..950 score (clamped integers, higher =
  safer, so its AUC is that of ``-score``). Beside it: the AUC of the model's
  probability, of the raw total before the clamp, and the share of test rows at
  350 and at 950.
* Peers with their defaults: optbinning's ``Scorecard(BinningProcess(columns,
  categorical_variables, special_codes), LogisticRegression())`` (AUC of
  ``predict_proba``, as its tutorials do) and ``lightgbm.LGBMClassifier()``
  (categoricals as pandas ``category``).

Targets, over the seeds: Credo scorecard >= optbinning's scorecard and Credo
challenger >= LightGBM, on every dataset. The verdict compares the mean paired
AUC difference with the standard deviation of the paired differences:
PASS if mean > +1 sd, TIE if |mean| <= 1 sd, FAIL if mean < -1 sd.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from credo.model.metrics import auc  # noqa: E402
from credo.policy.bands import SCORE_MAX, SCORE_MIN  # noqa: E402
from credo.scoring.training import TrainingRun, train_from_table  # noqa: E402
from credo.tabular import ReadOptions, TablePlan, plan_table, read_table  # noqa: E402

warnings.filterwarnings("ignore")
console = Console()


@dataclass(frozen=True)
class Dataset:
    """One dataset as a user would hand it to ``credo train --data``: only command-line options."""

    path: str
    target: str
    bad_value: str | None = None  # --bad-value; None: the target is already 0/1
    special_values: tuple[float, ...] = ()  # --special-values (apply to every numeric column)
    exclude: tuple[str, ...] = ()  # --exclude
    header: bool = True  # False: --no-header (columns c1..cN)

    def command(self) -> str:
        """The ``credo train`` command line these options stand for."""
        parts = ["credo train", f"--data {Path(self.path).name}", f"--target {_quoted(self.target)}"]
        if self.bad_value is not None:
            parts.append(f"--bad-value {_quoted(self.bad_value)}")
        if not self.header:
            parts.append("--no-header")
        if self.special_values:
            parts.append("--special-values " + ",".join(f"{v:g}" for v in self.special_values))
        if self.exclude:
            parts.append("--exclude " + ",".join(self.exclude))
        return " ".join(parts)


def _quoted(text: str) -> str:
    return f"'{text}'" if " " in text else text


# Row ids (GMSC's unnamed first column, Taiwan's ID) are not excluded here: the
# shipped column guard leaves them out as identifiers, as it does for a user.
DATASETS: dict[str, Dataset] = {
    "gmsc": Dataset("give_me_some_credit/cs-training.csv", "SeriousDlqin2yrs", special_values=(96.0, 98.0)),
    "heloc": Dataset("fico_heloc/heloc_dataset_v1.csv", "RiskPerformance", bad_value="Bad",
                     special_values=(-9.0, -8.0, -7.0)),
    "taiwan": Dataset("taiwan_default_credit_card/default_of_credit_card_clients.csv", "default payment next month",
                      exclude=("SEX", "EDUCATION", "MARRIAGE", "AGE")),
    "german": Dataset("german_credit/german.data", "c21", bad_value="2", exclude=("c9", "c13", "c20"), header=False),
}
SEEDS = (0, 1, 2, 3, 4)
# (target label, Credo model, peer model)
TARGETS = (("scorecard ≥ optbinning", "credo_scorecard", "optbinning_scorecard"),
           ("challenger ≥ LightGBM", "credo_challenger", "lightgbm_default"))


# ------------------------------------------------------------------ data and fits
def load(spec: Dataset, data_dir: Path) -> tuple[pd.DataFrame, TablePlan]:
    """The file read and planned as ``credo train --data`` does (separator sniffed, column guard applied)."""
    frame = read_table(data_dir / spec.path, ReadOptions(header=spec.header))
    plan = plan_table(frame, spec.target, bad_value=spec.bad_value, exclude=list(spec.exclude),
                      source=Path(spec.path).name)
    return frame, plan


def train_credo(frame: pd.DataFrame, plan: TablePlan, spec: Dataset, seed: int) -> TrainingRun:
    return train_from_table(frame, spec.target, plan=plan, special_values=list(spec.special_values) or None,
                            seed=seed)


def left_out(plan: TablePlan, spec: Dataset) -> list[str]:
    """Columns the shipped guard left out by itself (not by --exclude), with the rule."""
    return [f"{c.name} ({c.rule})" for c in plan.columns if c.decision == "excluded" and c.name not in spec.exclude]


def credo_rows(run: TrainingRun) -> list[dict]:
    """The shipped score's AUC, with the probability's and the raw total's beside it."""
    y = run.y_valid.to_numpy()
    rows = []
    for name, model in (("credo_scorecard", run.bundle.champion), ("credo_challenger", run.bundle.challenger)):
        shipped = model.score(run.X_valid).to_numpy(dtype=float)
        raw = model.score(run.X_valid, clamp=False).to_numpy(dtype=float)
        proba = model.predict_proba(run.X_valid)[1].to_numpy(dtype=float)
        rows.append({"model": name, "auc": auc(y, -shipped), "auc_proba": auc(y, proba), "auc_raw": auc(y, -raw),
                     "at_350": float(np.mean(shipped <= SCORE_MIN)), "at_950": float(np.mean(shipped >= SCORE_MAX))})
    return rows


def optbinning_auc(run: TrainingRun, spec: Dataset, cats: list[str]) -> float:
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    columns = list(run.X_train.columns)
    process = BinningProcess(columns, categorical_variables=cats or None,
                             special_codes=list(spec.special_values) or None)
    model = Scorecard(binning_process=process, estimator=LogisticRegression()).fit(run.X_train, run.y_train)
    return auc(run.y_valid, model.predict_proba(run.X_valid)[:, 1])


def lightgbm_auc(run: TrainingRun, cats: list[str]) -> float:
    import lightgbm

    def design(X: pd.DataFrame) -> pd.DataFrame:
        return X.astype({c: "category" for c in cats}) if cats else X

    model = lightgbm.LGBMClassifier(verbose=-1).fit(design(run.X_train), run.y_train)
    return auc(run.y_valid, model.predict_proba(design(run.X_valid))[:, 1])


def run_seed(name: str, frame: pd.DataFrame, plan: TablePlan, seed: int) -> tuple[list[dict], list[str]]:
    """Credo through ``train_from_table`` on one split; the peers on its rows and input columns."""
    spec = DATASETS[name]
    t0 = time.perf_counter()
    run = train_credo(frame, plan, spec, seed)
    credo_s = time.perf_counter() - t0
    rows = credo_rows(run)
    t1 = time.perf_counter()
    cats = [c for c in plan.categorical if c in run.X_train.columns]
    rows.append({"model": "optbinning_scorecard", "auc": optbinning_auc(run, spec, cats)})
    rows.append({"model": "lightgbm_default", "auc": lightgbm_auc(run, cats)})
    peers_s = time.perf_counter() - t1
    for r in rows:
        r.update(dataset=name, seed=seed)
    console.log(f"{name} seed {seed}: " + "  ".join(f"{r['model']} {r['auc']:.4f}" for r in rows)
                + f"  (credo {credo_s:.1f} s, peers {peers_s:.1f} s)")
    return rows, list(run.X_train.columns)


@lru_cache(maxsize=None)
def loaded(name: str, data_dir: Path) -> tuple[pd.DataFrame, TablePlan, list[str]]:
    """A dataset read and planned once per process, with what the guard left out (logged once)."""
    spec = DATASETS[name]
    frame, plan = load(spec, data_dir)
    guarded = left_out(plan, spec)
    console.log(f"{name}: {spec.command()}; left out by the column guard: {', '.join(guarded) or 'nothing'}")
    return frame, plan, guarded


def fit_split(name: str, data_dir: Path, seed: int) -> tuple[str, list[dict], list[str], list[str]]:
    """One (dataset, seed) cell: its result rows, the guard's exclusions, the input columns."""
    frame, plan, guarded = loaded(name, data_dir)
    rows, cols = run_seed(name, frame, plan, seed)
    return name, rows, guarded, cols


# ------------------------------------------------------------------ summaries
def summarise(res: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per dataset and model."""
    cols = ["auc", "auc_proba", "auc_raw", "at_350", "at_950"]
    out = res.groupby(["dataset", "model"], sort=False)[cols].mean()
    out["auc_sd"] = res.groupby(["dataset", "model"], sort=False)["auc"].std(ddof=1)
    return out.reset_index()


def verdicts(res: pd.DataFrame) -> pd.DataFrame:
    wide = res.pivot_table(index=["dataset", "seed"], columns="model", values="auc")
    rows = []
    for ds in res["dataset"].unique():
        w = wide.loc[ds]
        for label, ours, peer in TARGETS:
            diff = (w[ours] - w[peer]).to_numpy()
            mean, sd = float(diff.mean()), float(diff.std(ddof=1)) if len(diff) > 1 else float("nan")
            verdict = ("PASS" if mean > sd else "FAIL" if mean < -sd else "TIE") if sd == sd else "n/a (1 seed)"
            rows.append({"dataset": ds, "target": label, "credo": float(w[ours].mean()),
                         "peer": float(w[peer].mean()), "mean_diff": mean, "sd_diff": sd,
                         "wins": f"{int((diff > 0).sum())}/{len(diff)}", "verdict": verdict})
    return pd.DataFrame(rows)


def fmt(v: Any, spec: str) -> str:
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, spec)


def quality_rows(summary: pd.DataFrame) -> list[list[str]]:
    return [[r.dataset, r.model, fmt(r.auc, ".4f"), fmt(r.auc_sd, ".4f"), fmt(r.auc_proba, ".4f"),
             fmt(r.auc_raw, ".4f"), fmt(r.at_350, ".1%"), fmt(r.at_950, ".1%")] for r in summary.itertuples()]


# "AUC": Credo's shipped score, the peers' probability; "sd": over the seeds.
QUALITY_HEAD = ["dataset", "model", "AUC", "sd", "AUC proba", "AUC raw", "at 350", "at 950"]
TARGET_HEAD = ["dataset", "target", "Credo", "peer", "mean diff", "sd diff", "ahead", "verdict"]


def target_rows(checks: pd.DataFrame) -> list[list[str]]:
    return [[r.dataset, r.target, f"{r.credo:.4f}", f"{r.peer:.4f}", f"{r.mean_diff:+.4f}", fmt(r.sd_diff, ".4f"),
             r.wins, r.verdict] for r in checks.itertuples()]


def md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def rich_table(title: str, head: list[str], rows: list[list[str]]) -> Table:
    table = Table(*head, title=title)
    for r in rows:
        table.add_row(*r)
    return table


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor() or "unknown CPU")
    mem_kb = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                  if ln.startswith("MemTotal"))
    return f"{os.cpu_count()} cores ({cpu}), {mem_kb / 2**20:.1f} GiB RAM, Python {platform.python_version()}"


def commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "bench/quality.py"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + (" (with uncommitted changes in src/ or bench/quality.py)" if dirty else "")


def input_lines(inputs: dict[str, tuple[list[str], list[str]]]) -> list[str]:
    """Per dataset: the command line, what the guard left out by itself, the input columns."""
    return [f"- `{ds}`: `{DATASETS[ds].command()}`; left out by the column guard: "
            f"{', '.join(f'`{c}`' for c in guarded) or 'nothing'}; {len(cols)} inputs: "
            f"{', '.join(f'`{c}`' for c in cols)}"
            for ds, (guarded, cols) in inputs.items()]


def markdown(summary: pd.DataFrame, checks: pd.DataFrame, inputs: dict[str, tuple[list[str], list[str]]],
             seeds: list[int], seconds: float) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    given = "\n".join(input_lines(inputs))
    return (f"Measured {when} at commit {commit()}, seeds {','.join(map(str, seeds))}, "
            f"{seconds / 60:.1f} min in all; machine: {machine()}.\n\n"
            f"What each dataset was given (as `credo train` options), what the shipped column guard left out by "
            f"itself, and the input columns Credo's models and the peers saw:\n\n{given}\n\n"
            f"Mean over the seeds. AUC: Credo's shipped 350–950 score, the peers' probability; sd: of that AUC "
            f"over the seeds; AUC proba / AUC raw: Credo's probability and its points total before the clamp; "
            f"at 350 / at 950: share of the test rows at the floor and the cap.\n\n"
            f"{md_table(QUALITY_HEAD, quality_rows(summary))}\n\n"
            f"Targets, paired by seed (ahead: seeds on which Credo's AUC is higher; PASS if mean diff > +1 sd "
            f"diff, TIE if within ±1 sd, FAIL if below −1 sd):\n\n"
            f"{md_table(TARGET_HEAD, target_rows(checks))}\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("CREDO_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    ap.add_argument("--markdown", type=Path, help="also write the tables as a markdown fragment to this file")
    ap.add_argument("--jobs", type=int, default=1,
                    help="(dataset, seed) fits run in this many processes (results do not depend on it)")
    args = ap.parse_args()
    data_dir = Path(args.data_dir)
    names = [d for d in args.datasets.split(",") if d]
    unknown = [d for d in names if d not in DATASETS]
    if unknown:
        ap.error(f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(DATASETS)}")
    missing = [str(data_dir / DATASETS[d].path) for d in names if not (data_dir / DATASETS[d].path).exists()]
    if missing:
        ap.error(f"data file(s) not found: {', '.join(missing)} (use --data-dir or CREDO_DATA_DIR)")
    seeds = [int(s) for s in args.seeds.split(",") if s]

    rows: list[dict] = []
    inputs: dict[str, tuple[list[str], list[str]]] = {}
    t_all = time.perf_counter()
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    cells = [(name, seed) for name in names for seed in seeds]
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("(dataset, seed) fits", total=len(cells))

        def collect(result: tuple[str, list[dict], list[str], list[str]]) -> None:
            name, seed_rows, guarded, cols = result
            inputs[name] = (guarded, cols)
            rows.extend(seed_rows)
            progress.advance(task)

        if args.jobs <= 1:
            for name, seed in cells:
                progress.update(task, description=f"{name} seed {seed}")
                collect(fit_split(name, data_dir, seed))
        else:
            with ProcessPoolExecutor(args.jobs) as pool:
                for future in as_completed([pool.submit(fit_split, n, data_dir, s) for n, s in cells]):
                    collect(future.result())
    seconds = time.perf_counter() - t_all

    res = pd.DataFrame(rows).sort_values(["dataset", "seed"], key=lambda c: c.map(
        {n: i for i, n in enumerate(names)}) if c.name == "dataset" else c, kind="stable")
    inputs = {name: inputs[name] for name in names}
    summary, checks = summarise(res), verdicts(res)
    console.print(rich_table("Model quality, mean over seeds " + ",".join(map(str, seeds)),
                             QUALITY_HEAD, quality_rows(summary)))
    console.print(rich_table("Targets (paired by seed)", TARGET_HEAD, target_rows(checks)))
    counts = checks["verdict"].value_counts()
    console.print(", ".join(f"{counts.get(v, 0)} {v}" for v in ("PASS", "TIE", "FAIL"))
                  + f"; run time {seconds:.0f} s")
    if args.markdown:
        args.markdown.write_text(markdown(summary, checks, inputs, seeds, seconds))
        console.print(f"markdown written to {args.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
