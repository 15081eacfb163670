"""Shade from neighbouring buildings, straight from footprints and heights (no DSM, no raster).

For sample points on each target roof, a horizon profile holds, per azimuth sector, the elevation angle of the
highest obstruction. It is computed exactly from the obstacles' wall segments: for every (point, wall) pair within
reach, the wall's angular interval is cut at each sector's centre ray (and at the wall's two ends, so that a narrow
far building is never missed), the ray-wall distance gives the elevation ``atan((h_obstacle − z_point) / d)``, and
the highest per sector wins. Pairs of (roof, obstacle) come from each obstacle's reach — the distance beyond which
it stands lower than ``min_sun_elevation_deg`` above the roof — laid on a grid of cells, so nothing is all-pairs;
the pair search and the per-wall arithmetic are compiled numba kernels, threaded over roofs.

From the profile: the sky-view factor of each point (cosine-weighted, for isotropic sky radiance:
``SVF = mean_k cos²(h_k)``) and, per hour, whether the sun stands above the point's horizon in its sector. A roof's
hourly visible share is the mean over its points, so partial shade is resolved. Points lie on a grid aligned with
each roof's minimum rotated rectangle (a thin roof gets a line of them); roofs whose first points disagree (their
horizons differ: the shade changes across the roof) are sampled again, densely.

Targets and obstacles are separate inputs: a partition of a city is shaded with a halo of neighbouring obstacles.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import geopandas as gpd
import numba
import numpy as np
import shapely

from solarmap.config import ShadingConfig
from solarmap.overlaps import ROOF_GEOMETRY

log = logging.getLogger(__name__)


def points_for_area(area: np.ndarray, *, min_points: int = 4, max_points: int = 16) -> np.ndarray:
    """The first pass's number of sample points for roofs of ``area`` [m²]: ``clip(2·sqrt(area/10 m²), min, max)``."""
    return np.clip(np.round(2.0 * np.sqrt(np.maximum(area, 0) / 10.0)), min_points, max_points)


