"""The less discriminatory alternative search (research §4.1, LDA): when a model's adverse impact ratio
falls below the rule, refit documented alternatives and report each one's AUC beside its adverse impact.

The alternatives, each refitted on the model's registered training sample with the shipped settings and
judged on its registered out-of-time rows with the same audit data:

* ``as-registered``: the model itself (the baseline).
* ``drop:<input>``: without the input that drives the gap most (the largest difference in points between
  the reference group and the group with the lowest ratio), and ``drop:<input>,<input>`` without the two
  largest drivers.
* ``coarsen:<input>``: the driver binned into at most :data:`COARSE_BINS` bins (scorecard only).
* ``coarse-bins``: every input binned into at most :data:`COARSE_ALL_BINS` bins.
* ``scale:+<n>``: every score moved up by ``n`` points, what a different anchor of the scaling does (AUC
  unchanged); shown for the trade-off only: it moves every band's published bad rate, so it is not
  registered by the search.

The operator chooses one (``credo fairness search --choose NAME --reason ...``): the choice is recorded in
the operator log and a refitted alternative is registered as a candidate, to go through the gate like any.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from credo.fairness.audit import cutoffs
from credo.fairness.metrics import adverse_impact
from credo.features.definitions import model_settings
from credo.model import MonotoneChallenger, Scorecard
from credo.model.metrics import auc_score
from credo.policy import governance as rules
from credo.policy.bands import SCORE_MAX, SCORE_MIN
from credo.scoring import ModelBundle
from credo.scoring.training import fit_bundle
from credo.tabular import TablePlan

COARSE_BINS = 3
COARSE_ALL_BINS = 4
SCALE_SHIFTS = (25,)


@dataclass(frozen=True)
class Alternative:
    name: str
    description: str
    auc: float
    lowest_air_registered: float | None
    lowest_air_any: float | None
    worst: str
    adverse_registered: int
    registrable: bool

    def record(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class SearchResult:
    version: str
    model: str
    attribute: str | None
    group: str | None
    reference: str | None
    drivers: list[tuple[str, float]]
    alternatives: list[Alternative]

    def record(self) -> dict[str, Any]:
        return {"version": self.version, "model": self.model, "attribute": self.attribute, "group": self.group,
                "reference": self.reference, "drivers": [[f, round(v, 3)] for f, v in self.drivers],
                "alternatives": [a.record() for a in self.alternatives]}


def _points(model: Scorecard | MonotoneChallenger, X: pd.DataFrame) -> pd.DataFrame:
    """Each input's points per row: the scorecard's own, the challenger's attributions in points."""
    return model.points(X) if isinstance(model, Scorecard) else model.explain(X)


def worst_gap(model: Scorecard | MonotoneChallenger, rows: pd.DataFrame, audit: pd.DataFrame,
              registered: list[int]) -> tuple[str, str, str] | None:
    """(attribute, group, reference group) of the lowest judged adverse impact ratio at a registered threshold."""
    joined = rows.join(audit, on="subject_id", how="inner")
    if not len(joined):
        return None
    table = adverse_impact(model.score(joined[list(model.features_)]).to_numpy(), joined[list(audit.columns)],
                           registered)
    judged = table[table["judged"] & table["air"].notna()]
    if judged.empty:
        return None
    row = judged.sort_values("air").iloc[0]
    ref = table[(table["attribute"] == row["attribute"]) & (table["threshold"] == row["threshold"])
                & table["reference"]]
    return str(row["attribute"]), str(row["group"]), str(ref["group"].iloc[0])


def drivers(model: Scorecard | MonotoneChallenger, rows: pd.DataFrame, audit: pd.DataFrame, attribute: str,
            group: str, reference: str) -> list[tuple[str, float]]:
    """Inputs by how many more points, on average, the reference group gets from them than ``group``."""
    joined = rows.join(audit, on="subject_id", how="inner")
    points = _points(model, joined[list(model.features_)])
    labels = joined[attribute].astype(str).to_numpy()
    gap = points[labels == reference].mean() - points[labels == group].mean()
    return [(str(f), float(v)) for f, v in gap.sort_values(ascending=False).items()]


def _settings(bundle: ModelBundle, features: list[str]) -> dict[str, Any]:
    """The shipped fit settings of the bundle's kind, restricted to ``features``."""
    if "inputs" in bundle.manifest:
        plan = TablePlan.model_validate(bundle.manifest["inputs"])
        return {"categorical": [c for c in plan.categorical if c in features],
                "special_values": bundle.champion.special_values}
    base = model_settings()
    keep = set(features)
    return {**{k: ({f: v for f, v in base[k].items() if f in keep} if isinstance(base[k], dict) else base[k])
               for k in ("directions", "codes", "rules", "null_values", "own_bins", "groups")},
            "tied": [[f for f in group if f in keep] for group in base["tied"] if sum(f in keep for f in group) > 1],
            "inquiry_feature": base["inquiry_feature"] if base["inquiry_feature"] in keep else None}


