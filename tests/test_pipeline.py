"""The embedded Dapuqiao and Bansongyuan runs end to end: every building out, four reports, DuckDB, shading."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from conftest import DAPUQIAO_OSM
from solarmap import store
from solarmap.cli import main
from solarmap.resources import BUILDINGS_DIR

REPORTS = ("roofs.csv", "candidates.csv", "map.html", "summary.json")


def _input_count(slug: str) -> int:
    return len(gpd.read_file(BUILDINGS_DIR / f"{slug}.geojson"))


def test_dapuqiao_writes_reports_and_every_building(dapuqiao_run):
    run = dapuqiao_run / "dapuqiao"
    for name in REPORTS:
        assert (run / name).stat().st_size > 1000, name
    n = _input_count("dapuqiao")
    roofs = pd.read_csv(run / "roofs.csv", encoding="utf-8-sig")
    assert len(roofs) == n and roofs["building_id"].is_unique
    assert set(roofs["assessment"]) == {"assessed", "excluded"}
    assert roofs.loc[roofs["assessment"] == "excluded", "reason"].notna().all()
    required = ["building_id", "name", "assessment", "reason", "category", "stage", "height_m", "roof_area_m2",
                "usable_area_m2", "surface_tilt_deg", "surface_azimuth_deg", "capacity_kwp", "annual_kwh",
                "annual_kwh_unshaded", "specific_yield_kwh_per_kwp", "lon", "lat", "euluc_class", "kind"]
    assert not set(required) - set(roofs.columns)
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    rows = store.query(dapuqiao_run / "solarmap.duckdb",
                       f"SELECT count(*) AS n FROM roofs WHERE run_id = '{summary['run_id']}'")
    assert int(rows["n"].iloc[0]) == n
    runs = store.query(dapuqiao_run / "solarmap.duckdb", "SELECT * FROM runs")
    assert len(runs) == 1 and json.loads(runs["input_hashes"].iloc[0])["buildings"]
    for stage in ("ingest", "roofs", "weather", "shading", "yield", "policy", "report", "store"):
        assert stage in summary["timings_s"]
    assert summary["pv_model"]["modelchain"]["dc_model"] == "pvwatts"


def test_candidates_are_ranked_assessed_roofs(dapuqiao_run):
    c = pd.read_csv(dapuqiao_run / "dapuqiao" / "candidates.csv", encoding="utf-8-sig")
    assert len(c) > 100
    assert c["candidate_rank"].tolist() == list(range(1, len(c) + 1))


def test_shading_is_reported_and_lane_houses_by_towers_lose_more_than_towers(dapuqiao_run):
    run = dapuqiao_run / "dapuqiao"
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert summary["totals"]["median_shading_loss_pct"] > 0
    roofs = pd.read_csv(run / "roofs.csv", encoding="utf-8-sig")
    roofs = roofs[roofs["assessment"] == "assessed"]
    assert (roofs["annual_kwh"] <= roofs["annual_kwh_unshaded"] + 0.1).all()  # 0.1: the CSV's kWh rounding
    pts = gpd.GeoSeries(gpd.points_from_xy(roofs["lon"], roofs["lat"]), crs=4326).to_crs(32651)
    towers = roofs["height_m"].to_numpy() > 60
    tree = shapely.STRtree(pts.to_numpy()[towers])
    lane = (roofs["kind"] == "lane").to_numpy()
    near = np.zeros(len(roofs), dtype=bool)
    idx, _ = tree.query(pts.to_numpy()[lane], predicate="dwithin", distance=120.0)
    near[np.flatnonzero(lane)[np.unique(idx)]] = True
    lane_near_towers = roofs.loc[near, "shading_loss_pct"]
    tower_roofs = roofs.loc[towers, "shading_loss_pct"]
    assert len(lane_near_towers) >= 10 and len(tower_roofs) >= 10
    assert lane_near_towers.median() > tower_roofs.median() + 5


def test_bansongyuan_run(tmp_path):
    assert main(["run", "半淞园路", "--out", str(tmp_path), "-q"]) == 0
    roofs = pd.read_csv(tmp_path / "bansongyuan" / "roofs.csv", encoding="utf-8-sig")
    assert len(roofs) == _input_count("bansongyuan")
    for name in REPORTS:
        assert (tmp_path / "bansongyuan" / name).exists()


@pytest.mark.skipif(not DAPUQIAO_OSM.exists(), reason="the real Dapuqiao boundary is not beside the project")
def test_boundary_option_keeps_outside_buildings_as_excluded(tmp_path):
    assert main(["run", "dapuqiao", "--boundary", str(DAPUQIAO_OSM), "--out", str(tmp_path), "--no-shading", "-q"]) == 0
    roofs = pd.read_csv(tmp_path / "dapuqiao" / "roofs.csv", encoding="utf-8-sig")
    assert len(roofs) == _input_count("dapuqiao")
    outside = roofs["reason"] == "outside_boundary"
    boundary = gpd.read_file(DAPUQIAO_OSM).geometry.iloc[0]
    inside = shapely.contains_xy(boundary, roofs["lon"], roofs["lat"])
    assert (outside == ~inside).all() and outside.any() and (~outside).any()


def test_query_command_prints_a_table(dapuqiao_run, capsys):
    assert main(["query", "SELECT assessment, count(*) AS n FROM roofs GROUP BY 1 ORDER BY 1", "--out", str(dapuqiao_run)]) == 0
    out = capsys.readouterr().out
    assert "assessed" in out and "excluded" in out


def test_unknown_subdistrict_fails_with_the_list(capsys, tmp_path):
    assert main(["run", "atlantis", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown subdistrict 'atlantis'" in err and "bansongyuan" in err


def test_subdistricts_command_lists_ten(capsys):
    assert main(["subdistricts"]) == 0
    out = capsys.readouterr().out
    assert out.count("310101") == 10 and "打浦桥街道" in out


def _small_file(path, n: int, prefix: str):
    """``n`` buildings of the embedded Dapuqiao sample (inside its outline), ids prefixed so two files differ."""
    src = gpd.read_file(BUILDINGS_DIR / "dapuqiao.geojson").head(n)
    src["building_id"] = prefix + src["building_id"].astype(str)
    src.to_file(path, driver="GPKG" if path.suffix == ".gpkg" else None)
    return path


def test_two_runs_over_different_buildings_files_leave_two_folders_named_after_the_files(tmp_path):
    out = tmp_path / "out"
    a = _small_file(tmp_path / "city.gpkg", 60, "C")
    b = _small_file(tmp_path / "老西门 survey (v2).gpkg", 40, "L")
    assert main(["run", "dapuqiao", "--buildings", str(a), "--out", str(out), "--no-shading", "-q"]) == 0
    first = (out / "city" / "roofs.csv").read_bytes()
    assert main(["run", "dapuqiao", "--buildings", str(b), "--out", str(out), "--no-shading", "-q"]) == 0
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    # the Chinese name is kept, the spaces and brackets become _; nothing went to outputs/dapuqiao/
    assert folders == ["city", "老西门_survey_v2"], folders
    assert (out / "city" / "roofs.csv").read_bytes() == first  # the second run overwrote nothing
    ra = pd.read_csv(out / "city" / "roofs.csv", encoding="utf-8-sig")
    rb = pd.read_csv(out / "老西门_survey_v2" / "roofs.csv", encoding="utf-8-sig")
    assert len(ra) == 60 and ra["building_id"].str.startswith("C").all()
    assert len(rb) == 40 and rb["building_id"].str.startswith("L").all()
    for folder, name in (("city", "city"), ("老西门_survey_v2", "老西门_survey_v2")):
        s = json.loads((out / folder / "summary.json").read_text(encoding="utf-8"))
        assert s["name"] == name
        # the title names the file's run and, as the Dapuqiao outline is the boundary, the subdistrict
        assert s["title"] == f"solarmap · {name} · Dapuqiao (打浦桥街道)", s["title"]
        report = (out / folder / "report.html").read_text(encoding="utf-8")
        assert f"<h1>solarmap · {name} · Dapuqiao" in report and f"<title>solarmap · {name}" in report
    runs = store.query(out / "solarmap.duckdb", "SELECT name FROM runs ORDER BY started_at")
    assert runs["name"].tolist() == ["city", "老西门_survey_v2"]


def test_the_run_name_of_a_buildings_file(tmp_path):
    """--name wins; a pipeline's own buildings file keeps the pipeline's name; without a boundary the title is the
    file's alone."""
    from solarmap.config import load_config, renames_run, resolve_pipeline, run_name_from_file

    assert run_name_from_file("/data/city.parquet") == "city"
    assert run_name_from_file("shanghai.osm.pbf") == "shanghai"
    assert run_name_from_file("dapuqiao_overture.parquet") == "dapuqiao_overture"
    assert run_name_from_file("黄浦 区/楼栋:2024*.gpkg") == "楼栋_2024"  # the folder is not part of the name
    assert run_name_from_file("a<b>|c?.geojson") == "a_b_c"
    assert run_name_from_file("../___.shp") == "run" and run_name_from_file("--.gpkg") == "run"
    assert len(run_name_from_file("x" * 300 + ".gpkg")) == 80
    cfg = load_config(resolve_pipeline("dapuqiao"))
    assert renames_run(cfg, tmp_path / "other.gpkg") and not renames_run(cfg, cfg.buildings.path)
    assert not renames_run(load_config(resolve_pipeline("yuyuan")), tmp_path / "other.gpkg")  # no file of its own

    f = _small_file(tmp_path / "blocks.gpkg", 30, "B")
    out = tmp_path / "out"
    assert main(["run", "dapuqiao", "--buildings", str(f), "--name", "mine", "--boundary", "none", "--out", str(out),
                 "--no-shading", "-q"]) == 0
    s = json.loads((out / "mine" / "summary.json").read_text(encoding="utf-8"))
    assert s["title"] == "solarmap · mine" and not (out / "blocks").exists()
    # a pipeline TOML with its own buildings path keeps its name; --buildings on it with that same file does too
    toml = tmp_path / "my-area.toml"
    toml.write_text('name = "my-area"\nsubdistrict = "dapuqiao"\n[buildings]\npath = "blocks.gpkg"\n', encoding="utf-8")
    assert main(["run", str(toml), "--out", str(out), "--no-shading", "-q"]) == 0
    assert main(["run", str(toml), "--buildings", str(f), "--out", str(out), "--no-shading", "-q"]) == 0
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["mine", "my-area"]
    s = json.loads((out / "my-area" / "summary.json").read_text(encoding="utf-8"))
    assert s["title"] == "solarmap · my-area · Dapuqiao (打浦桥街道)"


