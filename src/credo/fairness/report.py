"""The fairness report: one self-contained HTML page (figures inlined as PNG, no CDN) and its JSON summary.

Figures: approval rate by group across every cut-off (registered perk thresholds and band edges), the
adverse impact ratio against the four-fifths line, the score distribution by group, observed bad rate by
band and group against the published rate, and the true-positive rate by group. Tables: every number the
figures show, the standardised mean differences and the reasons given at the same score.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from jinja2 import Environment, select_autoescape  # noqa: E402
from markupsafe import Markup  # noqa: E402

from credo.fairness.audit import FairnessAudit  # noqa: E402
from credo.policy import governance as rules  # noqa: E402
from credo.policy.bands import BANDS, SCORE_MAX, SCORE_MIN  # noqa: E402

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#1d2430}
table.grid{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:13px}
table.grid th,table.grid td{border:1px solid #ccd;padding:.2rem .45rem;text-align:right}
table.grid th{background:#eef}
.flag{color:#a40000;font-weight:600}.ok{color:#1a6b1a;font-weight:600}
img{max-width:100%;border:1px solid #dde;margin:.3rem 0 1rem}
.note{background:#f6f6fa;border-left:4px solid #88a;padding:.5rem .8rem}
</style></head><body>
<h1>{{ title }}</h1>
<p>Model <code>{{ a.version }}</code> ({{ a.model }}), population: {{ a.population }}, {{ "{:,}".format(a.rows) }} rows with
audit attributes. Cut-offs: {{ a.thresholds|join(", ") }} (registered perk thresholds: {{ a.registered|join(", ") }},
{{ a.registered_from }}; the rest are band edges). A consumer is approved at a cut-off when their score is at least it.</p>
<div class="note"><p>Rules (<code>credo.policy.governance</code>): adverse impact when a group's approval rate is below
{{ rules.AIR_MIN }} of the highest group's (the four-fifths rule); groups under {{ rules.MIN_GROUP_SIZE }} members are
shown but not judged; an equal-opportunity gap (true-positive rate among those who repaid) above
{{ "{:.0%}".format(rules.TPR_GAP_WARNING) }} is flagged. Fisher's exact p-value beside each ratio says how likely a gap
that size is by chance alone.</p></div>
{% for attr in attributes %}
<h2>{{ attr.name }}</h2>
<p>Groups: {% for g, n in attr.groups.items() %}{{ g }} ({{ "{:,}".format(n) }}){{ ", " if not loop.last }}{% endfor %}.
{% if attr.lowest_registered %}Lowest adverse impact ratio at a registered threshold:
<span class="{{ 'flag' if attr.lowest_registered.air < rules.AIR_MIN else 'ok' }}">{{ "%.3f"|format(attr.lowest_registered.air) }}</span>
({{ attr.lowest_registered.group }} at {{ attr.lowest_registered.threshold }}).{% endif %}
{% if attr.lowest_any %}Lowest at any cut-off:
<span class="{{ 'flag' if attr.lowest_any.air < rules.AIR_MIN else 'ok' }}">{{ "%.3f"|format(attr.lowest_any.air) }}</span>
({{ attr.lowest_any.group }} at {{ attr.lowest_any.threshold }}).{% endif %}</p>
<img alt="Approval rate and adverse impact ratio by group for {{ attr.name }}" src="{{ attr.approval_png }}">
<img alt="Score distribution and calibration by group for {{ attr.name }}" src="{{ attr.distribution_png }}">
<h3>Approval and adverse impact at each cut-off</h3>{{ attr.approval_table }}
{% if attr.tpr_table %}<h3>Equal opportunity: true-positive-rate gap</h3>{{ attr.tpr_table }}{% endif %}
<h3>Standardised mean difference of the score</h3>{{ attr.smd_table }}
{% if attr.calibration_table %}<h3>Calibration: observed bad rate per band and group</h3>{{ attr.calibration_table }}{% endif %}
<h3>Principal reasons at the same score (largest gaps between groups)</h3>{{ attr.reasons_table }}
{% endfor %}
</body></html>
"""


def _png(fig: plt.Figure) -> str:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _table(frame: pd.DataFrame) -> Markup:
    return Markup(frame.to_html(index=False, border=0, classes="grid", na_rep="",
                                float_format=lambda v: f"{v:.4f}"))


