"""Roof heights: from a height column, from floors × storey height, or from a DSM/nDSM GeoTIFF.

A DSM, when given, comes first (it is a measurement); then the height column; then floors × storey height.
Values that cannot be a building's height (missing, ≤ 0, or above 650 m, higher than any building in China)
are treated as missing and the next source is tried; the source used is recorded per building.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from solarmap.errors import InputDataError, InputFileError

log = logging.getLogger(__name__)

MAX_HEIGHT_M = 650.0  # above the tallest building in China (Shanghai Tower, 632 m)
HEIGHT_CANDIDATES = ("height_m", "height", "Height", "HEIGHT", "bldg_height", "高度")
FLOORS_CANDIDATES = ("floors", "building:levels", "levels", "storeys", "Floor", "FLOOR", "层数")


def to_number(values: pd.Series) -> np.ndarray:
    """Numbers from a column that may hold text such as "25 m", "25.5m" or "约30" (OSM and hand-typed data):
    the first number in each value, NaN where there is none."""
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    text = values.astype("string").str.replace(",", ".", regex=False)
    return pd.to_numeric(text.str.extract(r"(-?\d+(?:\.\d+)?)", expand=False), errors="coerce").to_numpy(dtype=float)


def _plausible(values: np.ndarray) -> np.ndarray:
    return np.isfinite(values) & (values > 0) & (values <= MAX_HEIGHT_M)


def per_label_median(labels: np.ndarray, values: np.ndarray, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """Median of ``values`` per integer label 1..n_labels, vectorised (sort once). Returns (median, count)."""
    order = np.lexsort((values, labels))
    lab, val = labels[order], values[order]
    counts = np.bincount(lab, minlength=n_labels + 1)[1:]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    med = np.full(n_labels, np.nan)
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    med[has] = (val[lo] + val[hi]) / 2.0
    return med, counts


def heights_from_dsm(footprints: gpd.GeoDataFrame, dsm: str | Path, *, dtm: str | Path | None = None) -> pd.Series:
    """Per-footprint median of the DSM pixels whose centres lie in the footprint (all touched pixels for
    footprints smaller than a pixel), minus the DTM median when a DTM is given [m]. NaN where no valid pixel."""
    import rasterio
    from rasterio.features import rasterize
    from rasterio.windows import from_bounds

    dsm = Path(dsm)
    if not dsm.exists():
        msg = f"DSM file {dsm} does not exist"
        raise InputFileError(msg)
    result = np.full(len(footprints), np.nan)
    with rasterio.open(dsm) as src:
        if src.crs is None:
            msg = f"DSM {dsm} has no CRS; assign one (gdal_edit.py -a_srs EPSG:...)"
            raise InputDataError(msg)
        geoms = footprints.geometry.to_crs(src.crs)
        valid = ~(geoms.is_empty | geoms.isna()).to_numpy()
        minx, miny, maxx, maxy = geoms[valid].total_bounds
        left, bottom, right, top = src.bounds
        if maxx < left or minx > right or maxy < bottom or miny > top:
            msg = (f"DSM {dsm} (bounds {left:.1f},{bottom:.1f},{right:.1f},{top:.1f} in {src.crs.to_string()}) does not overlap "
                   f"the footprints ({minx:.1f},{miny:.1f},{maxx:.1f},{maxy:.1f}); check both files' CRS")
            raise InputDataError(msg)
        window = from_bounds(max(minx, left), max(miny, bottom), min(maxx, right), min(maxy, top), src.transform)
        window = window.round_offsets().round_lengths()
        window = window.intersection(rasterio.windows.Window(0, 0, src.width, src.height))
        band = src.read(1, window=window, masked=True).astype(float)
        transform = src.window_transform(window)
        values = band.filled(np.nan)
        shape = values.shape
    labels_src = [(g, i + 1) for i, (g, ok) in enumerate(zip(geoms.to_numpy(), valid, strict=True)) if ok]
    n = len(footprints)
    for all_touched in (False, True):
        todo = [(g, k) for g, k in labels_src if np.isnan(result[k - 1])]
        if not todo:
            break
        labels = rasterize(todo, out_shape=shape, transform=transform, fill=0, all_touched=all_touched, dtype="int32")
        sel = (labels > 0) & np.isfinite(values)
        med, _ = per_label_median(labels[sel], values[sel], n)
        fill = np.isnan(result) & np.isfinite(med)
        result[fill] = med[fill]
    if dtm:
        ground = heights_from_dsm(footprints, dtm)
        result = result - ground.to_numpy()
    if not np.isfinite(result).any():
        msg = f"DSM {dsm} has no valid (non-nodata) pixel under any footprint"
        raise InputDataError(msg)
    return pd.Series(result, index=footprints.index, name="height_m")


def assign_heights(
    footprints: gpd.GeoDataFrame,
    *,
    height_column: str = "",
    floors_column: str = "",
    storey_height_m: float = 3.0,
    dsm: str = "",
    dtm: str = "",
) -> pd.DataFrame:
    """Return ``height_m`` [m], ``height_source`` and ``floors`` for each footprint (index aligned).

    ``height_source`` is ``dsm``, ``column``, ``floors``, or empty where no source gave a plausible height.
    """
    df = footprints
    hcol = height_column or next((c for c in HEIGHT_CANDIDATES if c in df.columns), "")
    fcol = floors_column or next((c for c in FLOORS_CANDIDATES if c in df.columns), "")
    for col, what in ((height_column, "height"), (floors_column, "floors")):
        if col and col not in df.columns:
            msg = f"no column '{col}' for the {what} (columns: {', '.join(map(str, df.columns))})"
            raise InputDataError(msg)
    n = len(df)
    height = np.full(n, np.nan)
    source = np.full(n, "", dtype=object)
    floors = to_number(df[fcol]) if fcol else np.full(n, np.nan)
    candidates = []
    if dsm:
        candidates.append(("dsm", heights_from_dsm(df, dsm, dtm=dtm or None).to_numpy()))
    if hcol:
        candidates.append(("column", to_number(df[hcol])))
    floors_ok = np.isfinite(floors) & (floors >= 1) & (floors <= 200)
    candidates.append(("floors", np.where(floors_ok, floors * storey_height_m, np.nan)))
    for name, values in candidates:
        take = np.isnan(height) & _plausible(values)
        height[take] = values[take]
        source[take] = name
    return pd.DataFrame(
        {"height_m": height, "height_source": source, "floors": pd.array(np.where(floors_ok, floors, np.nan)).astype("Int64")},
        index=df.index,
    )


def impute_from_neighbours(roofs: gpd.GeoDataFrame, *, radius_m: float = 100.0, k_min: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Median height of the buildings whose centres lie within ``radius_m`` of each building lacking one.

    Returns (height [m], imputed mask); NaN where fewer than ``k_min`` neighbours have a height.
    """
    h = roofs["height_m"].to_numpy(dtype=float)
    centres = shapely.centroid(roofs.geometry.to_numpy())
    ok = np.isfinite(h) & ~shapely.is_empty(centres) & ~shapely.is_missing(centres)
    need = ~np.isfinite(h) & ~shapely.is_empty(centres) & ~shapely.is_missing(centres)
    out = h.copy()
    if not need.any() or not ok.any():
        return out, np.zeros(len(h), dtype=bool)
    donors = np.flatnonzero(ok)
    tree = shapely.STRtree(centres[donors])
    want = np.flatnonzero(need)
    q, d = tree.query(centres[want], predicate="dwithin", distance=radius_m)
    med, count = per_label_median(q + 1, h[donors[d]], len(want))
    good = count >= k_min
    out[want[good]] = np.round(med[good], 1)
    imputed = np.zeros(len(h), dtype=bool)
    imputed[want[good]] = True
    return out, imputed
