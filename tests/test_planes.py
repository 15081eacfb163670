"""Roof planes (issue 12): pitched roofs as planes with their own tilt, azimuth, area, shade and yield."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from test_solar import modelchain_annual_kwh

from solarmap import planes, shading
from solarmap.assessment import assess_in_tiles, assess_roofs, prepare, run_assessment
from solarmap.config import Config, ConfigError, config_from_dict
from solarmap.roofs import layout_roofs
from solarmap.solar import pv_model_description, roof_yields, sun_positions
from solarmap.sources.footprints import footprints_from_frame
from solarmap.sources.weather import read_embedded

X0, Y0 = 352500.0, 3453500.0  # Dapuqiao, EPSG:32651


@pytest.fixture(scope="module")
def env():
    w = read_embedded()
    return w, sun_positions(w)


def _frame(geoms, heights, **cols):
    ids = cols.pop("building_id", [f"B{i}" for i in range(len(geoms))])
    return gpd.GeoDataFrame({"building_id": ids, "height_m": heights, **cols},
                            geometry=gpd.GeoSeries([shapely.affinity.translate(g, X0, Y0) for g in geoms], crs=32651))


def _assess(frame, env, cfg=None):
    weather, sun = env
    cfg = cfg or Config()
    roofs = prepare(footprints_from_frame(frame, source="test"), cfg, baseline_year=2021)
    out: list = []
    r = assess_roofs(roofs, cfg, weather=weather, sun=sun, latitude_deg=31.2, planes_out=out)
    return r.set_index("building_id"), out[0]


# --- planes from shapes: analytic geometry -------------------------------------------------------------------

def test_gabled_10_by_20_ridge_east_west_gives_two_30_degree_planes_of_115_5_m2(env):
    roofs, p = _assess(_frame([shapely.box(0, 0, 20, 10)], [9.0], roof_shape=["gabled"], roof_pitch_deg=[30.0]), env)
    p = p.sort_values("surface_azimuth_deg")
    assert len(p) == 2
    # ridge along the long (east-west) side: one plane faces north, one south
    np.testing.assert_allclose(p["surface_azimuth_deg"], [0.0, 180.0], atol=1e-9)
    np.testing.assert_allclose(p["surface_tilt_deg"], 30.0, atol=1e-9)
    # each plane: 20 m × 5 m in plan, 100 / cos 30° = 115.47 m² along the slope (analytic)
    np.testing.assert_allclose(p["plane_area_m2"], 100.0 / math.cos(math.radians(30.0)), rtol=1e-9)
    assert p["plane_area_m2"].round(1).tolist() == [115.5, 115.5]
    north, south = p.iloc[0], p.iloc[1]
    assert not north["suitable"] and north["reason"] == "north_facing"
    assert south["suitable"] and south["reason"] == ""
    b = roofs.loc["B0"]
    assert b["roof_shape"] == "gabled" and b["roof_shape_source"] == "column" and b["roof_planes"] == 2
    assert b["roof_planes_used"] == 1 and b["capacity_kwp"] == pytest.approx(south["capacity_kwp"])
    assert b["surface_azimuth_deg"] == pytest.approx(180.0) and b["suitable"]
    assert b["roof_slope_area_m2"] == pytest.approx(200.0 / math.cos(math.radians(30.0)))


def test_the_south_plane_alone_yields_what_modelchain_gives_at_30_degrees_south(env):
    weather, _ = env
    _, p = _assess(_frame([shapely.box(0, 0, 20, 10)], [9.0], roof_shape=["gabled"], roof_pitch_deg=[30.0]), env)
    south = p[p["surface_azimuth_deg"].round(6) == 180.0].iloc[0]
    ref = modelchain_annual_kwh(pv_model_description(Config().pv, weather), weather, 1.0, 30.0, 180.0)
    # the same pvlib functions in the same order: only float summation order differs
    assert south["annual_kwh_unshaded"] / south["capacity_kwp"] == pytest.approx(ref, rel=1e-6)
    # alone, nothing shades it: the north plane (the same building) is never an obstacle
    assert south["annual_kwh"] == pytest.approx(south["annual_kwh_unshaded"], rel=1e-12)
    assert south["shading_loss_pct"] == pytest.approx(0.0, abs=1e-9) and south["sky_view_factor"] == 1.0


def test_hipped_12_by_20_at_30_degrees_has_four_planes_summing_to_240_over_cos_30():
    p = planes.shape_planes(np.array([shapely.box(X0, Y0, X0 + 20, Y0 + 12)]), np.array(["hipped"], dtype=object),
                            np.array([30.0]), np.array([10.0]))
    assert len(p) == 4
    np.testing.assert_allclose(p["surface_tilt_deg"], 30.0)
    assert sorted(p["surface_azimuth_deg"].round(6)) == [0.0, 90.0, 180.0, 270.0]
    assert p["plane_area_m2"].sum() == pytest.approx(240.0 / math.cos(math.radians(30.0)), rel=1e-12)
    # the straight skeleton of a 20 × 12 rectangle: trapezoids (20 + 8) / 2 × 6 = 84 m², triangles 12 × 6 / 2 = 36 m²
    assert sorted(p["plane_plan_area_m2"].round(9)) == [36.0, 36.0, 84.0, 84.0]


def test_pyramidal_roof_on_a_square_has_four_equal_planes():
    sq = shapely.affinity.rotate(shapely.box(0, 0, 12, 12), 17.0)  # turned: the planes follow the footprint
    p = planes.shape_planes(np.array([sq]), np.array(["pyramidal"], dtype=object), np.array([35.0]), np.array([20.0]))
    assert len(p) == 4
    np.testing.assert_allclose(p["plane_area_m2"], 36.0 / math.cos(math.radians(35.0)), rtol=1e-9)
    np.testing.assert_allclose(p["surface_tilt_deg"], 35.0, atol=1e-9)
    az = np.sort(p["surface_azimuth_deg"].to_numpy())
    np.testing.assert_allclose(np.diff(az), 90.0, atol=1e-9)
    # the apex is the top: every plane's z at the square's centre is the top height
    z = planes.plane_z(p, np.arange(4), np.full(4, sq.centroid.x), np.full(4, sq.centroid.y))
    np.testing.assert_allclose(z, 20.0, atol=1e-9)


def test_skillion_falls_south_and_across_turns_a_gabled_ridge():
    g = np.array([shapely.box(0, 0, 20, 10), shapely.box(0, 0, 6, 11)])
    p = planes.shape_planes(g, np.array(["skillion", "gabled"], dtype=object), np.array([10.0, 26.0]),
                            np.array([8.0, 12.0]), ridge=np.array(["along", "across"], dtype=object))
    sk = p[p["row"] == 0]
    assert len(sk) == 1 and sk["surface_azimuth_deg"].iloc[0] == pytest.approx(180.0)
    # a terrace unit 6 m wide and 11 m deep with its ridge across (along the terrace): planes face south and north
    lane = p[p["row"] == 1]
    assert sorted(lane["surface_azimuth_deg"].round(6)) == [0.0, 180.0]
    np.testing.assert_allclose(lane["plane_plan_area_m2"], 33.0)


def test_pitch_from_the_roof_height_and_the_shape_rules():
    cfg = Config()
    cfg.roofs.shape_rules = [{"id": "lane", "shape": "gabled", "pitch_deg": 26.0, "categories": ["residential"],
                              "built_before": 1950, "max_floors": 4}]
    frame = _frame([shapely.box(0, 0, 20, 10), shapely.box(40, 0, 60, 10), shapely.box(80, 0, 100, 10),
                    shapely.box(120, 0, 140, 10)], [10.0, 10.0, 10.0, 30.0],
                   **{"roof:shape": ["gabled", None, None, None], "roof:height": ["5 m", None, None, None],
                      "category": ["residential"] * 4, "year_built": [1930, 1930, 1990, 1930],
                      "floors": [3, 3, 3, 10]})
    roofs = prepare(footprints_from_frame(frame, source="test"), cfg.validate(), baseline_year=2021).set_index("building_id")
    # a 5 m rise over the 5 m from eave to ridge: 45°
    assert roofs.loc["B0", "roof_pitch_deg"] == pytest.approx(45.0) and roofs.loc["B0", "roof_shape_source"] == "column"
    assert roofs.loc["B1", "roof_shape"] == "gabled" and roofs.loc["B1", "roof_shape_source"] == "rule:lane"
    assert roofs.loc["B1", "roof_pitch_deg"] == 26.0
    assert roofs.loc["B2", "roof_shape"] == "flat" and roofs.loc["B3", "roof_shape"] == "flat"  # too new, too tall
    cfg.roofs.shape_source = "flat"
    flat = prepare(footprints_from_frame(frame, source="test"), cfg, baseline_year=2021)
    assert (flat["roof_shape"] == "flat").all()


def test_a_bad_shape_rule_names_the_key():
    with pytest.raises(ConfigError, match=r"roofs.shape_rules\[0\]: 'shape' = 'dome'"):
        config_from_dict({"roofs": {"shape_rules": [{"shape": "dome"}]}}, where="p.toml")
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        config_from_dict({"roofs": {"shape_rules": [{"shape": "gabled", "colour": "red"}]}}, where="p.toml")
    with pytest.raises(ConfigError, match="roofs.shape_source"):
        config_from_dict({"roofs": {"shape_source": "lidar"}}, where="p.toml")


# --- flat roofs: unchanged -------------------------------------------------------------------------------------

def test_flat_roofs_give_the_chain_without_planes_exactly(env):
    """A flat-roof input: every per-building figure equals the chain as it ran before planes existed (layout →
    shade_model → roof_yields, written out here), to 1e-9."""
    weather, sun = env
    from solarmap.resources import sample_buildings

    b = gpd.read_file(sample_buildings("dapuqiao")).to_crs(32651)
    c = b.geometry.centroid
    b = b[(c.x - c.x.median()).abs().lt(250) & (c.y - c.y.median()).abs().lt(250)].reset_index(drop=True)
    b["roof_shape"] = "flat"
    cfg = Config()
    roofs = prepare(footprints_from_frame(b, source="test"), cfg, baseline_year=2021)
    got = assess_roofs(roofs, cfg, weather=weather, sun=sun, latitude_deg=31.2)
    # the old chain
    ref = roofs.copy()
    layout = layout_roofs(ref, cfg.roofs, latitude_deg=31.2)
    small = layout.pop("too_small").to_numpy()
    ref = pd.concat([ref, layout], axis=1)
    ref.loc[small, ["assessment", "reason"]] = ["excluded", "too_small"]
    ref.loc[(ref["assessment"] != "assessed").to_numpy(), ["capacity_kwp", "module_area_m2"]] = np.nan
    shade = shading.shade_model(ref, cfg.shading, setback_m=cfg.roofs.edge_setback_m)
    ref["sky_view_factor"] = shade.sky_view_all()
    y = roof_yields(ref, weather, sun, cfg.pv, shade=shade)
    ref = pd.concat([ref, y], axis=1)
    assert (got["assessment"] == "assessed").sum() > 50
    for col in ("capacity_kwp", "usable_area_m2", "module_area_m2", "surface_tilt_deg", "annual_kwh",
                "annual_kwh_unshaded", "specific_yield_kwh_per_kwp", "sky_view_factor", "kwh_m06"):
        np.testing.assert_allclose(got[col].to_numpy(dtype=float), ref[col].to_numpy(dtype=float), rtol=1e-9,
                                   equal_nan=True, err_msg=col)
    assert got["assessment"].tolist() == ref["assessment"].tolist()
    assert (got["roof_planes"] == 0).all()


# --- shade per plane -----------------------------------------------------------------------------------------

def test_a_plane_behind_a_taller_neighbour_loses_more_than_alone(env):
    house = shapely.box(0, 0, 20, 10)
    alone_roofs, alone = _assess(_frame([house, shapely.box(400, 400, 410, 410)], [9.0, 9.0],
                                        roof_shape=["gabled", "flat"], roof_pitch_deg=[30.0, np.nan]), env)
    # a 30 m slab 10 m south of the house, as long as it
    near_roofs, near = _assess(_frame([house, shapely.box(0, -22, 20, -10)], [9.0, 30.0],
                                      roof_shape=["gabled", "flat"], roof_pitch_deg=[30.0, np.nan]), env)
    s_alone = alone[alone["surface_azimuth_deg"].round(3) == 180.0].iloc[0]
    s_near = near[near["surface_azimuth_deg"].round(3) == 180.0].iloc[0]
    assert s_alone["shading_loss_pct"] == pytest.approx(0.0, abs=1e-9)
    # the slab rises 21-24 m above the plane 10-15 m away: the winter sun (35° at noon) is behind it for months
    assert s_near["shading_loss_pct"] > 15.0
    assert s_near["annual_kwh"] < 0.85 * s_alone["annual_kwh"]
    assert near_roofs.loc["B0", "shading_loss_pct"] > alone_roofs.loc["B0", "shading_loss_pct"] + 15.0


def test_the_north_plane_never_shades_the_south_plane():
    house = shapely.box(X0, Y0, X0 + 20, Y0 + 10)
    p = planes.shape_planes(np.array([house]), np.array(["gabled"], dtype=object), np.array([40.0]), np.array([12.0]))
    p = planes.layout_planes(p, Config().roofs)
    # the house is its own (only) obstacle, prism at its full height: skipped for its own planes
    shade = planes.shade_planes(p, np.array([house]), np.array([12.0]), np.zeros(len(p), dtype=np.int64),
                                Config().shading)
    assert np.all(shade.horizon == 0.0)
    # the same prism at ridge height as a separate building just north does rise over the south plane's points:
    # the horizons can show shade, and the house's own roof gives none
    twin = shapely.affinity.translate(house, 0, 10.5)
    other = planes.shade_planes(p, np.array([house, twin]), np.array([12.0, 12.0]), np.zeros(len(p), dtype=np.int64),
                                Config().shading)
    south = (p["surface_azimuth_deg"].round(3) == 180.0).to_numpy()[other.owner]
    assert other.horizon[south].max() > 10.0
    # sample points lie on the planes, between eave and ridge
    xy, owner = shading.sample_points(p["usable_geometry"].to_numpy())
    z = planes.plane_z(p, owner, xy[:, 0], xy[:, 1])
    rise = 5.0 * math.tan(math.radians(40.0))
    assert z.min() > 12.0 - rise and z.max() < 12.0


def test_terrace_units_do_not_shade_each_other(env):
    units = [shapely.box(6.0 * k, 0, 6.0 * (k + 1), 11) for k in range(5)]
    roofs, p = _assess(_frame(units, [11.0] * 5, roof_shape=["gabled"] * 5, roof_pitch_deg=[26.0] * 5,
                              roof_orientation=["across"] * 5), env)
    south = p[p["surface_azimuth_deg"].round(3) == 180.0]
    assert len(south) == 5
    assert south["shading_loss_pct"].max() == pytest.approx(0.0, abs=1e-9)


# --- the tiled engine and the outputs --------------------------------------------------------------------------

def test_tiles_give_the_single_pass_planes(env):
    weather, sun = env
    from solarmap.resources import sample_buildings

    b = gpd.read_file(sample_buildings("dapuqiao")).to_crs(32651)
    c = b.geometry.centroid
    b = b[(c.x - c.x.median()).abs().lt(300) & (c.y - c.y.median()).abs().lt(300)].reset_index(drop=True)
    cfg = Config()
    roofs = prepare(footprints_from_frame(b, source="test"), cfg, baseline_year=2021)
    one: list = []
    whole = assess_roofs(roofs, cfg, weather=weather, sun=sun, latitude_deg=31.2, planes_out=one)
    tiled_out: list = []
    tiled = assess_in_tiles(roofs, cfg, weather=weather, sun=sun, tile_size_m=250.0, latitude_deg=31.2,
                            planes_out=tiled_out)
    assert (whole["roof_shape"] == "gabled").sum() > 5
    a, t = one[0].drop(columns="_row"), tiled_out[0].drop(columns="_row")
    assert len(a) == len(t) > 10
    pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(t.drop(columns="geometry")),
                                  rtol=1e-9)
    np.testing.assert_allclose(tiled["annual_kwh"].to_numpy(dtype=float), whole["annual_kwh"].to_numpy(dtype=float),
                               rtol=1e-9, equal_nan=True)


def test_run_writes_roof_planes_csv_gpkg_layer_and_table(dapuqiao_run):
    import pyogrio

    from solarmap import store

    out = dapuqiao_run / "dapuqiao"
    p = pd.read_csv(out / "roof_planes.csv", encoding="utf-8-sig", keep_default_na=False)
    for c in ("building_id", "plane_id", "surface_tilt_deg", "surface_azimuth_deg", "plane_area_m2", "usable_area_m2",
              "capacity_kwp", "annual_kwh", "annual_kwh_unshaded", "specific_yield_kwh_per_kwp", "shading_loss_pct",
              "suitable", "reason"):
        assert c in p.columns, c
    assert len(p) > 100 and set(p["reason"]) <= {"", "north_facing", "shaded", "low_yield", "too_small"}
    roofs = pd.read_csv(out / "roofs.csv", encoding="utf-8-sig")
    assert roofs["building_id"].is_unique and {"roof_shape", "roof_shape_source"} <= set(roofs.columns)
    used = p[p["suitable"].astype(str) == "True"].groupby("building_id")["capacity_kwp"].sum()
    r = roofs.set_index("building_id").loc[used.index]
    np.testing.assert_allclose(r["capacity_kwp"], used, atol=0.01)  # the CSV keeps 3 decimals per row
    assert "roof_planes" in {name for name, _ in pyogrio.list_layers(out / "roofs.gpkg")}
    n = store.query(dapuqiao_run / "solarmap.duckdb", "SELECT count(*) AS n FROM roof_planes WHERE run_id = "
                    "(SELECT run_id FROM runs ORDER BY finished_at DESC LIMIT 1)")["n"].iloc[0]
    assert n == len(p)
    import json

    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["roof_shapes"]["by_shape"]["gabled"]["buildings"] == int((roofs["roof_shape"] == "gabled").sum()) > 100


def test_run_assessment_carries_the_planes(env):
    weather, _ = env
    frame = _frame([shapely.box(0, 0, 20, 10), shapely.box(40, 0, 60, 12)], [9.0, 20.0],
                   roof_shape=["gabled", "flat"], roof_pitch_deg=[30.0, np.nan]).to_crs(4326)
    res = run_assessment(frame, Config(), weather=weather)
    assert res.planes is not None and len(res.planes) == 2 and res.planes.crs == res.roofs.crs
    assert list(res.planes["building_id"]) == ["B0", "B0"]
