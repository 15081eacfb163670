"""OpenStreetMap buildings: ``.osm`` XML and ``.osm.pbf`` extracts through GDAL's OSM driver, or a table of OSM
features with their tags as columns (``solarmap fetch osm``, osmnx, QuickOSM), mapped to solarmap's columns.

What comes out, one row per OSM building or building part (and per building node, kept as excluded):

- ``building_id``: ``way/123``, ``relation/456`` or ``node/789``; ``name`` from ``name`` (else ``name:zh``).
- ``height_m`` by :func:`osm_heights`: ``height`` (units "25", "25 m", "82 ft", "12'6\\"") when plausible, else
  ``building:levels`` × storey height plus ``roof:height`` (else plus ``roof:levels`` × storey height);
  ``min_height_m`` from ``min_height`` else ``building:min_level`` × storey height; ``floors`` from
  ``building:levels``; ``height_rule`` says which tags gave the height; ``roof_shape`` from ``roof:shape``.
- ``category``: the use class from the OSM scheme of :mod:`solarmap.sources.categories` (``building``,
  ``amenity``, ``office``, ``government``, ``shop``, ``leisure``, ``tourism``, ``landuse``), which solarmap's
  default ``column`` scheme maps to the policy category; ``category_tag`` names the tag it came from.
- ``existing_pv_kwp``: PV tagged on the building (``generator:source=solar``) or a solar generator node or area
  inside it. Capacity from ``generator:output:electricity`` (or ``plant:output:electricity``) when it has a unit
  ("5 kW", "0.2 MW"); else a panel area's area × 215 W m⁻²; else (a node or a bare tag) a nominal 1 kWp, so the roof
  counts as having PV while adding almost nothing to capacity. ``existing_pv_source`` says which.

Building parts (Simple 3D Buildings): a ``building:part`` inside a ``building`` outline is a roof of its own at
its own height. When an outline has parts, the parts replace it (as 3D renderers do): each part becomes a row
(taking the outline's name, use and start date where it has none), the outline stays in the table as
``excluded`` with reason ``replaced_by_parts`` and an empty geometry, so it neither casts shade nor counts its
area a second time. Where parts overlap (a tower part standing on a podium part), each keeps only the area seen
from above: the lower part loses what the higher parts cover (``osm_trimmed``), and a part wholly under a
higher one is ``excluded`` / ``under_higher_part``. solarmap models buildings as prisms from the ground, so a part
with ``min_height`` (an overhang, a bridge) shades as if it were solid below; ``min_height_m`` is kept.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from solarmap.errors import InputDataError, InputDataWarning, InputFileError, warn
from solarmap.sources import categories
from solarmap.sources.coords import utm_crs_for

log = logging.getLogger(__name__)

STOREY_HEIGHT_M = 3.0  # the same default as buildings.storey_height_m
PANEL_W_PER_M2 = 215.0  # module power per m² of a mapped panel area (roofs.module_power_w_per_m2's default)
UNSIZED_PV_KWP = 1.0  # PV tagged without a size: enough to count the roof as having PV, next to nothing in sums
MAX_HEIGHT_M = 650.0
CATEGORY_KEYS = ("building", "amenity", "office", "government", "shop", "leisure", "tourism", "landuse")
#: Tags carried into the output as columns of their own (string), whether or not a feature has them.
TAG_COLUMNS = (
    "building", "building:part", "amenity", "office", "government", "shop", "leisure", "tourism", "landuse",
    "height", "min_height", "building:levels", "building:min_level", "roof:height", "roof:levels", "roof:shape",
    "start_date", "generator:source", "generator:output:electricity", "addr:street", "addr:housenumber",
)
#: Tags a part takes from its outline when it has none of its own.
INHERITED = ("name", "name:zh", "start_date", "addr:street", "addr:housenumber")

# Closed ways with these keys are areas; the tags all go to one JSON column (TAGS_FORMAT=JSON), none is dropped.
OSMCONF = """\
[general]
closed_ways_are_polygons=aeroway,amenity,boundary,building,building:part,craft,generator:source,historic,landuse,leisure,man_made,military,natural,office,place,plant:source,power,shop,sport,tourism
[points]
osm_id=yes
attributes=
ignore=created_by,converted_by,source,time,note,todo,fixme,FIXME
[lines]
osm_id=yes
attributes=
[multipolygons]
osm_id=yes
attributes=
ignore=area,created_by,converted_by,source,time,note,todo,fixme,FIXME
[multilinestrings]
osm_id=yes
attributes=
[other_relations]
osm_id=yes
attributes=
"""


def is_osm_path(path: str | Path) -> bool:
    name = str(path).lower()
    return name.endswith((".osm", ".osm.pbf", ".pbf", ".osm.xml"))


def is_osm_frame(df: pd.DataFrame) -> bool:
    """A table of OSM features with their tags as columns: ``osm_type``/``osm_id`` (solarmap fetch, QuickOSM) or
    ``element``/``id`` (osmnx), and a ``building`` column."""
    cols = set(df.columns)
    return "building" in cols and ({"osm_type", "osm_id"} <= cols or {"element", "id"} <= cols)


# --------------------------------------------------------------------------------------------- tag parsing

_FEET_INCHES = re.compile(r"""^\s*(\d+(?:\.\d+)?)\s*'\s*(\d+(?:\.\d+)?)\s*(?:"|'')\s*$""")
_LENGTH = re.compile(r"^\s*~?\s*(-?\d+(?:\.\d+)?)\s*([a-z'\"]*)\s*$")
_UNIT_M = {"": 1.0, "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0, "米": 1.0,
           "ft": 0.3048, "feet": 0.3048, "foot": 0.3048, "'": 0.3048, "cm": 0.01, "mm": 0.001}
