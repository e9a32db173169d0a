import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from credo.model import NOT_ENOUGH_DATA, Scorecard
from credo.policy import bands
from credo.policy.reasons import MIN_REASON_POINTS

from credo_model_synth import make_data

NUM = ["late_payments", "utilisation", "history_months", "inquiries", "bureau_risk"]
value = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                  st.sampled_from([np.nan, -9.0, -8.0, 0.0, -0.0, 1.0, 0.5]))


def test_init_stores_params_only_and_clone():
    sc = Scorecard(C=0.5, special_values={"a": [-9]}, reason_codes={"a": "R01"})
    assert set(vars(sc)) == set(sc.get_params())
    c = clone(sc)
    assert c.get_params() == sc.get_params() and not hasattr(c, "points_")
    c.set_params(C=2.0)
    assert c.C == 2.0 and sc.C == 0.5


def test_clone_of_fitted_refits_identically(data, fitted_scorecard):
    X, y = data
    again = clone(fitted_scorecard).fit(X, y)
    pd.testing.assert_series_equal(again.score(X), fitted_scorecard.score(X))


def test_index_preserved_on_every_output(data, fitted_scorecard):
    X, _ = data
    Xs = X.iloc[::7]
    sc = fitted_scorecard
    for out in (sc.score(Xs), sc.decision_function(Xs), sc.predict(Xs), sc.predict_proba(Xs), sc.points(Xs),
                sc.reasons(Xs), sc.shortfall(Xs), sc.woe_transform(Xs), sc.eligible(Xs),
                sc.score_or_not_enough_data(Xs)):
        assert out.index.equals(Xs.index)


def test_points_table_is_the_scorer(data, fitted_scorecard):
    X, _ = data
    sc = fitted_scorecard
    raw = sc.base_points_ + sc.points(X).sum(axis=1)
    pd.testing.assert_series_equal(sc.score(X), raw.clip(350, 950).rename("score"), check_dtype=False)
    assert sc.score(X).dtype.kind == "i"
    for f in sc.features_:
        assert sc.points_[f].dtype.kind == "i" and sc.points_[f].min() == 0
    # integer points track the logistic model closely
    lo = sc.decision_function(X)
    approx = sc.scaling_.offset - sc.scaling_.factor * lo
    inside = (approx > 360) & (approx < 940)
    assert (sc.score(X, clamp=False) - approx)[inside].abs().max() <= len(sc.features_) / 2 + 1


def test_special_and_missing_bins_have_empirical_woe(fitted_scorecard):
    b = fitted_scorecard.binnings_["bureau_risk"]
    assert b.specials == [-9.0, -8.0]
    for j in range(2):
        i = b.special_bin(j)
        assert b.counts[i] > 50 and b.woe[i] != 0.0
        er = b.n_event[i] / b.counts[i]
        total = sum(b.n_event) / sum(b.counts)
        assert np.sign(b.woe[i]) == np.sign(np.log((1 - er) / er) - np.log((1 - total) / total))
    h = fitted_scorecard.binnings_["history_months"]
    assert h.counts[h.missing_bin] > 100 and h.woe[h.missing_bin] != 0.0
    # an empty missing bin gets the prior: WoE exactly 0
    assert b.counts[b.missing_bin] == 0 and b.woe[b.missing_bin] == 0.0


def test_declared_direction_gives_monotone_points(data):
    X, y = data
    sc = Scorecard(features=NUM, special_values={"bureau_risk": [-9.0, -8.0]},
                   monotone_constraints={"late_payments": 1, "history_months": -1}).fit(X, y)
    lp = sc.points_["late_payments"][: sc.binnings_["late_payments"].n_regular]
    hm = sc.points_["history_months"][: sc.binnings_["history_months"].n_regular]
    assert np.all(np.diff(lp) <= 0) and np.all(np.diff(hm) >= 0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(*[value] * 5, st.sampled_from(["own", "rent", "free", "??", None])),
                     min_size=1, max_size=20))
