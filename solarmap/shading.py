"""Shade from neighbouring buildings, straight from footprints and heights (no DSM, no raster).

For sample points on each target roof, a horizon profile holds, per azimuth sector, the elevation angle of the
highest obstruction. It is computed exactly from the obstacles' wall segments: for every (point, wall) pair within
reach, the wall's angular interval is cut at each sector's centre ray (and at the wall's two ends, so that a narrow
far building is never missed), the ray-wall distance gives the elevation ``atan((h_obstacle − z_point) / d)``, and
the highest per sector wins. Pairs of (roof, obstacle) come from an STRtree query of each obstacle's reach — the
distance beyond which it stands lower than ``min_sun_elevation_deg`` above the roof — so nothing is all-pairs; the
per-wall arithmetic is one compiled numba kernel, threaded over roofs.

From the profile: the sky-view factor of each point (cosine-weighted, for isotropic sky radiance:
``SVF = mean_k cos²(h_k)``) and, per hour, whether the sun stands above the point's horizon in its sector. A roof's
hourly visible share is the mean over its points, so partial shade is resolved.

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


def sample_points(polygons: np.ndarray, *, max_points: int = 16, spacing_m: float = 0.0,
                  min_points: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Grid points inside each polygon, spaced to suit its size.

    Each roof gets about ``clip(2·sqrt(area/10 m²), min_points, max_points)`` points (a 40 m² lane-house roof 4,
    a 250 m² slab 10, a 5,000 m² mall ``max_points``) unless ``spacing_m`` fixes the spacing. Polygons too thin
    for the grid get their representative point. Returns ``xy`` (P, 2) [m] and ``owner`` (P,), the position of
    the polygon each point belongs to; points are grouped by owner in increasing order.
    """
    polygons = np.asarray(polygons, dtype=object)
    n = len(polygons)
    area = shapely.area(polygons)
    valid = ~shapely.is_empty(polygons) & (area > 0)
    k = np.clip(np.round(2.0 * np.sqrt(np.maximum(area, 0) / 10.0)), min_points, max_points)
    spacing = np.full(n, spacing_m) if spacing_m > 0 else np.sqrt(np.maximum(area, 1e-9) / k)
    bounds = shapely.bounds(polygons)
    nx = np.where(valid, np.ceil((bounds[:, 2] - bounds[:, 0]) / spacing), 0).astype(np.int64)
    ny = np.where(valid, np.ceil((bounds[:, 3] - bounds[:, 1]) / spacing), 0).astype(np.int64)
    nx, ny = np.maximum(nx, 1) * valid, np.maximum(ny, 1) * valid
    cells = nx * ny
    owner = np.repeat(np.arange(n), cells)
    first = np.repeat(np.cumsum(cells) - cells, cells)
    local = np.arange(cells.sum()) - first
    ix, iy = local % nx[owner], local // nx[owner]
    # centre the grid on the bounding box so small roofs are sampled symmetrically
    x0 = (bounds[:, 0] + bounds[:, 2]) / 2 - (nx - 1) * spacing / 2
    y0 = (bounds[:, 1] + bounds[:, 3]) / 2 - (ny - 1) * spacing / 2
    x = x0[owner] + ix * spacing[owner]
    y = y0[owner] + iy * spacing[owner]
    inside = shapely.contains_xy(polygons[owner], x, y)
    owner, x, y = owner[inside], x[inside], y[inside]
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
    """Every ring segment (exterior and holes) of every footprint, grouped by footprint. Rings are oriented
    (exterior counter-clockwise, holes clockwise) so the building's solid lies left of every segment."""
    footprints = shapely.orient_polygons(np.asarray(footprints, dtype=object))
    rings = shapely.get_rings(footprints, return_index=True)
    ring_geoms, ring_owner = rings
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
) -> np.ndarray:
    """Horizon elevation [°] per point and azimuth sector (sector k covers [kΔ, (k+1)Δ) clockwise from north).

    ``obstacles`` are footprints (metric CRS) with ``obstacle_heights`` [m]; ``points_z`` are the points' heights
    [m]. ``point_owner_obstacle`` (optional) is, per point, the obstacle index of its own building, which is
    skipped. ``point_group`` (optional) groups points that share a height and an owner (a roof's points, sorted
    by group), so that obstacles are searched once per group. Only obstacles taller than a point and within
    ``(h − z) / tan(min_sun_elevation_deg)`` (at most ``max_radius_m``) count. Returns an array (P, 360/Δ),
    0 where nothing rises above the point.
    """
    n_sec = int(round(360.0 / sector_deg))
    delta = 360.0 / n_sec
    P = len(points_xy)
    horizon = np.zeros((P, n_sec), dtype=np.float32)
    if P == 0 or len(obstacles) == 0:
        return horizon
    obstacles = np.asarray(obstacles, dtype=object)
    heights = np.asarray(obstacle_heights, dtype=float)
    ok = np.isfinite(heights) & (heights > 0) & ~shapely.is_empty(obstacles) & ~shapely.is_missing(obstacles)
    obs_idx = np.flatnonzero(ok)
    if len(obs_idx) == 0:
        return horizon
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
    boxes = shapely.box(ob_bounds[:, 0] - reach, ob_bounds[:, 1] - reach, ob_bounds[:, 2] + reach, ob_bounds[:, 3] + reach)
    tree = shapely.STRtree(shapely.box(gx0, gy0, gx1, gy1))
    centres = np.radians((np.arange(n_sec) + 0.5) * delta)
    sin_c, cos_c = np.sin(centres), np.cos(centres)
    tan_horizon = np.zeros((P, n_sec), dtype=np.float32)  # tan(elevation): same order, no arctan per sample
    px = points_xy[:, 0].astype(np.float64)
    py = points_xy[:, 1].astype(np.float64)
    pz = np.asarray(points_z, dtype=np.float64)
    for o_lo in range(0, len(obs_idx), 5000):  # obstacle blocks bound the pair arrays' memory
        ob, grp = tree.query(boxes[o_lo : o_lo + 5000])
        if len(ob) == 0:
            continue
        ob = ob + o_lo
        # box-to-box distance: a lower bound of every point-to-wall distance in the pair
        dx = np.maximum(np.maximum(ob_bounds[ob, 0] - gx1[grp], gx0[grp] - ob_bounds[ob, 2]), 0.0)
        dy = np.maximum(np.maximum(ob_bounds[ob, 1] - gy1[grp], gy0[grp] - ob_bounds[ob, 3]), 0.0)
        d = np.hypot(dx, dy)
        rise = heights[ob] - gz[grp]
        keep = (rise > 0) & (d * tan_min <= rise) & (d <= max_radius_m) & (g_own[grp] != ob)
        ob, grp = ob[keep], grp[keep]
        order = np.argsort(grp, kind="stable")
        ob, grp = ob[order], grp[order]
        bounds = np.flatnonzero(np.r_[True, grp[1:] != grp[:-1]]) if len(grp) else np.zeros(0, dtype=np.int64)
        _horizon_kernel(bounds.astype(np.int64), np.r_[bounds[1:], len(grp)].astype(np.int64), grp.astype(np.int64),
                        ob.astype(np.int64), g_start.astype(np.int64), g_count.astype(np.int64), px, py, pz,
                        walls.a[:, 0].copy(), walls.a[:, 1].copy(), walls.b[:, 0].copy(), walls.b[:, 1].copy(),
                        walls.start.astype(np.int64), walls.count.astype(np.int64), heights, n_sec, delta, sin_c, cos_c,
                        tan_horizon)
    np.degrees(np.arctan(tan_horizon, out=tan_horizon), out=horizon)
    return horizon


