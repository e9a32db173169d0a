"""Helpers shared by the scorecard and the challenger (input handling, reasons)."""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from credo.policy import bands
from credo.policy.reasons import MIN_REASON_POINTS, MISSING_PREFIX, ReasonRule, generic_rules

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


def rules_for(feature: str, reason_rules: Mapping[str, Any] | None, reason_codes: Mapping[str, str] | None) -> dict:
    """The ``{"rules": [[op, threshold, code], ...], "missing": code}`` entry of a feature: its declared
    rules, else its mapped code for any value outside the best range, else the generic codes of a user's
    own column. A missing value without a declared code is said as not provided (``RM:<feature>``),
    never as the behaviour the feature measures."""
    if reason_rules and feature in reason_rules:
        entry = dict(reason_rules[feature])
    elif reason_codes and feature in reason_codes:
        entry = {"rules": [["any", None, reason_codes[feature]]], "missing": None}
    else:
        entry = generic_rules(feature)
    entry["missing"] = entry.get("missing") or f"{MISSING_PREFIX}{feature}"
    return entry


def true_codes(X: pd.DataFrame, features: Sequence[str], rules: Mapping[str, dict]) -> np.ndarray:
    """(n, p) object array: the reason code whose statement is true for each row's value of each
    feature (the missing-data code for a missing value), None where no statement is true."""
    out = np.full((len(X), len(features)), None, dtype=object)
    for j, f in enumerate(features):
        col = X[f]
        missing = col.isna().to_numpy()
        entry = rules[f]
        if entry.get("missing"):
            out[missing, j] = entry["missing"]
        free = ~missing
        numeric = pd.api.types.is_numeric_dtype(col)
        values = col.to_numpy(dtype=float, na_value=np.nan) if numeric else None
        for item in entry["rules"]:
            rule = ReasonRule.from_list(item)
            if rule.op == "any":
                hit = free.copy()
            elif values is None:
                continue
            else:
                hit = free & rule.holds(values)
            out[hit, j] = rule.code
            free &= ~hit
    return out


def clamp_round(raw: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(raw), bands.SCORE_MIN, bands.SCORE_MAX).astype(np.int64)


def select_reasons(
    cost: np.ndarray,
    codes: np.ndarray,
    features: Sequence[str],
    k: int,
    inquiry_feature: str | None,
    index: pd.Index,
    at_cap: np.ndarray,
) -> pd.DataFrame:
    """Principal reasons per row from a (n, p) matrix of score points lost per feature and the
    (n, p) matrix of true codes (:func:`true_codes`).

    Features are ranked by cost (largest first; ties broken by feature order);
    a feature is a reason only when it costs at least ``MIN_REASON_POINTS``
    and a statement of it is true for the row; codes are de-duplicated (a code
    shared by two features appears once, at its best rank). At most ``k``
    reasons; if ``inquiry_feature`` costs points and its code is not among
    them, it is added as reason ``k+1``. Rows ``at_cap`` (the top of the
    range) get none: nothing lowers their score.
    """
    n, p = cost.shape
    cols = [f"reason_{i + 1}" for i in range(k + 1)]
    open_ = ~np.asarray(at_cap, bool)  # rows at the top of the range get no reason
    names, ids = _code_ids(codes)
    order = np.argsort(-cost, axis=1, kind="stable")  # stable => feature order on ties
    sorted_cost = np.take_along_axis(cost, order, axis=1)
    sorted_ids = np.take_along_axis(ids, order, axis=1)
    # a feature is looked at until the first one that costs less than the minimum
    looked = np.logical_and.accumulate(~(sorted_cost < MIN_REASON_POINTS), axis=1)
    # the valid entries, row by row in rank order; a code counts at its first (best) rank in its row
    rows, at = np.nonzero(looked & (sorted_ids >= 0))
    code = sorted_ids[rows, at]
    first = np.zeros(len(code), dtype=bool)
    first[np.unique(rows * (len(names) + 1) + code, return_index=True)[1]] = True
    seen = np.cumsum(first)
    start = np.searchsorted(rows, rows)  # each row's first entry
    rank = seen - (seen[start] - first[start])
    take = first & (rank <= k) & open_[rows]
    out = np.full((n, k + 1), -1, dtype=np.int64)
    out[rows[take], rank[take] - 1] = code[take]
    inq = list(features).index(inquiry_feature) if inquiry_feature in features else -1
    if inq >= 0:
        count = np.bincount(rows[take], minlength=n)
        inquiry = ids[:, inq]
        extra = ((cost[:, inq] >= MIN_REASON_POINTS) & (inquiry >= 0) & open_
                 & ~(out[:, :k] == inquiry[:, None]).any(axis=1))
        out[np.flatnonzero(extra), count[extra]] = inquiry[extra]
    labels = np.array([*names, None], dtype=object)  # -1: no reason
    return pd.DataFrame(labels[out], index=index, columns=cols, dtype=object)


def _code_ids(codes: np.ndarray) -> tuple[list[str], np.ndarray]:
    """(the distinct codes, the (n, p) matrix of their positions in it, -1 for None), a column at a
    time (each holds the few codes of one feature's statements)."""
    names: dict[str, int] = {}
    ids = np.empty(codes.shape, dtype=np.int64)
    for j in range(codes.shape[1]):
        local, uniques = pd.factorize(codes[:, j], use_na_sentinel=True)
        lut = np.array([names.setdefault(u, len(names)) for u in uniques] + [-1], dtype=np.int64)
        ids[:, j] = lut[local]  # the sentinel -1 takes the last entry
    return list(names), ids


class ScoreOutputsMixin:
    """Outputs both estimators share: minimum scoring criteria and reason-code lookup.

    Expects ``_frame``, ``score``, ``features_``, ``min_observed_features`` and
    ``reason_codes`` on the estimator.
    """

    def reason_code_of(self, feature: str) -> str:
        """The feature's main reason code (its first rule's)."""
        return self.reason_rules_of(feature)["rules"][0][2]

    def reason_rules_of(self, feature: str) -> dict:
        return rules_for(feature, getattr(self, "reason_rules", None), self.reason_codes)

    def _reasons_from_cost(self, X: pd.DataFrame, cost: np.ndarray, scores: np.ndarray, k: int) -> pd.DataFrame:
        rules = {f: self.reason_rules_of(f) for f in self.features_}
        codes = true_codes(self._filled(X), self.features_, rules)
        return select_reasons(cost, codes, self.features_, k, self.inquiry_feature, X.index,
                              at_cap=np.asarray(scores) >= bands.SCORE_MAX)

    def _filled(self, X: pd.DataFrame) -> pd.DataFrame:
        """X with NULL replaced where NULL is a fact (``null_values``), as the model sees it."""
        fills = {f: v for f, v in (getattr(self, "null_values", None) or {}).items() if f in X.columns}
        return X.fillna(fills) if fills else X

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
