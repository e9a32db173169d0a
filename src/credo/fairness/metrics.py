"""Fairness metrics of a score at its decision cut-offs, by group (research §4.1).

Conventions: ``scores`` are shipped scores (350–950, higher is better); a consumer is *approved* at a
threshold T when ``score >= T`` (the perk rule); ``bad`` is the outcome (1 = bad), so the people who
*repaid* are ``bad == 0``. Per attribute, groups with fewer than
:data:`~credo.policy.governance.MIN_GROUP_SIZE` members, and the ``unknown`` value of a codebook (a
missing or undocumented code, not a group), are reported and never judged.

* **Approval rate and adverse impact ratio** (fairlearn ``MetricFrame`` with ``selection_rate``): a
  group's approval rate over the highest approval rate among the judged groups, with the p-value of
  Fisher's exact test of the group against that reference group.
* **Equal opportunity**: the true-positive rate (approved among those who repaid; fairlearn
  ``true_positive_rate`` with "repaid" as the positive class) by group, and the gap (highest minus
  lowest among judged groups).
* **Calibration by group**: observed bad rate per band and group beside the band's published rate.
* **Standardised mean difference** of the score: each group's mean minus the reference group's (the
  judged group with the highest mean), over the pooled standard deviation.
* **Reasons at the same score**: inside score bins :data:`~credo.policy.governance.SAME_SCORE_BIN`
  wide, the share of each group given each principal reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count, selection_rate, true_positive_rate  # type: ignore[import-untyped]
from scipy.stats import fisher_exact

from credo.policy.bands import BANDS, band_index
from credo.fairness.codebooks import UNKNOWN
from credo.policy.governance import AIR_MIN, MIN_GROUP_SIZE, SAME_SCORE_BIN, TPR_GAP_WARNING


def _groups(groups: pd.Series) -> np.ndarray:
    return groups.astype(str).to_numpy()


def judged(group: str, n: int) -> bool:
    """A group is judged when it has at least ``MIN_GROUP_SIZE`` members and is a group at all."""
    return n >= MIN_GROUP_SIZE and group != UNKNOWN


def approval_at(scores: np.ndarray, groups: pd.Series, threshold: int, bad: np.ndarray | None = None) -> pd.DataFrame:
    """One threshold: per group ``n, approved, approval_rate, air, judged, reference, fisher_p`` and, with
    outcomes, ``repaid, tpr``. AIR is NaN for groups not judged (too small)."""
    approved = (np.asarray(scores) >= threshold).astype(int)
    labels = _groups(groups)
    metrics = {"n": count, "approval_rate": selection_rate}
    repaid = None if bad is None else (1 - np.asarray(bad, dtype=int))
    if repaid is not None:
        metrics["tpr"] = true_positive_rate
    frame = MetricFrame(metrics=metrics, y_true=repaid if repaid is not None else approved, y_pred=approved,
                        sensitive_features=pd.Series(labels, name="group"))
    table = frame.by_group.reset_index()
    table["n"] = table["n"].astype(int)
    table["approved"] = [int(approved[labels == g].sum()) for g in table["group"]]
    if repaid is not None:
        table["repaid"] = [int(repaid[labels == g].sum()) for g in table["group"]]
        table["tpr"] = table["tpr"].where(table["repaid"] > 0)
    table["judged"] = [judged(g, n) for g, n in zip(table["group"], table["n"])]
    table["reference"] = False
    table["air"] = np.nan
    table["fisher_p"] = np.nan
    in_play = table[table["judged"]]
    if len(in_play) and in_play["approval_rate"].max() > 0:
        ref = in_play["approval_rate"].idxmax()
        table.loc[ref, "reference"] = True
        best = table.loc[ref]
        table.loc[table["judged"], "air"] = table.loc[table["judged"], "approval_rate"] / best["approval_rate"]
        for i in table.index[table["judged"]]:
            row = table.loc[i]
            _, p = fisher_exact([[row["approved"], row["n"] - row["approved"]],
                                 [best["approved"], best["n"] - best["approved"]]])
            table.loc[i, "fisher_p"] = float(p)
    table.insert(0, "threshold", int(threshold))
    return table


def adverse_impact(scores: np.ndarray, audit: pd.DataFrame, thresholds: Sequence[int],
                   bad: np.ndarray | None = None) -> pd.DataFrame:
    """Every attribute (a column of ``audit``, aligned with ``scores``) × threshold × group:
    :func:`approval_at` rows with the attribute named, and ``adverse`` where a judged group's AIR is
    below :data:`~credo.policy.governance.AIR_MIN`."""
    parts = []
    for attribute in audit.columns:
        known = audit[attribute].notna().to_numpy()
        for t in thresholds:
            table = approval_at(np.asarray(scores)[known], audit[attribute][known], t,
                                None if bad is None else np.asarray(bad)[known])
            table.insert(0, "attribute", attribute)
            parts.append(table)
    if not parts:
        return pd.DataFrame(columns=["attribute", "threshold", "group", "n", "approved", "approval_rate", "air",
                                     "judged", "reference", "fisher_p", "adverse"])
    out = pd.concat(parts, ignore_index=True)
    out["adverse"] = out["judged"] & (out["air"] < AIR_MIN)
    return out


def tpr_gaps(table: pd.DataFrame) -> pd.DataFrame:
    """Per attribute and threshold: the equal-opportunity gap among judged groups (highest minus lowest
    true-positive rate) and whether it exceeds :data:`~credo.policy.governance.TPR_GAP_WARNING`."""
    if "tpr" not in table:
        return pd.DataFrame(columns=["attribute", "threshold", "tpr_gap", "flagged"])
    rows = table[table["judged"] & table["tpr"].notna()]
    gaps = rows.groupby(["attribute", "threshold"])["tpr"].agg(lambda v: float(v.max() - v.min()))
    out = gaps.rename("tpr_gap").reset_index()
    out["flagged"] = out["tpr_gap"] > TPR_GAP_WARNING
    return out


def calibration_by_group(scores: np.ndarray, bad: np.ndarray, groups: pd.Series,
                         published: list[dict] | None = None) -> pd.DataFrame:
    """Per band and group: ``n``, ``bad``, observed bad rate and the band's published expected rate."""
    s = np.asarray(scores)
    y = np.asarray(bad, dtype=float)
    labels = _groups(groups)
    index = band_index(s)
    expected = {row["band"]: row["expected_bad_rate"] for row in (published or [])}
    rows = []
    for i, band in enumerate(BANDS):
        for g in sorted(set(labels)):
            m = (index == i) & (labels == g)
            n = int(m.sum())
            rows.append({"band": band.name, "group": g, "n": n, "bad": int(y[m].sum()),
                         "observed_bad_rate": float(y[m].mean()) if n else np.nan,
                         "expected_bad_rate": expected.get(band.name, np.nan), "judged": judged(g, n)})
    return pd.DataFrame(rows)


