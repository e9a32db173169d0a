"""Per-feature binning: an adapter around optbinning's ``OptimalBinning``.

optbinning is used **only** to find the cut points (numerical) or the category
groups (categorical) of the regular values. Everything else is ours:

* Special values (e.g. FICO's -7/-8/-9) each get their own bin and missing
  values (NaN/None) get their own bin. Their WoE is EMPIRICAL, computed from
  their own counts, never optbinning's default of 0 (see
  docs/research/scorecard-libraries.md §2).
* Every bin's WoE is smoothed: ``alpha`` pseudo-observations at the training
  bad rate are added to each bin, so a tiny bin is pulled towards WoE 0 (the
  population average) and an empty bin has WoE exactly 0.
* WoE convention (as optbinning): ``ln(share of goods / share of bads)``;
  higher WoE = lower risk.
* When the trend is monotone, the regular bins' smoothed WoE is made monotone
  (pool-adjacent-violators on the counts), so rounding or smoothing can never
  reverse the declared direction.
* Cut points are "snapped" (by default) to values with 8 significant bits
  (bfloat16-representable float32 values) chosen inside the gap between the
  neighbouring training values whenever possible, and the counts are
  recomputed after snapping. This keeps the model exact and lets the float32
  batch scorer use a 65,536-entry lookup table per feature
  (see :mod:`credo.model.scorecard`).

Bin layout of a numerical feature with ``k`` cut points and ``m`` special values::

    0 .. k            regular bins (-inf, s0), [s0, s1), ..., [s_{k-1}, +inf)
    k+1 .. k+m        one bin per special value, in the declared order
    k+m+1             missing (NaN / None)

A categorical feature has one regular bin per group of categories, then the
missing bin (which also receives categories never seen in training).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

TREND_BY_DIRECTION = {1: "ascending", -1: "descending", 0: "auto"}


def direction_to_trend(direction: Any) -> str:
    """Map a monotone direction (+1 risk rises with the value, -1 falls, 0 free,
    None/"auto" = choose ascending or descending) to an optbinning trend."""
    if direction is None or direction == "auto":
        return "auto_asc_desc"
    if isinstance(direction, str):
        return direction
    return TREND_BY_DIRECTION[int(np.sign(direction))]


# ---------------------------------------------------------------- snapping

def _bf16_down(v: float) -> float:
    """Largest float32 with 8 significant bits that is <= v."""
    f = np.array([v], dtype=np.float32)
    if float(f[0]) > v:
        f = np.nextafter(f, np.float32(-np.inf))
    u = f.view(np.uint32)[0]
    if f[0] >= 0:
        u = u & np.uint32(0xFFFF0000)
    else:
        u = (u + np.uint32(0xFFFF)) & np.uint32(0xFFFF0000)
    return float(np.array([u], dtype=np.uint32).view(np.float32)[0])


def _bf16_up(v: float) -> float:
    return -_bf16_down(-v)


def _aligned(v: float) -> float:
    """Map a bfloat16 value b to the cut aligned with a float32 upper-16-bit
    bucket boundary: b itself if b >= 0, else the next float32 above b (for
    negative numbers a bucket's top value is its bfloat16 value)."""
    if v >= 0:
        return v
    return float(np.nextafter(np.float32(v), np.float32(np.inf)))


def snap_split(s: float, below: float, above: float) -> float:
    """A cut in (below, above] close to s such that "x >= cut" never splits a
    float32 upper-16-bit bucket; s rounded to such a value if none fits."""
    cands = [_aligned(_bf16_down(s)), _aligned(_bf16_up(s))]
    if s < 0:  # for negatives the aligned cuts sit just above bfloat16 values
        cands += [_aligned(_bf16_down(_bf16_down(s) - abs(s) * 2**-9))]
    ok = [c for c in cands if below < c <= above]
    if ok:
        return min(ok, key=lambda c: abs(c - s))
    c = _aligned(_bf16_up(float(np.nextafter(below, np.inf))))
    if below < c <= above:
        return c
    return min(cands, key=lambda c: abs(c - s))


# ---------------------------------------------------------------- WoE

def smoothed_woe(n_event: np.ndarray, n_nonevent: np.ndarray, alpha: float) -> np.ndarray:
    """WoE with ``alpha`` pseudo-observations per bin at the overall bad rate."""
    n_event = np.asarray(n_event, dtype=float)
    n_nonevent = np.asarray(n_nonevent, dtype=float)
    tot_e, tot_ne = n_event.sum(), n_nonevent.sum()
    tot = tot_e + tot_ne
    if tot_e == 0 or tot_ne == 0:
        return np.zeros_like(n_event)
    pe, pne = tot_e / tot, tot_ne / tot
    a = max(float(alpha), 1e-9)
    return np.log((n_nonevent + a * pne) / (n_event + a * pe)) - math.log(tot_ne / tot_e)


def _pava(values: np.ndarray, weights: np.ndarray, increasing: bool) -> np.ndarray:
    """Weighted isotonic regression (pool adjacent violators)."""
    v = np.asarray(values, float)
    w = np.maximum(np.asarray(weights, float), 1e-12)
    if not increasing:
        return -_pava(-v, w, True)
    blocks: list[list[float]] = []  # [value, weight, count]
    for vi, wi in zip(v, w):
        blocks.append([vi, wi, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            b2 = blocks.pop()
            b1 = blocks[-1]
            tw = b1[1] + b2[1]
            b1[0] = (b1[0] * b1[1] + b2[0] * b2[1]) / tw
            b1[1] = tw
            b1[2] += b2[2]
    out = []
    for val, _, cnt in blocks:
        out.extend([val] * cnt)
    return np.array(out)


def _edge_splits(values: np.ndarray, own: Sequence[float]) -> list[float]:
    """Cut points that isolate each ``own`` value sitting at the low or high end of ``values``."""
    if not len(own) or values.size == 0:
        return []
    u = np.unique(values)
    cuts = []
    for v in own:
        if u.size > 1 and u[0] == v:
            cuts.append(float((u[0] + u[1]) / 2.0))
        elif u.size > 1 and u[-1] == v:
            cuts.append(float((u[-2] + u[-1]) / 2.0))
    return cuts


# ---------------------------------------------------------------- the binning

@dataclass
class FeatureBinning:
    """A fitted binning of one feature: edges/groups, counts and WoE per bin."""

    name: str
    dtype: str = "numerical"  # or "categorical"
    splits: list[float] = field(default_factory=list)
    categories: list[list[str]] = field(default_factory=list)
    specials: list[float] = field(default_factory=list)
    n_event: list[float] = field(default_factory=list)
    n_nonevent: list[float] = field(default_factory=list)
    woe: list[float] = field(default_factory=list)
    trend: str = "auto_asc_desc"
    alpha: float = 5.0

    # -- layout
    @property
    def n_regular(self) -> int:
        return len(self.splits) + 1 if self.dtype == "numerical" else max(len(self.categories), 0)

    @property
    def n_bins(self) -> int:
        return self.n_regular + len(self.specials) + 1

    @property
    def missing_bin(self) -> int:
        return self.n_bins - 1

    def special_bin(self, j: int) -> int:
        return self.n_regular + j

    @property
    def counts(self) -> np.ndarray:
        return np.asarray(self.n_event, float) + np.asarray(self.n_nonevent, float)

    @property
    def event_rate(self) -> np.ndarray:
        c = self.counts
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(c > 0, np.asarray(self.n_event, float) / np.where(c > 0, c, 1), np.nan)

    def bin_labels(self) -> list[str]:
        labels: list[str] = []
        if self.dtype == "numerical":
            edges = [-math.inf, *self.splits, math.inf]
            for lo, hi in zip(edges[:-1], edges[1:]):
                labels.append(f"[{lo:.6g}, {hi:.6g})" if lo != -math.inf else f"(-inf, {hi:.6g})")
        else:
            labels.extend("{" + ", ".join(map(str, g)) + "}" for g in self.categories)
        labels.extend(f"special {v:g}" for v in self.specials)
        labels.append("missing")
        return labels

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({
            "bin": self.bin_labels(), "count": self.counts, "n_event": self.n_event,
            "n_nonevent": self.n_nonevent, "event_rate": self.event_rate, "woe": self.woe,
        })

    # -- mapping values to bins (vectorised)
    def bin_index(self, x: Any) -> np.ndarray:
        """Bin index (int32) of each value; numpy searchsorted, no Python loop."""
        if self.dtype == "categorical":
            s = pd.Series(np.asarray(x, dtype=object)) if not isinstance(x, pd.Series) else x
            na = s.isna().to_numpy()
            lookup = {c: i for i, grp in enumerate(self.categories) for c in grp}
            idx = s.astype(str).map(lookup).to_numpy(dtype=float, na_value=np.nan)
            idx = np.where(np.isnan(idx) | na, self.missing_bin, idx)
            return idx.astype(np.int32)
        v = np.asarray(x, dtype=np.float64)
        idx = np.searchsorted(np.asarray(self.splits, dtype=np.float64), v, side="right").astype(np.int32)
        for j, sv in enumerate(self.specials):
            idx[v == sv] = self.special_bin(j)
        idx[np.isnan(v)] = self.missing_bin
        return idx

    def transform(self, x: Any) -> np.ndarray:
        """WoE of each value (float64)."""
        return np.asarray(self.woe, dtype=np.float64)[self.bin_index(x)]

    # -- fitting
    @classmethod
    def fit(
        cls,
        name: str,
        x: Any,
        y: Any,
        dtype: str = "numerical",
        specials: Sequence[float] | None = None,
        direction: Any = None,
        alpha: float = 5.0,
        snap: bool = True,
        binning_params: dict | None = None,
        own_bins: Sequence[float] = (),
    ) -> "FeatureBinning":
        """Fit the binning of one feature.

        ``own_bins``: values that always get a bin of their own when they are the
        lowest or highest regular value (e.g. 0 of a count of late payments, so
        that "none" is never pooled with "some").
        """
        from optbinning import OptimalBinning

        y = np.asarray(y).astype(int)
        trend = direction_to_trend(direction)
        params = {"max_n_prebins": 20, "min_prebin_size": 0.05, **(binning_params or {})}
        if dtype == "categorical":
            s = pd.Series(np.asarray(x, dtype=object))
            na = s.isna().to_numpy()
            xs = s[~na].astype(str).to_numpy(dtype=object)
            cats: list[list[str]] = []
            if len(xs) and len(np.unique(xs)) > 1:
                ob = OptimalBinning(name=name, dtype="categorical", monotonic_trend=None, **params)
                ob.fit(xs, y[~na])
                cats = [sorted(str(c) for c in grp) for grp in ob.splits]
                seen = {c for g in cats for c in g}
                rest = sorted(set(xs) - seen)
                if rest:  # optbinning may leave rare levels out ("others"): keep them
                    cats.append(rest)
            elif len(xs):
                cats = [sorted(set(xs))]
            fb = cls(name=name, dtype="categorical", categories=cats, specials=[], trend="categorical",
                     alpha=alpha)
        else:
            v = np.asarray(x, dtype=np.float64)
            sp = [float(s) for s in (specials or [])]
            miss = np.isnan(v)
            spec = np.isin(v, sp) & ~miss if sp else np.zeros(len(v), bool)
            reg = ~miss & ~spec
            xr, yr = v[reg], y[reg]
            splits: list[float] = []
            if len(xr) >= 2 and np.unique(xr[: min(len(xr), 100000)]).size > 1 and 0 < yr.sum() < len(yr):
                ob = OptimalBinning(name=name, dtype="numerical", monotonic_trend=trend, **params)
                ob.fit(xr, yr)
                splits = [float(s) for s in np.asarray(ob.splits, dtype=float)]
            splits = sorted(set(splits) | set(_edge_splits(xr, own_bins)))
            if snap and splits:
                xs = np.unique(xr)
                snapped = []
                for s in splits:
                    i = np.searchsorted(xs, s, side="left")  # xs[i-1] < s <= xs[i]
                    below = xs[i - 1] if i > 0 else -math.inf
                    above = xs[i] if i < len(xs) else math.inf
                    snapped.append(snap_split(s, float(below), float(above)))
                splits = sorted(set(snapped))
            fb = cls(name=name, dtype="numerical", splits=splits, specials=sp, trend=trend, alpha=alpha)
        idx = fb.bin_index(x)
        n_ev = np.bincount(idx, weights=y, minlength=fb.n_bins)
        n_all = np.bincount(idx, minlength=fb.n_bins).astype(float)
        fb.n_event = n_ev.tolist()
        fb.n_nonevent = (n_all - n_ev).tolist()
        woe = smoothed_woe(n_ev, n_all - n_ev, alpha)
        if fb.dtype == "numerical" and fb.n_regular > 1 and trend in (
                "ascending", "descending", "auto_asc_desc"):
            r = slice(0, fb.n_regular)
            w = woe[r]
            if trend == "auto_asc_desc":
                # event rate ascending <=> WoE descending
                rates = n_ev[r] / np.maximum(n_all[r], 1)
                increasing_woe = bool(rates[-1] <= rates[0])
                fb.trend = "descending" if increasing_woe else "ascending"
            else:
                increasing_woe = trend == "descending"
            woe[r] = _pava(w, n_all[r], increasing=increasing_woe)
        fb.woe = woe.tolist()
        return fb

    # -- serialisation
    def to_dict(self) -> dict:
        return {
            "name": self.name, "dtype": self.dtype, "splits": list(map(float, self.splits)),
            "categories": [list(map(str, g)) for g in self.categories],
            "specials": list(map(float, self.specials)), "n_event": list(map(float, self.n_event)),
            "n_nonevent": list(map(float, self.n_nonevent)), "woe": list(map(float, self.woe)),
            "trend": self.trend, "alpha": float(self.alpha), "labels": self.bin_labels(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureBinning":
        d = {k: v for k, v in d.items() if k != "labels"}
        return cls(**d)


__all__ = ["FeatureBinning", "smoothed_woe", "direction_to_trend", "snap_split"]
