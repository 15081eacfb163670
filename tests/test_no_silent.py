"""No silent wrong answers (issue 18): warnings travel, headline figures say what they count, boundary names,
a busy database, the row spacing of weather from elsewhere."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from conftest import EPW, needs_epw
from solarmap.cli import main
from solarmap.resources import sample_buildings
from solarmap.sources.coords import wgs84_to_gcj02
from solarmap.sources.subdistricts import find_subdistrict


def _run(args, out: Path) -> int:
    return main(["run", *args, "--out", str(out), "-q"])


def _summary(out: Path, name: str = "dapuqiao") -> dict:
    return json.loads((out / name / "summary.json").read_text(encoding="utf-8"))


def test_suitable_capacity_is_the_sum_over_suitable_roofs_and_leads_the_report(dapuqiao_run):
    roofs = pd.read_csv(dapuqiao_run / "dapuqiao" / "roofs.csv", encoding="utf-8-sig")
    t = _summary(dapuqiao_run)["totals"]
    suitable = roofs["suitable"].astype(bool)
    # the CSV rounds capacity to 1 W and energy to 0.1 kWh per roof; the summary rounds to 0.1 kWp and 1 kWh
    assert t["suitable_capacity_kwp"] == pytest.approx(roofs.loc[suitable, "capacity_kwp"].sum(), abs=0.1 + 1e-3 * len(roofs))
    assert t["suitable_annual_kwh"] == pytest.approx(roofs.loc[suitable, "annual_kwh"].sum(), abs=1 + 0.1 * len(roofs))
    assessed = roofs["assessment"] == "assessed"
    assert (assessed & ~suitable).sum() > 0  # the sample has shaded roofs, so the two figures differ
    assert t["suitable_capacity_kwp"] < t["capacity_kwp"]
    report = (dapuqiao_run / "dapuqiao" / "report.html").read_text(encoding="utf-8")
    lead = report.index(f"{t['suitable_capacity_mw']:,.1f} MWp")
    assert lead < report.index(f"{t['capacity_mw']:,.1f} MWp")  # suitable first, all assessed beside it, labelled
    assert "all assessed roofs" in report
    panel = (dapuqiao_run / "dapuqiao" / "map.html").read_text(encoding="utf-8")
    assert f"{t['suitable_capacity_mw']:,.1f} MWp" in panel and "suitable roofs" in panel


def test_a_gcj02_warning_appears_in_summary_report_and_map(tmp_path):
    src = gpd.read_file(sample_buildings("dapuqiao"))
    xy = shapely.get_coordinates(src.geometry.to_numpy())
    lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
    src["geometry"] = shapely.set_coordinates(src.geometry.to_numpy().copy(), list(zip(lon, lat, strict=True)))
    path = tmp_path / "gcj.gpkg"
    src.to_file(path, driver="GPKG")
    assert _run(["dapuqiao", "--buildings", str(path)], tmp_path / "out") == 0
    s = _summary(tmp_path / "out", "gcj")  # a run over gcj.gpkg is named after it
    gcj = [w for w in s["warning_details"] if w["kind"] == "GCJ02Warning"]
    assert len(gcj) == 1 and "GCJ-02" in gcj[0]["message"]
    for page in ("report.html", "map.html"):
        html = (tmp_path / "out" / "gcj" / page).read_text(encoding="utf-8")
        box = html[html.index('class="sm-warnings"'):]
        assert "GCJ-02" in box[:4000] and "坐标疑似 GCJ-02" in box[:4000], page


def test_warnings_in_english_only_pages_have_no_chinese_titles(tmp_path):
    src = gpd.read_file(sample_buildings("dapuqiao")).head(300)
    src.loc[src.index[:2], "building_id"] = "same"
    path = tmp_path / "dup.gpkg"
    src.to_file(path, driver="GPKG")
    assert _run(["dapuqiao", "--buildings", str(path), "--lang", "en"], tmp_path / "out") == 0
    html = (tmp_path / "out" / "dup" / "report.html").read_text(encoding="utf-8")
    box = html[html.index('class="sm-warnings"'):html.index("</ul>", html.index('class="sm-warnings"'))]
    assert "duplicate building ids" in box and "Warnings of this run" in box and "输入数据" not in box


def _boundary(tmp_path, names: dict[str, shapely.Polygon], column: str = "name") -> Path:
    gdf = gpd.GeoDataFrame({column: list(names)}, geometry=list(names.values()), crs=4326)
    path = tmp_path / "boundary.geojson"
    gdf.to_file(path, driver="GeoJSON")
    return path


def test_a_boundary_with_a_name_column_names_the_roofs_subdistricts(tmp_path):
    outline = find_subdistrict("dapuqiao").outline
    c = outline.centroid
    west = shapely.intersection(outline, shapely.box(-180, -90, c.x, 90))
    east = shapely.intersection(outline, shapely.box(c.x, -90, 180, 90))
    path = _boundary(tmp_path, {"打浦桥西": west, "打浦桥东": east})
    assert _run(["dapuqiao", "--boundary", str(path)], tmp_path / "out") == 0
    roofs = pd.read_csv(tmp_path / "out" / "dapuqiao" / "roofs.csv", encoding="utf-8-sig")
    inside = roofs["in_boundary"].astype(bool)
    assert set(roofs.loc[inside, "subdistrict"]) == {"打浦桥西", "打浦桥东"}
    west_roofs = roofs[inside & (roofs["lon"] < c.x)]
    assert (west_roofs["subdistrict"] == "打浦桥西").all()
    assert "boundary.geojson" not in set(roofs["subdistrict"].astype(str))
    # rules are checked per named part
    assert {r["subdistrict"] for r in _summary(tmp_path / "out")["policy"]} >= {"打浦桥西", "打浦桥东"}


def test_one_unnamed_boundary_polygon_takes_the_run_name(tmp_path):
    outline = find_subdistrict("dapuqiao").outline
    gdf = gpd.GeoDataFrame({"value": [1]}, geometry=[outline], crs=4326)
    path = tmp_path / "official.geojson"
    gdf.to_file(path, driver="GeoJSON")
    assert _run(["dapuqiao", "--boundary", str(path), "--name", "dpq-official"], tmp_path / "out") == 0
    roofs = pd.read_csv(tmp_path / "out" / "dpq-official" / "roofs.csv", encoding="utf-8-sig")
    assert set(roofs.loc[roofs["in_boundary"].astype(bool), "subdistrict"]) == {"dpq-official"}


def test_boundary_errors_name_the_boundary(tmp_path, capsys):
    assert _run(["dapuqiao", "--boundary", str(tmp_path / "missing.geojson")], tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "boundary file" in err and "--boundary" in err and "buildings file" not in err
    pts = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(121.47, 31.21)], crs=4326)
    path = tmp_path / "points.geojson"
    pts.to_file(path, driver="GeoJSON")
    assert _run(["dapuqiao", "--boundary", str(path)], tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert f"boundary file {path} has no polygon" in err and "Point" in err


_HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _hold(db: Path, seconds: float) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", _HOLD, str(db), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "holding"
    return p


def test_a_read_only_connection_held_on_the_database_fails_the_run_before_the_first_stage(dapuqiao_run, tmp_path,
                                                                                        monkeypatch, capsys):
    out = tmp_path / "out"
    assert _run(["dapuqiao", "--no-shading"], out) == 0
    before = (out / "dapuqiao" / "roofs.csv").read_bytes()
    monkeypatch.setenv("SOLARMAP_DB_WAIT_S", "0.5")
    started = []
    import solarmap.pipeline as pipeline

    real = pipeline.run_assessment
    monkeypatch.setattr(pipeline, "run_assessment", lambda *a, **k: started.append(1) or real(*a, **k))
    holder = _hold(out / "solarmap.duckdb", 30)
    try:
        t0 = time.perf_counter()
        assert _run(["dapuqiao", "--no-shading"], out) == 2
        took = time.perf_counter() - t0
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert "is in use by another process" in err and "read-only" in err
    assert not started and took < 10  # failed before any stage ran
    assert (out / "dapuqiao" / "roofs.csv").read_bytes() == before


def test_a_connection_taken_during_the_run_leaves_the_outputs_and_a_side_file(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert _run(["dapuqiao", "--no-shading", "--name", "first"], out) == 0  # the database exists
    monkeypatch.setenv("SOLARMAP_DB_WAIT_S", "0.5")
    import solarmap.pipeline as pipeline

    real = pipeline.run_assessment
    holders = []

    def assess_then_someone_opens_the_database(*a, **k):
        result = real(*a, **k)
        holders.append(_hold(out / "solarmap.duckdb", 60))
        return result

    monkeypatch.setattr(pipeline, "run_assessment", assess_then_someone_opens_the_database)
    try:
        assert _run(["dapuqiao", "--no-shading"], out) == 0
    finally:
        for h in holders:
            h.kill()
            h.wait()
    err = capsys.readouterr().err
    side = out / "dapuqiao" / "solarmap-run.duckdb"
    assert side.exists() and "solarmap store merge" in err
    assert (out / "dapuqiao" / "roofs.csv").exists() and (out / "dapuqiao" / "map.html").exists()
    s = _summary(out)
    assert s["database"]["written"] is False and any("store merge" in w for w in s["warnings"])
    assert main(["store", "merge", str(side), "--db", str(out / "solarmap.duckdb")]) == 0
    from solarmap import store

    n = store.query(out / "solarmap.duckdb", f"SELECT count(*) AS n FROM roofs WHERE run_id = '{s['run_id']}'")["n"][0]
    assert n == len(pd.read_csv(out / "dapuqiao" / "roofs.csv", encoding="utf-8-sig"))
    assert main(["store", "merge", str(side), "--db", str(out / "solarmap.duckdb")]) == 0  # twice: replaced, not doubled
    n2 = store.query(out / "solarmap.duckdb", f"SELECT count(*) AS n FROM roofs WHERE run_id = '{s['run_id']}'")["n"][0]
    assert n2 == n


@needs_epw
def test_row_spacing_follows_the_buildings_not_the_weather_site(tmp_path):
    """The real EPW with its header moved to Sydney, used anyway: the capacity that fits is the buildings'."""
    lines = EPW.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    head = lines[0].split(",")
    head[6], head[7], head[8] = "-33.87", "151.21", "10.0"
    sydney = tmp_path / "sydney.epw"
    sydney.write_text(",".join(head) + "".join(lines[1:]), encoding="utf-8")
    assert _run(["dapuqiao", "--weather", str(EPW), "--name", "hongqiao"], tmp_path / "out") == 0
    assert _run(["dapuqiao", "--weather", str(sydney), "--weather-anywhere", "--name", "sydney"], tmp_path / "out") == 0
    a = _summary(tmp_path / "out", "hongqiao")["totals"]
    b = _summary(tmp_path / "out", "sydney")["totals"]
    assert b["capacity_kwp"] == pytest.approx(a["capacity_kwp"], rel=1e-9)  # was +47 %


