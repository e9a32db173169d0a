"""``credo report``: one self-contained HTML page (figures inlined, no CDN)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from credo.model.metrics import calibration_by_band, gini, ks, psi_bands
from credo.model.metrics import auc as auc_of
from credo.reporting.plots import calibration_png, distribution_png, roc_png


@dataclass
class ModelCard:
    """What a reader needs to judge the model: data, intended use, limits."""

    name: str
    version: str
    data: str
    intended_use: str
    limitations: list[str]
    features: list[str]
    excluded_inputs: list[str] = field(default_factory=list)
    trained_at: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


@dataclass
class ModelResult:
    """One model's output on the validation set (scores are integers 350–950)."""

    name: str
    risk: np.ndarray
    scores: np.ndarray


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, classes="grid", float_format=lambda v: f"{v:.4f}")


_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{margin-bottom:0} .sub{color:#666;margin-top:.2em}
table.grid{border-collapse:collapse;margin:1em 0;font-size:.9em}
table.grid td,table.grid th{border-bottom:1px solid #ddd;padding:.25em .7em;text-align:right}
table.grid th{background:#f4f4f4} .figs img{max-width:49%;vertical-align:top}
"""


def render_report(
    card: ModelCard,
    y_valid: np.ndarray,
    results: list[ModelResult],
    train_scores: np.ndarray,
    points_table: pd.DataFrame,
) -> str:
    """The report: metrics per model, ROC, calibration by band, distribution, PSI, points, card."""
    y = np.asarray(y_valid).astype(int)
    champion = results[0]
    metrics = pd.DataFrame(
        [
            {
                "model": r.name,
                "AUC": auc_of(y, r.risk),
                "Gini": gini(y, r.risk),
                "KS": ks(y, r.risk),
                "PSI vs training (bands)": psi_bands(train_scores, r.scores) if r is champion else np.nan,
            }
            for r in results
        ]
    )
    calibration = calibration_by_band(champion.scores, y)
    figures = "".join(
        [
            _img(roc_png(y, {r.name: r.risk for r in results}), "ROC curves"),
            _img(calibration_png(calibration), "calibration by band"),
            _img(distribution_png({"training": train_scores, "validation": champion.scores}), "score distribution"),
        ]
    )
    limitations = "".join(f"<li>{html.escape(item)}</li>" for item in card.limitations)
    excluded = ", ".join(html.escape(x) for x in card.excluded_inputs) or "none"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(card.name)} — model report</title><style>{_STYLE}</style></head><body>
<h1>{html.escape(card.name)}</h1>
<p class="sub">version {html.escape(card.version)} · trained {html.escape(card.trained_at)} ·
{len(y):,} validation consumers, bad rate {y.mean():.2%}</p>
<h2>Discrimination and stability</h2>{_table(metrics)}
<div class="figs">{figures}</div>
<h2>Calibration and bad rate by band (champion)</h2>{_table(calibration)}
<h2>Points table</h2>{_table(points_table)}
<h2>Model card</h2>
<p><b>Data.</b> {html.escape(card.data)}</p>
<p><b>Intended use.</b> {html.escape(card.intended_use)}</p>
<p><b>Inputs.</b> {html.escape(", ".join(card.features))}</p>
<p><b>Never inputs.</b> {excluded}</p>
<p><b>Limitations.</b></p><ul>{limitations}</ul>
</body></html>
"""