def sample_points(polygons: np.ndarray, *, max_points: int = 16, spacing_m: float = 0.0,
                  min_points: int = 4, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Grid points inside each polygon, on its oriented minimum rectangle, spaced to suit its size and shape.

    Each roof gets about ``clip(2·sqrt(area/10 m²), min_points, max_points)`` points (a 40 m² lane-house roof 4,
    a 250 m² slab 10, a 5,000 m² mall ``max_points``), or ``counts`` per polygon, unless ``spacing_m`` fixes the
    spacing. The grid is cell-centred on the polygon's minimum rotated rectangle, with about square cells and at
    least one row: a thin roof gets its points in a line along its long axis, a rectangle exactly its count
    (never more than ``max_points``). Shapes that fill their rectangle less (L, U, courtyards) get a grid scaled up
    by rectangle ÷ area, and one up to four times denser where that still leaves fewer than ``min_points``
    inside; a roof above ``max_points`` is thinned evenly. Polygons no grid point falls in get their
    representative point. Returns ``xy`` (P, 2) [m] and ``owner`` (P,), the position of the polygon each point
    belongs to; points are grouped by owner in increasing order.
    """
    polygons = np.asarray(polygons, dtype=object)
    n = len(polygons)
    area = shapely.area(polygons)
    valid = ~shapely.is_missing(polygons) & ~shapely.is_empty(polygons) & (area > 0)
    if counts is None:
        k = points_for_area(area, min_points=min_points, max_points=max_points)
    else:
        k = np.clip(np.asarray(counts, dtype=float), 1, max_points)
    # the oriented frame: origin o, unit axes u (long) and v (short), side lengths L >= W
    o = np.zeros((n, 2))
    u = np.tile([1.0, 0.0], (n, 1))
    v = np.tile([0.0, 1.0], (n, 1))
    L = np.zeros(n)
    W = np.zeros(n)
    if valid.any():
        vi = np.flatnonzero(valid)
        rect = shapely.oriented_envelope(polygons[vi])
        proper = (shapely.get_type_id(rect) == 3) & (shapely.area(rect) > 0)
        rect = np.where(proper, rect, shapely.envelope(polygons[vi]))
        c = shapely.get_coordinates(shapely.get_exterior_ring(rect)).reshape(len(vi), 5, 2)
        e1, e2 = c[:, 1] - c[:, 0], c[:, 3] - c[:, 0]
        l1, l2 = np.hypot(*e1.T), np.hypot(*e2.T)
        swap = l2 > l1
        o[vi] = c[:, 0]
        u[vi] = np.where(swap[:, None], e2, e1) / np.maximum(np.maximum(l1, l2), 1e-12)[:, None]
        v[vi] = np.where(swap[:, None], e1, e2) / np.maximum(np.minimum(l1, l2), 1e-12)[:, None]
        L[vi], W[vi] = np.maximum(l1, l2), np.minimum(l1, l2)
    fill = np.where(valid, area / np.maximum(L * W, 1e-12), 1.0)
    xs, ys, owners = [], [], []
    todo = valid.copy()
    for density in (1.0, 2.0, 4.0):  # a denser grid only for shapes that still hold too few points
        sel = np.flatnonzero(todo)
        if len(sel) == 0:
            break
        if spacing_m > 0:
            nu = np.maximum(np.round(L[sel] / spacing_m), 1).astype(np.int64)
            nv = np.maximum(np.round(W[sel] / spacing_m), 1).astype(np.int64)
        else:
            m = k[sel] / np.clip(fill[sel], 0.05, 1.0) * density  # grid cells so that about k fall inside
            s = np.sqrt(L[sel] * W[sel] / m)
            nv = np.maximum(np.round(W[sel] / s), 1).astype(np.int64)
            nu = np.maximum(np.floor(m / nv), 1).astype(np.int64)
        cells = nu * nv
        owner = np.repeat(sel, cells)
        local = np.arange(cells.sum()) - np.repeat(np.cumsum(cells) - cells, cells)
        nu_p = np.repeat(nu, cells)
        nv_p = np.repeat(nv, cells)
        a = (local % nu_p + 0.5) / nu_p * L[owner]
        b = (local // nu_p + 0.5) / nv_p * W[owner]
        x = o[owner, 0] + a * u[owner, 0] + b * v[owner, 0]
        y = o[owner, 1] + a * u[owner, 1] + b * v[owner, 1]
        inside = shapely.contains_xy(polygons[owner], x, y)
        owner, x, y = owner[inside], x[inside], y[inside]
        got = np.bincount(owner, minlength=n)[sel]
        done = (got >= np.minimum(k[sel], min_points)) | (spacing_m > 0) | (density == 4.0)
        keep = np.isin(owner, sel[done])
        xs.append(x[keep])
        ys.append(y[keep])
        owners.append(owner[keep])
        todo[sel[done]] = False
    owner = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
    x = np.concatenate(xs) if xs else np.zeros(0)
    y = np.concatenate(ys) if ys else np.zeros(0)
    order = np.argsort(owner, kind="stable")
    owner, x, y = owner[order], x[order], y[order]
    if spacing_m <= 0 and len(owner):  # thin evenly to max_points: keep rank r where floor(r·max / count) steps
        cnt = np.bincount(owner, minlength=n)
        rank = np.arange(len(owner)) - (np.cumsum(cnt) - cnt)[owner]
        c = cnt[owner]
        step = np.floor(rank * max_points / c)
        keep = (c <= max_points) | (rank == 0) | (step != np.floor((rank - 1) * max_points / c))
        owner, x, y = owner[keep], x[keep], y[keep]
    missing = np.setdiff1d(np.flatnonzero(valid), owner)
    if len(missing):
        rp = shapely.get_coordinates(shapely.point_on_surface(polygons[missing]))
        owner = np.concatenate([owner, missing])
        x = np.concatenate([x, rp[:, 0]])
        y = np.concatenate([y, rp[:, 1]])
    order = np.argsort(owner, kind="stable")
    return np.column_stack([x[order], y[order]]), owner[order]


@dataclass
class Walls:
    """Obstacle wall segments: endpoints a, b (E, 2) [m], the obstacle each belongs to, and per obstacle the
    first segment and segment count."""

    a: np.ndarray
    b: np.ndarray
    owner: np.ndarray
    start: np.ndarray
    count: np.ndarray


def wall_segments(footprints: np.ndarray) -> Walls:
    """Every ring segment (exterior and holes, of every part) of every footprint, grouped by footprint. Rings are oriented
    (exterior counter-clockwise, holes clockwise) so the building's solid lies left of every segment."""
    footprints = shapely.orient_polygons(np.asarray(footprints, dtype=object))
    # get_rings sees only Polygons: a MultiPolygon (what GDAL's OSM driver and many GeoPackages give) is split first
    parts, part_owner = shapely.get_parts(footprints, return_index=True)
    ring_geoms, ring_part = shapely.get_rings(parts, return_index=True)
    ring_owner = part_owner[ring_part]
    coords, ring_idx = shapely.get_coordinates(ring_geoms, return_index=True)
    same = ring_idx[1:] == ring_idx[:-1]
    a = coords[:-1][same]
    b = coords[1:][same]
    owner = ring_owner[ring_idx[:-1][same]]
    order = np.argsort(owner, kind="stable")
    a, b, owner = a[order], b[order], owner[order]
    count = np.bincount(owner, minlength=len(footprints))
    start = np.cumsum(count) - count
    return Walls(a, b, owner, start, count)


def horizon_profiles(
    points_xy: np.ndarray,
    points_z: np.ndarray,
    obstacles: np.ndarray,
    obstacle_heights: np.ndarray,
    *,
    sector_deg: float = 2.0,
    min_sun_elevation_deg: float = 5.0,
    max_radius_m: float = 1500.0,
    point_owner_obstacle: np.ndarray | None = None,
    point_group: np.ndarray | None = None,
    point_normal: np.ndarray | None = None,
    plane_tolerance_m: float = 0.1,
    occlusion: bool = True,
) -> np.ndarray:
    """Horizon elevation [°] per point and azimuth sector (sector k covers [kΔ, (k+1)Δ) clockwise from north).

    ``obstacles`` are footprints (metric CRS) with ``obstacle_heights`` [m]; ``points_z`` are the points' heights
    [m]. ``point_owner_obstacle`` (optional) is, per point, the obstacle index of its own building, which is
    skipped. ``point_group`` (optional) groups points that share an owner (a roof's points, or a wall's at several
    heights; sorted by group), so that obstacles are searched once per group, from the group's lowest point.
    Only obstacles taller than a point and within ``(h − z) / tan(min_sun_elevation_deg)`` (at most
    ``max_radius_m``) count. ``point_normal`` (optional, (P, 2) unit vectors, zero for none) puts a point on a
    vertical wall facing that way: walls lying wholly behind the wall's plane, or on it (within
    ``plane_tolerance_m``: the wall itself, a neighbour's wall in line with it), are skipped, so the building's
    own walls count only where they stand in front (an L-shape's other wing, a courtyard's far side). Returns an
    array (P, 360/Δ), 0 where nothing rises above the point. ``occlusion=False`` evaluates every obstacle even
    where nearer ones hide it, and tests every point of a wall's group against an obstacle lying behind the
    wall's plane for the whole group (the same result, slower: for tests and benchmarks).
    """
    n_sec = int(round(360.0 / sector_deg))
    delta = 360.0 / n_sec
    P = len(points_xy)
    if P == 0 or len(obstacles) == 0:
        return np.zeros((P, n_sec), dtype=np.float32)
    obstacles = np.asarray(obstacles, dtype=object)
    heights = np.asarray(obstacle_heights, dtype=float)
    ok = np.isfinite(heights) & (heights > 0) & ~shapely.is_empty(obstacles) & ~shapely.is_missing(obstacles)
    obs_idx = np.flatnonzero(ok)
    if len(obs_idx) == 0:
        return np.zeros((P, n_sec), dtype=np.float32)
    walls = wall_segments(obstacles[obs_idx])
    heights = heights[obs_idx]
    own = np.full(P, -1, dtype=np.int64)
    if point_owner_obstacle is not None:
        remap = np.full(len(obstacles), -1, dtype=np.int64)
        remap[obs_idx] = np.arange(len(obs_idx))
        po = np.asarray(point_owner_obstacle)
        own = np.where(po >= 0, remap[np.clip(po, 0, None)], -1)
    # groups of points (a roof's points): contiguous, one height and one owner each
    if point_group is None:
        point_group = np.arange(P)
    g_start = np.flatnonzero(np.r_[True, point_group[1:] != point_group[:-1]])
    g_count = np.diff(np.r_[g_start, P])
    gx0 = np.minimum.reduceat(points_xy[:, 0], g_start)
    gx1 = np.maximum.reduceat(points_xy[:, 0], g_start)
    gy0 = np.minimum.reduceat(points_xy[:, 1], g_start)
    gy1 = np.maximum.reduceat(points_xy[:, 1], g_start)
    gz = np.minimum.reduceat(points_z, g_start)
    g_own = own[g_start]
    tan_min = math.tan(math.radians(min_sun_elevation_deg))
    reach = np.clip((heights - float(gz.min())) / tan_min, 0.0, max_radius_m)
    ob_bounds = shapely.bounds(obstacles[obs_idx])
    # the obstacles' reach boxes (the box grown by the farthest its shadow can fall) on a grid over the groups
    rx0, ry0 = ob_bounds[:, 0] - reach, ob_bounds[:, 1] - reach
    rx1, ry1 = ob_bounds[:, 2] + reach, ob_bounds[:, 3] + reach
    finite = np.isfinite(gx0) & np.isfinite(gx1) & np.isfinite(gy0) & np.isfinite(gy1)  # others: no pairs
    if not finite.any():
        return np.zeros((P, n_sec), dtype=np.float32)
    x0, y0 = float(gx0[finite].min()), float(gy0[finite].min())
    x1, y1 = float(gx1[finite].max()), float(gy1[finite].max())
    cell = max(_GRID_CELL_M, max(x1 - x0, y1 - y0) / _GRID_MAX_CELLS)
    nx = int((x1 - x0) // cell) + 1
    ny = int((y1 - y0) // cell) + 1
    grid = _reach_grid(rx0, ry0, rx1, ry1, x0, y0, cell, nx, ny)
    centres = np.radians((np.arange(n_sec) + 0.5) * delta)
    sin_c, cos_c = np.sin(centres), np.cos(centres)
    tan_horizon = np.zeros((P, n_sec), dtype=np.float32)  # tan(elevation): same order, no arctan per sample
    px = points_xy[:, 0].astype(np.float64)
    py = points_xy[:, 1].astype(np.float64)
    pz = np.asarray(points_z, dtype=np.float64)
    if point_normal is None:
        pnx = pny = np.zeros(P)
    else:
        pnx = np.ascontiguousarray(point_normal[:, 0], dtype=np.float64)
        pny = np.ascontiguousarray(point_normal[:, 1], dtype=np.float64)
    # a group whose points share one wall normal n: the least p·n of its points, so that an obstacle lying behind
    # the wall's plane for every point (the kernel's own test, per point) is dropped with the pair, once
    g_nx, g_ny = pnx[g_start], pny[g_start]
    one_normal = (np.maximum.reduceat(np.abs(pnx - g_nx.repeat(g_count)), g_start) == 0.0) & (
        np.maximum.reduceat(np.abs(pny - g_ny.repeat(g_count)), g_start) == 0.0) & ((g_nx != 0.0) | (g_ny != 0.0))
    g_nx, g_ny = np.where(one_normal, g_nx, 0.0), np.where(one_normal, g_ny, 0.0)
    g_pn = np.minimum.reduceat(px * g_nx.repeat(g_count) + py * g_ny.repeat(g_count), g_start)
    if not occlusion:  # every obstacle evaluated: the kernel's own test per point only
        g_nx, g_ny = np.zeros_like(g_nx), np.zeros_like(g_ny)
    wall_args = (walls.a[:, 0].copy(), walls.a[:, 1].copy(), walls.b[:, 0].copy(), walls.b[:, 1].copy(),
                 walls.start.astype(np.int64), walls.count.astype(np.int64))
    g_start64, g_count64 = g_start.astype(np.int64), g_count.astype(np.int64)
    step = 4000
    for g_lo in range(0, len(g_start), step):  # group blocks bound the pair arrays' memory
        # the pairs whose obstacle can rise above the group's lowest point (by the box-to-box distance, a
        # lower bound of every point-to-wall distance), nearest first within each group
        run_start, run_end, grp, ob = _group_pairs(
            g_lo, min(g_lo + step, len(g_start)), gx0, gx1, gy0, gy1, x0, y0, cell, nx, ny, *grid,
            rx0, ry0, rx1, ry1, ob_bounds, gz, g_own.astype(np.int64), heights, tan_min, float(max_radius_m),
            g_nx, g_ny, g_pn, float(plane_tolerance_m))
        if len(ob) == 0:
            continue
        _horizon_kernel(run_start, run_end, grp, ob, g_start64, g_count64, px, py, pz,
                        pnx, pny, float(plane_tolerance_m), *wall_args, heights, n_sec, delta, sin_c, cos_c,
                        ob_bounds, gx0, gx1, gy0, gy1, bool(occlusion), tan_horizon)
    # to degrees in place: one (points × sectors) array at a time, row blocks on threads (numpy frees the GIL)
    by_rows(lambda lo, hi: np.degrees(np.arctan(tan_horizon[lo:hi], out=tan_horizon[lo:hi]), out=tan_horizon[lo:hi]), P)
    return tan_horizon


def by_rows(func, n: int, *, block: int = 20000, threads: int | None = None) -> None:
    """Call ``func(lo, hi)`` for row blocks [lo, hi) of ``n`` rows on a few threads. For numpy work on disjoint
    rows that releases the GIL (ufuncs on large arrays): the same arithmetic as one call, on every core."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    blocks = [(lo, min(lo + block, n)) for lo in range(0, n, block)]
    workers = min(threads or numba.config.NUMBA_NUM_THREADS or os.cpu_count() or 1, len(blocks))
    if workers <= 1:
        for lo, hi in blocks:
            func(lo, hi)
        return
    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(lambda b: func(*b), blocks):
            pass


#: the pair search's grid: cells of this size [m], at most this many along a side (coarser for a larger extent)
_GRID_CELL_M = 100.0
_GRID_MAX_CELLS = 2048


@numba.njit(cache=True)
def _cells(lo, hi, origin, cell, n):  # pragma: no cover - compiled
    """The grid cells [a, b] that the interval [lo, hi] covers (a > b: none); floor is monotonic, so two
    intervals that meet have ranges that meet."""
    a = max(int(math.floor((lo - origin) / cell)), 0)
    b = min(int(math.floor((hi - origin) / cell)), n - 1)
    return a, b


@numba.njit(cache=True)
def _reach_grid(rx0, ry0, rx1, ry1, x0, y0, cell, nx, ny):  # pragma: no cover - compiled
    """Each grid cell's obstacles (those whose reach box covers it), as CSR (``start``, ``entries``), and each
    obstacle's first cell (``first_i``, ``first_j``)."""
    n = len(rx0)
    first_i = np.empty(n, dtype=np.int64)
    first_j = np.empty(n, dtype=np.int64)
    count = np.zeros(nx * ny + 1, dtype=np.int64)
    for o in range(n):
        a, b = _cells(rx0[o], rx1[o], x0, cell, nx)
        c, d = _cells(ry0[o], ry1[o], y0, cell, ny)
        first_i[o], first_j[o] = a, c
        for i in range(a, b + 1):
            for j in range(c, d + 1):
                count[i * ny + j + 1] += 1
    start = np.cumsum(count)
    fill = start[:-1].copy()
    entries = np.empty(start[-1], dtype=np.int64)
    for o in range(n):
        a, b = _cells(rx0[o], rx1[o], x0, cell, nx)
        c, d = _cells(ry0[o], ry1[o], y0, cell, ny)
        for i in range(a, b + 1):
            for j in range(c, d + 1):
                entries[fill[i * ny + j]] = o
                fill[i * ny + j] += 1
    return start, entries, first_i, first_j


@numba.njit(parallel=True, cache=True)
def _group_pairs(g_lo, g_hi, gx0, gx1, gy0, gy1, x0, y0, cell, nx, ny, start, entries, first_i, first_j,
                 rx0, ry0, rx1, ry1, ob_bounds, gz, g_own, heights, tan_min, max_radius, g_nx, g_ny, g_pn,
                 plane_tol):  # pragma: no cover - compiled
    """The (group, obstacle) pairs of groups [g_lo, g_hi): the obstacles whose reach box meets the group's box
    (an STRtree query's answer, found through the grid's cells) and whose obstacle rises above the group's
    lowest point by more than tan(min elevation) × their box-to-box distance, within ``max_radius``, not the
    group's own building, and (for a group on one wall, normal (g_nx, g_ny), least p·n of its points ``g_pn``)
    not wholly behind the wall's plane for all its points; within each group, nearest first. Returns each
    group's run [start, end) and the pairs' group and obstacle.

    Behind the plane: the kernel skips the obstacle for point p when max over the box's corners of (c − p)·n
    ≤ ``plane_tol``; the largest of that over the group is max_c c·n − g_pn, so when it lies 1e-6 m (far above
    the rounding of metre coordinates) below the tolerance every point would skip it. An obstacle covering
    several of the group's cells is taken in the first of them only."""
    m = g_hi - g_lo
    bound = np.zeros(m + 1, dtype=np.int64)
    for r in numba.prange(m):
        g = g_lo + r
        if not (math.isfinite(gx0[g]) and math.isfinite(gx1[g]) and math.isfinite(gy0[g]) and math.isfinite(gy1[g])):
            continue  # bound 0: no pairs (as the tree answered nothing for such a box)
        a, b = _cells(gx0[g], gx1[g], x0, cell, nx)
        c, d = _cells(gy0[g], gy1[g], y0, cell, ny)
        total = 0
        for i in range(a, b + 1):
            for j in range(c, d + 1):
                total += start[i * ny + j + 1] - start[i * ny + j]
        bound[r + 1] = total
    offset = np.cumsum(bound)
    grp = np.empty(offset[-1], dtype=np.int64)
    ob = np.empty(offset[-1], dtype=np.int64)
    run_start = offset[:-1].copy()
    run_end = offset[:-1].copy()
    for r in numba.prange(m):
        g = g_lo + r
        lo = offset[r]
        d = np.empty(bound[r + 1])
        keep = np.empty(bound[r + 1], dtype=np.int64)
        if bound[r + 1] == 0:
            continue
        a, b = _cells(gx0[g], gx1[g], x0, cell, nx)
        c0, c1 = _cells(gy0[g], gy1[g], y0, cell, ny)
        nx_g, ny_g = g_nx[g], g_ny[g]
        kept = 0
        for i in range(a, b + 1):
            for j in range(c0, c1 + 1):
                for e in range(start[i * ny + j], start[i * ny + j + 1]):
                    o = entries[e]
                    if i != max(a, first_i[o]) or j != max(c0, first_j[o]):
                        continue  # met in an earlier cell of this group
                    if rx0[o] > gx1[g] or rx1[o] < gx0[g] or ry0[o] > gy1[g] or ry1[o] < gy0[g]:
                        continue
                    if nx_g != 0.0 or ny_g != 0.0:
                        front = (max(ob_bounds[o, 0] * nx_g, ob_bounds[o, 2] * nx_g)
                                 + max(ob_bounds[o, 1] * ny_g, ob_bounds[o, 3] * ny_g) - g_pn[g])
                        if front + 1e-6 <= plane_tol:
                            continue
                    dx = max(ob_bounds[o, 0] - gx1[g], gx0[g] - ob_bounds[o, 2], 0.0)
                    dy = max(ob_bounds[o, 1] - gy1[g], gy0[g] - ob_bounds[o, 3], 0.0)
                    dist = math.hypot(dx, dy)
                    rise = heights[o] - gz[g]
                    if rise > 0 and dist * tan_min <= rise and dist <= max_radius and g_own[g] != o:
                        d[kept] = dist
                        keep[kept] = o
                        kept += 1
        order = np.argsort(d[:kept], kind="mergesort")
        for k in range(kept):
            ob[lo + k] = keep[order[k]]
            grp[lo + k] = g
        run_end[r] = lo + kept
    return run_start, run_end, grp, ob


@numba.njit(parallel=True, cache=True)
def _horizon_kernel(run_start, run_end, pair_group, pair_obs, g_start, g_count, px, py, pz, pnx, pny, plane_tol,
                    ax_, ay_, bx_, by_, w_start, w_count, ob_height, n_sec, delta, sin_c, cos_c, ob_bounds,
                    gx0, gx1, gy0, gy1, occlusion, tan_h):  # pragma: no cover - compiled
    """For each (group of points, obstacle) pair, every wall facing each point: the rise ÷ distance at the wall's
    two ends and along every sector-centre ray that crosses it; keep the maximum per (point, sector) in ``tan_h``.
    A point with a normal (pnx, pny) stands on a vertical wall: walls behind its plane or on it are skipped.
    Runs of pairs share a group, so threads write disjoint rows.

    Occlusion: an obstacle no nearer than ``d`` (its bounding box's distance) can raise no sector above
    rise ÷ d, and covers only the sectors of the cone from the group's box to its box; when every one of them
    already holds more (a nearer obstacle, processed first, hides it), its walls are skipped. The maximum is unchanged: the
    test errs towards evaluating (a 1e-6 relative and a 1e-4° margin cover the rounding of distances and
    angles)."""
    deg = 180.0 / math.pi
    for r in numba.prange(len(run_start)):
        for k in range(run_start[r], run_end[r]):
            g = pair_group[k]
            o = pair_obs[k]
            h = ob_height[o]
            bx0, by0, bx1, by1 = ob_bounds[o, 0], ob_bounds[o, 1], ob_bounds[o, 2], ob_bounds[o, 3]
            # the cone of directions from anywhere in the group's box to anywhere in the obstacle's box: the
            # azimuths of the corners of their Minkowski difference, once per pair (none when the boxes overlap)
            mx0, mx1 = bx0 - gx1[g], bx1 - gx0[g]
            my0, my1 = by0 - gy1[g], by1 - gy0[g]
            cull = occlusion and not (mx0 <= 0.0 <= mx1 and my0 <= 0.0 <= my1)
            s_lo = 0
            s_hi = -1
            if cull:
                a0 = math.atan2(mx0, my0) * deg
                lo_off = 0.0
                hi_off = 0.0
                for cxy in range(1, 4):
                    ux = mx1 if cxy & 1 else mx0
                    uy = my1 if cxy & 2 else my0
                    off = (math.atan2(ux, uy) * deg - a0 + 180.0) % 360.0 - 180.0
                    lo_off = min(lo_off, off)
                    hi_off = max(hi_off, off)
                s_lo = int(math.floor((a0 + lo_off - 1e-4) / delta))
                s_hi = int(math.floor((a0 + hi_off + 1e-4) / delta))
            for p in range(g_start[g], g_start[g] + g_count[g]):
                rise = h - pz[p]
                if rise <= 0.0:
                    continue
                x, y = px[p], py[p]
                nx, ny = pnx[p], pny[p]
                on_wall = nx != 0.0 or ny != 0.0
                # a point on a wall: an obstacle whose box lies wholly behind the wall's plane has no wall in front
                if on_wall and max((bx0 - x) * nx, (bx1 - x) * nx) + max((by0 - y) * ny, (by1 - y) * ny) <= plane_tol:
                    continue
                if cull:
                    # no wall of the obstacle is nearer than its box, so none raises a sector above rise ÷ that
                    # distance: when every sector of the cone already holds more, a nearer obstacle hides it
                    ddx = max(bx0 - x, 0.0, x - bx1)
                    ddy = max(by0 - y, 0.0, y - by1)
                    dbox = math.sqrt(ddx * ddx + ddy * ddy)
                    if dbox > 1e-3:
                        tmax = rise / dbox * (1.0 + 1e-6)
                        hidden = True
                        for kk in range(s_lo, s_hi + 1):
                            s = kk + n_sec if kk < 0 else (kk - n_sec if kk >= n_sec else kk)
                            if tan_h[p, s] < tmax:
                                hidden = False
                                break
                        if hidden:
                            continue
                # a wall's end b is the next wall's start a (one ring): its azimuth and distance are kept for it
                prev_bx = math.nan
                prev_by = math.nan
                prev_az = 0.0
                for w in range(w_start[o], w_start[o] + w_count[o]):
                    ax = ax_[w] - x
                    ay = ay_[w] - y
                    bx = bx_[w] - x
                    by = by_[w] - y
                    # a point on a wall sees only its front half-space: skip walls behind or on its plane
                    if on_wall and ax * nx + ay * ny <= plane_tol and bx * nx + by * ny <= plane_tol:
                        continue
                    ex = bx - ax
                    ey = by - ay
                    # back-face culling: the point must lie right of (outside) the wall; walls behind are farther
                    if ex * (-ay) - ey * (-ax) > 0.0:
                        continue
                    # azimuths in [0, 360): x + 360 for x < 0 is Python's x % 360 for x in (-180, 180]
                    if ax == prev_bx and ay == prev_by:
                        az_a = prev_az  # the previous wall's end, already entered
                    else:
                        az_a = math.atan2(ax, ay) * deg
                        if az_a < 0.0:
                            az_a += 360.0
                        t = rise / max(math.sqrt(ax * ax + ay * ay), 1e-6)
                        s = min(int(az_a / delta), n_sec - 1)
                        if t > tan_h[p, s]:
                            tan_h[p, s] = t
                    az_b = math.atan2(bx, by) * deg
                    if az_b < 0.0:
                        az_b += 360.0
                    t = rise / max(math.sqrt(bx * bx + by * by), 1e-6)
                    s = min(int(az_b / delta), n_sec - 1)
                    if t > tan_h[p, s]:
                        tan_h[p, s] = t
                    prev_bx, prev_by, prev_az = bx, by, az_b
                    # (az_b − az_a + 180) mod 360 − 180, the argument in (−180, 540): Python's modulo by cases
                    width = az_b - az_a + 180.0
                    if width < 0.0:
                        width += 360.0
                    elif width >= 360.0:
                        width -= 360.0
                    width -= 180.0
                    start = az_a if width >= 0 else az_a + width
                    k0 = math.ceil(start / delta - 0.5)
                    k1 = math.floor((start + abs(width)) / delta - 0.5)
                    num = ax * ey - ay * ex
                    for kk in range(k0, k1 + 1):
                        s = kk
                        if s < 0:
                            s += n_sec
                        elif s >= n_sec:
                            s -= n_sec
                        den = sin_c[s] * ey - cos_c[s] * ex
                        if den == 0.0:
                            continue
                        dist = num / den
                        if dist <= 1e-6:
                            continue
                        t = rise / dist
                        if t > tan_h[p, s]:
                            tan_h[p, s] = t


def sky_view_factor(horizon_deg: np.ndarray) -> np.ndarray:
    """Sky-view factor of a horizontal surface under a horizon profile [-]: the mean over sectors of cos²(h),
    the share of isotropic sky radiance that reaches it (1 with an open horizon)."""
    h = np.radians(np.clip(horizon_deg, 0.0, 90.0))
    return np.mean(np.cos(h) ** 2, axis=-1)


@dataclass
class RoofShade:
    """Horizons of the sample points of a set of roofs, and what the yield stage asks of them.

    ``owner`` maps each point to its roof's position (0..n_roofs-1); ``horizon`` is (P, sectors) [°].
    """

    n_roofs: int
    owner: np.ndarray
    horizon: np.ndarray
    sector_deg: float

    def __post_init__(self):
        self.points_per_roof = np.bincount(self.owner, minlength=self.n_roofs)
        self.first_point = np.cumsum(self.points_per_roof) - self.points_per_roof
        self._svf_points = np.empty(len(self.horizon))
        by_rows(lambda lo, hi: self._svf_points.__setitem__(slice(lo, hi), sky_view_factor(self.horizon[lo:hi])),
                len(self.horizon))
        svf_sum = np.bincount(self.owner, weights=self._svf_points, minlength=self.n_roofs)
        self._svf = np.where(self.points_per_roof > 0, svf_sum / np.maximum(self.points_per_roof, 1), 1.0)

    def sky_view_all(self) -> np.ndarray:
        return self._svf.copy()

    def sky_view(self, roofs: np.ndarray) -> np.ndarray:
        return self._svf[roofs]

    def sun_visible(self, roofs: np.ndarray, sun_azimuth: np.ndarray, sun_elevation: np.ndarray) -> np.ndarray:
        """Share of each roof's points whose horizon lies below the sun, (len(roofs), hours) [-]."""
        n_sec = self.horizon.shape[1]
        sector = np.minimum((np.mod(sun_azimuth, 360.0) / self.sector_deg).astype(np.int64), n_sec - 1)
        counts = self.points_per_roof[roofs]
        has = counts > 0
        if not has.any():
            return np.ones((len(roofs), len(sun_azimuth)))
        sel = roofs[has]
        share = _visible_share(self.horizon, self.first_point[sel].astype(np.int64), counts[has].astype(np.int64),
                               sector.astype(np.int64), np.asarray(sun_elevation, dtype=np.float32))
        if has.all():  # the usual case: no second (roofs × hours) array
            return share
        out = np.ones((len(roofs), len(sun_azimuth)))
        out[has] = share
        return out


def _visible_share(horizon, first, count, sector, elevation):
    """Share of each roof's points whose horizon in the sun's sector lies below the sun, (roofs, hours).

    By sector rather than by hour: the hours are ordered by sector and then by elevation, and per roof and
    sector the points' horizons are sorted once, so each hour's count of points below the sun is one step of a
    merge (about points × sectors + hours comparisons per roof instead of points × hours). The counts, and so
    the shares, are exactly those of comparing every point with every hour."""
    n_sec = horizon.shape[1]
    order = np.lexsort((elevation, sector)).astype(np.int64)
    sector_start = np.searchsorted(sector[order], np.arange(n_sec + 1)).astype(np.int64)
    return _visible_share_kernel(horizon, first, count, order, sector_start, elevation)


@numba.njit(parallel=True, cache=True)
def _visible_share_kernel(horizon, first, count, order, sector_start, elevation):  # pragma: no cover - compiled
    out = np.empty((len(first), len(order)))
    n_sec = len(sector_start) - 1
    for i in numba.prange(len(first)):
        n = count[i]
        buf = np.empty(n, dtype=horizon.dtype)
        share = np.empty(n + 1)  # k / n, once per roof
        for k in range(n + 1):
            share[k] = k / n
        for s in range(n_sec):
            lo, hi = sector_start[s], sector_start[s + 1]
            if lo == hi:
                continue
            top = bottom = horizon[first[i], s]
            for j in range(1, n):
                v = horizon[first[i] + j, s]
                top = max(top, v)
                bottom = min(bottom, v)
            if top < elevation[order[lo]] or bottom >= elevation[order[hi - 1]]:
                # every point below the sector's lowest sun (all lit), or none below its highest (all shaded)
                full = share[n] if top < elevation[order[lo]] else share[0]
                for q in range(lo, hi):
                    out[i, order[q]] = full
                continue
            for j in range(n):  # the points' horizons in this sector, insertion-sorted (a roof has a few dozen)
                v = horizon[first[i] + j, s]
                k = j
                while k > 0 and buf[k - 1] > v:
                    buf[k] = buf[k - 1]
                    k -= 1
                buf[k] = v
            lit = 0
            for q in range(lo, hi):  # hours of this sector, rising sun: the count of points below it only grows
                t = order[q]
                e = elevation[t]
                while lit < n and buf[lit] < e:
                    lit += 1
                out[i, t] = share[lit]
    return out


#: a roof is resampled densely when its first-pass points' clear-sky beam losses differ by more than
#: REFINE_SPREAD, or one of them loses more than REFINE_MAX_LOSS (a shadow edge may lie between points) [-].
#: Chosen on the embedded Dapuqiao run against 64 points on every roof: the roofs left unrefined are then within
#: 0.8 pp of it (a spread test alone left a roof 4 pp off: four points all in the same shade, the sunlit strip
#: at one end between them and the edge).
REFINE_SPREAD = 0.02
REFINE_MAX_LOSS = 0.05
#: latitude of the sun path that judges the first pass when the roofs' own is unknown (Huangpu) [°]
DEFAULT_LATITUDE_DEG = 31.2


def sun_path(latitude_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A year of sun positions at a latitude on a coarse grid (24 declinations × 30-minute hour angles, above
    the horizon): azimuth clockwise from north [°], elevation [°], and a weight ∝ sin(elevation), the beam on a
    horizontal plane under a uniform clear sky. Judges where the shade changes, not the yield."""
    phi = math.radians(latitude_deg)
    dec = np.radians(23.45 * np.sin(np.linspace(0, 2 * np.pi, 24, endpoint=False)))[:, None]  # days of a year
    omega = np.radians(np.arange(-180.0, 180.0, 7.5) + 3.75)[None, :]
    sin_el = np.sin(phi) * np.sin(dec) + np.cos(phi) * np.cos(dec) * np.cos(omega)
    el = np.degrees(np.arcsin(np.clip(sin_el, -1, 1)))
    az = np.degrees(np.arctan2(-np.cos(dec) * np.sin(omega),
                               np.sin(dec) * np.cos(phi) - np.cos(dec) * np.cos(omega) * np.sin(phi))) % 360.0
    up = el > 0
    return az[up], el[up], np.sin(np.radians(el[up]))


def point_beam_loss(horizon: np.ndarray, latitude_deg: np.ndarray, *, chunk: int = 20000) -> np.ndarray:
    """Each point's share of clear-sky beam on a horizontal plane that its horizon blocks over :func:`sun_path`
    at its latitude (per point, rounded to 0.5°: a city has one or two) [-]."""
    P, n_sec = horizon.shape
    out = np.zeros(P)
    lat = np.round(np.where(np.isfinite(latitude_deg), latitude_deg, DEFAULT_LATITUDE_DEG) * 2.0) / 2.0
    for k in np.unique(lat):
        az, el, w = sun_path(float(k))
        sec = np.minimum((az / (360.0 / n_sec)).astype(np.int64), n_sec - 1)
        el32 = el.astype(np.float32)
        idx = np.flatnonzero(lat == k)
        # one thread: the product goes through BLAS, which is not safe to enter from several threads at once
        for lo in range(0, len(idx), chunk):
            rows = idx[lo : lo + chunk]
            out[rows] = (horizon[rows][:, sec] >= el32) @ w / w.sum()
    return out


def first_pass_shade(horizon: np.ndarray, owner: np.ndarray, n_roofs: int,
                     latitude_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per roof (``latitude_deg`` per roof), the largest :func:`point_beam_loss` of its points and how far its
    points disagree (max − min) [-]; 0 and 0 for roofs without points."""
    worst = np.zeros(n_roofs)
    spread = np.zeros(n_roofs)
    if len(owner) == 0:
        return worst, spread
    loss = point_beam_loss(horizon, np.asarray(latitude_deg, dtype=float)[owner])
    start = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    hi = np.maximum.reduceat(loss, start)
    worst[owner[start]] = hi
    spread[owner[start]] = hi - np.minimum.reduceat(loss, start)
    return worst, spread


def visible_share(horizon: np.ndarray, first: np.ndarray, count: np.ndarray, sector: np.ndarray,
                  elevation: np.ndarray) -> np.ndarray:
    """Share of each roof's points whose horizon in the sun's sector lies below the sun, (roofs, hours) [-].

    ``horizon`` (P, sectors) float32 [°]; roof i owns points ``first[i] … first[i] + count[i] − 1`` (count ≥ 1);
    ``sector`` and ``elevation`` [°] are the sun's per hour. The kernel :meth:`RoofShade.sun_visible` runs."""
    return _visible_share(np.ascontiguousarray(horizon, dtype=np.float32), np.asarray(first, dtype=np.int64),
                          np.asarray(count, dtype=np.int64), np.asarray(sector, dtype=np.int64),
                          np.asarray(elevation, dtype=np.float32))


def two_pass_points(surfaces: np.ndarray, horizons, cfg: ShadingConfig, *, latitude_deg: np.ndarray | None = None,
                    refine_spread: float = REFINE_SPREAD, refine_max_loss: float = REFINE_MAX_LOSS):
    """Sample points of each surface polygon and their horizons in two passes: the size-based points of
    :func:`sample_points`, then, where the shade changes across a surface — its points' clear-sky beam losses
    (:func:`first_pass_shade`) differ by more than ``refine_spread`` or one exceeds ``refine_max_loss`` — a full
    grid of ``cfg.max_points_per_roof`` points replacing the first (none with a fixed ``point_spacing_m``).
    ``horizons(xy, owner)`` gives the horizons of points owned by surface positions. Returns ``xy``, ``owner``
    (sorted), ``horizon``, the first pass's point count and which surfaces were resampled. Flat roofs
    (:func:`shade_targets`) and roof planes (:func:`solarmap.planes.shade_planes`) share it."""
    xy, owner = sample_points(surfaces, max_points=cfg.max_points_per_roof, spacing_m=cfg.point_spacing_m)
    horizon = horizons(xy, owner)
    n_first = len(xy)
    refined = np.zeros(len(surfaces), dtype=bool)
    if cfg.point_spacing_m <= 0 and len(xy):
        lat = np.full(len(surfaces), np.nan) if latitude_deg is None else np.asarray(latitude_deg, dtype=float)
        worst, spread = first_pass_shade(horizon, owner, len(surfaces), lat)
        room = points_for_area(shapely.area(surfaces), max_points=cfg.max_points_per_roof) < cfg.max_points_per_roof
        refined = ((spread > refine_spread) | (worst > refine_max_loss)) & room
        sel = np.flatnonzero(refined)
        if len(sel):
            xy2, o2 = sample_points(surfaces[sel], max_points=cfg.max_points_per_roof,
                                    counts=np.full(len(sel), cfg.max_points_per_roof))
            o2 = sel[o2]
            keep = ~refined[owner]
            xy = np.concatenate([xy[keep], xy2])
            owner = np.concatenate([owner[keep], o2])
            horizon = np.concatenate([horizon[keep], horizons(xy2, o2)])
            order = np.argsort(owner, kind="stable")
            xy, owner, horizon = xy[order], owner[order], horizon[order]
    return xy, owner, horizon, n_first, refined


def shade_targets(targets: gpd.GeoDataFrame, target_heights: np.ndarray, obstacles: gpd.GeoDataFrame,
                  obstacle_heights: np.ndarray, cfg: ShadingConfig, *, target_obstacle: np.ndarray | None = None,
                  setback_m: float = 0.0, refine_spread: float = REFINE_SPREAD,
                  refine_max_loss: float = REFINE_MAX_LOSS,
                  latitude_deg: np.ndarray | None = None) -> RoofShade:
    """Shade a set of target roofs against a set of obstacle buildings (both in the same metric CRS).

    ``target_obstacle`` gives, per target, its own index among the obstacles (skipped), or −1.
    Sample points lie on each roof inset by ``setback_m`` (the usable area), at the roof's height; the roof is the
    targets' ``roof_geometry`` column when present (the footprint less what stands on it), else the footprint.
    Two passes (:func:`two_pass_points`): the size-based points, then a full grid on every roof where the shade
    changes (a tall neighbour near), judged on the sun path at the targets' ``latitude_deg`` (Huangpu's where not
    given).
    """
    geoms = targets[ROOF_GEOMETRY].to_numpy() if ROOF_GEOMETRY in targets.columns else targets.geometry.to_numpy()
    usable = shapely.buffer(geoms, -setback_m, join_style="mitre") if setback_m > 0 else geoms
    usable = np.where(shapely.is_empty(usable), geoms, usable)
    heights_t = np.asarray(target_heights, dtype=float)
    own_t = None if target_obstacle is None else np.asarray(target_obstacle)
    ob_geoms = obstacles.geometry.to_numpy()

    def horizons(xy, owner):
        own = None if own_t is None else own_t[owner]
        return horizon_profiles(xy, heights_t[owner], ob_geoms, obstacle_heights, sector_deg=cfg.sector_deg,
                                min_sun_elevation_deg=cfg.min_sun_elevation_deg, max_radius_m=cfg.max_search_radius_m,
                                point_owner_obstacle=own, point_group=owner)

    xy, owner, horizon, n_first, refined = two_pass_points(usable, horizons, cfg, latitude_deg=latitude_deg,
                                                           refine_spread=refine_spread, refine_max_loss=refine_max_loss)
    log.info("shading: %d roofs, %d sample points (%d first pass; %d roofs resampled where the shade changes), "
             "%d sectors", len(targets), len(xy), n_first, int(refined.sum()), horizon.shape[1])
    return RoofShade(len(targets), owner, horizon, 360.0 / horizon.shape[1])


class _PipelineShade:
    """Adapter from the roofs table's positions to the shaded targets (unassessed rows see everything)."""

    def __init__(self, n: int, target_pos: np.ndarray, shade: RoofShade):
        self.map = np.full(n, -1)
        self.map[target_pos] = np.arange(len(target_pos))
        self.shade = shade

    def sun_visible(self, roofs, sun_azimuth, sun_elevation):
        t = self.map[roofs]
        has = t >= 0
        if has.all():  # every roof shaded, the usual case: the share as it is, no second (roofs × hours) array
            return self.shade.sun_visible(t, sun_azimuth, sun_elevation)
        out = np.ones((len(roofs), len(sun_azimuth)))
        if has.any():
            out[has] = self.shade.sun_visible(t[has], sun_azimuth, sun_elevation)
        return out

    def sky_view(self, roofs):
        t = self.map[roofs]
        out = np.ones(len(roofs))
        has = t >= 0
        out[has] = self.shade.sky_view(t[has])
        return out

    def sample_points_all(self) -> np.ndarray:
        """Sample points per row of the roofs table (0 for rows that were not shaded)."""
        has = self.map >= 0
        out = np.zeros(len(self.map), dtype=np.int64)
        out[has] = self.shade.points_per_roof[self.map[has]]
        return out

    def sky_view_all(self):
        out = np.full(len(self.map), np.nan)
        has = self.map >= 0
        out[has] = self.shade.sky_view(self.map[has])
        return out


def shade_model(roofs: gpd.GeoDataFrame, cfg: ShadingConfig, *, setback_m: float = 0.0,
                targets: np.ndarray | None = None) -> _PipelineShade:
    """Shade every assessed roof of the pipeline's table against every building with a footprint and height
    (including those outside the boundary, which are excluded from assessment but still cast shade).
    ``targets`` (optional, boolean) limits the shaded roofs further (pitched roofs are shaded per plane)."""
    heights = roofs["height_m"].to_numpy(dtype=float)
    geoms = roofs.geometry.to_numpy()
    is_obstacle = np.isfinite(heights) & (heights > 0) & ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    is_target = (roofs["assessment"] == "assessed").to_numpy() & is_obstacle
    if targets is not None:
        is_target &= np.asarray(targets, dtype=bool)
    target_pos = np.flatnonzero(is_target)
    obstacle_pos = np.flatnonzero(is_obstacle)
    pos_in_obstacles = np.full(len(roofs), -1)
    pos_in_obstacles[obstacle_pos] = np.arange(len(obstacle_pos))
    shade = shade_targets(roofs.iloc[target_pos], heights[target_pos], roofs.iloc[obstacle_pos], heights[obstacle_pos],
                          cfg, target_obstacle=pos_in_obstacles[target_pos], setback_m=setback_m,
                          latitude_deg=roofs["lat"].to_numpy(dtype=float)[target_pos] if "lat" in roofs.columns else None)
    return _PipelineShade(len(roofs), target_pos, shade)
