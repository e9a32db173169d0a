"""The compiled batch-scoring kernel behind :meth:`credo.model.Scorecard.score_matrix`.

A score is ``clamp(base + sum of each feature's bin points, lo, hi)``. For a float32
matrix the kernel reads each row once and sums, per value, one entry of a
65,536-entry int32 table indexed by the upper 16 bits of the value (sign,
exponent, 7 mantissa bits): the points of the one bin the entry's whole bucket of
float32 values falls in. Cut points are snapped at fit time so that almost no
bucket straddles one. Then, per special value, one equality test on its column
moves the rows holding exactly that value from their regular bin's points to
their special bin's. A bucket that straddles a cut point or holds ±inf, or whose
points are negative or too large, holds :data:`EXACT`; the few rows that meet one
are scored again with every value binned exactly by the rule of
:meth:`credo.model.binning.FeatureBinning.bin_index` (NaN to the missing bin, an
equal special value to its bin, the last declared one winning, else the number of
cut points at or below the value).

The table pass is branch-free and compiled once per feature count with its per-row
loop unrolled (:func:`table_pass_unrolled`); table sums are int32 (see :data:`EXACT`),
exact sums int64. The functions release the GIL: the caller runs row blocks on its
own threads. numba compiles them on first use and caches the machine code on disk (next to this file,
or in ``NUMBA_CACHE_DIR``, or numba's user cache directory, whichever is writable). On an install where
none is writable (a read-only image whose user has no writable home) numba refuses ``cache=True``
at import; :func:`compiled` then compiles without the disk cache, so scoring still works and only
pays the compile (about a second) in each new process.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from credo.model.binning import FeatureBinning

#: numba's words when no cache directory is writable (numba.core.caching._CacheImpl).
NO_CACHE_LOCATION = "no locator available"


def compiled(func: Any) -> Any:
    """``func`` compiled with ``njit(nogil=True)``, its machine code cached on disk when numba can write
    a cache somewhere, and compiled per process when it cannot (see the module docstring)."""
    try:
        return njit(nogil=True, cache=True)(func)
    except RuntimeError as exc:
        if NO_CACHE_LOCATION not in str(exc):
            raise
        return njit(nogil=True)(func)


#: Table entry meaning "bin this value exactly". Entries are otherwise 0 .. MAX_TABLE_POINTS and a row
#: has at most MAX_TABLE_FEATURES of them (plus as many special-value corrections of at most
#: MAX_TABLE_POINTS), so its int32 table sum is negative if and only if it met an EXACT entry, and
#: never overflows.
EXACT = np.int32(-(1 << 22))
#: Largest points a table entry holds (a bin with more is binned exactly).
MAX_TABLE_POINTS = 4095
#: Most features the table serves (a wider scorecard is binned exactly throughout).
MAX_TABLE_FEATURES = 500


@dataclass(frozen=True)
class Tables:
    """Everything the kernel reads about a fitted scorecard, as flat arrays (feature ``j`` owns
    ``splits[split_at[j]:split_at[j + 1]]``, the same for specials, and ``points[point_at[j]:]``
    for its regular bins)."""

    lut: np.ndarray  # (p * 65536,) int32: points of the bucket's bin, or EXACT
    splits: np.ndarray  # float64 cut points, sorted per feature
    split_at: np.ndarray  # int64 (p + 1,)
    specials: np.ndarray  # float64 special values in declared order
    special_points: np.ndarray  # int64 points of each special value's bin
    special_at: np.ndarray  # int64 (p + 1,)
    points: np.ndarray  # int64 points of the regular bins
    point_at: np.ndarray  # int64 (p,)
    missing_points: np.ndarray  # int64 (p,) points of a NaN (its null_values bin if set)
    fix_column: np.ndarray  # int64: column of each special value the table pass corrects
    fix_value: np.ndarray  # float32: that special value
    fix_delta: np.ndarray  # int32: its special bin's points minus its bucket's table entry


@compiled
def _exact_points(t_splits, t_split_at, t_specials, t_special_points, t_special_at, t_points, t_point_at,
                  t_missing, j, x):
    """Points of value ``x`` (float64) of feature ``j`` by the exact bin rule."""
    if np.isnan(x):
        return t_missing[j]
    for k in range(t_special_at[j + 1] - 1, t_special_at[j] - 1, -1):  # the last equal special wins
        if x == t_specials[k]:
            return t_special_points[k]
    first, end = t_split_at[j], t_split_at[j + 1]
    while first < end:  # binary search: the number of cut points <= x
        mid = (first + end) >> 1
        if t_splits[mid] <= x:
            first = mid + 1
        else:
            end = mid
    return t_points[t_point_at[j] + first - t_split_at[j]]


#: Most columns the table pass is unrolled for (one compiled version per feature count).
MAX_UNROLLED = 64
#: Rows per step of the table pass: its scratch sums stay in L1.
STEP = 1024
#: How many rows ahead the table pass asks the CPU to prefetch (the hardware prefetcher alone falls
#: behind a loop that also makes 20 table reads per row: +25 % measured on the 10 M x 20 benchmark).
AHEAD = 128


@intrinsic
def _prefetch(typingctx, arr, idx):
    """Hint the CPU to bring ``arr[idx]`` (a 1-d array) into cache: LLVM's ``llvm.prefetch``, no fault."""
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [args[1]], wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, ir.IntType(32), ir.IntType(32), ir.IntType(32)]),
            "llvm.prefetch.p0i8")
        i32 = ir.IntType(32)
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])  # read, keep, data cache
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always")
def _table_rows(M, U, P, lut, fix_column, fix_value, fix_delta, base, lo, hi, a, b, out):
    """Scores of rows ``a:b`` of the C-contiguous float32 matrix ``M`` (``U``: its bytes as uint32, ``P``
    columns) from the tables and the special-value corrections; a row that met an :data:`EXACT` entry
    gets ``lo - 1`` (no score) for :func:`exact_pass`."""
    flat = U.reshape(-1)
    last = flat.size - 1
    total = np.empty(STEP, np.int32)
    for a0 in range(a, b, STEP):
        m = min(STEP, b - a0)
        for r in range(m):
            i = a0 + r
            _prefetch(flat, min((i + AHEAD) * P, last))
            _prefetch(flat, min((i + AHEAD) * P + P - 1, last))
            t = np.int32(0)
            for j in range(P):
                t += lut[(j << 16) + (U[i, j] >> 16)]
            total[r] = t
        for k in range(fix_column.size):
            c, v, d = fix_column[k], fix_value[k], fix_delta[k]
            for r in range(m):
                total[r] += d if M[a0 + r, c] == v else 0
        for r in range(m):
            t = total[r]  # negative if and only if the row met an EXACT entry
            out[a0 + r] = min(max(base + t, lo), hi) if t >= 0 else lo - 1


