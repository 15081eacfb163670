"""Exclusion zones and lists: excluded buildings keep casting shade and stay in every output with their reason;
rules lose exactly the eligible buildings a zone holds; flags, id lists, the share inside, the command line."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import solarmap
from solarmap.cli import main
from solarmap.config import Config, ExclusionConfig, config_from_dict
from solarmap.errors import ConfigError, InputDataWarning, InputFileError
from solarmap.sources.exclusions import parse_cli, share_inside

X0, Y0, SIDE, STEP = 353000.0, 3455000.0, 20.0, 30.0  # EPSG:32651; 20 m squares 10 m apart


def _grid() -> gpd.GeoDataFrame:
    """Twenty buildings, five columns × four rows south to north; the middle one of the southern row is a 40 m
    tower that shades the roof north of it; eight are existing public institutions, two of them in the south row."""
    rows = []
    for r in range(4):
        for c in range(5):
            k = 5 * r + c
            rows.append({"building_id": f"G{k:02d}", "height_m": 40.0 if k == 2 else 10.0,
                         "category": "public_institution" if k in (0, 1, 6, 8, 11, 13, 16, 18) else "residential",
                         "geometry": shapely.box(X0 + STEP * c, Y0 + STEP * r, X0 + STEP * c + SIDE, Y0 + STEP * r + SIDE)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:32651")


def _zone_file(tmp_path) -> str:
    """The south row (G00-G04) whole, and 6 of the 20 m depth of G05 (30 % of its footprint) through a notch."""
    south = shapely.box(X0 - 5, Y0 - 5, X0 + 4 * STEP + SIDE + 5, Y0 + SIDE + 2)
    notch = shapely.box(X0 - 5, Y0 + SIDE, X0 + SIDE + 5, Y0 + STEP + 6)  # reaches 6 m into G05 (y from 30 to 50)
    path = tmp_path / "bund.geojson"
    gpd.GeoDataFrame(geometry=[shapely.union(south, notch)], crs="EPSG:32651").to_crs("EPSG:4326").to_file(path)
    return str(path)


@pytest.fixture(scope="module")
def without_zone():
    return solarmap.assess(_grid())


def test_a_zone_excludes_its_five_buildings_which_still_shade_their_neighbours(tmp_path, without_zone):
    zone = _zone_file(tmp_path)
    cfg = Config(exclusions=[ExclusionConfig(path=zone, name="bund")])
    out = solarmap.assess(_grid(), cfg)
    inside = out["building_id"].isin([f"G{k:02d}" for k in range(5)]).to_numpy()
    assert len(out) == 20  # every building stays
    assert (out.loc[inside, "assessment"] == "excluded").all() and (out.loc[inside, "reason"] == "bund").all()
    assert (out.loc[inside, "exclusion_zone"] == "bund").all() and (out.loc[inside, "exclusion_action"] == "exclude").all()
    # G05 has 30 % of its footprint in the zone, below min_share = 0.5: it stays assessed
    assert out.loc[~inside, "assessment"].eq("assessed").all() and out.loc[~inside, "exclusion_zone"].eq("").all()
    # the tower G02 is excluded but still shades G07 north of it: every neighbour's shade is the same
    north = out["building_id"] == "G07"
    assert float(out.loc[north, "shading_loss_pct"].iloc[0]) > 5.0
    np.testing.assert_array_equal(out.loc[~inside, "shading_loss_pct"].to_numpy(float),
                                  without_zone.loc[~inside, "shading_loss_pct"].to_numpy(float))
    no_tower = solarmap.assess(_grid().drop(index=2))  # the shade is the tower's: without it G07 sees the whole sky
    assert float(no_tower.loc[no_tower["building_id"] == "G07", "shading_loss_pct"].iloc[0]) == 0.0
    # a rule's eligible count drops by the eligible buildings inside (G00 and G01)
    before = {r["rule_id"]: r for r in without_zone.attrs["policy"]}["HP-2"]
    after = {r["rule_id"]: r for r in out.attrs["policy"]}["HP-2"]
    assert before["eligible_buildings"] == 8 and before["removed_by_zones"] == 0
    assert after["eligible_buildings"] == 8 - 2 and after["removed_by_zones"] == 2 and after["removed_by_zone"] == {"bund": 2}
    (entry,) = out.attrs["exclusions"]
    assert entry["buildings_inside"] == 5 and entry["excluded"] == 5 and entry["kind"] == "zones"


def test_the_share_inside_is_configurable(tmp_path):
    zone = _zone_file(tmp_path)
    out = solarmap.assess(_grid(), Config(exclusions=[ExclusionConfig(path=zone, min_share=0.25, reason="heritage")]))
    assert (out["assessment"] == "excluded").sum() == 6  # G05 (30 % inside) now counts as inside
    assert set(out.loc[out["assessment"] == "excluded", "reason"]) == {"heritage"}
    # the share itself against the analytic value: 6 m of the 20 m depth
    g = _grid()
    z = gpd.read_file(zone).to_crs("EPSG:32651").geometry.iloc[0]
    assert share_inside(g.geometry.to_numpy()[[0, 5, 7]], z) == pytest.approx([1.0, 0.3, 0.0], abs=1e-6)


def test_a_flag_zone_keeps_buildings_assessed_and_out_of_the_rules(tmp_path, without_zone):
    zone = _zone_file(tmp_path)
    out = solarmap.assess(_grid(), Config(exclusions=[ExclusionConfig(path=zone, name="lanes", action="flag")]))
    inside = out["exclusion_action"] == "flag"
    assert inside.sum() == 5 and out.loc[inside, "assessment"].eq("assessed").all()
    np.testing.assert_array_equal(out["annual_kwh"].to_numpy(float), without_zone["annual_kwh"].to_numpy(float))
    hp2 = {r["rule_id"]: r for r in out.attrs["policy"]}["HP-2"]
    assert hp2["eligible_buildings"] == 6 and hp2["removed_by_zone"] == {"lanes": 2}


def test_an_id_list_excludes_the_listed_buildings_and_warns_about_unknown_ids(tmp_path):
    ids = tmp_path / "listed.txt"
    ids.write_text("# 优秀历史建筑 listed buildings\nG10\nG11  # a comment\n\nG12\nNOPE\n", encoding="utf-8")
    with pytest.warns(InputDataWarning, match=r"1 of 4 ids match no building \(e.g. NOPE\)"):
        out = solarmap.assess(_grid(), Config(exclusions=[ExclusionConfig(path=str(ids))]))
    ex = out[out["assessment"] == "excluded"]
    assert ex["building_id"].tolist() == ["G10", "G11", "G12"] and set(ex["reason"]) == {"listed"}
    csv = tmp_path / "listed.csv"
    pd.DataFrame({"编号": ["G13", "G14"], "note": ["a", "b"]}).to_csv(csv, index=False)
    out = solarmap.assess(_grid(), Config(exclusions=[ExclusionConfig(path=str(csv), reason="listed building")]))
    assert out.loc[out["assessment"] == "excluded", "building_id"].tolist() == ["G13", "G14"]


def test_bad_exclusions_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"'exclusions\[0\].action' = 'ban' is not one of"):
        config_from_dict({"exclusions": [{"path": "z.geojson", "action": "ban"}]}, where="p.toml")
    with pytest.raises(ConfigError, match=r"'exclusions\[1\].min_share' = 2.0 is outside"):
        config_from_dict({"exclusions": [{"path": "a.txt"}, {"path": "z.geojson", "min_share": 2}]}, where="p.toml")
    with pytest.raises(ConfigError, match=r"'exclusions\[0\].path' is missing"):
        config_from_dict({"exclusions": [{"action": "flag"}]}, where="p.toml")
    with pytest.raises(ConfigError, match=r"'exclusions' must be an array of tables"):
        config_from_dict({"exclusions": {"path": "z.geojson"}}, where="p.toml")
    with pytest.raises(InputFileError, match=r"exclusion file .*missing.geojson .*does not exist"):
        solarmap.assess(_grid(), Config(exclusions=[ExclusionConfig(path=str(tmp_path / "missing.geojson"))]))


def test_cli_spec_file_and_reason():
    e = parse_cli("/data/zones/bund.gpkg:风貌保护区 heritage")
    assert e.path == "/data/zones/bund.gpkg" and e.reason == "风貌保护区 heritage" and e.action == "exclude"
    assert parse_cli("zone.geojson").reason == ""


def test_pipeline_file_and_command_line_exclusions_reach_every_output(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _grid().to_file(data / "grid.geojson")
    zone = _zone_file(data)
    ids = data / "ids.txt"
    ids.write_text("G19\n", encoding="utf-8")
    pipeline = tmp_path / "grid.toml"
    pipeline.write_text(f"""name = "grid"