def test_score_is_int_in_range_for_any_input(fitted_scorecard, rows):
    X = pd.DataFrame(rows, columns=NUM + ["housing"])
    s = fitted_scorecard.score(X)
    assert s.dtype.kind == "i"
    assert ((s >= 350) & (s <= 950)).all()
    r = fitted_scorecard.reasons(X)
    assert r.shape == (len(X), 5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(*[value] * 5), min_size=1, max_size=50))
def test_score_matrix_matches_score(numeric_scorecard, rows):
    M = np.array(rows, dtype=np.float64)
    with np.errstate(over="ignore"):
        M32 = M.astype(np.float32)
    expected = numeric_scorecard.score(pd.DataFrame(M32.astype(np.float64), columns=NUM)).to_numpy()
    np.testing.assert_array_equal(numeric_scorecard.score_matrix(M32, chunk_rows=16), expected)
    np.testing.assert_array_equal(
        numeric_scorecard.score_matrix(M), numeric_scorecard.score(pd.DataFrame(M, columns=NUM)).to_numpy())


def test_score_matrix_exact_at_split_points_and_large_batches(data, numeric_scorecard):
    sc = numeric_scorecard
    cand = []
    for f in sc.features_:
        b = sc.binnings_[f]
        vals = []
        for s in b.splits:
            s32 = np.float32(s)
            vals += [s32, np.nextafter(s32, np.float32(-np.inf)), np.nextafter(s32, np.float32(np.inf))]
        vals += [*b.specials, np.nan, np.inf, -np.inf, 0.0]
        cand.append(np.array(vals, dtype=np.float32))
    rng = np.random.default_rng(1)
    M = np.column_stack([rng.choice(c, 200_000) for c in cand]).astype(np.float32)
    expected = sc.score(pd.DataFrame(M.astype(np.float64), columns=sc.features_)).to_numpy()
    np.testing.assert_array_equal(sc.score_matrix(M), expected)
    X, _ = data
    Xn = X[sc.features_].astype(np.float32)
    np.testing.assert_array_equal(sc.score_matrix(np.ascontiguousarray(Xn.to_numpy())),
                                  sc.score(Xn.astype(np.float64)).to_numpy())


def test_reasons_are_the_largest_shortfalls(data, fitted_scorecard):
    X, _ = data
    sc = fitted_scorecard
    Xs = X.iloc[:300]
    S = sc.shortfall(Xs)
    R = sc.reasons(Xs, k=4)
    code = {f: sc.reason_code_of(f) for f in sc.features_}
    capped = sc.score(Xs) >= bands.SCORE_MAX
    for idx in Xs.index:
        s = S.loc[idx]
        order = sorted([f for f in sc.features_ if s[f] >= MIN_REASON_POINTS],
                       key=lambda f: (-s[f], sc.features_.index(f)))
        said = {f: code[f] if pd.notna(Xs.loc[idx, f]) else f"RM:{f}" for f in sc.features_}
        expected = []
        for f in order:
            if len(expected) < 4 and said[f] not in expected:
                expected.append(said[f])
        if s["inquiries"] >= MIN_REASON_POINTS and said["inquiries"] not in expected:
            expected.append(said["inquiries"])
        if capped.loc[idx]:
            expected = []
        got = [c for c in R.loc[idx] if c is not None]
        assert got == expected
        assert len(got) <= 5 and "too low" not in " ".join(got)


