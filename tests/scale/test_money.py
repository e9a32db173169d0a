"""The compiled money parser accepts exactly what the normalising SQL's check accepts, and converts the same."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from credo.scale.money import INT64_MAX, minor_units


def reference(text: str, exponent: int) -> int | None:
    """The SQL's rule (``[0-9]+\\.[0-9]{e}``, then the digits as a BIGINT), None where it raises."""
    if exponent < 0:
        return None
    pattern = rf"[0-9]+\.[0-9]{{{exponent}}}" if exponent else "[0-9]+"
    if not re.fullmatch(pattern, text, flags=re.ASCII):
        return None
    value = int(text.replace(".", ""))
    return value if value <= INT64_MAX else None


texts = st.one_of(
    st.text(alphabet="0123456789.", max_size=24),
    st.text(alphabet="0123456789.-+ e_,٣", max_size=8),
    st.integers(0, 10**21).map(str).flatmap(lambda d: st.integers(0, len(d)).map(lambda k: d[:k] + "." + d[k:])),
)


@settings(max_examples=400, deadline=None)
@given(rows=st.lists(st.tuples(st.none() | texts, st.sampled_from([-1, 0, 2, 3])), min_size=1, max_size=30),
       split=st.integers(0, 30))
def test_each_string_parses_as_the_sql_would(rows, split):
    strings = [text for text, _ in rows]
    exponents = np.array([e for _, e in rows], dtype=np.int64)
    k = min(split, len(rows))
    column = pa.chunked_array([pa.array(strings[:k], pa.string()), pa.array(strings[k:], pa.string())])
    nulls = np.array([text is None for text in strings])
    units, bad = minor_units(column, exponents, nulls)
    want = [None if text is None else reference(text, int(e)) for text, e in rows]
    first_bad = next((i for i, (text, w) in enumerate(zip(strings, want)) if text is not None and w is None), -1)
    assert bad == first_bad
    upto = len(rows) if first_bad < 0 else first_bad
    assert [int(u) for u in units[:upto]] == [0 if w is None else w for w in want[:upto]]


def test_rows_marked_null_are_not_checked():
    column = pa.chunked_array([pa.array(["12.30", "not money", "7.05"], pa.string()).slice(0)])
    units, bad = minor_units(column, np.array([2, 2, 2]), np.array([False, True, False]))
    assert bad == -1 and units.tolist() == [1230, 0, 705]


def test_a_sliced_chunk_reads_its_own_strings():
    whole = pa.array(["1.00", "2.50", "3.75", "x"], pa.string())
    units, bad = minor_units(pa.chunked_array([whole.slice(1, 2)]), np.array([2, 2]), np.array([False, False]))
    assert bad == -1 and units.tolist() == [250, 375]


def test_the_largest_amount_fits_and_one_more_does_not():
    top = str(INT64_MAX)
    column = pa.chunked_array([pa.array([top[:-2] + "." + top[-2:], str(INT64_MAX + 1)], pa.string())])
    units, bad = minor_units(column, np.array([2, 0]), np.array([False, False]))
    assert units[0] == INT64_MAX and bad == 1
