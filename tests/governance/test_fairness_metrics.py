"""The fairness metrics equal hand-computed values on a fixture small enough to count by eye."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact

from credo.fairness import metrics
from credo.policy import governance as rules

# 60 people in group "a", 60 in "b", 10 in "c" (too few to judge). Scores and outcomes chosen so that at
# 650: a approves 48/60, b approves 30/60, c approves 10/10.
A_SCORES = [700] * 48 + [600] * 12
B_SCORES = [700] * 20 + [660] * 10 + [600] * 30
C_SCORES = [800] * 10
# outcomes: among a's approved, 8 bad; among a's declined, 6 bad; b: approved 5 bad, declined 15 bad; c: none
A_BAD = [1] * 8 + [0] * 40 + [1] * 6 + [0] * 6
B_BAD = [1] * 5 + [0] * 25 + [1] * 15 + [0] * 15
C_BAD = [0] * 10


@pytest.fixture
def people() -> tuple[np.ndarray, pd.Series, np.ndarray]:
    scores = np.array(A_SCORES + B_SCORES + C_SCORES)
    groups = pd.Series(["a"] * 60 + ["b"] * 60 + ["c"] * 10)
    bad = np.array(A_BAD + B_BAD + C_BAD)
    return scores, groups, bad


def test_approval_adverse_impact_and_equal_opportunity_at_a_threshold(people) -> None:  # noqa: ANN001
    scores, groups, bad = people
    table = metrics.approval_at(scores, groups, 650, bad).set_index("group")
    assert table.loc["a", "n"] == 60 and table.loc["a", "approved"] == 48
    assert table.loc["a", "approval_rate"] == pytest.approx(48 / 60)
    assert table.loc["b", "approval_rate"] == pytest.approx(30 / 60)
    # c approves everyone but has 10 members: shown, never judged, never the reference
    assert not table.loc["c", "judged"] and np.isnan(table.loc["c", "air"])
    assert table.loc["a", "reference"] and table.loc["a", "air"] == pytest.approx(1.0)
    assert table.loc["b", "air"] == pytest.approx((30 / 60) / (48 / 60))  # 0.625
    assert table.loc["b", "fisher_p"] == pytest.approx(fisher_exact([[30, 30], [48, 12]])[1])
    # true-positive rate: approved among those who repaid
    assert table.loc["a", "tpr"] == pytest.approx(40 / 46)
    assert table.loc["b", "tpr"] == pytest.approx(25 / 40)
    gaps = metrics.tpr_gaps(metrics.adverse_impact(scores, pd.DataFrame({"g": groups}), [650], bad))
    assert gaps.iloc[0]["tpr_gap"] == pytest.approx(40 / 46 - 25 / 40) and bool(gaps.iloc[0]["flagged"])


def test_adverse_impact_flags_only_judged_groups_below_four_fifths(people) -> None:  # noqa: ANN001
    scores, groups, bad = people
    table = metrics.adverse_impact(scores, pd.DataFrame({"g": groups}), [550, 650, 680], bad)
    flagged = {(int(r["threshold"]), r["group"]) for _, r in table[table["adverse"]].iterrows()}
    # 550: everyone approved (AIR 1); 650: b 0.625; 680: a 48/60, b 20/60 -> 0.4167
    assert flagged == {(650, "b"), (680, "b")}
    row = table[(table["threshold"] == 680) & (table["group"] == "b")].iloc[0]
    assert row["air"] == pytest.approx((20 / 60) / (48 / 60))
    assert rules.AIR_MIN == 0.8 and rules.MIN_GROUP_SIZE == 50


def test_standardised_mean_difference_against_the_best_judged_group(people) -> None:  # noqa: ANN001
    scores, groups, _ = people
    table = metrics.standardised_mean_difference(scores, groups).set_index("group")
    a, b = np.array(A_SCORES, float), np.array(B_SCORES, float)
    pooled = np.sqrt(((60 - 1) * a.var(ddof=1) + (60 - 1) * b.var(ddof=1)) / (60 + 60 - 2))
    assert table.loc["a", "reference"] and table.loc["a", "smd"] == pytest.approx(0.0)
    assert table.loc["b", "smd"] == pytest.approx((b.mean() - a.mean()) / pooled)
    assert table.loc["b", "mean"] == pytest.approx((700 * 20 + 660 * 10 + 600 * 30) / 60)


def test_calibration_by_band_and_group(people) -> None:  # noqa: ANN001
    scores, groups, bad = people
    published = [{"band": "excellent", "expected_bad_rate": 0.1}, {"band": "good", "expected_bad_rate": 0.3}]
    table = metrics.calibration_by_group(scores, bad, groups, published)
    excellent_a = table[(table["band"] == "excellent") & (table["group"] == "a")].iloc[0]
    assert excellent_a["n"] == 48 and excellent_a["observed_bad_rate"] == pytest.approx(8 / 48)
    assert excellent_a["expected_bad_rate"] == 0.1
    good_b = table[(table["band"] == "good") & (table["group"] == "b")].iloc[0]  # 600-649
    assert good_b["n"] == 30 and good_b["observed_bad_rate"] == pytest.approx(15 / 30)
    very_good_b = table[(table["band"] == "very good") & (table["group"] == "b")].iloc[0]  # the 660s
    assert very_good_b["n"] == 10 and very_good_b["observed_bad_rate"] == pytest.approx(0.0)


def test_reasons_at_the_same_score_by_group() -> None:
    scores = np.array([610] * 60 + [615] * 60)
    groups = pd.Series(["a"] * 60 + ["b"] * 60)
    reasons = [["R01"]] * 15 + [[]] * 45 + [["R01", "R04"]] * 45 + [["R04"]] * 15
    table = metrics.reasons_at_same_score(scores, reasons, groups)
    r01 = table[table["reason"] == "R01"].set_index("group")
    assert r01.loc["a", "share"] == pytest.approx(15 / 60) and r01.loc["b", "share"] == pytest.approx(45 / 60)
    assert r01.loc["a", "gap"] == pytest.approx(0.5) and set(table["score_bin"]) == {"600-649"}
    r04 = table[table["reason"] == "R04"].set_index("group")
    assert r04.loc["a", "share"] == 0.0 and r04.loc["b", "share"] == pytest.approx(1.0)


def test_an_unknown_code_is_reported_but_never_judged_nor_the_reference() -> None:
    scores = np.array([800] * 60 + [700] * 30 + [600] * 30 + [700] * 60)
    groups = pd.Series(["unknown"] * 60 + ["a"] * 60 + ["b"] * 60)
    table = metrics.approval_at(scores, groups, 650).set_index("group")
    assert table.loc["unknown", "approval_rate"] == 1.0 and not table.loc["unknown", "judged"]
    assert table.loc["b", "reference"] and table.loc["a", "air"] == pytest.approx(0.5)
