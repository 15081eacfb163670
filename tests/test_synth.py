"""The embedded sample buildings: their statistics against FACTS §3, and that the generator reproduces them."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from solarmap.resources import BUILDINGS_DIR
from solarmap.sources.coords import utm_crs_for
from solarmap.sources.subdistricts import find_subdistrict
from solarmap.synth import DAPUQIAO_TARGETS, generate_buildings, stock_statistics

STATS = json.loads((BUILDINGS_DIR / "stats.json").read_text(encoding="utf-8"))


def _inside(slug):
    sub = find_subdistrict(slug)
    crs = utm_crs_for(sub.outline.centroid.x, sub.outline.centroid.y)
    b = gpd.read_file(BUILDINGS_DIR / f"{slug}.geojson").to_crs(crs)
    outline = gpd.GeoSeries([sub.outline], crs=4326).to_crs(crs).iloc[0]
    return b, outline, crs


@pytest.mark.parametrize("slug", ["dapuqiao", "bansongyuan"])
def test_sample_statistics_are_near_the_real_stock(slug):
    b, outline, _ = _inside(slug)
    inside = b[b.geometry.centroid.within(outline)]
    s = stock_statistics(inside, outline.area / 1e6)
    # within 25 % of the real Dapuqiao figures (FACTS §3) on every statistic: a sample, not a copy
    for key, target in DAPUQIAO_TARGETS.items():
        assert s[key] == pytest.approx(target, rel=0.25), key
    assert 150 <= s["height_max"] <= 180
    uses = inside["euluc_class"].value_counts(normalize=True)
    assert 0.45 <= uses["居住用地"] <= 0.75
    public = uses.reindex(["行政办公用地", "教育科研用地", "医疗卫生用地", "体育与文化用地"]).fillna(0).sum()
    assert 0.02 <= public <= 0.15
    assert (inside["year_built"] >= 2021).any() and (inside["existing_pv_kwp"] > 0).any()
    assert inside["name"].fillna("").str.len().gt(0).sum() >= 5


def test_generator_reproduces_the_embedded_file():
    b, outline, crs = _inside("dapuqiao")
    regen = generate_buildings(outline.buffer(150.0), crs=crs, seed=STATS["dapuqiao"]["seed"], id_prefix="DPQ",
                               name_prefix_zh="打浦桥")
    assert list(regen["building_id"]) == list(b["building_id"])
    # the file stores 7 decimals of a degree (about 1 cm)
    assert np.max(shapely.hausdorff_distance(regen.geometry.to_numpy(), b.geometry.to_numpy())) < 0.05
    assert regen["height_m"].equals(b["height_m"])
