"""The scorecard's points table with the reason each bin gives, in words.

A bin's reason is what a consumer whose value falls in that bin is told: the
codes whose statements are true for the bin's values (the feature's reason
rules, :mod:`credo.policy.reasons`), and only when the bin costs at least
:data:`~credo.policy.reasons.MIN_REASON_POINTS` against the feature's best bin.
A numeric bin is probed at its edges, its middle and on both sides of every
rule threshold inside it, so a bin that straddles a threshold lists both codes.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from credo.model import Scorecard
from credo.model._common import true_codes
from credo.policy.reasons import MIN_REASON_POINTS, ReasonRule, reason


def _numeric_probes(lo: float, hi: float, thresholds: list[float], specials: list[float]) -> list[float]:
    """Values of the bin [lo, hi) on every side of the rule thresholds it holds."""
    probes = []
    if math.isfinite(lo):
        probes += [lo, lo + 1.0]
    if math.isfinite(hi):
        probes += [float(np.nextafter(hi, -math.inf)), hi - 1.0]
    if math.isfinite(lo) and math.isfinite(hi):
        probes.append((lo + hi) / 2.0)
    if not probes:
        probes.append(0.0)
    for t in thresholds:
        probes += [t, float(np.nextafter(t, -math.inf)), float(np.nextafter(t, math.inf))]
    return sorted({v for v in probes if lo <= v < hi and v not in specials})


def _bin_probes(model: Scorecard, feature: str) -> list[pd.Series]:
    """One series of probe values per bin of ``feature``."""
    b = model.binnings_[feature]
    if b.dtype != "numerical":
        regular = [pd.Series(group[:1], dtype=object) for group in b.categories]
        return [*regular, pd.Series([np.nan], dtype=object)]
    thresholds = [float(rule.threshold) for rule in map(ReasonRule.from_list, model.reason_rules_of(feature)["rules"])
                  if rule.threshold is not None]
    edges = [-math.inf, *b.splits, math.inf]
    regular = [pd.Series(_numeric_probes(lo, hi, thresholds, list(b.specials)), dtype=float)
               for lo, hi in zip(edges[:-1], edges[1:])]
    specials = [pd.Series([v], dtype=float) for v in b.specials]
    return [*regular, *specials, pd.Series([np.nan], dtype=float)]


def _codes_of(model: Scorecard, feature: str, values: pd.Series) -> list[str]:
    codes = true_codes(pd.DataFrame({feature: values}), [feature], {feature: model.reason_rules_of(feature)})
    return list(dict.fromkeys(c for c in codes[:, 0] if c is not None))


def points_with_reasons(model: Scorecard) -> pd.DataFrame:
    """One row per bin: feature, bin, points, WoE, training count and bad rate, the points it costs
    against the feature's best bin, and the reason codes and texts a consumer in the bin is given."""
    rows = []
    for f in model.features_:
        b = model.binnings_[f]
        points = model.points_[f]
        best = int(points.max())
        fill = (model.null_values or {}).get(f) if b.dtype == "numerical" else None
        for i, (label, pts, woe, count, rate, probes) in enumerate(zip(
                b.bin_labels(), points, b.woe, b.counts, b.event_rate, _bin_probes(model, f))):
            cost = best - int(pts)
            filled = fill is not None and i == b.missing_bin
            codes = _codes_of(model, f, probes) if cost >= MIN_REASON_POINTS and not filled else []
            if filled:
                text = f"none: a missing value is read as {fill:g} and scored in that value's bin"
            elif cost == 0:
                text = "none: the feature's best bin"
            elif cost < MIN_REASON_POINTS:
                text = f"none: costs fewer than {MIN_REASON_POINTS} points"
            elif not codes:
                text = "none: no reason statement is true for these values"
            else:
                text = " / ".join(reason(c).text for c in codes)
            rows.append({"feature": f, "bin": label, "points": int(pts), "cost": cost, "woe": float(woe),
                         "count": int(round(count)), "bad_rate": float(rate), "reason_codes": ", ".join(codes),
                         "reason": text})
    return pd.DataFrame(rows)


__all__ = ["points_with_reasons"]