_POWER = re.compile(r"(\d+(?:\.\d+)?)\s*(gwp?|mwp?|kwp?|wp?)\b", re.IGNORECASE)
_POWER_KW = {"w": 1e-3, "kw": 1.0, "mw": 1e3, "gw": 1e6}


def parse_length_m(value) -> float:
    """A length tag in metres: "25", "25 m", "25.5m", "82 ft", "12'6\\"" (first value of "25;30"); NaN otherwise."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    text = str(value).split(";")[0].strip().lower().replace(",", ".")
    m = _FEET_INCHES.match(text)
    if m:
        return float(m.group(1)) * 0.3048 + float(m.group(2)) * 0.0254
    m = _LENGTH.match(text)
    if not m or m.group(2) not in _UNIT_M:
        return np.nan
    return float(m.group(1)) * _UNIT_M[m.group(2)]


def parse_count(value) -> float:
    """A level count ("8", "8.5", "8;9"): the first number, NaN when none or negative."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    m = re.match(r"^\s*(\d+(?:[.,]\d+)?)\s*$", str(value).split(";")[0])
    return float(m.group(1).replace(",", ".")) if m else np.nan


def parse_power_kw(value) -> float:
    """Electrical power with a unit ("5 kW", "5kWp", "0.2 MW", "3000 W") in kW; NaN for "yes" or a bare number."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    m = _POWER.search(str(value).replace(",", "."))
    if not m:
        return np.nan
    unit = m.group(2).lower().rstrip("p")
    return float(m.group(1)) * _POWER_KW[unit]


def _tag(tags: pd.DataFrame, key: str) -> pd.Series:
    if key in tags.columns:
        return tags[key].astype("string").fillna("").str.strip()
    return pd.Series("", index=tags.index, dtype="string")


def osm_heights(tags: pd.DataFrame, *, storey_height_m: float = STOREY_HEIGHT_M) -> pd.DataFrame:
    """Heights from OSM tags (columns named as the tags), one row per row of ``tags``.

    Returns ``height_m`` [m] (NaN when no rule gives a plausible one), ``min_height_m`` [m] (0 when not tagged),
    ``floors`` (``building:levels`` when a whole number ≥ 1) and ``height_rule``: ``height``, ``levels``,
    ``levels+roof_height``, ``levels+roof_levels`` or empty.
    """
    height = np.array([parse_length_m(v) for v in _tag(tags, "height").replace("", None)], dtype=float)
    levels = np.array([parse_count(v) for v in _tag(tags, "building:levels").replace("", None)], dtype=float)
    roof_h = np.array([parse_length_m(v) for v in _tag(tags, "roof:height").replace("", None)], dtype=float)
    roof_lv = np.array([parse_count(v) for v in _tag(tags, "roof:levels").replace("", None)], dtype=float)
    min_h = np.array([parse_length_m(v) for v in _tag(tags, "min_height").replace("", None)], dtype=float)
    min_lv = np.array([parse_count(v) for v in _tag(tags, "building:min_level").replace("", None)], dtype=float)
    n = len(tags)
    out_h = np.full(n, np.nan)
    rule = np.full(n, "", dtype=object)
    ok = np.isfinite(height) & (height > 0) & (height <= MAX_HEIGHT_M)
    out_h[ok], rule[ok] = height[ok], "height"
    has_lv = ~ok & np.isfinite(levels) & (levels >= 1) & (levels <= 200)
    base = levels * storey_height_m
    with_rh = has_lv & np.isfinite(roof_h) & (roof_h >= 0)
    with_rl = has_lv & ~with_rh & np.isfinite(roof_lv) & (roof_lv > 0)
    plain = has_lv & ~with_rh & ~with_rl
    out_h[with_rh], rule[with_rh] = (base + roof_h)[with_rh], "levels+roof_height"
    out_h[with_rl], rule[with_rl] = (base + roof_lv * storey_height_m)[with_rl], "levels+roof_levels"
    out_h[plain], rule[plain] = base[plain], "levels"
    minimum = np.where(np.isfinite(min_h) & (min_h >= 0), min_h,
                       np.where(np.isfinite(min_lv), min_lv * storey_height_m, 0.0))
    whole = np.isfinite(levels) & (levels >= 1) & (levels <= 200) & (levels == np.round(levels))
    floors = pd.array(np.where(whole, levels, np.nan)).astype("Int64")
    return pd.DataFrame({"height_m": np.round(out_h, 2), "min_height_m": np.round(minimum, 2), "floors": floors,
                         "height_rule": rule}, index=tags.index)


def osm_use(tags: pd.DataFrame) -> pd.DataFrame:
    """Use class (``category``) and the tag it came from (``category_tag``), through the OSM scheme."""
    frame = pd.DataFrame({k: _tag(tags, k) for k in CATEGORY_KEYS}, index=tags.index)
    cat = categories.categorise(frame, scheme="osm")
    return pd.DataFrame({"category": cat["use_class"].to_numpy(dtype=object),
                         "category_tag": cat["category_source"].replace("default", "").to_numpy(dtype=object)},
                        index=tags.index)


# ------------------------------------------------------------------------------------------------ reading


def _tags_of(value) -> dict:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items() if v is not None}
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return {}
    text = str(value)
    if text.lstrip().startswith("{"):
        try:
            return {str(k): str(v) for k, v in json.loads(text).items() if v is not None}
        except ValueError:
            pass
    # GDAL's default hstore form: "key"=>"value","key2"=>"value2"
    return {k.replace('\\"', '"'): v.replace('\\"', '"')
            for k, v in re.findall(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"', text)}


def read_osm_file(path: str | Path) -> gpd.GeoDataFrame:
    """Every area and tagged node of an ``.osm``/``.osm.pbf`` file: ``osm_type``, ``osm_id``, ``tags`` (dict),
    geometry (WGS84). GDAL's OSM driver reads it with solarmap's own osmconf.ini, which keeps every tag."""
    path = Path(path)
    fd, conf = tempfile.mkstemp(prefix="solarmap-osmconf-", suffix=".ini")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(OSMCONF)
        opts = {"CONFIG_FILE": conf, "TAGS_FORMAT": "JSON"}
        try:
            areas = pyogrio.read_dataframe(path, layer="multipolygons", **opts)
            nodes = pyogrio.read_dataframe(path, layer="points", **opts)
        except Exception as exc:  # GDAL raises its own errors on a broken or truncated extract
            msg = (f"buildings file {path} could not be read as OpenStreetMap data (GDAL's OSM driver said "
                   f"{exc.__class__.__name__}: {exc}); is it a complete .osm XML or .osm.pbf file?")
            raise InputFileError(msg) from None
    finally:
        os.unlink(conf)
    way = areas["osm_way_id"].astype("string").fillna("") if "osm_way_id" in areas else pd.Series("", index=areas.index)
    rel = areas["osm_id"].astype("string").fillna("") if "osm_id" in areas else pd.Series("", index=areas.index)
    a = gpd.GeoDataFrame({
        "osm_type": np.where(way != "", "way", "relation"),
        "osm_id": np.where(way != "", way, rel),
        "tags": [_tags_of(t) for t in areas.get("other_tags", pd.Series([None] * len(areas)))],
    }, geometry=areas.geometry.to_numpy(), crs=areas.crs or "EPSG:4326")
    p = gpd.GeoDataFrame({
        "osm_type": "node",
        "osm_id": nodes["osm_id"].astype("string").fillna("").to_numpy(dtype=object) if len(nodes) else [],
        "tags": [_tags_of(t) for t in nodes.get("other_tags", pd.Series([None] * len(nodes)))],
    }, geometry=nodes.geometry.to_numpy(), crs=nodes.crs or "EPSG:4326")
    feats = pd.concat([a, p], ignore_index=True)
    return gpd.GeoDataFrame(feats, geometry="geometry", crs="EPSG:4326")


def features_from_frame(df: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """OSM features with tags as columns (solarmap fetch, osmnx, QuickOSM) → ``osm_type``, ``osm_id``, ``tags``."""
    df = df.reset_index(drop=True)
    if {"osm_type", "osm_id"} <= set(df.columns):
        kind, ident = df["osm_type"], df["osm_id"]
    else:
        kind, ident = df["element"], df["id"]
    skip = {"osm_type", "osm_id", "element", "id", "nodes", "ways", "members", df.geometry.name}
    keys = [c for c in df.columns if c not in skip]
    values = df[keys].astype(object).where(df[keys].notna(), None).to_numpy()
    tags = []
    for row in values:
        t = {}
        for k, v in zip(keys, row, strict=True):
            if v is None or v == "":
                continue
            if isinstance(v, float) and v == int(v):
                v = int(v)  # "8", not "8.0", for a levels count read back from a file
            t[k] = str(v)
        tags.append(t)
    ident = ident.astype("string").fillna("").str.replace(r"\.0$", "", regex=True)
    kind = kind.astype("string").fillna("").str.lower()
    crs = df.crs or "EPSG:4326"
    return gpd.GeoDataFrame({"osm_type": kind.to_numpy(dtype=object), "osm_id": ident.to_numpy(dtype=object), "tags": tags},
                            geometry=df.geometry.to_numpy(), crs=crs).to_crs("EPSG:4326")


def read_osm(path: str | Path, *, storey_height_m: float = STOREY_HEIGHT_M) -> gpd.GeoDataFrame:
    """An ``.osm``/``.osm.pbf`` file's buildings and parts, mapped (see the module docstring)."""
    feats = read_osm_file(path)
    out = buildings_from_features(feats, storey_height_m=storey_height_m, source=str(path))
    return out


