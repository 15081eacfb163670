"""CSV text of a table, byte for byte what ``DataFrame.to_csv(index=False, lineterminator="\\n")`` writes, faster.

pandas formats a float column with numpy's ``astype(str)`` (the shortest text that reads back as the same double,
Python's ``repr``), about 1 µs a value, then hands rows to Python's ``csv`` module. The roof and facade tables'
floats are rounded to a few decimals first (:func:`solarmap.report.export.tidy`), and for such a value that text
is the decimal itself: a double ``x`` that is the nearest double to ``k / 10**d`` with ``|k| < 10**15`` has no
other decimal of 15 significant digits or fewer within half a unit in the last place of it (15-digit decimals lie
at least 1e-15 apart relative to their size, doubles at most 2.2e-16), so its shortest text is ``k / 10**d`` with
the trailing zeros dropped (one kept after the point, ``1.0``). A compiled loop writes that text; a value it cannot
vouch for (not such a decimal, or outside 1e-4 … 1e15, where ``repr`` turns to exponents) sends its column to
numpy's own formatting. Rows are joined by Arrow's string kernels. A column of a kind not handled here (dates,
categories, mixed objects, a text with a carriage return) sends its whole table to pandas.
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: decimals tried for a float column's values when the column's own are unknown
MAX_DECIMALS = 6
_POW10 = 10.0 ** np.arange(MAX_DECIMALS + 1)


@numba.njit(cache=True)
def _format_decimals(x: np.ndarray, decimals: int, offsets: np.ndarray, data: np.ndarray) -> bool:
    """Write each value's shortest text into ``data`` (``offsets`` filled, NaN as empty); False at the first value
    that is not the nearest double to a decimal of ``decimals`` places with under 15 significant digits in
    [1e-4, 1e15) (or zero)."""
    scale = 10.0 ** decimals
    digits = np.empty(24, dtype=np.uint8)
    pos = 0
    offsets[0] = 0
    for i in range(len(x)):
        v = x[i]
        if np.isnan(v):
            offsets[i + 1] = pos
            continue
        a = abs(v)
        if a != 0.0 and (a < 1e-4 or a >= 1e15):
            return False
        k = np.rint(a * scale)
        if k >= 1e15 or k / scale != a:
            return False
        n = np.int64(k)
        if v < 0.0 or (v == 0.0 and np.signbit(v)):
            data[pos] = 45  # '-'
            pos += 1
        # digits of n, least significant first, at least decimals + 1 of them
        m = 0
        while n > 0 or m <= decimals:
            digits[m] = 48 + n % 10
            n //= 10
            m += 1
        # the fraction's trailing zeros dropped, one digit kept after the point
        low = 0
        while low < decimals - 1 and digits[low] == 48:
            low += 1
        for j in range(m - 1, decimals - 1, -1):  # the integer part
            data[pos] = digits[j]
            pos += 1
        data[pos] = 46  # '.'
        pos += 1
        if decimals == 0:
            data[pos] = 48
            pos += 1
        for j in range(decimals - 1, low - 1, -1):
            data[pos] = digits[j]
            pos += 1
        offsets[i + 1] = pos
    return True


def _floats(values: np.ndarray, decimals: int | None) -> pa.Array:
    """Doubles' text; other floats (float32's shortest text is its own) by numpy, as pandas does."""
    x = np.ascontiguousarray(values)
    if x.dtype == np.float64:
        offsets = np.empty(len(x) + 1, dtype=np.int64)
        data = np.empty(len(x) * 24, dtype=np.uint8)
        for d in ([decimals] if decimals is not None else range(MAX_DECIMALS + 1)):
            if 0 <= d <= MAX_DECIMALS and _format_decimals(x, int(d), offsets, data):
                return pa.LargeStringArray.from_buffers(len(x), pa.py_buffer(offsets),
                                                        pa.py_buffer(data[: offsets[-1]]))
    text = x.astype(str)  # pandas' own formatting
    text[np.isnan(x)] = ""
    return pa.array(text, type=pa.large_string())


_QUOTE = r'[,"\n]'


def _text(s: str) -> pa.Scalar:
    return pa.scalar(s, type=pa.large_string())


def _texts(column: pd.Series) -> pa.Array | None:
    """A column of text (and missing values) as pandas writes it (quoted where it holds a comma, a quote or a line
    break); None if it holds anything else."""
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty"):
        return None  # bytes, numbers, mixed: pandas writes each with str()
    values = column.to_numpy(dtype=object, na_value=None) if column.dtype != object else column.to_numpy()
    try:
        arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if pc.any(pc.match_substring(arr, "\r")).as_py():
        return None
    arr = pc.fill_null(arr, "")
    quote = pc.match_substring_regex(arr, _QUOTE)
    if pc.any(quote).as_py():
        quoted = pc.binary_join_element_wise(_text('"'), pc.replace_substring(arr, '"', '""'), _text('"'), _text(""))
        arr = pc.if_else(quote, quoted, arr)
    return arr


def _column_text(column: pd.Series, decimals: int | None) -> pa.Array | None:
    dtype = column.dtype
    if isinstance(dtype, np.dtype):
        if dtype.kind == "f":
            return _floats(column.to_numpy(), decimals)
        if dtype.kind in "iu":
            return pa.array(column.to_numpy().astype(str), type=pa.large_string())
        if dtype.kind == "b":
            return pa.array(np.where(column.to_numpy(), "True", "False"), type=pa.large_string())
        if dtype.kind == "O":
            return _texts(column)
        return None
    if isinstance(dtype, pd.StringDtype):
        return _texts(column)
    if isinstance(dtype, pd.Int64Dtype | pd.Int32Dtype | pd.Int16Dtype | pd.Int8Dtype):
        miss = column.isna().to_numpy()
        text = column.to_numpy(dtype=np.int64, na_value=0).astype(str).astype(object)
        text[miss] = ""
        return pa.array(text, type=pa.large_string())
    if isinstance(dtype, pd.BooleanDtype):
        miss = column.isna().to_numpy()
        text = np.where(column.to_numpy(dtype=bool, na_value=False), "True", "False").astype(object)
        text[miss] = ""
        return pa.array(text, type=pa.large_string())
    return None


def csv_bytes(frame: pd.DataFrame, *, header: bool, decimals: dict | None = None) -> bytes | memoryview:
    """``frame.to_csv(index=False, header=header, lineterminator="\\n")``'s text in UTF-8, to be written to a binary
    file as it is (a view of the joined rows: no copy). ``decimals``: the places a float column's values were rounded
    to (any column's are found when not given)."""
    decimals = decimals or {}
    if frame.shape[1] < 2 or not frame.columns.is_unique:  # a lone column's empty value is quoted: pandas' way
        return frame.to_csv(index=False, header=header, lineterminator="\n").encode("utf-8")
    cols = []
    for c in frame.columns:
        text = _column_text(frame[c], decimals.get(c))
        if text is None:
            return frame.to_csv(index=False, header=header, lineterminator="\n").encode("utf-8")
        cols.append(text)
    head = frame.iloc[:0].to_csv(index=False, header=header, lineterminator="\n").encode("utf-8")
    if not len(frame):
        return head
    rows = pc.binary_join_element_wise(*cols, _text(","))
    del cols
    rows = pc.binary_join_element_wise(rows, _text(""), _text("\n"))
    offsets, data = rows.buffers()[1:3]
    start, end = np.frombuffer(offsets, dtype=np.int64)[[rows.offset, rows.offset + len(rows)]]
    body = memoryview(data)[start:end]
    return head + bytes(body) if head else body


def csv_text(frame: pd.DataFrame, *, header: bool, decimals: dict | None = None) -> str:
    """:func:`csv_bytes` as text."""
    return bytes(csv_bytes(frame, header=header, decimals=decimals)).decode("utf-8")
