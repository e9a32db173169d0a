"""Numbers written as text are read as numbers; the rest stays text."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credo.tabular.parse import NUMERIC, apply_type, clean_text, infer_column, parse_number


@pytest.mark.parametrize(("text", "value"), [
    ("12", 12.0), ("-3.5", -3.5), (".5", 0.5), ("1e-3", 0.001), (" 42 ", 42.0),
    ("12,345", 12345.0), ("1,234,567.89", 1234567.89),
    ("83.70%", 83.7), ("-1.5 %", -1.5),
    ("$1,200.50", 1200.5), ("-$5", -5.0), ("$-5", -5.0), ("12 €", 12.0), ("£3", 3.0),
])
def test_numbers_written_as_text(text: str, value: float) -> None:
    parsed = parse_number(text)
    assert parsed is not None and parsed.value == pytest.approx(value)


@pytest.mark.parametrize("text", ["abc", "3,5", "1,23", "12,34,567", "5%$", "+-3", "$$3", "A11", "36 months", ""])
def test_text_that_is_not_a_number(text: str) -> None:
    assert parse_number(text) is None


@settings(deadline=None)  # Arrow calls: timings vary on a busy machine
@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), st.sampled_from(["{:,.2f}", "${:,.2f}",
                                                                                   "{:.2f}%", "{:.2f}"]))
def test_formatted_numbers_round_trip(value: float, form: str) -> None:
    text = form.format(value) if not form.startswith("$") or value >= 0 else "-" + form.format(-value)
    assert parse_number(text).value == pytest.approx(round(value, 2), abs=1e-9)


def test_a_percent_column_is_numeric_in_percent_points_and_says_so() -> None:
    column = infer_column(pd.Series(["83.70%", "12%", "", "NA", "7.5%"]))
    assert column.type == NUMERIC and "percent" in column.parsed_as
    assert column.values.tolist()[:2] == [83.7, 12.0] and column.values.isna().tolist() == [False, False, True,
                                                                                           True, False]


def test_almost_all_numbers_is_numeric_and_the_stragglers_are_counted() -> None:
    mostly = infer_column(pd.Series(["$1,200"] * 199 + ["unknown"]))
    assert mostly.type == NUMERIC and mostly.unparsed == 1 and "1 non-numeric value read as missing" in mostly.parsed_as
    assert "currency $" in mostly.parsed_as and "thousands" in mostly.parsed_as
    assert infer_column(pd.Series(["$1,200"] * 20 + ["unknown"])).type == "categorical"


def test_text_is_trimmed_and_missing_tokens_are_missing() -> None:
    cleaned = clean_text(pd.Series([" a ", "NA", None, "?", "b", "n/a", ""]))
    assert cleaned.tolist()[0] == "a" and cleaned.tolist()[4] == "b"
    assert cleaned.isna().sum() == 5


@settings(deadline=None)  # Arrow calls: timings vary on a busy machine
@given(st.lists(st.one_of(st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: f"{v:,.3f}"),
                          st.sampled_from(["", "NA", "x", "12%", "$4"])), min_size=1, max_size=40))
def test_apply_type_reads_a_column_as_inference_did(cells: list[str]) -> None:
    """Training reads through infer_column, scoring through apply_type: they must agree."""
    series = pd.Series(cells)
    inferred = infer_column(series)
    again = apply_type(series, inferred.type)
    if inferred.type == NUMERIC:
        assert np.array_equal(again.to_numpy(float), inferred.values.to_numpy(float), equal_nan=True)
    else:
        assert again.isna().tolist() == inferred.values.isna().tolist()
        assert [v for v in again if isinstance(v, str)] == [v for v in inferred.values if isinstance(v, str)]


def test_parquet_numbers_stay_numbers() -> None:
    column = infer_column(pd.Series([1, 2, 3], dtype="int64"))
    assert column.type == NUMERIC and "int64" in column.parsed_as
    assert not any(math.isnan(v) for v in column.values)
