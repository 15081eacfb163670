"""Building use → policy category and use class, from every scheme; finding the column and its scheme."""

from __future__ import annotations

import json
import logging

import geopandas as gpd
import pandas as pd
import pytest

from solarmap.cli import main
from solarmap.config import BuildingsConfig, config_from_dict
from solarmap.errors import ConfigError, InputDataError
from solarmap.resources import sample_buildings
from solarmap.sources.categories import (
    categorise,
    categorise_buildings,
    category_warnings,
    detect,
    detect_scheme,
    unknown_category_values,
)


def test_osm_tags():
    df = pd.DataFrame({
        "building": ["yes", "school", "apartments", "industrial", "yes", "retail", "yes", "train_station"],
        "amenity": ["hospital", None, None, None, "townhall", None, None, None],
        "office": [None, None, None, None, None, None, "government", None],
    })
    c = categorise(df, scheme="osm")
    assert c["category"].tolist() == ["public_institution", "public_institution", "residential", "industrial",
                                      "public_institution", "commercial", "public_institution", "other_public"]
    assert c["use_class"].tolist() == ["medical", "education", "residential", "industrial", "government", "commercial",
                                       "government", "transport"]
    assert c["category_source"].iloc[0] == "amenity=hospital"


def test_euluc_names_and_codes():
    df = pd.DataFrame({"euluc": ["行政办公用地", "502", 503.0, "商务办公用地", "居住用地", "", "火星用地"]})
    c = categorise(df, scheme="euluc", column="euluc")
    assert c["category"].tolist() == ["public_institution", "public_institution", "public_institution", "commercial",
                                      "residential", "other", "other"]
    assert c["use_class"].tolist()[:4] == ["government", "education", "medical", "office"]
    assert unknown_category_values(df, scheme="euluc", column="euluc") == ["火星用地"]


def test_explicit_column_with_chinese_synonyms():
    df = pd.DataFrame({"category": ["公共机构", "其他公共建筑", "厂房", "住宅", "education", "shop"]})
    c = categorise(df)
    assert c["category"].tolist() == ["public_institution", "other_public", "industrial", "residential",
                                      "public_institution", "other"]
    assert c["use_class"].tolist()[4] == "education"


# ------------------------------------------------------------------- detection: column names, schemes from values

EULUC_VALUES = ["居住用地", "行政办公用地", "教育科研用地", "医疗卫生用地", "体育与文化用地", "商务办公用地", "", "居住用地"]


@pytest.mark.parametrize("values,scheme", [
    (EULUC_VALUES, "euluc"),
    (["101", 502, 503.0, "201", "505", None], "euluc"),  # level-2 codes, as text, integers or floats
    (["residential", "commercial service", "educational", "administrative"], "euluc"),  # EULUC's English names
    (["school", "apartments", "yes", "hospital", "townhall", "retail"], "osm"),
    (["公共机构", "住宅", "public_institution", "education", "厂房", "other"], "column"),
    (["residential", "industrial", "commercial"], "column"),  # known everywhere: solarmap's own wins the tie
    (["spaceport", "bakery", ""], "column"),  # nothing known: column, whose unknown values get listed
])
def test_scheme_is_detected_from_the_values(values, scheme):
    assert detect_scheme(pd.Series(values, dtype=object)) == scheme


@pytest.mark.parametrize("name", ["euluc", "EULUC", "euluc_class", "landuse", "Land_Use", "function", "type", "use",
                                  "用地性质", "用地类型", "功能", "类别"])
def test_a_land_use_column_is_found_by_its_name_and_read_in_its_scheme(name):
    df = pd.DataFrame({"building_id": range(8), "kind": ["slab"] * 8, name: EULUC_VALUES})
    d = detect(df)  # scheme auto, no column configured
    assert (d.column, d.scheme, d.how) == (name, "euluc", "detected")
    c = categorise(df, scheme="auto")
    assert c["category"].tolist() == ["residential", "public_institution", "public_institution", "public_institution",
                                      "public_institution", "commercial", "other", "residential"]
    assert c["category_source"].iloc[1] == f"{name}=行政办公用地"


