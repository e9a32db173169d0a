"""Credo's modelling core: the points scorecard (champion), the monotone
LightGBM challenger, the binning adapter and quality metrics.

Both estimators follow scikit-learn conventions, keep the input index on every
pandas output, share the scaling of :mod:`credo.policy.bands` and the reason
codes of :mod:`credo.policy.reasons`, and save to human-readable JSON.
"""

from credo.model._common import NOT_ENOUGH_DATA
from credo.model.binning import FeatureBinning, smoothed_woe
from credo.model.challenger import MonotoneChallenger
from credo.model.metrics import (
    auc, auc_score, calibration_by_band, gini, ks, psi, psi_bands, summary,
)
from credo.model.scorecard import Scorecard

__all__ = [
    "Scorecard", "MonotoneChallenger", "FeatureBinning", "smoothed_woe", "NOT_ENOUGH_DATA",
    "auc", "auc_score", "gini", "ks", "psi", "psi_bands", "calibration_by_band", "summary",
]
