"""Open data in: OpenStreetMap (.osm through GDAL's OSM driver, and tag tables), Overture buildings, PVGIS's TMY
with its cache, and the fetch commands, all offline on small inputs made here."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import types

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import requests
import shapely

from opendata_samples import (
    OsmWriter,
    RecordedPVGIS,
    dapuqiao_osm,
    lonlat,
    overture_buildings,
    refuse_network,
)
from solarmap.cli import main
from solarmap.errors import WeatherError
from solarmap.sources import osm, overture, pvgis
from solarmap.sources.footprints import read_footprints, read_vector
from solarmap.sources.weather import load_weather


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """Every test gets its own empty cache folder."""
    d = tmp_path / "cache"
    monkeypatch.setenv("SOLARMAP_CACHE_DIR", str(d))
    return d


def roofs(out, name="dapuqiao") -> pd.DataFrame:
    return pd.read_csv(out / name / "roofs.csv", encoding="utf-8-sig").set_index("building_id")


# ------------------------------------------------------------------------------------------ OpenStreetMap


def test_osm_xml_read_by_gdal_keeps_every_tag_and_the_multipolygon_hole(tmp_path):
    feats = osm.read_osm_file(dapuqiao_osm(tmp_path / "d.osm"))
    by_id = {f"{t}/{i}": tags for t, i, tags in zip(feats.osm_type, feats.osm_id, feats.tags, strict=True)}
    assert by_id["way/103"] == {"building": "office", "building:levels": "10", "roof:height": "4"}
    assert by_id["way/106"]["min_height"] == "12" and by_id["way/105"] == {"building:part": "yes", "building:levels": "4"}
    assert by_id["way/108"]["generator:source"] == "solar"  # a panel area, a polygon through our osmconf
    assert sum(1 for k, t in by_id.items() if k.startswith("node/") and t.get("generator:source") == "solar") == 2
    hospital = feats.geometry[(feats.osm_type == "relation") & (feats.osm_id == "301")].iloc[0]
    assert len(shapely.get_parts(hospital)) == 1 and shapely.get_num_interior_rings(shapely.get_parts(hospital)[0]) == 1


def test_osm_file_end_to_end_heights_categories_parts_and_pv(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", "dapuqiao", "--buildings", str(dapuqiao_osm(tmp_path / "d.osm")), "--out", str(out), "-q"])
    assert code == 0, capsys.readouterr().err
    r = roofs(out, "d")  # a run over d.osm is named after it
    assert len(r) == 8  # 6 buildings (one of them replaced by its 2 parts) + 2 parts; generators are not rows
    expect = {  # id: (height_m, height_rule, category, use_class)
        "way/101": (25.0, "height", "public_institution", "education"),
        "way/102": (18.0, "levels", "residential", "residential"),
        "way/103": (34.0, "levels+roof_height", "commercial", "office"),
        "relation/301": (24.99, "height", "public_institution", "medical"),  # 82 ft
        "way/105": (12.0, "levels", "commercial", "commercial"),  # the podium part takes the mall's use
        "way/106": (60.0, "height", "commercial", "commercial"),
        "way/107": (9.0, "levels", "public_institution", "government"),  # amenity=townhall
    }
    for bid, (h, rule, cat, use) in expect.items():
        row = r.loc[bid]
        assert (row.height_m, row.height_rule, row.category, row.use_class) == (pytest.approx(h, abs=0.01), rule, cat, use), bid
        assert row.assessment == "assessed", bid
    assert r.loc["way/106", "min_height_m"] == 12.0 and r.loc["way/101", "roof_shape"] == "flat"
    assert r.loc["way/101", "name"] == "打浦桥第一小学" and r.loc["way/106", "name"] == "打浦桥商场"  # parts inherit the name
    # the outline with parts: kept, excluded, no area, no shade; its parts split its area without double counting
    mall = r.loc["way/104"]
    assert (mall.assessment, mall.reason) == ("excluded", "replaced_by_parts") and np.isnan(mall.roof_area_m2)
    assert r.loc["way/105", "roof_area_m2"] + r.loc["way/106", "roof_area_m2"] == pytest.approx(40 * 30, abs=1.0)
    assert r.loc["way/105", "roof_area_m2"] == pytest.approx(40 * 30 - 15 * 15, abs=1.0) and bool(r.loc["way/105", "osm_trimmed"])
    assert r.loc["relation/301", "roof_area_m2"] == pytest.approx(40 * 40 - 20 * 20, abs=1.0)  # the courtyard is left out
    # the tower shades the podium it stands on; nothing shades the 60 m tower
    assert r.loc["way/105", "shading_loss_pct"] > 2.0 and r.loc["way/106", "shading_loss_pct"] == 0.0
    # existing PV: a 30 kW node on the podium, a 10 m × 5 m panel area, an unsized node (1 kWp)
    pv = r["existing_pv_kwp"]
    assert pv["way/105"] == 30.0 and r.loc["way/105", "existing_pv_source"] == "tag"
    assert pv["way/107"] == pytest.approx(50 * 0.215, abs=0.05) and r.loc["way/107", "existing_pv_source"] == "panel_area"
    assert pv["way/102"] == 1.0 and r.loc["way/102", "existing_pv_source"] == "unsized"
    assert pv.drop(["way/102", "way/105", "way/107"]).sum() == 0.0
    # stage from the outline's start_date (2022 ≥ the rule set's baseline): the parts are new buildings
    assert r.loc["way/105", "stage"] == "new" and r.loc["way/101", "stage"] == "existing"
    summary = json.loads((out / "d" / "summary.json").read_text(encoding="utf-8"))
    assert summary["excluded_by_reason"] == {"replaced_by_parts": 1}
    assert any("without a size" in w for w in summary["warnings"])


@pytest.mark.parametrize("tags, height, min_height, floors, rule", [
    ({"height": "25"}, 25.0, 0.0, None, "height"),
    ({"height": "25 m"}, 25.0, 0.0, None, "height"),
    ({"height": "25.5m"}, 25.5, 0.0, None, "height"),
    ({"height": "82 ft"}, 24.99, 0.0, None, "height"),
    ({"height": "12'6\""}, 3.81, 0.0, None, "height"),
    ({"height": "30;40"}, 30.0, 0.0, None, "height"),
    ({"height": "25 m", "building:levels": "12"}, 25.0, 0.0, 12, "height"),  # a measured height wins
    ({"building:levels": "6"}, 18.0, 0.0, 6, "levels"),
    ({"building:levels": "10", "roof:height": "4"}, 34.0, 0.0, 10, "levels+roof_height"),
    ({"building:levels": "10", "roof:height": "13 ft"}, 33.96, 0.0, 10, "levels+roof_height"),
    ({"building:levels": "5", "roof:levels": "1"}, 18.0, 0.0, 5, "levels+roof_levels"),
    ({"height": "tall", "building:levels": "4"}, 12.0, 0.0, 4, "levels"),  # not a length: the levels are used
    ({"height": "0", "building:levels": "3"}, 9.0, 0.0, 3, "levels"),
    ({"height": "900"}, np.nan, 0.0, None, ""),  # above any building in China
    ({"height": "60", "min_height": "12"}, 60.0, 12.0, None, "height"),
    ({"building:levels": "20", "building:min_level": "4"}, 60.0, 12.0, 20, "levels"),  # levels count from the ground
    ({"height": "20", "min_height": "5 m", "building:min_level": "3"}, 20.0, 5.0, None, "height"),  # min_height first
    ({"roof:shape": "gabled"}, np.nan, 0.0, None, ""),
])
def test_osm_tag_to_height_rules(tags, height, min_height, floors, rule):
    h = osm.osm_heights(pd.DataFrame([tags]))
    got = h.iloc[0]
    if np.isnan(height):
        assert np.isnan(got.height_m)
    else:
        assert got.height_m == pytest.approx(height, abs=0.01)
    assert got.min_height_m == pytest.approx(min_height)
    assert (pd.isna(got.floors) if floors is None else got.floors == floors)
    assert got.height_rule == rule


@pytest.mark.parametrize("value, kw", [("5 kW", 5.0), ("5kWp", 5.0), ("0.2 MW", 200.0), ("3000 W", 3.0),
                                       ("1,5 kW", 1.5), ("yes", np.nan), ("5", np.nan), (None, np.nan)])
def test_osm_pv_capacity_needs_a_unit(value, kw):
    got = osm.parse_power_kw(value)
    assert (np.isnan(got) if np.isnan(kw) else got == pytest.approx(kw))


def test_osm_part_wholly_under_a_higher_part_is_excluded_and_stacked_parts_partition_the_outline(tmp_path):
    w = OsmWriter()
    w.box(1, 0, 0, 40, 40, {"building": "university", "height": "50"})
    w.box(2, 0, 0, 40, 40, {"building:part": "yes", "height": "50"})
    w.box(3, 10, 10, 10, 10, {"building:part": "yes", "building:levels": "2"})  # inside the 50 m part, lower
    w.box(4, 60, 0, 20, 20, {"building:part": "yes", "building:levels": "3"})  # a part with no outline: its own row
    fp = read_footprints(w.write(tmp_path / "p.osm"))
    r = fp.set_index("building_id")
    assert r.loc["way/1", "reason"] == "replaced_by_parts" and r.loc["way/3", "reason"] == "under_higher_part"
    assert r.loc["way/2", "assessment"] == "assessed" and r.geometry["way/2"].area == pytest.approx(1600, abs=1)
    assert r.loc["way/2", "category"] == "education" and r.loc["way/4", "category"] == "unknown"
    assert r.loc["way/4", "assessment"] == "assessed" and r.loc["way/4", "osm_part_of"] == ""
    # the parts carry their outline's use tags: --category-scheme osm reads them as the default scheme does
    from solarmap.sources.categories import categorise

    by_tags = categorise(fp, scheme="osm")["use_class"].to_numpy()
    assert (by_tags == fp["category"].to_numpy()).all()


@pytest.mark.skipif(shutil.which("osmium") is None, reason="osmium (osmium-tool) makes the .osm.pbf; not installed")
def test_osm_pbf_reads_as_the_xml_it_was_made_from(tmp_path):
    xml = dapuqiao_osm(tmp_path / "d.osm")
    pbf = tmp_path / "d.osm.pbf"
    subprocess.run(["osmium", "cat", str(xml), "-o", str(pbf)], check=True)
    a = read_vector(xml).set_index("building_id").sort_index()
    b = read_vector(pbf).set_index("building_id").sort_index()
    cols = ["height_m", "height_rule", "category", "existing_pv_kwp", "existing_pv_source", "osm_part_of", "name"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert np.allclose(a.geometry.area, b.geometry.area, atol=0.05)


def test_osm_tag_table_reads_as_the_osm_file_does(tmp_path):
    """What `solarmap fetch osm` writes (OSM features with tags as columns) maps to the same rows as the .osm."""
    path = dapuqiao_osm(tmp_path / "d.osm")
    feats = osm.read_osm_file(path)
    table = pd.DataFrame(list(feats["tags"]))
    table.insert(0, "osm_type", feats["osm_type"].to_numpy())
    table.insert(1, "osm_id", feats["osm_id"].to_numpy())
    gpkg = tmp_path / "fetched.gpkg"
    gpd.GeoDataFrame(table, geometry=feats.geometry.to_numpy(), crs=4326).to_file(gpkg)
    a = read_vector(path).set_index("building_id")
    b = read_vector(gpkg).set_index("building_id")
    cols = ["height_m", "height_rule", "category", "existing_pv_kwp", "existing_pv_source", "osm_part_of"]
    pd.testing.assert_frame_equal(a[cols].sort_index(), b[cols].sort_index(), check_dtype=False)
    assert a.attrs["preset_reasons"] and sorted(a.attrs["preset_reasons"]) == sorted(b.attrs["preset_reasons"])


def test_osmnx_features_table_is_recognised(tmp_path):
    """osmnx's features table (element/id index, tag columns, list columns) read as OSM data."""
    x0, y0 = lonlat(0, 0)
    x1, y1 = lonlat(30, 20)
    gdf = gpd.GeoDataFrame(
        {"building": ["hospital", None], "building:levels": ["5", None], "generator:source": [None, "solar"],
         "generator:output:electricity": [None, "12 kW"], "nodes": [[1, 2, 3, 4, 1], None]},
        geometry=[shapely.box(x0, y0, x1, y1), shapely.Point(lonlat(10, 10))], crs=4326,
        index=pd.MultiIndex.from_tuples([("way", 55), ("node", 66)], names=["element", "id"]))
    fp = osm.buildings_from_features(osm.features_from_frame(gdf.reset_index()))
    assert list(fp["building_id"]) == ["way/55"]
    assert fp.loc[0, "height_m"] == 15.0 and fp.loc[0, "category"] == "medical" and fp.loc[0, "existing_pv_kwp"] == 12.0


