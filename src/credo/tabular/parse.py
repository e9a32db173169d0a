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

Whole columns are matched and converted with Arrow compute (RE2), not row by
row in Python: a million-row file reads in about a second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Cell texts that mean "no value" (compared case-insensitively after trimming).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "?", "#n/a", "nil"})
#: Share of a column's non-empty values that must be numbers for the column to be numeric.
NUMERIC_SHARE = 0.99
CURRENCY_SYMBOLS = "$€£¥₹"

_DIGITS = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
_CURRENCY = f"[{CURRENCY_SYMBOLS}]"
#: The accepted forms as one expression (the same text for Python's ``re`` and Arrow's RE2):
#: plain or percent with an optional sign; a leading currency with the sign before or after it;
#: a trailing currency.
NUMBER_PATTERN = (
    rf"^(?:[+-]?\s*{_DIGITS}(?:\s*%)?"
    rf"|(?:[+-]\s*{_CURRENCY}|{_CURRENCY}\s*[+-]?)\s*{_DIGITS}"
    rf"|[+-]?\s*{_DIGITS}\s*{_CURRENCY})$"
)
_NUMBER = re.compile(NUMBER_PATTERN)
#: What is dropped from a matched cell before it is read as a float.
_DECORATION = rf"[\s,%{CURRENCY_SYMBOLS}]"

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
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    value = float(re.sub(_DECORATION, "", text))
    currency = next((c for c in text if c in CURRENCY_SYMBOLS), "")
    return Number(value, percent="%" in text, currency=currency, thousands="," in text)


def is_text(series: pd.Series) -> bool:
    """True for columns of strings (CSV cells, Parquet string/object columns)."""
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


#: pandas' own text dtype (Arrow-backed, NaN for missing): no copy on the way to Arrow and back.
TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)


def _arrow(text: pd.Series) -> pa.Array:
    if not isinstance(text.dtype, pd.StringDtype) or text.dtype.storage != "pyarrow":
        text = text.astype(object).where(text.notna(), None).astype(TEXT_DTYPE)
    return pa.array(text.array)


def clean_text(series: pd.Series) -> pd.Series:
    """Trimmed text, missing tokens as NaN (Arrow-backed ``str`` dtype, index kept)."""
    text = pc.utf8_trim_whitespace(_arrow(series))
    missing = pc.fill_null(pc.is_in(pc.utf8_lower(text), pa.array(sorted(MISSING_TOKENS), type=text.type)), True)
    return pd.Series(pc.if_else(missing, pa.scalar(None, text.type), text), index=series.index, dtype=TEXT_DTYPE)


def _numbers(text: pd.Series) -> tuple[pa.Array, pa.Array]:
    """(float value or null, matched) for each cell of cleaned text."""
    cells = _arrow(text)
    matched = pc.fill_null(pc.match_substring_regex(cells, NUMBER_PATTERN), False)
    digits = pc.replace_substring_regex(pc.if_else(matched, cells, pa.scalar(None, cells.type)), _DECORATION, "")
    return pc.cast(digits, pa.float64()), matched


@dataclass(frozen=True)
class ParsedColumn:
    """A column read as numbers or text, and how."""

    values: pd.Series
    type: str  # NUMERIC or CATEGORICAL
    parsed_as: str
    unparsed: int = 0


def _as_series(values: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(values.to_numpy(zero_copy_only=False), index=index, dtype=np.float64)


def _forms(text: pd.Series, matched: pa.Array) -> list[str]:
    cells = pc.filter(_arrow(text), matched)
    symbols = "".join(c for c in CURRENCY_SYMBOLS if pc.any(pc.match_substring(cells, c)).as_py())
    return [name for name, used in (
        ("percent, 83.70% read as 83.7", pc.any(pc.match_substring(cells, "%")).as_py()),
        (f"currency {symbols} dropped", bool(symbols)),
        ("thousands separators", pc.any(pc.match_substring(cells, ",")).as_py()),
    ) if used]


def infer_column(series: pd.Series) -> ParsedColumn:
    """Read a column: numeric when (almost) every non-empty value is a number, text otherwise."""
    if not is_text(series):
        return ParsedColumn(series.astype(np.float64), NUMERIC, f"number (file type {series.dtype})")
    text = clean_text(series)
    present = int(text.notna().sum())
    if present == 0:
        return ParsedColumn(text, CATEGORICAL, "text (no values)")
    values, matched = _numbers(text)
    numbers = int(pc.sum(matched).as_py() or 0)
    if numbers < NUMERIC_SHARE * present:
        return ParsedColumn(text, CATEGORICAL, "text")
    forms = _forms(text, matched)
    unparsed = present - numbers
    described = "number" + (f" ({'; '.join(forms)})" if forms else "")
    if unparsed:
        described += f"; {unparsed} non-numeric value{'s' if unparsed > 1 else ''} read as missing"
    return ParsedColumn(_as_series(values, series.index), NUMERIC, described, unparsed)


def apply_type(series: pd.Series, type_: str) -> pd.Series:
    """Read a column as a plan says (training and scoring read identically)."""
    if type_ == NUMERIC:
        return series.astype(np.float64) if not is_text(series) else _as_series(_numbers(clean_text(series))[0],
                                                                                series.index)
    return clean_text(series) if is_text(series) else series.astype(object).where(series.notna(), np.nan)


__all__ = [
    "CATEGORICAL", "CURRENCY_SYMBOLS", "MISSING_TOKENS", "NUMBER_PATTERN", "NUMERIC", "NUMERIC_SHARE", "Number",
    "ParsedColumn", "TEXT_DTYPE", "apply_type", "clean_text", "infer_column", "is_text", "parse_number",
]
