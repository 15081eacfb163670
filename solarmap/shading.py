"""Shade from neighbouring buildings, straight from footprints and heights (no DSM, no raster).

For sample points on each target roof, a horizon profile holds, per azimuth sector, the elevation angle of the
highest obstruction. It is computed exactly from the obstacles' wall segments: for every (point, wall) pair within
reach, the wall's angular interval is cut at each sector's centre ray (and at the wall's two ends, so that a narrow
far building is never missed), the ray-wall distance gives the elevation ``atan((h_obstacle − z_point) / d)``, and
the highest per sector wins. Pairs come from an STRtree query of each obstacle's reach — the distance beyond which
it stands lower than ``min_sun_elevation_deg`` above the point — so nothing is all-pairs, and all of it is numpy
over chunks of points.

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
import numpy as np
import shapely

from solarmap.config import ShadingConfig

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
    chunk_pairs: int = 4_000_000,
) -> np.ndarray:
    """Horizon elevation [°] per point and azimuth sector (sector k covers [kΔ, (k+1)Δ) clockwise from north).

    ``obstacles`` are footprints (metric CRS) with ``obstacle_heights`` [m]; ``points_z`` are the points' heights
    [m]. ``point_owner_obstacle`` (optional) is, per point, the obstacle index of its own building, which is
    skipped. Only obstacles taller than a point and within ``(h − z) / tan(min_sun_elevation_deg)`` (at most
    ``max_radius_m``) are considered. Returns an array (P, 360/Δ), 0 where nothing rises above the point.
    """
    n_sec = int(round(360.0 / sector_deg))
    delta = 360.0 / n_sec
    P = len(points_xy)
    horizon = np.zeros((P, n_sec), dtype=np.float32)
    if P == 0 or len(obstacles) == 0:
        return horizon
    heights = np.asarray(obstacle_heights, dtype=float)
    ok = np.isfinite(heights) & (heights > 0) & ~shapely.is_empty(obstacles) & ~shapely.is_missing(obstacles)
    obs_idx = np.flatnonzero(ok)
    walls = wall_segments(np.asarray(obstacles, dtype=object)[obs_idx])
    heights = heights[obs_idx]
    tan_min = math.tan(math.radians(min_sun_elevation_deg))
    zmin = float(np.min(points_z))
    reach = np.clip((heights - zmin) / tan_min, 0.0, max_radius_m)
    ob_bounds = shapely.bounds(np.asarray(obstacles, dtype=object)[obs_idx])
    boxes = shapely.box(ob_bounds[:, 0] - reach, ob_bounds[:, 1] - reach, ob_bounds[:, 2] + reach, ob_bounds[:, 3] + reach)
    tree = shapely.STRtree(shapely.points(points_xy))
    own = None
    if point_owner_obstacle is not None:
        remap = np.full(len(obstacles), -1)
        remap[obs_idx] = np.arange(len(obs_idx))
        own = np.where(point_owner_obstacle >= 0, remap[np.clip(point_owner_obstacle, 0, None)], -1)
    # query obstacle by obstacle block to bound memory
    for o_lo in range(0, len(obs_idx), 2000):
        o_hi = min(len(obs_idx), o_lo + 2000)
        ob, pt = tree.query(boxes[o_lo:o_hi])
        ob = ob + o_lo
        if len(ob) == 0:
            continue
        px, py, pz = points_xy[pt, 0], points_xy[pt, 1], points_z[pt]
        # distance from the point to the obstacle's bounding box: a lower bound of the true distance
        dx = np.maximum(np.maximum(ob_bounds[ob, 0] - px, px - ob_bounds[ob, 2]), 0.0)
        dy = np.maximum(np.maximum(ob_bounds[ob, 1] - py, py - ob_bounds[ob, 3]), 0.0)
        rise = heights[ob] - pz
        keep = (rise > 0) & (np.hypot(dx, dy) * tan_min <= rise) & (np.hypot(dx, dy) <= max_radius_m)
        if own is not None:
            keep &= own[pt] != ob
        ob, pt = ob[keep], pt[keep]
        _accumulate(horizon, walls, heights, ob, pt, points_xy, points_z, n_sec, delta, chunk_pairs)
    return horizon


def _accumulate(horizon, walls, heights, ob, pt, points_xy, points_z, n_sec, delta, chunk_pairs):
    """Expand (point, obstacle) pairs into (point, wall) pairs and those into sector rays; keep the maxima."""
    centres = np.radians((np.arange(n_sec) + 0.5) * delta)
    sin_c, cos_c = np.sin(centres).astype(np.float32), np.cos(centres).astype(np.float32)
    counts = walls.count[ob]
    # split the pair list so the expanded arrays stay within chunk_pairs elements
    cum = np.cumsum(counts)
    bounds = np.searchsorted(cum, np.arange(chunk_pairs, cum[-1] + chunk_pairs, chunk_pairs) if len(cum) else [])
    lo = 0
    for hi in [*bounds.tolist(), len(ob)]:
        hi = min(hi + 1, len(ob))
        if hi <= lo:
            continue
        o, p = ob[lo:hi], pt[lo:hi]
        lo = hi
        c = walls.count[o]
        rep = np.repeat(np.arange(len(o)), c)
        seg = np.repeat(walls.start[o], c) + (np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c))
        pi = p[rep]
        f32 = np.float32
        px, py = points_xy[pi, 0].astype(f32), points_xy[pi, 1].astype(f32)
        ax = walls.a[seg, 0].astype(f32) - px
        ay = walls.a[seg, 1].astype(f32) - py
        bx = walls.b[seg, 0].astype(f32) - px
        by = walls.b[seg, 1].astype(f32) - py
        # back-face culling: a ray from outside enters a prism of uniform height through a wall with the point on
        # its right (outside) side first; the walls behind it are farther, so lower, and never the maximum
        front = (bx - ax) * (-ay) - (by - ay) * (-ax) <= 0
        pi, ax, ay, bx, by = pi[front], ax[front], ay[front], bx[front], by[front]
        rise = (heights[o][rep][front] - points_z[pi]).astype(f32)
        flat = horizon.reshape(-1)
        az_a = np.degrees(np.arctan2(ax, ay)) % f32(360.0)
        az_b = np.degrees(np.arctan2(bx, by)) % f32(360.0)
        # the wall's two ends
        for ex, ey, az in ((ax, ay, az_a), (bx, by, az_b)):
            el = np.degrees(np.arctan2(rise, np.maximum(np.hypot(ex, ey), f32(1e-6))))
            k = np.minimum((az / delta).astype(np.int64), n_sec - 1)
            np.maximum.at(flat, pi * n_sec + k, el)
        # the sector centre rays crossing the wall
        width = (az_b - az_a + 180.0) % 360.0 - 180.0
        start = np.where(width >= 0, az_a, az_a + width)
        span = np.abs(width)
        k0 = np.ceil(start / delta - 0.5).astype(np.int64)
        k1 = np.floor((start + span) / delta - 0.5).astype(np.int64)
        m = np.maximum(k1 - k0 + 1, 0)
        if m.sum() == 0:
            continue
        r = np.repeat(np.arange(len(m)), m)
        k = np.repeat(k0, m) + (np.arange(m.sum()) - np.repeat(np.cumsum(m) - m, m))
        ks = k % n_sec
        ux, uy = sin_c[ks], cos_c[ks]
        axr, ayr = ax[r], ay[r]
        exr, eyr = bx[r] - axr, by[r] - ayr
        den = ux * eyr - uy * exr
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (axr * eyr - ayr * exr) / den
        good = np.isfinite(t) & (t > 1e-6)
        el = np.degrees(np.arctan2(rise[r][good], t[good]))
        np.maximum.at(flat, pi[r][good] * n_sec + ks[good], el)


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
        pts = np.concatenate([np.arange(self.first_point[r], self.first_point[r] + self.points_per_roof[r]) for r in sel])
        lit = self.horizon[pts][:, sector] < sun_elevation[None, :]  # (points, hours)
        starts = np.cumsum(counts[has]) - counts[has]
        out[has] = np.add.reduceat(lit, starts, axis=0) / counts[has][:, None]
        return out


def shade_targets(targets: gpd.GeoDataFrame, target_heights: np.ndarray, obstacles: gpd.GeoDataFrame,
                  obstacle_heights: np.ndarray, cfg: ShadingConfig, *, target_obstacle: np.ndarray | None = None,
                  setback_m: float = 0.0) -> RoofShade:
    """Shade a set of target roofs against a set of obstacle buildings (both in the same metric CRS).

    ``target_obstacle`` gives, per target, its own index among the obstacles (skipped), or −1.
    Sample points lie on each roof inset by ``setback_m`` (the usable area), at the roof's height.
    """
    geoms = targets.geometry.to_numpy()
    usable = shapely.buffer(geoms, -setback_m, join_style="mitre") if setback_m > 0 else geoms
    usable = np.where(shapely.is_empty(usable), geoms, usable)
    xy, owner = sample_points(usable, max_points=cfg.max_points_per_roof, spacing_m=cfg.point_spacing_m)
    z = np.asarray(target_heights, dtype=float)[owner]
    own = None if target_obstacle is None else np.asarray(target_obstacle)[owner]
    horizon = horizon_profiles(xy, z, obstacles.geometry.to_numpy(), obstacle_heights, sector_deg=cfg.sector_deg,
                               min_sun_elevation_deg=cfg.min_sun_elevation_deg, max_radius_m=cfg.max_search_radius_m,
                               point_owner_obstacle=own)
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


def shade_model(roofs: gpd.GeoDataFrame, cfg: ShadingConfig, *, sun=None, setback_m: float = 0.0) -> _PipelineShade:
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
