"""Roof planes fitted to a DSM/nDSM: each footprint's pixels segmented into planes, tilt and azimuth per plane.

One vectorised pass over the whole raster window, no loop over buildings:

1. every pixel centre inside a footprint gets the footprint's label (as :mod:`solarmap.sources.heights` does);
2. a local normal per pixel from a 5 × 5 least-squares plane (the window wholly inside one footprint, so
   eaves and parapets do not blur it; with 0.1 m noise at 0.5 m pixels its slope scatters by about 1.6°);
3. pixels flatter than ``flat_tilt_deg`` are flat; a footprint whose valid pixels are mostly flat is a flat roof
   (a parapet touches only its rim); pixels steeper than 70° (walls, parapets) are dropped;
4. the sloped pixels of each footprint are grouped by the direction they face, modulo the footprint's own
   dominant fourfold direction (the circular mean of 4·azimuth): gabled, hipped, pyramidal and shed roofs on any
   grid rotation have their planes 90° or 180° apart, so four 90° bins centred on it separate them;
5. a least-squares plane per (footprint, bin) from its pixels' normal equations (grouped sums), refitted once
   without the pixels more than three robust standard deviations off; bins with too few pixels are dropped;
6. every pixel of the footprint then goes to the plane it lies closest to (a convex roof is the lowest of its
   planes, so this recovers the hips and the ridge); a plane's plan area is its pixels' area, its outline the
   convex hull of its pixels (grown by half a pixel) within the footprint.
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

#: a pixel steeper than this is a wall or a parapet's side, not a roof plane [°]
MAX_ROOF_TILT_DEG = 70.0
#: a footprint is flat when at least this share of its valid pixels is flat [-]
FLAT_SHARE = 0.5
#: a plane needs at least this many pixels and this share of its footprint's sloped pixels
MIN_PLANE_PIXELS = 8
MIN_PLANE_SHARE = 0.05
_WINDOW = 5


def _window_sums(a: np.ndarray, k: int = _WINDOW) -> np.ndarray:
    """Sum over each pixel's k × k window (zero padded), through a summed-area table."""
    p = k // 2
    s = np.pad(a, ((p + 1, p), (p + 1, p))).cumsum(0).cumsum(1)
    return s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]


def _read(dsm: Path, footprints: gpd.GeoDataFrame):
    import rasterio
    from rasterio.windows import from_bounds

    if not dsm.exists():
        msg = f"DSM file {dsm} does not exist"
        raise InputFileError(msg)
    with rasterio.open(dsm) as src:
        if src.crs is None or not src.crs.is_projected:
            msg = (f"DSM {dsm} must be in a projected (metric) CRS to fit roof planes, not "
                   f"{src.crs.to_string() if src.crs else 'none'}; reproject it (gdalwarp -t_srs EPSG:...)")
            raise InputDataError(msg)
        t = src.transform
        if t.b != 0 or t.d != 0:
            msg = f"DSM {dsm} is rotated (its transform has shear terms); warp it north-up (gdalwarp) to fit roof planes"
            raise InputDataError(msg)
        geoms = footprints.geometry.to_crs(src.crs)
        minx, miny, maxx, maxy = geoms.total_bounds
        left, bottom, right, top = src.bounds
        window = from_bounds(max(minx, left), max(miny, bottom), min(maxx, right), min(maxy, top), t)
        window = window.round_offsets().round_lengths().intersection(rasterio.windows.Window(0, 0, src.width, src.height))
        values = src.read(1, window=window, masked=True).astype(float).filled(np.nan)
        return values, src.window_transform(window), src.crs, geoms


