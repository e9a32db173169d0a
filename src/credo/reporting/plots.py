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


def roc_png(y: np.ndarray, scores: Mapping[str, np.ndarray]) -> bytes:
    """ROC of each model's shipped score (higher score = safer, so bad = positive on ``-score``)."""
    fig, ax = plt.subplots(figsize=(5, 4.2))
    for name, score in scores.items():
        fpr, tpr, _ = roc_curve(y, -np.asarray(score, dtype=float))
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC of the 350-950 score (bad = positive)")
    ax.legend(loc="lower right")
    return _png(fig)


def calibration_png(tables: Mapping[str, pd.DataFrame]) -> bytes:
    """Per model: observed bad rate per band against the published expected rate and its 95 % interval."""
    fig, axes = plt.subplots(1, len(tables), figsize=(5.2 * len(tables), 4.2), squeeze=False)
    for ax, (name, table) in zip(axes[0], tables.items()):
        x = np.arange(len(table))
        expected = table["expected_bad_rate"].to_numpy()
        judged = table["n"].to_numpy() > 0  # an empty band's interval is 0..1: nothing to draw
        below = np.where(judged, np.clip(expected - table["interval_low"].to_numpy(), 0, None), 0)
        above = np.where(judged, np.clip(table["interval_high"].to_numpy() - expected, 0, None), 0)
        ax.bar(x - 0.2, table["observed_bad_rate"], width=0.4, label="observed")
        ax.bar(x + 0.2, expected, width=0.4, label="published expected", yerr=[below, above], capsize=3,
               error_kw={"elinewidth": 1})
        ax.set_xticks(x, [f"{b}\n{lo}-{hi}" for b, lo, hi in zip(table["band"], table["lower"], table["upper"])])
        ax.set(ylabel="bad rate (whiskers: 95 % interval)", title=f"{name}: bad rate by band")
        ax.legend()
    return _png(fig)


def distribution_png(panels: Mapping[str, Mapping[str, np.ndarray]]) -> bytes:
    """One panel per model, each overlaying its score distributions (training, validation)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2), squeeze=False, sharey=True)
    bins = np.arange(SCORE_MIN, SCORE_MAX + 11, 10)
    for ax, (title, scores) in zip(axes[0], panels.items()):
        for name, values in scores.items():
            ax.hist(values, bins=bins, alpha=0.5, density=True, label=name)
        for band in BANDS[1:]:
            ax.axvline(band.lower, color="grey", linewidth=0.8, linestyle="--")
        ax.set(xlabel="score (dashed: band edges)", ylabel="share per point", title=title)
        ax.legend()
    return _png(fig)
