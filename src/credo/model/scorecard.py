"""The champion model: a points scorecard (binning -> WoE -> logistic regression).

Conventions
-----------
* ``y = 1`` means bad. Monotone directions are stated in risk terms:
  ``+1`` = risk rises with the value, ``-1`` = risk falls, ``0`` = free shape,
  absent = optbinning's ``auto_asc_desc`` (monotone, direction from the data).
* The points table *is* the scorer: every bin of every feature has an integer
  number of points (each feature's worst bin has 0 points) and::

      score = clamp(base_points + sum(points of the row's bins), 350, 950)

  The scaling (``scaling_``: anchor odds at 600 and points to double the
  odds) is fitted by the published rule :func:`credo.policy.bands.fit_scaling`:
  the safest ``CAP_SHARE`` of the training population scores 950 (the
  all-best-bins file at least) and the riskiest ``FLOOR_SHARE`` 350 or less.
* Every feature's points follow its bad rates: coefficients are constrained
  so that points rise with WoE (``drop_wrong_sign=True``), and a feature
  without a declared direction gets the direction its data shows. A feature
  the fit gives no weight is listed in ``zeroed_features_``;
  :meth:`direction_report` flags any bin whose points disagree with its bad rate.
* ``predict_proba`` / ``decision_function`` use the unrounded logistic model;
  ``score`` uses the integer points table (they agree up to rounding).
* Every pandas output keeps the input index.

Fast batch scoring
------------------
``score_matrix`` runs a compiled kernel (:mod:`credo.model.kernel`, numba) over
row blocks on a thread pool. For a float32 matrix each value costs one lookup in
a 65,536-entry table per feature, indexed by the upper 16 bits of the value
(sign, exponent and 7 mantissa bits). Cut points are snapped to such values at
fit time, so an entry is exact unless its bucket straddles a cut point (only if
snapping was off or impossible), holds a special value or ±inf; a value in such a
bucket is binned exactly in the kernel, so the scores equal :meth:`Scorecard.score`'s.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from credo.model._common import (
    JsonArtifactMixin, ScoreOutputsMixin, as_frame, as_target, check_artifact, check_columns,
)
from credo.model.binning import FeatureBinning
from credo.policy import bands

#: Pre-binning candidates of ``binning_params="auto"``: optbinning's defaults, and a finer grid that
#: lets the optimiser place cut points where a large population shows them.
AUTO_BINNING: tuple[dict[str, Any], ...] = (
    {"max_n_prebins": 20, "min_prebin_size": 0.05},
    {"max_n_prebins": 50, "min_prebin_size": 0.02},
)
#: Share of the training rows held out to choose among them (never the caller's validation data).
TUNING_SHARE = 0.25
#: AUC a finer candidate must gain on the tuning split to be chosen: about the split's own noise, since
#: finer bins also make the extreme bins (and so the published odds at the ends of the scale) less stable.
AUTO_MARGIN = 0.002

FORMAT = "credo.scorecard"
FORMAT_VERSION = 1


def _sign_constrained_lr(W, y, C, sample_weight=None, max_iter=1000, class_weight=None, constrained=None):
    """L2 logistic regression (sklearn's objective: C * sum(log-loss) + ||b||^2 / 2,
    intercept unpenalised) with every coefficient constrained to be <= 0.

    On WoE inputs ("higher = safer") a positive coefficient for P(bad) would
    reverse the order of a feature's bins; the constraint keeps every feature's
    points in the order of its WoE. Features that want the wrong sign end at 0.
    """
    from scipy.optimize import minimize

    n, p = W.shape
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    if class_weight == "balanced":
        cnt = np.bincount(y, minlength=2).astype(float)
        w = w * (n / (2 * cnt))[y]
    elif isinstance(class_weight, Mapping):
        w = w * np.array([class_weight.get(0, 1.0), class_weight.get(1, 1.0)])[y]
    sgn = 2.0 * y - 1.0

    def f(theta):
        b, c = theta[:p], theta[p]
        m = W @ b + c
        z = -sgn * m
        loss = np.logaddexp(0.0, z)
        g = -sgn * w * (1.0 / (1.0 + np.exp(-z)))  # d loss / d m
        val = C * np.dot(w, loss) + 0.5 * np.dot(b, b)
        grad_b = C * (W.T @ g) + b
        return val, np.append(grad_b, C * g.sum())

    pbar = float(np.average(y, weights=w))
    x0 = np.zeros(p + 1)
    x0[p] = math.log(pbar / (1 - pbar))
    mask = np.ones(p, bool) if constrained is None else np.asarray(constrained, bool)
    bounds = [(None, 0.0) if c else (None, None) for c in mask] + [(None, None)]
    res = minimize(f, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": max_iter, "gtol": 1e-8, "ftol": 1e-12})
    b = np.where(mask, np.minimum(res.x[:p], 0.0), res.x[:p])
    return b, float(res.x[p])


class Scorecard(ScoreOutputsMixin, JsonArtifactMixin, ClassifierMixin, BaseEstimator):
    """Points scorecard estimator (scikit-learn conventions).

    Parameters
    ----------
    features : list of str, optional
        Columns to use (default: every column of ``X`` at fit time).
    categorical_features : list of str
        Columns binned as categories (optbinning ``dtype="categorical"``).
    special_values : dict feature -> list of float, or list of float, optional
        Values kept as their own bins with empirical WoE (a list applies to
        every numerical feature), e.g. ``[-9, -8, -7]`` for FICO HELOC.
    monotone_constraints : dict feature -> {+1, -1, 0, "auto"}, optional
        Risk direction per feature (see module docstring).
    binning_params : dict or "auto" (default)
        Extra ``optbinning.OptimalBinning`` parameters (``max_n_prebins``,
        ``min_prebin_size``, ``min_bin_size``, ``max_n_bins`` ...). ``"auto"``
        chooses among :data:`AUTO_BINNING` on a stratified tuning split of the
        training rows (``TUNING_SHARE``), by the AUC of the points total, then
        refits on all of them; the choice is kept in ``binning_params_``.
    feature_binning_params : dict feature -> dict, optional
        Binning parameters of single features, over ``binning_params`` (e.g.
        ``{"income": {"max_n_bins": 3}}`` coarsens one input: a less
        discriminatory alternative, :mod:`credo.fairness.search`).
    smoothing : float
        Pseudo-observations added to every bin when computing WoE.
    C, max_iter, class_weight : logistic-regression parameters (L2).
    drop_wrong_sign : True (default), "declared" or False
        Constrain coefficients to the sign that keeps a feature's points in
        the order of its WoE, so its points follow its bad rates (a feature
        that wants the wrong sign gets coefficient 0 and is reported in
        ``zeroed_features_``). ``"declared"`` constrains only the features
        whose direction is declared in ``monotone_constraints``; ``False`` is
        plain sklearn LR (points may then run against the bad rates).
    reason_codes : dict feature -> reason code, optional
        Codes from :mod:`credo.policy.reasons` (stated for any value outside
        the best range); unmapped features get ``RX:<feature>``.
    reason_rules : dict feature -> {"rules": [[op, threshold, code], ...], "missing": code}, optional
        When each feature's statements are true (:class:`credo.policy.reasons.ReasonRule`);
        takes precedence over ``reason_codes``.
    null_values : dict feature -> float, optional
        The value a missing entry stands for where missing is a fact (e.g. "no
        delinquency on record"), not a lack of data.
    own_bins : dict feature -> list of float, optional
        Values that always get a bin of their own at the edge of the range
        (0 late payments is never pooled with 1).
    tied_features : list of lists of str, optional
        Groups of collinear features that share one coefficient (their WoEs
        enter the regression summed), so each member keeps points in the
        order of its own WoE instead of the fit zeroing all but one of them
        (e.g. late payments counted over 3, 12 and 24 months).
    inquiry_feature : str, optional
        The feature that measures recent inquiries: reported as a 5th reason
        when it costs points and is not among the first ``k``.
    min_observed_features : int or callable, optional
        Minimum scoring criteria: the number of non-missing features required,
        or ``callable(X) -> boolean array`` (True = enough data).
    snap_splits : bool
        Snap cut points to bfloat16-representable values (see module docstring).
    n_jobs : int
        Threads for ``score_matrix`` (default: all cores).
    """

    def __init__(
        self,
        features: Sequence[str] | None = None,
        categorical_features: Sequence[str] = (),
        special_values: Mapping[str, Sequence[float]] | Sequence[float] | None = None,
        monotone_constraints: Mapping[str, Any] | None = None,
        binning_params: Mapping[str, Any] | str | None = "auto",
        feature_binning_params: Mapping[str, Mapping[str, Any]] | None = None,
        smoothing: float = 5.0,
        C: float = 1.0,
        max_iter: int = 1000,
        class_weight: Any = None,
        drop_wrong_sign: bool | str = True,
        reason_codes: Mapping[str, str] | None = None,
        reason_rules: Mapping[str, Any] | None = None,
        null_values: Mapping[str, float] | None = None,
        own_bins: Mapping[str, Sequence[float]] | None = None,
        tied_features: Sequence[Sequence[str]] | None = None,
        inquiry_feature: str | None = None,
        min_observed_features: int | Callable | None = None,
        snap_splits: bool = True,
        n_jobs: int | None = None,
    ):
        self.features = features
        self.categorical_features = categorical_features
        self.special_values = special_values
        self.monotone_constraints = monotone_constraints
        self.binning_params = binning_params
        self.feature_binning_params = feature_binning_params
        self.smoothing = smoothing
        self.C = C
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.drop_wrong_sign = drop_wrong_sign
        self.reason_codes = reason_codes
        self.reason_rules = reason_rules
        self.null_values = null_values
        self.own_bins = own_bins
        self.tied_features = tied_features
        self.inquiry_feature = inquiry_feature
        self.min_observed_features = min_observed_features
        self.snap_splits = snap_splits
        self.n_jobs = n_jobs

    # ------------------------------------------------------------ fit
    def _specials_for(self, f: str) -> list[float]:
        sv = self.special_values
        if sv is None:
            return []
        if isinstance(sv, Mapping):
            return [float(v) for v in sv.get(f, [])]
        return [float(v) for v in sv]

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "Scorecard":
        X = as_frame(X)
        y = as_target(y)
        own = dict(self.own_bins or {})
        self.binning_params_ = self._chosen_binning(X, y, sample_weight)
        feats = list(self.features) if self.features is not None else [str(c) for c in X.columns]
        check_columns(X, feats)
        cats = set(self.categorical_features or ())
        mono = dict(self.monotone_constraints or {})
        self.feature_names_in_ = np.asarray(feats, dtype=object)
        self.n_features_in_ = len(feats)
        self.classes_ = np.array([0, 1])
        self.binnings_ = {}
        X = self._filled(X)
        for f in feats:
            self.binnings_[f] = FeatureBinning.fit(
                f, X[f].to_numpy(), y,
                dtype="categorical" if f in cats else "numerical",
                specials=None if f in cats else self._specials_for(f),
                direction=mono.get(f), alpha=self.smoothing, snap=self.snap_splits,
                binning_params={**self.binning_params_, **(self.feature_binning_params or {}).get(f, {})},
                own_bins=own.get(f, ()),
            )
        W = np.column_stack([self.binnings_[f].transform(X[f].to_numpy()) for f in feats])
        T = self._tie_matrix(feats)
        Z = W @ T  # one regression input per tied group (their WoEs summed), one per other feature
        active = Z.std(axis=0) > 0  # constant-WoE inputs carry no information
        coef = np.zeros(T.shape[1])
        if not active.any():
            p = float(np.average(y, weights=sample_weight))
            intercept = math.log(p / (1 - p))
        elif self.drop_wrong_sign:
            declared = (np.array([mono.get(f) in (1, -1) for f in feats], float) @ T) > 0
            constrained = declared[active] if self.drop_wrong_sign == "declared" else None
            b, intercept = _sign_constrained_lr(Z[:, active], y, self.C, sample_weight, self.max_iter,
                                                self.class_weight, constrained)
            coef[active] = b
        else:
            lr = LogisticRegression(C=self.C, max_iter=self.max_iter, class_weight=self.class_weight)
            lr.fit(Z[:, active], y, sample_weight=sample_weight)
            coef[active] = lr.coef_[0]
            intercept = float(lr.intercept_[0])
        coef = T @ coef
        self.coef_ = coef
        self.intercept_ = intercept
        self.features_ = feats
        self.selected_features_ = [f for f, a in zip(feats, coef) if a != 0]
        self.zeroed_features_ = [f for f, a in zip(feats, coef) if a == 0]
        log_odds_good = -(intercept + W @ coef)
        best = -(intercept + sum(float(np.min(c * np.asarray(self.binnings_[f].woe, float)))
                                 for f, c in zip(feats, coef) if self.binnings_[f].woe))
        self.scaling_ = bands.fit_scaling(log_odds_good, best_log_odds=best)
        self._build_points()
        return self

    def _chosen_binning(self, X: pd.DataFrame, y: np.ndarray, sample_weight: Any) -> dict[str, Any]:
        """The pre-binning to use: as given, or ``"auto"``'s choice on a tuning split of these rows."""
        if self.binning_params != "auto":
            return dict(self.binning_params or {})
        counts = np.bincount(y, minlength=2)
        if len(y) < 1000 or counts.min() < 50 or sample_weight is not None:
            return dict(AUTO_BINNING[0])
        from sklearn.base import clone
        from sklearn.model_selection import train_test_split

        fit_rows, tune_rows = train_test_split(np.arange(len(y)), test_size=TUNING_SHARE, stratify=y,
                                               random_state=0)
        best, best_auc = AUTO_BINNING[0], -1.0
        for candidate in AUTO_BINNING:
            trial = clone(self).set_params(binning_params=candidate)
            trial.fit(X.iloc[fit_rows], y[fit_rows])
            got = roc_auc_score(y[tune_rows], -trial.score(X.iloc[tune_rows], clamp=False).to_numpy())
            if got > best_auc + AUTO_MARGIN:  # a finer grid must earn its place
                best, best_auc = candidate, got
        return dict(best)

    def _tie_matrix(self, feats: list[str]) -> np.ndarray:
        """(features × regression inputs) 0/1 matrix: each group of ``tied_features`` is one input."""
        column: dict[str, int] = {}
        n = 0
        for group in self.tied_features or ():
            members = [f for f in group if f in feats and f not in column]
            for f in members:
                column[f] = n
            n += bool(members)
        for f in feats:
            if f not in column:
                column[f] = n
                n += 1
        T = np.zeros((len(feats), n))
        T[np.arange(len(feats)), [column[f] for f in feats]] = 1.0
        return T

    def _build_points(self) -> None:
        factor = self.scaling_.factor
        base = self.scaling_.offset - factor * self.intercept_
        self.points_ = {}
        for f, b in zip(self.features_, self.coef_):
            raw = -factor * b * np.asarray(self.binnings_[f].woe, float)
            m = float(raw.min()) if raw.size else 0.0
            self.points_[f] = np.rint(raw - m).astype(np.int64)
            base += m
        self.base_points_ = int(round(base))
        self._fast = None

    def _bins(self, f: str, values: Any) -> np.ndarray:
        """Bin index of each value of feature ``f``, NULL read as its ``null_values`` entry."""
        fill = (self.null_values or {}).get(f)
        if fill is not None and self.binnings_[f].dtype == "numerical":
            v = np.asarray(values, dtype=np.float64)
            values = np.where(np.isnan(v), float(fill), v)
        return self.binnings_[f].bin_index(values)

    # ------------------------------------------------------------ checks
    def _check_fitted(self) -> None:
        if not hasattr(self, "points_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("Scorecard is not fitted yet; call fit(X, y)")

    def _frame(self, X: Any) -> pd.DataFrame:
        self._check_fitted()
        X = as_frame(X, columns=self.features_ if not isinstance(X, pd.DataFrame) else None)
        check_columns(X, self.features_)
        return X

    # ------------------------------------------------------------ model outputs
    def woe_transform(self, X: Any) -> pd.DataFrame:
        X = self._frame(X)
        return pd.DataFrame({f: np.asarray(self.binnings_[f].woe, float)[self._bins(f, X[f].to_numpy())]
                             for f in self.features_}, index=X.index)

    def decision_function(self, X: Any) -> pd.Series:
        """Log-odds of bad (unrounded logistic model)."""
        W = self.woe_transform(X)
        m = self.intercept_ + W.to_numpy() @ self.coef_
        return pd.Series(m, index=W.index, name="log_odds_bad")

    def predict_proba(self, X: Any) -> pd.DataFrame:
        """Probability of good (column 0) and bad (column 1), indexed like X."""
        m = self.decision_function(X)
        p = 1.0 / (1.0 + np.exp(-m.to_numpy()))
        return pd.DataFrame({0: 1 - p, 1: p}, index=m.index)

    def predict(self, X: Any) -> pd.Series:
        m = self.decision_function(X)
        return pd.Series((m.to_numpy() > 0).astype(int), index=m.index, name="bad")

    def points(self, X: Any) -> pd.DataFrame:
        """Integer points of each feature per row (the scorecard's own arithmetic)."""
        X = self._frame(X)
        return pd.DataFrame(
            {f: self.points_[f][self._bins(f, X[f].to_numpy())] for f in self.features_},
            index=X.index,
        )

    def score(self, X: Any, y: Any = None, clamp: bool = True):
        """Credit scores (int Series, 350..950, index kept).

        With ``y`` given, returns the ROC AUC of the scores instead, so that
        scikit-learn model selection (which calls ``score(X, y)``) works.
        ``clamp=False`` gives the integer points total before clamping.
        """
        P = self.points(X)
        tot = self.base_points_ + P.to_numpy().sum(axis=1)
        if clamp:
            tot = np.clip(tot, bands.SCORE_MIN, bands.SCORE_MAX)
        s = pd.Series(tot.astype(np.int64), index=P.index, name="score")
        if y is not None:
            return float(roc_auc_score(np.asarray(y), -s.to_numpy()))
        return s

    # ------------------------------------------------------------ reasons
    def shortfall(self, X: Any) -> pd.DataFrame:
        """Points below each feature's maximum, per row (0 = already at the best bin)."""
        P = self.points(X)
        mx = np.array([self.points_[f].max() for f in self.features_])
        return pd.DataFrame(mx[None, :] - P.to_numpy(), index=P.index, columns=self.features_)

    def reasons(self, X: Any, k: int = 4) -> pd.DataFrame:
        """Principal reasons per row: true statements about the features with the largest shortfall.

        Columns ``reason_1 .. reason_{k+1}`` (None when absent); the last column
        only ever holds the inquiry reason (5th reason rule). A score at the top
        of the range has none (see :func:`credo.model._common.select_reasons`).
        """
        X = self._frame(X)
        P = self.points(X).to_numpy()
        best = np.array([self.points_[f].max() for f in self.features_])
        scores = np.clip(self.base_points_ + P.sum(axis=1), bands.SCORE_MIN, bands.SCORE_MAX)
        return self._reasons_from_cost(X, best[None, :] - P, scores, k)

    # ------------------------------------------------------------ what the model publishes
    def point_ranges(self) -> dict[str, int]:
        """Each feature's point range (its best bin's points minus its worst's)."""
        self._check_fitted()
        return {f: int(self.points_[f].max() - self.points_[f].min()) for f in self.features_}

    def direction_report(self, min_count: float = 30.0) -> pd.DataFrame:
        """Per feature: its risk direction (declared or from the data), its weight, and the bins whose
        points disagree with their observed bad rate (a riskier bin with more points than a safer one,
        among bins of at least ``min_count`` training rows)."""
        self._check_fitted()
        declared = dict(self.monotone_constraints or {})
        rows = []
        for f, c in zip(self.features_, self.coef_):
            b = self.binnings_[f]
            pts, rate, cnt = self.points_[f], b.event_rate, b.counts
            ok = np.flatnonzero(cnt >= min_count)
            bad_pairs = [(b.bin_labels()[i], b.bin_labels()[j]) for i in ok for j in ok
                         if rate[i] > rate[j] + 1e-12 and pts[i] > pts[j]]
            rows.append({"feature": f, "declared": declared.get(f) in (1, -1), "trend": b.trend,
                         "coef": float(c), "zeroed": bool(c == 0), "point_range": int(pts.max() - pts.min()),
                         "exceptions": len(bad_pairs),
                         "example": f"{bad_pairs[0][0]} has more bad and more points than {bad_pairs[0][1]}"
                         if bad_pairs else ""})
        return pd.DataFrame(rows)

    def points_table(self) -> pd.DataFrame:
        self._check_fitted()
        rows = []
        for f in self.features_:
            b = self.binnings_[f]
            for i, (lab, pts) in enumerate(zip(b.bin_labels(), self.points_[f])):
                rows.append({"feature": f, "bin": i, "label": lab, "points": int(pts),
                             "woe": b.woe[i], "count": b.counts[i], "event_rate": b.event_rate[i],
                             "reason_code": self.reason_code_of(f)})
        return pd.DataFrame(rows)

    # ------------------------------------------------------------ fast batch path
    def _compile(self) -> Any:
        """The compiled kernel's tables (:mod:`credo.model.kernel`), built once per fitted scorecard;
        None when a feature is categorical (those are scored by the numpy path)."""
        if getattr(self, "_fast", None) is not None:
            return self._fast[0]
        if any(self.binnings_[f].dtype != "numerical" for f in self.features_):
            self._fast = (None,)
            return None
        from credo.model import kernel  # numba is imported (and the kernel compiled) on first use only

        self._fast = (kernel.build_tables([self.binnings_[f] for f in self.features_],
                                          [self.points_[f] for f in self.features_],
                                          [int(self._bins(f, [np.nan])[0]) for f in self.features_]),)
        return self._fast[0]

    def _exact_rows(self, M: np.ndarray) -> np.ndarray:
        tot = np.zeros(M.shape[0], dtype=np.int64)
        for j, f in enumerate(self.features_):
            tot += self.points_[f][self._bins(f, M[:, j])]
        return tot

    def score_matrix(self, M: np.ndarray, chunk_rows: int = 131072) -> np.ndarray:
        """Batch scoring of an (n, p) float matrix, columns in ``features_`` order.

        Returns an int16 array of scores, identical to :meth:`score`. A
        C-contiguous float32 matrix of a numerical scorecard takes the compiled
        table kernel (:mod:`credo.model.kernel`): row blocks of ``chunk_rows``
        on ``n_jobs`` threads (the kernel releases the GIL). Anything else is
        scored exactly with numpy searchsorted per column.
        """
        self._check_fitted()
        M = np.asarray(M)
        if M.ndim != 2 or M.shape[1] != len(self.features_):
            raise ValueError(f"expected shape (n, {len(self.features_)})")
        tables = self._compile()
        n = M.shape[0]
        out = np.empty(n, dtype=np.int16)
        lo, hi = bands.SCORE_MIN, bands.SCORE_MAX
        if tables is None or M.dtype != np.float32 or not M.flags.c_contiguous:
            tot = self._exact_rows(M.astype(np.float64, copy=False)) + self.base_points_
            out[:] = np.clip(tot, lo, hi)
            return out
        from credo.model.kernel import run_float32

        base = self.base_points_
        threads = self.n_jobs or os.cpu_count() or 1
        starts = range(0, n, max(1, chunk_rows))
        if threads <= 1 or len(starts) <= 1:
            run_float32(tables, M, base, lo, hi, 0, n, out)
        else:
            with ThreadPoolExecutor(min(threads, len(starts))) as ex:
                list(ex.map(lambda a: run_float32(tables, M, base, lo, hi, a, min(a + chunk_rows, n), out), starts))
        return out

    # ------------------------------------------------------------ artifacts
    def to_dict(self) -> dict:
        self._check_fitted()
        params = self.artifact_params()
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "scaling": self.scaling_.to_dict(),
            "params": params,
            "binning_params_used": dict(self.binning_params_),
            "intercept": float(self.intercept_),
            "base_points": int(self.base_points_),
            "features": [
                {"name": f, "coef": float(c), "reason_code": self.reason_code_of(f),
                 "binning": self.binnings_[f].to_dict(),
                 "points": [int(v) for v in self.points_[f]]}
                for f, c in zip(self.features_, self.coef_)
            ],
        }


    @classmethod
    def from_dict(cls, d: dict) -> "Scorecard":
        check_artifact(d, FORMAT, FORMAT_VERSION)
        sc = cls(**d["params"])
        feats = [e["name"] for e in d["features"]]
        sc.features_ = feats
        sc.feature_names_in_ = np.asarray(feats, dtype=object)
        sc.n_features_in_ = len(feats)
        sc.classes_ = np.array([0, 1])
        sc.binnings_ = {e["name"]: FeatureBinning.from_dict(e["binning"]) for e in d["features"]}
        sc.coef_ = np.array([e["coef"] for e in d["features"]], dtype=float)
        sc.intercept_ = float(d["intercept"])
        sc.points_ = {e["name"]: np.asarray(e["points"], dtype=np.int64) for e in d["features"]}
        sc.base_points_ = int(d["base_points"])
        sc.selected_features_ = [f for f, c in zip(feats, sc.coef_) if c != 0]
        sc.zeroed_features_ = [f for f, c in zip(feats, sc.coef_) if c == 0]
        sc.binning_params_ = dict(d.get("binning_params_used", {}))
        sc.scaling_ = bands.Scaling.from_dict(d["scaling"])
        sc._fast = None
        return sc


    # ------------------------------------------------------------ SQL
    def to_sql(self, table: str = "features", key: Sequence[str] | None = None,
               include_points: bool = False) -> str:
        """A portable SELECT computing the score (CASE WHEN per feature).

        Missing values must be SQL NULL. Works in DuckDB, SQLite, PostgreSQL.
        ``key`` columns are passed through (default: all columns of ``table``).
        """
        self._check_fitted()

        def q(name: str) -> str:
            return '"' + str(name).replace('"', '""') + '"'

        def lit(v: float) -> str:
            return repr(float(v))

        cases = []
        for f in self.features_:
            b = self.binnings_[f]
            pts = self.points_[f]
            fill = (self.null_values or {}).get(f)
            col = f"f.{q(f)}" if fill is None else f"COALESCE(f.{q(f)}, {lit(fill)})"
            parts = [f"WHEN {col} IS NULL THEN {int(pts[b.missing_bin])}"]
            if b.dtype == "categorical":
                for i, grp in enumerate(b.categories):
                    vals = ", ".join("'" + c.replace("'", "''") + "'" for c in grp)
                    parts.append(f"WHEN CAST({col} AS VARCHAR) IN ({vals}) THEN {int(pts[i])}")
                els = int(pts[b.missing_bin])
            else:
                for j, sv in enumerate(b.specials):
                    parts.append(f"WHEN {col} = {lit(sv)} THEN {int(pts[b.special_bin(j)])}")
                for i, s in enumerate(b.splits):
                    parts.append(f"WHEN {col} < {lit(s)} THEN {int(pts[i])}")
                els = int(pts[len(b.splits)])
            cases.append((f, "CASE " + " ".join(parts) + f" ELSE {els} END"))
        raw = " + ".join([str(self.base_points_)] + [f"({c})" for _, c in cases])
        sel = ", ".join(f"f.{q(k)}" for k in key) if key else "f.*"
        pts_cols = "".join(f",\n  {c} AS {q('points_' + f)}" for f, c in cases) if include_points else ""
        lo, hi = bands.SCORE_MIN, bands.SCORE_MAX
        return (
            f"SELECT s.*, CASE WHEN s.credo_raw < {lo} THEN {lo} WHEN s.credo_raw > {hi} THEN {hi} "
            f"ELSE s.credo_raw END AS score\nFROM (\n SELECT {sel}{pts_cols},\n  {raw} AS credo_raw\n"
            f" FROM {q(table)} AS f\n) AS s"
        )


__all__ = ["Scorecard"]