@compiled
def table_pass(M, U, lut, fix_column, fix_value, fix_delta, base, lo, hi, a, b, out):
    """:func:`_table_rows` for any number of columns."""
    _table_rows(M, U, U.shape[1], lut, fix_column, fix_value, fix_delta, base, lo, hi, a, b, out)


@compiled
def table_pass_unrolled(M, U, width, lut, fix_column, fix_value, fix_delta, base, lo, hi, a, b, out):
    """:func:`_table_rows` with the number of columns in the type: ``width`` is a tuple of that many
    zeros, so numba compiles (and caches) one version per feature count, whose per-row loop LLVM
    unrolls into straight scalar reads (about 1.5x the rate of the generic loop on the benchmark)."""
    _table_rows(M, U, len(width), lut, fix_column, fix_value, fix_delta, base, lo, hi, a, b, out)


@compiled
def exact_pass(M, t_splits, t_split_at, t_specials, t_special_points, t_special_at, t_points, t_point_at,
               t_missing, base, lo, hi, a, b, out):
    """Scores of the rows of ``a:b`` that :func:`table_pass` left without one, every value binned exactly."""
    p = M.shape[1]
    for i in range(a, b):
        if out[i] >= lo:
            continue
        s = np.int64(base)
        for j in range(p):
            s += _exact_points(t_splits, t_split_at, t_specials, t_special_points, t_special_at, t_points,
                               t_point_at, t_missing, j, np.float64(M[i, j]))
        out[i] = min(max(s, lo), hi)


