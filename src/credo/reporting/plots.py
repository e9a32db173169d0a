"""The report's figures, rendered to PNG bytes (matplotlib, no screen needed)."""

from __future__ import annotations

import io
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

from credo.policy.bands import BANDS, SCORE_MAX, SCORE_MIN  # noqa: E402


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def roc_png(y: np.ndarray, risks: Mapping[str, np.ndarray]) -> bytes:
    fig, ax = plt.subplots(figsize=(5, 4.2))
    for name, risk in risks.items():
        fpr, tpr, _ = roc_curve(y, risk)
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (bad = positive)")
    ax.legend(loc="lower right")
    return _png(fig)


def calibration_png(table: pd.DataFrame) -> bytes:
    """Observed vs published expected bad rate per band."""
    fig, ax = plt.subplots(figsize=(6, 4.2))
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["observed_bad_rate"], width=0.4, label="observed")
    ax.bar(x + 0.2, table["expected_bad_rate"], width=0.4, label="published expected")
    ax.set_xticks(x, [f"{b}\n{lo}-{hi}" for b, lo, hi in zip(table["band"], table["lower"], table["upper"])])
    ax.set(ylabel="bad rate", title="Calibration and bad rate by band")
    ax.legend()
    return _png(fig)


def distribution_png(scores: Mapping[str, np.ndarray]) -> bytes:
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    bins = np.arange(SCORE_MIN, SCORE_MAX + 11, 10)
    for name, values in scores.items():
        ax.hist(values, bins=bins, alpha=0.5, density=True, label=name)
    for band in BANDS[1:]:
        ax.axvline(band.lower, color="grey", linewidth=0.8, linestyle="--")
    ax.set(xlabel="score", ylabel="share per point", title="Score distribution (dashed: band edges)")
    ax.legend()
    return _png(fig)
