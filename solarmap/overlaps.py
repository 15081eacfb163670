"""Roofs under roofs: the part of a footprint that a taller overlapping footprint stands on is not roof.

Real footprint sets overlap: a podium drawn whole under its tower, a building part under a taller one, an outline
drawn twice. Where building B is taller than A and their footprints overlap, the overlap is B's (B's walls rise
from it); A's roof is ``A − ∪ {B taller, overlapping A}``. The buildings keep their full footprints as obstacles,
so the taller part still shades what is left of the lower roof.

Equal heights: the *later* row loses the shared part (the earlier row wins), so a duplicate drawn twice is one
building with its full roof and one ``covered`` row. Buildings without a finite height take no part (they are
excluded as ``no_height`` anyway, and cast no shade).

Everything is vectorised: one STRtree query gives the candidate pairs, one vectorised intersection their exact
areas, and the differences run in rounds — round r subtracts every building's r-th taller neighbour at once — so
there are as many rounds as the most taller footprints standing on one building (1-3 in practice), not a loop
over buildings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

log = logging.getLogger(__name__)

#: column of the prepared buildings holding each roof's geometry (the footprint less what stands on it); read by
#: :func:`solarmap.roofs.layout_roofs` and the shading sample points, dropped before output.
ROOF_GEOMETRY = "roof_geometry"
#: an overlap up to this area is digitising noise along a shared wall: the footprint stays whole [m²]
MIN_OVERLAP_M2 = 1.0
#: what is left of a covered footprint is no roof when it is under MIN_OVERLAP_M2 or nowhere this wide [m]
MIN_ROOF_WIDTH_M = 1.0


@dataclass
class RoofParts:
    """Per building: the roof (footprint less the taller footprints on it), the area taken off [m²], whether it
    overlaps (more than ``min_overlap_m2`` under taller footprints) and whether it is covered (no roof left)."""

    roof: np.ndarray
    covered_area_m2: np.ndarray
    overlap: np.ndarray
    covered: np.ndarray


def _safe(op, a, b):
    """A vectorised overlay; on a GEOS topology error, the same on a 1 mm grid (coordinates are metres)."""
    try:
        return op(a, b)
    except shapely.errors.GEOSException:
        return op(a, b, grid_size=1e-3)


def roof_parts(footprints: np.ndarray, heights: np.ndarray, *, min_overlap_m2: float = MIN_OVERLAP_M2,
               min_width_m: float = MIN_ROOF_WIDTH_M) -> RoofParts:
    """The roof of each footprint (metric CRS) given the buildings' ``heights`` [m]: its footprint less the union
    of the taller footprints overlapping it (equal heights: the later row loses). Overlaps of ``min_overlap_m2``
    or less leave the footprint whole (``covered_area_m2`` 0). A building is ``covered`` when what is left is
    under ``min_overlap_m2`` or nowhere ``min_width_m`` wide (a rim of an outline drawn twice, not a roof).
    Invalid, empty or non-polygonal footprints and those without a finite height keep their footprint."""
    geoms = np.asarray(footprints, dtype=object)
    h = np.asarray(heights, dtype=float)
    n = len(geoms)
    roof = geoms.copy()
    covered_area = np.zeros(n)
    overlap = np.zeros(n, dtype=bool)
    covered = np.zeros(n, dtype=bool)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))  # Polygon, MultiPolygon
    ok = polygonal & ~shapely.is_empty(geoms) & np.isfinite(h)
    ok[ok] = shapely.is_valid(geoms[ok])
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return RoofParts(roof, covered_area, overlap, covered)
    g = geoms[idx]
    lower, upper = shapely.STRtree(g).query(g, predicate="intersects")  # positions in idx: query, tree
    hl, hu = h[idx[lower]], h[idx[upper]]
    stands_on = (hu > hl) | ((hu == hl) & (upper < lower))  # upper is taller, or as tall and an earlier row
    lower, upper = lower[stands_on], upper[stands_on]
    area = shapely.area(_safe(shapely.intersection, g[lower], g[upper]))
    pos = area > 0.0  # touching along a wall is not overlapping
    lower, upper, area = lower[pos], upper[pos], area[pos]
    # the sum of the pairs' areas bounds the covered area from above: below the threshold nothing changes
    candidate = np.bincount(lower, weights=area, minlength=len(idx)) > min_overlap_m2
    keep = candidate[lower]
    lower, upper = lower[keep], upper[keep]
    if len(lower) == 0:
        return RoofParts(roof, covered_area, overlap, covered)
    order = np.argsort(lower, kind="stable")
    lower, upper = lower[order], upper[order]
    first = np.flatnonzero(np.r_[True, lower[1:] != lower[:-1]])
    rank = np.arange(len(lower)) - np.repeat(first, np.diff(np.r_[first, len(lower)]))
    part = g.copy()
    for r in range(int(rank.max()) + 1):  # round r: every building's r-th taller neighbour, all at once
        sel = rank == r
        part[lower[sel]] = _safe(shapely.difference, part[lower[sel]], g[upper[sel]])
    hit = np.unique(lower)
    full = shapely.area(g[hit])
    left = shapely.area(part[hit])
    taken = full - left
    real = taken > min_overlap_m2  # several taller neighbours may overlap each other
    hit, taken, left = hit[real], taken[real], left[real]
    roof[idx[hit]] = part[hit]
    covered_area[idx[hit]] = taken
    overlap[idx[hit]] = True
    too_thin = shapely.is_empty(shapely.buffer(part[hit], -min_width_m / 2.0, join_style="mitre"))
    covered[idx[hit]] = (left < min_overlap_m2) | too_thin
    return RoofParts(roof, covered_area, overlap, covered)


def mark_covered(roofs: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The prepared buildings with their roof parts: adds ``roof_geometry`` (the roof each building has for
    layout and sample points; the output ``geometry`` and the obstacles stay the full footprints),
    ``roof_overlap`` and ``covered_area_m2``, and excludes assessed buildings with no roof left (reason
    ``covered``). Needs ``height_m``; call it on the whole set, before tiling."""
    parts = roof_parts(roofs.geometry.to_numpy(), roofs["height_m"].to_numpy(dtype=float))
    out = roofs.copy()
    out[ROOF_GEOMETRY] = gpd.GeoSeries(parts.roof, index=roofs.index, crs=roofs.crs)
    out["roof_overlap"] = parts.overlap
    out["covered_area_m2"] = parts.covered_area_m2
    hit = parts.covered & (out["assessment"] == "assessed").to_numpy()
    out.loc[hit, ["assessment", "reason"]] = ["excluded", "covered"]
    if parts.overlap.any():
        log.info("%d buildings stand partly or wholly under a taller footprint (%.0f m² not counted as roof, flag "
                 "roof_overlap); %d have no roof left (reason covered)", int(parts.overlap.sum()),
                 float(parts.covered_area_m2.sum()), int(hit.sum()))
    return out


def overlap_summary(roofs: pd.DataFrame) -> dict:
    """For summary.json's repairs (beside the ``roof_overlap`` flag count): buildings excluded as ``covered`` and
    the footprint area standing under taller footprints, taken off the roofs [m²]."""
    area = roofs["covered_area_m2"].sum() if "covered_area_m2" in roofs.columns else 0.0
    return {"covered_buildings": int((roofs["reason"] == "covered").sum()), "covered_area_m2": round(float(area), 1)}
