"""Numbers written as text, read as numbers; everything else as trimmed text.

What counts as a number (after trimming spaces):

* plain: ``12``, ``-3.5``, ``.5``, ``1e-3``;
* thousands separators: ``12,345`` and ``1,234,567.89`` (comma between groups
  of three digits, dot as the decimal point; a decimal comma such as ``3,5``
  is *not* read as a number, so such a column stays text and the report says so);
* percent: ``83.70%`` is read as **83.7**, the number as written, so bins and
  reasons read in the same unit as the file (not as the fraction 0.837);
* currency: one of ``$ € £ ¥ ₹`` before or after the number (``$1,200.50``,
  ``-$5``, ``12 €``) is dropped; the column is assumed to hold one currency.

A column is numeric when at least :data:`NUMERIC_SHARE` of its non-empty
values are numbers; the few that are not are read as missing and counted in
the column report. Empty cells and the tokens in :data:`MISSING_TOKENS` are
missing in every column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Cell texts that mean "no value" (compared case-insensitively after trimming).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "?", "#n/a", "nil"})
#: Share of a column's non-empty values that must be numbers for the column to be numeric.
NUMERIC_SHARE = 0.99
CURRENCY_SYMBOLS = "$€£¥₹"

_NUMBER = re.compile(
    rf"^(?P<sign>[+-])?\s*(?P<cur1>[{CURRENCY_SYMBOLS}])?\s*(?P<sign2>[+-])?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    rf"\s*(?P<pct>%)?\s*(?P<cur2>[{CURRENCY_SYMBOLS}])?$"
)

NUMERIC, CATEGORICAL = "numeric", "categorical"


@dataclass(frozen=True)
class Number:
    """One parsed cell: its value and how it was written."""

    value: float
    percent: bool = False
    currency: str = ""
    thousands: bool = False


def parse_number(text: str) -> Number | None:
    """The number a cell's text writes, or None (see the module docstring for the forms)."""
    m = _NUMBER.match(text.strip())
    if m is None or (m["sign"] and m["sign2"]) or (m["cur1"] and m["cur2"]) or (m["pct"] and (m["cur1"] or m["cur2"])):
        return None
    value = float(m["num"].replace(",", ""))
    if "-" in (m["sign"], m["sign2"]):
        value = -value
    return Number(value, percent=bool(m["pct"]), currency=m["cur1"] or m["cur2"] or "", thousands="," in m["num"])


def is_text(series: pd.Series) -> bool:
    """True for columns of strings (CSV cells, Parquet string/object columns)."""
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def clean_text(series: pd.Series) -> pd.Series:
    """Trimmed text, missing tokens as NaN (object dtype, index kept)."""
    text = series.astype("string").str.strip()
    missing = (text.isna() | text.str.lower().isin(MISSING_TOKENS)).to_numpy(dtype=bool, na_value=True)
    values = text.to_numpy(dtype=object, na_value=np.nan)
    values[missing] = np.nan
    return pd.Series(values, index=series.index, dtype=object)


@dataclass(frozen=True)
class ParsedColumn:
    """A column read as numbers or text, and how."""

    values: pd.Series
    type: str  # NUMERIC or CATEGORICAL
    parsed_as: str
    unparsed: int = 0


def _parse_levels(text: pd.Series) -> dict[str, Number | None]:
    return {level: parse_number(level) for level in text.dropna().unique()}


def _numbers(text: pd.Series, parsed: dict[str, Number | None]) -> pd.Series:
    values = {level: n.value for level, n in parsed.items() if n is not None}
    return text.map(values).astype(np.float64)


def infer_column(series: pd.Series) -> ParsedColumn:
    """Read a column: numeric when (almost) every non-empty value is a number, text otherwise."""
    if not is_text(series):
        return ParsedColumn(series.astype(np.float64), NUMERIC, f"number (file type {series.dtype})")
    text = clean_text(series)
    present = text.dropna()
    if present.empty:
        return ParsedColumn(text, CATEGORICAL, "text (no values)")
    parsed = _parse_levels(text)
    counts = present.value_counts()
    ok = pd.Series({level: n is not None for level, n in parsed.items()}, dtype=bool)
    share = float(counts[ok.reindex(counts.index).to_numpy()].sum() / len(present))
    if share < NUMERIC_SHARE:
        return ParsedColumn(text, CATEGORICAL, "text")
    numbers = [n for n in parsed.values() if n is not None]
    forms = [name for name, used in (
        ("percent, 83.70% read as 83.7", any(n.percent for n in numbers)),
        ("currency " + "".join(sorted({n.currency for n in numbers if n.currency})) + " dropped",
         any(n.currency for n in numbers)),
        ("thousands separators", any(n.thousands for n in numbers)),
    ) if used]
    unparsed = int(len(present) - round(share * len(present)))
    described = "number" + (f" ({'; '.join(forms)})" if forms else "")
    if unparsed:
        described += f"; {unparsed} non-numeric value{'s' if unparsed > 1 else ''} read as missing"
    return ParsedColumn(_numbers(text, parsed), NUMERIC, described, unparsed)


def apply_type(series: pd.Series, type_: str) -> pd.Series:
    """Read a column as a plan says (training and scoring read identically)."""
    if type_ == NUMERIC:
        if not is_text(series):
            return series.astype(np.float64)
        text = clean_text(series)
        return _numbers(text, _parse_levels(text))
    return clean_text(series) if is_text(series) else series.astype(object).where(series.notna(), np.nan)


__all__ = [
    "CATEGORICAL", "CURRENCY_SYMBOLS", "MISSING_TOKENS", "NUMERIC", "NUMERIC_SHARE", "Number", "ParsedColumn",
    "apply_type", "clean_text", "infer_column", "is_text", "parse_number",
]