# -------------------------------------------------------------------------------------------------- mapping


def _is_yes(values: pd.Series) -> np.ndarray:
    v = values.astype("string").fillna("").str.strip().str.lower()
    return ((v != "") & (v != "no")).to_numpy()


def _polygonal(g):
    if g is None or shapely.is_empty(g):
        return shapely.Polygon()
    t = shapely.get_type_id(g)
    if t in (3, 6):
        return g
    parts = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _drop_slivers(g, min_area: float):
    """Polygon pieces of at least ``min_area`` [m², metric CRS]; an empty polygon when none."""
    g = _polygonal(g)
    if shapely.is_empty(g):
        return g
    pieces = [p for p in shapely.get_parts(g) if shapely.area(p) >= min_area]
    if not pieces:
        return shapely.Polygon()
    return pieces[0] if len(pieces) == 1 else shapely.MultiPolygon(pieces)


def _smallest_containing(tree: shapely.STRtree, areas: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Per point, the index of the smallest tree geometry containing it, −1 where none."""
    owner = np.full(len(points), -1)
    if len(points) == 0:
        return owner
    p_idx, g_idx = tree.query(points, predicate="within")
    if len(p_idx):
        order = np.lexsort((areas[g_idx], p_idx))  # per point, smallest area first
        p_idx, g_idx = p_idx[order], g_idx[order]
        first = np.r_[True, p_idx[1:] != p_idx[:-1]]
        owner[p_idx[first]] = g_idx[first]
    return owner


def buildings_from_features(feats: gpd.GeoDataFrame, *, storey_height_m: float = STOREY_HEIGHT_M,
                            source: str = "OSM data") -> gpd.GeoDataFrame:
    """Map OSM features (``osm_type``, ``osm_id``, ``tags``, geometry) to one row per building or part.

    The result is in the data's UTM zone and carries ``attrs["preset_reasons"]``: per row, the reason it is
    excluded for (``replaced_by_parts``, ``under_higher_part``) or ''. See the module docstring for the rules.
    """
    if len(feats) == 0:
        msg = f"{source} holds no OSM features"
        raise InputDataError(msg)
    tags = pd.DataFrame(list(feats["tags"]), index=feats.index)
    for k in ("building", "building:part", "generator:source", "plant:source", "power", "generator:method"):
        if k not in tags.columns:
            tags[k] = None
    is_part = _is_yes(tags["building:part"])
    is_building = _is_yes(tags["building"]) & ~is_part
    solar = (tags["generator:source"].astype("string").str.lower().eq("solar").fillna(False).to_numpy()
             | tags["plant:source"].astype("string").str.lower().eq("solar").fillna(False).to_numpy())
    rows = is_building | is_part
    if not rows.any():
        msg = (f"{source} has no OSM building (no feature tagged building=* or building:part=*); is the extract "
               "for the right area, and did the download ask for buildings?")
        raise InputDataError(msg)
    geoms_wgs = feats.geometry.to_numpy()
    valid = ~shapely.is_missing(geoms_wgs) & ~shapely.is_empty(geoms_wgs)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms_wgs[valid & rows])
    metric_crs = utm_crs_for((minx + maxx) / 2, (miny + maxy) / 2)
    geoms = gpd.GeoSeries(geoms_wgs, crs="EPSG:4326").to_crs(metric_crs).to_numpy()

    r = np.flatnonzero(rows)
    t = tags.iloc[r].reset_index(drop=True)
    g = geoms[r].copy()
    part = is_part[r]
    ids = (feats["osm_type"].iloc[r].astype(str) + "/" + feats["osm_id"].iloc[r].astype(str)).to_numpy(dtype=object)
    polygonal = np.isin(shapely.get_type_id(g), [3, 6])
    area = np.where(polygonal, shapely.area(g), 0.0)
    reason = np.full(len(r), "", dtype=object)

    h = osm_heights(t, storey_height_m=storey_height_m)
    use = osm_use(t.assign(building=np.where(part, _tag(t, "building:part").replace("yes", ""), _tag(t, "building"))))

    # parts → the smallest building outline holding their representative point
    outline_pos = np.flatnonzero(~part & polygonal)
    part_pos = np.flatnonzero(part & polygonal)
    part_of = np.full(len(r), "", dtype=object)
    if len(outline_pos) and len(part_pos):
        tree = shapely.STRtree(g[outline_pos])
        owner = _smallest_containing(tree, area[outline_pos], shapely.point_on_surface(g[part_pos]))
        has = owner >= 0
        part_of[part_pos[has]] = ids[outline_pos[owner[has]]]
    id_pos = {k: i for i, k in enumerate(ids)}
    t = t.copy()
    for i in part_pos:
        if not part_of[i]:
            continue
        o = id_pos[part_of[i]]
        for k in INHERITED:
            if k in t.columns and (pd.isna(t.at[i, k]) or t.at[i, k] == "") and not pd.isna(t.at[o, k]):
                t.at[i, k] = t.at[o, k]
        if use.at[i, "category"] == "unknown":
            use.iloc[i] = use.iloc[o]
            # and the outline's use tags, so that --category-scheme osm reads the part as the default scheme does
            for k in CATEGORY_KEYS:
                if k in t.columns and (pd.isna(t.at[i, k]) or t.at[i, k] == ""):
                    t.at[i, k] = t.at[o, k]
    replaced = np.zeros(len(r), dtype=bool)
    if part_of.any():
        replaced[[id_pos[k] for k in set(part_of[part_of != ""])]] = True
    trimmed = np.zeros(len(r), dtype=bool)
    uncovered_m2, uncovered_n = 0.0, 0
    for outline in sorted(set(part_of[part_of != ""])):
        o = id_pos[outline]
        members = np.flatnonzero(part_of == outline)
        rest = shapely.area(shapely.difference(g[o], shapely.union_all(g[members])))
        if rest > max(1.0, 0.01 * area[o]):
            uncovered_m2 += rest
            uncovered_n += 1
        # the roof seen from above: a lower part loses what the higher parts of the same building cover
        hh = h["height_m"].to_numpy()[members]
        order = members[np.argsort(-np.nan_to_num(hh, nan=-1.0), kind="stable")]
        above = shapely.Polygon()
        for i in order:
            if not shapely.is_empty(above) and shapely.area(shapely.intersection(g[i], above)) > 0.5:
                cut = _drop_slivers(shapely.difference(g[i], above), 0.5)
                if shapely.area(cut) < 1.0:
                    reason[i] = "under_higher_part"
                    cut = shapely.Polygon()
                trimmed[i] = True
                above = shapely.union(above, g[i])
                g[i] = cut
            else:
                above = shapely.union(above, g[i])
    if uncovered_n:
        warn(f"{source}: {uncovered_n} buildings have parts that leave {uncovered_m2:.0f} m² of their outline uncovered; "
             "that area is left out (with parts the outline is replaced by them, as 3D renderers do)", InputDataWarning,
             zh=f"{source}：{uncovered_n} 栋建筑的分体（building:part）未覆盖其轮廓中 {uncovered_m2:.0f} m² 的面积，"
                "这部分不计（有分体时以分体代替整体轮廓，与三维渲染的做法一致）")

    # existing PV: on the building, or a solar generator inside it
    area_now = np.where(np.isin(shapely.get_type_id(g), [3, 6]), shapely.area(g), 0.0)
    pv_kw = np.zeros(len(r))
    pv_src = [[] for _ in range(len(r))]

    def add_pv(i: int, cap: float, panel_m2: float) -> None:
        if np.isfinite(cap) and cap > 0:
            pv_kw[i] += cap
            pv_src[i].append("tag")
        elif panel_m2 > 0:
            pv_kw[i] += panel_m2 * PANEL_W_PER_M2 / 1000.0
            pv_src[i].append("panel_area")
        else:
            pv_kw[i] += UNSIZED_PV_KWP
            pv_src[i].append("unsized")

    def capacity(tt: pd.Series) -> float:
        for key in ("generator:output:electricity", "plant:output:electricity"):
            if key in tt.index:
                kw = parse_power_kw(tt[key])
                if np.isfinite(kw):
                    return kw
        return np.nan

    live = np.flatnonzero(area_now > 0)
    tree = shapely.STRtree(g[live]) if len(live) else None
    for i in np.flatnonzero(solar[r]):
        target = i
        if replaced[i]:  # PV tagged on an outline that parts replace: on its largest part
            members = np.flatnonzero((part_of == ids[i]) & (area_now > 0))
            if not len(members):
                continue
            target = members[np.argmax(area_now[members])]
        add_pv(target, capacity(t.iloc[i]), 0.0)
    gens = np.flatnonzero(solar & ~rows & valid)
    if len(gens) and tree is not None:
        where = shapely.point_on_surface(geoms[gens])
        owner = _smallest_containing(tree, area_now[live], where)
        outside = 0
        for k, j in enumerate(gens):
            if owner[k] < 0:
                outside += 1
                continue
            is_area = shapely.get_type_id(geoms[j]) in (3, 6)
            add_pv(live[owner[k]], capacity(tags.iloc[j]), shapely.area(geoms[j]) if is_area else 0.0)
        if outside:
            log.info("%s: %d solar generators lie on no building (ground-mounted?) and are left out", source, outside)
    unsized = sum("unsized" in s for s in pv_src)
    if unsized:
        warn(f"{source}: {unsized} buildings have PV tagged without a size (generator:output:electricity); each counts "
             f"as {UNSIZED_PV_KWP:.0f} kWp (existing_pv_source = unsized)", InputDataWarning,
             zh=f"{source}：{unsized} 栋建筑标注了光伏但未注明装机容量（generator:output:electricity），每栋按 "
                f"{UNSIZED_PV_KWP:.0f} kWp 计（existing_pv_source = unsized）")

    reason[replaced] = "replaced_by_parts"
    g[replaced] = shapely.Polygon()
    names = _tag(t, "name")
    names = names.where(names != "", _tag(t, "name:zh"))
    out = pd.DataFrame({
        "building_id": ids,
        "name": names.to_numpy(dtype=object),
        "osm_kind": np.where(part, "building:part", "building"),
        "osm_part_of": part_of,
        "height_m": h["height_m"].to_numpy(),
        "min_height_m": h["min_height_m"].to_numpy(),
        "floors": h["floors"].to_numpy(),
        "height_rule": h["height_rule"].to_numpy(dtype=object),
        "roof_shape": _tag(t, "roof:shape").to_numpy(dtype=object),
        "category": use["category"].to_numpy(dtype=object),
        "category_tag": use["category_tag"].to_numpy(dtype=object),
        "existing_pv_kwp": np.round(pv_kw, 2),
        "existing_pv_source": [",".join(dict.fromkeys(s)) for s in pv_src],
        "osm_trimmed": trimmed,
    })
    for k in TAG_COLUMNS:
        out[k] = _tag(t, k).to_numpy(dtype=object)
    gdf = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(g, crs=metric_crs).values, crs=metric_crs)
    gdf.attrs["preset_reasons"] = list(reason)
    log.info("%s: %d OSM buildings and %d building parts (%d outlines replaced by their parts), %d with PV",
             source, int((~part).sum()), int(part.sum()), int(replaced.sum()), int((pv_kw > 0).sum()))
    return gdf