def test_reason_fidelity_top_reason_moves_score_most(data, fitted_scorecard):
    X, _ = data
    sc = fitted_scorecard
    Xs = X.iloc[:200]
    best_value = {}
    for f in sc.features_:
        b = sc.binnings_[f]
        i = int(np.argmax(sc.points_[f]))
        if b.dtype == "categorical":
            best_value[f] = b.categories[i][0] if i < b.n_regular else None
        elif i < b.n_regular:
            edges = [-1e300, *b.splits]
            best_value[f] = edges[i] if i > 0 else b.splits[0] - 1 if b.splits else 0.0
        elif i == b.missing_bin:
            best_value[f] = np.nan
        else:
            best_value[f] = b.specials[i - b.n_regular]
    base = sc.score(Xs)
    gains = {}
    for f in sc.features_:
        Xm = Xs.copy()
        Xm[f] = best_value[f]
        assert (sc.points(Xm)[f] == sc.points_[f].max()).all()
        gains[f] = sc.score(Xm) - base
    G = pd.DataFrame(gains)
    R = sc.reasons(Xs)
    feat_of = {sc.reason_code_of(f): f for f in sc.features_} | {f"RM:{f}": f for f in sc.features_}
    n_checked = 0
    for idx in Xs.index:
        top = R.loc[idx, "reason_1"]
        if top is None:
            continue
        n_checked += 1
        assert G.loc[idx, feat_of[top]] >= G.loc[idx].max()
    assert n_checked > 100


def test_json_round_trip_identical(data, fitted_scorecard):
    X, _ = data
    js = fitted_scorecard.to_json()
    d = json.loads(js)
    assert d["format"] == "credo.scorecard" and d["version"] == 1
    sc2 = Scorecard.from_json(js)
    pd.testing.assert_series_equal(sc2.score(X), fitted_scorecard.score(X))
    pd.testing.assert_frame_equal(sc2.reasons(X.iloc[:100]), fitted_scorecard.reasons(X.iloc[:100]))
    pd.testing.assert_series_equal(sc2.decision_function(X), fitted_scorecard.decision_function(X))
    assert sc2.to_json() == js


def _sql_frame(X: pd.DataFrame) -> pd.DataFrame:
    F = X.copy()
    F.insert(0, "consumer_id", X.index.to_numpy())
    return F.astype(object).where(F.notna(), None)


def test_sql_export_matches_in_duckdb_and_sqlite(data, fitted_scorecard):
    import duckdb

    X, _ = data
    Xs = pd.concat([X.iloc[:1500], pd.DataFrame(
        {"late_payments": [np.nan, 1e9], "utilisation": [-1e9, np.nan], "history_months": [0.0, 1e12],
         "inquiries": [np.nan, 0.0], "bureau_risk": [-9.0, -7.0], "housing": ["unknown", None]},
        index=[1, 2])])
    expected = fitted_scorecard.score(Xs)
    F = _sql_frame(Xs)
    sql = fitted_scorecard.to_sql(table="features", key=["consumer_id"])

    con = duckdb.connect()
    con.execute("CREATE TABLE features (consumer_id BIGINT, late_payments DOUBLE, utilisation DOUBLE, "
                "history_months DOUBLE, inquiries DOUBLE, bureau_risk DOUBLE, housing VARCHAR)")
    con.executemany("INSERT INTO features VALUES (?, ?, ?, ?, ?, ?, ?)", F.values.tolist())
    got = con.execute(sql).fetchdf().set_index("consumer_id")["score"]
    assert (got.loc[expected.index].to_numpy() == expected.to_numpy()).all()

    lite = sqlite3.connect(":memory:")
    lite.execute("CREATE TABLE features (consumer_id INTEGER, late_payments REAL, utilisation REAL, "
                 "history_months REAL, inquiries REAL, bureau_risk REAL, housing TEXT)")
    lite.executemany("INSERT INTO features VALUES (?, ?, ?, ?, ?, ?, ?)", F.values.tolist())
    rows = {r[0]: r[-1] for r in lite.execute(sql).fetchall()}
    assert all(rows[i] == s for i, s in expected.items())


def test_not_enough_data_rule(data):
    X, y = data
    sc = Scorecard(features=NUM, special_values={"bureau_risk": [-9.0, -8.0]}, min_observed_features=3).fit(X, y)
    Xt = X[NUM].iloc[:3].copy()
    Xt.iloc[0, :] = np.nan
    Xt.iloc[1, :3] = np.nan
    out = sc.score_or_not_enough_data(Xt)
    assert out.iloc[0] == NOT_ENOUGH_DATA and out.iloc[1] == NOT_ENOUGH_DATA
    assert isinstance(out.iloc[2], (int, np.integer)) and 350 <= out.iloc[2] <= 950


