"""A seeded generator of Huangpu-like building stock, for the embedded sample and for scale benchmarks.

The real footprint set of four Huangpu subdistricts (FACTS §3) is not redistributable, so the embedded sample is
synthetic but built to match its statistics: about 870 buildings per km² in Dapuqiao, footprint cover near 28 %,
footprints p10/p50/p90 ≈ 42/217/720 m², heights p10/p50/p90/max ≈ 12/26/73/176 m, about half the buildings touching
a neighbour (lane-house terraces), and the EULUC-China land-use mix of Dapuqiao.

The city is laid out as a rotated street grid. Each block gets one of a few Shanghai block types, whose layouts
follow how such blocks are built: lane-house (里弄) terraces with shared walls, 1980s-90s six-storey slab estates
with sun spacing, high-rise estates, office towers with podiums, institutional campuses (schools, hospitals,
government offices, culture and sport), small mixed blocks with workshops, and pocket parks.

Everything is a pure function of the seed: the same seed gives the same buildings, in the same order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

# EULUC-China level-2 class names (FACTS §3)
RESIDENTIAL = "居住用地"
BUSINESS_OFFICE = "商务办公用地"
COMMERCIAL = "商业服务用地"
ADMINISTRATIVE = "行政办公用地"
EDUCATION = "教育科研用地"
MEDICAL = "医疗卫生用地"
SPORT_CULTURE = "体育与文化用地"
INDUSTRIAL = "工业用地"
TRANSPORT = "交通场站用地"
PARK = "公园与绿地用地"
UNKNOWN = ""

#: pitch of the lane houses' tile roofs: an assumption within the 25-30° usual for tiled roofs (FACTS §8) [°]
LANE_ROOF_PITCH_DEG = 26.0

# Block types and their weights, tuned so the stock matches FACTS §3 (see tests/test_synth.py).
BLOCK_WEIGHTS = {
    "lane": 0.07,
    "old_estate": 0.26,
    "highrise_estate": 0.22,
    "office": 0.27,
    "institution": 0.13,
    "mixed": 0.03,
    "park": 0.02,
}


@dataclass
class _Rects:
    """Buildings of one block as parallel lists; each building is one or more axis-aligned rectangles."""

    parts: list  # list of list[(x0, y0, x1, y1)]
    kind: list
    floors: list
    storey_m: list
    landuse: list
    name: list

    @classmethod
    def empty(cls) -> _Rects:
        return cls([], [], [], [], [], [])

    def add(self, rects, kind, floors, storey_m, landuse, name=""):
        self.parts.append(rects if isinstance(rects, list) else [rects])
        self.kind.append(kind)
        self.floors.append(int(floors))
        self.storey_m.append(float(storey_m))
        self.landuse.append(landuse)
        self.name.append(name)


def _rows(rng, total, size_lo, size_hi, gap_lo, gap_hi, start=0.0):
    """Positions (start, end) of items of random size and gap packed along [start, total]."""
    out = []
    pos = start
    while True:
        size = rng.uniform(size_lo, size_hi)
        if pos + size > total:
            size = total - pos  # the last item takes what is left, if that is enough
            if size < size_lo:
                break
        out.append((pos, pos + size))
        pos += size + rng.uniform(gap_lo, gap_hi)
    return out


def _lane(rng, w, h, b: _Rects, ctx):
    # terraces of 2-3 storey lane houses: rows of touching units separated by narrow lanes (弄堂); what is left
    # of Huangpu's lane neighbourhoods are pockets inside larger blocks
    w, h = min(w, rng.uniform(45, 90)), min(h, rng.uniform(45, 90))
    y = rng.uniform(0, 3)
    while True:
        depth = rng.uniform(9.0, 12.5)
        if y + depth > h:
            break
        x = rng.uniform(0, 2)
        while x < w - 5:
            # a terrace of touching units, then a cross lane
            terrace_end = min(w, x + rng.uniform(35, 80))
            while x < terrace_end - 4:
                length = min(rng.lognormal(math.log(6.5), 0.45), terrace_end - x)
                if length < 3.5:
                    break
                use = COMMERCIAL if rng.random() < 0.05 else RESIDENTIAL
                b.add((x, y, x + length, y + depth), "lane", 3, rng.uniform(3.4, 3.9), use)
                x += length
            x += rng.uniform(2.5, 4.0)
        y += depth + rng.uniform(2.5, 4.5)


def _ancillary(rng, x, y, b: _Rects, landuse=UNKNOWN):
    sw, sh = rng.uniform(4, 9), rng.uniform(4, 8)
    b.add((x, y, x + sw, y + sh), "ancillary", 1, rng.uniform(3.0, 4.5), landuse)


def _old_estate(rng, w, h, b: _Rects, ctx):
    # 5-7 storey slabs facing south, rows spaced about 1.1x their height (Shanghai sun-spacing practice)
    y = rng.uniform(2, 8)
    while True:
        depth = rng.uniform(10, 13.5)
        # 1980s workers' villages are 5-7 storeys; 1990s estates 8-12 ("小高层")
        floors = int(rng.integers(5, 8)) if rng.random() < 0.4 else int(rng.integers(8, 15))
        storey = rng.uniform(2.8, 3.0)
        if y + depth > h:
            break
        for x0, x1 in _rows(rng, w, 24, 62, 4, 8, start=rng.uniform(1, 4)):
            # a slab of 1-3 touching sections (each a separately mapped building)
            n = int(rng.integers(1, 5))
            cuts = np.sort(rng.uniform(x0, x1, n - 1)) if n > 1 else np.array([])
            edges = [x0, *cuts.tolist(), x1]
            for a, c in zip(edges[:-1], edges[1:], strict=True):
                if c - a >= 6:
                    b.add((a, y, c, y + depth), "slab", floors, storey, RESIDENTIAL)
            if rng.random() < 0.12 and x1 + 9 < w:
                _ancillary(rng, x1 + 1, y + rng.uniform(0, 4), b)
        y += depth + rng.uniform(0.7, 0.9) * floors * storey


def _highrise_estate(rng, w, h, b: _Rects, ctx):
    y = rng.uniform(3, 10)
    while True:
        depth = rng.uniform(15, 22)
        if y + depth > h:
            break
        for x0, x1 in _rows(rng, w, 22, 40, 6, 12, start=rng.uniform(2, 6)):
            floors = int(np.clip(rng.normal(24, 6), 14, 34))
            b.add((x0, y, x1, y + depth), "residential_tower", floors, 3.0, RESIDENTIAL)
        y += depth + rng.uniform(18, 28)
    # clubhouse and ancillary buildings
    if w > 40 and h > 40:
        cx, cy = rng.uniform(5, w - 35), rng.uniform(5, h - 25)
        b.add((cx, cy, cx + rng.uniform(15, 30), cy + rng.uniform(10, 18)), "clubhouse", 2, 4.0, RESIDENTIAL)
    for _ in range(int(rng.integers(0, 3))):
        _ancillary(rng, rng.uniform(0, w - 10), rng.uniform(0, h - 10), b)


def _office(rng, w, h, b: _Rects, ctx):
    # towers on podiums along the block, plus mid-rise offices and shops
    x = rng.uniform(2, 8)
    while x < w - 30:
        kind = rng.random()
        if kind < 0.35:  # a tower with a podium on its south side, touching
            tw, td = rng.uniform(30, 48), rng.uniform(26, 38)
            floors = int(np.clip(rng.lognormal(math.log(26), 0.35), 15, 45))
            storey = rng.uniform(3.6, 3.95)
            pw = min(tw + rng.uniform(10, 40), w - x)
            pd_ = rng.uniform(15, 30)
            y0 = rng.uniform(2, 6)
            if y0 + pd_ + td > h:
                x += 10
                continue
            b.add((x, y0, x + pw, y0 + pd_), "podium", rng.integers(3, 6), 5.0, COMMERCIAL if rng.random() < 0.3 else BUSINESS_OFFICE)
            name = ctx.name("大厦")
            b.add((x, y0 + pd_, x + tw, y0 + pd_ + td), "office_tower", floors, storey, BUSINESS_OFFICE, name)
            x += max(pw, tw) + rng.uniform(12, 25)
        else:  # mid-rise offices, in a column up the block
            ow = rng.uniform(15, 32)
            y = rng.uniform(2, 6)
            for y0, y1 in _rows(rng, h, 12, 24, 5, 12, start=y):
                floors = int(rng.integers(6, 17))
                use = BUSINESS_OFFICE if rng.random() < 0.92 else COMMERCIAL
                b.add((x, y0, x + ow, y1), "office_midrise", floors, 3.7, use)
                if rng.random() < 0.08:
                    _ancillary(rng, x + ow + 1, y0, b)
            x += ow + rng.uniform(7, 14)


def _institution(rng, w, h, b: _Rects, ctx):
    sub = rng.choice(["school", "hospital", "government", "culture_sport"], p=[0.32, 0.38, 0.14, 0.16])
    if sub == "school":
        level = rng.choice(["小学", "中学"])
        name = ctx.name(level)
        y = rng.uniform(3, 10)
        for i, (y0, y1) in enumerate(_rows(rng, min(h, 120), 12, 16, 18, 26, start=y)[:4]):
            x0 = rng.uniform(3, 12)
            length = min(rng.uniform(40, 70), w - x0 - 2)
            rects = [(x0, y0, x0 + length, y1)]
            if rng.random() < 0.4:  # an L-shaped wing
                rects.append((x0, y1, x0 + 12, y1 + rng.uniform(8, 14)))
            b.add(rects, "school", rng.integers(4, 6), 3.6, EDUCATION, name if i == 0 else "")
        if w > 90:
            gx = w - rng.uniform(40, 50)
            b.add((gx, 5, gx + rng.uniform(28, 38), 5 + rng.uniform(20, 26)), "gym", 2, 5.5, EDUCATION)
    elif sub == "hospital":
        name = ctx.name("医院")
        b.add((5, 5, 5 + rng.uniform(45, 70), 5 + rng.uniform(35, 50)), "outpatient", rng.integers(4, 7), 4.5, MEDICAL)
        y = 60
        b.add((5, y, 5 + rng.uniform(50, 70), y + rng.uniform(18, 25)), "ward_tower", rng.integers(12, 21), 3.8, MEDICAL, name)
        for y0, y1 in _rows(rng, h, 12, 20, 8, 14, start=90):
            for x0, x1 in _rows(rng, w, 14, 30, 8, 16, start=5):
                b.add((x0, y0, x1, y1), "medical_annex", rng.integers(3, 8), 3.8, MEDICAL)
        for _ in range(int(rng.integers(1, 4))):
            _ancillary(rng, rng.uniform(5, w - 10), rng.uniform(h * 0.6, h - 10), b, MEDICAL)
    elif sub == "government":
        name = ctx.name("街道办事处" if rng.random() < 0.5 else "行政中心")
        b.add((6, 6, 6 + rng.uniform(40, 60), 6 + rng.uniform(16, 22)), "government", rng.integers(6, 13), 3.8, ADMINISTRATIVE, name)
        b.add((6, 40, 6 + rng.uniform(25, 40), 40 + rng.uniform(12, 18)), "government_annex", rng.integers(3, 5), 3.6, ADMINISTRATIVE)
        for _ in range(int(rng.integers(0, 3))):
            _ancillary(rng, rng.uniform(5, w - 10), rng.uniform(60, h - 10), b, ADMINISTRATIVE)
    else:
        name = ctx.name("文化活动中心" if rng.random() < 0.5 else "体育馆")
        b.add((8, 8, 8 + rng.uniform(50, 85), 8 + rng.uniform(40, 65)), "hall", rng.integers(1, 4), 7.0, SPORT_CULTURE, name)
        b.add((8, 85, 8 + rng.uniform(25, 40), 85 + rng.uniform(15, 25)), "library", rng.integers(3, 6), 4.2, SPORT_CULTURE)


class _Shifted:
    """An adapter that offsets everything added to a block by (dx, dy)."""

    def __init__(self, inner: _Rects, dx: float, dy: float):
        self.inner, self.dx, self.dy = inner, dx, dy

    def add(self, rects, *args, **kwargs):
        rects = rects if isinstance(rects, list) else [rects]
        moved = [(a + self.dx, b + self.dy, c + self.dx, d + self.dy) for a, b, c, d in rects]
        self.inner.add(moved, *args, **kwargs)


def _mixed(rng, w, h, b: _Rects, ctx):
    for y0, y1 in _rows(rng, h, 10, 30, 6, 14, start=rng.uniform(1, 5)):
        for x0, x1 in _rows(rng, w, 8, 45, 5, 14, start=rng.uniform(1, 5)):
            r = rng.random()
            if r < 0.18:
                b.add((x0, y0, x1, y1), "workshop", rng.integers(1, 3), 5.0, INDUSTRIAL)
            elif r < 0.26:
                b.add((x0, y0, x1, y1), "depot", 1, 6.0, TRANSPORT)
            elif r < 0.60:
                b.add((x0, y0, x1, y1), "small", rng.integers(2, 6), 3.2, RESIDENTIAL)
            elif r < 0.75:
                b.add((x0, y0, x1, y1), "small", rng.integers(2, 5), 3.6, COMMERCIAL)
            else:
                b.add((x0, y0, x1, y1), "small", rng.integers(2, 6), 3.3, UNKNOWN)


def _park(rng, w, h, b: _Rects, ctx):
    name = ctx.name("公园")
    for i in range(int(rng.integers(1, 4))):
        x, y = rng.uniform(10, max(11, w - 25)), rng.uniform(10, max(11, h - 20))
        b.add((x, y, x + rng.uniform(6, 16), y + rng.uniform(6, 12)), "pavilion", 1, 4.5, PARK, name if i == 0 else "")


_LAYOUTS = {
    "lane": _lane,
    "old_estate": _old_estate,
    "highrise_estate": _highrise_estate,
    "office": _office,
    "institution": _institution,
    "mixed": _mixed,
    "park": _park,
}

_YEARS = {  # (first, last) year of construction by building kind
    "lane": (1910, 1940),
    "ancillary": (1975, 2015),
    "slab": (1975, 1999),
    "residential_tower": (1995, 2022),
    "clubhouse": (1995, 2022),
    "podium": (1995, 2025),
    "office_tower": (1995, 2025),
    "office_midrise": (1985, 2024),
    "school": (1955, 2025),
    "gym": (1980, 2025),
    "outpatient": (1960, 2025),
    "ward_tower": (1985, 2025),
    "medical_annex": (1960, 2024),
    "government": (1980, 2025),
    "government_annex": (1970, 2024),
    "hall": (1980, 2025),
    "library": (1970, 2025),
    "workshop": (1950, 1995),
    "depot": (1960, 2005),
    "small": (1950, 2015),
    "pavilion": (1990, 2020),
}


class _Namer:
    def __init__(self, prefix_zh: str):
        self.prefix = prefix_zh
        self.counts: dict[str, int] = {}

    def name(self, kind_zh: str) -> str:
        n = self.counts.get(kind_zh, 0) + 1
        self.counts[kind_zh] = n
        return f"{self.prefix}第{n}{kind_zh}" if kind_zh in ("小学", "中学", "医院") else f"{self.prefix}{kind_zh}{n}号"


def _rotate(geoms: np.ndarray, angle_deg: float, cx: float, cy: float) -> np.ndarray:
    a = math.radians(angle_deg)
    ca, sa = math.cos(a), math.sin(a)

    def f(xy):
        x, y = xy[:, 0] - cx, xy[:, 1] - cy
        return np.column_stack([cx + ca * x - sa * y, cy + sa * x + ca * y])

    return shapely.transform(geoms, f)


def generate_buildings(
    region: BaseGeometry,
    *,
    crs,
    seed: int,
    id_prefix: str = "B",
    name_prefix_zh: str = "",
    grid_angle_deg: float | None = None,
) -> gpd.GeoDataFrame:
    """Generate buildings covering ``region`` (a polygon in a metric CRS ``crs``).

    Returns a GeoDataFrame in ``crs`` with columns ``building_id``, ``name``, ``euluc_class`` (EULUC-China class
    name, empty when unknown), ``kind`` (the generator's building type), ``floors``, ``height_m`` [m],
    ``year_built``, ``existing_pv_kwp`` [kWp], and ``roof_shape`` (gabled for lane houses, else flat),
    ``roof_pitch_deg`` [°] and ``roof_orientation`` (OSM's ``roof:orientation``: the ridge ``along`` the
    footprint's longer side or ``across`` it, so that it runs along the terrace). Buildings whose centre falls outside ``region`` are dropped.
    """
    rng = np.random.default_rng(seed)
    angle = float(rng.uniform(-25, 25)) if grid_angle_deg is None else grid_angle_deg
    c = region.centroid
    local = _rotate(np.array([region]), -angle, c.x, c.y)[0]
    minx, miny, maxx, maxy = local.bounds
    blocks = _Rects.empty()
    namer = _Namer(name_prefix_zh)
    types = list(BLOCK_WEIGHTS)
    weights = np.array(list(BLOCK_WEIGHTS.values()))
    weights = weights / weights.sum()
    shapely.prepare(local)
    xs = _rows(rng, maxx - minx, 100, 200, 10, 20, start=0.0)
    ys = _rows(rng, maxy - miny, 100, 200, 10, 20, start=0.0)
    for y0, y1 in ys:
        for x0, x1 in xs:
            bx0, by0 = minx + x0, miny + y0
            if not local.intersects(shapely.box(bx0, by0, minx + x1, miny + y1)):
                continue
            # a block is split into one to three parcels, each built up as one type
            width = x1 - x0
            k = int(rng.integers(1, 1 + min(3, int(width // 60))))
            edges = np.linspace(0, width + 6, k + 1)
            for p0, p1 in zip(edges[:-1], edges[1:], strict=True):
                parcel_type = types[int(rng.choice(len(types), p=weights))]
                _LAYOUTS[parcel_type](rng, p1 - p0 - 6, y1 - y0, _Shifted(blocks, bx0 + p0, by0), namer)
    n = len(blocks.parts)
    simple = np.array([len(p) == 1 for p in blocks.parts])
    geoms = np.empty(n, dtype=object)
    if simple.any():
        r = np.array([p[0] for p, s in zip(blocks.parts, simple, strict=True) if s])
        geoms[simple] = shapely.box(r[:, 0], r[:, 1], r[:, 2], r[:, 3])
    for i in np.flatnonzero(~simple):
        geoms[i] = shapely.union_all([shapely.box(*r) for r in blocks.parts[i]]).normalize()
    geoms = _rotate(geoms, angle, c.x, c.y)
    keep = shapely.contains_xy(region, *shapely.get_coordinates(shapely.centroid(geoms)).T)
    kind = np.array(blocks.kind, dtype=object)[keep]
    floors = np.array(blocks.floors)[keep]
    storey = np.array(blocks.storey_m)[keep]
    geoms = geoms[keep]
    m = len(geoms)
    # roof structures and parapets make measured heights scatter around floors x storey
    height = np.round(floors * storey + rng.uniform(0.3, 2.0, m), 1)
    height = np.minimum(height, 176.0)  # the tallest building in the real Dapuqiao stock (FACTS §3)
    first = np.array([_YEARS[k][0] for k in kind])
    last = np.array([_YEARS[k][1] for k in kind])
    year = (first + rng.random(m) * (last - first + 1)).astype(int)
    landuse = np.array(blocks.landuse, dtype=object)[keep]
    # about one building in ten has no land-use class in EULUC (unknown, FACTS §3)
    landuse[rng.random(m) < 0.06] = UNKNOWN
    area = shapely.area(geoms)
    public = np.isin(landuse, [ADMINISTRATIVE, EDUCATION, MEDICAL, SPORT_CULTURE])
    p_pv = np.where(public, 0.12, np.where(landuse == INDUSTRIAL, 0.2, 0.01))
    has_pv = (rng.random(m) < p_pv) & (area > 150) & (year < 2021)
    existing_pv = np.where(has_pv, np.round(area * rng.uniform(0.02, 0.05, m), 1), 0.0)
    # data gaps as in real sets: some heights missing (floors known), a few with neither
    missing_height = rng.random(m) < 0.05
    height = np.where(missing_height, np.nan, height)
    floors_out = pd.array(np.where(rng.random(m) < 0.004, -1, floors), dtype="Int64")
    floors_out[floors_out == -1] = pd.NA
    floors_out[~missing_height & (rng.random(m) < 0.3)] = pd.NA  # floors often absent when height is known
    names = np.array(blocks.name, dtype=object)[keep]
    ids = [f"{id_prefix}{i + 1:06d}" for i in range(m)]
    # lane houses have pitched tile roofs whose ridges run along the terrace (the block's x axis); no published
    # pitch was found, 26° is an assumption within the 25-30° usual for tiled roofs (FACTS §8). Drawn without the
    # generator's random stream, so the buildings themselves are as before.
    lane = kind == "lane"
    first_rect = np.array([p[0] for p in blocks.parts], dtype=float)[keep]
    along_x = (first_rect[:, 2] - first_rect[:, 0]) >= (first_rect[:, 3] - first_rect[:, 1])
    roof_shape = np.where(lane, "gabled", "flat").astype(object)
    roof_pitch = np.where(lane, LANE_ROOF_PITCH_DEG, np.nan)
    roof_orientation = np.where(lane, np.where(along_x, "along", "across"), "").astype(object)
    return gpd.GeoDataFrame(
        {
            "building_id": ids,
            "name": names,
            "euluc_class": landuse,
            "kind": kind,
            "floors": floors_out,
            "height_m": height,
            "year_built": year,
            "existing_pv_kwp": existing_pv,
            "roof_shape": roof_shape,
            "roof_pitch_deg": roof_pitch,
            "roof_orientation": roof_orientation,
        },
        geometry=geoms,
        crs=crs,
    )


def stock_statistics(buildings: gpd.GeoDataFrame, area_km2: float) -> dict[str, float]:
    """The FACTS §3 statistics of a building set in a metric CRS: density, cover, size and height quantiles."""
    a = buildings.geometry.area.to_numpy()
    h = buildings["height_m"].to_numpy(dtype=float)
    h = h[np.isfinite(h)]
    tree = shapely.STRtree(buildings.geometry.values)
    left, right = tree.query(buildings.geometry.values, predicate="touches")
    touching = np.zeros(len(buildings), dtype=bool)
    touching[left[left != right]] = True
    return {
        "buildings": len(buildings),
        "per_km2": len(buildings) / area_km2,
        "cover": a.sum() / (area_km2 * 1e6),
        "area_p10": np.percentile(a, 10),
        "area_p50": np.percentile(a, 50),
        "area_p90": np.percentile(a, 90),
        "height_p10": np.percentile(h, 10),
        "height_p50": np.percentile(h, 50),
        "height_p90": np.percentile(h, 90),
        "height_max": h.max(),
        "touching_share": touching.mean(),
    }


#: buildings per km² the generator makes on an open square (measured: 22,711 on a 33.3 km² square)
DENSITY_PER_KM2 = 680.0

#: FACTS §3 targets for Dapuqiao, used to calibrate the embedded sample (pick the seed closest to them).
DAPUQIAO_TARGETS = {
    "per_km2": 870.0,
    "cover": 0.28,
    "area_p10": 42.0,
    "area_p50": 217.0,
    "area_p90": 720.0,
    "height_p10": 12.0,
    "height_p50": 26.0,
    "height_p90": 73.0,
    "touching_share": 0.5,
}


def distance_to_targets(stats: dict[str, float], targets: dict[str, float] = DAPUQIAO_TARGETS) -> float:
    """Root-mean-square relative deviation of a stock's statistics from the targets [-]."""
    rel = [(stats[k] - v) / v for k, v in targets.items()]
    return float(np.sqrt(np.mean(np.square(rel))))