# --------------------------------------------------------------------------------------------------- Overture


def test_overture_geoparquet_end_to_end(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", "dapuqiao", "--buildings", str(overture_buildings(tmp_path / "o.parquet")), "--out", str(out),
                 "--no-shading", "-q"])
    assert code == 0, capsys.readouterr().err
    r = roofs(out, "o")
    school, flats, office, bare, garage = r.index  # input order kept, GERS ids as building ids
    assert school == "08b31190a4d1bfff0200b2f2d6d2a3f1"
    assert (r.loc[school, "height_m"], r.loc[school, "height_rule"], r.loc[school, "floors"]) == (22.5, "height", 6)
    assert (r.loc[flats, "height_m"], r.loc[flats, "height_rule"]) == (24.0, "num_floors")
    assert (r.loc[office, "height_m"], r.loc[office, "height_rule"]) == (14.0, "num_floors+roof_height")
    assert r.loc[bare, "height_source"] == "neighbours"  # height 0 and no floors: imputed, flagged
    assert bool(r.loc[bare, "height_imputed"])
    assert (r.loc[school, "category"], r.loc[school, "use_class"], r.loc[school, "category_tag"]) == (
        "public_institution", "education", "class=school")
    assert (r.loc[office, "category"], r.loc[office, "use_class"], r.loc[office, "category_tag"]) == (
        "public_institution", "government", "subtype=civic")
    assert r.loc[flats, "category"] == "residential" and r.loc[bare, "category"] == "other"
    assert (r.loc[garage, "assessment"], r.loc[garage, "reason"]) == ("excluded", "underground")
    assert r.loc[school, "name"] == "打浦桥中学" and r.loc[school, "roof_shape"] == "flat"
    sources = json.loads(r.loc[office, "sources"])
    assert [s["dataset"] for s in sources] == ["OpenStreetMap", "Esri Community Maps"]
    assert (r["existing_pv_kwp"] == 0).all()


