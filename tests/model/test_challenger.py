import json

import numpy as np
import pandas as pd
from sklearn.base import clone

from credo.model import MonotoneChallenger
from credo.model.challenger import infer_direction
from credo.policy import bands
from credo.policy.reasons import MIN_REASON_POINTS


def test_init_stores_params_only_and_clone():
    m = MonotoneChallenger(num_leaves=7, monotone_constraints={"a": 1})
    assert set(vars(m)) == set(m.get_params())
    c = clone(m)
    assert c.get_params() == m.get_params() and not hasattr(c, "booster_")


def test_directions(fitted_challenger):
    d = fitted_challenger.directions_
    assert d["late_payments"] == 1 and d["history_months"] == -1  # declared
    assert d["utilisation"] == 1 and d["inquiries"] == 1  # inferred (Spearman sign)
    assert d["housing"] == 0
    x = np.linspace(-1, 1, 2000)
    y = (np.abs(x) > 0.6).astype(int)  # U-shaped
    assert infer_direction(x, y, "spearman_checked") == 0
    assert infer_direction(x, (x > 0.3).astype(int), "spearman_checked") == 1


def test_index_preserved(data, fitted_challenger):
    X, _ = data
    Xs = X.iloc[::11]
    m = fitted_challenger
    for out in (m.score(Xs), m.decision_function(Xs), m.predict(Xs), m.predict_proba(Xs), m.contributions(Xs),
                m.explain(Xs), m.reasons(Xs), m.eligible(Xs)):
        assert out.index.equals(Xs.index)


def test_monotone_in_risk_increasing_features(data, fitted_challenger):
    X, _ = data
    m = fitted_challenger
    rows = X.iloc[:40]
    for f in ["late_payments", "utilisation", "inquiries"]:
        assert m.directions_[f] == 1
        grid = np.linspace(X[f].min(), X[f].max() * 1.5, 25)
        prev = None
        for v in grid:
            Xm = rows.copy()
            Xm[f] = v
            s = m.score(Xm).to_numpy()
            if prev is not None:
                assert np.all(s <= prev), f  # more risk never raises the score
            prev = s
    grid = np.linspace(0, 400, 25)  # history_months: risk decreasing
    prev = None
    for v in grid:
        Xm = rows.copy()
        Xm["history_months"] = v
        s = m.score(Xm).to_numpy()
        if prev is not None:
            assert np.all(s >= prev)
        prev = s


def test_attributions_sum_to_margin_and_reasons(data, fitted_challenger):
    X, _ = data
    m = fitted_challenger
    Xs = X.iloc[:500]
    C = m.contributions(Xs)
    np.testing.assert_allclose(C.sum(axis=1), m.decision_function(Xs), atol=1e-9)
    sc = m.scaling_
    raw = sc.offset - sc.factor * m.decision_function(Xs)
    np.testing.assert_allclose(m.explain(Xs).sum(axis=1) + sc.offset - sc.factor * C["bias"], raw, atol=1e-6)
    R = m.reasons(Xs)
    code = {f: m.reason_code_of(f) for f in m.features_}
    cost = -m.explain(Xs)
    capped = m.score(Xs) >= bands.SCORE_MAX
    for idx in Xs.index[:200]:
        c = cost.loc[idx, m.features_]
        # a feature is a reason when it costs at least the policy minimum; a missing value is said as
        # not provided, never as the behaviour the feature measures
        order = sorted([f for f in m.features_ if c[f] >= MIN_REASON_POINTS],
                       key=lambda f: (-c[f], m.features_.index(f)))
        said = {f: code[f] if pd.notna(Xs.loc[idx, f]) else f"RM:{f}" for f in m.features_}
        exp = []
        for f in order:
            if len(exp) == 4:
                break
            if said[f] not in exp:
                exp.append(said[f])
        if c["inquiries"] >= MIN_REASON_POINTS and said["inquiries"] not in exp:
            exp.append(said["inquiries"])
        if capped.loc[idx]:
            exp = []
        assert [r for r in R.loc[idx] if r is not None] == exp


def test_scores_in_range_and_json_round_trip(data, fitted_challenger):
    X, _ = data
    m = fitted_challenger
    s = m.score(X)
    assert s.dtype.kind == "i" and s.between(350, 950).all()
    js = m.to_json()
    d = json.loads(js)
    assert d["format"] == "credo.challenger" and "tree" in d["lightgbm_model"].lower()
    m2 = MonotoneChallenger.from_json(js)
    pd.testing.assert_series_equal(m2.score(X), s)
    pd.testing.assert_frame_equal(m2.contributions(X.iloc[:50]), m.contributions(X.iloc[:50]))
    weird = pd.DataFrame({"late_payments": [np.nan, 1e12], "utilisation": [np.inf, -np.inf],
                          "history_months": [np.nan, 0.0], "inquiries": [0.0, np.nan],
                          "bureau_risk": [-9.0, -8.0], "housing": ["never-seen", None]}, index=[7, 3])
    ws = m.score(weird)
    assert ws.between(350, 950).all() and list(ws.index) == [7, 3]
