"""Facade PV: wall segments, shared walls, sky view and beam shade of vertical walls, and the yield against pvlib."""

from __future__ import annotations

import json
import math
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from test_solar import modelchain_annual_kwh

from solarmap import facades, store
from solarmap.assessment import assess_buildings, assess_in_tiles, prepare
from solarmap.columns import FACADE_COLUMNS
from solarmap.config import Config, FacadesConfig, load_config
from solarmap.errors import ConfigError
from solarmap.solar import pv_model_description, sun_positions
from solarmap.sources.footprints import footprints_from_frame
from solarmap.sources.weather import read_embedded
from solarmap.synth import generate_buildings

CRS = "EPSG:32651"
X0, Y0 = 352400.0, 3453400.0  # Huangpu, UTM 51N


@pytest.fixture(scope="module")
def weather():
    w = read_embedded()
    return w, sun_positions(w)


def _buildings(boxes, heights, ids=None, **columns) -> gpd.GeoDataFrame:
    ids = ids or [f"B{k}" for k in range(len(boxes))]
    g = gpd.GeoDataFrame({"building_id": ids, "height_m": heights, **columns}, geometry=list(boxes), crs=CRS)
    return prepare(footprints_from_frame(g, source="test"), Config(), baseline_year=2021)


def _assess(boxes, heights, weather, cfg=None, ids=None):
    w, sun = weather
    return assess_buildings(_buildings(boxes, heights, ids), cfg or Config(), weather=w, sun=sun)


def _box(x, y, w, h):
    return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


def test_isolated_tower_has_four_open_facades_and_the_south_one_equals_modelchain(weather):
    w, _ = weather
    roofs, f = _assess([_box(0, 0, 20, 20)], [30.0], weather)
    assert len(f) == 4
    assert sorted(f["surface_azimuth_deg"]) == [0.0, 90.0, 180.0, 270.0]
    assert np.allclose(f["length_m"], 20.0) and (f["exposed_from_m"] == 0).all() and (f["exposed_to_m"] == 30).all()
    # nothing in front of any wall, the own walls behind: 1 up to rounding
    assert f["sky_view_factor"].to_numpy() == pytest.approx(np.ones(4), abs=1e-12)
    # never above the open wall's: an open wall loses nothing, not −2e-14 % (the quotient's rounding above 1)
    assert (f["sky_view_factor"] <= 1.0).all() and (f["shading_loss_pct"] == 0.0).all()
    south = f[f["surface_azimuth_deg"] == 180.0].iloc[0]
    # usable: 20 m × (30 − 4 m ground storey) × 0.3 (use class unknown) at 100 W/m²
    assert south["usable_area_m2"] == pytest.approx(20 * 26 * 0.3) and south["capacity_kwp"] == pytest.approx(15.6)
    pv_model = pv_model_description(facades.pv_config(Config()), w)
    ref = modelchain_annual_kwh(pv_model, w, 1.0, 90.0, 180.0)  # kWh per kWp: ModelChain, tilt 90°, south
    # the same pvlib functions on the same hours; what differs is summation order: far inside 1e-6
    assert south["annual_kwh_unshaded"] / south["capacity_kwp"] == pytest.approx(ref, rel=1e-6)
    assert south["annual_kwh"] == pytest.approx(south["annual_kwh_unshaded"], rel=1e-12) and south["suitable"]
    north = f[f["surface_azimuth_deg"] == 0.0].iloc[0]
    assert not north["suitable"] and north["reason"] == "low_yield"
    assert north["specific_yield_kwh_per_kwp"] < FacadesConfig().min_specific_yield_kwh_per_kwp
    assert f.loc[f["surface_azimuth_deg"].isin([90.0, 270.0]), "suitable"].all()
    # per building: the suitable facades summed
    assert roofs["facade_capacity_kwp"].iloc[0] == pytest.approx(3 * 15.6)
    assert roofs["facade_annual_kwh"].iloc[0] == pytest.approx(f.loc[f["suitable"], "annual_kwh"].sum())


# a 30 m tower whose south wall (y = 0) faces a 200 m slab, height H, its north face D m to the south
H, D = 40.0, 20.0


@pytest.fixture(scope="module")
def tower_and_slab(weather):
    tower, slab = _box(0, 0, 20, 20), _box(-90, -D - 10, 200, 10)
    cfg = Config()
    b = _buildings([tower, slab], [30.0, H])
    table = facades.facade_surfaces(b, np.array([True, False]), cfg.facades)
    shade = facades.facade_shade(table, b, cfg)
    south = int(np.flatnonzero(table["surface_azimuth_deg"].to_numpy() == 180.0)[0])
    return table, shade, south


