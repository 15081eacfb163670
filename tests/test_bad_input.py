"""Bad input and faults: one test per row of the README's "What happens when …" table.

Each asserts the exit status and the message or the repair flag; failing runs must leave the output folder as it
was, and every non-fatal run keeps one output row per input feature.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from conftest import EPW, REPO, needs_epw
from opendata_samples import OsmWriter, overture_buildings, refuse_network
from solarmap.cli import main
from solarmap.resources import BUILDINGS_DIR
from solarmap.sources.coords import wgs84_to_gcj02
from solarmap.sources.subdistricts import find_subdistrict

CENTRE = (121.4700, 31.2095)  # inside the embedded Dapuqiao outline


def make_buildings(n: int = 8, **cols) -> gpd.GeoDataFrame:
    """n rectangles near the centre of Dapuqiao, 30 m apart, built in UTM 51N."""
    c = gpd.GeoSeries(gpd.points_from_xy([CENTRE[0]], [CENTRE[1]]), crs=4326).to_crs(32651).iloc[0]
    boxes = [shapely.box(c.x + 30 * (i % 4), c.y + 30 * (i // 4), c.x + 30 * (i % 4) + 18, c.y + 30 * (i // 4) + 12) for i in range(n)]
    data = {"building_id": [f"T{i}" for i in range(n)], "name": [f"测试楼{i}" for i in range(n)], "height_m": [15.0 + i for i in range(n)]}
    data.update(cols)
    return gpd.GeoDataFrame(data, geometry=boxes, crs=32651)


def snapshot(folder: Path) -> dict[str, str]:
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def run(args, out: Path, capsys) -> tuple[int, str]:
    if "--buildings" in args and "--name" not in args:  # these tests are about the input, not the run's name
        args = [*args, "--name", "dapuqiao"]
    code = main(["run", *args, "--out", str(out), "-q"])
    captured = capsys.readouterr()
    return code, captured.err


def roofs_of(out: Path, name: str = "dapuqiao") -> pd.DataFrame:
    return pd.read_csv(out / name / "roofs.csv", encoding="utf-8-sig")


@pytest.fixture
def out(tmp_path):
    """An output folder holding a previous good run, so failures can be checked to change nothing."""
    o = tmp_path / "out"
    path = tmp_path / "good.geojson"
    make_buildings().to_crs(4326).to_file(path)
    assert main(["run", "dapuqiao", "--buildings", str(path), "--name", "dapuqiao", "--out", str(o), "--no-shading",
                 "-q"]) == 0
    return o


def fails(args, out, capsys, match: str):
    before = snapshot(out)
    code, err = run(args, out, capsys)
    assert code == 2, err
    assert match in err, err
    error = err[err.index("solarmap: error:"):]  # warnings given before the error are lines of their own
    assert error.count("\n") <= 1 and "Traceback" not in err  # the error is one paragraph, no trace
    assert snapshot(out) == before  # a failed run changes nothing in outputs/


# --- the table's rows ---------------------------------------------------------------------------------------


def test_missing_file(out, capsys, tmp_path):
    fails(["dapuqiao", "--buildings", str(tmp_path / "nope.gpkg")], out, capsys, "does not exist")


def test_unknown_format(out, capsys, tmp_path):
    p = tmp_path / "b.xlsx"
    p.write_bytes(b"PK\x03\x04")
    fails(["dapuqiao", "--buildings", str(p)], out, capsys, "unknown format '.xlsx'")


def test_empty_layer(out, capsys, tmp_path):
    p = tmp_path / "empty.gpkg"
    make_buildings().iloc[:0].to_file(p, driver="GPKG")
    fails(["dapuqiao", "--buildings", str(p)], out, capsys, "has no features")


def test_no_crs_with_lon_lat_coordinates_is_read_as_wgs84(out, capsys, tmp_path):
    b = make_buildings().to_crs(4326)
    p = tmp_path / "nocrs.csv"
    pd.DataFrame({"building_id": b["building_id"], "height_m": b["height_m"], "wkt": b.geometry.to_wkt()}).to_csv(p, index=False)
    code, err = run(["dapuqiao", "--buildings", str(p), "--no-shading"], out, capsys)
    assert code == 0 and "no CRS" in err and "EPSG:4326" in err
    assert len(roofs_of(out)) == 8


def test_no_crs_with_projected_coordinates_asks_for_crs(out, capsys, tmp_path):
    b = make_buildings()
    p = tmp_path / "nocrs_utm.csv"
    pd.DataFrame({"building_id": b["building_id"], "height_m": b["height_m"], "wkt": b.geometry.to_wkt()}).to_csv(p, index=False)
    fails(["dapuqiao", "--buildings", str(p)], out, capsys, "--crs")
    code, _ = run(["dapuqiao", "--buildings", str(p), "--crs", "EPSG:32651", "--no-shading"], out, capsys)
    assert code == 0 and len(roofs_of(out)) == 8


def test_latitude_longitude_swapped(out, capsys, tmp_path):
    b = make_buildings().to_crs(4326)
    b = b.set_geometry(shapely.transform(b.geometry.to_numpy(), lambda xy: xy[:, ::-1]))
    p = tmp_path / "swapped.geojson"
    b.to_file(p)
    fails(["dapuqiao", "--buildings", str(p)], out, capsys, "look swapped")


def test_gcj02_footprints_are_detected_and_converted(out, capsys, tmp_path):
    # a whole subdistrict of buildings as a Chinese web map would give them: shifted by GCJ-02
    src = gpd.read_file(BUILDINGS_DIR / "dapuqiao.geojson")
    outline = find_subdistrict("dapuqiao").outline
    src = src[shapely.contains_xy(outline, src.geometry.centroid.x, src.geometry.centroid.y)].head(300)

    def to_gcj(xy):
        return np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))

    g = src.set_geometry(shapely.transform(src.geometry.to_numpy(), to_gcj))
    p = tmp_path / "gcj.geojson"
    g.to_file(p)
    code, err = run(["dapuqiao", "--buildings", str(p), "--no-shading"], out, capsys)
    assert code in (0, 2) and "--input-datum gcj02" in err
    code, err = run(["dapuqiao", "--buildings", str(p), "--input-datum", "gcj02", "--no-shading"], out, capsys)
    assert code == 0
    roofs = roofs_of(out)
    assert len(roofs) == len(g) and (roofs["reason"] != "outside_boundary").all()
    back = roofs.set_index("building_id").loc[src["building_id"], ["lon", "lat"]].to_numpy()
    np.testing.assert_allclose(back, np.column_stack([src.geometry.centroid.x, src.geometry.centroid.y]), atol=2e-6)


def test_bad_geometries_are_kept_excluded_or_repaired(out, capsys, tmp_path):
    b = make_buildings(8)
    g = b.geometry.to_numpy().copy()
    x, y = g[0].bounds[:2]
    g[0] = shapely.Polygon([(x, y), (x + 10, y + 10), (x + 10, y), (x, y + 10), (x, y)])  # self-intersecting
    g[1] = shapely.Polygon()
    g[2] = None
    g[3] = shapely.Point(x, y)
    g[4] = shapely.LineString([(x, y), (x + 5, y + 5)])
    b = b.set_geometry(gpd.GeoSeries(g, crs=32651))
    p = tmp_path / "bad.gpkg"
    b.to_file(p, driver="GPKG")
    code, _ = run(["dapuqiao", "--buildings", str(p), "--no-shading"], out, capsys)
    assert code == 0
    roofs = roofs_of(out).set_index("building_id")
    assert len(roofs) == 8
    assert roofs.loc["T0", "geometry_repaired"] and roofs.loc["T0", "assessment"] == "assessed"
    assert (roofs.loc[["T1", "T2", "T3", "T4"], "reason"] == "invalid_geometry").all()


def test_multipolygons_and_holes(out, capsys, tmp_path):
    b = make_buildings(2)
    x, y = b.geometry.iloc[0].bounds[:2]
    multi = shapely.MultiPolygon([shapely.box(x, y, x + 10, y + 10), shapely.box(x + 15, y, x + 25, y + 10)])
    courtyard = shapely.box(x, y + 40, x + 30, y + 70).difference(shapely.box(x + 10, y + 50, x + 20, y + 60))
    b = b.set_geometry(gpd.GeoSeries([multi, courtyard], crs=32651))
    p = tmp_path / "multi.gpkg"
    b.to_file(p, driver="GPKG")
    code, _ = run(["dapuqiao", "--buildings", str(p)], out, capsys)
    assert code == 0
    roofs = roofs_of(out).set_index("building_id")
    assert roofs.loc["T0", "roof_area_m2"] == pytest.approx(200.0, rel=1e-3)
    assert roofs.loc["T1", "roof_area_m2"] == pytest.approx(800.0, rel=1e-3)
    assert (roofs["assessment"] == "assessed").all()


def test_duplicate_ids(out, capsys, tmp_path):
    p = tmp_path / "dup.geojson"
    make_buildings(4, building_id=["A", "A", "B", "A"]).to_crs(4326).to_file(p)
    code, _ = run(["dapuqiao", "--buildings", str(p), "--no-shading"], out, capsys)
    assert code == 0
    roofs = roofs_of(out)
    assert roofs["building_id"].tolist() == ["A", "A#2", "B", "A#3"] and roofs["id_deduplicated"].sum() == 2


def test_implausible_heights_are_imputed_with_a_flag_or_excluded(out, capsys, tmp_path):
    heights = [20.0, 0.0, -5.0, 9999.0, np.nan, 18.0, 22.0, 19.0]
    floors = [None, 5, None, None, None, None, None, None]
    b = make_buildings(8, height_m=heights, floors=floors)
    far = shapely.box(*(np.array(b.geometry.iloc[0].bounds) + [3000, 3000, 3000, 3000]))  # alone, no neighbours
    b = pd.concat([b, gpd.GeoDataFrame({"building_id": ["LONE"], "name": ["孤楼"], "height_m": [np.nan]}, geometry=[far], crs=32651)])
    p = tmp_path / "heights.geojson"
    b.to_crs(4326).to_file(p)
    code, _ = run(["dapuqiao", "--buildings", str(p), "--boundary", "none", "--no-shading"], out, capsys)
    assert code == 0
    roofs = roofs_of(out).set_index("building_id")
    assert len(roofs) == 9
    assert roofs.loc["T1", "height_source"] == "floors" and roofs.loc["T1", "height_m"] == 15.0 and roofs.loc["T1", "height_imputed"]
    for bid in ("T2", "T3", "T4"):  # no floors: the median of the neighbours within 100 m
        assert roofs.loc[bid, "height_source"] == "neighbours" and roofs.loc[bid, "height_imputed"]
        assert roofs.loc[bid, "height_m"] == pytest.approx(19.5, abs=0.6)
    assert roofs.loc["LONE", "reason"] == "no_height" and roofs.loc["LONE", "assessment"] == "excluded"
    assert not roofs.loc["T0", "height_imputed"]


def _dsm(tmp_path, *, offset=0.0, nodata_only=False) -> Path:
    b = make_buildings()
    x0, y0, x1, y1 = b.total_bounds
    res = 1.0
    w, h = int((x1 - x0) / res) + 20, int((y1 - y0) / res) + 20
    data = np.full((h, w), -9999.0 if nodata_only else 10.0, dtype="float32")
    path = tmp_path / "dsm.tif"
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1, dtype="float32", crs="EPSG:32651",
                       transform=from_origin(x0 - 10 + offset, y1 + 10 + offset, res, res), nodata=-9999.0) as dst:
        dst.write(data, 1)
    return path


def test_dsm_not_overlapping(out, capsys, tmp_path):
    p = tmp_path / "b.geojson"
    make_buildings().to_crs(4326).to_file(p)
    fails(["dapuqiao", "--buildings", str(p), "--dsm", str(_dsm(tmp_path, offset=50_000))], out, capsys, "does not overlap")


def test_dsm_all_nodata(out, capsys, tmp_path):
    p = tmp_path / "b.geojson"
    make_buildings().to_crs(4326).to_file(p)
    fails(["dapuqiao", "--buildings", str(p), "--dsm", str(_dsm(tmp_path, nodata_only=True))], out, capsys, "no valid")


@pytest.mark.parametrize("cpg", [True, False])
def test_gbk_shapefile_with_and_without_cpg(out, capsys, tmp_path, cpg):
    p = tmp_path / "gbk.shp"
    make_buildings().to_crs(4326).to_file(p, encoding="GBK", engine="pyogrio")
    if not cpg:
        p.with_suffix(".cpg").unlink(missing_ok=True)
    code, _ = run(["dapuqiao", "--buildings", str(p), "--no-shading"], out, capsys)
    assert code == 0
    assert roofs_of(out)["name"].tolist() == [f"测试楼{i}" for i in range(8)]


def test_unknown_categories_become_other_with_a_warning(out, capsys, tmp_path):
    p = tmp_path / "cat.geojson"
    make_buildings(category=["school", "公共机构", "spaceport", "", "住宅", "residential", "bakery", "industrial"]).to_crs(4326).to_file(p)
    code, err = run(["dapuqiao", "--buildings", str(p), "--no-shading"], out, capsys)
    assert code == 0 and "not recognised" in err and "spaceport" in err and "bakery" in err
    roofs = roofs_of(out)
    assert roofs["category"].tolist() == ["other", "public_institution", "other", "other", "residential", "residential", "other", "industrial"]
    summary = json.loads((out / "dapuqiao" / "summary.json").read_text(encoding="utf-8"))
    assert any("spaceport" in w for w in summary["warnings"])


def test_unknown_subdistrict(out, capsys):
    fails(["atlantis"], out, capsys, "Known subdistricts: dapuqiao (打浦桥街道, Dapuqiao)")


def test_boundary_containing_no_buildings(out, capsys, tmp_path):
    p = tmp_path / "b.geojson"
    make_buildings().to_crs(4326).to_file(p)
    boundary = tmp_path / "far.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(116.3, 39.9, 116.4, 40.0)], crs=4326).to_file(boundary)
    fails(["dapuqiao", "--buildings", str(p), "--boundary", str(boundary)], out, capsys, "no building of")


def test_malformed_weather_file(out, capsys, tmp_path):
    p = tmp_path / "bad.epw"
    p.write_text("this is not an EPW file\n1,2,3\n")
    fails(["dapuqiao", "--weather", str(p)], out, capsys, "bad.epw")


@needs_epw
def test_too_short_weather_file(out, capsys, tmp_path):
    lines = EPW.read_text(encoding="latin-1").splitlines(keepends=True)
    p = tmp_path / "short.epw"
    p.write_text("".join(lines[: 8 + 1000]), encoding="latin-1")
    fails(["dapuqiao", "--weather", str(p)], out, capsys, "needs 8760")


@needs_epw
def test_weather_in_the_wrong_time_zone(out, capsys, tmp_path):
    lines = EPW.read_text(encoding="latin-1").splitlines(keepends=True)
    head = lines[0].split(",")
    head[8] = "0.0"  # TZ: says UTC while the hours are Shanghai time
    lines[0] = ",".join(head)
    p = tmp_path / "utc.epw"
    p.write_text("".join(lines), encoding="latin-1")
    fails(["dapuqiao", "--weather", str(p)], out, capsys, "time zone")


def _epw_lines() -> list[str]:
    return EPW.read_text(encoding="latin-1").splitlines(keepends=True)


def _sydney_epw(tmp_path) -> Path:
    """The real Shanghai EPW with only its LOCATION line moved to Sydney (-33.87, 151.21, UTC+10)."""
    lines = _epw_lines()
    assert lines[0].startswith("LOCATION,")
    lines[0] = "LOCATION,Sydney.Observatory.Hill,NSW,AUS,SRC-TMYx,947680,-33.87,151.21,10.0,39.0\n"
    p = tmp_path / "sydney.epw"
    p.write_text("".join(lines), encoding="latin-1")
    return p


@needs_epw
def test_weather_for_another_place(out, capsys, tmp_path):
    p = _sydney_epw(tmp_path)
    before = snapshot(out)
    code, err = run(["dapuqiao", "--weather", str(p)], out, capsys)
    assert code == 2, err
    assert re.search(rf"weather file {re.escape(str(p))}: it is for 33\.87° S, 151\.21° E, 7,8\d\d km from the "
                     r"buildings at 31\.2\d° N, 121\.4\d° E", err), err  # the file, both places, ~7,850 km
    assert "--weather clearsky" in err and "--weather-anywhere" in err  # the fixes
    assert err.count("\n") <= 2 and "Traceback" not in err and snapshot(out) == before


@needs_epw
def test_weather_with_the_other_hemispheres_seasons(out, capsys, tmp_path):
    # the data rows rotated by 4,380 hours (half a year), their time stamps and the header unchanged (rotating
    # whole lines would be undone: the reader places a typical year by each row's month, day and hour)
    lines = _epw_lines()
    head, rows = lines[:8], [r.rstrip("\n").split(",") for r in lines[8:]]
    assert len(rows) == 8760
    values = [r[5:] for r in rows]
    values = values[-4380:] + values[:-4380]
    p = tmp_path / "shifted.epw"
    p.write_text("".join(head) + "".join(",".join(r[:5] + v) + "\n" for r, v in zip(rows, values, strict=True)),
                 encoding="latin-1")
    before = snapshot(out)
    code, err = run(["dapuqiao", "--weather", str(p)], out, capsys)
    assert code == 2 and f"weather file {p}: " in err, err
    assert "seasons are the southern hemisphere's: May-August has 0.55 × the irradiation of November-February" in err
    # 4,380 h is also half a day: irradiance at night, which --weather-anywhere cannot excuse, so it is not offered
    assert "peaks at 23.6 h local time" in err and "--weather-anywhere" not in err and "--weather clearsky" in err
    assert err.count("\n") <= 2 and "Traceback" not in err and snapshot(out) == before


@needs_epw
def test_weather_anywhere_runs_weather_for_another_place_with_a_warning(out, capsys, tmp_path):
    p = _sydney_epw(tmp_path)
    code, err = run(["dapuqiao", "--weather", str(p), "--weather-anywhere", "--no-shading"], out, capsys)
    assert code == 0, err
    assert "warning: weather file" in err and "km from the buildings" in err
    summary = json.loads((out / "dapuqiao" / "summary.json").read_text(encoding="utf-8"))
    assert any("7,8" in w and "km from the buildings" in w and "used anyway" in w for w in summary["warnings"])
    assert len(roofs_of(out)) == 1699


@needs_epw
def test_real_weather_file_for_the_place_passes(out, capsys):
    code, err = run(["dapuqiao", "--weather", str(EPW), "--no-shading"], out, capsys)
    assert code == 0 and "weather" not in err.replace(str(out.parent), "TMP"), err  # no weather warning either
    summary = json.loads((out / "dapuqiao" / "summary.json").read_text(encoding="utf-8"))
    assert not any("weather" in w.replace(str(out.parent), "TMP") for w in summary["warnings"])


def test_pvgis_weather_with_no_cached_year_and_no_network(out, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SOLARMAP_CACHE_DIR", str(tmp_path / "cache"))
    refuse_network(monkeypatch)
    fails(["dapuqiao", "--weather", "pvgis"], out, capsys, "re.jrc.ec.europa.eu/api/tmy?lat=31.2")
    assert not (tmp_path / "cache" / "pvgis").exists() or not any((tmp_path / "cache" / "pvgis").iterdir())


@pytest.mark.parametrize("source", ["osm", "overture"])
def test_fetch_with_no_network_or_no_client(source, capsys, tmp_path, monkeypatch):
    refuse_network(monkeypatch)
    monkeypatch.setenv("SOLARMAP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setitem(sys.modules, "osmnx" if source == "osm" else "overturemaps", None)  # as if not installed
    code = main(["fetch", source, "--subdistrict", "dapuqiao", "--out", str(tmp_path / "x.parquet"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "Where there is a network" in err and "--buildings x." in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_osm_extract_that_is_broken(out, capsys, tmp_path):
    p = tmp_path / "cut.osm"
    p.write_text('<?xml version="1.0"?>\n<osm version="0.6"><node id="1" lat="31.2" lon=', encoding="utf-8")
    fails(["dapuqiao", "--buildings", str(p)], out, capsys, "could not be read as OpenStreetMap data")


def test_osm_extract_without_buildings(out, capsys, tmp_path):
    w = OsmWriter()
    w.box(1, 0, 0, 30, 20, {"landuse": "residential"})
    fails(["dapuqiao", "--buildings", str(w.write(tmp_path / "none.osm"))], out, capsys, "has no OSM building")


def test_osm_outline_with_parts_and_pv_without_a_size(out, capsys, tmp_path):
    w = OsmWriter()
    w.box(1, 0, 0, 30, 20, {"building": "school", "generator:source": "solar"})
    w.box(2, 0, 0, 30, 20, {"building:part": "yes", "building:levels": "5"})
    w.box(3, 40, 0, 30, 20, {"building": "office", "height": "30"})
    code, err = run(["dapuqiao", "--buildings", str(w.write(tmp_path / "p.osm")), "--no-shading"], out, capsys)
    assert code == 0, err
    r = roofs_of(out).set_index("building_id")
    assert len(r) == 3 and (r.loc["way/1", "assessment"], r.loc["way/1", "reason"]) == ("excluded", "replaced_by_parts")
    assert r.loc["way/2", "existing_pv_kwp"] == 1.0 and r.loc["way/2", "existing_pv_source"] == "unsized"
    assert r.loc["way/2", "use_class"] == "education" and "without a size" in err


def test_overture_building_underground(out, capsys, tmp_path):
    code, err = run(["dapuqiao", "--buildings", str(overture_buildings(tmp_path / "o.parquet")), "--no-shading"], out, capsys)
    assert code == 0, err
    r = roofs_of(out)
    assert len(r) == 5 and r["reason"].eq("underground").sum() == 1
    assert (r.loc[r["reason"] == "underground", "assessment"] == "excluded").all()


def test_config_with_an_unknown_key(out, capsys, tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("name = 'x'\n[roofs]\nsetback = 1\n", encoding="utf-8")
    fails([str(p)], out, capsys, "unknown key 'roofs.setback'")


def test_output_folder_that_cannot_be_written(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the output folder should be")
    code, err = run(["dapuqiao"], blocker / "out", capsys)
    assert code == 2 and "cannot write to the output folder" in err


def test_database_locked_by_another_process(out, capsys):
    db = out / "solarmap.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "c.execute('CREATE TABLE IF NOT EXISTS held (x INT)'); print('ready', flush=True); time.sleep(60)", str(db)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        os.environ["SOLARMAP_DB_WAIT_S"] = "1"
        fails(["dapuqiao", "--no-shading"], out, capsys, "in use by another process")
    finally:
        os.environ.pop("SOLARMAP_DB_WAIT_S", None)
        holder.kill()
        holder.wait()
    from solarmap import store

    runs = store.query(db, "SELECT count(*) AS n FROM runs")
    assert int(runs["n"].iloc[0]) == 1  # the first run's record is intact and readable


def test_killed_run_leaves_previous_outputs_intact(out, tmp_path):
    before = snapshot(out / "dapuqiao")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "solarmap.cli", "run", "dapuqiao", "--out", str(out), "-q"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    killed_in_report = False
    while time.monotonic() < deadline and proc.poll() is None:
        if any(out.glob(".dapuqiao.tmp-*")):
            time.sleep(0.2)  # let it write part of the report
            proc.send_signal(signal.SIGKILL)
            killed_in_report = True
            break
        time.sleep(0.01)
    proc.wait()
    assert killed_in_report, "the run finished before it could be killed mid-report"
    assert snapshot(out / "dapuqiao") == before  # no partial file, nothing changed
    assert main(["run", "dapuqiao", "--out", str(out), "--no-shading", "-q"]) == 0
    assert not list(out.glob(".dapuqiao.tmp-*")) and not list(out.glob(".dapuqiao.old-*"))  # cleaned by the next run


def test_two_runs_give_byte_identical_csv_and_the_same_database_rows(tmp_path):
    o = tmp_path / "twice"
    ids = []
    csvs = []
    for _ in range(2):
        assert main(["run", "dapuqiao", "--out", str(o), "-q"]) == 0
        csvs.append({n: (o / "dapuqiao" / n).read_bytes() for n in ("roofs.csv", "candidates.csv")})
        ids.append(json.loads((o / "dapuqiao" / "summary.json").read_text(encoding="utf-8"))["run_id"])
    assert csvs[0] == csvs[1]
    from solarmap import store

    rows = [store.query(o / "solarmap.duckdb", f"SELECT * EXCLUDE (run_id, geometry) FROM roofs WHERE run_id = '{i}' ORDER BY building_id")
            for i in ids]
    pd.testing.assert_frame_equal(rows[0], rows[1])
    shutil.rmtree(o)


def test_columns_named_like_outputs_in_another_case_are_kept_as_input_columns(tmp_path, capsys):
    """A Shapefile's NAME, HEIGHT_M and FLOORS beside solarmap's name, height_m and floors: GeoPackage (and
    DuckDB) names ignore case, so they are written as input_NAME …; they are also the columns read."""
    b = make_buildings(8)
    b = b.rename(columns={"name": "NAME", "height_m": "HEIGHT_M"})
    b["FLOORS"] = 5
    p = tmp_path / "upper.geojson"
    b.to_crs(4326).to_file(p)
    code, err = run(["dapuqiao", "--buildings", str(p), "--boundary", "none", "--no-shading", "--no-facades"],
                    tmp_path / "out", capsys)
    assert code == 0, err
    roofs = roofs_of(tmp_path / "out")
    assert roofs["height_m"].tolist() == b["HEIGHT_M"].tolist() and (roofs["height_source"] == "column").all()
    assert roofs["name"].tolist() == b["NAME"].tolist()
    import pyogrio

    fields = list(pyogrio.read_info(tmp_path / "out" / "dapuqiao" / "roofs.gpkg", layer="roofs")["fields"])
    assert {"input_NAME", "input_HEIGHT_M", "input_FLOORS", "name", "height_m", "floors"} <= set(fields)
    assert len({f.lower() for f in fields}) == len(fields)
