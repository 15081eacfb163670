"""Facade PV (光伏幕墙, BIPV): every exposed wall of every building, from footprints and heights alone.

**Surfaces.** Each footprint's rings (the exterior and the holes, i.e. courtyards; oriented so that the solid lies
left of every segment) give wall segments with an outward azimuth. A segment that faces a touching neighbour's
wall (within 10° of antiparallel and ``touch_tolerance_m`` of it) is split at the ends of the overlap: below the
neighbour's height that part of the wall is inside the pair and is no facade, above it (a tower beside a lower
building) it is exposed from the neighbour's height up. Overlapping footprints (a tower drawn on its podium, a
building part) are the same case: a wall is cut where it enters another footprint, and a piece whose outer side
lies inside another building is covered up to that building's height (a tower's walls rise from the podium roof). Consecutive pieces of a ring that turn by less than
``merge_angle_deg`` and have the same exposed range are merged into one facade (a curved wall is cut every
2 × ``merge_angle_deg`` of turning), and facades shorter than ``min_length_m`` are dropped; terraced lane houses
so keep only their end and street walls. It is numpy over segment arrays and one STRtree query of the segments,
with no loop over buildings.

**Usable area.** The exposed wall above the lowest storey (``ground_storey_m``: shop fronts, entrances) times the
PV share of the building's use class (windows, balconies; ``pv_share``), at ``module_power_w_per_m2``.

**Shade.** Sample points on each facade (a grid along it and up it, ``point_spacing_m``) get horizon profiles from
the roof kernel (:func:`solarmap.shading.horizon_profiles`) with the wall's normal, so that only walls in front of
the wall's plane count: the wall itself hides its back half-space, and the building's own walls count only where
they stand in front (an L-shape's other wing, the far side of a courtyard). The sky-view factor is relative to an
unobstructed vertical wall (see :func:`vertical_sky_view_factor`); the hourly visible share of the sun is the roofs'.

**Yield.** Vertical planes (tilt 90°) at the wall's azimuth rounded to ``azimuth_step_deg`` go through the roofs'
pvlib chain (:func:`solarmap.solar.roof_yields`), with the facade's own module temperature model. Facades whose
specific yield is below ``min_specific_yield_kwh_per_kwp`` are not suitable, with a reason.
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import shapely

from solarmap.config import Config, FacadesConfig, PVConfig
from solarmap.planes import obstacle_heights
from solarmap.shading import RoofShade, horizon_profiles

log = logging.getLogger(__name__)

_ANTIPARALLEL_COS = math.cos(math.radians(10.0))  # two walls within 10° of antiparallel face each other
_MIN_OVERLAP_M = 0.1  # a shared stretch shorter than this is a corner touch, not a shared wall [m]
_OUTSIDE_M = 0.05  # a wall's outer side is tested this far in front of it [m]


@dataclass
class _Segments:
    """Ring segments of every footprint: endpoints a, b (S, 2), unit direction d, length, owner (footprint
    position), ring (a running ring number: rings of one footprint are consecutive)."""

    a: np.ndarray
    b: np.ndarray
    d: np.ndarray
    length: np.ndarray
    owner: np.ndarray
    ring: np.ndarray

    @property
    def azimuth(self) -> np.ndarray:
        """Outward azimuth [°]: the solid lies left, so the outward normal is the right-hand one (dy, −dx)."""
        return np.degrees(np.arctan2(self.d[:, 1], -self.d[:, 0])) % 360.0


def _segments(footprints: np.ndarray, owners: np.ndarray) -> _Segments:
    """Every ring segment of every polygon part, exterior counter-clockwise and holes clockwise."""
    parts, part_of = shapely.get_parts(footprints, return_index=True)
    poly = shapely.get_type_id(parts) == 3
    parts = shapely.orient_polygons(parts[poly])
    part_owner = owners[part_of[poly]]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    a, b, ring = coords[:-1][same], coords[1:][same], ring[:-1][same]
    length = np.hypot(*(b - a).T)
    keep = length > 1e-6  # repeated vertices
    a, b, ring, length = a[keep], b[keep], ring[keep], length[keep]
    return _Segments(a, b, (b - a) / length[:, None], length, part_owner[ring_part[ring]], ring)


def _shared_stretches(seg: _Segments, targets: np.ndarray, heights: np.ndarray, tol: float):
    """(target segment, from, to [m along it], neighbour height) for every stretch of a target segment that
    faces another building's wall within ``tol``: one STRtree query of the segments."""
    lines = shapely.linestrings(np.stack([seg.a, seg.b], axis=1))
    tree = shapely.STRtree(lines)
    q, t = tree.query(lines[targets], predicate="dwithin", distance=max(tol, 1e-6))
    s = targets[q]
    keep = (seg.owner[s] != seg.owner[t]) & ((seg.d[s] * seg.d[t]).sum(axis=1) < -_ANTIPARALLEL_COS)
    s, t = s[keep], t[keep]
    ra, rb = seg.a[t] - seg.a[s], seg.b[t] - seg.a[s]
    ds = seg.d[s]
    off_a = ds[:, 0] * ra[:, 1] - ds[:, 1] * ra[:, 0]  # distance of the neighbour's wall ends from this wall's line
    off_b = ds[:, 0] * rb[:, 1] - ds[:, 1] * rb[:, 0]
    ua, ub = (ds * ra).sum(axis=1), (ds * rb).sum(axis=1)
    lo = np.clip(np.minimum(ua, ub), 0.0, seg.length[s])
    hi = np.clip(np.maximum(ua, ub), 0.0, seg.length[s])
    keep = (np.abs(off_a) <= tol) & (np.abs(off_b) <= tol) & (hi - lo > _MIN_OVERLAP_M)
    return s[keep], lo[keep], hi[keep], heights[seg.owner[t[keep]]]