def test_sky_view_factor_in_front_of_a_long_slab_matches_the_analytic_view_factor(tower_and_slab):
    table, shade, south = tower_and_slab
    xy, z, owner, _ = facades.facade_points(table, FacadesConfig())
    pts = np.flatnonzero(owner == south)
    assert len(pts) >= 8 and len(np.unique(z[pts])) >= 3
    # The SVF is the view factor of the wall to the sky (cosine weighted, isotropic sky) over that of an open
    # vertical wall (1/2). In the plane across an infinitely long slab the sky runs from the slab's top edge, at
    # α = atan((H − z)/D) above the horizontal, to the zenith; the 2-D view factor between two directions at θ1,
    # θ2 from the wall's normal is (sin θ2 − sin θ1)/2, so F = (1 − sin α)/2 and SVF = 2F = 1 − sin α. The slab's
    # ends (100 m away, 79° off the normal) and the 2° sectors keep the 3-D figure within 0.02 of it.
    svf = shade._svf_points[pts]
    analytic = 1.0 - np.sin(np.arctan((H - z[pts]) / D))
    assert np.abs(svf - analytic).max() < 0.02
    assert svf.min() < 0.2 and svf.max() > 0.4  # the heights sampled see very different skies


def _brute_force_beam_loss(x_range, z_range, slab_box, az, el, dni, n=40):
    """Independent ray cast: a dense grid on the wall (the plane y = Y0, facing south), a ray to the sun from each
    grid point each hour, tested against the slab as an axis-aligned box (the slab method); hours weighted by the
    beam on the wall, DNI × cos(incidence)."""
    xs = np.linspace(*x_range, n + 1)[:-1] + (x_range[1] - x_range[0]) / n / 2
    zs = np.linspace(*z_range, n + 1)[:-1] + (z_range[1] - z_range[0]) / n / 2
    px, pz = (a.ravel() for a in np.meshgrid(xs, zs))
    a, e = np.radians(az), np.radians(el)
    d = np.stack([np.sin(a) * np.cos(e), np.cos(a) * np.cos(e), np.sin(e)])  # (3, hours)
    cos_inc = -d[1]  # the wall's normal is (0, −1, 0)
    front = cos_inc > 0
    d, w = d[:, front], (dni * cos_inc)[front]
    lo, hi = np.array(slab_box[0]), np.array(slab_box[1])
    origin = np.stack([px, np.full_like(px, Y0), pz])  # (3, points)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d[:, None, :]
        t1 = (lo[:, None, None] - origin[:, :, None]) * inv
        t2 = (hi[:, None, None] - origin[:, :, None]) * inv
    t1, t2 = np.nan_to_num(t1, nan=-np.inf), np.nan_to_num(t2, nan=np.inf)
    t_in = np.minimum(t1, t2).max(axis=0)
    t_out = np.maximum(t1, t2).min(axis=0)
    blocked = (t_in < t_out) & (t_out > 0)  # (points, hours)
    visible = 1.0 - blocked.mean(axis=0)
    return 1.0 - (w * visible).sum() / w.sum()


def test_annual_beam_loss_in_front_of_a_slab_matches_a_brute_force_ray_cast(tower_and_slab, weather):
    table, shade, south = tower_and_slab
    w, sun = weather
    up = sun.apparent_elevation > 0
    az, el, dni = sun.azimuth[up], sun.apparent_elevation[up], w.data["dni"].to_numpy()[up]
    cos_inc = np.cos(np.radians(el)) * -np.cos(np.radians(az))
    front = cos_inc > 0
    weight = (dni * cos_inc)[front]
    vis = shade.sun_visible(np.array([south]), az[front], el[front])[0]
    loss = 1.0 - (weight * vis).sum() / weight.sum()
    cfg = FacadesConfig()
    slab = ((X0 - 90, Y0 - D - 10, 0.0), (X0 + 110, Y0 - D, H))
    reference = _brute_force_beam_loss((X0, X0 + 20), (cfg.ground_storey_m, 30.0), slab, az[front], el[front],
                                       dni[front])
    # 2 percentage points covers the facade's 3 × 4 sample points and 2° sectors against 1,600 exact rays
    assert 0.2 < reference < 0.9
    assert loss == pytest.approx(reference, abs=0.02)


