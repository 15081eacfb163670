"""Building use → policy category and use class, from every scheme."""

from __future__ import annotations

import pandas as pd

from solarmap.sources.categories import categorise, unknown_category_values


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