def run_float32(t: Tables, M: np.ndarray, base: int, lo: int, hi: int, a: int, b: int, out: np.ndarray,
                unroll: bool = True) -> None:
    """Scores of rows ``a:b`` of the C-contiguous float32 matrix ``M`` into ``out[a:b]``: the table pass
    (unrolled for up to :data:`MAX_UNROLLED` columns), then the exact pass over the rows it left. Two
    compiled calls, so that each loop is optimised on its own."""
    U = M.view(np.uint32)
    if unroll and M.shape[1] <= MAX_UNROLLED:
        table_pass_unrolled(M, U, (0,) * M.shape[1], t.lut, t.fix_column, t.fix_value, t.fix_delta, base, lo, hi,
                            a, b, out)
    else:
        table_pass(M, U, t.lut, t.fix_column, t.fix_value, t.fix_delta, base, lo, hi, a, b, out)
    exact_pass(M, t.splits, t.split_at, t.specials, t.special_points, t.special_at, t.points, t.point_at,
               t.missing_points, base, lo, hi, a, b, out)


def build_tables(binnings: list[FeatureBinning], points: list[np.ndarray], missing_bins: list[int]) -> Tables:
    """The kernel's tables for numerical binnings, their integer points and the bin each feature's NaN
    goes to. A table entry is the regular bin ``FeatureBinning.bin_index`` gives both ends of its bucket,
    when they agree."""
    if sys.byteorder != "little":  # the float32 kernel reads the upper half of each value at offset 2
        raise RuntimeError("the batch scorer needs a little-endian machine")
    u = np.arange(65536, dtype=np.uint32) << np.uint32(16)
    with np.errstate(invalid="ignore"):
        end_a = u.view(np.float32).astype(np.float64)  # a bucket's values run from end_a to end_b
        end_b = (u | np.uint32(0xFFFF)).view(np.float32).astype(np.float64)
    nonfinite = (u >> np.uint32(23) & np.uint32(0xFF)) == 0xFF
    all_nan = nonfinite & ((u >> np.uint32(16) & np.uint32(0x7F)) != 0)
    mn, mx = np.minimum(end_a, end_b), np.maximum(end_a, end_b)
    p = len(binnings)
    lut = np.full((p, 65536), EXACT, dtype=np.int32)
    fixes: list[tuple[int, float, int]] = []
    for j, (b, pts) in enumerate(zip(binnings, points)):
        fits = (pts >= 0) & (pts <= MAX_TABLE_POINTS) & (p <= MAX_TABLE_FEATURES)
        regular = replace(b, specials=[])
        bin_a = regular.bin_index(np.where(nonfinite, 0.0, end_a))
        bin_b = regular.bin_index(np.where(nonfinite, 0.0, end_b))
        ok = (bin_a == bin_b) & ~nonfinite & fits[bin_a]
        lut[j, ok] = pts[bin_a[ok]]
        if fits[missing_bins[j]]:
            lut[j, all_nan] = pts[missing_bins[j]]
        last = {sv: k for k, sv in enumerate(b.specials)}  # equal specials: the last declared wins
        for sv, k in last.items():
            with np.errstate(over="ignore"):
                representable = np.isfinite(sv) and float(np.float32(sv)) == sv
            if not representable:
                continue  # no float32 equals it, or its bucket (±inf) is EXACT already
            holding = np.flatnonzero((mn <= sv) & (sv <= mx) & ~nonfinite)  # two buckets for ±0
            entries = lut[j, holding]
            if (entries == EXACT).any() or not fits[b.special_bin(k)]:
                lut[j, holding] = EXACT
            else:
                fixes.append((j, sv, int(pts[b.special_bin(k)]) - int(entries[0])))

    def at(sizes: list[int]) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    return Tables(
        lut=lut.ravel(),
        splits=np.array([s for b in binnings for s in b.splits], dtype=np.float64),
        split_at=at([len(b.splits) for b in binnings]),
        specials=np.array([s for b in binnings for s in b.specials], dtype=np.float64),
        special_points=np.array([pts[b.special_bin(k)] for b, pts in zip(binnings, points)
                                 for k in range(len(b.specials))], dtype=np.int64),
        special_at=at([len(b.specials) for b in binnings]),
        points=np.concatenate([np.asarray(pts[: b.n_regular], dtype=np.int64) for b, pts in zip(binnings, points)]
                              + [np.zeros(0, dtype=np.int64)]),
        point_at=at([b.n_regular for b in binnings])[:-1],
        missing_points=np.array([pts[m] for pts, m in zip(points, missing_bins)], dtype=np.int64),
        fix_column=np.array([f[0] for f in fixes], dtype=np.int64),
        fix_value=np.array([f[1] for f in fixes], dtype=np.float32),
        fix_delta=np.array([f[2] for f in fixes], dtype=np.int32),
    )