def test_a_shared_wall_is_no_facade_below_the_neighbours_height(weather):
    low, high = _box(-30, 0, 30, 15), _box(0, -10, 20, 35)  # share 15 m of the line x = 0: y from 0 to 15
    _, f = _assess([low, high], [20.0, 60.0], weather, ids=["LOW", "HIGH"])
    lo, hi = f[f["building_id"] == "LOW"], f[f["building_id"] == "HIGH"]
    assert not (lo["surface_azimuth_deg"] == 90.0).any()  # the low building's east wall is all shared
    assert sorted(lo["surface_azimuth_deg"]) == [0.0, 180.0, 270.0]
    west = hi[hi["surface_azimuth_deg"] == 270.0].sort_values("exposed_from_m")
    # the tower's west wall: 10 m open below the shared stretch, the 15 m shared stretch from 20 m, 10 m open above
    assert west["length_m"].round(6).tolist() == [10.0, 10.0, 15.0]
    shared = west.iloc[-1]
    assert shared["exposed_from_m"] == 20.0 and shared["exposed_to_m"] == 60.0
    assert shared["gross_area_m2"] == pytest.approx(15 * 40)
    assert shared["usable_area_m2"] == pytest.approx(15 * 40 * 0.3)  # above 20 m the ground storey plays no part
    assert (hi.loc[hi["surface_azimuth_deg"] != 270.0, "exposed_from_m"] == 0).all()


def test_terraced_houses_keep_only_their_end_and_street_walls(weather):
    units = [_box(6 * k, 0, 6, 10) for k in range(4)]
    _, f = _assess(units, [10.0] * 4, weather)
    assert len(f) == 4 * 2 + 2  # front and back of each unit, and the two ends
    ends = f[f["surface_azimuth_deg"].isin([90.0, 270.0])]
    assert sorted(ends["building_id"]) == ["B0", "B3"]
    assert np.allclose(f.loc[f["surface_azimuth_deg"].isin([0.0, 180.0]), "length_m"], 6.0)
    # a unit one storey taller shows its party walls above its neighbours only
    _, f = _assess(units, [10.0, 13.0, 10.0, 10.0], weather)
    party = f[(f["building_id"] == "B1") & f["surface_azimuth_deg"].isin([90.0, 270.0])]
    assert len(party) == 2 and (party["exposed_from_m"] == 10.0).all() and np.allclose(party["gross_area_m2"], 30.0)
    assert (party["reason"] == "too_small").all()  # 10 m by 3 m, less the windows, is below 10 m²


def test_courtyard_walls_face_inwards_and_see_the_far_side(weather):
    ring = shapely.difference(_box(0, 0, 40, 40), _box(12, 12, 16, 16))
    _, f = _assess([ring], [24.0], weather)
    assert len(f) == 8
    outer = f[f["length_m"].round(6) == 40.0]
    inner = f[f["length_m"].round(6) == 16.0]
    assert len(outer) == 4 and len(inner) == 4
    assert outer["sky_view_factor"].to_numpy() == pytest.approx(np.ones(4), abs=1e-12)
    # the courtyard's north side faces south (180°) across 16 m to the 24 m high south wing
    north_side = inner[inner["surface_azimuth_deg"] == 180.0].iloc[0]
    assert north_side["sky_view_factor"] < 0.6 and north_side["shading_loss_pct"] > 20
    assert sorted(inner["surface_azimuth_deg"]) == [0.0, 90.0, 180.0, 270.0]


def test_collinear_vertices_merge_short_jogs_drop_and_round_towers_are_cut(weather):
    # a south wall digitised in three collinear pieces, and a 1 m jog on the north side
    poly = shapely.Polygon([(0, 0), (7, 0), (13, 0), (20, 0), (20, 20), (10.5, 20), (10.5, 21), (9.5, 21), (9.5, 20),
                            (0, 20)])
    poly = shapely.affinity.translate(poly, X0, Y0)
    segs = facades.facade_segments(np.array([poly]), np.array([20.0]), np.array([True]), FacadesConfig())
    south = segs[np.isclose(segs["azimuth_deg"], 180.0)]
    assert len(south) == 1 and south["length_m"].iloc[0] == pytest.approx(20.0)
    assert (segs["length_m"] >= FacadesConfig().min_length_m).all()  # the jog's 1 m walls are gone
    assert len(segs) == 5  # south, east, two north pieces beside the jog, west
    tower = shapely.Point(X0, Y0).buffer(15.0, quad_segs=32)  # 128 sides of 2.8° each
    segs = facades.facade_segments(np.array([tower]), np.array([60.0]), np.array([True]), FacadesConfig())
    assert 16 <= len(segs) <= 20  # cut every 20° of turning
    assert segs["length_m"].sum() == pytest.approx(tower.exterior.length)


