"""Roof heights: from a height column, from floors × storey height, or from a DSM/nDSM GeoTIFF.

A DSM, when given, comes first (it is a measurement); then the height column; then floors × storey height.
Values that cannot be a building's height (missing, ≤ 0, or above 650 m, higher than any building in China)
are treated as missing and the next source is tried; the source used is recorded per building.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from solarmap.errors import InputDataError, InputDataWarning, InputFileError, warn
from solarmap.sources.names import find_column

log = logging.getLogger(__name__)

#: columns the footprint reader adds (not the input's own), left out of messages
_INTERNAL = {"building_id", "name", "assessment", "reason", "geometry_repaired", "id_deduplicated", "geometry_from_point"}
MAX_HEIGHT_M = 650.0  # above the tallest building in China (Shanghai Tower, 632 m)
#: below one storey: GB 50096-2011 (Design code for residential buildings) §5.5.2 puts the lowest local clear
#: height of a habitable room at 2.10 m, so a lower "building" is a data error (centimetres, a storey count of 0 …)
MIN_HEIGHT_M = 2.0
#: looked for in this order, any case
HEIGHT_CANDIDATES = ("height_m", "height", "bldg_height", "高度", "建筑高度", "楼高", "高度_m", "height_mean")
FLOORS_CANDIDATES = ("floors", "building:levels", "levels", "storeys", "stories", "floor", "num_floors", "层数",
                     "楼层数", "地上层数", "楼层")


def to_number(values: pd.Series) -> np.ndarray:
    """Numbers from a column that may hold text such as "25 m", "25.5m" or "约30" (OSM and hand-typed data):
    the first number in each value, NaN where there is none."""
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    text = values.astype("string").str.replace(",", ".", regex=False)
    return pd.to_numeric(text.str.extract(r"(-?\d+(?:\.\d+)?)", expand=False), errors="coerce").to_numpy(dtype=float)


#: a height written as a storey count: 13层, 5F, 6 floors, 3 storeys, 4 levels
STOREYS = r"(?i)\d\s*(?:层|F\b|floors?\b|stor(?:e?y|ies|eys)\b|levels?\b)"


def _refuse_other_units(values: np.ndarray, column: str, where: str = "") -> None:
    """A height column most of whose values lie above any building is in another unit (centimetres,
    millimetres): its few values that pass for metres (a 5 m house written 500) would be 500 m towers."""
    pos = values[np.isfinite(values) & (values > 0)]
    high = int((pos > MAX_HEIGHT_M).sum())
    if len(pos) >= 3 and high > len(pos) / 2:
        msg = (f"{where}the height column '{column}' has {high:,} of {len(pos):,} values above {MAX_HEIGHT_M:.0f} m (median "
               f"{np.median(pos):,.0f}): the heights look like centimetres or millimetres, not metres. Convert the "
               "column to metres, or name another one with --height-column COL (buildings.height_column)")
        raise InputDataError(msg)


def _plausible(values: np.ndarray) -> np.ndarray:
    return np.isfinite(values) & (values >= MIN_HEIGHT_M) & (values <= MAX_HEIGHT_M)


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


#: side of the DSM blocks read at a time [pixels]: 4,096² float32 pixels are 64 MiB, whatever the city's size
DSM_BLOCK_PX = 4096


def heights_from_dsm(footprints: gpd.GeoDataFrame, dsm: str | Path, *, dtm: str | Path | None = None,
                     block_px: int = DSM_BLOCK_PX) -> pd.Series:
    """Per-footprint median of the DSM pixels whose centres lie in the footprint (all touched pixels for
    footprints smaller than a pixel), minus the DTM median when a DTM is given [m]. NaN where no valid pixel.

    The raster is read block by block in its own dtype: footprints are grouped by the ``block_px`` × ``block_px``
    block their centre falls in, and each group reads only the window its footprints cover, so memory is bounded
    by a block (plus its largest footprint), not by the city."""
    import rasterio
    from rasterio.features import rasterize
    from rasterio.windows import Window, from_bounds

    dsm = Path(dsm)
    if not dsm.exists():
        msg = f"DSM file {dsm} does not exist"
        raise InputFileError(msg)
    result = np.full(len(footprints), np.nan)
    with rasterio.open(dsm) as src:
        if src.crs is None:
            msg = f"DSM {dsm} has no CRS; assign one (gdal_edit.py -a_srs EPSG:...)"
            raise InputDataError(msg)
        geoms = footprints.geometry.to_crs(src.crs).to_numpy()
        valid = ~(shapely.is_empty(geoms) | shapely.is_missing(geoms))
        if not valid.any():
            return pd.Series(result, index=footprints.index, name="height_m")
        bounds = np.full((len(geoms), 4), np.nan)
        bounds[valid] = shapely.bounds(geoms[valid])
        minx, miny = np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1])
        maxx, maxy = np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3])
        left, bottom, right, top = src.bounds
        if maxx < left or minx > right or maxy < bottom or miny > top:
            msg = (f"DSM {dsm} (bounds {left:.1f},{bottom:.1f},{right:.1f},{top:.1f} in {src.crs.to_string()}) does not overlap "
                   f"the footprints ({minx:.1f},{miny:.1f},{maxx:.1f},{maxy:.1f}); check both files' CRS")
            raise InputDataError(msg)
        # the block of each footprint's centre, in pixel units of the raster
        cx, cy = (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
        rows, cols = rasterio.transform.rowcol(src.transform, np.nan_to_num(cx, nan=left), np.nan_to_num(cy, nan=top))
        key = (np.asarray(rows) // block_px) * 1_000_003 + np.asarray(cols) // block_px
        positions = np.flatnonzero(valid)
        order = positions[np.argsort(key[positions], kind="stable")]
        cuts = np.flatnonzero(np.diff(key[order])) + 1
        whole = Window(0, 0, src.width, src.height)
        nodata_float = np.issubdtype(np.dtype(src.dtypes[0]), np.floating)
        for idx in np.split(order, cuts):
            b = bounds[idx]
            w = from_bounds(b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max(), src.transform)
            c0, r0 = math.floor(w.col_off), math.floor(w.row_off)  # whole pixels covering the footprints' bounds
            window = Window(c0, r0, math.ceil(w.col_off + w.width) - c0, math.ceil(w.row_off + w.height) - r0)
            try:
                window = window.intersection(whole)
            except rasterio.errors.WindowError:  # this group lies off the raster
                continue
            band = src.read(1, window=window, masked=True)  # its own dtype; masked where nodata
            data, bad = band.data, np.ma.getmaskarray(band)
            if nodata_float:
                bad = bad | ~np.isfinite(data)
            transform = src.window_transform(window)
            local = np.full(len(idx), np.nan)
            for all_touched in (False, True):
                todo = np.flatnonzero(np.isnan(local))
                if not len(todo):
                    break
                labels = rasterize([(geoms[idx[t]], t + 1) for t in todo], out_shape=data.shape, transform=transform,
                                   fill=0, all_touched=all_touched, dtype="int32")
                sel = (labels > 0) & ~bad
                med, _ = per_label_median(labels[sel], data[sel].astype(np.float64), len(idx))
                fill = np.isnan(local) & np.isfinite(med)
                local[fill] = med[fill]
            result[idx] = local
    if dtm:
        ground = heights_from_dsm(footprints, dtm, block_px=block_px)
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
    source: str = "",
) -> pd.DataFrame:
    """Return ``height_m`` [m], ``height_source`` and ``floors`` for each footprint (index aligned).

    ``height_source`` is ``dsm``, ``column``, ``floors``, or empty where no source gave a plausible height.
    ``source`` names the buildings (a file) in messages.
    """
    where = f"{source}: " if source else ""
    df = footprints
    hcol = height_column or find_column(df.columns, HEIGHT_CANDIDATES)
    fcol = floors_column or find_column(df.columns, FLOORS_CANDIDATES)
    own = [str(c) for c in df.columns if c not in _INTERNAL and c != df.geometry.name]
    for col, what in ((height_column, "height"), (floors_column, "floors")):
        if col and col not in df.columns:
            msg = (f"no column '{col}' for the {what} (buildings.{what}_column or --{what}-column); the buildings' "
                   f"columns: {', '.join(own)}. Name one of them, or leave it empty to detect it")
            raise InputDataError(msg)
    if not (dsm or hcol or fcol):
        msg = (f"{where}no height for any building: no DSM (--dsm), and none of the height columns "
               f"{', '.join(HEIGHT_CANDIDATES)} or floors columns {', '.join(FLOORS_CANDIDATES)} (any case) is among "
               f"the buildings' columns: {', '.join(own) or '(none)'}. Name the column: --height-column COL (metres) "
               "or --floors-column COL (storeys), or buildings.height_column / buildings.floors_column in the "
               "pipeline file")
        raise InputDataError(msg)
    n = len(df)
    height = np.full(n, np.nan)
    source = np.full(n, "", dtype=object)
    floors = to_number(df[fcol]) if fcol else np.full(n, np.nan)
    candidates = []
    if dsm:
        candidates.append(("dsm", heights_from_dsm(df, dsm, dtm=dtm or None).to_numpy()))
    if hcol:
        values = to_number(df[hcol])
        if not pd.api.types.is_numeric_dtype(df[hcol]):  # "13层", "5F", "6 floors": storeys, not metres
            storeys = df[hcol].astype("string").str.contains(STOREYS, regex=True, na=False).to_numpy(dtype=bool)
            floors = np.where(storeys & np.isnan(floors), values, floors)
            values = np.where(storeys, np.nan, values)
            if storeys.any():
                warn(f"{where}{int(storeys.sum())} values of the height column '{hcol}' are storey counts (such as "
                     f"'{df[hcol][storeys].iloc[0]}'): read as floors × {storey_height_m:g} m (height_source floors)",
                     InputDataWarning, zh=f"{where}高度字段 '{hcol}' 中有 {int(storeys.sum())} 个值为层数（如 "
                     f"'{df[hcol][storeys].iloc[0]}'）：按层数 × {storey_height_m:g} 米计（height_source 为 floors）")
        _refuse_other_units(values, hcol, where)
        candidates.append(("column", values))
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

    Returns (height [m], imputed mask); NaN where fewer than ``k_min`` neighbours have a plausible height.
    """
    h = roofs["height_m"].to_numpy(dtype=float)
    centres = shapely.centroid(roofs.geometry.to_numpy())
    ok = _plausible(h) & ~shapely.is_empty(centres) & ~shapely.is_missing(centres)
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