@numba.njit(parallel=True, cache=True)
def _horizon_kernel(run_start, run_end, pair_group, pair_obs, g_start, g_count, px, py, pz, ax_, ay_, bx_, by_,
                    w_start, w_count, ob_height, n_sec, delta, sin_c, cos_c, tan_h):  # pragma: no cover - compiled
    """For each (group of points, obstacle) pair, every wall facing each point: the rise ÷ distance at the wall's
    two ends and along every sector-centre ray that crosses it; keep the maximum per (point, sector) in ``tan_h``.
    Runs of pairs share a group, so threads write disjoint rows."""
    deg = 180.0 / math.pi
    for r in numba.prange(len(run_start)):
        for k in range(run_start[r], run_end[r]):
            g = pair_group[k]
            o = pair_obs[k]
            h = ob_height[o]
            for p in range(g_start[g], g_start[g] + g_count[g]):
                rise = h - pz[p]
                if rise <= 0.0:
                    continue
                x, y = px[p], py[p]
                for w in range(w_start[o], w_start[o] + w_count[o]):
                    ax = ax_[w] - x
                    ay = ay_[w] - y
                    bx = bx_[w] - x
                    by = by_[w] - y
                    ex = bx - ax
                    ey = by - ay
                    # back-face culling: the point must lie right of (outside) the wall; walls behind are farther
                    if ex * (-ay) - ey * (-ax) > 0.0:
                        continue
                    az_a = math.atan2(ax, ay) * deg % 360.0
                    az_b = math.atan2(bx, by) * deg % 360.0
                    t = rise / max(math.sqrt(ax * ax + ay * ay), 1e-6)
                    s = min(int(az_a / delta), n_sec - 1)
                    if t > tan_h[p, s]:
                        tan_h[p, s] = t
                    t = rise / max(math.sqrt(bx * bx + by * by), 1e-6)
                    s = min(int(az_b / delta), n_sec - 1)
                    if t > tan_h[p, s]:
                        tan_h[p, s] = t
                    width = (az_b - az_a + 180.0) % 360.0 - 180.0
                    start = az_a if width >= 0 else az_a + width
                    k0 = math.ceil(start / delta - 0.5)
                    k1 = math.floor((start + abs(width)) / delta - 0.5)
                    num = ax * ey - ay * ex
                    for kk in range(k0, k1 + 1):
                        s = kk % n_sec
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
        self._svf_points = sky_view_factor(self.horizon)
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
        out = np.ones((len(roofs), len(sun_azimuth)))
        counts = self.points_per_roof[roofs]
        has = counts > 0
        if not has.any():
            return out
        sel = roofs[has]
        out[has] = _visible_share(self.horizon, self.first_point[sel].astype(np.int64), counts[has].astype(np.int64),
                                  sector.astype(np.int64), np.asarray(sun_elevation, dtype=np.float32))
        return out


