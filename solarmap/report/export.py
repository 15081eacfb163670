"""Files for analysts: roofs.csv and candidates.csv (UTF-8 with BOM so Excel reads Chinese), GeoPackage and
GeoParquet (WGS84, the same columns), and summary.json. Every writer writes into the run's temporary folder;
the pipeline renames that folder into place only when everything is written.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely
from geopandas.io.arrow import _geopandas_to_arrow  # what GeoDataFrame.to_parquet writes, a chunk at a time

from solarmap.columns import CANDIDATE_COLUMNS, COLUMNS, FACADE_COLUMNS, PLANE_COLUMNS, ordered
from solarmap.facades import as_geodataframe
from solarmap.report.csv_text import csv_bytes


def tidy(df: pd.DataFrame, columns: dict | None = None) -> pd.DataFrame:
    """Round float columns to their registry decimals so CSVs are stable and readable; input columns stay as given.
    ``columns``: the registry (default :data:`COLUMNS`; :data:`FACADE_COLUMNS` for facades)."""
    columns = COLUMNS if columns is None else columns
    out = df.copy()
    for c in out.columns:
        col = columns.get(c)
        if col is not None and col.decimals is not None and pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(col.decimals)
    return out


def roof_table_columns(roofs: pd.DataFrame) -> list[str]:
    """Output columns first (registry order), then policy columns and flags, then the input's own columns."""
    return ordered(roofs.columns)


#: rows rounded and written at a time by :func:`write_csv` and :func:`write_facades` (a city's tables are
#: not copied whole)
CHUNK_ROWS = 100_000

#: GeoPackage layers are written through Arrow (GDAL's OGR_L_WriteArrowBatch, GDAL >= 3.8): 3x faster than
#: pyogrio's feature-by-feature path for the 102,714-roof city's layer (2.2 -> 0.7 s), with the same table
#: definition and the same values read back (benchmarks/RESULTS.md, eighth pass)
_GPKG = {"driver": "GPKG", "engine": "pyogrio", "use_arrow": True}


def write_csv(df: pd.DataFrame, path: Path, *, chinese_headers: bool = False, columns: dict | None = None) -> None:
    columns = COLUMNS if columns is None else columns
    names = {c: columns[c].header(chinese=True) for c in df.columns if c in columns} if chinese_headers else {}
    # the places tidy() rounds each column to, under the header it is written with (the text is pandas' to_csv's)
    places = {names.get(c, c): columns[c].decimals for c in df.columns if c in columns and columns[c].decimals is not None}
    with open(path, "wb") as fh:
        fh.write(codecs.BOM_UTF8)  # UTF-8 with a byte-order mark: Excel reads the Chinese
        for a in range(0, max(len(df), 1), CHUNK_ROWS):
            out = tidy(df.iloc[a : a + CHUNK_ROWS], columns).rename(columns=names)
            fh.write(csv_bytes(out, header=a == 0, decimals=places))
            del out


def write_roofs_csv(roofs: pd.DataFrame, path: Path, *, chinese_headers: bool = False) -> None:
    write_csv(roofs[roof_table_columns(roofs)], path, chinese_headers=chinese_headers)


def candidates_table(roofs: pd.DataFrame) -> pd.DataFrame:
    """The ranked roofs: suitable, assessed, without PV, in the policy stage's ``candidate_rank`` order. Only the
    table's columns are taken from the roofs (a city's candidates are most of its roofs: copying their every
    column first held the roof table about twice)."""
    cols = [c for c in CANDIDATE_COLUMNS if c in roofs.columns]
    cols += [c for c in roofs.columns if c.startswith("policy_") and c not in cols]
    keys = ["candidate_rank", "building_id"]
    pool = roofs.loc[roofs["candidate_rank"].notna().to_numpy(), list(dict.fromkeys(cols + keys))].sort_values(keys)
    return pool[cols]