def test_bands_monotone_in_observed_bad_rate():
    X, y = make_data(n=60_000, seed=3, intercept=-4.5)
    sc = Scorecard(features=NUM, special_values={"bureau_risk": [-9.0, -8.0]}).fit(X.iloc[:30_000], y.iloc[:30_000])
    s = sc.score(X.iloc[30_000:])
    yt = y.iloc[30_000:]
    bi = bands.band_index(s.to_numpy())
    rates = [yt.to_numpy()[bi == i].mean() for i in range(len(bands.BANDS)) if (bi == i).sum() >= 200]
    assert len(rates) >= 4
    assert all(a > b for a, b in zip(rates, rates[1:]))


def test_unfitted_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        Scorecard().score(pd.DataFrame({"a": [1.0]}))


def test_tied_features_share_one_coefficient_and_keep_their_own_points():
    """Two collinear counts of the same records: fitted apart the regression may zero one; tied, both
    carry points in the order of their own WoE."""
    rng = np.random.default_rng(5)
    n = 6000
    z = rng.normal(size=n)
    late_12m = rng.poisson(np.exp(0.3 - 0.8 * z))
    late_24m = late_12m + rng.poisson(0.3, n)
    y = (rng.random(n) < 1 / (1 + np.exp(2.0 + 1.2 * z))).astype(int)
    X = pd.DataFrame({"late_12m": late_12m.astype(float), "late_24m": late_24m.astype(float)})
    sc = Scorecard(monotone_constraints={"late_12m": 1, "late_24m": 1},
                   tied_features=[["late_12m", "late_24m"]], own_bins={"late_12m": [0.0], "late_24m": [0.0]}).fit(X, y)
    assert sc.coef_[0] == sc.coef_[1] < 0
    for f in ("late_12m", "late_24m"):
        assert sc.point_ranges()[f] > 0
        b = sc.binnings_[f]
        assert b.splits[0] == 0.5  # none is never pooled with some
    assert sc.zeroed_features_ == []
    assert Scorecard.from_json(sc.to_json()).tied_features == [["late_12m", "late_24m"]]


def test_a_column_without_declared_direction_follows_its_bad_rates():
    """No column runs backwards: a feature whose risk falls with its value, not declared, gets points that
    rise with the value; the direction report lists no exception."""
    rng = np.random.default_rng(9)
    n = 8000
    income = rng.lognormal(8, 0.6, n)
    noise = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(1.0 + 0.9 * (np.log(income) - 8) / 0.6 + 0.5 * noise))).astype(int)
    X = pd.DataFrame({"income": income, "noise": noise})
    sc = Scorecard().fit(X, y)
    pts = sc.points(pd.DataFrame({"income": np.quantile(income, [0.05, 0.5, 0.95]), "noise": 0.0}))["income"]
    assert pts.is_monotonic_increasing and pts.iloc[-1] > pts.iloc[0]
    report = sc.direction_report()
    assert (report["exceptions"] == 0).all()
    assert set(report["feature"]) == {"income", "noise"}


def test_direction_report_flags_a_bin_with_more_bad_and_more_points(data, fitted_scorecard):
    """A points table that runs backwards is flagged, naming the feature and the bins."""
    sc = Scorecard.from_json(fitted_scorecard.to_json())
    assert (sc.direction_report()["exceptions"] == 0).all()
    b = sc.binnings_["utilisation"]
    worst = int(np.nanargmax(np.where(b.counts >= 30, b.event_rate, np.nan)))
    sc.points_["utilisation"] = sc.points_["utilisation"].copy()
    sc.points_["utilisation"][worst] = sc.points_["utilisation"].max() + 10
    report = sc.direction_report().set_index("feature")
    assert report.loc["utilisation", "exceptions"] > 0
    assert b.bin_labels()[worst] in report.loc["utilisation", "example"]
    assert report.drop(index="utilisation")["exceptions"].eq(0).all()
