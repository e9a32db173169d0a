"""The score gauge and the history chart as inline SVG geometry (no chart script on the page)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from credo.policy.bands import BANDS, SCORE_MAX, SCORE_MIN

#: One colour per band, poor to excellent (each at least 3:1 against white, WCAG 1.4.11).
BAND_COLOURS = ("#b3261e", "#b35c00", "#8a6d00", "#3b7d23", "#1b6e3a")


def _point(score: float, radius: float, cx: float = 150, cy: float = 150) -> tuple[float, float]:
    """Where ``score`` falls on the gauge's half circle (350 at the left, 950 at the right)."""
    share = (min(max(score, SCORE_MIN), SCORE_MAX) - SCORE_MIN) / (SCORE_MAX - SCORE_MIN)
    angle = math.pi * (1 - share)
    return round(cx + radius * math.cos(angle), 2), round(cy - radius * math.sin(angle), 2)


@dataclass(frozen=True)
class Arc:
    path: str
    colour: str
    label: str


def gauge(score: int | None) -> dict[str, Any]:
    """The gauge's band arcs and, for a score, its needle."""
    arcs = []
    for band, colour in zip(BANDS, BAND_COLOURS, strict=True):
        start, end = _point(band.lower, 120), _point(min(band.upper + 1, SCORE_MAX), 120)
        arcs.append(Arc(f"M {start[0]} {start[1]} A 120 120 0 0 1 {end[0]} {end[1]}", colour,
                        f"{band.name} {band.lower}-{band.upper}"))
    needle = _point(score, 100) if score is not None else None
    return {"arcs": arcs, "needle": needle}


def history_chart(points: list[dict[str, Any]], width: int = 640, height: int = 220) -> dict[str, Any]:
    """A line of the scored points over time, on the fixed 350-950 axis (so a move looks its true size)."""
    scored = [p for p in points if p["score"] is not None]
    pad_l, pad_r, pad_t, pad_b = 44, 12, 12, 28
    if not scored:
        return {"width": width, "height": height, "line": "", "dots": [], "ticks": [], "xlabels": []}
    times = [p["scored_at"].timestamp() if isinstance(p["scored_at"], datetime) else 0 for p in scored]
    t0, t1 = min(times), max(times)
    span = (t1 - t0) or 1

    def xy(t: float, s: int) -> tuple[float, float]:
        x = pad_l + (width - pad_l - pad_r) * ((t - t0) / span if t1 > t0 else 0.5)
        y = pad_t + (height - pad_t - pad_b) * (1 - (s - SCORE_MIN) / (SCORE_MAX - SCORE_MIN))
        return round(x, 1), round(y, 1)

    coords = [xy(t, p["score"]) for t, p in zip(times, scored, strict=True)]
    ticks = [{"score": s, "y": xy(t0, s)[1]} for s in (350, 500, 650, 800, 950)]
    first, last = scored[0]["scored_at"], scored[-1]["scored_at"]
    return {
        "width": width, "height": height,
        "line": " ".join(f"{x},{y}" for x, y in coords),
        "dots": [{"x": x, "y": y, "score": p["score"], "at": p["scored_at"]} for (x, y), p in zip(coords, scored, strict=True)],
        "ticks": ticks, "left": pad_l, "right": width - pad_r,
        "xlabels": [(pad_l, first), (width - pad_r, last)] if len(scored) > 1 else [(pad_l, first)],
    }
