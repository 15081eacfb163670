"""The CSV text is pandas' to_csv's, byte for byte: on rounded and unrounded floats, edge values, text that needs
quoting, nullable columns and kinds it hands back to pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solarmap.report.csv_text import _floats, csv_text


def _pandas(frame: pd.DataFrame, header: bool = True) -> str:
    return frame.to_csv(index=False, header=header, lineterminator="\n")


EDGE = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-4, 9.99e-5, 1e-5, 0.00012, 1e15, 999999999999999.9, 1e16, 123456789.123,
        2.675, 0.1 + 0.2, np.nan, np.inf, -np.inf, 5e-324, 1.7976931348623157e308, -123.45, 7.0, 100.0, 1e14 + 0.5]


@pytest.mark.parametrize("decimals", [None, 0, 1, 2, 3, 4, 6])
def test_edge_values_rounded_and_not(decimals):
    x = np.array(EDGE)
    with np.errstate(over="ignore"):  # 1.8e308 × 10**d
        rounded = np.round(x, decimals) if decimals is not None else x
    for values in (x, rounded):
        frame = pd.DataFrame({"a": values, "b": np.arange(len(values))})
        assert csv_text(frame, header=True, decimals={"a": decimals}) == _pandas(frame)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=40),
       st.integers(0, 6), st.booleans(), st.booleans())
def test_floats_any_values(values, decimals, round_them, say_decimals):
    """Whatever the values and whatever places the caller claims, the text is pandas'."""
    x = np.array(values, dtype=float)
    if round_them:
        with np.errstate(all="ignore"):
            x = np.round(x, decimals)
    frame = pd.DataFrame({"x": x, "y": x[::-1]})
    places = {"x": decimals, "y": decimals} if say_decimals else None
    assert csv_text(frame, header=True, decimals=places) == _pandas(frame)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from(list('ab ,"\n;x屋顶光伏\t\'')), max_size=8)),
                min_size=1, max_size=30))
def test_text_columns_quoted_as_pandas(texts):
    frame = pd.DataFrame({"s": pd.Series(texts, dtype=object), "t": pd.Series(texts, dtype="string"),
                          "n": np.arange(len(texts), dtype=np.int64)})
    assert csv_text(frame, header=True) == _pandas(frame)
    assert csv_text(frame, header=False) == _pandas(frame, header=False)


def test_other_kinds_and_shapes():
    frame = pd.DataFrame({
        "year": pd.array([1983, None, 2020], dtype="Int64"),
        "flag": pd.array([True, None, False], dtype="boolean"),
        "ok": np.array([True, False, True]),
        "u8": np.array([1, 2, 255], dtype=np.uint8),
        "f32": np.array([0.1, np.nan, 2.5], dtype=np.float32),
        "名称, 带逗号": ["a", "b,c", 'say "hi"'],
    })
    assert csv_text(frame, header=True, decimals={"f32": 1}) == _pandas(frame)
    # kinds handed back to pandas whole: dates, categories, mixed objects, a carriage return, a lone column
    for extra in ({"when": pd.to_datetime(["2025-01-01", None, "2025-06-30"])},
                  {"cat": pd.Categorical(["x", "y", None])},
                  {"mixed": [1, "a", 2.5]},
                  {"bytes": [b"abc", None, b"d"]},
                  {"cr": ["a\rb", "c", None]}):
        other = frame.assign(**extra)
        assert csv_text(other, header=True) == _pandas(other)
    lone = pd.DataFrame({"only": ["", None, "a"]})
    assert csv_text(lone, header=True) == _pandas(lone)
    assert csv_text(frame.iloc[:0], header=True) == _pandas(frame.iloc[:0])
    assert csv_text(frame.iloc[:0], header=False) == _pandas(frame.iloc[:0], header=False)


def test_the_compiled_path_is_taken_for_rounded_values():
    """The fast path is what runs on rounded columns (not the fallback that would hide a slow writer)."""
    rng = np.random.default_rng(1)
    x = np.round(rng.normal(0, 1e4, 10_000), 2)
    arr = _floats(x, 2)
    assert arr.to_pylist() == x.astype(str).tolist()
    from solarmap.report import csv_text as mod
    offsets, data = np.empty(len(x) + 1, dtype=np.int64), np.empty(len(x) * 24, dtype=np.uint8)
    assert mod._format_decimals(x, 2, offsets, data)
    assert not mod._format_decimals(x + 1e-9, 2, offsets, data)  # not a two-place decimal: numpy formats it
