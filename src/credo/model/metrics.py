"""Model-quality and monitoring metrics: AUC, Gini, KS, PSI, calibration by band.

Conventions: ``y = 1`` is bad. ``risk`` arguments are "higher = riskier"
(probability of bad, log-odds); pass ``-score`` for credit scores, or use the
``*_score`` helpers that take credit scores directly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from credo.policy import bands


def auc(y, risk) -> float:
    return float(roc_auc_score(np.asarray(y), np.asarray(risk, dtype=float)))


def gini(y, risk) -> float:
    return 2.0 * auc(y, risk) - 1.0


def ks(y, risk) -> float:
    """Kolmogorov-Smirnov statistic: max |TPR - FPR| over thresholds."""
    fpr, tpr, _ = roc_curve(np.asarray(y), np.asarray(risk, dtype=float))
    return float(np.max(np.abs(tpr - fpr)))


def auc_score(y, scores) -> float:
    """AUC of credit scores (higher score = safer)."""
    return auc(y, -np.asarray(scores, dtype=float))


def psi(expected, actual, bins: int | np.ndarray = 10, eps: float = 1e-4) -> float:
    """Population stability index of ``actual`` against ``expected``.

    ``bins``: an int (quantile edges of ``expected``) or explicit edges.
    NaN forms its own bucket. Empty buckets are floored at ``eps``.
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if np.isscalar(bins) or np.ndim(bins) == 0:
        fin = e[~np.isnan(e)]
        edges = np.unique(np.quantile(fin, np.linspace(0, 1, int(bins) + 1)[1:-1])) if fin.size else np.array([])
    else:
        edges = np.asarray(bins, dtype=float)

    def dist(v):
        idx = np.searchsorted(edges, v, side="right")
        idx = np.where(np.isnan(v), len(edges) + 1, idx)
        c = np.bincount(idx, minlength=len(edges) + 2).astype(float)
        return c / max(c.sum(), 1.0)

    pe, pa = np.maximum(dist(e), eps), np.maximum(dist(a), eps)
    return float(np.sum((pa - pe) * np.log(pa / pe)))


def psi_bands(expected_scores, actual_scores, eps: float = 1e-4) -> float:
    """PSI over the published score bands."""
    edges = np.array([b.lower for b in bands.BANDS[1:]], dtype=float)
    return psi(expected_scores, actual_scores, bins=edges, eps=eps)


def calibration_by_band(scores, y, published: list[dict] | None = None) -> pd.DataFrame:
    """Observed vs published expected bad rate per band, with the 95 % binomial interval of the
    observed rate around the published one and whether it holds.

    ``published``: the model's band table (:func:`credo.policy.bands.band_table`); without it the
    bands of :data:`credo.policy.bands.DEFAULT_SCALING` are used.
    """
    s = np.asarray(scores)
    yy = np.asarray(y).astype(float)
    bi = bands.band_index(s)
    table = published or bands.band_table(bands.DEFAULT_SCALING)
    rows = []
    for i, b in enumerate(bands.BANDS):
        m = bi == i
        n = int(m.sum())
        expected = float(table[i]["expected_bad_rate"])
        low, high = bands.expected_bad_rate_interval(expected, n)
        observed = float(yy[m].mean()) if n else float("nan")
        rows.append({
            "band": b.name, "lower": b.lower, "upper": b.upper, "n": n,
            "share": n / max(len(s), 1), "bad": int(yy[m].sum()),
            "observed_bad_rate": observed, "expected_bad_rate": expected,
            "interval_low": low, "interval_high": high,
            "holds": bool(n == 0 or low <= observed <= high),
            "miss": 0.0 if n == 0 or low <= observed <= high else observed - (high if observed > high else low),
        })
    return pd.DataFrame(rows)


def summary(y, risk) -> dict:
    return {"auc": auc(y, risk), "gini": gini(y, risk), "ks": ks(y, risk)}


__all__ = ["auc", "gini", "ks", "auc_score", "psi", "psi_bands", "calibration_by_band", "summary"]
