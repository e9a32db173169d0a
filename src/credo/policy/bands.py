"""The score rules: range, bands and the published scaling (PRODUCT.md §2).

This module is the single source of truth for every number a consumer or a
partner sees about the score. Models, the API, reports and tests read it; no
other module may keep its own copy of these constants.

Scaling (points-to-double-the-odds, odds are **good:bad**)::

    score = base_score + pdo / ln(2) * ln(odds / base_odds)      odds = (1 - p_bad) / p_bad

Every model publishes its own :class:`Scaling` (anchor odds at 600 points and
points to double the odds), chosen by one rule, :func:`fit_scaling`, so that
the population it was trained on uses the whole 350–950 range: the safest
:data:`CAP_SHARE` of the training population sits at 950 and the riskiest
:data:`FLOOR_SHARE` at or below 350. A scorecard whose range is fixed in
advance either wastes the scale or piles a risky population on the floor,
where clamping ties them and ranking is lost.

Each band publishes an expected bad rate: the mean bad rate the scaling implies
for the training population's members in that band (:func:`band_table`).
:data:`DEFAULT_SCALING` (600 at 20:1, 50 points to double) is used only where
no fitted model is involved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SCORE_MIN: int = 350
SCORE_MAX: int = 950

#: The anchor score every scaling publishes its odds at.
ANCHOR_SCORE: float = 600.0
#: Share of the training population the scaling rule lets sit at or below 350.
FLOOR_SHARE: float = 0.001
#: Share of the training population the scaling rule lets sit at 950.
CAP_SHARE: float = 0.0025


@dataclass(frozen=True)
class Band:
    """A published score band, inclusive of both bounds."""

    name: str
    lower: int
    upper: int

    def __contains__(self, score: object) -> bool:
        return isinstance(score, (int, np.integer)) and self.lower <= int(score) <= self.upper

    @property
    def midpoint(self) -> float:
        return (self.lower + self.upper) / 2.0


BANDS: tuple[Band, ...] = (
    Band("poor", 350, 549),
    Band("fair", 550, 599),
    Band("good", 600, 649),
    Band("very good", 650, 699),
    Band("excellent", 700, 950),
)

_BAND_LOWERS = np.array([b.lower for b in BANDS])


def band_of(score: int) -> Band:
    """The band of an integer score in SCORE_MIN..SCORE_MAX (ValueError otherwise)."""
    if isinstance(score, bool) or not isinstance(score, (int, np.integer)):
        raise TypeError(f"score must be an integer, got {type(score).__name__}")
    s = int(score)
    if not SCORE_MIN <= s <= SCORE_MAX:
        raise ValueError(f"score {s} outside {SCORE_MIN}..{SCORE_MAX}")
    return BANDS[int(np.searchsorted(_BAND_LOWERS, s, side="right")) - 1]


def band_index(scores) -> np.ndarray:
    """Vectorised band lookup: index into BANDS for each score (array-like of ints)."""
    s = np.clip(np.asarray(scores), SCORE_MIN, SCORE_MAX)
    return np.searchsorted(_BAND_LOWERS, s, side="right") - 1


def get_band(name: str) -> Band:
    for b in BANDS:
        if b.name == name:
            return b
    raise KeyError(name)


@dataclass(frozen=True)
class Scaling:
    """A published scaling: ``base_score`` points at ``base_odds`` good:bad, ``pdo`` points to double."""

    base_score: float
    base_odds: float
    pdo: float

    def __post_init__(self) -> None:
        if not (self.pdo > 0 and self.base_odds > 0):
            raise ValueError("pdo and base_odds must be positive")

    @property
    def factor(self) -> float:
        """Points per unit of natural log-odds."""
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        """Score at odds 1:1 (log-odds 0)."""
        return self.base_score - self.factor * math.log(self.base_odds)

    def score_from_log_odds(self, log_odds_good, clamp: bool = True):
        """Unrounded score for natural log-odds (good:bad); clamped to the range by default."""
        s = self.offset + self.factor * np.asarray(log_odds_good, dtype=float)
        return np.clip(s, SCORE_MIN, SCORE_MAX) if clamp else s

    def log_odds_from_score(self, score):
        """Natural log-odds good:bad implied by a score (inverse of the scaling)."""
        return (np.asarray(score, dtype=float) - self.offset) / self.factor

    def odds_at(self, score):
        """Good:bad odds implied by a score."""
        return np.exp(self.log_odds_from_score(score))

    def bad_rate_at(self, score):
        """Bad rate (probability of bad) implied by a score."""
        return 1.0 / (1.0 + self.odds_at(score))

    def to_dict(self) -> dict[str, float]:
        return {"base_score": float(self.base_score), "base_odds_good_bad": float(self.base_odds),
                "pdo": float(self.pdo), "score_min": SCORE_MIN, "score_max": SCORE_MAX}

    @classmethod
    def from_dict(cls, d: dict) -> "Scaling":
        return cls(float(d["base_score"]), float(d["base_odds_good_bad"]), float(d["pdo"]))

    def describe(self) -> str:
        return (f"{self.base_score:.0f} points = {self.base_odds:.4g}:1 good:bad odds "
                f"(bad rate {1 / (1 + self.base_odds):.2%}); {self.pdo:.1f} points double the odds")


DEFAULT_SCALING = Scaling(ANCHOR_SCORE, 20.0, 50.0)


def fit_scaling(log_odds_good, best_log_odds: float | None = None) -> Scaling:
    """The published scaling rule: the training population uses the whole range.

    ``log_odds_good``: the model's (unrounded) log-odds good:bad of every
    training row. The ``1 - CAP_SHARE`` quantile is mapped to 950 (or
    ``best_log_odds``, the best the model can give, when it is lower: a
    scorecard's all-best-bins file then scores exactly 950), and the
    ``FLOOR_SHARE`` quantile to 350. Mapping the best possible file to 950
    instead would let one extreme combination nobody has squeeze the whole
    population towards the floor. A degenerate population (no spread) gets
    :data:`DEFAULT_SCALING`.
    """
    x = np.asarray(log_odds_good, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return DEFAULT_SCALING
    lo = float(np.quantile(x, FLOOR_SHARE))
    hi = float(np.quantile(x, 1.0 - CAP_SHARE))
    if best_log_odds is not None:
        hi = min(hi, float(best_log_odds))
    if not hi - lo > 1e-9:
        return DEFAULT_SCALING
    factor = (SCORE_MAX - SCORE_MIN) / (hi - lo)
    offset = SCORE_MIN - factor * lo
    return Scaling(ANCHOR_SCORE, float(math.exp((ANCHOR_SCORE - offset) / factor)), factor * math.log(2.0))


def band_table(scaling: Scaling, training_scores=None) -> list[dict]:
    """The table a model publishes: band, bounds, odds at the bounds and the expected bad rate.

    The expected bad rate of a band is the mean bad rate the scaling implies for
    the training population's scores in the band (every integer score of the
    band weighted equally where the band holds none of them).
    """
    s = None if training_scores is None else np.asarray(training_scores, dtype=float)
    rows = []
    for b in BANDS:
        member = None if s is None else s[(s >= b.lower) & (s <= b.upper)]
        basis = member if member is not None and member.size else np.arange(b.lower, b.upper + 1)
        rows.append({
            "band": b.name, "lower": b.lower, "upper": b.upper,
            "odds_at_lower": round(float(scaling.odds_at(b.lower)), 4),
            "odds_at_upper": round(float(scaling.odds_at(b.upper)), 4),
            "expected_bad_rate": float(np.mean(scaling.bad_rate_at(basis))),
            "training_share": float(member.size / s.size) if member is not None and s is not None and s.size else None,
        })
    return rows


def expected_bad_rate_interval(expected: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Central ``level`` interval of the observed bad rate of ``n`` consumers whose expected rate is
    ``expected`` (binomial), as rates."""
    from scipy.stats import binom

    if n <= 0:
        return (0.0, 1.0)
    tail = (1.0 - level) / 2.0
    return (float(binom.ppf(tail, n, expected) / n), float(binom.ppf(1.0 - tail, n, expected) / n))


__all__ = [
    "SCORE_MIN", "SCORE_MAX", "ANCHOR_SCORE", "FLOOR_SHARE", "CAP_SHARE", "Band", "BANDS", "band_of",
    "band_index", "get_band", "Scaling", "DEFAULT_SCALING", "fit_scaling", "band_table",
    "expected_bad_rate_interval",
]