def test_a_killed_runs_hidden_folder_is_removed_by_the_next_run_whatever_its_name(tmp_path):
    from solarmap.pipeline import _prepare_output

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(done.stdout)  # that process has exited
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        for d in (f".city.tmp-{dead}", f".bansongyuan.old-{dead}", f".city.tmp-{live.pid}"):
            (tmp_path / d).mkdir()
            (tmp_path / d / "roofs.csv").write_text("x")
        _prepare_output(tmp_path, "dapuqiao")
        left = sorted(p.name for p in tmp_path.iterdir())
    finally:
        live.kill()
        live.wait()
    assert left == [f".city.tmp-{live.pid}"]  # another name's dead run removed; a running one kept


def test_a_building_drawn_twice_counts_once_for_the_rules(tmp_path):
    """A duplicate footprint is 'covered' by its twin and is no building of its own: rules count the building once."""
    from solarmap import Config, assess

    c = gpd.GeoSeries.from_xy([121.4700], [31.2095], crs=4326).to_crs(32651).iloc[0]
    box = shapely.box(c.x, c.y, c.x + 30, c.y + 20)
    other = shapely.box(c.x + 60, c.y, c.x + 90, c.y + 20)
    gdf = gpd.GeoDataFrame({"building_id": ["S1", "S1-copy", "S2"], "height_m": [20.0, 20.0, 20.0],
                            "category": ["public_institution"] * 3, "year_built": [1990] * 3},
                           geometry=[box, box, other], crs=32651)
    out = assess(gdf, Config())
    assert out.loc[1, "reason"] == "covered"
    hp2 = [r for r in out.attrs["policy"] if r["rule_id"] == "HP-2"]
    assert sum(r["eligible_buildings"] for r in hp2) == 2


