"""The score rules: range, bands and the published scaling (PRODUCT.md §2).

This module is the single source of truth for every number a consumer or a
partner sees about the score. Models, the API, reports and tests read it; no
other module may keep its own copy of these constants.

Scaling (points-to-double-the-odds, odds are **good:bad**)::

    score = BASE_SCORE + PDO / ln(2) * ln(odds / BASE_ODDS)      odds = (1 - p_bad) / p_bad

so a score of 600 means odds of 20 good to 1 bad (bad rate 4.76 %), and every
50 points doubles the odds. The clamp range 350..950 therefore spans odds from
0.625:1 (bad rate 61.5 %) to 2560:1 (bad rate 0.04 %), which spreads ordinary
lending populations (bad rates of 2-30 %) across the whole scale.

Each band publishes an expected bad rate: the average of the bad rate implied
by the scaling over the band's integer scores (every score weighted equally).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SCORE_MIN: int = 350
SCORE_MAX: int = 950

#: Anchor of the scaling: BASE_SCORE points at BASE_ODDS good:bad odds.
BASE_SCORE: float = 600.0
BASE_ODDS: float = 20.0
#: Points to double the odds.
PDO: float = 50.0

#: Points per unit of natural log-odds.
FACTOR: float = PDO / math.log(2.0)
#: Score at odds 1:1 (log-odds 0).
OFFSET: float = BASE_SCORE - FACTOR * math.log(BASE_ODDS)


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


def score_from_log_odds(log_odds_good, clamp: bool = True):
    """Unrounded score for natural log-odds (good:bad); clamped to the range by default."""
    s = OFFSET + FACTOR * np.asarray(log_odds_good, dtype=float)
    return np.clip(s, SCORE_MIN, SCORE_MAX) if clamp else s


def log_odds_from_score(score):
    """Natural log-odds good:bad implied by a score (inverse of the scaling)."""
    return (np.asarray(score, dtype=float) - OFFSET) / FACTOR


def odds_at(score) -> float | np.ndarray:
    """Good:bad odds implied by a score."""
    return np.exp(log_odds_from_score(score))


def bad_rate_at(score) -> float | np.ndarray:
    """Bad rate (probability of bad) implied by a score."""
    return 1.0 / (1.0 + odds_at(score))


def expected_bad_rate(band: Band | str) -> float:
    """Published expected bad rate of a band: mean implied bad rate over its integer scores."""
    b = get_band(band) if isinstance(band, str) else band
    return float(np.mean(bad_rate_at(np.arange(b.lower, b.upper + 1))))


def published_table() -> list[dict]:
    """The table Credo publishes: band, bounds, odds at the bounds, expected bad rate."""
    return [
        {
            "band": b.name,
            "lower": b.lower,
            "upper": b.upper,
            "odds_at_lower": round(float(odds_at(b.lower)), 3),
            "odds_at_upper": round(float(odds_at(b.upper)), 3),
            "expected_bad_rate": round(expected_bad_rate(b), 5),
        }
        for b in BANDS
    ]


__all__ = [
    "SCORE_MIN", "SCORE_MAX", "BASE_SCORE", "BASE_ODDS", "PDO", "FACTOR", "OFFSET",
    "Band", "BANDS", "band_of", "band_index", "get_band", "score_from_log_odds",
    "log_odds_from_score", "odds_at", "bad_rate_at", "expected_bad_rate", "published_table",
]
