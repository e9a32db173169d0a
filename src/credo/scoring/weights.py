"""The factor-group weights Credo shows: computed from the serving model, never declared.

* Scorecard: a group's weight is its share of the model's **point range**
  (the sum over its features of best-bin minus worst-bin points), so the
  weights say how many of the score's points each group can move.
* Challenger (trees): a group's share of the **mean absolute contribution**
  in score points over the training rows (exact TreeSHAP attributions).

Weights are percentages rounded to one decimal; they are stored in the bundle
manifest with their basis and every layer reads them from there.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from credo.model import MonotoneChallenger, Scorecard
from credo.policy.reasons import FACTOR_GROUPS

POINT_RANGE = "share of the model's point range (best minus worst bin points, summed over the group's features)"
MEAN_CONTRIBUTION = "share of the mean absolute contribution in score points over the training rows"


def feature_magnitudes(model: Scorecard | MonotoneChallenger, X: pd.DataFrame | None = None) -> dict[str, float]:
    """Each feature's magnitude in score points (point range, or mean absolute contribution)."""
    if isinstance(model, Scorecard):
        return {f: float(v) for f, v in model.point_ranges().items()}
    if X is None:
        raise ValueError("a challenger's weights need the training rows")
    sample = X.sample(min(len(X), 20_000), random_state=0) if len(X) > 20_000 else X
    return {f: float(v) for f, v in model.explain(sample).abs().mean().items()}


def weights_record(model: Scorecard | MonotoneChallenger, groups: Mapping[str, str] | None,
                   X: pd.DataFrame | None = None) -> dict:
    """``{"basis", "groups": {group: pct}, "features": {feature: pct}}``; groups only when the
    features belong to Credo's factor groups."""
    mags = feature_magnitudes(model, X)
    total = sum(mags.values())
    share = {f: (100.0 * m / total if total > 0 else 0.0) for f, m in mags.items()}
    out: dict = {"basis": POINT_RANGE if isinstance(model, Scorecard) else MEAN_CONTRIBUTION,
                 "features": {f: round(v, 1) for f, v in share.items()}}
    if groups:
        out["groups"] = {g.code: round(float(np.sum([share[f] for f in share if groups.get(f) == g.code])), 1)
                         for g in FACTOR_GROUPS}
    return out


__all__ = ["POINT_RANGE", "MEAN_CONTRIBUTION", "feature_magnitudes", "weights_record"]