@pytest.mark.parametrize(("section", "key", "value"), [
    ("shading", "max_search_radius_m", -5.0), ("shading", "point_spacing_m", -1.0),
    ("pv.losses", "soiling", 150.0), ("pv", "temperature_model", "open_rack"), ("output", "co2_kg_per_kwh", -1.0),
])
def test_config_values_that_would_give_silent_nonsense_are_refused(section, key, value):
    from solarmap import Config
    from solarmap.errors import ConfigError

    cfg = Config()
    obj = cfg
    for part in section.split("."):
        obj = getattr(obj, part)
    setattr(obj, key, value)
    with pytest.raises(ConfigError, match=rf"'{section}\.{key}'"):
        cfg.validate()


def test_an_unknown_crs_is_an_error_naming_the_setting(tmp_path, capsys):
    src = gpd.read_file(sample_buildings("dapuqiao")).head(50)
    path = tmp_path / "b.gpkg"
    src.to_file(path, driver="GPKG")
    assert _run(["dapuqiao", "--buildings", str(path), "--crs", "EPSG:99999"], tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "EPSG:99999" in err and "--crs" in err and "Traceback" not in err


def test_solarmaps_own_roofs_gpkg_can_be_read_back_in(dapuqiao_run, tmp_path):
    back = gpd.read_file(dapuqiao_run / "dapuqiao" / "roofs.gpkg").head(300)
    path = tmp_path / "refeed.gpkg"
    back.to_file(path, driver="GPKG")
    assert _run(["dapuqiao", "--buildings", str(path), "--boundary", "none", "--no-shading"], tmp_path / "out") == 0
    roofs = pd.read_csv(tmp_path / "out" / "refeed" / "roofs.csv", encoding="utf-8-sig")  # named after the file
    assert len(roofs) == 300 and {"input_floors", "input_input_floors"} <= set(roofs.columns)


def test_a_projected_boundary_without_crs_is_refused_naming_the_boundary(tmp_path, capsys):
    outline = gpd.GeoSeries([find_subdistrict("dapuqiao").outline], crs=4326).to_crs(32651)
    path = tmp_path / "b.shp"
    gpd.GeoDataFrame(geometry=outline.values).to_file(path)  # no .prj
    path.with_suffix(".prj").unlink(missing_ok=True)
    assert _run(["dapuqiao", "--boundary", str(path)], tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert f"boundary file {path} has no CRS" in err and "buildings" not in err.split("boundary file")[1][:80]


def test_every_warning_solarmap_gives_has_a_chinese_text():
    """Each warn(...) call in solarmap/ passes zh=, and no warning bypasses warn() through a bare logger.warning
    (it would reach summary.json without a Chinese text and without being a Python warning)."""
    import ast

    from conftest import REPO

    missing, bare, calls = [], [], 0
    for path in sorted((REPO / "solarmap").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
            if name == "warn" and owner in ("", "errors"):  # solarmap.errors.warn (not warnings.warn inside it)
                calls += 1
                zh = [k for k in node.keywords if k.arg == "zh"]
                if not zh or (isinstance(zh[0].value, ast.Constant) and zh[0].value.value is None):
                    missing.append(where)
            if name == "warning" and path.name != "errors.py" and owner in ("log", "logger", "_log", "LOG", "logging"):
                bare.append(where)
    assert calls >= 20  # the check sees the call sites (23 when written)
    assert missing == [], f"warn() without zh=: {missing}"
    assert bare == [], f"warnings logged without warn(): {bare}"


def test_a_run_over_another_file_of_the_same_name_says_it_replaces_the_first(tmp_path):
    """a/city.geojson and b/city.geojson both run as 'city': the second replaces the first's folder, and says so
    in the summary, the report and the map. Running the same file again says nothing."""
    src = gpd.read_file(sample_buildings("dapuqiao")).iloc[:40]
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        src.to_file(tmp_path / d / "city.geojson")
    out = tmp_path / "out"
    for d in ("a", "a"):
        assert _run(["dapuqiao", "--buildings", str(tmp_path / d / "city.geojson"), "--boundary", "none", "--no-shading",
                     "--no-facades"], out) == 0
        assert not any("replaces them" in w for w in _summary(out, "city")["warnings"])
    assert _run(["dapuqiao", "--buildings", str(tmp_path / "b" / "city.geojson"), "--boundary", "none", "--no-shading",
                 "--no-facades"], out) == 0
    said = [w for w in _summary(out, "city")["warning_details"] if "replaces them" in w["message"]]
    assert len(said) == 1 and str(tmp_path / "a" / "city.geojson") in said[0]["message"] and said[0]["message_zh"]
    for page in ("report.html", "map.html"):
        html = (out / "city" / page).read_text(encoding="utf-8")
        box = html[html.index('class="sm-warnings"'):]
        assert "replaces them" in box[:6000] or "同名运行" in box[:6000], page
