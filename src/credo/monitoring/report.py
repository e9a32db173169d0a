"""The drift report as one self-contained HTML page (no CDN): levels, PSI per input, migration, outcomes."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, select_autoescape

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Drift: run {{ s.run_id }}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:1000px;margin:2rem auto;padding:0 1rem;color:#1d2430}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:13px}
th,td{border:1px solid #ccd;padding:.2rem .45rem;text-align:right}th{background:#eef}
.alert{color:#fff;background:#a40000}.warning{background:#ffd966}.ok{color:#1a6b1a}
</style></head><body>
<h1>Drift of run {{ s.run_id }}</h1>
<p>As of {{ s.as_of }}, model <code>{{ s.model_version }}</code>, {{ "{:,}".format(s.consumers) }} consumers scored.
Compared with the model's training sample{% if s.previous_run_id %} and with run {{ s.previous_run_id }}
(as of {{ s.previous_as_of }}){% endif %}. Overall: <span class="{{ s.level }}">{{ s.level }}</span>.
PSI: warning at {{ s.limits.warning }}, alert at {{ s.limits.alert }} ({{ s.limits.bins }} bins at the reference's
deciles, missing values a bin of their own).</p>
<p>Flags compare with {{ "the previous run" if s.flagged_against == "previous" else "training" }}: an input flagged
moved since then. The comparison with training also moves as the population ages after training (a call to retrain).</p>
{% if s.flagged %}<p><strong>Flagged inputs:</strong> {{ s.flagged|join(", ") }}.</p>{% else %}<p>No input flagged.</p>{% endif %}
<h2>Score</h2>
<table><tr><th>against</th><th>PSI</th><th>level</th></tr>
{% for k, v in s.score_psi.items() %}{% if v is not none %}<tr><td>{{ k }}</td><td>{{ "%.4f"|format(v) }}</td>
<td class="{{ level(v) }}">{{ level(v) }}</td></tr>{% endif %}{% endfor %}</table>
<h2>Inputs</h2>
<table><tr><th>input</th><th>PSI vs training</th><th>level</th><th>PSI vs previous run</th><th>level</th></tr>
{% for f in s.features %}<tr><td>{{ f.feature }}</td><td>{{ "%.4f"|format(f.psi_training) }}</td>
<td class="{{ f.level_training }}">{{ f.level_training }}</td>
<td>{{ "%.4f"|format(f.psi_previous) if f.psi_previous is not none else "" }}</td>
<td class="{{ f.level_previous or '' }}">{{ f.level_previous or "" }}</td></tr>{% endfor %}</table>
{% if s.migration %}<h2>Band migration (previous band → current band)</h2>
<table><tr><th></th>{% for b in s.migration %}<th>{{ b }}</th>{% endfor %}</tr>
{% for a, row in s.migration.items() %}<tr><th>{{ a }}</th>{% for b, n in row.items() %}<td>{{ n }}</td>{% endfor %}</tr>{% endfor %}
</table>{% endif %}
<h2>Bad rate by band</h2><p>{{ s.outcome_note }}</p>
{% if s.outcomes %}<table><tr><th>band</th><th>n</th><th>bad</th><th>observed</th><th>published</th><th>holds</th></tr>
{% for r in s.outcomes %}<tr><td>{{ r.band }}</td><td>{{ r.n }}</td><td>{{ r.bad }}</td>
<td>{{ "%.4f"|format(r.observed_bad_rate) if r.observed_bad_rate is not none else "" }}</td>
<td>{{ "%.4f"|format(r.expected_bad_rate) }}</td><td>{{ r.holds }}</td></tr>{% endfor %}</table>{% endif %}
</body></html>
"""


def render_html(summary: dict[str, Any]) -> str:
    from credo.policy.governance import psi_level

    env = Environment(autoescape=select_autoescape(default=True))
    return env.from_string(_PAGE).render(s=summary, level=psi_level)


__all__ = ["render_html"]