def test_facades_of_tiles_equal_one_pass(weather):
    w, sun = weather
    region = shapely.box(352000, 3453000, 352000 + 900, 3453000 + 900)
    raw = generate_buildings(region, crs=CRS, seed=7, id_prefix="T")
    cfg = Config()
    roofs = prepare(footprints_from_frame(raw, source="synthetic"), cfg, baseline_year=2021)
    single_roofs, single = assess_buildings(roofs, cfg, weather=w, sun=sun)
    out: list = []
    tiled_roofs = assess_in_tiles(roofs, cfg, weather=w, sun=sun, tile_size_m=300.0, facades_out=out)
    tiled = out[0]
    assert len(single) > 1000
    assert tiled["facade_id"].tolist() == single["facade_id"].tolist()
    for c in FACADE_COLUMNS:
        a, b = single[c].to_numpy(), tiled[c].to_numpy()
        if a.dtype.kind == "f":
            assert np.allclose(a, b, rtol=1e-9, atol=0, equal_nan=True), c
        else:
            assert (a == b).all(), c
    assert np.allclose(single_roofs["facade_annual_kwh"], tiled_roofs["facade_annual_kwh"], rtol=1e-9, equal_nan=True)


def test_pv_share_table_is_checked():
    with pytest.raises(ConfigError, match=re.escape("'facades.pv_share.ofice': unknown use class")):
        Config(facades=FacadesConfig(pv_share={"ofice": 0.5})).validate()
    with pytest.raises(ConfigError, match=re.escape("'facades.pv_share.office' = 1.5 must be a share")):
        Config(facades=FacadesConfig(pv_share={"office": 1.5})).validate()


