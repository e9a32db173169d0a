"""Helpers shared by the scorecard and the challenger (input handling, reasons)."""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from credo.policy import bands
from credo.policy.reasons import GENERIC_PREFIX, INQUIRY_REASON

#: Returned instead of a score when a consumer does not meet the minimum scoring criteria.
NOT_ENOUGH_DATA = "not enough data"


def as_frame(X: Any, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Accept a DataFrame (kept as is) or a 2-D array (columns x0.. or the given names)."""
    if isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError("X must be 2-dimensional")
    cols = list(columns) if columns is not None else [f"x{i}" for i in range(arr.shape[1])]
    if len(cols) != arr.shape[1]:
        raise ValueError(f"X has {arr.shape[1]} columns, expected {len(cols)}")
    return pd.DataFrame(arr, columns=cols)


def check_columns(X: pd.DataFrame, features: Sequence[str]) -> None:
    missing = [f for f in features if f not in X.columns]
    if missing:
        raise KeyError(f"missing feature columns: {missing}")


def as_target(y: Any) -> np.ndarray:
    yy = np.asarray(y)
    if yy.dtype == bool:
        yy = yy.astype(int)
    u = np.unique(yy)
    if not set(u.tolist()) <= {0, 1}:
        raise ValueError("y must be binary 0/1 (1 = bad)")
    if len(u) < 2:
        raise ValueError("y must contain both classes")
    return yy.astype(int)


def reason_code_for(feature: str, reason_codes: Mapping[str, str] | None) -> str:
    if reason_codes and feature in reason_codes:
        return reason_codes[feature]
    return f"{GENERIC_PREFIX}{feature}"


def clamp_round(raw: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(raw), bands.SCORE_MIN, bands.SCORE_MAX).astype(np.int64)


def select_reasons(
    cost: np.ndarray,
    features: Sequence[str],
    codes: Sequence[str],
    k: int,
    inquiry_feature: str | None,
    index: pd.Index,
) -> pd.DataFrame:
    """Principal reasons per row from a (n, p) matrix of points lost per feature.

    Features are ranked by cost (largest first; ties broken by feature order);
    only features that cost points (> 0) are reasons; codes are de-duplicated
    (a code shared by two features appears once, at its best rank). At most
    ``k`` reasons; if ``inquiry_feature`` costs points and its code is not among
    them, it is added as reason ``k+1``.
    """
    n, p = cost.shape
    order = np.argsort(-cost, axis=1, kind="stable")  # stable => feature order on ties
    cols = [f"reason_{i + 1}" for i in range(k + 1)]
    out = np.full((n, k + 1), None, dtype=object)
    inq = list(features).index(inquiry_feature) if inquiry_feature in features else -1
    inq_code = codes[inq] if inq >= 0 else INQUIRY_REASON
    codes_arr = np.asarray(codes, dtype=object)
    sorted_cost = np.take_along_axis(cost, order, axis=1)
    sorted_codes = codes_arr[order]
    for r in range(n):
        chosen: list[str] = []
        for j in range(p):
            if sorted_cost[r, j] <= 0 or len(chosen) >= k:
                break
            c = sorted_codes[r, j]
            if c not in chosen:
                chosen.append(c)
        if inq >= 0 and cost[r, inq] > 0 and inq_code not in chosen:
            chosen.append(inq_code)
        out[r, : len(chosen)] = chosen
    return pd.DataFrame(out, index=index, columns=cols, dtype=object)


class ScoreOutputsMixin:
    """Outputs both estimators share: minimum scoring criteria and reason-code lookup.

    Expects ``_frame``, ``score``, ``features_``, ``min_observed_features`` and
    ``reason_codes`` on the estimator.
    """

    def reason_code_of(self, feature: str) -> str:
        return reason_code_for(feature, self.reason_codes)

    def eligible(self, X: Any) -> pd.Series:
        """True where the minimum scoring criteria are met."""
        X = self._frame(X)
        rule = self.min_observed_features
        if rule is None:
            ok = np.ones(len(X), bool)
        elif callable(rule):
            ok = np.asarray(rule(X), bool)
        else:
            ok = X[self.features_].notna().sum(axis=1).to_numpy() >= int(rule)
        return pd.Series(ok, index=X.index, name="eligible")

    def score_or_not_enough_data(self, X: Any) -> pd.Series:
        """Scores, with NOT_ENOUGH_DATA where the minimum scoring criteria are not met."""
        s = self.score(X).astype(object)
        s[~self.eligible(X).to_numpy()] = NOT_ENOUGH_DATA
        return s


def scaling_record() -> dict[str, float]:
    """The published scaling an artifact was built with (kept in every artifact)."""
    return {"base_score": bands.BASE_SCORE, "base_odds_good_bad": bands.BASE_ODDS,
            "pdo": bands.PDO, "score_min": bands.SCORE_MIN, "score_max": bands.SCORE_MAX}


def check_artifact(d: Mapping[str, Any], fmt: str, version: int) -> None:
    """Refuse an artifact of another kind or of a newer format version."""
    if d.get("format") != fmt:
        raise ValueError(f"not a {fmt} artifact")
    if int(d.get("version", 0)) > version:
        raise ValueError(f"artifact version {d['version']} is newer than supported {version}")


class JsonArtifactMixin:
    """``to_json`` / ``from_json`` over the estimator's ``to_dict`` / ``from_dict``: versioned,
    human-readable artifacts, no pickle."""

    def artifact_params(self) -> dict[str, Any]:
        """Constructor parameters as plain JSON values (a callable thin-file rule is not kept)."""
        params = self.get_params()
        if callable(params.get("min_observed_features")):
            params["min_observed_features"] = None
        return json.loads(json.dumps(params, default=lambda o: list(o) if isinstance(o, (tuple, set)) else str(o)))

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, s: str) -> Any:
        return cls.from_dict(json.loads(s))