def refit(bundle: ModelBundle, which: str, train: pd.DataFrame, name: str) -> ModelBundle:
    """The alternative ``name`` refitted on ``train`` (registered training rows), with the shipped settings."""
    features = list(bundle.champion.features_)
    scorecard_params: dict[str, Any] = {}
    if name.startswith("drop:"):
        dropped = name.split(":", 1)[1].split(",")
        features = [f for f in features if f not in dropped]
    elif name.startswith("coarsen:"):
        scorecard_params["feature_binning_params"] = {name.split(":", 1)[1]: {"max_n_bins": COARSE_BINS}}
    elif name == "coarse-bins":
        scorecard_params["binning_params"] = {"max_n_prebins": 20, "min_prebin_size": 0.05,
                                              "max_n_bins": COARSE_ALL_BINS}
    elif name != "baseline-refit":
        raise ValueError(f"unknown alternative {name!r}")
    out = fit_bundle(train[features], train["bad"], features=features, with_challenger=which == "challenger",
                     source=f"{bundle.manifest.get('source')}; alternative {name} of {bundle.version}",
                     scorecard_params=scorecard_params, **_settings(bundle, features))
    for key in ("inputs", "allowed_exceptions", "audit_columns"):
        if key in bundle.manifest:
            out.manifest[key] = bundle.manifest[key]
    out.manifest["alternative_of"] = {"version": bundle.version, "alternative": name}
    return out


def _judge(name: str, description: str, scores: np.ndarray, valid: pd.DataFrame, audit: pd.DataFrame,
           registered: list[int], registrable: bool) -> Alternative:
    joined_index = valid["subject_id"].isin(audit.index).to_numpy()
    joined = valid[joined_index].join(audit, on="subject_id")
    table = adverse_impact(scores[joined_index], joined[list(audit.columns)], cutoffs(registered))
    judged = table[table["judged"] & table["air"].notna()]
    at_registered = judged[judged["threshold"].isin(registered)]
    worst = at_registered.sort_values("air").head(1)
    return Alternative(
        name=name, description=description, auc=auc_score(valid["bad"].to_numpy(), scores),
        lowest_air_registered=float(at_registered["air"].min()) if len(at_registered) else None,
        lowest_air_any=float(judged["air"].min()) if len(judged) else None,
        worst="" if worst.empty else f"{worst.iloc[0]['attribute']}={worst.iloc[0]['group']} at "
                                     f"{int(worst.iloc[0]['threshold'])}",
        adverse_registered=int((at_registered["air"] < rules.AIR_MIN).sum()), registrable=registrable)


def search(bundle: ModelBundle, which: str, train: pd.DataFrame, valid: pd.DataFrame, audit: pd.DataFrame,
           registered: list[int], *, attribute: str | None = None) -> SearchResult:
    """Judge every documented alternative (module docstring) of ``bundle``'s ``which`` model."""
    model = bundle.model(which)  # type: ignore[arg-type]
    audit = audit[[attribute]] if attribute else audit
    gap = worst_gap(model, valid, audit, registered)
    attr, group, reference = gap if gap is not None else (attribute, None, None)
    result = SearchResult(bundle.version, which, attr, group, reference, drivers=[], alternatives=[])
    base_scores = model.score(valid[list(model.features_)]).to_numpy()
    result.alternatives.append(_judge("as-registered", "the model as registered", base_scores, valid, audit,
                                      registered, False))
    if gap is None:
        return result
    result.drivers = drivers(model, valid, audit, *gap)
    top = [f for f, v in result.drivers if v > 0][:2]
    names = [("baseline-refit", "the same settings refitted on the registered training sample")]
    if top:
        names.append((f"drop:{top[0]}", f"without {top[0]}, the input that drives the gap most"))
        if len(top) > 1:
            names.append((f"drop:{top[0]},{top[1]}", f"without the two largest drivers, {top[0]} and {top[1]}"))
        if isinstance(model, Scorecard) and top[0] not in model.categorical_features:
            names.append((f"coarsen:{top[0]}", f"{top[0]} in at most {COARSE_BINS} bins"))
    names.append(("coarse-bins", f"every input in at most {COARSE_ALL_BINS} bins"))
    for name, description in names:
        alternative = refit(bundle, which, train, name).model(which)  # type: ignore[arg-type]
        scores = alternative.score(valid[list(alternative.features_)]).to_numpy()
        result.alternatives.append(_judge(name, description, scores, valid, audit, registered, True))
    for shift in SCALE_SHIFTS:
        moved = np.clip(base_scores + shift, SCORE_MIN, SCORE_MAX)
        result.alternatives.append(_judge(
            f"scale:+{shift}", f"every score {shift} points higher (a different scaling anchor; moves every band's "
            "published bad rate: a rescaling decision, not registered by the search)", moved, valid, audit,
            registered, False))
    return result


__all__ = ["Alternative", "COARSE_ALL_BINS", "COARSE_BINS", "SearchResult", "drivers", "refit", "search", "worst_gap"]
