"""``credo report``: one self-contained HTML page (figures inlined as PNG data, no CDN).

The page leads with what ships, the 350–950 score: its AUC, Gini and KS beside
the model probability's, the raw points total's AUC, the shares clamped at 350
and 950 and the score's PSI, for every model. Then calibration by band against
each model's published expected bad rates, the points table with the reason
each bin gives, and the model card (:mod:`credo.reporting.card`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import numpy as np
import pandas as pd
from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from credo.reporting.calibration import band_verdicts
from credo.reporting.card import MODEL_LABELS, ModelCard
from credo.reporting.plots import calibration_png, distribution_png, roc_png


@dataclass
class ModelScores:
    """One model's shipped scores (integers 350–950) on the training and the validation rows."""

    training: np.ndarray
    validation: np.ndarray


@dataclass
class ModelResult:
    """What the page shows of one model: its validation record and calibration verdicts."""

    key: str
    label: str
    metrics: dict
    calibration: pd.DataFrame
    verdicts: list[str]

    @property
    def holds(self) -> bool:
        """Every band's observed bad rate lies within its published interval."""
        return bool(self.calibration["holds"].all())


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _table(frame: pd.DataFrame, table_id: str) -> Markup:
    """A data frame as an HTML table (cells escaped by pandas)."""
    return Markup(frame.to_html(index=False, border=0, classes="grid", table_id=table_id,
                                float_format=lambda v: f"{v:.4f}", na_rep=""))


def _pct(value: float, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f} %"


def _calibration_view(table: pd.DataFrame) -> pd.DataFrame:
    """The calibration table as a reader wants it: rates in percent, the interval as one cell."""
    return pd.DataFrame({
        "band": table["band"], "scores": [f"{lo}–{hi}" for lo, hi in zip(table["lower"], table["upper"])],
        "validation rows": table["n"], "share": table["share"].map(_pct),
        "observed bad rate": [_pct(v, 2) if n else "" for v, n in zip(table["observed_bad_rate"], table["n"])],
        "published expected": table["expected_bad_rate"].map(lambda v: _pct(v, 2)),
        "95 % interval": [f"{_pct(lo, 2)} – {_pct(hi, 2)}" if n else "" for lo, hi, n
                          in zip(table["interval_low"], table["interval_high"], table["n"])],
        "holds": ["yes" if h else "NO" for h in table["holds"]],
        "miss (percentage points)": [f"{100 * m:+.1f}" if m else "" for m in table["miss"]],
    })


@lru_cache(maxsize=1)
def _template():  # noqa: ANN202
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters.update(pct=_pct, f4=lambda v: f"{v:.4f}", f1=lambda v: f"{v:.1f}")
    return env.from_string(files("credo.reporting").joinpath("report.html").read_text(encoding="utf-8"))


def render_report(
    card: ModelCard,
    validation: dict,
    y_valid: np.ndarray,
    scores: dict[str, ModelScores],
    points: pd.DataFrame,
) -> str:
    """The report page.

    ``validation``: the bundle's ``manifest["validation"]`` (metrics of the
    probability and of the shipped score, raw total AUC, shares at 350/950,
    score PSI and calibration per band, per model); ``scores``: each model's
    shipped scores, for the ROC and distribution figures; ``points``: the
    champion's points table with reasons (:func:`credo.reporting.points.points_with_reasons`).
    """
    y = np.asarray(y_valid).astype(int)
    results = []
    for key in scores:
        metrics = validation[key]
        results.append(ModelResult(key, MODEL_LABELS.get(key, key), metrics, pd.DataFrame(metrics["bands"]),
                                   band_verdicts(metrics["bands"])))
    figures = [
        (_data_uri(roc_png(y, {MODEL_LABELS.get(k, k): s.validation for k, s in scores.items()})), "ROC curves"),
        (_data_uri(distribution_png({MODEL_LABELS.get(k, k): {"training": s.training, "validation": s.validation}
                                     for k, s in scores.items()})), "score distribution, training and validation"),
        (_data_uri(calibration_png({r.label: r.calibration for r in results})), "calibration by band"),
    ]
    return _template().render(
        card=card, rows=len(y), bad_rate=float(y.mean()) if len(y) else float("nan"), results=results,
        figures=figures, points=_table(points, "points"),
        calibration={r.key: _table(_calibration_view(r.calibration), f"calibration-{r.key}") for r in results},
    )


__all__ = ["ModelResult", "ModelScores", "render_report"]