def test_osm_tag_columns_are_found_and_a_single_column_of_osm_values_is_read():
    tags = pd.DataFrame({"building": ["yes", "school", "apartments"], "amenity": ["hospital", None, None]})
    d = detect(tags)
    assert (d.scheme, d.tag_columns, d.column) == ("osm", ("amenity", "building"), "")
    assert categorise(tags, scheme="auto")["category"].tolist() == categorise(tags, scheme="osm")["category"].tolist()
    values = pd.DataFrame({"type": ["school", "apartments", "townhall", "warehouse", "yes"]})
    c = categorise(values, scheme="auto")
    assert c["use_class"].tolist() == ["education", "residential", "government", "industrial", "unknown"]
    assert c["category_source"].iloc[0] == "type=school"


def test_the_column_that_gives_most_buildings_a_category_wins():
    df = pd.DataFrame({"type": ["Polygon"] * 4, "category": ["", "", "", "住宅"], "land_use": EULUC_VALUES[:4]})
    d = detect(df)
    assert (d.column, d.scheme) == ("land_use", "euluc")
    assert "type" in d.unusable and d.unusable["type"] == ["polygon"]


def test_a_configured_column_with_auto_takes_its_scheme_from_its_values_and_a_missing_one_is_an_error():
    df = pd.DataFrame({"lu": ["502", "101"], "category": ["住宅", "住宅"]})
    d = detect(df, scheme="auto", column="lu")
    assert (d.column, d.scheme) == ("lu", "euluc")
    with pytest.raises(InputDataError, match=r"no column 'nope' for the building category \(buildings.category_column or --category-column\); the buildings' columns: lu, category\."):
        detect(df, column="nope")


def test_explicit_schemes_read_what_they_always_read():
    df = pd.DataFrame({"category": ["502", "住宅"], "euluc": ["101", "101"], "building": ["school", "yes"]})
    # column / euluc without a column: the 'category' column, exactly as before auto existed
    assert (detect(df, scheme="column").column, detect(df, scheme="euluc").column) == ("category", "category")
    assert categorise(df, scheme="column")["category"].tolist() == ["other", "residential"]
    assert categorise(df, scheme="euluc")["category"].tolist() == ["public_institution", "other"]
    assert categorise(df, scheme="euluc", column="euluc")["category"].tolist() == ["residential", "residential"]
    # osm: the tag columns, whatever the column says
    d = detect(df, scheme="osm", column="euluc")
    assert d.tag_columns == ("building",) and categorise(df, detection=d)["use_class"].tolist() == ["education", "unknown"]


