"""Roof planes: pitched roofs as planes with their own tilt, azimuth, area, shade and yield.

A building's roof shape comes from (``roofs.shape_source``): a column (OSM's ``roof:shape`` vocabulary), a DSM
(:mod:`solarmap.dsm_planes`), rules in the pipeline file, or nothing (flat). Flat roofs keep the row layout of
:mod:`solarmap.roofs`; every other roof becomes planes:

- ``gabled``: two planes meeting at a ridge along the footprint's oriented minimum rectangle's longer side
  (``across``: its shorter side);
- ``hipped``: the straight skeleton of the rectangle, all four planes at the pitch: two trapezoids on the long sides
  and two triangles on the short sides (for a rectangle A × B, A ≥ B, the ridge is A − B long);
- ``pyramidal``: four triangles to the centre; the long sides' planes at the pitch, the short sides' as steep as
  the apex makes them (equal on a square);
- ``skillion``: one plane across the rectangle, falling towards ``roof:direction`` or else the more southern side.

The planes are cut from the oriented rectangle and clipped to the roof (the footprint less what stands on it), so
a convex or near-rectangular footprint is covered exactly; a footprint that fills less than
:data:`MIN_FILL` of its rectangle and is not convex is modelled flat, with a warning. Plane areas are slope areas
(plan area ÷ cos tilt). Modules lie flush on the planes (no rows), covering ``roofs.flush_coverage`` of the plane
inset by ``roofs.plane_setback_m`` less ``roofs.plane_obstruction_share``; a plane facing within
``roofs.north_limit_deg`` of north, smaller than ``roofs.min_plane_area_m2``, losing more than
``shading.max_loss_pct`` to shade or yielding less than ``roofs.min_specific_yield_kwh_per_kwp`` is not used, with
its reason. Each plane's height is a plane equation ``z = zc + gx (x − cx) + gy (y − cy)`` [m], from the eave
(``height_m`` less the roof's rise: ``height_m`` is the top of the roof, as OSM's ``height``) to the ridge.

Everything is vectorised over buildings with shapely 2: the planes of every building of one shape are made as one
array of polygons.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from solarmap.columns import PLANE_COLUMNS as PLANE_OUTPUT
from solarmap.config import SHAPE_ALIASES, SHAPES, RoofsConfig, ShadingConfig
from solarmap.errors import InputDataWarning, warn
from solarmap.overlaps import ROOF_GEOMETRY

log = logging.getLogger(__name__)

SHAPE_COLUMNS = ("roof_shape", "roof:shape", "roof_type", "屋顶形式")
PITCH_COLUMNS = ("roof_pitch_deg", "roof:angle", "roof_angle")
RISE_COLUMNS = ("roof_height_m", "roof:height", "roof_height")
ORIENTATION_COLUMNS = ("roof_orientation", "roof:orientation")
DIRECTION_COLUMNS = ("roof_direction", "roof:direction")
#: a pitched footprint filling less of its oriented rectangle than this (and not convex) is modelled flat [-]
MIN_FILL = 0.8
#: clipped plane pieces smaller than this are dropped [m²]
MIN_PIECE_M2 = 0.5
#: internal columns carried from prepare to the roof stage, dropped from the output
RISE = "_roof_rise_m"
RIDGE = "_roof_ridge"
DIRECTION = "_roof_direction_deg"
DSM_PLANES = "_roof_dsm_planes"
INTERNAL = (RISE, RIDGE, DIRECTION, DSM_PLANES)
_COMPASS = {"N": 0, "NNE": 22.5, "NE": 45, "ENE": 67.5, "E": 90, "ESE": 112.5, "SE": 135, "SSE": 157.5, "S": 180,
            "SSW": 202.5, "SW": 225, "WSW": 247.5, "W": 270, "WNW": 292.5, "NW": 315, "NNW": 337.5}


def _first(df: pd.DataFrame, names) -> str:
    return next((c for c in names if c in df.columns), "")


def _numbers(values: pd.Series) -> np.ndarray:
    from solarmap.sources.heights import to_number

    return to_number(values)


def _directions(values: pd.Series) -> np.ndarray:
    """roof:direction as degrees clockwise from north: a number or a compass point (S, SSE …)."""
    text = values.astype("string").str.strip().str.upper()
    deg = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    compass = text.map(_COMPASS).astype(float).to_numpy()
    return np.where(np.isfinite(deg), deg % 360.0, compass)


def normalise_shape(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """The modelled shape per value ('' where none was given; 'flat' for a shape not modelled) and the given
    values that are not modelled."""
    text = values.astype("string").fillna("").str.strip().str.lower().astype(object)
    key = text.str.replace(" ", "_", regex=False).str.replace("-", "_", regex=False)
    aliases = {k.replace("-", "_"): v for k, v in SHAPE_ALIASES.items()}
    mapped = key.map(aliases)
    mapped[text == ""] = ""
    unknown = mapped.isna()
    return mapped.fillna("flat").to_numpy(dtype=object), sorted(set(text[unknown]))


def _match_rules(roofs: pd.DataFrame, rules: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shape, pitch, ridge orientation and rule id of the first rule each building matches ('' where none)."""
    n = len(roofs)
    shape = np.full(n, "", dtype=object)
    pitch = np.full(n, np.nan)
    ridge = np.full(n, "along", dtype=object)
    rid = np.full(n, "", dtype=object)
    year = pd.to_numeric(roofs.get("year_built", pd.Series(np.nan, index=roofs.index)), errors="coerce").to_numpy(dtype=float)
    floors = pd.to_numeric(roofs.get("floors", pd.Series(np.nan, index=roofs.index)), errors="coerce").to_numpy(dtype=float)
    height = roofs["height_m"].to_numpy(dtype=float) if "height_m" in roofs.columns else np.full(n, np.nan)
    area = shapely.area(roofs.geometry.to_numpy()) if isinstance(roofs, gpd.GeoDataFrame) else np.full(n, np.nan)
    for k, r in enumerate(rules):
        m = shape == ""
        if r.get("categories"):
            m &= roofs["category"].isin(r["categories"]).to_numpy()
        if r.get("use_classes"):
            m &= roofs["use_class"].isin(r["use_classes"]).to_numpy()
        # a bound on an unknown value does not match: the rule is an assumption, made only where it is known to fit
        for key, vals, op in (("built_before", year, np.less), ("built_from", year, np.greater_equal),
                              ("max_floors", floors, np.less_equal), ("min_floors", floors, np.greater_equal),
                              ("max_height_m", height, np.less_equal), ("max_area_m2", area, np.less_equal)):
            if key in r:
                m &= np.isfinite(vals) & op(vals, float(r[key]))
        shape[m] = SHAPE_ALIASES[r["shape"]]
        pitch[m] = float(r.get("pitch_deg", np.nan))
        ridge[m] = r.get("orientation", "along")
        rid[m] = str(r.get("id") or f"{k + 1}")
    return shape, pitch, ridge, rid


