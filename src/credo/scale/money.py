"""Canonical decimal strings → exact minor units, compiled: the money columns of the compiled scan.

The normalising SQL (:func:`credo.scale.events.normalised_select`) checks every money string against
``[0-9]+\\.[0-9]{e}`` (``e`` its currency's exponent) with a regular expression and casts it, and that
was a quarter of a bucket's normalising projection. The compiled scan reads the strings instead and
:func:`minor_units` does the same in one pass over their bytes: digits, a point, exactly ``e``
digits (digits only when ``e`` is 0), with at least one digit before the point. It accepts exactly
what the expression accepts; where it finds anything else (or a value beyond 64 bits) it reports the
row, and the caller lets the SQL raise its own error naming the value and its event.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from credo.model.kernel import compiled as native

#: The largest minor-unit amount an ``int64`` holds.
INT64_MAX = np.iinfo(np.int64).max


@native
def _parse(offsets, data, nulls, exponents, out):  # pragma: no cover - compiled
    """Fill ``out`` with each non-NULL string's minor units; the index of the first string that is not
    canonical for its exponent (negative exponent: no currency), or -1."""
    limit = np.int64(INT64_MAX)
    for i in range(nulls.shape[0]):
        if nulls[i]:
            continue
        exponent = exponents[i]
        start, end = offsets[i], offsets[i + 1]
        point = end - exponent - 1 if exponent > 0 else end
        if exponent < 0 or point <= start or (exponent > 0 and data[point] != 46):  # 46: "."
            return i
        checked = end - start > 18  # 18 digits always fit in an int64: only longer strings check overflow
        value = np.int64(0)
        for k in range(start, end):
            if k == point:
                continue
            digit = np.int64(data[k]) - 48
            if digit < 0 or digit > 9 or (checked and value > (limit - digit) // 10):
                return i
            value = value * 10 + digit
        out[i] = value
    return -1


def minor_units(strings: pa.ChunkedArray, exponents: np.ndarray, nulls: np.ndarray) -> tuple[np.ndarray, int]:
    """(minor units, first bad row or -1) of a string column: ``exponents`` per row (negative where there
    is no currency), ``nulls`` the rows to skip (at least the column's NULLs). Skipped rows hold 0."""
    out = np.zeros(len(strings), dtype=np.int64)
    at = 0
    for chunk in strings.chunks:
        n = len(chunk)
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[chunk.offset:chunk.offset + n + 1]
        data = chunk.buffers()[2]
        raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        bad = _parse(offsets, raw, nulls[at:at + n], exponents[at:at + n], out[at:at + n])
        if bad >= 0:
            return out, at + int(bad)
        at += n
    return out, -1


__all__ = ["minor_units"]
