"""Make every file in data/ from code and the figures in FACTS.md. Run: python data/build.py

- subdistricts.geojson: Huangpu's ten subdistricts (code, Chinese and English names, FACTS §2 areas); outlines for
  the five that FACTS §2 gives (approximate, simplified to about 60 m), none for the other five.
- buildings/<slug>.geojson: synthetic buildings for Dapuqiao and Bansongyuan Road, covering each outline plus a
  150 m halo of neighbours (outside the outline, so they are excluded from the run but still cast shade). The seed
  of each is the one, among 40, whose stock inside the outline is closest to FACTS §3's Dapuqiao statistics.
- buildings/stats.json: the statistics of each sample inside its outline, as measured here.
- weather/shanghai_typical_year.csv: the hourly typical year built from FACTS §4's monthly figures.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
from shapely.geometry import Polygon

HERE = Path(__file__).resolve().parents[1] / "solarmap" / "data"  # package data, shipped in the wheel
sys.path.insert(0, str(HERE.parents[1]))

from solarmap.sources.coords import utm_crs_for  # noqa: E402
from solarmap.sources.weather import typical_year_from_monthly  # noqa: E402
from solarmap.synth import distance_to_targets, generate_buildings, stock_statistics  # noqa: E402

# FACTS §2: (code, Chinese name, English name, slug, area km², outline or None)
SUBDISTRICTS = [
    ("310101021", "打浦桥街道", "Dapuqiao", "dapuqiao", 1.58,
     [(121.4721, 31.2054), (121.4635, 31.2032), (121.4622, 31.2064), (121.4578, 31.2050), (121.4576, 31.2086),
      (121.4767, 31.2159), (121.4802, 31.2089), (121.4721, 31.2054)]),
    ("310101015", "半淞园路街道", "Bansongyuan Road", "bansongyuan", 2.84,
     [(121.5008, 31.2075), (121.4916, 31.1957), (121.4868, 31.2012), (121.4825, 31.1997), (121.4799, 31.2069),
      (121.4800, 31.2099), (121.4775, 31.2134), (121.4919, 31.2151), (121.4964, 31.2125), (121.4976, 31.2101),
      (121.5008, 31.2075)]),
    ("310101019", "老西门街道", "Laoximen", "laoximen", 1.21,
     [(121.4775, 31.2134), (121.4762, 31.2183), (121.4792, 31.2196), (121.4785, 31.2210), (121.4805, 31.2212),
      (121.4848, 31.2237), (121.4897, 31.2241), (121.4913, 31.2150), (121.4775, 31.2134)]),
    ("310101018", "豫园街道", "Yuyuan", "yuyuan", 1.19,
     [(121.4785, 31.2210), (121.4760, 31.2277), (121.4827, 31.2310), (121.4905, 31.2310), (121.4928, 31.2274),
      (121.4910, 31.2274), (121.4909, 31.2240), (121.4848, 31.2237), (121.4805, 31.2212), (121.4785, 31.2210)]),
    ("310101020", "五里桥街道", "Wuliqiao", "wuliqiao", 3.08,
     [(121.4710, 31.1900), (121.4703, 31.1923), (121.4659, 31.1933), (121.4635, 31.2032), (121.4721, 31.2054),
      (121.4802, 31.2089), (121.4799, 31.2069), (121.4825, 31.1997), (121.4868, 31.2012), (121.4916, 31.1957),
      (121.4851, 31.1931), (121.4710, 31.1900)]),
    ("310101002", "南京东路街道", "Nanjing East Road", "nanjingdonglu", 2.39, None),
    ("310101013", "外滩街道", "The Bund", "waitan", 2.18, None),
    ("310101017", "小东门街道", "Xiaodongmen", "xiaodongmen", 2.62, None),
    ("310101022", "淮海中路街道", "Middle Huaihai Road", "huaihaizhonglu", 1.40, None),
    ("310101023", "瑞金二路街道", "Ruijin No.2 Road", "ruijinerlu", 1.94, None),
]
SAMPLES = {"dapuqiao": ("DPQ", "打浦桥"), "bansongyuan": ("BSY", "半淞园路")}
HALO_M = 150.0
SEEDS = range(40)


def build_subdistricts() -> gpd.GeoDataFrame:
    rows = [
        {"code": c, "name_zh": zh, "name_en": en, "slug": slug, "area_km2": area, "outline": "approximate" if pts else "none",
         "geometry": Polygon(pts) if pts else None}
        for c, zh, en, slug, area, pts in SUBDISTRICTS
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def build_sample(outline_wgs84: Polygon, slug: str) -> tuple[gpd.GeoDataFrame, dict]:
    prefix, name_zh = SAMPLES[slug]
    crs = utm_crs_for(outline_wgs84.centroid.x, outline_wgs84.centroid.y)
    outline = gpd.GeoSeries([outline_wgs84], crs="EPSG:4326").to_crs(crs).iloc[0]
    region = outline.buffer(HALO_M)
    best = None
    for seed in SEEDS:
        b = generate_buildings(region, crs=crs, seed=seed, id_prefix=prefix, name_prefix_zh=name_zh)
        inside = b[b.geometry.centroid.within(outline)]
        stats = stock_statistics(inside, outline.area / 1e6)
        d = distance_to_targets(stats)
        if best is None or d < best[0]:
            best = (d, seed, b, stats)
    d, seed, b, stats = best
    stats = {k: round(float(v), 3) for k, v in stats.items()}
    stats.update({"seed": seed, "distance_to_facts": round(d, 3), "buildings_with_halo": len(b)})
    stats["euluc_share"] = {k or "unknown": round(float(v), 3) for k, v in b[b.geometry.centroid.within(outline)]["euluc_class"].value_counts(normalize=True).items()}
    return b.to_crs("EPSG:4326"), stats


def main() -> None:
    subs = build_subdistricts()
    subs.to_file(HERE / "subdistricts.geojson", driver="GeoJSON", COORDINATE_PRECISION=5)
    (HERE / "buildings").mkdir(exist_ok=True)
    all_stats = {}
    for slug in SAMPLES:
        outline = subs.loc[subs.slug == slug].geometry.iloc[0]
        buildings, stats = build_sample(outline, slug)
        buildings.to_file(HERE / "buildings" / f"{slug}.geojson", driver="GeoJSON", COORDINATE_PRECISION=7)
        all_stats[slug] = stats
        print(slug, stats)
    (HERE / "buildings" / "stats.json").write_text(json.dumps(all_stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (HERE / "weather").mkdir(exist_ok=True)
    weather = typical_year_from_monthly()
    out = weather.round({"ghi": 2, "dni": 2, "dhi": 2, "temp_air": 2, "wind_speed": 2})
    out.index = out.index.strftime("%Y-%m-%dT%H:%M:%S+08:00")
    with open(HERE / "weather" / "shanghai_typical_year.csv", "w", encoding="utf-8", newline="\n") as f:
        f.write("# Synthetic Shanghai typical year from FACTS §4 monthly figures; made by data/build.py. "
                "Rows are labelled by the start of each hour (UTC+8).\n")
        out.to_csv(f, index_label="time", lineterminator="\n")
    print("weather annual GHI kWh/m2:", round(weather["ghi"].sum() / 1000, 1))


if __name__ == "__main__":
    main()
