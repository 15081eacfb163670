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
