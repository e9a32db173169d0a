import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credo.policy import bands, reasons


def test_band_boundaries():
    assert bands.band_of(350).name == "poor"
    assert bands.band_of(549).name == "poor"
    assert bands.band_of(550).name == "fair"
    assert bands.band_of(599).name == "fair"
    assert bands.band_of(600).name == "good"
    assert bands.band_of(649).name == "good"
    assert bands.band_of(650).name == "very good"
    assert bands.band_of(699).name == "very good"
    assert bands.band_of(700).name == "excellent"
    assert bands.band_of(950).name == "excellent"
    for bad in (349, 951):
        with pytest.raises(ValueError):
            bands.band_of(bad)
    with pytest.raises(TypeError):
        bands.band_of(600.0)


def test_bands_tile_the_range():
    assert bands.BANDS[0].lower == bands.SCORE_MIN and bands.BANDS[-1].upper == bands.SCORE_MAX
    for a, b in zip(bands.BANDS, bands.BANDS[1:]):
        assert b.lower == a.upper + 1
    s = np.arange(350, 951)
    assert [bands.BANDS[i].name for i in bands.band_index(s)] == [bands.band_of(int(v)).name for v in s]


def test_scaling_anchor_and_expected_bad_rates():
    sc = bands.DEFAULT_SCALING
    assert np.isclose(sc.odds_at(sc.base_score), sc.base_odds)
    assert np.isclose(sc.odds_at(sc.base_score + sc.pdo), 2 * sc.base_odds)
    table = bands.band_table(sc)
    rates = [row["expected_bad_rate"] for row in table]
    assert all(a > b for a, b in zip(rates, rates[1:]))  # better band, lower bad rate
    for b, r in zip(bands.BANDS, rates):
        assert sc.bad_rate_at(b.upper) <= r <= sc.bad_rate_at(b.lower)
    assert len(table) == 5
    assert bands.Scaling.from_dict(sc.to_dict()) == sc


@settings(max_examples=60, deadline=None)
@given(mean=st.floats(-3, 5), spread=st.floats(0.2, 3), size=st.integers(200, 5000), seed=st.integers(0, 99),
       headroom=st.floats(0, 2))
def test_fitted_scaling_uses_the_whole_range(mean, spread, size, seed, headroom):
    """The published rule: at most the cap share of the training population sits at 950 (a best
    achievable file below that quantile scores exactly 950) and at most the floor share at 350."""
    log_odds = np.random.default_rng(seed).normal(mean, spread, size)
    best = float(log_odds.max() + headroom)
    sc = bands.fit_scaling(log_odds, best_log_odds=best)
    assert sc.score_from_log_odds(best, clamp=False) >= bands.SCORE_MAX - 1e-9
    assert np.mean(sc.score_from_log_odds(log_odds) >= bands.SCORE_MAX - 1e-9) <= bands.CAP_SHARE + 1.0 / size
    low_best = float(np.quantile(log_odds, 0.5))
    assert np.isclose(bands.fit_scaling(log_odds, best_log_odds=low_best).score_from_log_odds(low_best, clamp=False),
                      bands.SCORE_MAX)
    at_floor = np.mean(sc.score_from_log_odds(log_odds) <= bands.SCORE_MIN + 1e-9)
    assert at_floor <= bands.FLOOR_SHARE + 1.0 / size
    assert sc.base_score == bands.ANCHOR_SCORE and sc.pdo > 0
    assert np.isclose(sc.log_odds_from_score(sc.score_from_log_odds(0.3, clamp=False)), 0.3)
    # without a known best, the top CAP_SHARE quantile maps to 950
    top = bands.fit_scaling(log_odds)
    assert np.mean(top.score_from_log_odds(log_odds) >= bands.SCORE_MAX - 1e-9) <= bands.CAP_SHARE + 1.0 / size


def test_band_table_expected_rate_is_the_training_members_mean():
    sc = bands.Scaling(600, 20, 50)
    scores = np.array([400, 500, 560, 720, 900])
    table = bands.band_table(sc, scores)
    assert np.isclose(table[0]["expected_bad_rate"], np.mean(sc.bad_rate_at(np.array([400, 500]))))
    assert table[0]["training_share"] == 0.4
    # a band without training members publishes the scaling's mean over its integer scores
    assert np.isclose(table[2]["expected_bad_rate"], np.mean(sc.bad_rate_at(np.arange(600, 650))))


def test_reason_catalogue():
    assert len(reasons.FACTOR_GROUPS) == 5
    codes = [r.code for r in reasons.REASON_CODES]
    assert len(set(codes)) == len(codes)
    groups = {g.code for g in reasons.FACTOR_GROUPS}
    for r in reasons.REASON_CODES:
        assert r.group in groups and r.text and r.action
        assert "too low" not in r.text.lower()
    assert reasons.reason(reasons.INQUIRY_REASON).group == "obligations_mix"
    g = reasons.reason("RX:some_feature")
    assert g.code == "RX:some_feature" and "too low" not in g.text.lower()
    with pytest.raises(KeyError):
        reasons.reason("R999")


def test_reason_rules_state_only_what_holds():
    rule = reasons.ReasonRule(">=", 30, "R02")
    assert list(rule.holds([0, 29, 30, np.nan])) == [False, False, True, False]
    assert list(reasons.ReasonRule("any", None, "R07").holds([1.0, np.nan])) == [True, False]
    assert reasons.ReasonRule.from_list(rule.to_list()) == rule
    m = reasons.reason("RM:monthly_income")
    assert "no value" in m.text.lower() and "monthly income" in m.text