def write_geodata(roofs: gpd.GeoDataFrame, folder: Path) -> list[Path]:
    """roofs.gpkg and roofs.parquet (GeoParquet 1.1, WKB) in WGS84 with the CSV's columns, from the roof table in
    its own CRS. Reprojected and written :data:`CHUNK_ROWS` rows at a time, so a city's table is never copied
    whole; the GeoParquet's ``geo`` metadata (geometry types, bbox) is the whole table's, found while the
    GeoPackage is written."""
    cols = roof_table_columns(roofs)
    gpkg, parquet = folder / "roofs.gpkg", folder / "roofs.parquet"

    def chunks():
        for a in range(0, max(len(roofs), 1), CHUNK_ROWS):
            part = roofs.iloc[a : a + CHUNK_ROWS]
            gdf = gpd.GeoDataFrame(tidy(pd.DataFrame(part[cols])), geometry=part.geometry.to_crs("EPSG:4326").values,
                                   crs="EPSG:4326")
            for c in gdf.columns:  # field types from the registry; input columns keep theirs (text when mixed)
                kind = COLUMNS[c].dtype if c in COLUMNS else None
                if kind == "str" or (kind is None and gdf[c].dtype == object and c != "geometry"):
                    gdf[c] = gdf[c].astype("string")
            yield gdf

    types = _geometry_types(roofs.geometry.values)  # the same in any CRS
    layer = _layer_type(types)  # the whole table's, as pyogrio would choose it (chunks may hold fewer types)
    bounds = []
    for i, gdf in enumerate(chunks()):
        gdf.to_file(gpkg, layer="roofs", mode="a" if i else "w", **layer, **_GPKG)
        if gdf.geometry.notna().any():
            bounds.append(gdf.geometry.total_bounds)
    b = np.asarray(bounds).reshape(-1, 4)
    b = [*np.nanmin(b[:, :2], axis=0, initial=np.inf), *np.nanmax(b[:, 2:], axis=0, initial=-np.inf)]
    bbox = [float(v) for v in b] if np.isfinite(b).all() else None  # as geopandas: none for a table without shapes
    writer = None
    try:
        for gdf in chunks():
            # geopandas' own conversion, as to_parquet does it (ISO WKB tagged geoarrow.wkb, its geo metadata with
            # the CRS it writes), then the metadata's geometry types and bbox made the whole table's
            table = _geopandas_to_arrow(gdf, index=False)
            geo = json.loads(table.schema.metadata[b"geo"])
            column = geo["columns"]["geometry"]
            column["geometry_types"] = sorted(types)
            column.pop("bbox", None)
            if bbox is not None:
                column["bbox"] = bbox
            table = table.replace_schema_metadata({**table.schema.metadata, b"geo": json.dumps(geo).encode()})
            if writer is None:
                writer = pq.ParquetWriter(parquet, table.schema)
            elif not table.schema.equals(writer.schema, check_metadata=False):  # a chunk's all-missing column
                table = table.cast(writer.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    return [gpkg, parquet]


#: GeoParquet's geometry type names (GeoParquet 1.1 specification, ``geometry_types``) by shapely's type id (a
#: LinearRing is a LineString there, as geopandas writes it)
_GEOPARQUET_TYPES = ("Point", "LineString", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon",
                     "GeometryCollection")


def _geometry_types(geometry: np.ndarray) -> set[str]:
    """The GeoParquet ``geometry_types`` of some shapes: their type names, `` Z`` added for three dimensions."""
    code = np.unique(shapely.get_type_id(geometry) * 2 + shapely.has_z(geometry))  # missing shapes: -2
    return {_GEOPARQUET_TYPES[c // 2] + (" Z" if c % 2 else "") for c in code.tolist() if c >= 0}


def _layer_type(types: set[str]) -> dict:
    """A GeoPackage layer's ``geometry_type`` and ``promote_to_multi`` for shapes of these GeoParquet types,
    chosen as pyogrio chooses them for a whole frame: one type is the layer's; a single type with its multi type
    (Polygon and MultiPolygon) is the multi type, the single ones promoted; anything else is Unknown."""
    z = " Z" if any(t.endswith(" Z") for t in types) else ""
    flat = {t.removesuffix(" Z") for t in types}
    if len(flat) == 1:
        return {"geometry_type": flat.pop() + z, "promote_to_multi": False}
    multi = next((m for m in ("MultiPolygon", "MultiLineString", "MultiPoint") if flat == {m, m[5:]}), None)
    if multi is not None:
        return {"geometry_type": multi + z, "promote_to_multi": True}
    return {"geometry_type": "Unknown", "promote_to_multi": False}


def write_facades(facades: pd.DataFrame | None, folder: Path, *, crs=None, chinese_headers: bool = False) -> list[Path]:
    """facades.csv (one row per facade, the columns of :data:`FACADE_COLUMNS` in order) and a ``facades`` layer in
    roofs.gpkg (lines along the walls' foot, WGS84); nothing when the facades did not run. ``facades``: lines (a
    GeoDataFrame) or the rows with each wall's foot in ``crs`` (:func:`solarmap.facades.as_table`), whose lines
    are made a chunk at a time."""
    if facades is None:
        return []
    cols = list(FACADE_COLUMNS)
    csv = folder / "facades.csv"
    write_csv(pd.DataFrame(facades[cols]), csv, chinese_headers=chinese_headers, columns=FACADE_COLUMNS)
    if not len(facades):
        return [csv]
    for a in range(0, len(facades), CHUNK_ROWS):  # a city's 4 million walls: reprojected and written a chunk at a time
        part = as_geodataframe(facades.iloc[a : a + CHUNK_ROWS], crs).to_crs("EPSG:4326")
        gdf = gpd.GeoDataFrame(tidy(pd.DataFrame(part[cols]), FACADE_COLUMNS), geometry=part.geometry.values,
                               crs="EPSG:4326")
        for c, col in FACADE_COLUMNS.items():
            if col.dtype == "str":
                gdf[c] = gdf[c].astype("string")
        gdf.to_file(folder / "roofs.gpkg", layer="facades", mode="a" if a else "w", **_GPKG)
    return [csv, folder / "roofs.gpkg"]


def write_planes(planes: gpd.GeoDataFrame | None, folder: Path, *, chinese_headers: bool = False) -> list[Path]:
    """roof_planes.csv (one row per roof plane of the pitched roofs, header only when there is none) and a
    ``roof_planes`` layer in roofs.gpkg (WGS84), with the columns of :data:`solarmap.columns.PLANE_COLUMNS`."""
    cols = list(PLANE_COLUMNS)
    table = pd.DataFrame(columns=cols) if planes is None else pd.DataFrame(planes[cols])
    csv = folder / "roof_planes.csv"
    write_csv(table, csv, chinese_headers=chinese_headers)
    if planes is None or not len(planes):
        return [csv]
    wgs = planes.to_crs("EPSG:4326")
    gdf = gpd.GeoDataFrame(tidy(table), geometry=wgs.geometry.values, crs="EPSG:4326")
    for c in cols:
        if COLUMNS[c].dtype == "str":
            gdf[c] = gdf[c].astype("string")
    gdf.to_file(folder / "roofs.gpkg", layer="roof_planes", **_GPKG)
    return [csv, folder / "roofs.gpkg"]


def write_json(data: dict, path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n", encoding="utf-8")


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, (pd.Timestamp,)):
        return o.isoformat()
    return str(o)
