"""Heights from a DSM GeoTIFF, from columns, and from floors."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.features import rasterize
from rasterio.transform import from_origin

from solarmap.cli import main
from solarmap.sources.heights import (
    MIN_HEIGHT_M,
    assign_heights,
    heights_from_dsm,
    impute_from_neighbours,
    per_label_median,
)


def test_dsm_heights_recovered_within_half_a_metre_through_the_cli(tmp_path):
    rng = np.random.default_rng(7)
    x0, y0 = 352000.0, 3453000.0
    boxes, heights = [], []
    for i in range(40):
        w, h = rng.uniform(6, 40), rng.uniform(6, 30)
        x, y = x0 + (i % 8) * 60 + rng.uniform(0, 10), y0 + (i // 8) * 60 + rng.uniform(0, 10)
        boxes.append(shapely.box(x, y, x + w, y + h))
        heights.append(float(rng.uniform(4, 150)))
    res = 0.5
    width, height = int(520 / res), int(320 / res)
    transform = from_origin(x0 - 10, y0 + 310, res, res)
    dsm = rasterize(zip(boxes, heights, strict=True), out_shape=(height, width), transform=transform, fill=0.0, dtype="float32")
    dsm += rng.normal(0, 0.15, dsm.shape).astype("float32")  # sensor noise
    tif = tmp_path / "ndsm.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
                       crs="EPSG:32651", transform=transform, nodata=-9999) as dst:
        dst.write(dsm, 1)
    fp = gpd.GeoDataFrame({"building_id": [f"D{i}" for i in range(40)]}, geometry=boxes, crs="EPSG:32651").to_crs("EPSG:4326")
    path = tmp_path / "footprints.geojson"
    fp.to_file(path)
    out = tmp_path / "out"
    assert main(["run", "dapuqiao", "--buildings", str(path), "--dsm", str(tif), "--boundary", "none",
                 "--out", str(out), "--no-shading", "-q"]) == 0
    roofs = pd.read_csv(out / "footprints" / "roofs.csv", encoding="utf-8-sig").set_index("building_id")
    got = roofs.loc[[f"D{i}" for i in range(40)], "height_m"].to_numpy()
    assert (roofs["height_source"] == "dsm").all()
    np.testing.assert_allclose(got, heights, atol=0.5)


def test_per_label_median_is_the_median():
    labels = np.array([1, 1, 1, 2, 2, 3, 3, 3, 3])
    values = np.array([5.0, 1.0, 3.0, 10.0, 20.0, 4.0, 1.0, 3.0, 2.0])
    med, count = per_label_median(labels, values, 4)
    np.testing.assert_allclose(med[:3], [3.0, 15.0, 2.5])
    assert np.isnan(med[3]) and count.tolist() == [3, 2, 4, 0]


def test_implausible_heights_fall_back_to_floors():
    df = gpd.GeoDataFrame({"height": [12.0, 0.0, -3.0, 9999.0, np.nan, np.nan],
                           "floors": [4, 5, 6, 7, 8, None]}, geometry=[shapely.box(0, 0, 1, 1)] * 6)
    h = assign_heights(df, storey_height_m=3.0)
    assert h["height_m"].tolist()[:5] == [12.0, 15.0, 18.0, 21.0, 24.0]
    assert np.isnan(h["height_m"].iloc[5])
    assert h["height_source"].tolist() == ["column", "floors", "floors", "floors", "floors", ""]


def test_heights_below_one_storey_are_not_plausible_and_give_no_neighbour_a_height():
    """3 cm and 1.9 m are data errors (a storey is at least 2.1 m clear); 2 m is kept. A neighbour's implausible
    height is no donor: with the 3 cm ones counted, the median of them rounded to a height of 0 m."""
    df = gpd.GeoDataFrame({"height": [0.03125, 1.9, MIN_HEIGHT_M, 0.03125, 0.03125, np.nan]},
                          geometry=[shapely.box(i, 0, i + 1, 1) for i in range(6)])
    h = assign_heights(df)
    assert np.isnan(h["height_m"].to_numpy()[[0, 1, 3, 4, 5]]).all() and h["height_m"].iloc[2] == MIN_HEIGHT_M
    assert h["height_source"].tolist() == ["", "", "column", "", "", ""]
    raw = gpd.GeoDataFrame({"height_m": [0.03125, 1.0, 0.03125, np.nan]}, geometry=[shapely.box(i, 0, i + 1, 1) for i in range(4)])
    filled, imputed = impute_from_neighbours(raw)
    assert not imputed.any() and np.isnan(filled[3])


def test_heights_written_as_text_are_read():
    df = gpd.GeoDataFrame({"height": ["25 m", "25.5m", "约30", "", None, "12,5"], "building:levels": ["3", "4 floors", None, "2", "x", None]},
                          geometry=[shapely.box(0, 0, 1, 1)] * 6)
    h = assign_heights(df, storey_height_m=3.0)
    assert h["height_m"].tolist()[:4] == [25.0, 25.5, 30.0, 6.0]
    assert np.isnan(h["height_m"].iloc[4]) and h["height_m"].iloc[5] == 12.5
    assert h["floors"].tolist()[:2] == [3, 4]


@pytest.mark.parametrize("dtype", ["float32", "int16"])
def test_dsm_read_block_by_block_gives_the_heights_of_one_whole_read(tmp_path, dtype):
    """Blocks of 64 pixels (about 40 blocks here) against one block covering the raster: identical medians."""
    rng = np.random.default_rng(11)
    x0, y0, res = 352000.0, 3453000.0, 0.5
    # footprints that do not overlap (where they do, a pixel goes to one of them, which may differ by block)
    boxes = [shapely.box(x0 + c * 25 + 3, y0 + r * 25 + 3, x0 + c * 25 + 3 + rng.uniform(4, 21), y0 + r * 25 + 3 + rng.uniform(4, 21))
             for r in range(6) for c in range(6)]
    values = rng.uniform(3, 120, len(boxes))
    transform = from_origin(x0, y0 + 160, res, res)
    dsm = rasterize(zip(boxes, values, strict=True), out_shape=(320, 320), transform=transform, fill=0.0, dtype="float32")
    dsm += rng.normal(0, 0.15, dsm.shape).astype("float32")
    dsm[:20, :] = -9999  # a strip of nodata
    tif = tmp_path / "ndsm.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=320, height=320, count=1, dtype=dtype, crs="EPSG:32651",
                       transform=transform, nodata=-9999) as dst:
        dst.write(dsm.astype(dtype), 1)
    fp = gpd.GeoDataFrame(geometry=boxes, crs="EPSG:32651")
    whole = heights_from_dsm(fp, tif, block_px=100_000).to_numpy()
    blocks = heights_from_dsm(fp, tif, block_px=64).to_numpy()
    np.testing.assert_array_equal(blocks, whole)
    assert np.isfinite(whole).sum() >= len(boxes) - 2


def test_height_and_floors_columns_are_found_in_any_case_and_in_chinese():
    geoms = [shapely.box(0, 0, 1, 1)] * 2
    h = assign_heights(gpd.GeoDataFrame({"HEIGHT_M": [12.0, np.nan], "Floors": [3, 4]}, geometry=geoms))
    assert h["height_m"].tolist() == [12.0, 12.0] and h["height_source"].tolist() == ["column", "floors"]
    h = assign_heights(gpd.GeoDataFrame({"楼高": [20.0, np.nan], "楼层数": [None, 6]}, geometry=geoms))
    assert h["height_m"].tolist() == [20.0, 18.0]
    # an exact name wins over a case variant
    h = assign_heights(gpd.GeoDataFrame({"HEIGHT": [99.0, 99.0], "height": [10.0, 11.0]}, geometry=geoms))
    assert h["height_m"].tolist() == [10.0, 11.0]


def test_storey_counts_in_a_height_column_are_floors_not_metres():
    df = gpd.GeoDataFrame({"height": ["13层", "5F", "6 floors", "25 m", "约30", "1层"], "floors": [None, None, None, None, None, 4]},
                          geometry=[shapely.box(0, 0, 1, 1)] * 6)
    with pytest.warns(UserWarning, match="storey counts"):
        h = assign_heights(df, storey_height_m=3.0)
    # 1层 with a floors column of 4: the floors column decides
    assert h["height_m"].tolist() == [39.0, 15.0, 18.0, 25.0, 30.0, 12.0]
    assert h["height_source"].tolist() == ["floors", "floors", "floors", "column", "column", "floors"]
    assert h["floors"].tolist()[:3] == [13, 5, 6]


def test_a_height_column_in_centimetres_is_refused_naming_the_file_and_column():
    from solarmap.errors import InputDataError

    df = gpd.GeoDataFrame({"h": [1200.0, 1850.0, 500.0, 2400.0]}, geometry=[shapely.box(0, 0, 1, 1)] * 4)
    with pytest.raises(InputDataError, match=r"city\.shp: the height column 'h' has 3 of 4 values above 650 m.*centimetres"):
        assign_heights(df, height_column="h", source="city.shp")
    ok = gpd.GeoDataFrame({"h": [12.0, 18.5, 700.0, 24.0]}, geometry=[shapely.box(0, 0, 1, 1)] * 4)  # one typo: imputed later
    assert np.isnan(assign_heights(ok, height_column="h")["height_m"].iloc[2])


def test_buildings_without_any_height_source_are_an_error_listing_the_columns():
    from solarmap.errors import InputDataError

    df = gpd.GeoDataFrame({"building_id": ["a"], "楼高度": [12.0]}, geometry=[shapely.box(0, 0, 1, 1)])
    with pytest.raises(InputDataError, match=r"b\.geojson: no height for any building.*楼高度.*--height-column"):
        assign_heights(df, source="b.geojson")
