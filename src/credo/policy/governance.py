"""The rules a model must meet to serve, and the limits fairness audits and drift monitoring use.

This module is the single source of truth for every number the publication gate
(:mod:`credo.governance.gate`), the fairness audit (:mod:`credo.fairness`) and drift
monitoring (:mod:`credo.monitoring`) judge by. Each gate rule has a stable id, recorded with
every publish or refusal in the operator log, and one sentence saying what it demands.

Choices the issue left open, decided here:

* **Adverse impact** is the four-fifths rule of 29 CFR 1607.4(D) borrowed as a screen: a group's
  approval rate at a threshold divided by the highest group's rate (fairlearn's
  ``demographic_parity_ratio`` of one attribute). Groups smaller than :data:`MIN_GROUP_SIZE` in the
  audit data are reported but never judged (a ratio of a handful of people is noise); the p-value of
  Fisher's exact test is reported beside each ratio.
* **Which thresholds**: the thresholds of the registered perk programmes; with none registered, the
  whole ladder a partner could register on (:data:`credo.credentials.THRESHOLD_LADDER`).
* **No audit data** for the evaluation population means the fairness rule has nothing to test: it
  passes and says so, so the operator sees the audit did not happen.
* **AUC margin**: the candidate's shipped-score AUC, out of time, on the candidate's own validation
  rows, may fall below the serving model's on the same rows by at most :data:`AUC_MARGIN`.
* **Score stability**: the PSI of the candidate's scores against the serving model's on the same rows
  (ten bins at the serving scores' deciles) at most :data:`SCORE_PSI_LIMIT`, else an explicit
  rescaling decision recorded by the operator.
* **Proxy inputs**: an input is a proxy when, alone, it separates a group of a
  :data:`PROXY_SCREENED` attribute from the rest with an AUC of at least :data:`PROXY_AUC_LIMIT` (either
  direction); or when its name is a protected trait or geography (:mod:`credo.policy.columns`) or an
  audit attribute's. Age and education are audited for adverse impact but not screened for proxies: Reg B
  lets an empirically derived system consider age (12 CFR 1002.6(b)(2)), and the length of a credit
  history, a legitimate factor, is bound to the holder's age (on Taiwan's data the total credit limit alone
  separates the under-25s with an AUC of 0.80); education is not a prohibited basis.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------- fairness

#: The four-fifths rule: an adverse impact ratio below this is adverse impact.
AIR_MIN: float = 0.8
#: Groups with fewer members than this in the audit data are reported, never judged.
MIN_GROUP_SIZE: int = 50
#: Equal opportunity: a true-positive-rate gap (among those who repaid) above this is flagged.
TPR_GAP_WARNING: float = 0.05
#: An input separating an audit group with at least this AUC, alone, is a proxy for it.
PROXY_AUC_LIMIT: float = 0.75
#: The audit attributes whose proxies are refused: prohibited bases of ECOA / Reg B (12 CFR 1002.2(z)) the
#: audit store holds (sex, marital status, national origin as foreign-worker status) and the simulator's
#: synthetic group, which stands for one.
PROXY_SCREENED: frozenset[str] = frozenset({"sex", "marriage", "personal_status", "foreign_worker", "group"})
#: Width of the score bins inside which principal reasons are compared across groups.
SAME_SCORE_BIN: int = 50

# ---------------------------------------------------------------- the gate

#: The candidate's out-of-time AUC may fall below the serving model's by at most this.
AUC_MARGIN: float = 0.01
#: PSI of the candidate's scores against the serving model's, on the same rows, at most this.
SCORE_PSI_LIMIT: float = 0.10
#: Rows of the evaluation sample the reason checks score (faithfulness moves every feature of each).
REASON_CHECK_ROWS: int = 500
#: Rows of the evaluation sample the monotonicity sweep moves (each feature over its value grid).
MONOTONE_CHECK_ROWS: int = 200
#: Points of rounding a faithfulness or cost comparison tolerates (scores are integers).
POINT_TOLERANCE: int = 1

# ---------------------------------------------------------------- the registry

#: Rows of the training and of the validation sample kept with each candidate (seeded sample).
EVALUATION_SAMPLE_ROWS: int = 20_000

# ---------------------------------------------------------------- drift monitoring

#: PSI at or above this is a warning (the population has moved; look).
PSI_WARNING: float = 0.10
#: PSI at or above this is an alert (the population has moved materially; act).
PSI_ALERT: float = 0.25
#: Quantile bins of the reference distribution a PSI is computed over.
PSI_BINS: int = 10


@dataclass(frozen=True)
class GateRule:
    """One condition of the publication gate."""

    id: str
    text: str


MONOTONE = GateRule("monotone", "Every input moves the score in its declared direction only.")
REASONS = GateRule("reasons-faithful-and-true", (
    "Every principal reason is true for the consumer, none is given at the top of the range, and the top "
    "reason's input, moved alone to its best value, raises the score at least as much as moving any other "
    "input whose statement is true."))
INPUTS = GateRule("no-forbidden-audit-or-proxy-input", (
    "No input is a forbidden category, a protected trait or geography by name, an audit-only attribute, "
    f"or a proxy of a group of a prohibited basis (single-input AUC >= {PROXY_AUC_LIMIT})."))
AUC = GateRule("auc-not-below-serving", (
    f"The shipped score's out-of-time AUC is at most {AUC_MARGIN} below the serving model's on the same rows."))
ADVERSE_IMPACT = GateRule("adverse-impact-ratio", (
    f"At every registered perk threshold, every audit group of at least {MIN_GROUP_SIZE} has an adverse impact "
    f"ratio of at least {AIR_MIN}, or the operator recorded a written justification."))
SCORE_STABILITY = GateRule("score-stability", (
    f"The PSI of the candidate's scores against the serving model's on the same rows is at most "
    f"{SCORE_PSI_LIMIT}, or the operator recorded a rescaling decision."))

GATE_RULES: tuple[GateRule, ...] = (MONOTONE, REASONS, INPUTS, AUC, ADVERSE_IMPACT, SCORE_STABILITY)
GATE_RULES_BY_ID: dict[str, GateRule] = {r.id: r for r in GATE_RULES}


def psi_level(value: float) -> str:
    """``ok``, ``warning`` or ``alert`` for a PSI value."""
    if value >= PSI_ALERT:
        return "alert"
    if value >= PSI_WARNING:
        return "warning"
    return "ok"


__all__ = [
    "ADVERSE_IMPACT", "AIR_MIN", "AUC", "AUC_MARGIN", "EVALUATION_SAMPLE_ROWS", "GATE_RULES", "GATE_RULES_BY_ID",
    "GateRule", "INPUTS", "MIN_GROUP_SIZE", "MONOTONE", "MONOTONE_CHECK_ROWS", "POINT_TOLERANCE", "PROXY_AUC_LIMIT",
    "PROXY_SCREENED", "PSI_ALERT", "PSI_BINS", "PSI_WARNING", "REASONS", "REASON_CHECK_ROWS", "SAME_SCORE_BIN", "SCORE_PSI_LIMIT",
    "SCORE_STABILITY", "TPR_GAP_WARNING", "psi_level",
]
