"""Footprints from every supported format, with Chinese attributes, reprojected to UTM."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from solarmap.errors import InputDataError, InputFileError
from solarmap.sources.footprints import read_footprints

NAMES = ["打浦桥第1小学", "瑞金医院门诊楼", "海兴广场", "石库门 1 号", "Plain ASCII"]


@pytest.fixture
def sample():
    # five rectangles near Dapuqiao, built in UTM 51N so their areas are known exactly
    boxes = [shapely.box(352000 + 60 * i, 3453000, 352000 + 60 * i + 10 + 5 * i, 3453000 + 20) for i in range(5)]
    g = gpd.GeoDataFrame({"building_id": [f"B{i}" for i in range(5)], "name": NAMES,
                          "height_m": [12.0, 30.5, 88.0, 9.0, 20.0], "floors": [4, 8, 25, 3, 6]},
                         geometry=boxes, crs="EPSG:32651")
    return g


def _check(fp, sample, *, area_rel=1e-6):
    assert list(fp["building_id"]) == list(sample["building_id"])
    assert list(fp["name"]) == NAMES
    assert fp.crs.to_epsg() == 32651
    np.testing.assert_allclose(fp.geometry.area.to_numpy(), sample.geometry.area.to_numpy(), rtol=area_rel)
    assert (fp["assessment"] == "assessed").all()


@pytest.mark.parametrize("ext,driver", [(".geojson", "GeoJSON"), (".gpkg", "GPKG"), (".fgb", "FlatGeobuf")])
def test_vector_formats_in_wgs84(tmp_path, sample, ext, driver):
    path = tmp_path / f"b{ext}"
    kwargs = {"SPATIAL_INDEX": "NO"} if driver == "FlatGeobuf" else {}  # an indexed FlatGeobuf reorders features
    sample.to_crs("EPSG:4326").to_file(path, driver=driver, **kwargs)
    _check(read_footprints(path), sample, area_rel=1e-5)


def test_geoparquet_in_a_projected_crs(tmp_path, sample):
    path = tmp_path / "b.parquet"
    sample.to_crs("EPSG:4547").to_parquet(path)  # CGCS2000 / 3-degree Gauss-Kruger CM 114E
    _check(read_footprints(path), sample, area_rel=1e-4)


@pytest.mark.parametrize("keep_cpg", [True, False])
def test_gbk_shapefile_with_and_without_cpg(tmp_path, sample, keep_cpg):
    path = tmp_path / "b.shp"
    sample.to_crs("EPSG:4326").to_file(path, encoding="GBK", engine="pyogrio")
    raw = path.with_suffix(".dbf").read_bytes()
    assert "打浦桥".encode("gbk") in raw  # really GBK bytes in the .dbf
    cpg = path.with_suffix(".cpg")
    if not keep_cpg:
        cpg.unlink(missing_ok=True)
    else:
        cpg.write_text("GBK")
    _check(read_footprints(path), sample, area_rel=1e-5)


def test_csv_with_wkt_column(tmp_path, sample):
    wgs = sample.to_crs("EPSG:4326")
    df = pd.DataFrame(wgs.drop(columns="geometry"))
    df["wkt"] = shapely.to_wkt(wgs.geometry.to_numpy(), rounding_precision=-1)
    path = tmp_path / "b.csv"
    df.to_csv(path, index=False, encoding="utf-8")
    _check(read_footprints(path), sample, area_rel=1e-5)


def test_csv_with_lon_lat_and_area_becomes_squares(tmp_path, sample):
    wgs = sample.to_crs("EPSG:4326")
    c = wgs.geometry.centroid
    df = pd.DataFrame({"building_id": sample["building_id"], "name": NAMES, "lon": c.x, "lat": c.y,
                       "footprint_area_m2": sample.geometry.area})
    path = tmp_path / "points.csv"
    df.to_csv(path, index=False)
    with pytest.warns(UserWarning, match=f"{len(df)} footprints are squares of the area in 'footprint_area_m2'"):
        fp = read_footprints(path)
    _check(fp, sample, area_rel=1e-3)
    assert fp["geometry_from_point"].all()


def test_csv_with_lon_lat_but_no_area_says_how_to_fix(tmp_path):
    path = tmp_path / "points.csv"
    pd.DataFrame({"lon": [121.47], "lat": [31.2]}).to_csv(path, index=False)
    with pytest.raises(InputDataError, match="footprint_area_m2"):
        read_footprints(path)


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        read_footprints(tmp_path / "missing.geojson")
    bad = tmp_path / "b.xlsx"
    bad.write_text("x")
    with pytest.raises(InputFileError, match="unknown format"):
        read_footprints(bad)


def test_bad_geometries_are_kept_excluded_and_self_intersections_repaired(tmp_path):
    x, y = 352000.0, 3453000.0
    bowtie = shapely.Polygon([(x, y), (x + 10, y + 10), (x + 10, y), (x, y + 10), (x, y)])
    geoms = [shapely.box(x, y, x + 10, y + 10), bowtie, None, shapely.LineString([(x, y), (x + 1, y + 1)]), shapely.Polygon()]
    g = gpd.GeoDataFrame({"building_id": list("abcde")}, geometry=geoms, crs="EPSG:32651")
    fp = read_footprints_from(g, tmp_path)
    assert len(fp) == 5
    assert list(fp["assessment"]) == ["assessed", "assessed", "excluded", "excluded", "excluded"]
    assert list(fp["reason"])[2:] == ["invalid_geometry"] * 3
    assert fp["geometry_repaired"].tolist() == [False, True, False, False, False]
    assert fp.geometry.iloc[1].is_valid and fp.geometry.iloc[1].area == pytest.approx(50.0, rel=1e-6)


def read_footprints_from(g, tmp_path):
    path = tmp_path / "g.gpkg"
    g.to_file(path, driver="GPKG")
    return read_footprints(path)


def test_duplicate_ids_are_made_unique_and_flagged(tmp_path, sample):
    s = sample.copy()
    s["building_id"] = ["A", "A", "B", "A", ""]
    fp = read_footprints_from(s, tmp_path)
    assert fp["building_id"].tolist() == ["A", "A#2", "B", "A#3", "row5"]
    assert fp["id_deduplicated"].tolist() == [False, True, False, True, False]


def _boxes(n: int, x0: float = 121.47, y0: float = 31.2):
    import geopandas as gpd
    import shapely

    return gpd.GeoDataFrame({"building_id": [f"B{i}" for i in range(n)], "name": [f"楼{i}" for i in range(n)],
                             "height_m": [12.0] * n},
                            geometry=[shapely.box(x0 + i * 1e-3, y0, x0 + i * 1e-3 + 2e-4, y0 + 2e-4) for i in range(n)], crs=4326)


def test_a_file_of_several_polygon_layers_is_an_error_listing_them_and_one_of_polygons_is_read(tmp_path):
    """GDAL reads a GeoPackage's first layer when none is named: here a boundary, and 300 buildings would vanish."""
    import geopandas as gpd
    import pytest
    import shapely

    from solarmap.errors import InputDataError
    from solarmap.sources.footprints import read_vector

    p = tmp_path / "multi.gpkg"
    gpd.GeoDataFrame({"n": ["outline"]}, geometry=[shapely.box(121.4, 31.1, 121.6, 31.3)], crs=4326).to_file(p, layer="aaa_boundary")
    _boxes(5).to_file(p, layer="buildings")
    with pytest.raises(InputDataError, match=r"has 2 layers: aaa_boundary \(Polygon, 1 feature\); buildings \(Polygon, 5 features\).*--layer"):
        read_vector(p)
    assert len(read_vector(p, layer="buildings")) == 5
    q = tmp_path / "mixed.gpkg"
    gpd.GeoDataFrame({"n": ["a"]}, geometry=[shapely.Point(121.5, 31.2)], crs=4326).to_file(q, layer="aaa_points")
    _boxes(4).to_file(q, layer="buildings")
    with pytest.warns(UserWarning, match="read from 'buildings', its only layer of polygons"):
        assert len(read_vector(q)) == 4


