"""``select_reasons`` (vectorised over rows) chooses exactly what its rule, written one row at a time, chooses."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from credo.model._common import select_reasons
from credo.policy.reasons import MIN_REASON_POINTS


def one_row_at_a_time(cost, codes, features, k, inquiry_feature, at_cap) -> list[list[str | None]]:
    """The rule as the docstring states it, for one row after another."""
    n, p = cost.shape
    inq = list(features).index(inquiry_feature) if inquiry_feature in features else -1
    rows = []
    for r in range(n):
        chosen: list[str] = []
        if not at_cap[r]:
            for j in sorted(range(p), key=lambda j: -cost[r, j]):  # sorted() is stable: feature order on ties
                if cost[r, j] < MIN_REASON_POINTS or len(chosen) >= k:
                    break
                c = codes[r, j]
                if c is not None and c not in chosen:
                    chosen.append(c)
            if inq >= 0 and cost[r, inq] >= MIN_REASON_POINTS and codes[r, inq] is not None \
                    and codes[r, inq] not in chosen:
                chosen.append(codes[r, inq])
        rows.append(chosen + [None] * (k + 1 - len(chosen)))
    return rows


@st.composite
def cases(draw):
    n = draw(st.integers(1, 12))
    p = draw(st.integers(1, 7))
    points = st.sampled_from([0.0, MIN_REASON_POINTS - 0.5, MIN_REASON_POINTS, 3.0, 7.5, 7.5, 20.0])
    cost = np.array(draw(st.lists(st.lists(points, min_size=p, max_size=p), min_size=n, max_size=n)))
    code = st.one_of(st.none(), st.sampled_from(["R01", "R02", "R03", "R14"]))
    codes = np.array(draw(st.lists(st.lists(code, min_size=p, max_size=p), min_size=n, max_size=n)), dtype=object)
    features = [f"f{j}" for j in range(p)]
    inquiry = draw(st.one_of(st.none(), st.sampled_from(features)))
    at_cap = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    return cost, codes, features, draw(st.integers(1, 4)), inquiry, at_cap


@settings(max_examples=400, deadline=None)
@given(cases())
def test_reasons_are_the_rules_choice_row_by_row(case):
    cost, codes, features, k, inquiry, at_cap = case
    got = select_reasons(cost, codes, features, k, inquiry, pd.RangeIndex(len(cost)), at_cap)
    assert list(got.columns) == [f"reason_{i + 1}" for i in range(k + 1)]
    assert got.to_numpy().tolist() == one_row_at_a_time(cost, codes, features, k, inquiry, at_cap)


def test_a_shared_code_appears_once_at_its_best_rank_and_the_inquiry_comes_last():
    cost = np.array([[9.0, 8.0, 7.0, 6.0]])
    codes = np.array([["R01", "R02", "R01", "R14"]], dtype=object)
    got = select_reasons(cost, codes, ["a", "b", "c", "inq"], 2, "inq", pd.RangeIndex(1), np.array([False]))
    assert got.iloc[0].tolist() == ["R01", "R02", "R14"]


def test_score_frame_keeps_every_code_in_order_whatever_blanks_a_model_leaves_between_them():
    from credo.scoring.batch import score_frame

    class Model:
        features_ = ["a"]

        def score(self, X):
            return pd.Series([600, 700, 800], index=X.index)

        def reasons(self, X):
            return pd.DataFrame([[None, "R02", None, "R01"], ["R03", None, None, None], ["R04", "R05", None, None]],
                                index=X.index, columns=[f"reason_{i}" for i in range(1, 5)], dtype=object)

    features = pd.DataFrame({"a": [1.0, 2.0, 3.0], "is_scorable": [True, True, False]}, index=["c1", "c2", "c3"])
    got = score_frame(Model(), features)
    assert got["reasons"].tolist() == [["R02", "R01"], ["R03"], []]
    assert got["status"].tolist() == ["scored", "scored", "not_enough_data"]
