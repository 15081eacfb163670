"""Exports an analyst opens: the CSV as Excel reads it, the GeoPackage and GeoParquet in QGIS, map size."""

from __future__ import annotations

import codecs
import csv
import io

import geopandas as gpd
import numpy as np
import pandas as pd

from solarmap.sources.coords import gcj02_to_wgs84, wgs84_to_gcj02


def test_csv_has_bom_and_chinese_names_intact(dapuqiao_run):
    raw = (dapuqiao_run / "dapuqiao" / "roofs.csv").read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)  # Excel detects UTF-8 by the BOM
    text = raw[3:].decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    names = {r["name"] for r in rows if r["name"]}
    assert any("打浦桥" in n for n in names)
    assert {"居住用地", "商务办公用地"} <= {r["euluc_class"] for r in rows}


def test_geopackage_and_geoparquet_read_back_with_the_same_rows_and_columns(dapuqiao_run):
    run = dapuqiao_run / "dapuqiao"
    csv_df = pd.read_csv(run / "roofs.csv", encoding="utf-8-sig")
    for name in ("roofs.gpkg", "roofs.parquet"):
        g = gpd.read_file(run / name) if name.endswith("gpkg") else gpd.read_parquet(run / name)
        assert g.crs.to_epsg() == 4326
        assert len(g) == len(csv_df)
        assert [c for c in g.columns if c != "geometry"] == list(csv_df.columns)
        assert g["building_id"].tolist() == csv_df["building_id"].tolist()
        np.testing.assert_allclose(g["annual_kwh"].to_numpy(dtype=float), csv_df["annual_kwh"].to_numpy(dtype=float))


def test_chinese_headers_option(tmp_path):
    from solarmap.cli import main

    assert main(["run", "dapuqiao", "--chinese-headers", "--out", str(tmp_path), "--no-shading", "-q"]) == 0
    header = (tmp_path / "dapuqiao" / "roofs.csv").read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert header[0] == "编号 building_id" and "装机容量_kWp capacity_kwp" in header


def test_map_of_the_largest_embedded_run_is_under_15_mb(tmp_path):
    from solarmap.cli import main

    assert main(["run", "bansongyuan", "--out", str(tmp_path), "--no-shading", "-q"]) == 0
    size = (tmp_path / "bansongyuan" / "map.html").stat().st_size
    assert size < 15 * 1024 * 1024
    assert (tmp_path / "bansongyuan" / "report.html").stat().st_size > 2000


def test_gcj02_round_trip_is_millimetre_exact():
    lon, lat = np.array([121.47, 121.50, 121.44]), np.array([31.21, 31.19, 31.23])
    g = wgs84_to_gcj02(lon, lat)
    back = gcj02_to_wgs84(*g)
    np.testing.assert_allclose(back[0], lon, atol=1e-8)
    np.testing.assert_allclose(back[1], lat, atol=1e-8)


def test_map_shows_names_with_template_braces_as_written(tmp_path):
    # branca's Element compiles its text as a Jinja template: a name "{{ 7 * 7 }}" came out as "49" on the map
    from test_bad_input import make_buildings

    from solarmap.cli import main

    names = ["{{ 7 * 7 }} 大楼", "{% raw %}仓库", "{# note #} 学校", "plain"]
    path = tmp_path / "b.geojson"
    make_buildings(4, name=names).to_crs(4326).to_file(path)
    assert main(["run", "dapuqiao", "--buildings", str(path), "--out", str(tmp_path / "out"), "--no-shading",
                 "--no-facades", "-q"]) == 0
    page = (tmp_path / "out" / "b" / "map.html").read_text(encoding="utf-8")
    for name in names:
        assert name in page
    assert "49 大楼" not in page


def test_facades_written_a_chunk_at_a_time_equal_the_run_files(dapuqiao_run, tmp_path, monkeypatch):
    # a city's facades are reprojected and written in chunks: the CSV and the GeoPackage layer must not change
    import shapely

    from solarmap.report import export

    run = dapuqiao_run / "dapuqiao"
    whole = gpd.read_file(run / "roofs.gpkg", layer="facades")
    monkeypatch.setattr(export, "CHUNK_ROWS", 1000)  # five chunks, the last one short
    export.write_facades(whole.to_crs(32651), tmp_path)
    assert (tmp_path / "facades.csv").read_bytes() == (run / "facades.csv").read_bytes()
    again = gpd.read_file(tmp_path / "roofs.gpkg", layer="facades")
    pd.testing.assert_frame_equal(pd.DataFrame(again.drop(columns="geometry")),
                                  pd.DataFrame(whole.drop(columns="geometry")))
    # UTM and back: 1e-9° (0.1 mm) is far above the round trip's error and far below any wall
    assert shapely.equals_exact(again.geometry.values, whole.geometry.values, 1e-9).all()