def approval_png(audit: FairnessAudit, attribute: str) -> str:
    table = audit.approval[audit.approval["attribute"] == attribute]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for group, part in table.groupby("group"):
        style = "-" if bool(part["judged"].iloc[0]) else ":"
        left.plot(part["threshold"], part["approval_rate"], style, marker="o", label=f"{group} (n={part['n'].iloc[0]})")
        right.plot(part["threshold"], part["air"], style, marker="o", label=str(group))
    right.axhline(rules.AIR_MIN, color="#a40000", linestyle="--", linewidth=1, label=f"{rules.AIR_MIN} rule")
    for t in audit.registered:
        for ax in (left, right):
            ax.axvline(t, color="#999", linewidth=0.6)
    left.set(xlabel="cut-off (approved when score >= cut-off)", ylabel="approval rate", ylim=(0, 1.02),
             title="Approval rate by group")
    right.set(xlabel="cut-off", ylabel="adverse impact ratio", ylim=(0, 1.05),
              title="Adverse impact ratio (grey: registered thresholds)")
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    return _png(fig)


def distribution_png(audit: FairnessAudit, attribute: str) -> str:
    frame = audit.frame
    fig, axes = plt.subplots(1, 2 if audit.has_outcomes else 1, figsize=(10 if audit.has_outcomes else 5.5, 3.6))
    axes = np.atleast_1d(axes)
    bins = np.arange(SCORE_MIN, SCORE_MAX + 26, 25)
    for group, part in frame.groupby(attribute):
        axes[0].hist(part["score"], bins=bins, density=True, histtype="step", linewidth=1.5, label=str(group))
    axes[0].set(xlabel="score", ylabel="density", title="Score distribution by group")
    axes[0].legend(fontsize=8)
    if audit.has_outcomes:
        cal = audit.calibration[audit.calibration["attribute"] == attribute]
        names = [b.name for b in BANDS]
        groups = sorted(cal["group"].unique())
        width = 0.8 / max(len(groups), 1)
        for i, group in enumerate(groups):
            part = cal[cal["group"] == group].set_index("band").reindex(names)
            axes[1].bar(np.arange(len(names)) + i * width, part["observed_bad_rate"], width, label=str(group))
        expected = cal.drop_duplicates("band").set_index("band").reindex(names)["expected_bad_rate"]
        axes[1].plot(np.arange(len(names)) + 0.4 - width / 2, expected, "k_", markersize=18, label="published")
        axes[1].set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, fontsize=8)
        axes[1].set(ylabel="observed bad rate", title="Bad rate per band by group")
        axes[1].legend(fontsize=8)
    return _png(fig)


def render_html(audit: FairnessAudit, title: str) -> str:
    attributes = []
    summary = audit.summary()
    for name in audit.attributes:
        entry = summary["attributes"][name]
        approval = audit.approval[audit.approval["attribute"] == name]
        columns = [c for c in ("threshold", "group", "n", "approved", "approval_rate", "air", "fisher_p", "tpr",
                               "judged", "adverse") if c in approval]
        tpr = audit.tpr[audit.tpr["attribute"] == name]
        smd = audit.smd[audit.smd["attribute"] == name][["group", "n", "mean", "sd", "smd", "reference", "judged"]]
        cal = audit.calibration[audit.calibration["attribute"] == name] if audit.has_outcomes else pd.DataFrame()
        reasons = audit.reasons[(audit.reasons["attribute"] == name) & audit.reasons["gap"].notna()]
        top = reasons.drop_duplicates(["score_bin", "reason"]).sort_values("gap", ascending=False).head(10)
        shown = reasons.merge(top[["score_bin", "reason"]], on=["score_bin", "reason"])
        attributes.append({
            "name": name, "groups": entry["groups"], "lowest_registered": entry["lowest_air_registered"],
            "lowest_any": entry["lowest_air_any_cutoff"], "approval_png": approval_png(audit, name),
            "distribution_png": distribution_png(audit, name), "approval_table": _table(approval[columns]),
            "tpr_table": _table(tpr[["threshold", "tpr_gap", "flagged"]]) if len(tpr) else None,
            "smd_table": _table(smd),
            "calibration_table": _table(cal[["band", "group", "n", "bad", "observed_bad_rate", "expected_bad_rate"]])
            if len(cal) else None,
            "reasons_table": _table(shown[["score_bin", "reason", "group", "n", "share", "gap"]]
                                    .sort_values(["gap", "score_bin", "reason"], ascending=[False, True, True])),
        })
    env = Environment(autoescape=select_autoescape(default=True))
    return env.from_string(_PAGE).render(title=title, a=audit, attributes=attributes, rules=rules)


def write_report(audit: FairnessAudit, out_dir: Path, title: str, stem: str = "fairness") -> tuple[Path, Path]:
    """``<stem>.html`` and ``<stem>.json`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html, summary = out_dir / f"{stem}.html", out_dir / f"{stem}.json"
    html.write_text(render_html(audit, title))
    summary.write_text(json.dumps(audit.summary(), indent=2, sort_keys=True) + "\n")
    return html, summary


__all__ = ["approval_png", "distribution_png", "render_html", "write_report"]