def _crossings(seg: _Segments, targets: np.ndarray, footprints: np.ndarray, owners: np.ndarray):
    """Pairs (target segment, other footprint's position) of every target segment meeting another footprint, and
    the points [m along the segment] where the segment crosses that footprint's outline: one STRtree query of the
    footprints and one vectorised intersection."""
    lines = shapely.linestrings(np.stack([seg.a[targets], seg.b[targets]], axis=1))
    q, j = shapely.STRtree(footprints).query(lines, predicate="intersects")
    keep = seg.owner[targets[q]] != owners[j]
    q, j = q[keep], j[keep]
    outline = shapely.boundary(footprints)
    cut = shapely.intersection(lines[q], outline[j])
    xy, which = shapely.get_coordinates(cut, return_index=True)
    s = targets[q[which]]
    u = np.clip(((xy - seg.a[s]) * seg.d[s]).sum(axis=1), 0.0, seg.length[s])
    return targets[q], owners[j], s, u


def _pieces(seg: _Segments, targets: np.ndarray, shared, cuts) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut the target segments at the ends of their shared stretches and where they cross other footprints:
    (segment, u0, u1, cover height), where cover is the tallest neighbour along the piece (0 when none), pieces
    in ring order."""
    s, lo, hi, h = shared
    cut_s, cut_u = cuts
    bs = np.concatenate([targets, targets, s, s, cut_s])
    bu = np.concatenate([np.zeros(len(targets)), seg.length[targets], lo, hi, cut_u])
    o = np.lexsort((bu, bs))
    bs, bu = bs[o], bu[o]
    m = (bs[1:] == bs[:-1]) & (bu[1:] - bu[:-1] > 1e-6)
    piece_seg, u0, u1 = bs[:-1][m], bu[:-1][m], bu[1:][m]
    # the tallest neighbour covering each piece's midpoint
    o = np.argsort(s, kind="stable")
    s, lo, hi, h = s[o], lo[o], hi[o], h[o]
    count = np.bincount(s, minlength=len(seg.length))
    first = np.cumsum(count) - count
    n = count[piece_seg]
    rep = np.repeat(np.arange(len(piece_seg)), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + first[piece_seg][rep]
    mid = ((u0 + u1) / 2)[rep]
    covered = (lo[k] <= mid) & (mid <= hi[k])
    cover = np.zeros(len(piece_seg))
    np.maximum.at(cover, rep[covered], h[k][covered])
    return piece_seg, u0, u1, cover


def _inside_cover(seg: _Segments, piece_seg, u0, u1, pair_s, pair_j, footprints_all: np.ndarray,
                  heights: np.ndarray) -> np.ndarray:
    """Per piece, the tallest other building whose footprint holds the piece's outer side (its midpoint
    ``_OUTSIDE_M`` in front of the wall), 0 when none."""
    o = np.argsort(pair_s, kind="stable")
    pair_s, pair_j = pair_s[o], pair_j[o]
    count = np.bincount(pair_s, minlength=len(seg.length))
    first = np.cumsum(count) - count
    n = count[piece_seg]
    rep = np.repeat(np.arange(len(piece_seg)), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + first[piece_seg][rep]
    d = seg.d[piece_seg]
    mid = seg.a[piece_seg] + ((u0 + u1) / 2)[:, None] * d + _OUTSIDE_M * np.column_stack([d[:, 1], -d[:, 0]])
    j = pair_j[k]
    inside = shapely.contains_xy(footprints_all[j], mid[rep, 0], mid[rep, 1])
    cover = np.zeros(len(piece_seg))
    np.maximum.at(cover, rep[inside], heights[j[inside]])
    return cover


def _merge(seg: _Segments, piece_seg, u0, u1, cover, own_height, tol_deg: float) -> pd.DataFrame:
    """Merge consecutive pieces of a ring into facades (same exposed range, turning less than ``tol_deg``)."""
    n = len(piece_seg)
    ring = seg.ring[piece_seg]
    hidden = cover >= own_height - 1e-9
    r_start = np.flatnonzero(np.r_[True, ring[1:] != ring[:-1]])
    r_count = np.diff(np.r_[r_start, n])
    rid = np.repeat(np.arange(len(r_start)), r_count)
    local = np.arange(n) - r_start[rid]
    prev = np.where(local == 0, r_start[rid] + r_count[rid] - 1, np.arange(n) - 1)  # cyclic within the ring
    az = seg.azimuth[piece_seg]
    turn = (az - az[prev] + 180.0) % 360.0 - 180.0
    brk = (np.abs(turn) > tol_deg) | (cover != cover[prev]) | (hidden != hidden[prev])
    # start every ring at its first corner, so that no facade wraps over the ring's first vertex
    shift = np.zeros(len(r_start), dtype=np.int64)
    at = np.flatnonzero(brk)
    rings_with, first_at = np.unique(rid[at], return_index=True)
    shift[rings_with] = local[at[first_at]]
    rot = (local - shift[rid]) % r_count[rid]
    o = np.lexsort((rot, rid))
    piece_seg, u0, u1, cover, hidden, turn = piece_seg[o], u0[o], u1[o], cover[o], hidden[o], turn[o]
    brk = brk[o] | (rot[o] == 0)
    # a curved wall (a round tower) is cut every 2 × tol_deg of turning from the facade's first piece
    if tol_deg > 0:
        gid = np.cumsum(brk) - 1
        cs = np.cumsum(np.where(brk, 0.0, turn))
        rel = cs - cs[np.flatnonzero(brk)][gid]
        cut = np.floor(np.abs(rel) / (2.0 * tol_deg))
        brk = brk | (cut != np.r_[-1.0, cut[:-1]])
    gs = np.flatnonzero(brk)
    ge = np.r_[gs[1:], n] - 1
    length = u1 - u0
    normal = np.column_stack([seg.d[piece_seg, 1], -seg.d[piece_seg, 0]]) * length[:, None]
    nsum = np.add.reduceat(normal, gs, axis=0)
    start = seg.a[piece_seg[gs]] + u0[gs, None] * seg.d[piece_seg[gs]]
    end = seg.a[piece_seg[ge]] + u1[ge, None] * seg.d[piece_seg[ge]]
    return pd.DataFrame({
        "building": seg.owner[piece_seg[gs]], "ax": start[:, 0], "ay": start[:, 1], "bx": end[:, 0], "by": end[:, 1],
        "length_m": np.add.reduceat(length, gs), "azimuth_deg": np.degrees(np.arctan2(nsum[:, 0], nsum[:, 1])) % 360.0,
        "exposed_from_m": cover[gs], "hidden": hidden[gs],
    })


def facade_segments(footprints: np.ndarray, heights: np.ndarray, targets: np.ndarray, cfg: FacadesConfig) -> pd.DataFrame:
    """The facades of the ``targets`` (boolean, per footprint), every footprint with a height being a possible
    touching neighbour. One row per facade, grouped by building in ring order: ``building`` (footprint
    position), ``seq`` (1, 2, … within the building), the wall's ends ``ax, ay, bx, by`` [m], ``length_m``,
    ``azimuth_deg`` (outward, clockwise from north) [°], ``exposed_from_m`` and ``exposed_to_m`` [m]."""
    footprints = np.asarray(footprints, dtype=object)
    h = np.asarray(heights, dtype=float)
    has = ~shapely.is_missing(footprints) & ~shapely.is_empty(footprints) & np.isfinite(h) & (h > 0)
    cols = ["building", "seq", "ax", "ay", "bx", "by", "length_m", "azimuth_deg", "exposed_from_m", "exposed_to_m"]
    pos = np.flatnonzero(has)
    if not (has & targets).any():
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols}).astype({"building": np.int64, "seq": np.int64})
    seg = _segments(footprints[pos], pos)
    tgt = np.flatnonzero(np.asarray(targets, dtype=bool)[seg.owner])
    shared = _shared_stretches(seg, tgt, h, cfg.touch_tolerance_m)
    pair_s, pair_j, cut_s, cut_u = _crossings(seg, tgt, footprints[pos], pos)
    piece_seg, u0, u1, cover = _pieces(seg, tgt, shared, (cut_s, cut_u))
    cover = np.maximum(cover, _inside_cover(seg, piece_seg, u0, u1, pair_s, pair_j, footprints, h))
    f = _merge(seg, piece_seg, u0, u1, cover, h[seg.owner[piece_seg]], cfg.merge_angle_deg)
    f = f[~f["hidden"].to_numpy() & (f["length_m"].to_numpy() >= cfg.min_length_m)].drop(columns="hidden")
    f = f.reset_index(drop=True)
    b = f["building"].to_numpy()
    first = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    f.insert(1, "seq", np.arange(len(f)) - np.repeat(first, np.diff(np.r_[first, len(f)])) + 1)
    f["exposed_to_m"] = h[b]
    return f[cols]


def pv_share(use_class: np.ndarray, cfg: FacadesConfig) -> np.ndarray:
    """Share of the usable wall that takes PV, by use class (``cfg.pv_share``, else ``cfg.pv_share_default``) [-]."""
    return np.array([cfg.pv_share.get(u, cfg.pv_share_default) for u in use_class], dtype=float)


def wall_heights(buildings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The height of each building's walls and the height at which it shades a wall [m]: ``height_m`` for a flat
    roof; for a pitched one (``height_m`` is its top) the walls stop at the eave and it shades as a prism of the
    same volume, as it shades a flat roof (:func:`solarmap.planes.obstacle_heights`). The gable ends' triangles
    above the eave are left out of the facades."""
    return obstacle_heights(buildings, seen_from_planes=True), obstacle_heights(buildings, seen_from_planes=False)