def test_a_gbk_csv_is_read_with_its_encoding_or_as_gb18030_with_a_warning(tmp_path):
    import pytest

    from solarmap.sources.footprints import read_vector

    b = _boxes(3)
    df = b.drop(columns="geometry").assign(wkt=b.geometry.to_wkt())
    p = tmp_path / "gbk.csv"
    df.to_csv(p, index=False, encoding="gbk")
    assert read_vector(p, encoding="GBK")["name"].tolist() == ["楼0", "楼1", "楼2"]
    with pytest.warns(UserWarning, match="decodes as GB18030"):
        assert read_vector(p)["name"].tolist() == ["楼0", "楼1", "楼2"]


def test_projected_coordinates_labelled_as_degrees_are_an_error_naming_the_crs_to_give(tmp_path):
    """x and y in the millions under an EPSG:4326 label (a Shapefile's .prj copied from another file): before, a
    traceback deep in the roof planes."""
    b = _boxes(3).to_crs(4549)
    b = b.set_crs(4326, allow_override=True)
    p = tmp_path / "wrong.gpkg"
    b.to_file(p)
    with pytest.raises(InputDataError, match=r"wrong\.gpkg: its CRS is WGS 84 \(degrees\) but its coordinates run x .*--crs"):
        read_footprints(p)
    assert len(read_footprints(p, crs="EPSG:4549")) == 3


def test_a_shapefile_whose_cpg_names_the_wrong_encoding_is_an_error_suggesting_encoding(tmp_path):
    from solarmap.sources.footprints import read_vector

    p = tmp_path / "gbk.shp"
    _boxes(3).assign(name=["打浦桥1", "打浦桥2", "打浦桥3"]).to_file(p, encoding="gbk")  # not UTF-8 by accident
    (tmp_path / "gbk.cpg").write_text("UTF-8")
    with pytest.raises(InputFileError, match=r"gbk\.shp could not be read.*--encoding GBK"):
        read_vector(p)
    assert read_vector(p, encoding="GBK")["name"].tolist() == ["打浦桥1", "打浦桥2", "打浦桥3"]


def test_a_geometry_collection_is_read_as_the_polygons_it_holds(tmp_path):
    x, y = 352000.0, 3453000.0
    box = shapely.box(x, y, x + 10, y + 8)
    geoms = [shapely.GeometryCollection([box, shapely.Point(x, y), shapely.LineString([(x, y), (x + 3, y)])]),
             shapely.GeometryCollection([shapely.Point(x, y)])]
    g = gpd.GeoDataFrame({"building_id": ["a", "b"]}, geometry=geoms, crs="EPSG:32651")
    with pytest.warns(UserWarning, match="1 geometry collections read as the polygons"):
        fp = read_footprints_from(g, tmp_path)
    assert fp["assessment"].tolist() == ["assessed", "excluded"] and fp["reason"].tolist() == ["", "invalid_geometry"]
    assert fp["geometry_repaired"].tolist() == [True, False]
    assert fp.geometry.iloc[0].area == pytest.approx(80.0, rel=1e-9)
