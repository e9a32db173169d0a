"""repeated_values finds exactly the values that occur more than once, whatever their partitions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from credo.scale.repeats import PARTITION_BITS, repeated_values


def reference(values: np.ndarray) -> list[int]:
    distinct, counts = np.unique(values, return_counts=True)
    return sorted(int(v) for v in distinct[counts > 1])


# values drawn from a small pool (many repeats), spread over all partitions, or crowded into one
pools = st.one_of(
    st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=40),
    st.lists(st.integers(0, 2**(64 - PARTITION_BITS) - 1), min_size=1, max_size=40),
)


@settings(max_examples=300, deadline=None)
@given(pool=pools, picks=st.lists(st.integers(0, 10**6), max_size=400))
def test_repeated_values_are_exactly_those_seen_twice(pool, picks):
    values = np.array([pool[p % len(pool)] for p in picks], dtype=np.uint64)
    want = reference(values)
    kept = np.sort(values)
    assert repeated_values(values).tolist() == want
    assert np.array_equal(np.sort(values), kept)  # reordered, nothing lost


def test_a_large_uniform_array_with_planted_repeats():
    rng = np.random.default_rng(7)
    values = rng.integers(0, 2**63, size=2_000_000, dtype=np.int64).view(np.uint64) * np.uint64(2) + np.uint64(1)
    planted = values[rng.choice(len(values), size=500, replace=False)]
    both = np.concatenate([values, planted, planted[:10]])
    rng.shuffle(both)
    assert repeated_values(both).tolist() == reference(np.concatenate([values, planted, planted[:10]]))
    assert len(reference(both)) >= 500


def test_no_values():
    assert repeated_values(np.zeros(0, dtype=np.uint64)).tolist() == []