def facade_surfaces(buildings: gpd.GeoDataFrame, scope: np.ndarray, cfg: FacadesConfig, *,
                    wall_heights: np.ndarray | None = None) -> pd.DataFrame:
    """Facades of the buildings in ``scope`` with their areas and capacity (see :func:`facade_segments`), plus
    ``building_id``, ``facade_id``, ``surface_azimuth_deg`` (rounded to ``cfg.azimuth_step_deg``),
    ``surface_tilt_deg`` (90), ``gross_area_m2``, ``usable_from_m`` (above the lowest storey),
    ``usable_area_m2``, ``capacity_kwp`` (NaN below ``cfg.min_usable_area_m2``) and ``_row`` (the row label).
    ``wall_heights`` [m] default to ``height_m``."""
    h = buildings["height_m"].to_numpy(dtype=float) if wall_heights is None else np.asarray(wall_heights, dtype=float)
    f = facade_segments(buildings.geometry.to_numpy(), h, scope, cfg)
    b = f["building"].to_numpy()
    ids = buildings["building_id"].astype(str).to_numpy()[b]
    f.insert(0, "building_id", ids)
    f.insert(1, "facade_id", np.char.add(np.char.add(ids.astype(str), "-F"), f["seq"].to_numpy().astype(str)))
    step = cfg.azimuth_step_deg
    f["surface_azimuth_deg"] = np.round(f["azimuth_deg"].to_numpy() / step) * step % 360.0
    f["surface_tilt_deg"] = 90.0
    lo, hi = f["exposed_from_m"].to_numpy(), f["exposed_to_m"].to_numpy()
    f["gross_area_m2"] = f["length_m"] * (hi - lo)
    f["usable_from_m"] = np.maximum(lo, cfg.ground_storey_m)
    use = buildings["use_class"].to_numpy(dtype=object)[b] if "use_class" in buildings.columns else np.full(len(f), "unknown")
    f["usable_area_m2"] = f["length_m"] * np.clip(hi - f["usable_from_m"].to_numpy(), 0.0, None) * pv_share(use, cfg)
    cap = f["usable_area_m2"].to_numpy() * cfg.module_power_w_per_m2 / 1000.0
    f["capacity_kwp"] = np.where(f["usable_area_m2"].to_numpy() >= max(cfg.min_usable_area_m2, 1e-9), cap, np.nan)
    f["_row"] = buildings.index.to_numpy()[b]
    return f


