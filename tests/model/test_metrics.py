import numpy as np

from credo.model import metrics


def test_auc_gini_ks():
    y = np.array([0, 0, 1, 1])
    r = np.array([0.1, 0.2, 0.3, 0.4])
    assert metrics.auc(y, r) == 1.0 and metrics.gini(y, r) == 1.0 and metrics.ks(y, r) == 1.0
    assert metrics.auc_score(y, -r) == 1.0


def test_psi():
    rng = np.random.default_rng(0)
    a = rng.normal(size=20000)
    assert metrics.psi(a, a) < 1e-9
    assert metrics.psi(a, a + 0.5) > 0.1
    assert metrics.psi_bands([400, 600, 700], [400, 600, 700]) < 1e-9


def test_calibration_by_band():
    s = np.array([400, 560, 610, 660, 800, 800])
    y = np.array([1, 0, 0, 0, 0, 1])
    t = metrics.calibration_by_band(s, y)
    assert list(t["n"]) == [1, 1, 1, 1, 2] and t["observed_bad_rate"].iloc[-1] == 0.5
    assert t["expected_bad_rate"].is_monotonic_decreasing
    assert (t["interval_low"] <= t["interval_high"]).all()
    # one bad among two in the excellent band is far outside a sub-1 % expectation: reported as a miss
    assert not t["holds"].iloc[-1] and t["miss"].iloc[-1] > 0