def test_database_rows_inserted_in_chunks_equal_the_run(dapuqiao_run, tmp_path, monkeypatch):
    # a city's rows go into DuckDB 100,000 at a time, each chunk reprojected on its own: here 500 at a time
    monkeypatch.setattr(store, "INSERT_ROWS", 500)
    assert main(["run", "dapuqiao", "--out", str(tmp_path), "-q"]) == 0
    for table, key in (("roofs", "building_id"), ("facades", "facade_id"), ("roof_planes", "plane_id")):
        sql = f"SELECT * EXCLUDE (run_id, geometry), ST_AsWKB(geometry) AS wkb FROM {table} ORDER BY {key}"
        a = store.query(dapuqiao_run / "solarmap.duckdb", sql)
        b = store.query(tmp_path / "solarmap.duckdb", sql)
        assert len(b) > 1000 or table == "roof_planes", table  # several chunks
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=table)


def test_a_run_failing_while_its_rows_are_written_leaves_the_database_as_it_was(tmp_path, monkeypatch, capsys):
    # the rows are built in a staging file, chunk by chunk, and merged in one transaction: a failure after the
    # roofs and facades are staged (the stored shade is inserted last) must reach neither the database nor disk
    from solarmap.errors import OutputError

    assert main(["run", "dapuqiao", "--no-shading", "--name", "first", "--out", str(tmp_path), "-q"]) == 0

    def full_disk(*a, **k):
        raise OutputError("no space left on the device (simulated)")

    with monkeypatch.context() as m:
        m.setattr(store, "_insert_hourly", full_disk)
        assert main(["run", "dapuqiao", "--no-shading", "--out", str(tmp_path), "-q"]) == 2
    assert "no space left" in capsys.readouterr().err
    db = tmp_path / "solarmap.duckdb"
    assert store.query(db, "SELECT name FROM runs")["name"].tolist() == ["first"]
    for table in ("roofs", "facades", "roof_planes", "shade_points"):
        left = store.query(db, f"SELECT count(*) AS n FROM {table} WHERE run_id NOT IN (SELECT run_id FROM runs)")
        assert left["n"][0] == 0, table
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first", "solarmap.duckdb"]  # no staging file, no folder
    assert main(["run", "dapuqiao", "--no-shading", "--out", str(tmp_path), "-q"]) == 0
    assert not list((tmp_path / "dapuqiao").glob("*.duckdb*"))  # the staging file went once merged
    assert sorted(store.query(db, "SELECT name FROM runs")["name"]) == ["dapuqiao", "first"]