def facade_points(f: pd.DataFrame, cfg: FacadesConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sample points on the usable part of every facade with a capacity: the centres of a grid of
    ``ceil(length / point_spacing_m)`` (at most ``max_points_along``) by ``ceil(height / point_spacing_m)`` (at
    most ``max_points_up``) cells. Returns ``xy`` (P, 2) [m] on the wall's line, ``z`` (P,) [m], ``owner`` (P,),
    the facade's position (sorted), and the facades' outward unit normals (F, 2)."""
    length = f["length_m"].to_numpy()
    z0 = f["usable_from_m"].to_numpy()
    z1 = f["exposed_to_m"].to_numpy()
    ok = np.isfinite(f["capacity_kwp"].to_numpy())
    n_al = np.clip(np.ceil(length / cfg.point_spacing_m), 1, cfg.max_points_along).astype(np.int64)
    n_up = np.clip(np.ceil((z1 - z0) / cfg.point_spacing_m), 1, cfg.max_points_up).astype(np.int64)
    n = np.where(ok, n_al * n_up, 0)
    owner = np.repeat(np.arange(len(f)), n)
    local = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    i, j = local % n_al[owner], local // n_al[owner]
    t = (i + 0.5) / n_al[owner]
    ax, ay, bx, by = (f[c].to_numpy()[owner] for c in ("ax", "ay", "bx", "by"))
    xy = np.column_stack([ax + t * (bx - ax), ay + t * (by - ay)])
    z = z0[owner] + (j + 0.5) / n_up[owner] * (z1 - z0)[owner]
    az = np.radians(f["azimuth_deg"].to_numpy())
    return xy, z, owner, np.column_stack([np.sin(az), np.cos(az)])


def vertical_sky_view_factor(horizon_deg: np.ndarray, normal_azimuth_deg: np.ndarray) -> np.ndarray:
    """Sky-view factor of vertical walls relative to an unobstructed vertical wall [-], per row of ``horizon_deg``
    (P, sectors) for walls facing ``normal_azimuth_deg`` (P,).

    The view factor of a vertical surface to the sky is ``F = (1/π) ∫∫ cos θ dΩ`` over the visible sky (the
    cosine-weighted definition, for isotropic sky radiance, as the roofs' ``mean cos² h``): with the direction at
    elevation e and azimuth ψ from the wall's normal, cos θ = cos e · cos ψ and dΩ = cos e de dψ, so
    ``F = (1/π) ∫_{|ψ|<90°} cos ψ · g(h(ψ)) dψ`` with ``g(h) = ∫_h^{π/2} cos² e de = π/4 − h/2 − sin(2h)/4``. An
    open wall has F = 1/2 (pvlib's (1 + cos 90°)/2), so the factor returned is 2F, 1 in the open; it multiplies the
    isotropic sky diffuse, which pvlib already gives for the open wall. Only the front half-space counts: the wall
    hides the rest. Sectors weigh by the cosine of their centre's offset from the normal.
    """
    n_sec = horizon_deg.shape[1]
    centres = (np.arange(n_sec) + 0.5) * 360.0 / n_sec
    return _vertical_svf(np.ascontiguousarray(horizon_deg), np.asarray(normal_azimuth_deg, dtype=float), centres)


@numba.njit(parallel=True, cache=True)
def _vertical_svf(horizon_deg, normal_deg, centres):  # pragma: no cover - compiled
    """:func:`vertical_sky_view_factor` per point: only the front half-space's sectors (cosine weight > 0).
    Blocks of rows on threads; a wall's points come together, so the sectors' weights are computed once per run
    of one normal, and an open sector (horizon 0) adds w · π/4, its term's exact value, without the sine."""
    n, n_sec = horizon_deg.shape
    out = np.empty(n)
    rad = math.pi / 180.0
    block = 1024
    for b in numba.prange((n + block - 1) // block):
        w = np.empty(n_sec)
        last = math.nan
        for i in range(b * block, min(n, (b + 1) * block)):
            if normal_deg[i] != last:
                last = normal_deg[i]
                for s in range(n_sec):
                    w[s] = math.cos((centres[s] - last) * rad)
            num = 0.0
            den = 0.0
            for s in range(n_sec):
                if w[s] <= 0.0:
                    continue
                hz = min(max(float(horizon_deg[i, s]), 0.0), 90.0) * rad
                if hz == 0.0:
                    num += w[s] * (math.pi / 4 - 0.0 - 0.0)
                else:
                    num += w[s] * (math.pi / 4 - hz / 2 - math.sin(2 * hz) / 4)
                den += w[s]
            # at most the open wall's (the quotient's rounding can land a bit above 1, a shaded wall then
            # yielding 2e-16 more than an unshaded one: a shading loss of −2e-14 %)
            out[i] = min(num / (math.pi / 4 * den), 1.0)
    return out


@dataclass
class FacadeShade(RoofShade):
    """:class:`solarmap.shading.RoofShade` for walls: the same hourly visible share of the sun, and the sky-view
    factor of :func:`vertical_sky_view_factor` (relative to an open vertical wall)."""

    normal_azimuth_deg: np.ndarray | None = None  # per surface [°]

    def __post_init__(self):  # not RoofShade's: its horizontal sky-view factor would be computed for nothing
        self.points_per_roof = np.bincount(self.owner, minlength=self.n_roofs)
        self.first_point = np.cumsum(self.points_per_roof) - self.points_per_roof
        self._svf_points = vertical_sky_view_factor(self.horizon, self.normal_azimuth_deg[self.owner])
        svf_sum = np.bincount(self.owner, weights=self._svf_points, minlength=self.n_roofs)
        self._svf = np.where(self.points_per_roof > 0, svf_sum / np.maximum(self.points_per_roof, 1), 1.0)


def facade_shade(f: pd.DataFrame, buildings: gpd.GeoDataFrame, cfg: Config, *,
                 obstacle_heights: np.ndarray | None = None) -> FacadeShade:
    """Horizons of every facade's sample points against every building with a footprint and a height (its own
    building included: only walls in front of the wall's plane count), standing ``obstacle_heights`` [m] high
    (default ``height_m``)."""
    xy, z, owner, normals = facade_points(f, cfg.facades)
    heights = buildings["height_m"].to_numpy(dtype=float) if obstacle_heights is None else np.asarray(obstacle_heights, dtype=float)
    s = cfg.shading
    horizon = horizon_profiles(xy, z, buildings.geometry.to_numpy(), heights, sector_deg=s.sector_deg,
                               min_sun_elevation_deg=s.min_sun_elevation_deg, max_radius_m=s.max_search_radius_m,
                               point_group=owner, point_normal=normals[owner])
    log.info("facade shading: %d facades, %d sample points", len(f), len(xy))
    return FacadeShade(len(f), owner, horizon, 360.0 / horizon.shape[1],
                       normal_azimuth_deg=f["azimuth_deg"].to_numpy(dtype=float))


def pv_config(cfg: Config) -> PVConfig:
    """The roofs' PV model with the facades' module temperature model (BIPV in the envelope runs hotter)."""
    pv = copy.deepcopy(cfg.pv)
    pv.temperature_model = cfg.facades.temperature_model
    return pv


def finish(f: pd.DataFrame, yields: pd.DataFrame, shade: FacadeShade | None, cfg: FacadesConfig) -> pd.DataFrame:
    """Add the yields, the sky-view factor, the shading loss and suitability with a reason."""
    f = f.copy()
    cap = f["capacity_kwp"].to_numpy()
    has = np.isfinite(cap)
    for c in ("annual_kwh", "annual_kwh_unshaded", "specific_yield_kwh_per_kwp"):
        f[c] = yields[c].to_numpy()
    svf = shade.sky_view_all() if shade is not None else np.ones(len(f))
    f["sky_view_factor"] = np.where(has, svf, np.nan)
    e, e0 = f["annual_kwh"].to_numpy(), f["annual_kwh_unshaded"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        f["shading_loss_pct"] = 100.0 * (1.0 - e / e0)
        sy0 = e0 / cap
    sy = f["specific_yield_kwh_per_kwp"].to_numpy()
    reason = np.full(len(f), "", dtype=object)
    reason[f["exposed_to_m"].to_numpy() <= f["usable_from_m"].to_numpy()] = "ground_storey"
    free = reason == ""
    reason[free & ~has] = "too_small"
    free = reason == ""
    reason[free & ~(sy0 >= cfg.min_specific_yield_kwh_per_kwp)] = "low_yield"
    free = reason == ""
    reason[free & ~(sy >= cfg.min_specific_yield_kwh_per_kwp)] = "shaded"
    f["suitable"] = reason == ""
    f["reason"] = reason
    return f


def in_scope(buildings: pd.DataFrame) -> np.ndarray:
    """Buildings that get facades: assessed ones, and those whose roof alone was too small; every other
    exclusion (outside the boundary, no height, invalid geometry) applies to the walls too."""
    a = buildings["assessment"].to_numpy(dtype=object)
    r = buildings["reason"].to_numpy(dtype=object)
    return (a == "assessed") | ((a == "excluded") & (r == "too_small"))


def building_totals(f: pd.DataFrame, buildings: pd.DataFrame, scope: np.ndarray) -> pd.DataFrame:
    """Per building (index aligned): ``facade_capacity_kwp`` and ``facade_annual_kwh`` of its suitable facades, 0
    when it has none and NaN for buildings without facades in scope."""
    pos = buildings.index.get_indexer(f["_row"])
    ok = f["suitable"].to_numpy(dtype=bool)
    n = len(buildings)
    cap = np.bincount(pos[ok], weights=f["capacity_kwp"].to_numpy()[ok], minlength=n)
    e = np.bincount(pos[ok], weights=f["annual_kwh"].to_numpy()[ok], minlength=n)
    return pd.DataFrame({"facade_capacity_kwp": np.where(scope, cap, np.nan),
                         "facade_annual_kwh": np.where(scope, e, np.nan)}, index=buildings.index)


#: the wall's foot, from (ax, ay) to (bx, by) [m, the buildings' CRS]: what a facade's line is made of
FOOT = ("ax", "ay", "bx", "by")


def as_table(f: pd.DataFrame) -> pd.DataFrame:
    """The facades as a city keeps them until they are written: the output columns, ``_row`` and the wall's foot
    (:data:`FOOT`) rather than a line (32 bytes of coordinates rather than about 265 as a shapely line: 1 GB for
    a million buildings' 3.8 million walls)."""
    from solarmap.columns import FACADE_COLUMNS

    cols = [*FACADE_COLUMNS, "_row", *FOOT]
    return pd.DataFrame(f[[c for c in cols if c in f.columns]])


def as_geodataframe(f: pd.DataFrame, crs) -> gpd.GeoDataFrame:
    """The facades as lines along the wall's foot (the output columns, then ``_row``) from a table with the
    wall's foot (:func:`as_table`); a GeoDataFrame is returned as it is."""
    if isinstance(f, gpd.GeoDataFrame):
        return f
    from solarmap.columns import FACADE_COLUMNS

    geom = shapely.linestrings(np.stack([f[["ax", "ay"]].to_numpy(), f[["bx", "by"]].to_numpy()], axis=1)) if len(f) \
        else np.array([], dtype=object)
    cols = [*FACADE_COLUMNS, "_row"]
    return gpd.GeoDataFrame(f[[c for c in cols if c in f.columns]], geometry=geom, crs=crs)
