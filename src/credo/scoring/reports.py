"""Validation data kept beside a bundle, and the report built from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from credo.policy.protection import FORBIDDEN_CATEGORIES
from credo.reporting import ModelCard, ModelResult, render_report
from credo.scoring.artifacts import ModelBundle
from credo.scoring.training import TrainingRun

VALIDATION_FILE = "validation.parquet"
TRAIN_SCORES_FILE = "train_scores.parquet"


def save_validation(run: TrainingRun, directory: Path) -> None:
    """Keep what the report needs, so ``credo report`` runs from the artifacts alone."""
    frame = run.X_valid.copy()
    frame["__label__"] = run.y_valid.to_numpy()
    frame.reset_index(drop=True).to_parquet(directory / VALIDATION_FILE)
    train_scores = run.bundle.champion.score(run.X_train).to_numpy()
    pd.DataFrame({"score": train_scores}).to_parquet(directory / TRAIN_SCORES_FILE)
    (directory / "description.txt").write_text(run.description + "\n")


def report_html(bundle: ModelBundle, directory: Path, title: str = "Credo score") -> str:
    valid = pd.read_parquet(directory / VALIDATION_FILE)
    y = valid.pop("__label__").to_numpy()
    results = [ModelResult("champion (scorecard)", bundle.champion.predict_proba(valid)[1].to_numpy(),
                           bundle.champion.score(valid).to_numpy())]
    if bundle.challenger is not None:
        results.append(ModelResult("challenger (monotone LightGBM)",
                                   bundle.challenger.predict_proba(valid)[1].to_numpy(),
                                   bundle.challenger.score(valid).to_numpy()))
    train_scores = pd.read_parquet(directory / TRAIN_SCORES_FILE)["score"].to_numpy()
    description = (directory / "description.txt").read_text().strip() if (directory / "description.txt").exists() else ""
    card = ModelCard(
        name=title,
        version=bundle.version,
        data=f"{bundle.manifest.get('source', '')}. {description}",
        intended_use=("A 350-950 score of repayment behaviour for consumers who opted in, used to grant perks "
                      "(deposit-free rentals and the like) and, with consent, credit decisions. Scores are "
                      "explained by at most four principal reasons plus inquiries."),
        limitations=[
            "Trained on the population described above; scores of other populations need revalidation (watch PSI).",
            "Consumers below the minimum scoring criteria receive 'not enough data', never a score.",
            "Bad = 90+ days past due or charge-off within the horizon; other harms are not predicted.",
            "Fairness is audited separately with audit-only attributes that are never model inputs.",
        ],
        features=list(bundle.champion.features_),
        excluded_inputs=[c.name for c in FORBIDDEN_CATEGORIES] + ["merchant category"],
        trained_at=bundle.manifest.get("trained_at", ""),
    )
    return render_report(card, y, results, np.asarray(train_scores), bundle.champion.points_table())
