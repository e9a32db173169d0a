"""Scoring service: train the models, keep their artifacts, score populations."""

from credo.scoring.artifacts import ModelBundle
from credo.scoring.batch import score_frame, score_population
from credo.scoring.training import TrainingRun, score_table, train_from_labels, train_from_store, train_from_table

__all__ = [
    "ModelBundle", "TrainingRun", "score_frame", "score_population", "score_table",
    "train_from_labels", "train_from_store", "train_from_table",
]
