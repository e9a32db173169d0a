"""The challenger: monotone gradient-boosted trees (LightGBM) with exact attributions.

* Monotone constraints in risk terms, like the scorecard: ``+1`` risk rises
  with the value, ``-1`` falls, ``0`` free. A numerical feature without a
  declared direction gets the sign of its Spearman correlation with the
  target on the training data.
* Special values (e.g. -7/-8/-9) are not points on the value axis: the model
  sees them as missing in the feature itself plus one unconstrained 0/1
  indicator per special value. Attributions of those derived columns are
  added back to their source feature.
* Attributions are LightGBM's ``pred_contrib`` (TreeSHAP, exact for trees):
  per row they sum to the raw margin (log-odds of bad). In score units a
  feature's contribution is ``-factor * contribution``; the principal reasons
  are the true statements about the features with the largest contribution
  to the bad margin (at least the policy's minimum of points; none at 950).
* Score: ``clamp(round(offset - factor * margin), 350, 950)`` with the
  model's own ``scaling_``, fitted by the published rule of
  :func:`credo.policy.bands.fit_scaling` (``FLOOR_SHARE`` of the training
  population at or below 350, ``CAP_SHARE`` at or above 950).
* LightGBM's ``monotone_constraints_method="advanced"`` was measured to break
  monotonicity (LightGBM 4.7); "intermediate" is used and tested.
* Artifact: JSON with LightGBM's text model inside (no pickle).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from credo.model._common import (
    JsonArtifactMixin, ScoreOutputsMixin, as_frame, as_target, check_artifact, check_columns, clamp_round,
)
from credo.policy import bands

FORMAT = "credo.challenger"
FORMAT_VERSION = 1


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ar = pd.Series(a).rank().to_numpy()
    br = pd.Series(b).rank().to_numpy()
    if ar.std() == 0 or br.std() == 0:
        return 0.0
    r = np.corrcoef(ar, br)[0, 1]
    return float(r) if np.isfinite(r) else 0.0


def infer_direction(x: np.ndarray, y: np.ndarray, rule: str = "spearman", n_bins: int = 10,
                    min_rho: float = 0.8) -> int:
    """Monotone direction of a feature from training data.

    ``"spearman"``: the sign of the Spearman correlation of x with y.
    ``"spearman_checked"``: the same sign, but 0 (unconstrained) when the
    event rate over the quantile bins of x is not itself monotone in that
    direction (Spearman of bin event rate against bin order below ``min_rho``),
    e.g. U-shaped features.
    """
    ok = ~np.isnan(x)
    if ok.sum() < 3:
        return 0
    xs, ys = x[ok], y[ok].astype(float)
    r = _spearman(xs, ys)
    d = 0 if r == 0 else int(np.sign(r))
    if rule == "spearman" or d == 0:
        return d
    if rule != "spearman_checked":
        raise ValueError(f"unknown direction rule {rule!r}")
    edges = np.unique(np.quantile(xs, np.linspace(0, 1, n_bins + 1)[1:-1]))
    idx = np.searchsorted(edges, xs, side="right")
    cnt = np.bincount(idx)
    keep = cnt > 0
    if keep.sum() < 3:
        return d
    rate = np.bincount(idx, weights=ys)[keep] / cnt[keep]
    rb = _spearman(np.arange(keep.sum(), dtype=float), rate)
    return d if rb * d >= min_rho else 0


class MonotoneChallenger(ScoreOutputsMixin, JsonArtifactMixin, ClassifierMixin, BaseEstimator):
    """Monotone LightGBM challenger (scikit-learn conventions).

    Parameters mirror :class:`credo.model.Scorecard` where they overlap
    (``features``, ``categorical_features``, ``special_values``,
    ``monotone_constraints``, ``reason_codes``, ``inquiry_feature``,
    ``min_observed_features``). ``direction_rule`` ("spearman_checked", the
    default, or "spearman", see :func:`infer_direction`) sets the direction of
    numerical features not in ``monotone_constraints``: a feature whose bad
    rate is not itself monotone (a U shape) is left unconstrained rather than
    forced one way. Boosting: ``n_estimators`` is the maximum;
    with ``early_stopping_rounds`` a stratified ``validation_fraction`` of the
    training set chooses the number of trees, then (``refit_full``) the model
    is refitted on all training rows with that many trees.
    ``lgbm_params`` adds/overrides raw LightGBM parameters.
    """

    def __init__(
        self,
        features: Sequence[str] | None = None,
        categorical_features: Sequence[str] = (),
        special_values: Mapping[str, Sequence[float]] | Sequence[float] | None = None,
        monotone_constraints: Mapping[str, int] | None = None,
        direction_rule: str = "spearman_checked",
        n_estimators: int = 2000,
        learning_rate: float = 0.03,
        num_leaves: int = 15,
        min_child_samples: int = 50,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        early_stopping_rounds: int | None = 100,
        validation_fraction: float = 0.2,
        refit_full: bool = True,
        random_state: int = 0,
        n_jobs: int = 2,
        lgbm_params: Mapping[str, Any] | None = None,
        reason_codes: Mapping[str, str] | None = None,
        inquiry_feature: str | None = None,
        min_observed_features: int | Callable | None = None,
        reason_rules: Mapping[str, Any] | None = None,
        null_values: Mapping[str, float] | None = None,
    ):
        self.features = features
        self.categorical_features = categorical_features
        self.special_values = special_values
        self.monotone_constraints = monotone_constraints
        self.direction_rule = direction_rule
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.refit_full = refit_full
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.lgbm_params = lgbm_params
        self.reason_codes = reason_codes
        self.inquiry_feature = inquiry_feature
        self.min_observed_features = min_observed_features
        self.reason_rules = reason_rules
        self.null_values = null_values

    # ------------------------------------------------------------ design matrix
    def _specials_for(self, f: str) -> list[float]:
        sv = self.special_values
        if sv is None or f in set(self.categorical_features or ()):
            return []
        if isinstance(sv, Mapping):
            return [float(v) for v in sv.get(f, [])]
        return [float(v) for v in sv]

    def _design(self, X: pd.DataFrame) -> pd.DataFrame:
        """Model columns: features (specials -> NaN) + special indicators."""
        X = self._filled(X)
        cols: dict[str, Any] = {}
        for f in self.features_:
            if f in self.categories_:
                v = X[f].astype(object).where(X[f].notna(), None)
                known = set(self.categories_[f])
                v = v.map(lambda t: None if t is None or str(t) not in known else str(t))  # noqa: B023 (runs at once)
                cols[f] = pd.Categorical(v, categories=self.categories_[f])
            else:
                v = X[f].to_numpy(dtype=np.float64)
                sp = self.specials_[f]
                if sp:
                    mask = np.isin(v, sp)
                    for s in sp:
                        cols[f"{f}__special_{s:g}"] = (v == s).astype(np.float64)
                    v = np.where(mask, np.nan, v)
                cols[f] = v
        D = pd.DataFrame(cols, index=X.index)
        return D[self.columns_]

    def _frame(self, X: Any) -> pd.DataFrame:
        self._check_fitted()
        X = as_frame(X, columns=self.features_ if not isinstance(X, pd.DataFrame) else None)
        check_columns(X, self.features_)
        return X

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("MonotoneChallenger is not fitted yet; call fit(X, y)")

    def _params(self, constraints: list[int]) -> dict:
        p = {
            "objective": "binary", "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples, "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0, "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda, "seed": self.random_state, "num_threads": self.n_jobs,
            "verbosity": -1, "monotone_constraints": constraints,
            "monotone_constraints_method": "intermediate", "deterministic": True, "force_row_wise": True,
        }
        p.update(dict(self.lgbm_params or {}))
        return p

    # ------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any) -> "MonotoneChallenger":
        import lightgbm as lgb

        X = as_frame(X)
        y = as_target(y)
        feats = list(self.features) if self.features is not None else [str(c) for c in X.columns]
        check_columns(X, feats)
        cats = [f for f in feats if f in set(self.categorical_features or ())]
        self.features_ = feats
        self.feature_names_in_ = np.asarray(feats, dtype=object)
        self.n_features_in_ = len(feats)
        self.classes_ = np.array([0, 1])
        self.categories_ = {
            f: sorted({str(v) for v in X[f].dropna().unique()}) for f in cats
        }
        self.specials_ = {f: self._specials_for(f) for f in feats}
        cols, source, cons = [], [], []
        declared = dict(self.monotone_constraints or {})
        self.directions_ = {}
        for f in feats:
            cols.append(f)
            source.append(f)
            if f in self.categories_:
                d = 0
            elif f in declared and declared[f] is not None and declared[f] != "auto":
                d = int(np.sign(declared[f]))
            else:
                v = X[f].to_numpy(dtype=np.float64)
                v = np.where(np.isin(v, self.specials_[f]), np.nan, v)
                d = infer_direction(v, y, self.direction_rule)
            self.directions_[f] = d
            cons.append(d)
            for s in self.specials_[f]:
                cols.append(f"{f}__special_{s:g}")
                source.append(f)
                cons.append(0)
        self.columns_ = cols
        self.column_source_ = source
        self.scaling_ = bands.DEFAULT_SCALING
        D = self._design(X)
        params = self._params(cons)
        n_iter = self.n_estimators
        if self.early_stopping_rounds and self.validation_fraction > 0:
            idx = np.arange(len(y))
            tr, va = train_test_split(idx, test_size=self.validation_fraction, stratify=y,
                                      random_state=self.random_state)
            dtr = lgb.Dataset(D.iloc[tr], y[tr], categorical_feature=cats or "auto", free_raw_data=False)
            dva = lgb.Dataset(D.iloc[va], y[va], reference=dtr)
            bst = lgb.train({**params, "metric": "auc"}, dtr, num_boost_round=self.n_estimators,
                            valid_sets=[dva],
                            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)])
            n_iter = max(1, bst.best_iteration or self.n_estimators)
            self.best_iteration_ = n_iter
            if not self.refit_full:
                self.booster_ = bst
                self.booster_.free_dataset()
                return self._fit_scaling(X)
        dall = lgb.Dataset(D, y, categorical_feature=cats or "auto")
        self.booster_ = lgb.train(params, dall, num_boost_round=n_iter)
        self.best_iteration_ = n_iter
        return self._fit_scaling(X)

    def _fit_scaling(self, X: pd.DataFrame) -> "MonotoneChallenger":
        self.scaling_ = bands.fit_scaling(-self.decision_function(X).to_numpy())
        return self

    # ------------------------------------------------------------ outputs
    def _num_iteration(self) -> int | None:
        bi = getattr(self, "best_iteration_", None)
        return bi if bi and bi < self.booster_.num_trees() else None

    def decision_function(self, X: Any) -> pd.Series:
        """Raw margin: log-odds of bad."""
        X = self._frame(X)
        m = self.booster_.predict(self._design(X), raw_score=True, num_iteration=self._num_iteration())
        return pd.Series(np.asarray(m, float), index=X.index, name="log_odds_bad")

    def predict_proba(self, X: Any) -> pd.DataFrame:
        m = self.decision_function(X)
        p = 1.0 / (1.0 + np.exp(-m.to_numpy()))
        return pd.DataFrame({0: 1 - p, 1: p}, index=m.index)

    def predict(self, X: Any) -> pd.Series:
        m = self.decision_function(X)
        return pd.Series((m.to_numpy() > 0).astype(int), index=m.index, name="bad")

    def score(self, X: Any, y: Any = None, clamp: bool = True):
        """Credit scores (int Series 350..950); with ``y``, the ROC AUC instead.
        ``clamp=False`` gives the rounded score before clamping."""
        m = self.decision_function(X)
        raw = self.scaling_.score_from_log_odds(-m.to_numpy(), clamp=False)
        vals = clamp_round(raw) if clamp else np.rint(raw).astype(np.int64)
        s = pd.Series(vals, index=m.index, name="score")
        if y is not None:
            return float(roc_auc_score(np.asarray(y), -s.to_numpy()))
        return s

    def contributions(self, X: Any) -> pd.DataFrame:
        """Exact TreeSHAP contributions to the bad log-odds per source feature,
        plus ``bias``; each row sums to :meth:`decision_function`."""
        X = self._frame(X)
        C = np.asarray(self.booster_.predict(self._design(X), pred_contrib=True,
                                             num_iteration=self._num_iteration()))
        out = {f: np.zeros(len(X)) for f in self.features_}
        for j, f in enumerate(self.column_source_):
            out[f] = out[f] + C[:, j]
        out["bias"] = C[:, -1]
        return pd.DataFrame(out, index=X.index)

    def explain(self, X: Any) -> pd.DataFrame:
        """Contributions in score points (negative = lowers the score)."""
        C = self.contributions(X)
        return -self.scaling_.factor * C[self.features_]

    def reasons(self, X: Any, k: int = 4) -> pd.DataFrame:
        """Principal reasons: true statements about the features with the largest contributions towards
        bad, in score points (none at the top of the range)."""
        X = self._frame(X)
        C = self.contributions(X)  # one TreeSHAP pass: its rows sum to the margin the score is made of
        cost = self.scaling_.factor * C[self.features_].to_numpy()
        scores = clamp_round(self.scaling_.score_from_log_odds(-C.sum(axis=1).to_numpy(), clamp=False))
        return self._reasons_from_cost(X, cost, scores, k)

    # ------------------------------------------------------------ artifacts
    def to_dict(self) -> dict:
        self._check_fitted()
        params = self.artifact_params()
        return {
            "format": FORMAT, "version": FORMAT_VERSION,
            "scaling": self.scaling_.to_dict(),
            "params": params,
            "features": self.features_,
            "categories": self.categories_,
            "specials": self.specials_,
            "directions": self.directions_,
            "columns": self.columns_,
            "column_source": self.column_source_,
            "best_iteration": int(self.best_iteration_),
            "lightgbm_model": self.booster_.model_to_string(num_iteration=self._num_iteration()),
        }


    @classmethod
    def from_dict(cls, d: dict) -> "MonotoneChallenger":
        import lightgbm as lgb

        check_artifact(d, FORMAT, FORMAT_VERSION)
        m = cls(**d["params"])
        m.features_ = list(d["features"])
        m.feature_names_in_ = np.asarray(m.features_, dtype=object)
        m.n_features_in_ = len(m.features_)
        m.classes_ = np.array([0, 1])
        m.categories_ = {k: list(v) for k, v in d["categories"].items()}
        m.specials_ = {k: [float(s) for s in v] for k, v in d["specials"].items()}
        m.directions_ = {k: int(v) for k, v in d["directions"].items()}
        m.columns_ = list(d["columns"])
        m.column_source_ = list(d["column_source"])
        m.booster_ = lgb.Booster(model_str=d["lightgbm_model"])
        m.scaling_ = bands.Scaling.from_dict(d["scaling"])
        m.best_iteration_ = m.booster_.num_trees()
        return m



__all__ = ["MonotoneChallenger"]
