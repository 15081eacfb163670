"""solarmap init: a planner's own file with Chinese column names becomes a pipeline that runs end to end."""

from __future__ import annotations

import json
import tomllib

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from solarmap.cli import main

USES = ["行政办公用地", "居住用地", "商业服务用地", "教育科研用地"]


def _city(path, n=120):
    x0, y0 = 352400.0, 3453400.0  # Dapuqiao, EPSG:32651
    boxes = [shapely.box(x0 + 35 * (i % 12), y0 + 35 * (i // 12), x0 + 35 * (i % 12) + 22, y0 + 35 * (i // 12) + 18)
             for i in range(n)]
    g = gpd.GeoDataFrame({"编号": [f"B{i:04d}" for i in range(n)], "高度": np.linspace(6.0, 60.0, n),
                          "用地性质": [USES[i % 4] for i in range(n)], "建成年份": [1995 + (i % 30) for i in range(n)]},
                         geometry=boxes, crs="EPSG:32651")
    g.to_file(path, driver="GPKG")
    return g


def test_init_detects_chinese_columns_and_writes_a_pipeline_that_runs(tmp_path, capsys):
    src = _city(tmp_path / "楼.gpkg")
    conf = tmp_path / "conf"
    assert main(["init", "myarea", "--buildings", str(tmp_path / "楼.gpkg"), "--boundary", "none", "--out", str(conf)]) == 0
    printed = capsys.readouterr().out
    toml = conf / "myarea.toml"
    text = toml.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    b = data["buildings"]
    assert (b["id_column"], b["height_column"], b["category_column"], b["year_built_column"]) == ("编号", "高度", "用地性质", "建成年份")
    assert b["category_scheme"] == "euluc" and "floors_column" not in b and data["boundary"] == "none"
    for col in ("编号", "高度", "用地性质", "建成年份"):
        assert col in printed  # it says what it found
    # every key of the configuration is in the file, with its default
    import dataclasses

    from solarmap.config import Config

    def keys(cls):
        for f in dataclasses.fields(cls):
            if f.name in ("source", "inherited_mappings"):
                continue
            default = f.default_factory() if f.default is dataclasses.MISSING else f.default
            if dataclasses.is_dataclass(default):
                yield from keys(type(default))
            else:
                yield f.name
    for k in keys(Config):
        assert f"{k} = " in text, k
    assert main(["init", "myarea", "--buildings", str(tmp_path / "楼.gpkg"), "--out", str(conf)]) == 2  # no overwrite
    out = tmp_path / "out"
    assert main(["run", str(toml), "--no-shading", "--out", str(out), "-q"]) == 0
    roofs = pd.read_csv(out / "myarea" / "roofs.csv", encoding="utf-8-sig")
    assert sorted(roofs["building_id"]) == sorted(src["编号"])  # the ids it detected
    r = roofs.set_index("building_id")
    ref = src.set_index("编号")
    # the heights it detected (the CSV keeps 2 decimals: within half a unit of the last)
    assert np.allclose(r.loc[ref.index, "height_m"], ref["高度"], rtol=0, atol=0.0051)
    assert (r.loc[ref.index, "stage"] == np.where(ref["建成年份"] >= 2021, "new", "existing")).all()  # year built
    summary = json.loads((out / "myarea" / "summary.json").read_text(encoding="utf-8"))
    assert summary["categories"]["column"] == "用地性质" and summary["categories"]["scheme"] == "euluc"
    assert set(r["category"]) >= {"public_institution", "residential", "commercial"}


def test_shipped_pipelines_for_every_huangpu_subdistrict_with_an_outline():
    from solarmap.resources import PIPELINES_DIR
    from solarmap.sources.subdistricts import load_subdistricts

    t = load_subdistricts()
    with_outline = [r.slug for r in t.itertuples() if r.geometry is not None and not r.geometry.is_empty]
    assert len(with_outline) >= 5
    for slug in with_outline:
        assert (PIPELINES_DIR / f"{slug}.toml").exists(), slug


def test_a_shipped_pipeline_without_buildings_says_how_to_give_them(tmp_path, capsys):
    assert main(["run", "laoximen", "--out", str(tmp_path), "-q"]) == 2
    assert "--buildings FILE" in capsys.readouterr().err


def test_year_built_column_on_the_command_line(tmp_path):
    src = _city(tmp_path / "c.gpkg", n=24).rename(columns={"建成年份": "built_in"})
    src["built_in"] = 2023
    src.to_file(tmp_path / "c.gpkg", driver="GPKG")
    out = tmp_path / "out"
    assert main(["run", "dapuqiao", "--buildings", str(tmp_path / "c.gpkg"), "--boundary", "none", "--id-column", "编号",
                 "--height-column", "高度", "--year-built-column", "built_in", "--no-shading", "--out", str(out), "-q"]) == 0
    roofs = pd.read_csv(out / "c" / "roofs.csv", encoding="utf-8-sig")
    assert (roofs["stage"] == "new").all() and (roofs["year_built"] == 2023).all()
