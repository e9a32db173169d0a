"""The outcome column: which rows are bad (1) and which good (0)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from credo.tabular.errors import TableError
from credo.tabular.parse import clean_text, is_text, parse_number

_SHOWN_VALUES = 8


def _listing(levels: list[str]) -> str:
    shown = ", ".join(repr(v) for v in levels[:_SHOWN_VALUES])
    return shown + (f", … ({len(levels)} values)" if len(levels) > _SHOWN_VALUES else "")


def _same_value(text: str, wanted: str) -> bool:
    if text == wanted:
        return True
    a, b = parse_number(text), parse_number(wanted)
    return a is not None and b is not None and a.value == b.value


def bad_labels(series: pd.Series, name: str, bad_value: Any = None) -> pd.Series:
    """1 = bad, 0 = good, NaN where the target is empty (float, index kept).

    Without ``bad_value`` the column must hold 0 and 1 (1 = bad); a text target
    needs ``bad_value`` (rows holding it are bad, every other value good).
    Raises :class:`TableError` for a target that cannot define two classes.
    """
    text = clean_text(series) if is_text(series) else series.map(lambda v: f"{v:g}" if pd.notna(v) else np.nan)
    present = text.dropna()
    levels = sorted(present.unique().tolist(), key=str)
    if not levels:
        raise TableError(f"target {name!r} has no values")
    if bad_value is None:
        numbers = {level: parse_number(level) for level in levels}
        if all(n is not None and n.value in (0.0, 1.0) for n in numbers.values()):
            labels = text.map(lambda v: numbers[v].value if isinstance(v, str) else np.nan).astype(np.float64)
        elif len(levels) == 2:
            raise TableError(f"target {name!r} holds {levels[0]!r} and {levels[1]!r}, not 0/1: say which one is bad "
                             f"with --bad-value")
        elif len(levels) == 1:
            raise TableError(f"target {name!r} is constant ({levels[0]!r}): a model needs good and bad rows")
        else:
            raise TableError(f"target {name!r} holds {_listing(levels)}: say which value is bad with --bad-value "
                             f"(every other value is good)")
    else:
        wanted = str(bad_value).strip()
        bad = {level: _same_value(level, wanted) for level in levels}
        if not any(bad.values()):
            raise TableError(f"--bad-value {wanted!r} does not occur in target {name!r} (values: {_listing(levels)})")
        labels = text.map(lambda v: float(bad[v]) if isinstance(v, str) else np.nan).astype(np.float64)
    counts = labels.value_counts()
    if len(counts) < 2:
        only = "bad" if counts.index[0] == 1 else "good"
        raise TableError(f"target {name!r} is constant: every row is {only}; a model needs good and bad rows")
    if counts.min() < 2:
        raise TableError(f"target {name!r} has only {int(counts.min())} "
                         f"{'bad' if counts.idxmin() == 1 else 'good'} row: too few to split and validate")
    return labels


__all__ = ["bad_labels"]