def roof_shapes(raw: pd.DataFrame, roofs: gpd.GeoDataFrame, cfg: RoofsConfig, *, dsm: str = "",
                dtm: str = "") -> pd.DataFrame:
    """Each building's roof shape and where it came from, index aligned with ``roofs``.

    ``raw``: the footprints with the input's own columns (read for ``roof_shape`` / ``roof:shape``, the pitch
    ``roof_pitch_deg`` / ``roof:angle``, the rise ``roof_height_m`` / ``roof:height``, ``roof:orientation`` and
    ``roof:direction``); ``roofs``: the prepared buildings (category, use class, year, floors for the rules).
    ``cfg.shape_source``: ``auto`` (column, then DSM, then rules, then flat), or only one of them. Returns
    ``roof_shape``, ``roof_shape_source`` (column, dsm, rule:<id>, none), ``roof_pitch_deg`` (NaN: from the
    rise, or ``cfg.default_pitch_deg``) and the internal columns :data:`INTERNAL`.
    """
    n = len(roofs)
    src = cfg.shape_source
    shape = np.full(n, "", dtype=object)
    source = np.full(n, "none", dtype=object)
    pitch = np.full(n, np.nan)
    rise = np.full(n, np.nan)
    ridge = np.full(n, "along", dtype=object)
    direction = np.full(n, np.nan)
    dsm_planes = np.full(n, None, dtype=object)
    if src in ("auto", "column"):
        col = _first(raw, SHAPE_COLUMNS)
        if col:
            given, unknown = normalise_shape(raw[col])
            has = raw[col].astype("string").fillna("").str.strip().ne("").to_numpy()
            shape[has] = given[has]
            source[has] = "column"
            if len(unknown):
                shown = ", ".join(map(str, unknown[:8]))
                warn(f"roof shapes {shown} in column '{col}' are not modelled as planes "
                     f"(modelled: {', '.join(SHAPES)} and their synonyms): those roofs are modelled flat", InputDataWarning,
                     zh=f"字段“{col}”中的屋顶形式 {shown} 无法按坡屋面建模（可建模的形式：{', '.join(SHAPES)} 及其同义词），"
                        "这些屋顶按平屋顶计算")
            if c := _first(raw, PITCH_COLUMNS):
                v = _numbers(raw[c])
                pitch = np.where(np.isfinite(v) & (v > 0) & (v < 80), v, np.nan)
            if c := _first(raw, RISE_COLUMNS):
                v = _numbers(raw[c])
                rise = np.where(np.isfinite(v) & (v > 0) & (v < 100), v, np.nan)
            if c := _first(raw, ORIENTATION_COLUMNS):
                o = raw[c].astype("string").fillna("").str.strip().str.lower().to_numpy(dtype=object)
                ridge = np.where(o == "across", "across", "along").astype(object)
            if c := _first(raw, DIRECTION_COLUMNS):
                direction = _directions(raw[c])
    if src in ("auto", "dsm") and dsm:
        from solarmap.dsm_planes import planes_from_dsm

        todo = (shape == "") & (roofs["assessment"] == "assessed").to_numpy()
        if todo.any():
            geoms = roofs[ROOF_GEOMETRY].to_numpy() if ROOF_GEOMETRY in roofs.columns else roofs.geometry.to_numpy()
            fit = planes_from_dsm(gpd.GeoDataFrame(geometry=geoms[todo], crs=roofs.crs), dsm, dtm=dtm or None,
                                  flat_tilt_deg=cfg.flat_tilt_deg)
            idx = np.flatnonzero(todo)
            got = fit["roof_shape"].to_numpy(dtype=object) != ""
            shape[idx[got]] = fit["roof_shape"].to_numpy(dtype=object)[got]
            source[idx[got]] = "dsm"
            pitch[idx[got]] = fit["roof_pitch_deg"].to_numpy(dtype=float)[got]
            dsm_planes[idx[got]] = fit["planes"].to_numpy(dtype=object)[got]
    if src in ("auto", "rules") and cfg.shape_rules:
        r_shape, r_pitch, r_ridge, r_id = _match_rules(roofs, cfg.shape_rules)
        take = (shape == "") & (r_shape != "")
        shape[take] = r_shape[take]
        pitch[take] = r_pitch[take]
        ridge[take] = r_ridge[take]
        source[take] = np.array([f"rule:{i}" for i in r_id[take]], dtype=object)
    shape[shape == ""] = "flat"
    # the pitch of every pitched roof, here once (a tile's halo casts the same shade as the whole run): given, else
    # from the rise over the run from eave to ridge, else the default (an assumption)
    need = (shape != "flat") & ~np.isfinite(pitch)
    if need.any():
        g = roofs.geometry.to_numpy()[need]
        usable = ~shapely.is_missing(g) & ~shapely.is_empty(g)
        run = np.full(int(need.sum()), np.nan)
        if usable.any():
            _, _, _, L, W = _frames(g[usable])
            sh, rd = shape[need][usable], ridge[need][usable]
            B = np.where((rd == "across") & np.isin(sh, ["gabled", "skillion"]), L, W)
            run[usable] = np.where(sh == "skillion", B, B / 2.0)
        p = np.degrees(np.arctan(rise[need] / np.maximum(run, 1e-6)))
        pitch[need] = np.where(np.isfinite(p), p, cfg.default_pitch_deg)
    return pd.DataFrame({"roof_shape": shape, "roof_shape_source": source, "roof_pitch_deg": pitch, RISE: rise,
                         RIDGE: ridge, DIRECTION: direction, DSM_PLANES: dsm_planes}, index=roofs.index)