def test_the_pipeline_file_takes_facade_settings(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("[facades]\nground_storey_m = 5.0\n[facades.pv_share]\noffice = 0.7\n", encoding="utf-8")
    cfg = load_config(p)
    assert cfg.facades.ground_storey_m == 5.0 and cfg.facades.pv_share == {"office": 0.7}


def test_dapuqiao_facades_reach_every_output(dapuqiao_run):
    run = dapuqiao_run / "dapuqiao"
    f = pd.read_csv(run / "facades.csv", encoding="utf-8-sig")
    assert list(f.columns) == list(FACADE_COLUMNS)
    assert f["facade_id"].is_unique and len(f) > 1000
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    t = summary["facades"]["totals"]
    assert t["facades"] == len(f) and t["suitable"] == int(f["suitable"].sum())
    # the summary rounds to 0.1 kWp, the CSV each facade to 1 Wp
    assert t["capacity_kwp"] == pytest.approx(f.loc[f["suitable"], "capacity_kwp"].sum(), abs=0.05 + 5e-4 * len(f))
    by = summary["facades"]["by_orientation"]
    assert by["S"]["annual_kwh_all"] > by["N"]["annual_kwh_all"] and by["S"]["annual_kwh"] > by["N"]["annual_kwh"]
    assert set(f.loc[~f["suitable"], "reason"]) <= {"ground_storey", "too_small", "low_yield", "shaded"}
    assert (f.loc[f["suitable"], "reason"].isna()).all()
    for stage in ("facade_surfaces", "facade_shading", "facade_yield"):
        assert stage in summary["timings_s"]
    roofs = pd.read_csv(run / "roofs.csv", encoding="utf-8-sig")
    per_building = f[f["suitable"]].groupby("building_id")["capacity_kwp"].sum()
    got = roofs.set_index("building_id")["facade_capacity_kwp"]
    assert np.allclose(got.loc[per_building.index], per_building, atol=0.01)
    assert (got[roofs.set_index("building_id")["assessment"].eq("assessed")] >= 0).all()
    layer = gpd.read_file(run / "roofs.gpkg", layer="facades")
    assert len(layer) == len(f) and set(layer.geom_type) == {"LineString"} and layer.crs.to_epsg() == 4326
    n = store.query(dapuqiao_run / "solarmap.duckdb",
                    f"SELECT count(*) AS n FROM facades WHERE run_id = '{summary['run_id']}'")["n"].iloc[0]
    assert n == len(f)
    html = (run / "map.html").read_text(encoding="utf-8")
    assert "Facade PV by yield" in html and "sm-legend-facades" in html
    assert "Facade PV" in (run / "report.html").read_text(encoding="utf-8")


def test_no_facades_leaves_the_roofs_as_they_are(dapuqiao_run, tmp_path):
    from solarmap.cli import main

    assert main(["run", "dapuqiao", "--out", str(tmp_path), "--no-facades", "-q"]) == 0
    run = tmp_path / "dapuqiao"
    assert not (run / "facades.csv").exists()
    assert "facades" not in json.loads((run / "summary.json").read_text(encoding="utf-8"))
    off = pd.read_csv(run / "roofs.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    on = pd.read_csv(dapuqiao_run / "dapuqiao" / "roofs.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert set(on.columns) - set(off.columns) == {"facade_capacity_kwp", "facade_annual_kwh"}
    assert on.drop(columns=["facade_capacity_kwp", "facade_annual_kwh"]).equals(off)  # the same text, cell by cell


def test_facade_columns_are_documented_with_units_and_chinese_labels():
    for c in FACADE_COLUMNS.values():
        assert c.description and c.zh and c.label and c.group == "facade"
        assert c.unit or c.dtype != "float", f"{c.name} is a number without a unit"
        for suffix, unit in (("_m2", "m²"), ("_kwp", "kWp"), ("_pct", "%"), ("_deg", "°"), ("_kwh", "kWh")):
            if c.name.endswith(suffix):
                assert unit in c.unit, c.name


def test_a_tower_drawn_on_its_podium_rises_from_the_podium_roof(weather):
    podium, tower = _box(0, 0, 60, 40), _box(10, 10, 30, 20)  # the tower's footprint lies wholly on the podium
    _, f = _assess([podium, tower], [12.0, 80.0], weather, ids=["P", "T"])
    t, p = f[f["building_id"] == "T"], f[f["building_id"] == "P"]
    assert len(t) == 4 and (t["exposed_from_m"] == 12.0).all() and (t["exposed_to_m"] == 80.0).all()
    assert len(p) == 4 and (p["exposed_from_m"] == 0.0).all()
    # a tower half on the podium's edge: its wall is cut where it leaves the podium
    podium, tower = _box(0, 0, 60, 40), _box(10, 30, 20, 20)  # y 30-50, the podium ends at y = 40
    _, f = _assess([podium, tower], [12.0, 80.0], weather, ids=["P", "T"])
    west = f[(f["building_id"] == "T") & (f["surface_azimuth_deg"] == 270.0)].sort_values("exposed_from_m")
    assert west["length_m"].round(6).tolist() == [10.0, 10.0] and west["exposed_from_m"].tolist() == [0.0, 12.0]
    north_of_podium = f[(f["building_id"] == "P") & (f["surface_azimuth_deg"] == 0.0)]
    assert sorted(north_of_podium["length_m"].round(6)) == [10.0, 30.0]  # the 20 m under the tower is no facade
    # the same outline drawn twice hides nothing of either
    _, f = _assess([_box(0, 0, 20, 20), _box(0, 0, 20, 20)], [30.0, 30.0], weather, ids=["A", "A2"])
    a = f[f["building_id"] == "A"]
    assert len(a) == 4 and (a["exposed_from_m"] == 0.0).all()


def test_walls_of_a_pitched_roof_stop_at_the_eave(weather):
    w, sun = weather
    # a gabled 30 m × 10 m house, 12 m to the ridge at 30°: the ridge runs east-west, the rise is 5 tan 30° = 2.89 m
    b = _buildings([_box(0, 0, 30, 10)], [12.0], roof_shape=["gabled"], roof_pitch_deg=[30.0])
    roofs, f = assess_buildings(b, Config(), weather=w, sun=sun)
    eave = 12.0 - 5.0 * math.tan(math.radians(30.0))
    assert roofs["roof_shape"].iloc[0] == "gabled"
    assert len(f) == 4 and np.allclose(f["exposed_to_m"], eave)  # the gable triangles above the eave left out
    flat = _assess([_box(0, 0, 30, 10)], [12.0], weather)[1]
    assert np.allclose(flat["exposed_to_m"], 12.0)