def standardised_mean_difference(scores: np.ndarray, groups: pd.Series) -> pd.DataFrame:
    """Per group: ``n``, mean score and SMD against the judged group with the highest mean
    (``(mean_g - mean_ref) / pooled sd``; negative = lower scores)."""
    s = np.asarray(scores, dtype=float)
    labels = _groups(groups)
    rows = [{"group": g, "n": int((labels == g).sum()), "mean": float(s[labels == g].mean()),
             "sd": float(s[labels == g].std(ddof=1)) if (labels == g).sum() > 1 else np.nan}
            for g in sorted(set(labels))]
    table = pd.DataFrame(rows)
    table["judged"] = [judged(g, n) for g, n in zip(table["group"], table["n"])]
    table["smd"] = np.nan
    in_play = table[table["judged"]]
    if len(in_play):
        ref = table.loc[in_play["mean"].idxmax()]
        for i in table.index:
            row = table.loc[i]
            pooled = np.sqrt(((row["n"] - 1) * row["sd"] ** 2 + (ref["n"] - 1) * ref["sd"] ** 2)
                             / max(row["n"] + ref["n"] - 2, 1))
            table.loc[i, "smd"] = (row["mean"] - ref["mean"]) / pooled if pooled > 0 else 0.0
        table["reference"] = table["group"] == ref["group"]
    else:
        table["reference"] = False
    return table


def reasons_at_same_score(scores: np.ndarray, reasons: Sequence[Sequence[str]], groups: pd.Series) -> pd.DataFrame:
    """Inside each score bin, per reason code and group: the share of the group's members in the bin given
    that reason, and the gap between the highest and lowest share of the judged groups (``gap``)."""
    s = np.asarray(scores, dtype=int)
    labels = _groups(groups)
    bins = (s // SAME_SCORE_BIN) * SAME_SCORE_BIN
    people = pd.DataFrame({"bin": bins, "group": labels})
    sizes = people.groupby(["bin", "group"]).size()
    given = pd.DataFrame([(bins[i], labels[i], code) for i in range(len(s)) for code in dict.fromkeys(reasons[i])],
                         columns=["bin", "group", "reason"])
    counts = given.groupby(["bin", "reason", "group"]).size()
    rows = []
    for lower, code in sorted({(b, c) for b, c, _ in counts.index}):
        for g, n in sizes.loc[lower].items():
            k = int(counts.get((lower, code, g), 0))
            rows.append({"score_bin": f"{lower}-{lower + SAME_SCORE_BIN - 1}", "reason": code, "group": g, "n": int(n),
                         "share": k / n, "judged": judged(g, int(n))})
    table = pd.DataFrame(rows, columns=["score_bin", "reason", "group", "n", "share", "judged"])
    if len(table):
        gap = table[table["judged"]].groupby(["score_bin", "reason"])["share"].agg(lambda v: float(v.max() - v.min()) if len(v) > 1
                                                                    else np.nan)
        table = table.merge(gap.rename("gap").reset_index(), on=["score_bin", "reason"], how="left")
    else:
        table["gap"] = []
    return table


__all__ = ["adverse_impact", "approval_at", "calibration_by_group", "judged", "reasons_at_same_score",
           "standardised_mean_difference", "tpr_gaps"]