def test_overture_parquet_without_geo_metadata_is_read_as_wkb(tmp_path, caplog, monkeypatch):
    """DuckDB's COPY … TO 'x.parquet' without the spatial extension writes WKB and no GeoParquet metadata."""
    monkeypatch.setattr(logging.getLogger("solarmap"), "propagate", True)  # the CLI turns it off for its own output
    fp = read_footprints(overture_buildings(tmp_path / "o.parquet", geoparquet=False))
    assert len(fp) == 5 and fp.loc[0, "category"] == "education" and fp.loc[4, "reason"] == "underground"
    assert "without GeoParquet metadata" in caplog.text


@pytest.mark.parametrize("cls, subtype, use", [
    ("school", "education", "education"), ("hospital", None, "medical"), (None, "medical", "medical"),
    ("government", None, "government"), ("civic", None, "government"), (None, "civic", "government"),
    ("fire_station", "service", "government"), ("post_office", "service", "public_service"),
    ("library", None, "culture_sport"), (None, "religious", "other_public"), ("train_station", None, "transport"),
    ("office", "commercial", "office"), (None, "entertainment", "commercial"), ("warehouse", None, "industrial"),
    ("apartments", "residential", "residential"), (None, "military", "unknown"), (None, None, "unknown"),
])
def test_overture_class_and_subtype_to_use(cls, subtype, use):
    got = overture.overture_use(pd.DataFrame({"class": [cls], "subtype": [subtype]}))
    assert got.loc[0, "category"] == use


