"""The compiled batch scorer (credo.model.kernel behind Scorecard.score_matrix) equals the exact
per-feature path (Scorecard.score) bit for bit, on the values where a table could go wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credo.model import Scorecard
from credo.model.kernel import EXACT, run_float32
from credo.policy import bands

FEATURES = ["a", "b", "c", "d"]


def _bits(u: int) -> np.float32:
    return np.array([u], dtype=np.uint32).view(np.float32)[0]


#: NaNs whose upper 16 bits share a bucket with ±inf (payload only in the low bits), a quiet NaN,
#: a negative NaN; ±0, the smallest denormals, the largest floats.
ODD = [_bits(0x7F800001), _bits(0xFF800001), _bits(0x7FC00000), _bits(0xFFC00001), np.float32(np.nan),
       np.float32(0.0), np.float32(-0.0), _bits(1), _bits(0x80000001), np.float32(3.4e38), np.float32(-3.4e38),
       np.float32(np.inf), np.float32(-np.inf)]


def _data(n: int = 6000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "a": np.where(rng.random(n) < 0.05, -9.0, rng.normal(size=n)),
        "b": np.round(rng.exponential(2.0, n)),  # counts: many values exactly on a cut point
        "c": np.where(rng.random(n) < 0.1, np.nan, rng.normal(50, 20, n)),
        "d": rng.uniform(-1e6, 1e6, n),
    })
    lo = 0.8 * np.nan_to_num(X["a"].to_numpy()) - 0.4 * X["b"] + 0.02 * np.nan_to_num(X["c"].to_numpy(), nan=50) \
        + 1e-6 * X["d"] - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-lo))).astype(int)
    return X, y


@pytest.fixture(scope="module")
def scorecards() -> list[Scorecard]:
    X, y = _data()
    return [
        # snapped cut points, special values (one in the middle of a bin, one equal to 0 = both zeros)
        Scorecard(special_values={"a": [-9.0, -8.0], "b": [0.0]}, n_jobs=2).fit(X, y),
        # few bins, no snapping (buckets straddle cut points), a special no float32 equals, equal
        # specials (the last declared wins), NULL read as a value
        Scorecard(special_values={"a": [-9.0, 0.1, -9.0]}, snap_splits=False, null_values={"c": 40.0},
                  binning_params={"max_n_prebins": 5}, n_jobs=2).fit(X, y),
        # many bins, one thread
        Scorecard(binning_params={"max_n_prebins": 50, "min_prebin_size": 0.01}, n_jobs=1).fit(X, y),
    ]


def _edge_values(sc: Scorecard) -> list[np.float32]:
    """Every cut point as float32 and its float32 neighbours, every special value, the odd floats."""
    vals: list[np.float32] = list(ODD)
    for f in sc.features_:
        b = sc.binnings_[f]
        for s in [*b.splits, *b.specials]:
            with np.errstate(over="ignore"):
                s32 = np.float32(s)
            vals += [s32, np.nextafter(s32, np.float32(-np.inf)), np.nextafter(s32, np.float32(np.inf))]
    return vals


def _exact(sc: Scorecard, M32: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # signalling NaNs
        X = pd.DataFrame(M32.astype(np.float64), columns=sc.features_)
    return sc.score(X).to_numpy()


@st.composite
def matrices(draw, sc: Scorecard) -> np.ndarray:
    value = st.one_of(st.floats(width=32, allow_nan=True, allow_infinity=True).map(np.float32),
                      st.sampled_from(_edge_values(sc)))
    rows = draw(st.lists(st.tuples(*[value] * len(sc.features_)), min_size=1, max_size=60))
    return np.array(rows, dtype=np.float32).reshape(len(rows), len(sc.features_))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), which=st.integers(0, 2), chunk=st.integers(1, 70))
def test_batch_scores_equal_the_exact_path(scorecards, data, which, chunk):
    sc = scorecards[which]
    M = data.draw(matrices(sc))
    np.testing.assert_array_equal(sc.score_matrix(M, chunk_rows=chunk), _exact(sc, M))


@pytest.mark.parametrize("which", [0, 1, 2])
def test_large_batches_across_blocks_and_threads(scorecards, which):
    sc = scorecards[which]
    rng = np.random.default_rng(which)
    edges = np.array(_edge_values(sc), dtype=np.float32)
    n = 5003  # not a multiple of the kernel's step nor of the chunk
    M = np.where(rng.random((n, len(FEATURES))) < 0.5, rng.choice(edges, (n, len(FEATURES))),
                 rng.normal(0, 1e3, (n, len(FEATURES)))).astype(np.float32)
    expected = _exact(sc, M)
    np.testing.assert_array_equal(sc.score_matrix(M, chunk_rows=1500), expected)
    np.testing.assert_array_equal(sc.score_matrix(M), expected)
    np.testing.assert_array_equal(sc.score_matrix(np.asfortranarray(M)), expected)  # the numpy path
    generic = np.empty(n, dtype=np.int16)  # the loop for more than MAX_UNROLLED columns
    run_float32(sc._compile(), M, sc.base_points_, bands.SCORE_MIN, bands.SCORE_MAX, 0, n, generic, unroll=False)
    np.testing.assert_array_equal(generic, expected)


def test_snapped_scorecard_is_almost_all_table(scorecards):
    """With snapped cut points only the two buckets mixing ±inf and NaNs are binned exactly, and the
    special values are corrected in the table pass (no special value sends its row to the slow path)."""
    sc = scorecards[0]
    t = sc._compile()
    exact = (t.lut.reshape(len(FEATURES), 65536) == EXACT).sum(axis=1)
    assert list(exact) == [2] * len(FEATURES)
    assert sorted(zip(t.fix_column.tolist(), t.fix_value.tolist())) == [(0, -9.0), (0, -8.0), (1, 0.0)]


def test_points_outside_the_table_range_are_binned_exactly(scorecards):
    """Bins whose points are negative or above MAX_TABLE_POINTS (possible in a hand-edited artifact)."""
    sc = Scorecard.from_dict(scorecards[0].to_dict())
    sc.points_["a"] = sc.points_["a"] * 12 + 7  # the best bins above the table's range
    sc.points_["c"] = sc.points_["c"] - 40  # negative
    sc.base_points_ -= 1500
    rng = np.random.default_rng(7)
    edges = np.array(_edge_values(sc), dtype=np.float32)
    M = rng.choice(edges, (3000, len(FEATURES))).astype(np.float32)
    assert (sc._compile().lut == EXACT).sum() > 4 * 2
    expected = _exact(sc, M)
    assert ((expected > 350) & (expected < 950)).sum() > 100  # not hidden by the clamp
    np.testing.assert_array_equal(sc.score_matrix(M, chunk_rows=999), expected)


NO_WRITABLE_CACHE = """
import numba.core.caching as caching

def refuse(self):  # what a read-only install with no writable home gives numba
    raise PermissionError(13, "Read-only file system", self.get_cache_path())

caching._CacheLocator.ensure_cache_path = refuse
import numpy as np
from credo.model import kernel
from tests.model.test_kernel import _data, _exact
from credo.model import Scorecard
X, y = _data(2000)
sc = Scorecard(n_jobs=1).fit(X, y)
M = X.to_numpy(dtype=np.float32)
np.testing.assert_array_equal(sc.score_matrix(M), _exact(sc, M))
print("cache:", type(kernel.table_pass._cache).__name__)
"""


def test_scores_without_a_writable_cache_directory():
    """numba refuses ``cache=True`` when no cache directory is writable; the kernel compiles per process."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", NO_WRITABLE_CACHE], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "cache: NullCache" in done.stdout