[buildings]
path = "data/grid.geojson"
[[exclusions]]
path = "data/{zone.rsplit('/', 1)[1]}"
name = "外滩 The Bund"
[[exclusions]]
path = "data/ids.txt"
action = "flag"
name = "check"
""", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(pipeline), "--out", str(out), "--exclude", f"{ids}:listed", "-q"]) == 0
    run = out / "grid"
    roofs = pd.read_csv(run / "roofs.csv", encoding="utf-8-sig", keep_default_na=False)
    assert len(roofs) == 20
    assert (roofs.loc[roofs["building_id"].isin(["G00", "G04"]), "reason"] == "外滩 The Bund").all()
    # G19: flagged by the pipeline's list, then excluded by the command line's: the exclusion wins
    g19 = roofs[roofs["building_id"] == "G19"].iloc[0]
    assert g19["assessment"] == "excluded" and g19["reason"] == "listed" and g19["exclusion_action"] == "exclude"
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert [e["name"] for e in summary["exclusions"]] == ["外滩 The Bund", "check", "ids"]
    assert summary["excluded_by_reason"]["外滩 The Bund"] == 5
    assert any(k.startswith("exclusions[") for k in summary["inputs"]["sha256"])
    html = (run / "map.html").read_text(encoding="utf-8")
    assert "Exclusion zones and flagged roofs" in html and "外滩 The Bund" in html
    assert "外滩 The Bund" in (run / "report.html").read_text(encoding="utf-8")
    from solarmap import store

    t = store.query(out / "solarmap.duckdb", "SELECT count(*) AS n FROM roofs WHERE exclusion_action = 'exclude'")
    assert int(t["n"].iloc[0]) == 6