# ------------------------------------------------------------------------------------------------------ PVGIS


def test_pvgis_tmy_through_pvlib_is_cached_and_read_again_with_the_network_refused(monkeypatch, cache):
    rec = RecordedPVGIS().install(monkeypatch)
    w1 = load_weather("pvgis", latitude=31.20947, longitude=121.47003)
    assert len(rec.urls) == 1 and "tmy?" in rec.urls[0] and "lat=31.21" in rec.urls[0] and "lon=121.47" in rec.urls[0]
    cached = cache / "pvgis" / "tmy_31.21_121.47_PVGIS-ERA5.json"
    assert cached.exists()
    doc = json.loads(cached.read_text(encoding="utf-8"))  # stored in PVGIS's own layout
    assert doc["inputs"]["meteo_data"]["radiation_db"] == "PVGIS-ERA5" and len(doc["outputs"]["tmy_hourly"]) == 8760
    assert w1.source.startswith("pvgis:PVGIS-ERA5 tmy 31.21,121.47 2005-2023 (tmy_31.21_121.47_PVGIS-ERA5.json")
    assert len(w1.data) == 8760 and str(w1.data.index.tz) == "Etc/GMT-8" and (w1.latitude, w1.longitude) == (31.21, 121.47)
    # the recorded response is the embedded year moved to UTC: it must come back the same
    from solarmap.sources.weather import read_embedded

    emb = read_embedded().data
    assert np.allclose(w1.data["ghi"].to_numpy(), emb["ghi"].to_numpy(), atol=0.01)

    rec.online = False
    refuse_network(monkeypatch)
    w2 = load_weather("pvgis", latitude=31.2108, longitude=121.4682)  # rounds to the same site
    assert len(rec.urls) == 1  # no request: read from the cache
    pd.testing.assert_frame_equal(w1.data, w2.data)
    assert w2.source == w1.source