def test_write_run_from_python_stages_beside_the_database_and_leaves_only_the_database(tmp_path):
    import geopandas as gpd
    import shapely

    roofs = gpd.GeoDataFrame({"building_id": ["a", "b"], "capacity_kwp": [1.5, None]},
                             geometry=[shapely.box(5e5, 3.45e6, 5e5 + 10, 3.45e6 + 10),
                                       shapely.box(5e5 + 20, 3.45e6, 5e5 + 30, 3.45e6 + 8)], crs="EPSG:32651")
    now = pd.Timestamp.now(tz="UTC")
    run = {"run_id": "r1", "name": "lib", "started_at": now, "finished_at": now, "package_version": "0",
           "pvlib_version": "0", "config": {}, "input_hashes": {}, "summary": {}, "buildings": 2, "assessed": 2,
           "excluded": 0}
    db = tmp_path / "db" / "solarmap.duckdb"
    store.write_run(db, run=run, roofs=roofs, geometry=roofs.geometry, subdistricts=pd.DataFrame({"subdistrict": ["x"]}))
    assert [p.name for p in db.parent.iterdir()] == ["solarmap.duckdb"]
    got = store.query(db, "SELECT building_id, capacity_kwp, ST_X(ST_Centroid(geometry)) AS lon FROM roofs ORDER BY 1")
    assert got["building_id"].tolist() == ["a", "b"] and got["capacity_kwp"].isna().tolist() == [False, True]
    assert np.allclose(got["lon"], 123.0, atol=1e-3)  # stored in WGS84: x = 500 km is zone 51's central meridian
    # a new database is the staged file itself (linked into place); an existing one gets the rows merged in: the
    # same tables, columns and rows either way
    other = tmp_path / "other" / "solarmap.duckdb"
    store.write_run(other, run={**run, "run_id": "r0"}, roofs=roofs.iloc[:1], geometry=roofs.geometry.iloc[:1],
                    subdistricts=pd.DataFrame({"subdistrict": ["y"]}))
    store.write_run(other, run=run, roofs=roofs, geometry=roofs.geometry, subdistricts=pd.DataFrame({"subdistrict": ["x"]}))
    schema = "SELECT table_name, column_name, data_type FROM information_schema.columns ORDER BY 1, 2"
    pd.testing.assert_frame_equal(store.query(db, schema), store.query(other, schema))
    for table in ("runs", "roofs", "subdistrict_summary"):
        sql = f"SELECT * FROM {table} WHERE run_id = 'r1' ORDER BY ALL"
        pd.testing.assert_frame_equal(store.query(db, sql), store.query(other, sql), obj=table)
    assert sorted(p.name for p in other.parent.iterdir()) == ["solarmap.duckdb"]