@numba.njit(parallel=True, cache=True)
def _visible_share(horizon, first, count, sector, elevation):  # pragma: no cover - compiled
    """Share of each roof's points whose horizon in the sun's sector lies below the sun, (roofs, hours)."""
    out = np.empty((len(first), len(sector)))
    for i in numba.prange(len(first)):
        for t in range(len(sector)):
            s = sector[t]
            e = elevation[t]
            lit = 0
            for p in range(first[i], first[i] + count[i]):
                if horizon[p, s] < e:
                    lit += 1
            out[i, t] = lit / count[i]
    return out


def shade_targets(targets: gpd.GeoDataFrame, target_heights: np.ndarray, obstacles: gpd.GeoDataFrame,
                  obstacle_heights: np.ndarray, cfg: ShadingConfig, *, target_obstacle: np.ndarray | None = None,
                  setback_m: float = 0.0) -> RoofShade:
    """Shade a set of target roofs against a set of obstacle buildings (both in the same metric CRS).

    ``target_obstacle`` gives, per target, its own index among the obstacles (skipped), or −1.
    Sample points lie on each roof inset by ``setback_m`` (the usable area), at the roof's height; the roof is the
    targets' ``roof_geometry`` column when present (the footprint less what stands on it), else the footprint.
    """
    geoms = targets[ROOF_GEOMETRY].to_numpy() if ROOF_GEOMETRY in targets.columns else targets.geometry.to_numpy()
    usable = shapely.buffer(geoms, -setback_m, join_style="mitre") if setback_m > 0 else geoms
    usable = np.where(shapely.is_empty(usable), geoms, usable)
    xy, owner = sample_points(usable, max_points=cfg.max_points_per_roof, spacing_m=cfg.point_spacing_m)
    z = np.asarray(target_heights, dtype=float)[owner]
    own = None if target_obstacle is None else np.asarray(target_obstacle)[owner]
    horizon = horizon_profiles(xy, z, obstacles.geometry.to_numpy(), obstacle_heights, sector_deg=cfg.sector_deg,
                               min_sun_elevation_deg=cfg.min_sun_elevation_deg, max_radius_m=cfg.max_search_radius_m,
                               point_owner_obstacle=own, point_group=owner)
    log.info("shading: %d roofs, %d sample points, %d sectors", len(targets), len(xy), horizon.shape[1])
    return RoofShade(len(targets), owner, horizon, 360.0 / horizon.shape[1])


class _PipelineShade:
    """Adapter from the roofs table's positions to the shaded targets (unassessed rows see everything)."""

    def __init__(self, n: int, target_pos: np.ndarray, shade: RoofShade):
        self.map = np.full(n, -1)
        self.map[target_pos] = np.arange(len(target_pos))
        self.shade = shade

    def sun_visible(self, roofs, sun_azimuth, sun_elevation):
        t = self.map[roofs]
        out = np.ones((len(roofs), len(sun_azimuth)))
        has = t >= 0
        if has.any():
            out[has] = self.shade.sun_visible(t[has], sun_azimuth, sun_elevation)
        return out

    def sky_view(self, roofs):
        t = self.map[roofs]
        return np.where(t >= 0, self.shade.sky_view(np.clip(t, 0, None)), 1.0)

    def sky_view_all(self):
        out = np.full(len(self.map), np.nan)
        has = self.map >= 0
        out[has] = self.shade.sky_view(self.map[has])
        return out


def shade_model(roofs: gpd.GeoDataFrame, cfg: ShadingConfig, *, setback_m: float = 0.0) -> _PipelineShade:
    """Shade every assessed roof of the pipeline's table against every building with a footprint and height
    (including those outside the boundary, which are excluded from assessment but still cast shade)."""
    heights = roofs["height_m"].to_numpy(dtype=float)
    geoms = roofs.geometry.to_numpy()
    is_obstacle = np.isfinite(heights) & (heights > 0) & ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    is_target = (roofs["assessment"] == "assessed").to_numpy() & is_obstacle
    target_pos = np.flatnonzero(is_target)
    obstacle_pos = np.flatnonzero(is_obstacle)
    pos_in_obstacles = np.full(len(roofs), -1)
    pos_in_obstacles[obstacle_pos] = np.arange(len(obstacle_pos))
    shade = shade_targets(roofs.iloc[target_pos], heights[target_pos], roofs.iloc[obstacle_pos], heights[obstacle_pos],
                          cfg, target_obstacle=pos_in_obstacles[target_pos], setback_m=setback_m)
    return _PipelineShade(len(roofs), target_pos, shade)
