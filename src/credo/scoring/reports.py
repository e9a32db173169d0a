"""Validation data kept beside a bundle, and the report built from it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from credo.model import MonotoneChallenger, Scorecard
from credo.reporting import ModelScores, build_card, points_with_reasons, render_report
from credo.scoring.artifacts import ModelBundle
from credo.scoring.training import TrainingRun

VALIDATION_FILE = "validation.parquet"
#: Each model's shipped scores on the training rows, one column per model.
TRAIN_SCORES_FILE = "train_scores.parquet"
DESCRIPTION_FILE = "description.txt"


def _models(bundle: ModelBundle) -> dict[str, Scorecard | MonotoneChallenger]:
    """The bundle's models by name (the challenger only when it was trained)."""
    return {k: m for k, m in (("champion", bundle.champion), ("challenger", bundle.challenger)) if m is not None}


def save_validation(run: TrainingRun, directory: Path) -> None:
    """Keep what the report needs, so ``credo report`` runs from the artifacts alone: the validation
    rows with their labels, every model's training scores and the run's description."""
    frame = run.X_valid.copy()
    frame["__label__"] = run.y_valid.to_numpy()
    frame.reset_index(drop=True).to_parquet(directory / VALIDATION_FILE)
    pd.DataFrame({name: model.score(run.X_train).to_numpy() for name, model in _models(run.bundle).items()}) \
        .to_parquet(directory / TRAIN_SCORES_FILE)
    (directory / DESCRIPTION_FILE).write_text(run.description + "\n")


def report_html(bundle: ModelBundle, directory: Path, title: str = "Credo score") -> str:
    """The report of the bundle in ``directory`` (saved with :func:`save_validation`)."""
    if "validation" not in bundle.manifest or "published" not in bundle.manifest:
        raise ValueError(f"model {bundle.version} records no published scaling or validation; "
                         "retrain it with `credo train` to report on it")
    valid = pd.read_parquet(directory / VALIDATION_FILE)
    y = valid.pop("__label__").to_numpy()
    train_scores = pd.read_parquet(directory / TRAIN_SCORES_FILE)
    scores = {name: ModelScores(train_scores[name].to_numpy(), model.score(valid).to_numpy())
              for name, model in _models(bundle).items()}
    path = directory / DESCRIPTION_FILE
    card = build_card(bundle.manifest, name=title, description=path.read_text().strip() if path.exists() else "")
    return render_report(card, bundle.manifest["validation"], y, scores, points_with_reasons(bundle.champion))