def planes_from_dsm(footprints: gpd.GeoDataFrame, dsm: str | Path, *, dtm: str | Path | None = None,
                    flat_tilt_deg: float = 5.0) -> pd.DataFrame:
    """Roof shape and planes per footprint from a DSM (heights above ground, or a DSM with ``dtm``).

    Returns, index aligned: ``roof_shape`` (flat, skillion, gabled, hipped or pyramidal by the planes found;
    '' where the DSM has too few pixels), ``roof_pitch_deg`` (area-weighted tilt) and ``planes`` (per pitched
    footprint a table like :func:`solarmap.planes.shape_planes`': ``plane_id``, ``geometry`` in the footprints'
    CRS, ``surface_tilt_deg``, ``surface_azimuth_deg``, ``plane_plan_area_m2``, ``plane_area_m2`` and the plane
    ``cx, cy, zc, gx, gy`` [m above ground]; None for the others).
    """
    from rasterio.features import rasterize

    n = len(footprints)
    shape_out = np.full(n, "", dtype=object)
    pitch_out = np.full(n, np.nan)
    planes_out = np.full(n, None, dtype=object)
    values, t, dsm_crs, geoms = _read(Path(dsm), footprints)
    g = geoms.to_numpy()
    valid_g = ~shapely.is_missing(g) & ~shapely.is_empty(g)
    labels = rasterize([(gg, i + 1) for i, gg in enumerate(g) if valid_g[i]], out_shape=values.shape, transform=t,
                       fill=0, all_touched=False, dtype="int32")
    finite = np.isfinite(values)
    labels = np.where(finite, labels, 0)
    if dtm:
        from solarmap.sources.heights import heights_from_dsm

        ground = heights_from_dsm(footprints, dtm).to_numpy()
        values = values - np.r_[0.0, np.nan_to_num(ground)][labels]
    px, py = abs(t.a), abs(t.e)
    rows, cols = np.indices(values.shape)
    X = t.c + (cols + 0.5) * t.a
    Y = t.f + (rows + 0.5) * t.e
    # 2. local normals: least-squares slopes over windows wholly inside one footprint
    z0 = np.where(labels > 0, values, 0.0)
    lab = labels.astype(float)
    # one label over the whole window: Σl = 25·l and Σl² = 25·l² hold together only when every l is the same
    same = ((_window_sums(lab) == _WINDOW ** 2 * lab) & (_window_sums(lab * lab) == _WINDOW ** 2 * lab * lab)
            & (_window_sums((labels > 0).astype(float)) == _WINDOW ** 2))
    off = np.arange(_WINDOW) - _WINDOW // 2
    kx = np.tile(off, (_WINDOW, 1)).astype(float)  # column offset
    ky = kx.T.copy()  # row offset
    # Σ k·z over each window, from shifted copies (25 shifts of the window, vectorised over the raster)
    sz_x = np.zeros_like(z0)
    sz_y = np.zeros_like(z0)
    pad = np.pad(z0, _WINDOW // 2)
    H, W = z0.shape
    for i in range(_WINDOW):
        for j in range(_WINDOW):
            sh = pad[i:i + H, j:j + W]
            sz_x += kx[i, j] * sh
            sz_y += ky[i, j] * sh
    denom = float((kx ** 2).sum())
    g_col = sz_x / denom / t.a  # dz/dx [m m⁻¹]
    g_row = sz_y / denom / t.e  # dz/dy (north) [m m⁻¹]
    slope = np.hypot(g_col, g_row)
    tilt = np.degrees(np.arctan(slope))
    az = np.degrees(np.arctan2(-g_col, -g_row)) % 360.0  # the direction the pixel faces (downslope)
    inside = labels > 0
    core = inside & same
    flat = core & (tilt < flat_tilt_deg)
    sloped = core & (tilt >= flat_tilt_deg) & (tilt <= MAX_ROOF_TILT_DEG)
    L = n + 1
    n_core = np.bincount(labels[core], minlength=L)
    n_flat = np.bincount(labels[flat], minlength=L)
    n_slope = np.bincount(labels[sloped], minlength=L)
    has = n_core >= MIN_PLANE_PIXELS
    is_flat = has & (n_flat >= FLAT_SHARE * np.maximum(n_core, 1))
    shape_out[is_flat[1:]] = "flat"
    pitched_fp = has & ~is_flat
    if not pitched_fp[1:].any():
        return pd.DataFrame({"roof_shape": shape_out, "roof_pitch_deg": pitch_out, "planes": planes_out}, index=footprints.index)
    # 4. bins by facing, relative to each footprint's fourfold dominant direction
    sl = labels[sloped]
    th = np.radians(az[sloped])
    w = np.sin(np.radians(tilt[sloped]))
    c4 = np.bincount(sl, weights=w * np.cos(4 * th), minlength=L)
    s4 = np.bincount(sl, weights=w * np.sin(4 * th), minlength=L)
    phi = np.degrees(np.arctan2(s4, c4)) / 4.0
    k = np.round(((az[sloped] - phi[sl]) % 360.0) / 90.0).astype(np.int64) % 4
    key = sl * 4 + k
    xs, ys, zs = X[sloped], Y[sloped], values[sloped]
    # 5. least-squares planes per (footprint, bin): grouped normal equations, centred per group
    params = None
    keep_px = np.ones(len(key), dtype=bool)
    for _ in range(2):
        cnt = np.bincount(key, weights=keep_px, minlength=L * 4)
        safe = np.maximum(cnt, 1)
        mx = np.bincount(key, weights=xs * keep_px, minlength=L * 4) / safe
        my = np.bincount(key, weights=ys * keep_px, minlength=L * 4) / safe
        mz = np.bincount(key, weights=zs * keep_px, minlength=L * 4) / safe
        dx, dy, dz = xs - mx[key], ys - my[key], zs - mz[key]
        sxx, sxy, syy = (np.bincount(key, weights=v * keep_px, minlength=L * 4) for v in (dx * dx, dx * dy, dy * dy))
        sxz, syz = (np.bincount(key, weights=v * keep_px, minlength=L * 4) for v in (dx * dz, dy * dz))
        det = sxx * syy - sxy * sxy
        ok_det = np.abs(det) > 1e-9
        gx = np.where(ok_det, (sxz * syy - syz * sxy) / np.where(ok_det, det, 1), 0.0)
        gy = np.where(ok_det, (syz * sxx - sxz * sxy) / np.where(ok_det, det, 1), 0.0)
        params = (cnt, mx, my, mz, gx, gy, ok_det)
        resid = dz - gx[key] * dx - gy[key] * dy
        mad = np.zeros(L * 4)
        order = np.lexsort((np.abs(resid), key))  # median |residual| per group
        kk = key[order]
        starts = np.flatnonzero(np.r_[True, kk[1:] != kk[:-1]])
        counts = np.diff(np.r_[starts, len(kk)])
        mad[kk[starts]] = np.abs(resid)[order][starts + (counts - 1) // 2]
        keep_px = np.abs(resid) <= np.maximum(3.0 * 1.4826 * mad[key], 0.05)
    cnt, mx, my, mz, gx, gy, ok_det = params
    fp_of = np.arange(L * 4) // 4
    big = (cnt >= MIN_PLANE_PIXELS) & (cnt >= MIN_PLANE_SHARE * n_slope[fp_of]) & ok_det & pitched_fp[fp_of]
    # 6. every pixel of a pitched footprint to its nearest plane
    plane_keys = np.flatnonzero(big)
    if not len(plane_keys):
        return pd.DataFrame({"roof_shape": shape_out, "roof_pitch_deg": pitch_out, "planes": planes_out}, index=footprints.index)
    slot = np.full((L, 4), -1, dtype=np.int64)
    slot[fp_of[plane_keys], plane_keys % 4] = plane_keys
    sel = inside & pitched_fp[labels] & (slot[labels] >= 0).any(axis=-1)
    pl = labels[sel]
    cand = slot[pl]  # (pixels, 4)
    cz = (mz[np.clip(cand, 0, None)] + gx[np.clip(cand, 0, None)] * (X[sel][:, None] - mx[np.clip(cand, 0, None)])
          + gy[np.clip(cand, 0, None)] * (Y[sel][:, None] - my[np.clip(cand, 0, None)]))
    err = np.where(cand >= 0, np.abs(values[sel][:, None] - cz), np.inf)
    best = cand[np.arange(len(pl)), np.argmin(err, axis=1)]
    area_px = np.bincount(best, minlength=L * 4) * px * py
    plane_ids = np.flatnonzero(area_px > 0)
    # outlines: hull of each plane's pixel centres, grown by half a pixel, within the footprint
    ord_ = np.argsort(best, kind="stable")
    pts = shapely.multipoints(np.column_stack([X[sel][ord_], Y[sel][ord_]]), indices=np.searchsorted(plane_ids, best[ord_]))
    hull = shapely.buffer(shapely.convex_hull(pts), max(px, py) / 2.0, join_style="mitre")
    fp_idx = plane_ids // 4 - 1
    outline = shapely.intersection(hull, g[fp_idx])
    tilt_p = np.degrees(np.arctan(np.hypot(gx[plane_ids], gy[plane_ids])))
    table = gpd.GeoDataFrame({
        "fp": fp_idx,
        "surface_tilt_deg": tilt_p,
        "surface_azimuth_deg": np.degrees(np.arctan2(-gx[plane_ids], -gy[plane_ids])) % 360.0,
        "plane_plan_area_m2": area_px[plane_ids],
        "plane_area_m2": area_px[plane_ids] / np.cos(np.radians(tilt_p)),
        "cx": mx[plane_ids], "cy": my[plane_ids], "zc": mz[plane_ids], "gx": gx[plane_ids], "gy": gy[plane_ids],
    }, geometry=outline, crs=dsm_crs)
    from pyproj import CRS

    dsm_crs = CRS.from_user_input(dsm_crs.to_wkt())
    table = table.set_crs(dsm_crs, allow_override=True)
    if footprints.crs is not None and not dsm_crs.equals(footprints.crs):
        # back to the footprints' CRS (both metric: the slopes are kept, the outlines and centres moved)
        moved = table.to_crs(footprints.crs)
        c = gpd.GeoSeries(shapely.points(table["cx"], table["cy"]), crs=dsm_crs).to_crs(footprints.crs)
        table = moved.assign(cx=c.x.to_numpy(), cy=c.y.to_numpy())
    table["plane_id"] = table.groupby("fp").cumcount() + 1
    f = table["fp"].to_numpy()
    a = table["plane_plan_area_m2"].to_numpy()
    count = np.bincount(f, minlength=n)
    a_sum = np.bincount(f, weights=a, minlength=n)
    a_mean = a_sum / np.maximum(count, 1)
    a_var = np.bincount(f, weights=a * a, minlength=n) / np.maximum(count, 1) - a_mean ** 2
    cv = np.sqrt(np.maximum(a_var, 0.0)) / np.where(a_mean > 0, a_mean, 1.0)
    tilt_w = np.bincount(f, weights=table["surface_tilt_deg"].to_numpy() * a, minlength=n) / np.where(a_sum > 0, a_sum, 1.0)
    got = count > 0
    shape_out[got] = np.select([count[got] == 1, count[got] == 2, (count[got] == 4) & (cv[got] < 0.1)],
                               ["skillion", "gabled", "pyramidal"], "hipped")
    pitch_out[got] = tilt_w[got]
    for fp, d in table.groupby("fp"):  # each pitched footprint keeps its (already fitted) planes as one small table
        planes_out[fp] = d.drop(columns="fp").reset_index(drop=True)
    log.info("DSM: %d flat roofs, %d pitched roofs with %d planes", int(is_flat[1:].sum()), int(got.sum()), len(table))
    return pd.DataFrame({"roof_shape": shape_out, "roof_pitch_deg": pitch_out, "planes": planes_out}, index=footprints.index)
