import numpy as np
import pytest

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
    assert np.isclose(bands.odds_at(bands.BASE_SCORE), bands.BASE_ODDS)
    assert np.isclose(bands.odds_at(bands.BASE_SCORE + bands.PDO), 2 * bands.BASE_ODDS)
    rates = [bands.expected_bad_rate(b) for b in bands.BANDS]
    assert all(a > b for a, b in zip(rates, rates[1:]))  # better band, lower bad rate
    for b, r in zip(bands.BANDS, rates):
        assert bands.bad_rate_at(b.upper) <= r <= bands.bad_rate_at(b.lower)
    assert len(bands.published_table()) == 5


def test_reason_catalogue():
    assert sum(g.weight for g in reasons.FACTOR_GROUPS) == 100
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