def _frames(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Oriented minimum rectangle of each polygon: corner o (n, 2), unit long axis u, unit short axis v (v is u
    turned 90° counter-clockwise), long side L, short side W [m]."""
    n = len(geoms)
    rect = shapely.oriented_envelope(geoms)
    proper = (shapely.get_type_id(rect) == 3) & (shapely.area(rect) > 0)
    rect = np.where(proper, rect, shapely.envelope(geoms))
    c = shapely.get_coordinates(shapely.get_exterior_ring(rect)).reshape(n, 5, 2)
    e1, e2 = c[:, 1] - c[:, 0], c[:, 3] - c[:, 0]
    l1, l2 = np.hypot(*e1.T), np.hypot(*e2.T)
    swap = l2 > l1
    u = np.where(swap[:, None], e2, e1) / np.maximum(np.maximum(l1, l2), 1e-12)[:, None]
    L, W = np.maximum(l1, l2), np.minimum(l1, l2)
    v = np.column_stack([-u[:, 1], u[:, 0]])
    # the corner from which +u and +v span the rectangle
    far = np.where(swap[:, None], e1, e2)
    o = c[:, 0] + np.where((np.einsum("ij,ij->i", far, v) < 0)[:, None], far, 0.0)
    return o, u, v, L, W


def _azimuth(d: np.ndarray) -> np.ndarray:
    """Azimuth of a horizontal direction (east, north components), clockwise from north [°]."""
    return np.degrees(np.arctan2(d[:, 0], d[:, 1])) % 360.0


def shape_planes(geoms: np.ndarray, shape: np.ndarray, pitch_deg: np.ndarray, top_m: np.ndarray, *,
                 ridge: np.ndarray | None = None, direction_deg: np.ndarray | None = None,
                 rise_m: np.ndarray | None = None, default_pitch_deg: float = 26.0) -> pd.DataFrame:
    """The planes of pitched roofs on footprints ``geoms`` (metric CRS), one row per plane.

    ``shape``: gabled, hipped, pyramidal or skillion per footprint; ``pitch_deg`` (NaN: from ``rise_m`` and the
    width across the ridge, else ``default_pitch_deg``); ``top_m``: the roof's highest point above ground [m];
    ``ridge``: ``along`` (the rectangle's long side, default) or ``across``; ``direction_deg``: where a skillion
    falls (NaN: the more southern side). Returns ``row`` (position in the inputs), ``plane_id`` (1..k),
    ``geometry`` (plan polygon, clipped to the footprint), ``surface_tilt_deg``, ``surface_azimuth_deg``,
    ``plane_plan_area_m2``, ``plane_area_m2`` (slope area), the plane equation ``cx, cy, zc, gx, gy`` and
    ``pitch_deg`` (the pitch used per footprint, by row).
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    shape = np.asarray(shape, dtype=object)
    pitch = np.asarray(pitch_deg, dtype=float).copy()
    top = np.asarray(top_m, dtype=float)
    ridge = np.full(n, "along", dtype=object) if ridge is None else np.asarray(ridge, dtype=object)
    direction = np.full(n, np.nan) if direction_deg is None else np.asarray(direction_deg, dtype=float)
    rise_in = np.full(n, np.nan) if rise_m is None else np.asarray(rise_m, dtype=float)
    o, u, v, L, W = _frames(geoms)
    across = (ridge == "across") & np.isin(shape, ["gabled", "skillion"])
    # r: along the ridge (length A), c: across it (width B), both in world coordinates; c = r turned +90°
    r = np.where(across[:, None], v, u)
    c = np.where(across[:, None], -u, v)
    o = np.where(across[:, None], o + u * L[:, None], o)  # keep the frame spanned by +r, +c from o
    A = np.where(across, W, L)
    B = np.where(across, L, W)
    run = np.where(shape == "skillion", B, B / 2.0)  # horizontal run from eave to ridge
    from_rise = ~np.isfinite(pitch) & np.isfinite(rise_in)
    pitch[from_rise] = np.degrees(np.arctan(rise_in[from_rise] / np.maximum(run[from_rise], 1e-6)))
    pitch[~np.isfinite(pitch)] = default_pitch_deg
    t = np.tan(np.radians(pitch))
    rise = run * t
    eave = np.maximum(top - rise, 0.0)

    rows, polys, downs, eaves_p, tans = [], [], [], [], []

    def add(sel, local_pts, down, eave_pt, tan_):
        """Planes for buildings ``sel``: local (s, t) vertices (k, 2) per building as arrays (n_sel, k, 2),
        downslope unit vectors (n_sel, 2), a point on the eave line (n_sel, 2), tan(tilt) (n_sel,)."""
        if not len(sel):
            return
        pts = o[sel, None, :] + local_pts[..., :1] * r[sel, None, :] + local_pts[..., 1:2] * c[sel, None, :]
        pts = np.concatenate([pts, pts[:, :1]], axis=1)
        polys.append(shapely.polygons(pts))
        rows.append(sel)
        downs.append(down)
        eaves_p.append(eave_pt)
        tans.append(tan_)

    def S(sel, *pairs):
        """Local vertices from pairs of (s, t) arrays, each (n_sel,)."""
        return np.stack([np.column_stack([s, tt]) for s, tt in pairs], axis=1)

    z = np.zeros
    for name in ("gabled", "hipped", "pyramidal", "skillion"):
        sel = np.flatnonzero(shape == name)
        if not len(sel):
            continue
        a, b, rr, cc, oo = A[sel], B[sel], r[sel], c[sel], o[sel]
        h = b / 2.0
        if name == "gabled":
            add(sel, S(sel, (z(len(sel)), z(len(sel))), (a, z(len(sel))), (a, h), (z(len(sel)), h)), -cc, oo, t[sel])
            add(sel, S(sel, (z(len(sel)), h), (a, h), (a, b), (z(len(sel)), b)), cc, oo + cc * b[:, None], t[sel])
        elif name == "hipped":
            k = np.minimum(h, a / 2.0)  # the hips meet the ridge k in from each end (a square: one apex)
            add(sel, S(sel, (z(len(sel)), z(len(sel))), (a, z(len(sel))), (a - k, h), (k, h)), -cc, oo, t[sel])
            add(sel, S(sel, (k, h), (a - k, h), (a, b), (z(len(sel)), b)), cc, oo + cc * b[:, None], t[sel])
            add(sel, S(sel, (z(len(sel)), z(len(sel))), (k, h), (z(len(sel)), b)), -rr, oo, t[sel])
            add(sel, S(sel, (a, z(len(sel))), (a, b), (a - k, h)), rr, oo + rr * a[:, None], t[sel])
        elif name == "pyramidal":
            apex = h * t[sel]
            t_end = apex / np.maximum(a / 2.0, 1e-6)
            add(sel, S(sel, (z(len(sel)), z(len(sel))), (a, z(len(sel))), (a / 2, h)), -cc, oo, t[sel])
            add(sel, S(sel, (a / 2, h), (a, b), (z(len(sel)), b)), cc, oo + cc * b[:, None], t[sel])
            add(sel, S(sel, (z(len(sel)), z(len(sel))), (a / 2, h), (z(len(sel)), b)), -rr, oo, t_end)
            add(sel, S(sel, (a, z(len(sel))), (a, b), (a / 2, h)), rr, oo + rr * a[:, None], t_end)
        else:  # skillion: falls towards roof:direction, else towards the more southern of ±c
            want = direction[sel]
            south = np.where(np.isfinite(want), np.cos(np.radians(_azimuth(-cc) - want)) >= np.cos(np.radians(_azimuth(cc) - want)),
                             -cc[:, 1] <= cc[:, 1])  # True: the plane faces −c (its downslope has the smaller north)
            down = np.where(south[:, None], -cc, cc)
            eave_pt = np.where(south[:, None], oo, oo + cc * b[:, None])
            add(sel, S(sel, (z(len(sel)), z(len(sel))), (a, z(len(sel))), (a, b), (z(len(sel)), b)), down, eave_pt, t[sel])
    cols = ["row", "plane_id", "surface_tilt_deg", "surface_azimuth_deg", "plane_plan_area_m2", "plane_area_m2",
            "cx", "cy", "zc", "gx", "gy"]
    if not rows:
        out = gpd.GeoDataFrame({k: [] for k in cols}, geometry=[], crs=None)
        out.attrs["pitch_deg"] = pitch
        return out
    row = np.concatenate(rows)
    poly = np.concatenate(polys)
    down = np.concatenate(downs)
    eave_pt = np.concatenate(eaves_p)
    tan_ = np.concatenate(tans)
    clipped = shapely.intersection(poly, geoms[row])
    for i in np.flatnonzero(shapely.get_type_id(clipped) == 7):  # rare: keep a collection's polygonal parts
        parts = shapely.get_parts(clipped[i])
        clipped[i] = shapely.union_all(parts[np.isin(shapely.get_type_id(parts), [3, 6])])
    plan = shapely.area(clipped)
    keep = plan >= MIN_PIECE_M2
    row, clipped, down, eave_pt, tan_, plan = row[keep], clipped[keep], down[keep], eave_pt[keep], tan_[keep], plan[keep]
    ctr = shapely.get_coordinates(shapely.centroid(clipped))
    # z rises upslope (against the downslope direction) from the eave
    zc = eave[row] + tan_ * np.einsum("ij,ij->i", ctr - eave_pt, -down)
    order = np.lexsort((np.arange(len(row)), row))
    row, clipped, down, tan_, plan, ctr, zc = row[order], clipped[order], down[order], tan_[order], plan[order], ctr[order], zc[order]
    start = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
    pid = np.arange(len(row)) - np.repeat(start, np.diff(np.r_[start, len(row)])) + 1
    tilt = np.degrees(np.arctan(tan_))
    out = gpd.GeoDataFrame({
        "row": row, "plane_id": pid, "surface_tilt_deg": tilt, "surface_azimuth_deg": _azimuth(down),
        "plane_plan_area_m2": plan, "plane_area_m2": plan / np.cos(np.radians(tilt)),
        "cx": ctr[:, 0], "cy": ctr[:, 1], "zc": zc, "gx": -down[:, 0] * tan_, "gy": -down[:, 1] * tan_,
    }, geometry=clipped)
    out.attrs["pitch_deg"] = pitch
    return out


def plane_z(planes: pd.DataFrame, which: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Height above ground of points (x, y) on planes ``which`` (positions) [m]."""
    p = planes
    return (p["zc"].to_numpy()[which] + p["gx"].to_numpy()[which] * (x - p["cx"].to_numpy()[which])
            + p["gy"].to_numpy()[which] * (y - p["cy"].to_numpy()[which]))


def rise_of(shape: np.ndarray, pitch_deg: np.ndarray, geoms: np.ndarray, ridge: np.ndarray | None = None) -> np.ndarray:
    """The roof's rise from eave to top [m] (0 for flat roofs)."""
    n = len(geoms)
    rise = np.zeros(n)
    pitched = np.isin(shape, ["gabled", "hipped", "pyramidal", "skillion"]) & ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    if not pitched.any():
        return rise
    _, _, _, L, W = _frames(geoms[pitched])
    ridge = np.full(n, "along", dtype=object) if ridge is None else np.asarray(ridge, dtype=object)
    sh = shape[pitched]
    across = (ridge[pitched] == "across") & np.isin(sh, ["gabled", "skillion"])
    B = np.where(across, L, W)
    run = np.where(sh == "skillion", B, B / 2.0)
    rise[pitched] = run * np.tan(np.radians(np.nan_to_num(pitch_deg[pitched], nan=0.0)))
    return rise


def building_planes(roofs: gpd.GeoDataFrame, cfg: RoofsConfig) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The planes of every assessed pitched roof of the prepared buildings, and a mask of the rows that are
    modelled as planes (pitched, assessed, a footprint near enough a rectangle). Shapes from a DSM bring their
    fitted planes; the others are built by :func:`shape_planes`. Also sets ``roof_pitch_deg`` where it came
    from the rise or the default (in place)."""
    n = len(roofs)
    shape = roofs["roof_shape"].to_numpy(dtype=object) if "roof_shape" in roofs.columns else np.full(n, "flat", dtype=object)
    footprint = roofs.geometry.to_numpy()
    geoms = roofs[ROOF_GEOMETRY].to_numpy() if ROOF_GEOMETRY in roofs.columns else footprint
    ok = ((roofs["assessment"] == "assessed").to_numpy() & (shape != "flat") & ~shapely.is_missing(geoms)
          & ~shapely.is_empty(geoms) & np.isfinite(roofs["height_m"].to_numpy(dtype=float)))
    empty = gpd.GeoDataFrame({"row": np.zeros(0, dtype=np.int64)}, geometry=[], crs=roofs.crs)
    if not ok.any():
        return empty, np.zeros(n, dtype=bool)
    from_dsm = np.array([p is not None for p in roofs[DSM_PLANES]], dtype=bool) if DSM_PLANES in roofs.columns else np.zeros(n, dtype=bool)
    built = ok & ~from_dsm
    if built.any():
        g = geoms[built]
        area = shapely.area(g)
        rect = shapely.area(shapely.oriented_envelope(g))
        hull = shapely.area(shapely.convex_hull(g))
        fits = (area >= MIN_FILL * np.maximum(rect, 1e-9)) | (area >= 0.98 * hull)
        if (~fits).any():
            warn(f"{int((~fits).sum())} pitched roofs have footprints far from a rectangle and not convex (filling "
                 f"less than {MIN_FILL:.0%} of their oriented rectangle): modelled flat", InputDataWarning,
                 zh=f"{int((~fits).sum())} 栋坡屋顶建筑的轮廓既不近似矩形也不是凸多边形（面积不足其最小外接矩形的 "
                    f"{MIN_FILL:.0%}），按平屋顶计算")
            idx = np.flatnonzero(built)[~fits]
            built[idx] = False
            ok[idx] = False
    parts = []
    pitch_col = roofs["roof_pitch_deg"].to_numpy(dtype=float).copy()
    if built.any():
        idx = np.flatnonzero(built)
        p = shape_planes(geoms[idx], shape[idx], pitch_col[idx], roofs["height_m"].to_numpy(dtype=float)[idx],
                         ridge=roofs[RIDGE].to_numpy(dtype=object)[idx] if RIDGE in roofs.columns else None,
                         direction_deg=roofs[DIRECTION].to_numpy(dtype=float)[idx] if DIRECTION in roofs.columns else None,
                         rise_m=roofs[RISE].to_numpy(dtype=float)[idx] if RISE in roofs.columns else None,
                         default_pitch_deg=cfg.default_pitch_deg)
        pitch_col[idx] = p.attrs["pitch_deg"]
        p["row"] = idx[p["row"].to_numpy(dtype=np.int64)]
        parts.append(pd.DataFrame(p))
    dsm_rows = np.flatnonzero(ok & from_dsm)
    if len(dsm_rows):
        tables = [roofs[DSM_PLANES].iloc[i].assign(row=i) for i in dsm_rows]
        parts.append(pd.concat(tables, ignore_index=True))
    planes = pd.concat(parts, ignore_index=True).sort_values(["row", "plane_id"], kind="stable").reset_index(drop=True)
    roofs["roof_pitch_deg"] = np.where(ok, pitch_col, roofs["roof_pitch_deg"].to_numpy(dtype=float))
    has = np.zeros(n, dtype=bool)
    has[np.unique(planes["row"].to_numpy(dtype=np.int64))] = True
    return gpd.GeoDataFrame(planes, geometry="geometry", crs=roofs.crs), ok & has


def layout_planes(planes: gpd.GeoDataFrame, cfg: RoofsConfig) -> gpd.GeoDataFrame:
    """Flush-mounted modules on each plane: usable (slope) area, module area, capacity; ``reason`` north_facing
    or too_small for the planes that cannot take modules (their figures kept, ``used`` false)."""
    p = planes.copy()
    tilt = p["surface_tilt_deg"].to_numpy(dtype=float)
    cos_t = np.cos(np.radians(tilt))
    g = p.geometry.to_numpy()
    inset = shapely.buffer(g, -cfg.plane_setback_m, join_style="mitre") if cfg.plane_setback_m > 0 else g
    plan_usable = np.where(shapely.is_empty(inset), 0.0, shapely.area(inset))
    p["usable_geometry"] = np.where(shapely.is_empty(inset), None, inset)
    p["usable_area_m2"] = plan_usable / cos_t * (1.0 - cfg.plane_obstruction_share)
    p["module_area_m2"] = p["usable_area_m2"] * cfg.flush_coverage
    p["ground_coverage_ratio"] = cfg.flush_coverage
    p["capacity_kwp"] = p["module_area_m2"] * cfg.module_power_w_per_m2 / 1000.0
    az = p["surface_azimuth_deg"].to_numpy(dtype=float)
    from_north = np.minimum(az % 360.0, 360.0 - az % 360.0)
    reason = np.full(len(p), "", dtype=object)
    reason[p["usable_area_m2"].to_numpy() < cfg.min_plane_area_m2] = "too_small"
    reason[(from_north <= cfg.north_limit_deg) & (tilt > cfg.flat_tilt_deg)] = "north_facing"
    p["reason"] = reason
    return p


def shade_planes(planes: gpd.GeoDataFrame, obstacles: np.ndarray, obstacle_heights: np.ndarray,
                 own_obstacle: np.ndarray, cfg: ShadingConfig, *, latitude_deg: np.ndarray | None = None):
    """Horizons of sample points on each plane at their own height (on the plane, between eave and ridge).

    ``own_obstacle``: per plane, its building's index among the obstacles, skipped: the building's own other
    planes do not shade a plane beyond what its tilt accounts for (the sun behind a plane meets it at more than
    90° and gives it no beam; the planes of one convex roof never rise above each other's planes). Two passes as
    for flat roofs (:func:`solarmap.shading.shade_targets`): size-based points, then a full grid where the shade
    changes across the plane. Returns a :class:`solarmap.shading.RoofShade` over the planes (positions).
    """
    from solarmap import shading

    geoms = planes["usable_geometry"].to_numpy()
    geoms = np.where(shapely.is_missing(geoms), planes.geometry.to_numpy(), geoms)

    def horizons(xy, owner):
        z = plane_z(planes, owner, xy[:, 0], xy[:, 1])
        return shading.horizon_profiles(xy, z, obstacles, obstacle_heights, sector_deg=cfg.sector_deg,
                                        min_sun_elevation_deg=cfg.min_sun_elevation_deg,
                                        max_radius_m=cfg.max_search_radius_m,
                                        point_owner_obstacle=np.asarray(own_obstacle)[owner], point_group=owner)

    _, owner, horizon, _, _ = shading.two_pass_points(geoms, horizons, cfg, latitude_deg=latitude_deg)
    log.info("shading: %d roof planes, %d sample points", len(planes), len(owner))
    return shading.RoofShade(len(planes), owner, horizon, 360.0 / horizon.shape[1])


def obstacle_heights(roofs: pd.DataFrame, *, seen_from_planes: bool) -> np.ndarray:
    """Heights [m] at which buildings cast shade. A flat roof: ``height_m``. A pitched roof, seen from a flat
    roof: a prism of the same volume (eave + half the rise); seen from a roof plane: its walls up to the eave, so
    that the units of a terrace, whose roofs run on into each other, do not shade each other (the roof above a
    neighbour's eave is left out: shade from pitched neighbours is underestimated, never invented)."""
    h = roofs["height_m"].to_numpy(dtype=float).copy()
    if "roof_shape" not in roofs.columns:
        return h
    shape = roofs["roof_shape"].to_numpy(dtype=object)
    pitched = shape != "flat"
    if not pitched.any():
        return h
    geoms = roofs.geometry.to_numpy()
    ridge = roofs[RIDGE].to_numpy(dtype=object) if RIDGE in roofs.columns else None
    pitch = roofs["roof_pitch_deg"].to_numpy(dtype=float)
    rise = rise_of(shape, np.where(np.isfinite(pitch), pitch, 0.0), geoms, ridge)
    eave = np.maximum(h - rise, 0.0)
    return np.where(pitched, eave if seen_from_planes else eave + (h - eave) / 2.0, h)


def summarise_buildings(planes: pd.DataFrame, n: int) -> pd.DataFrame:
    """Per building row (0..n-1), the sums over its used planes (else over the planes that could take modules:
    their figures are kept for a building that is unsuitable): usable and module area, capacity, yields, monthly
    energy; capacity-weighted sky-view factor and POA; the tilt and azimuth of its largest used plane."""
    p = planes
    row = p["row"].to_numpy(dtype=np.int64)
    used = p["suitable"].to_numpy(dtype=bool)
    eligible = ~np.isin(p["reason"].to_numpy(dtype=object), ["north_facing", "too_small"])
    any_used = np.bincount(row, weights=used.astype(float), minlength=n) > 0
    take = np.where(any_used[row], used, eligible)
    w = take.astype(float)
    out = {}
    for c in ("usable_area_m2", "module_area_m2", "capacity_kwp", "annual_kwh", "annual_kwh_unshaded",
              *[f"kwh_m{m:02d}" for m in range(1, 13)]):
        out[c] = np.bincount(row, weights=np.nan_to_num(p[c].to_numpy(dtype=float)) * w, minlength=n)
    cap = np.nan_to_num(p["capacity_kwp"].to_numpy(dtype=float)) * w
    cap_sum = np.bincount(row, weights=cap, minlength=n)
    for c in ("sky_view_factor", "annual_poa_kwh_m2"):
        s = np.bincount(row, weights=np.nan_to_num(p[c].to_numpy(dtype=float)) * cap, minlength=n)
        out[c] = np.where(cap_sum > 0, s / np.where(cap_sum > 0, cap_sum, 1), np.nan)
    out["sample_points"] = np.bincount(row, weights=p["sample_points"].to_numpy(dtype=float), minlength=n).astype(np.int64)
    out["roof_slope_area_m2"] = np.bincount(row, weights=p["plane_area_m2"].to_numpy(dtype=float), minlength=n)
    out["roof_planes"] = np.bincount(row, minlength=n).astype(np.int64)
    out["roof_planes_used"] = np.bincount(row, weights=used.astype(float), minlength=n).astype(np.int64)
    out["eligible"] = np.bincount(row, weights=eligible.astype(float), minlength=n) > 0
    out["any_used"] = any_used
    # the largest taken plane gives the building's tilt and azimuth
    order = np.lexsort((-cap, row))
    first = order[np.r_[True, row[order][1:] != row[order][:-1]]]
    tilt = np.full(n, np.nan)
    az = np.full(n, np.nan)
    tilt[row[first]] = p["surface_tilt_deg"].to_numpy(dtype=float)[first]
    az[row[first]] = p["surface_azimuth_deg"].to_numpy(dtype=float)[first]
    out["surface_tilt_deg"], out["surface_azimuth_deg"] = tilt, az
    # a building's reason when no plane is used: the reason of its planes that could take modules
    reason = np.full(n, "", dtype=object)
    cand = ~used & eligible
    r_rows, r_first = np.unique(row[cand], return_index=True)
    reason[r_rows] = p["reason"].to_numpy(dtype=object)[cand][r_first]
    out["plane_reason"] = reason
    return pd.DataFrame(out)


def plane_id_text(building_id: pd.Series, plane_id: np.ndarray) -> np.ndarray:
    """``<building_id>/<k>``: unique across the run, readable beside the building."""
    return (building_id.astype("string") + "/" + pd.Series(plane_id, index=building_id.index).astype("string")).to_numpy(dtype=object)


def plan_roofs(roofs: gpd.GeoDataFrame, cfg: RoofsConfig) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """The roof stage for pitched roofs: planes with their module layout, the rows modelled as planes, and the
    rows to exclude with their reason (every plane north-facing, or too little usable area on the others:
    below ``cfg.min_usable_area_m2`` as for a flat roof). The excluded buildings' planes are dropped."""
    n = len(roofs)
    planes, pitched = building_planes(roofs, cfg)
    exclude = np.zeros(n, dtype=bool)
    why = np.full(n, "", dtype=object)
    if not pitched.any():
        return planes, pitched, exclude, why
    planes = layout_planes(planes, cfg)
    row = planes["row"].to_numpy(dtype=np.int64)
    reason = planes["reason"].to_numpy(dtype=object)
    usable = np.bincount(row, weights=np.where(reason == "", planes["usable_area_m2"].to_numpy(), 0.0), minlength=n)
    north = np.bincount(row, weights=(reason == "north_facing").astype(float), minlength=n)
    count = np.bincount(row, minlength=n)
    exclude = pitched & (usable < cfg.min_usable_area_m2)
    why[exclude] = np.where(north[exclude] == count[exclude], "north_facing", "too_small")
    pitched = pitched & ~exclude
    planes = planes[pitched[row]].reset_index(drop=True)
    return planes, pitched, exclude, why


def plane_yields(planes: gpd.GeoDataFrame, weather, sun, cfg, shade=None) -> gpd.GeoDataFrame:
    """Yield of every plane through the same pvlib chain as flat roofs (:func:`solarmap.solar.roof_yields`,
    one transposition per orientation), with the plane's own shade; then which planes are used: not
    north-facing, large enough, losing at most ``shading.max_loss_pct`` to shade and yielding at least
    ``roofs.min_specific_yield_kwh_per_kwp`` (reasons north_facing, too_small, shaded, low_yield)."""
    from solarmap.solar import roof_yields

    y = roof_yields(planes, weather, sun, cfg.pv, shade=shade)
    p = pd.concat([planes, y], axis=1)
    p["sky_view_factor"] = shade.sky_view_all() if shade is not None else 1.0
    p["sample_points"] = shade.points_per_roof if shade is not None else 0
    with np.errstate(invalid="ignore", divide="ignore"):
        p["shading_loss_pct"] = 100.0 * (1.0 - p["annual_kwh"] / p["annual_kwh_unshaded"])
    reason = p["reason"].to_numpy(dtype=object).copy()
    free = reason == ""
    reason[free & (p["shading_loss_pct"].to_numpy() > cfg.shading.max_loss_pct)] = "shaded"
    free = reason == ""
    reason[free & (p["specific_yield_kwh_per_kwp"].to_numpy() < cfg.roofs.min_specific_yield_kwh_per_kwp)] = "low_yield"
    p["reason"] = reason
    p["suitable"] = reason == ""
    return gpd.GeoDataFrame(p, geometry="geometry", crs=planes.crs)


def planes_table(planes: gpd.GeoDataFrame, roofs: pd.DataFrame) -> gpd.GeoDataFrame:
    """The output table of planes: one row per plane in :data:`PLANE_OUTPUT` order, ``_row`` the building's
    index label in ``roofs`` (for the tiled engine to put them back in order), in the roofs' CRS."""
    if not len(planes):
        return gpd.GeoDataFrame({c: [] for c in (*PLANE_OUTPUT, "_row")}, geometry=[], crs=roofs.crs)
    row = planes["row"].to_numpy(dtype=np.int64)
    out = pd.DataFrame({"building_id": roofs["building_id"].astype(object).to_numpy(dtype=object)[row],
                        "roof_shape": roofs["roof_shape"].to_numpy(dtype=object)[row]}, index=planes.index)
    for c in PLANE_OUTPUT:
        if c not in out.columns:
            out[c] = planes[c].to_numpy()
    out["_row"] = roofs.index.to_numpy()[row]
    return gpd.GeoDataFrame(out[[*PLANE_OUTPUT, "_row"]], geometry=planes.geometry.to_numpy(), crs=roofs.crs)