def test_roof_layers_written_a_chunk_at_a_time_equal_geopandas_whole(dapuqiao_run, tmp_path, monkeypatch):
    # roofs.gpkg and roofs.parquet are reprojected and written in chunks (a city's table is not copied whole): the
    # rows, the field types and the GeoParquet metadata must be what geopandas writes from the whole table
    import json

    import pyarrow.parquet as pq
    import shapely

    from solarmap.report import export

    run = dapuqiao_run / "dapuqiao"
    whole = gpd.read_parquet(run / "roofs.parquet")
    whole.loc[whole.index[:3], "geometry"] = shapely.multipolygons([[g] for g in whole.geometry.values[:3]])
    monkeypatch.setattr(export, "CHUNK_ROWS", 400)  # five chunks, the last one short; MultiPolygons in the first
    export.write_geodata(whole.to_crs(32651), tmp_path)
    gpd_whole = tmp_path / "geopandas.parquet"
    whole.to_parquet(gpd_whole, index=False)
    again = gpd.read_parquet(tmp_path / "roofs.parquet")
    pd.testing.assert_frame_equal(pd.DataFrame(again.drop(columns="geometry")),
                                  pd.DataFrame(whole.drop(columns="geometry")))
    # UTM and back: 1e-9° (0.1 mm) is far above the round trip's error and far below any roof
    assert shapely.equals_exact(again.geometry.values, whole.geometry.values, 1e-9).all()
    ours, theirs = (json.loads(pq.read_schema(p).metadata[b"geo"])["columns"]["geometry"]
                    for p in (tmp_path / "roofs.parquet", gpd_whole))  # in the Arrow schema, where pyarrow reads it
    assert ours["geometry_types"] == theirs["geometry_types"] == ["MultiPolygon", "Polygon"]
    np.testing.assert_allclose(ours["bbox"], theirs["bbox"], rtol=0, atol=1e-9)
    ours.pop("bbox"), theirs.pop("bbox")
    assert ours == theirs  # the rest of geopandas' metadata too: encoding, the CRS as it writes it
    schema, their_schema = (pq.read_schema(p).remove_metadata() for p in (tmp_path / "roofs.parquet", gpd_whole))
    assert schema.equals(their_schema, check_metadata=True)  # the fields' types and tags (geoarrow.wkb)
    layer = gpd.read_file(tmp_path / "roofs.gpkg", layer="roofs")
    pd.testing.assert_frame_equal(pd.DataFrame(layer.drop(columns="geometry")),
                                  pd.DataFrame(gpd.read_file(run / "roofs.gpkg", layer="roofs").drop(columns="geometry")))
    whole.to_file(tmp_path / "geopandas.gpkg", layer="roofs", engine="pyogrio")  # promotes to one layer type
    theirs = gpd.read_file(tmp_path / "geopandas.gpkg", layer="roofs")
    assert (layer.geometry.geom_type.to_numpy() == theirs.geometry.geom_type.to_numpy()).all()
    assert set(layer.geometry.geom_type) == {"MultiPolygon"}  # a conformant layer: not Polygons in a MultiPolygon one


def test_roof_geoparquet_of_chunks_with_missing_and_3d_shapes_is_what_geopandas_writes(tmp_path, monkeypatch):
    # a chunk whose shapes are all missing (its own Arrow types would differ), a table of Z shapes (ISO WKB, as
    # GeoParquet asks) and an empty table: the file's rows, field types and geometry bytes are geopandas'
    import pyarrow.parquet as pq
    import shapely

    from solarmap.report import export

    monkeypatch.setattr(export, "CHUNK_ROWS", 3)
    box = shapely.box(352000, 3453000, 352010, 3453010)
    z = shapely.Polygon([(352000, 3453000, 5), (352010, 3453000, 5), (352010, 3453010, 5)])
    for k, shapes in enumerate(([None] * 3 + [box] * 2, [box] * 3 + [None] * 3 + [box], [z] * 4, [])):
        folder = tmp_path / str(k)
        folder.mkdir()
        g = gpd.GeoDataFrame({"building_id": pd.array([f"B{i}" for i in range(len(shapes))], dtype="str"),
                              "height_m": np.arange(len(shapes), dtype=float)},
                             geometry=gpd.array.from_shapely(shapes), crs=32651)
        export.write_geodata(g, folder)
        g.to_crs(4326).to_parquet(folder / "geopandas.parquet", index=False)
        ours, theirs = (pq.read_table(folder / f) for f in ("roofs.parquet", "geopandas.parquet"))
        assert ours.schema.remove_metadata().equals(theirs.schema.remove_metadata(), check_metadata=True), k
        assert ours.column("geometry").to_pylist() == theirs.column("geometry").to_pylist(), k
        assert ours.column("building_id").to_pylist() == theirs.column("building_id").to_pylist(), k
