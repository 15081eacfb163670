"""Roofs under roofs (issue 18, case 8): the part of a footprint under a taller footprint is not roof."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from solarmap.assessment import assess_roofs as assess
from solarmap.assessment import prepare
from solarmap.config import Config
from solarmap.overlaps import roof_parts
from solarmap.solar import sun_positions
from solarmap.sources.footprints import footprints_from_frame
from solarmap.sources.weather import read_embedded

X0, Y0 = 352500.0, 3453500.0  # Dapuqiao, EPSG:32651


@pytest.fixture(scope="module")
def env():
    w = read_embedded()
    return w, sun_positions(w)


def _run(geoms, heights, env, ids=None):
    weather, sun = env
    ids = ids or [f"B{i}" for i in range(len(geoms))]
    b = gpd.GeoDataFrame({"building_id": ids, "height_m": heights},
                         geometry=gpd.GeoSeries([shapely.affinity.translate(g, X0, Y0) for g in geoms], crs=32651))
    cfg = Config()
    roofs = prepare(footprints_from_frame(b, source="test"), cfg, baseline_year=2021)
    return assess(roofs, cfg, weather=weather, sun=sun).set_index("building_id")


def test_podium_roof_is_its_footprint_less_the_tower_and_the_tower_shades_it(env):
    podium = shapely.box(0, 0, 30, 30)
    tower = shapely.box(7.5, 0, 22.5, 15)  # 15 m × 15 m on the podium's south edge, drawn over it
    far = shapely.box(500, 500, 510, 510)  # a second building so that neighbour imputation has nothing to do
    out = _run([podium, tower, far], [20.0, 80.0, 20.0], env)
    twin = _run([podium, far], [20.0, 20.0], env)  # the same podium, no tower
    assert len(out) == 3 and len(twin) == 2  # rows in = rows out
    p = out.loc["B0"]
    assert p["assessment"] == "assessed" and p["roof_overlap"]
    assert p["roof_area_m2"] == pytest.approx(900.0 - 225.0, abs=0.01)
    assert p["covered_area_m2"] == pytest.approx(225.0, abs=0.01)
    assert p["usable_area_m2"] < twin.loc["B0", "usable_area_m2"]
    assert p["capacity_kwp"] < twin.loc["B0", "capacity_kwp"]
    # the output geometry stays the footprint
    assert out.geometry.loc["B0"].area == pytest.approx(900.0)
    # the tower stands on the podium's south edge: what is left of the roof lies in its shade at noon
    assert p["shading_loss_pct"] > 10.0
    assert twin.loc["B0", "shading_loss_pct"] == pytest.approx(0.0, abs=0.01)
    # the tower's own roof is whole and nothing covers it
    t = out.loc["B1"]
    assert t["roof_area_m2"] == pytest.approx(225.0) and not t["roof_overlap"] and t["covered_area_m2"] == 0


def test_footprint_wholly_under_a_taller_one_is_covered(env):
    block = shapely.box(0, 0, 40, 20)
    annex = shapely.box(10, 5, 20, 15)  # drawn inside the taller block
    far = shapely.box(500, 500, 510, 510)
    out = _run([block, annex, far], [30.0, 12.0, 20.0], env)
    assert len(out) == 3
    a = out.loc["B1"]
    assert a["assessment"] == "excluded" and a["reason"] == "covered" and a["roof_overlap"]
    assert a["covered_area_m2"] == pytest.approx(100.0)
    assert np.isnan(a["capacity_kwp"])
    b = out.loc["B0"]
    assert b["assessment"] == "assessed" and b["roof_area_m2"] == pytest.approx(800.0) and not b["roof_overlap"]


def test_equal_heights_the_later_row_loses_the_shared_part():
    a = shapely.box(0, 0, 20, 10)
    b = shapely.box(10, 0, 30, 10)
    dup = shapely.box(0, 0, 20, 10)  # `a` drawn twice
    parts = roof_parts(np.array([a, b, dup]), np.array([15.0, 15.0, 15.0]))
    assert shapely.area(parts.roof).tolist() == pytest.approx([200.0, 100.0, 0.0])
    assert parts.covered.tolist() == [False, False, True]
    assert parts.overlap.tolist() == [False, True, True]
    # the order decides, not the geometry: swapped rows swap the loser
    swapped = roof_parts(np.array([b, a]), np.array([15.0, 15.0]))
    assert shapely.area(swapped.roof).tolist() == pytest.approx([200.0, 100.0])


def test_small_overlaps_rims_and_missing_heights():
    a = shapely.box(0, 0, 20, 20)
    touching = shapely.box(-10, 0, 0, 20)  # shares a wall with `a`: no area in common
    rim = shapely.box(0.3, 0.3, 20.3, 20.3)  # `a` redrawn 0.3 m off, taller: the 0.3 m rim left is no roof
    parts = roof_parts(np.array([a, touching, rim]), np.array([10.0, 30.0, 12.0]))
    assert parts.covered.tolist() == [True, False, False] and parts.overlap.tolist() == [True, False, False]
    assert parts.covered_area_m2[0] == pytest.approx(19.7 * 19.7)
    noise = shapely.box(19.9, 0, 25, 5)  # 0.5 m² over `a`: digitising noise, `a` keeps its footprint
    parts = roof_parts(np.array([a, noise]), np.array([10.0, 30.0]))
    assert not parts.overlap.any() and parts.covered_area_m2[0] == 0 and shapely.area(parts.roof[0]) == 400.0
    # without a height a building neither covers nor is covered; a null geometry takes no part
    parts = roof_parts(np.array([a, shapely.box(5, 5, 10, 10), None]), np.array([10.0, np.nan, 5.0]))
    assert not parts.overlap.any() and not parts.covered.any()


def test_many_overlapping_buildings_in_one_pass():
    # a 60 × 60 grid of 10 m boxes, each with a taller 4 m × 4 m box over one corner
    xs, ys = np.meshgrid(np.arange(60) * 15.0, np.arange(60) * 15.0)
    base = shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + 10, ys.ravel() + 10)
    top = shapely.box(xs.ravel() - 2, ys.ravel() - 2, xs.ravel() + 2, ys.ravel() + 2)
    geoms = np.concatenate([base, top])
    heights = np.r_[np.full(3600, 10.0), np.full(3600, 40.0)]
    parts = roof_parts(geoms, heights)
    assert parts.overlap[:3600].all() and not parts.overlap[3600:].any()
    assert parts.covered_area_m2[:3600] == pytest.approx(4.0)
    assert shapely.area(parts.roof[:3600]) == pytest.approx(96.0)
