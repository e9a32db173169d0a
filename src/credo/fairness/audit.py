"""A fairness audit of one model on one population: every metric of :mod:`credo.fairness.metrics`, per
audit attribute, at every registered perk threshold and every band edge.

The population is a set of rows with features (and, where known, outcomes): the model's registered
out-of-time validation rows (default), its training rows, or the store's consumers now (no outcomes:
approval rates, adverse impact, mean differences and reasons only). Its audit attributes come from the
audit store, read by the caller (the read is logged there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from credo.fairness.metrics import (
    adverse_impact,
    calibration_by_group,
    judged,
    reasons_at_same_score,
    standardised_mean_difference,
    tpr_gaps,
)
from credo.model import MonotoneChallenger, Scorecard
from credo.policy import governance as rules
from credo.policy.bands import BANDS

#: The band edges a cut-off is checked at (every band's lower bound but the floor's).
BAND_EDGES: tuple[int, ...] = tuple(b.lower for b in BANDS[1:])


@dataclass
class FairnessAudit:
    version: str
    model: str
    population: str
    rows: int
    thresholds: list[int]
    registered: list[int]
    registered_from: str
    frame: pd.DataFrame  # the audited rows: score, bad (if known), and each attribute
    attributes: list[str]
    approval: pd.DataFrame
    tpr: pd.DataFrame
    calibration: pd.DataFrame
    smd: pd.DataFrame
    reasons: pd.DataFrame

    @property
    def has_outcomes(self) -> bool:
        return "bad" in self.frame

    def adverse(self, registered_only: bool = True) -> pd.DataFrame:
        table = self.approval[self.approval["adverse"]]
        return table[table["threshold"].isin(self.registered)] if registered_only else table

    def summary(self) -> dict[str, Any]:
        """The JSON summary: per attribute, its groups, the lowest adverse impact ratio at the registered
        thresholds and at any cut-off, every flag, the TPR gaps, SMDs and the largest reason gaps."""
        out: dict[str, Any] = {
            "model_version": self.version, "model": self.model, "population": self.population, "rows": self.rows,
            "thresholds": self.thresholds, "registered_thresholds": self.registered,
            "registered_from": self.registered_from, "rules": {
                "air_min": rules.AIR_MIN, "min_group_size": rules.MIN_GROUP_SIZE,
                "tpr_gap_warning": rules.TPR_GAP_WARNING, "same_score_bin": rules.SAME_SCORE_BIN},
            "attributes": {}}
        for attribute in self.attributes:
            approval = self.approval[self.approval["attribute"] == attribute]
            ratios = approval[approval["judged"] & approval["air"].notna()]
            at_registered = ratios[ratios["threshold"].isin(self.registered)]
            groups = self.frame[attribute].value_counts()
            entry: dict[str, Any] = {
                "groups": {str(g): int(n) for g, n in groups.items()},
                "judged_groups": [str(g) for g, n in groups.items() if judged(str(g), int(n))],
                "lowest_air_registered": _lowest(at_registered),
                "lowest_air_any_cutoff": _lowest(ratios),
                "adverse_registered": _records(at_registered[at_registered["adverse"]],
                                               ["threshold", "group", "n", "approval_rate", "air", "fisher_p"]),
                "adverse_any_cutoff": _records(ratios[ratios["adverse"]],
                                               ["threshold", "group", "n", "approval_rate", "air", "fisher_p"]),
                "approval_by_threshold": {
                    str(t): {str(r["group"]): {"n": int(r["n"]), "approval_rate": _num(r["approval_rate"]),
                                               "air": _num(r["air"]), "fisher_p": _num(r["fisher_p"]),
                                               **({"tpr": _num(r["tpr"])} if "tpr" in r else {})}
                             for _, r in part.iterrows()}
                    for t, part in approval.groupby("threshold")},
                "smd": {str(r["group"]): {"n": int(r["n"]), "mean_score": _num(r["mean"]), "smd": _num(r["smd"]),
                                          "reference": bool(r["reference"])}
                        for _, r in self.smd[self.smd["attribute"] == attribute].iterrows()},
            }
            if self.has_outcomes:
                gaps = self.tpr[self.tpr["attribute"] == attribute]
                entry["tpr_gap_by_threshold"] = {str(int(r["threshold"])): _num(r["tpr_gap"]) for _, r in gaps.iterrows()}
                entry["tpr_gap_flagged"] = [int(t) for t in gaps[gaps["flagged"]]["threshold"]]
                cal = self.calibration[self.calibration["attribute"] == attribute]
                entry["calibration"] = _records(cal, ["band", "group", "n", "observed_bad_rate", "expected_bad_rate"])
            reasons = self.reasons[(self.reasons["attribute"] == attribute) & self.reasons["gap"].notna()]
            top = reasons.drop_duplicates(["score_bin", "reason"]).sort_values("gap", ascending=False).head(5)
            entry["largest_reason_gaps_at_same_score"] = [
                {"score_bin": r["score_bin"], "reason": r["reason"], "gap": _num(r["gap"]),
                 "shares": {str(x["group"]): _num(x["share"]) for _, x in reasons[
                     (reasons["score_bin"] == r["score_bin"]) & (reasons["reason"] == r["reason"])].iterrows()}}
                for _, r in top.iterrows()]
            out["attributes"][attribute] = entry
        return out


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else round(f, 6)


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    out = []
    for _, row in frame[columns].iterrows():
        out.append({c: (_num(v) if isinstance(v, (float, np.floating)) else
                        (int(v) if isinstance(v, (int, np.integer)) else str(v))) for c, v in row.items()})
    return out


def _lowest(table: pd.DataFrame) -> dict[str, Any] | None:
    if table.empty:
        return None
    row = table.sort_values("air").iloc[0]
    return {"threshold": int(row["threshold"]), "group": str(row["group"]), "air": _num(row["air"]),
            "n": int(row["n"]), "fisher_p": _num(row["fisher_p"])}


def cutoffs(registered: list[int]) -> list[int]:
    """Every cut-off the audit reports: the registered thresholds and the band edges."""
    return sorted(set(registered) | set(BAND_EDGES))


def run_audit(model: Scorecard | MonotoneChallenger, rows: pd.DataFrame, audit: pd.DataFrame, *,
              registered: list[int], registered_from: str, published_bands: list[dict] | None, version: str,
              which: str, population: str) -> FairnessAudit:
    """Audit ``model`` on ``rows`` (``subject_id``, features, and ``bad`` when outcomes are known) joined to
    ``audit`` (indexed by subject, one column per attribute)."""
    joined = rows.join(audit, on="subject_id", how="inner")
    attributes = [a for a in audit.columns if joined[a].notna().any()]
    X = joined[list(model.features_)]
    scores = model.score(X).to_numpy() if len(joined) else np.array([], dtype=int)
    reasons = model.reasons(X) if len(joined) else pd.DataFrame()
    given = [[c for c in row if c is not None] for row in reasons.to_numpy().tolist()] if len(joined) else []
    bad = joined["bad"].to_numpy() if "bad" in joined and joined["bad"].notna().all() else None
    thresholds = cutoffs(registered)
    frame = pd.DataFrame({"score": scores}, index=joined.index)
    if bad is not None:
        frame["bad"] = bad
    for a in attributes:
        frame[a] = joined[a].to_numpy()
    approval = adverse_impact(scores, joined[attributes], thresholds, bad)
    smd_parts, cal_parts, reason_parts = [], [], []
    for a in attributes:
        known = joined[a].notna().to_numpy()
        groups = joined[a][known]
        smd_parts.append(standardised_mean_difference(scores[known], groups).assign(attribute=a))
        if bad is not None:
            cal_parts.append(calibration_by_group(scores[known], bad[known], groups, published_bands).assign(attribute=a))
        reason_parts.append(reasons_at_same_score(scores[known], [given[i] for i in np.flatnonzero(known)],
                                                  groups).assign(attribute=a))
    empty = pd.DataFrame(columns=["attribute"])
    return FairnessAudit(
        version=version, model=which, population=population, rows=len(joined), thresholds=thresholds,
        registered=list(registered), registered_from=registered_from, frame=frame, attributes=attributes,
        approval=approval, tpr=tpr_gaps(approval) if bad is not None else pd.DataFrame(
            columns=["attribute", "threshold", "tpr_gap", "flagged"]),
        calibration=pd.concat(cal_parts, ignore_index=True) if cal_parts else empty,
        smd=pd.concat(smd_parts, ignore_index=True) if smd_parts else empty.assign(group=[], reference=[]),
        reasons=pd.concat(reason_parts, ignore_index=True) if reason_parts else empty.assign(gap=[]))


__all__ = ["BAND_EDGES", "FairnessAudit", "cutoffs", "run_audit"]