def test_pvgis_without_cache_and_network_says_what_to_download(monkeypatch, cache):
    refuse_network(monkeypatch)  # the real adapter, its proxy a closed local port
    with pytest.raises(WeatherError) as e:
        load_weather("pvgis", latitude=31.2095, longitude=121.47)
    msg = str(e.value)
    assert "https://re.jrc.ec.europa.eu/api/tmy?lat=31.21&lon=121.47&outputformat=json" in msg
    assert str(cache / "pvgis" / "tmy_31.21_121.47_PVGIS-ERA5.json") in msg and "--weather FILE" in msg
    assert not (cache / "pvgis" / "tmy_31.21_121.47_PVGIS-ERA5.json").exists()


def test_pvgis_serving_another_database_than_asked_is_refused(monkeypatch):
    RecordedPVGIS(database="PVGIS-SARAH3").install(monkeypatch)
    with pytest.raises(WeatherError, match="use --weather pvgis:PVGIS-SARAH3"):
        load_weather("pvgis", latitude=45.0, longitude=8.0)
    assert pvgis.parse_source("pvgis:sarah3") == "PVGIS-SARAH3"


def test_pvgis_weather_run_records_source_and_database_and_reruns_offline(monkeypatch, tmp_path, capsys):
    buildings = tmp_path / "b.osm"
    dapuqiao_osm(buildings)
    rec = RecordedPVGIS().install(monkeypatch)
    args = ["run", "dapuqiao", "--buildings", str(buildings), "--weather", "pvgis", "--no-shading", "-q"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0, capsys.readouterr().err
    rec.online = False
    refuse_network(monkeypatch)
    assert main([*args, "--out", str(tmp_path / "b")]) == 0, capsys.readouterr().err
    assert len(rec.urls) == 1
    s1, s2 = (json.loads((tmp_path / o / "b" / "summary.json").read_text(encoding="utf-8")) for o in "ab")
    assert s1["weather"]["source"].startswith("pvgis:PVGIS-ERA5 tmy 31.21,121.47 2005-2023")
    assert s1["inputs"]["weather"] == s1["weather"]["source"]
    assert s1["weather"] == s2["weather"] and s1["totals"]["annual_kwh"] == s2["totals"]["annual_kwh"]


# ------------------------------------------------------------------------------------------------------ fetch


def _fake_module(name: str, monkeypatch, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name)
    for k, v in attrs.items():
        setattr(mod, k, v)
    monkeypatch.setitem(sys.modules, name, mod)
    return mod


def _offline_osmnx(monkeypatch):
    def features_from_polygon(polygon, tags):
        requests.get("https://overpass-api.de/api/interpreter", timeout=5)  # refused by the proxy

    _fake_module("osmnx", monkeypatch, settings=types.SimpleNamespace(),
                 features=types.SimpleNamespace(features_from_polygon=features_from_polygon))


def _offline_overturemaps(monkeypatch):
    def geodataframe(kind, bbox=None, release=None):
        raise Exception("Could not fetch STAC catalog: <urlopen error [Errno 111] Connection refused>")  # as the client does

    _fake_module("overturemaps", monkeypatch)
    _fake_module("overturemaps.core", monkeypatch, geodataframe=geodataframe)
    sys.modules["overturemaps"].core = sys.modules["overturemaps.core"]


@pytest.mark.parametrize("client", ["offline", "missing"])
def test_fetch_osm_without_network_exits_2_saying_what_to_download(client, monkeypatch, tmp_path, capsys):
    refuse_network(monkeypatch)
    if client == "offline":
        _offline_osmnx(monkeypatch)
    else:
        monkeypatch.setitem(sys.modules, "osmnx", None)  # import fails as if not installed
    out = tmp_path / "dapuqiao.gpkg"
    assert main(["fetch", "osm", "--subdistrict", "dapuqiao", "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert ("no network?" in err) if client == "offline" else ("pip install 'solarmap[fetch]'" in err)
    assert "download.geofabrik.de/asia/china" in err and "osmium extract -b 121.45" in err
    assert "overpass-api.de/api/interpreter" in err and 'nwr["building:part"]' in err
    assert "--buildings dapuqiao.osm.pbf" in err and err.count("\n") == 1 and not out.exists()


@pytest.mark.parametrize("client", ["offline", "missing"])
def test_fetch_overture_without_network_exits_2_saying_what_to_download(client, monkeypatch, tmp_path, capsys):
    refuse_network(monkeypatch)
    if client == "offline":
        _offline_overturemaps(monkeypatch)
    else:
        monkeypatch.setitem(sys.modules, "overturemaps", None)
    out = tmp_path / "b.parquet"
    assert main(["fetch", "overture", "--bbox", "121.455,31.200,121.482,31.216", "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert ("Could not fetch STAC catalog" in err) if client == "offline" else ("pip install 'solarmap[fetch]'" in err)
    assert "overturemaps download --bbox=121.455,31.2,121.482,31.216 -f geoparquet --type=building -o b.parquet" in err
    assert "theme=buildings/type=building" in err and "--buildings b.parquet" in err and not out.exists()


def test_fetch_osm_writes_a_table_that_runs(monkeypatch, tmp_path, capsys):
    """With a (fake) osmnx answering, fetch writes the tag table and `run --buildings` maps it."""
    x0, y0 = lonlat(0, 0)
    x1, y1 = lonlat(30, 20)
    asked = {}

    def features_from_polygon(polygon, tags):
        asked.update(polygon=polygon, tags=tags)
        return gpd.GeoDataFrame(
            {"building": ["school"], "height": ["21"], "nodes": [[1, 2, 3, 4, 1]]}, geometry=[shapely.box(x0, y0, x1, y1)],
            crs=4326, index=pd.MultiIndex.from_tuples([("way", 77)], names=["element", "id"]))

    settings = types.SimpleNamespace()
    _fake_module("osmnx", monkeypatch, settings=settings,
                 features=types.SimpleNamespace(features_from_polygon=features_from_polygon))
    out = tmp_path / "f.parquet"
    assert main(["fetch", "osm", "--subdistrict", "dapuqiao", "--out", str(out), "-q"]) == 0
    assert "1 OSM features" in capsys.readouterr().out
    assert asked["tags"]["building:part"] is True and asked["polygon"].contains(shapely.Point(121.47, 31.2095))
    assert settings.use_cache and str(tmp_path / "cache" / "osmnx") == settings.cache_folder
    assert main(["run", "dapuqiao", "--buildings", str(out), "--out", str(tmp_path / "o"), "--no-shading", "-q"]) == 0
    r = roofs(tmp_path / "o", "f")
    assert r.loc["way/77", "height_m"] == 21.0 and r.loc["way/77", "use_class"] == "education"


@pytest.mark.parametrize("bbox, match", [("121.4,31.2,121.3,31.3", "west < east"), ("1,2,3", "four numbers"),
                                         ("120,30,122,32", "square degrees")])
def test_fetch_bad_bbox(bbox, match, tmp_path, capsys):
    assert main(["fetch", "osm", "--bbox", bbox, "--out", str(tmp_path / "x.gpkg"), "-q"]) == 2
    assert match in capsys.readouterr().err
