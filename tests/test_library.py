"""solarmap as a library: the pure assessment function, config validation, the column registry, the import graph."""

from __future__ import annotations

import ast
import os
import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import solarmap
from conftest import REPO
from solarmap.columns import COLUMNS
from solarmap.config import (
    Config,
    EngineConfig,
    RoofsConfig,
    ShadingConfig,
    applicable_mappings,
    with_buildings,
)
from solarmap.errors import ConfigError, ConfigWarning, SolarmapWarning
from solarmap.resources import sample_buildings


def _files_under(folder: Path) -> set[str]:
    return {str(p) for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def dapuqiao_gdf():
    return gpd.read_file(sample_buildings("dapuqiao"))


def test_assess_on_a_geodataframe_equals_the_cli_run_and_writes_nothing(dapuqiao_run, dapuqiao_gdf, tmp_path):
    cli = pd.read_csv(dapuqiao_run / "dapuqiao" / "roofs.csv", encoding="utf-8-sig")
    gdf = dapuqiao_gdf.copy()
    gdf.index = pd.RangeIndex(1000, 1000 + len(gdf))  # an index of the caller's own: it must come back
    before_cwd, before_tmp = _files_under(Path.cwd()), _files_under(tmp_path)
    os.chdir(tmp_path)
    try:
        out = solarmap.assess(gdf, solarmap.load_pipeline("dapuqiao"))
    finally:
        os.chdir(REPO)
    assert isinstance(out, gpd.GeoDataFrame)
    assert len(out) == len(gdf) and out.index.equals(gdf.index)
    assert out.crs == gdf.crs
    assert _files_under(tmp_path) == before_tmp and _files_under(Path.cwd()) == before_cwd  # writes nothing
    # the same numbers as the CLI's roofs.csv; the CSV rounds annual_kwh to 0.1 kWh, so compare at that precision
    a = out["annual_kwh"].to_numpy(float)
    b = cli["annual_kwh"].to_numpy(float)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(a)
    assert np.allclose(np.round(a[ok], 1), b[ok], rtol=1e-6, atol=0)
    assert (out["building_id"].to_numpy() == cli["building_id"].astype(str).to_numpy()).all()
    # every roofs.csv column is there
    assert set(cli.columns) <= set(out.columns)


def test_assess_without_a_config_assesses_every_building_alike(dapuqiao_gdf, dapuqiao_run):
    """No config: no boundary, so the halo buildings are assessed too; a roof's figures do not depend on that."""
    cli = pd.read_csv(dapuqiao_run / "dapuqiao" / "roofs.csv", encoding="utf-8-sig")
    out = solarmap.assess(dapuqiao_gdf)
    assert out["in_boundary"].all()
    both = cli["assessment"].eq("assessed").to_numpy() & out["assessment"].eq("assessed").to_numpy()
    assert both.sum() > 1000
    assert np.allclose(np.round(out["annual_kwh"].to_numpy(float)[both], 1), cli["annual_kwh"].to_numpy(float)[both],
                       rtol=1e-6, atol=0)
    assert (out["assessment"] == "assessed").sum() > (cli["assessment"] == "assessed").sum()


@pytest.mark.parametrize(("cfg", "key"), [
    (Config(engine=EngineConfig(kind="dasky")), "engine.kind"),
    (Config(shading=ShadingConfig(sector_deg=0)), "shading.sector_deg"),
    (Config(roofs=RoofsConfig(edge_setback_m=-1.0)), "roofs.edge_setback_m"),
    (Config(roofs=RoofsConfig(module_power_w_per_m2="215")), "roofs.module_power_w_per_m2"),
])
def test_a_bad_python_config_raises_config_error_naming_the_key(cfg, key, dapuqiao_gdf):
    with pytest.raises(ConfigError, match=re.escape(f"'{key}'")) as err:
        solarmap.assess(dapuqiao_gdf.head(5), cfg)
    assert isinstance(err.value, ValueError)
    with pytest.raises(ConfigError, match=re.escape(f"'{key}'")):
        cfg.validate()


def test_columns_of_both_csvs_are_in_the_registry_with_unit_and_description(dapuqiao_run, dapuqiao_gdf):
    passed_through = set(dapuqiao_gdf.columns) - {"geometry"}
    passed_through |= {f"input_{c}" for c in passed_through}
    for name in ("roofs.csv", "candidates.csv"):
        cols = pd.read_csv(dapuqiao_run / "dapuqiao" / name, encoding="utf-8-sig", nrows=1).columns
        ours = [c for c in cols if c not in passed_through]
        missing = [c for c in ours if c not in COLUMNS]
        assert not missing, f"{name}: not in solarmap.columns.COLUMNS: {missing}"
        for c in ours:
            col = COLUMNS[c]
            assert col.description and col.zh and col.label and col.dtype in ("str", "bool", "int", "float")
            assert col.unit or col.dtype != "float", f"{c} is a number without a unit"
    # units in names agree with the registry's units
    for c in COLUMNS.values():
        for suffix, unit in (("_m2", "m²"), ("_kwp", "kWp"), ("_pct", "%"), ("_deg", "°")):
            if c.name.endswith(suffix):
                assert unit in c.unit, c.name


def test_every_registry_column_reaches_duckdb(dapuqiao_run):
    from solarmap import store

    have = set(store.query(dapuqiao_run / "solarmap.duckdb",
                           "SELECT column_name FROM information_schema.columns WHERE table_name = 'roofs'")["column_name"])
    assert {c for c, col in COLUMNS.items() if col.group != "plane"} <= have
    planes = set(store.query(dapuqiao_run / "solarmap.duckdb", "SELECT column_name FROM information_schema.columns "
                             "WHERE table_name = 'roof_planes'")["column_name"])
    assert {c for c, col in COLUMNS.items() if col.group == "plane"} <= planes  # the roof planes' own columns
    t = store.query(dapuqiao_run / "solarmap.duckdb", "SELECT sum(existing_pv_area_m2) AS a, count(*) AS n FROM roofs")
    assert t["n"].iloc[0] > 0 and t["a"].iloc[0] > 0


def _imports(path: Path, package_root: Path) -> set[str]:
    """Every solarmap module a file imports, at top level or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(package_root.parent).with_suffix("")
    me = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
    pkg = me if rel.name == "__init__" else me.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("solarmap")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if base.startswith("solarmap"):
                out.add(base)
                out |= {f"{base}.{a.name}" for a in node.names}
    return out


def _resolve(names: set[str], modules: set[str]) -> set[str]:
    """``from solarmap import tiles`` imports the module solarmap.tiles, not the package's __init__."""
    subs = {n for n in names if n in modules and n.rpartition(".")[0] in names}
    return {n for n in names if n in modules and not any(s.rpartition(".")[0] == n for s in subs)} | subs


def test_the_import_graph_of_the_package_has_no_circle():
    root = REPO / "solarmap"
    modules = {}
    for f in root.rglob("*.py"):
        rel = f.relative_to(root.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        modules[name] = f
    graph = {m: {i for i in _resolve(_imports(f, root), set(modules)) if i != m} for m, f in modules.items()}
    # the package's __init__ re-exports the public API; importing it from below would be a circle, and is one here
    state: dict[str, int] = {}
    circles = []

    def visit(m, stack):
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                circles.append(stack[stack.index(n):] + [n] if n in stack else [m, n])
            elif n not in state:
                visit(n, stack + [n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not circles, f"import circles: {circles}"
    assert "solarmap.tiles" not in {c for c in graph["solarmap.tiles"]}
    assert "solarmap.pipeline" not in graph["solarmap.tiles"] and "solarmap.assessment" not in graph["solarmap.tiles"]


def test_mappings_written_for_another_file_are_dropped_with_a_warning_naming_them():
    cfg = solarmap.load_pipeline("dapuqiao")
    new = with_buildings(cfg, "/data/other.gpkg")
    assert new.buildings.inherited_mappings["category_column"] == "euluc_class"
    b, dropped = applicable_mappings(new.buildings, ["building_id", "height_m", "euluc", "geometry"], source="x")
    assert b.id_column == "building_id" and b.height_column == "height_m"  # their columns are there: kept
    assert b.category_column == "" and b.category_scheme == Config().buildings.category_scheme
    assert "category_column='euluc_class'" in dropped and "name_column='name'" in dropped
    assert "id_column='building_id'" not in dropped
    # a mapping given for the new file itself is not the pipeline's: it is kept (and a missing column stays an error)
    new.buildings.category_column = "landuse"
    b, dropped = applicable_mappings(new.buildings, ["building_id"], source="x")
    assert b.category_column == "landuse" and "category_column='euluc_class'" not in dropped


def test_library_and_cli_drop_the_same_mappings(dapuqiao_gdf, tmp_path, capsys):
    """--buildings with a pipeline, and assess(gdf, pipeline config): the same warning, the same result."""
    from solarmap.cli import main

    gdf = dapuqiao_gdf.rename(columns={"name": "label", "floors": "levels"})
    path = tmp_path / "other.gpkg"
    gdf.to_file(path, driver="GPKG")
    with pytest.warns(ConfigWarning, match=r"name_column='name'.*floors_column='floors'"):
        lib = solarmap.assess(gdf, solarmap.load_pipeline("dapuqiao"))
    assert main(["run", "dapuqiao", "--buildings", str(path), "--out", str(tmp_path / "out"), "-q"]) == 0
    err = capsys.readouterr().err
    assert "name_column='name'" in err and "floors_column='floors'" in err
    cli = pd.read_csv(tmp_path / "out" / "other" / "roofs.csv", encoding="utf-8-sig")
    assert np.allclose(np.round(lib["annual_kwh"].to_numpy(float), 1), cli["annual_kwh"].to_numpy(float), equal_nan=True)
    assert (lib["category"].to_numpy() == cli["category"].to_numpy()).all()  # euluc_class still mapped in both


def test_warnings_are_solarmap_warnings_a_user_can_filter(dapuqiao_gdf):
    gdf = dapuqiao_gdf.head(40).copy()
    gdf.loc[gdf.index[:3], "building_id"] = "dup"
    with pytest.warns(SolarmapWarning, match="duplicate building ids"):
        out = solarmap.assess(gdf)
    assert any("duplicate building ids" in w for w in out.attrs["warnings"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", SolarmapWarning)
        with pytest.raises(SolarmapWarning, match="duplicate building ids"):
            solarmap.assess(gdf)


def test_the_readme_python_section_runs():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Use it from Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the README's own example
    roofs = namespace["roofs"]
    assert len(roofs) == len(gpd.read_file(sample_buildings("dapuqiao")))
    assert roofs["annual_kwh"].notna().sum() > 1000


def test_package_data_is_inside_the_package():
    from solarmap import resources
    from solarmap.rules import list_rule_sets

    assert resources.DATA_DIR.parent == Path(solarmap.__file__).parent
    assert {r["name"] for r in list_rule_sets()} == {"huangpu-2023", "shanghai-2022", "nea-county-2021"}
    assert (resources.PIPELINES_DIR / "dapuqiao.toml").exists() and resources.EMBEDDED_WEATHER.exists()


def test_run_assessment_facades_are_lines_made_from_the_kept_wall_feet(dapuqiao_run, dapuqiao_gdf):
    # the run keeps each wall's foot as four coordinates (a city's walls as shapely lines would take 1 GB); the
    # facades a caller gets are still lines, and the same as the GeoPackage layer the CLI wrote
    import shapely

    from solarmap.columns import FACADE_COLUMNS

    a = solarmap.run_assessment(dapuqiao_gdf, solarmap.load_pipeline("dapuqiao"))
    table = a.facade_table
    assert "geometry" not in table.columns and {"ax", "ay", "bx", "by"} <= set(table.columns)
    assert all(table[c].dtype == np.float64 for c in ("ax", "ay", "bx", "by"))
    lines = a.facades
    assert isinstance(lines, gpd.GeoDataFrame) and lines.crs == a.roofs.crs
    assert list(lines.columns) == [*FACADE_COLUMNS, "geometry"]
    assert (lines.geom_type == "LineString").all()
    ends = shapely.get_coordinates(lines.geometry.values).reshape(-1, 4)
    assert np.array_equal(ends, table[["ax", "ay", "bx", "by"]].to_numpy())  # the same doubles
    cli = gpd.read_file(dapuqiao_run / "dapuqiao" / "roofs.gpkg", layer="facades")
    assert lines["facade_id"].tolist() == cli["facade_id"].tolist()
    # metric and back to WGS84: 1e-9° (0.1 mm) is far above the round trip's error and far below any wall
    assert shapely.equals_exact(lines.to_crs(cli.crs).geometry.values, cli.geometry.values, 1e-9).all()