def test_no_usable_category_column_warns_loudly_naming_the_columns_and_the_fix(caplog):
    df = pd.DataFrame({"id": [1, 2], "kind": ["slab", "lane"], "type": ["Polygon", "Polygon"], "height": [10.0, 12.0]})
    with caplog.at_level(logging.WARNING, logger="solarmap"):
        cat = categorise_buildings(df)
    assert (cat["category"] == "other").all()
    (msg,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert msg.startswith("no building-use column found: every building counts as 'other'")
    assert "euluc, euluc_class" in msg and "用地性质" in msg and "the OSM tags office, government, amenity" in msg
    assert "found 'type', but none of its values is a known category (polygon)" in msg
    assert "The file's columns: id, kind, type, height." in msg
    assert "--category-column COL --category-scheme euluc" in msg


def test_more_than_max_other_share_in_other_warns_and_the_share_is_configurable():
    df = pd.DataFrame({"euluc": ["公园与绿地用地", "公园与绿地用地", "居住用地", ""]})  # 3 of 4 in 'other'
    d = detect(df)
    cat = categorise(df, detection=d)
    (msg,) = category_warnings(df, d, cat, max_other_share=0.5)
    assert msg.startswith("3 of 4 buildings (75 %) fall to category 'other' reading column 'euluc' as EULUC-China "
                          "classes (more than buildings.max_other_share = 50 %)")
    assert "--category-column COL --category-scheme euluc" in msg
    assert category_warnings(df, d, cat, max_other_share=0.8) == []


def test_auto_is_the_default_scheme_and_max_other_share_is_range_checked():
    assert BuildingsConfig().category_scheme == "auto" and BuildingsConfig().max_other_share == 0.5
    assert config_from_dict({"buildings": {"category_scheme": "auto", "max_other_share": 0.2}}).buildings.max_other_share == 0.2
    with pytest.raises(ConfigError, match=r"'buildings.max_other_share' = 1.5 is outside \[0, 1\]"):
        config_from_dict({"buildings": {"max_other_share": 1.5}})
    with pytest.raises(ConfigError, match=r"'buildings.category_scheme' = 'guess' is not one of \['auto', 'column'"):
        config_from_dict({"buildings": {"category_scheme": "guess"}})


# ------------------------------------------------------------- the real-data pattern: solarmap run --buildings FILE


def test_a_real_file_with_a_column_named_euluc_finds_its_public_institutions(tmp_path):
    src = gpd.read_file(sample_buildings("dapuqiao"))
    expected = categorise(src, scheme="euluc", column="euluc_class")["category"].value_counts()
    # as a real file comes: land use in 'euluc', and no column named as the pipeline file maps them
    real = src.rename(columns={"euluc_class": "euluc", "building_id": "id", "name": "名称", "height_m": "height",
                               "floors": "levels"})
    path = tmp_path / "real.parquet"
    real.to_parquet(path)
    out = tmp_path / "out"
    assert main(["run", "dapuqiao", "--buildings", str(path), "--out", str(out), "--no-shading", "-q"]) == 0
    roofs = pd.read_csv(out / "real" / "roofs.csv", encoding="utf-8-sig")  # named after the file
    found = roofs["category"].value_counts()
    assert found["public_institution"] == expected["public_institution"] == 80
    assert found.to_dict() == expected.to_dict()
    summary = json.loads((out / "real" / "summary.json").read_text(encoding="utf-8"))
    assert summary["categories"]["column"] == "euluc" and summary["categories"]["scheme"] == "euluc"
    assert summary["categories"]["how"] == "detected"
    assert {p["rule_id"]: p["eligible_buildings"] > 0 for p in summary["policy"]} == {
        "HP-1": True, "HP-2": True, "HP-3": True, "HP-4": True}
    assert not any("building-use column" in w or "fall to category 'other'" in w for w in summary["warnings"])


def test_existing_pv_is_read_from_text_with_units_and_from_a_cut_dbf_name():
    import geopandas as gpd
    import numpy as np
    import shapely

    from solarmap.sources.categories import existing_pv

    geoms = [shapely.box(0, 0, 30, 20)] * 6  # 600 m²: at most 180 kWp
    df = gpd.GeoDataFrame({"existing_p": ["57.9 kWp", "0.1 MW", "800 W", "", None, "有"]}, geometry=geoms, crs=32651)
    with pytest.warns(UserWarning, match="1 values of the existing-PV column 'existing_p' are not numbers"):
        v = existing_pv(df)
    np.testing.assert_allclose(v.to_numpy(), [57.9, 100.0, 0.8, 0.0, 0.0, 0.0])


def test_existing_pv_beyond_the_roof_is_warned_and_a_column_of_watts_refused():
    import geopandas as gpd
    import shapely

    from solarmap.errors import InputDataError
    from solarmap.sources.categories import existing_pv

    geoms = [shapely.box(0, 0, 30, 20)] * 4  # 600 m²
    one = gpd.GeoDataFrame({"building_id": list("abcd"), "existing_pv_kwp": [50.0, 5000.0, 0.0, 20.0]}, geometry=geoms, crs=32651)
    with pytest.warns(UserWarning, match="1 buildings have more existing PV.*such as b"):
        assert existing_pv(one).tolist() == [50.0, 5000.0, 0.0, 20.0]
    watts = one.assign(existing_pv_kwp=[50_000.0, 5000.0, 0.0, 20_000.0])
    with pytest.raises(InputDataError, match=r"city\.gpkg: the existing-PV column .* 3 of 3 values .*watts"):
        existing_pv(watts, source="city.gpkg")


def test_euluc_codes_padded_with_zeros_and_class_names_without_yongdi_are_read():
    df = pd.DataFrame({"euluc": ["0501", "0502", "0101", "行政办公", "教育", "医疗卫生", "文化体育", "商务办公"]})
    c = categorise(df, scheme="euluc", column="euluc")
    assert c["use_class"].tolist() == ["government", "education", "residential", "government", "education", "medical",
                                       "culture_sport", "office"]
    assert unknown_category_values(df, scheme="euluc", column="euluc") == []
    zh = pd.DataFrame({"用途": ["行政办公", "教育", "医疗卫生", "文化体育", "住宅"]})  # a category column in Chinese
    c = categorise(zh, scheme="column", column="用途")
    assert c["category"].tolist() == ["public_institution"] * 4 + ["residential"]
    assert c["use_class"].tolist()[:4] == ["government", "education", "medical", "culture_sport"]
