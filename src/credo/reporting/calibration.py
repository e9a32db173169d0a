"""Whether each band's published expected bad rate held on validation, said in sentences."""

from __future__ import annotations

from collections.abc import Sequence


def _pct(rate: float) -> str:
    return f"{100 * rate:.1f} %"


def band_verdicts(bands: Sequence[dict]) -> list[str]:
    """One sentence per band whose observed bad rate lies outside the 95 % interval of its published
    expected rate (which band, by how much), or one sentence saying that every band holds.

    ``bands``: the rows of :func:`credo.model.metrics.calibration_by_band` (``n``, ``observed_bad_rate``,
    ``expected_bad_rate``, ``interval_low``, ``interval_high``, ``holds``, ``miss``). A band without
    validation consumers cannot be judged and is named as such.
    """
    lines = []
    for b in bands:
        if b["holds"]:
            continue
        side = "above" if b["observed_bad_rate"] > b["interval_high"] else "below"
        lines.append(
            f"Band “{b['band']}” ({b['lower']}–{b['upper']}) misses: {_pct(b['observed_bad_rate'])} of its "
            f"{b['n']:,} validation consumers were bad against a published {_pct(b['expected_bad_rate'])} "
            f"(95 % interval {_pct(b['interval_low'])} to {_pct(b['interval_high'])}), "
            f"{100 * abs(b['miss']):.1f} percentage points {side} the interval.")
    judged = [b for b in bands if b["n"] > 0]
    if not lines:
        lines.append(f"All {len(judged)} bands with validation consumers hold: each observed bad rate lies "
                     "within the 95 % interval of its published expected bad rate.")
    empty = [b["band"] for b in bands if b["n"] == 0]
    if empty:
        lines.append(f"No validation consumers fell in {', '.join(f'“{name}”' for name in empty)}, "
                     "so the published rate there is untested.")
    return lines


__all__ = ["band_verdicts"]
