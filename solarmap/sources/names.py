"""Finding an input file's columns by name, as a GIS analyst's files spell them: any case (a Shapefile's
``HEIGHT_M``, an Excel export's ``Floors``), the first candidate that is there winning."""

from __future__ import annotations

from collections.abc import Iterable


def find_column(columns: Iterable, candidates: Iterable[str]) -> str:
    """The first of ``candidates`` among ``columns``, compared without case; an exact match of a candidate wins
    over another column that differs from it only in case. Empty when none is there."""
    cols = [c for c in columns if isinstance(c, str)]
    by_lower: dict[str, str] = {}
    for c in cols:
        by_lower.setdefault(c.lower(), c)
    for cand in candidates:
        if cand in cols:
            return cand
        if cand.lower() in by_lower:
            return by_lower[cand.lower()]
    return ""
